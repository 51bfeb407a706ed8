// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpGoPacketPipe: kcp-go v5's packet layers between a KCP engine and a UDP socket, in kcp-go's order:
//
//   send:    KCP datagram -> FEC (kcpfec.h: data shard, + parity shards per group) -> nonce+CRC+cipher -> UDP
//   receive: UDP -> decrypt + CRC check -> FEC (data shard's datagram, + recovered ones) -> KCP engine
//
// Either layer is optional ({0, 0} shards = no FEC; cipher "none" = no crypt layer), so the pipe speaks to any
// kcp-go session: kcp.DialWithOptions / ListenWithOptions(addr, block, dataShards, parityShards) and kcptun.
//
// MTU accounting: kcp-go's MTU (SetMtu, kcptun --mtu, default 1400) is the whole UDP payload; it reserves the
// layers' headers inside it (ReserveBytes). So configure our engine with engineMtu(udpMtu) = udpMtu - overhead(),
// overhead() = 20 with a cipher (16-byte nonce + CRC32) + 8 with FEC (6-byte FEC header + 2-byte size). Parity
// datagrams are never longer than the group's longest data datagram. kcp-go drops received datagrams longer than
// 1500 bytes (its mtuLimit): maxDatagram bounds what outgoing() emits and what incoming() accepts.
//
// Receive-side behaviour copied from kcp-go: a datagram without FEC type (bytes 4..5 not 0xf1/0xf2) goes to KCP
// unchanged even when FEC is on; with FEC off, data shards are still unwrapped (parity ignored); after
// decryption anything shorter than a KCP header (24 bytes) is dropped. A wrong key or cipher shows as CRC
// failures (stats().badChecksum), never as data.
//
// The interface matches kcpnet::KcpPacketTransform (kcpnet/session): overhead(), outgoing(), incoming().
// Not thread-safe.
#pragma once

#include "kcpfec.h"
#include "kcpgocrypt.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kcpnet {

struct KcpGoPipeConfig {
    int dataShards = 0; // kcp-go FEC; 0 and 0 = off (kcptun's default is 10 and 3)
    int parityShards = 0;
    std::string cipher = "none";    // none, null, xor, aes, aes-128, aes-192, 3des, salsa20 (kcpgocrypt.h)
    std::vector<std::uint8_t> key;  // raw key (KcpGoCrypt::kcptunKey() derives kcptun's from a passphrase)
    std::size_t maxDatagram = 1500; // kcp-go mtuLimit
};

class KcpGoPacketPipe
{
public:
    using Sink = std::function<void(const std::uint8_t *data, std::size_t size)>;

    struct Stats {
        // Outgoing
        std::uint64_t kcpOut = 0;       // KCP datagrams taken
        std::uint64_t datagramsOut = 0; // UDP datagrams emitted (data + parity)
        std::uint64_t oversizeOut = 0;  // KCP datagrams refused: with overhead() longer than maxDatagram
        // Incoming
        std::uint64_t datagramsIn = 0;   // UDP datagrams given
        std::uint64_t kcpIn = 0;         // KCP datagrams emitted to the engine (recovered ones included)
        std::uint64_t oversizeIn = 0;    // dropped: longer than maxDatagram
        std::uint64_t tooShortCrypt = 0; // dropped: shorter than the 20-byte crypt header
        std::uint64_t badChecksum = 0;   // dropped: CRC mismatch after decryption (wrong key/cipher, corruption)
        std::uint64_t tooShortKcp = 0;   // dropped: shorter than a KCP header after the crypt/FEC layers
        std::uint64_t fecMalformed = 0;  // dropped: FEC type but shorter than the FEC header
        std::uint64_t parityIgnored = 0; // FEC off: parity shards dropped
    };

    // Returns nullptr and sets *error for bad shard counts, an unknown cipher or a short key.
    static std::unique_ptr<KcpGoPacketPipe> create(const KcpGoPipeConfig &config, std::string *error = nullptr);
    ~KcpGoPacketPipe();
    KcpGoPacketPipe(const KcpGoPacketPipe &) = delete;
    KcpGoPacketPipe &operator=(const KcpGoPacketPipe &) = delete;

    // Bytes added to a KCP datagram: 20 with a cipher + 8 with FEC.
    std::size_t overhead() const noexcept { return m_overhead; }
    // The engine MTU for a given UDP payload limit (kcp-go's SetMtu value).
    std::uint32_t engineMtu(std::uint32_t udpMtu) const noexcept
    {
        return udpMtu > m_overhead ? udpMtu - static_cast<std::uint32_t>(m_overhead) : 0;
    }
    std::size_t maxDatagram() const noexcept { return m_maxDatagram; }

    // One KCP datagram from the engine -> the UDP datagrams to send (`emit`'s buffer is valid during the call).
    void outgoing(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &emit);
    // One received UDP datagram -> the KCP datagrams for engine.input(). Returns false when the datagram was
    // dropped as invalid (see Stats); true otherwise, also when it yielded nothing (a parity shard).
    bool incoming(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &emit);
    // Copying conveniences.
    std::vector<std::vector<std::uint8_t>> outgoing(const std::uint8_t *data, std::size_t size, std::uint32_t now = 0);
    std::vector<std::vector<std::uint8_t>> incoming(const std::uint8_t *data, std::size_t size, std::uint32_t now);

    const Stats &stats() const noexcept { return m_stats; }
    // The layers (nullptr when off), for their own counters (FEC recovered, duplicates, ...).
    const KcpFecEncoder *fecEncoder() const noexcept { return m_encoder.get(); }
    const KcpFecDecoder *fecDecoder() const noexcept { return m_decoder.get(); }
    const KcpGoCrypt *crypt() const noexcept { return m_crypt.get(); }

private:
    KcpGoPacketPipe() = default;
    void sealAndEmit(const std::uint8_t *data, std::size_t size, const Sink &emit);
    void deliver(const std::uint8_t *data, std::size_t size, const Sink &emit);

    std::unique_ptr<KcpFecEncoder> m_encoder;
    std::unique_ptr<KcpFecDecoder> m_decoder;
    std::unique_ptr<KcpGoCrypt> m_crypt;
    std::size_t m_overhead = 0;
    std::size_t m_maxDatagram = 1500;
    std::vector<std::uint8_t> m_sealBuffer;
    std::vector<std::uint8_t> m_openBuffer;
    Stats m_stats;
};

} // namespace kcpnet
