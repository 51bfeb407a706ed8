// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpSealer: packet protection of one session in pre-shared-key mode (docs/PROTOCOL.md, "Pre-shared-key mode").
//
// A sealed datagram is  conv u32 | type 0xD1 u8 | packet number u48 | AEAD(payload) | tag
// where the payload is what an unprotected session datagram carries without its CRC32C trailer (KCP segments or a
// control packet), and the 11-byte header is the AEAD's associated data. Each direction has its own key chain,
// derived with HKDF-SHA256 from the pre-shared key and both sides' handshake randoms, so two sessions never share
// keys. Nonce = IV xor packet number; packet numbers start at 0 and only grow, so a nonce never repeats under a
// key. Every 2^epochBits packets the direction moves to the next key (secret' = HKDF-Expand(secret, "next")),
// which keeps AES-GCM far below its usage limits without a round trip. The receiver keeps a 2048-packet sliding
// window: duplicates and anything older than the window are dropped and counted.
#pragma once

#include "kcpcrypto.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kcpnet {

// What a pre-shared-key session is configured with (shared between sessions; immutable once in use).
struct KcpSecurityConfig {
    std::vector<std::uint8_t> psk; // at least 16 bytes; empty = no protection
    KcpCipherId cipher = KcpCipherId::Aes256Gcm;
    // Custom cipher: a factory for fresh instances and a name both ends must share (bound into the handshake).
    std::function<std::unique_ptr<KcpAead>()> customFactory;
    std::string customName;
    unsigned epochBits = 24; // packets per key = 2^epochBits (tests lower it to see key changes)
};

constexpr std::size_t kSessionRandomSize = 16;
constexpr std::size_t kSessionMacSize = 16;
constexpr std::size_t kSealedHeaderSize = 11;
constexpr std::uint64_t kSealedMaxPacketNumber = (std::uint64_t(1) << 48) - 1;

// The key that authenticates handshake packets, derived from the pre-shared key.
std::array<std::uint8_t, 32> kcpHandshakeKey(const std::vector<std::uint8_t> &psk);

// Creates the AEAD instance a configuration asks for (built-in or custom); nullptr if unavailable.
std::unique_ptr<KcpAead> kcpMakeAead(const KcpSecurityConfig &config, KcpCipherId cipher);

// What both ends know after the handshake, from which the session keys are derived.
struct KcpHandshakeSecrets {
    KcpCipherId cipher = KcpCipherId::Aes256Gcm;
    std::uint8_t clientRandom[kSessionRandomSize] {};
    std::uint8_t serverRandom[kSessionRandomSize] {};
    std::uint64_t nonce = 0;
    std::uint32_t conv = 0;
};

class KcpSealer
{
public:
    static constexpr std::size_t kReplayWindow = 2048;

    enum class OpenResult : std::uint8_t {
        Ok,
        Malformed,   // not a sealed datagram of this session (too short, wrong type)
        Unauthentic, // the tag did not verify: tampered, wrong key, or an epoch we do not hold
        Replayed,    // already received, or older than the replay window
    };

    struct Counters {
        std::uint64_t sealed = 0;
        std::uint64_t opened = 0;
        std::uint64_t unauthentic = 0;
        std::uint64_t replayed = 0;
        std::uint64_t keyUpdates = 0; // epochs entered (both directions)
    };

    KcpSealer();
    ~KcpSealer();
    KcpSealer(const KcpSealer &) = delete;
    KcpSealer &operator=(const KcpSealer &) = delete;

    // Derives both directions' keys. False when the cipher is unavailable.
    bool init(const KcpSecurityConfig &config, const KcpHandshakeSecrets &secrets, bool client);
    bool isReady() const noexcept { return m_ready; }
    // Bytes sealing adds to a payload: header + tag.
    std::size_t overhead() const noexcept { return kSealedHeaderSize + m_tagSize; }

    // Seals payload[0..size) into out (which holds size + overhead()). Returns the datagram size, 0 on failure
    // (cipher error, or the packet numbers are used up).
    std::size_t seal(std::uint32_t conv, const std::uint8_t *payload, std::size_t size, std::uint8_t *out);
    // Opens a sealed datagram; on Ok the payload is out[0..*payloadSize) (out holds size bytes and does not
    // overlap data). The replay window moves only for datagrams that authenticate.
    OpenResult open(const std::uint8_t *data, std::size_t size, std::uint8_t *out, std::size_t *payloadSize,
                    std::uint64_t *packetNumber = nullptr);

    std::uint64_t nextSendPacketNumber() const noexcept { return m_sendPn; }
    std::uint64_t highestReceived() const noexcept { return m_recvHighest; }
    const Counters &counters() const noexcept { return m_counters; }

private:
    struct Epoch {
        std::uint64_t index = 0;
        std::unique_ptr<KcpAead> aead;
        std::uint8_t iv[kAeadNonceSize] {};
        std::uint8_t secret[32] {};
        bool valid = false;
    };
    static void nonceFor(const Epoch &e, std::uint64_t pn, std::uint8_t nonce[kAeadNonceSize]) noexcept;
    bool enter(Epoch &e, const std::uint8_t secret[32], std::uint64_t index);
    bool advance(Epoch &next, const Epoch &from);
    bool replayed(std::uint64_t pn) const noexcept;
    void markReceived(std::uint64_t pn) noexcept;

    std::function<std::unique_ptr<KcpAead>()> m_makeAead;
    Epoch m_send;
    Epoch m_recv[3]; // previous, current, next (the next is derived only when a packet needs it)
    std::uint64_t m_sendPn = 0;
    std::uint64_t m_recvHighest = 0; // highest packet number received + 1 (0 = none yet)
    std::uint64_t m_window[kReplayWindow / 64] {};
    std::size_t m_tagSize = 16;
    unsigned m_epochBits = 24;
    Counters m_counters;
    bool m_ready = false;
};

} // namespace kcpnet
