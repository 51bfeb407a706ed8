// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcp-go v5's forward error correction, byte-compatible with its fec.go. Qt-free.
//
// KcpReedSolomon: systematic Reed-Solomon erasure code over GF(2^8) (kcpgf256.h) with exactly the matrix
//   klauspost/reedsolomon builds by default (what kcp-go uses): Vandermonde(total, data), v[r][c] = r^c, times
//   the inverse of its top data x data square, so the top square is the identity (data shards go out unchanged)
//   and the bottom rows make the parity. Any `data` of the `total` shards reconstruct the data shards.
//
// The wire framing (kcp-go fec.go), all little-endian:
//
//   data shard:   seqid u32 | 0xf1 u16 | size u16 | KCP datagram      size = 2 + datagram bytes
//   parity shard: seqid u32 | 0xf2 u16 | parity bytes
//
//   seqids count every shard sent; a group is the `data + parity` consecutive seqids starting at a multiple of
//   data + parity: the first `data` of them data shards, then the parity shards. The code runs over what follows
//   the 6-byte header ("size | datagram" for data shards), each data shard zero-padded to the group's largest,
//   so parity shards are as long as the group's largest data shard (+ 2). seqids wrap at the largest multiple of
//   (data + parity) below 2^32 (kcp-go's "paws"). A datagram whose bytes 4..5 are not 0xf1/0xf2 is not FEC:
//   kcp-go hands it to KCP as is (a KCP header has its cmd, 81..84, there).
//
// KcpFecEncoder: one KCP datagram in -> its data shard out, and after every `data` of them the group's parity
//   shards (encode()).
// KcpFecDecoder: one received FEC datagram in -> the KCP datagrams to feed the engine (decode()): a data
//   shard's datagram at once, and when a group has `data` shards of which some data shards are missing, those
//   data shards rebuilt from parity ("recovered"). It buffers at most rxLimit() = 3 x (data + parity) shards
//   (kcp-go's rxFECMulti) in groups, evicting the oldest group beyond that, and drops a group 60 s after its
//   first shard (kcp-go's fecExpire). Shards of a group already completed or recovered are not buffered again.
//   Unlike kcp-go it never rebuilds with parameters the peer does not use: the first rebuild needs a group with more
//   shards than `data`, whose extra shards must match what our matrix computes; recovery stops for good at the
//   first sign of other parameters (stats().mismatched). Data shards always pass through.
//
// Headroom: FEC adds kKcpFecOverhead (8) bytes to each KCP datagram (kcp-go's fecHeaderSizePlus2); parity
// shards are never longer than the largest data shard. So the engine MTU is the datagram limit minus 8 (and
// minus 20 more with kcp-go's packet encryption, see kcpgocrypt.h and kcpgopacketpipe.h).
//
// Not thread-safe: one encoder and one decoder per session, used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace kcpnet {

constexpr std::size_t kKcpFecHeaderSize = 6; // seqid u32 + type u16 (kcp-go fecHeaderSize)
constexpr std::size_t kKcpFecOverhead = 8;   // + size u16 on data shards (kcp-go fecHeaderSizePlus2)
constexpr std::uint16_t kKcpFecTypeData = 0xf1;
constexpr std::uint16_t kKcpFecTypeParity = 0xf2;
constexpr std::uint32_t kKcpFecExpireMs = 60000; // kcp-go fecExpire
constexpr std::size_t kKcpFecRxMulti = 3;        // kcp-go rxFECMulti

// True when `datagram` carries kcp-go's FEC type 0xf1 or 0xf2 in bytes 4..5.
bool isKcpFecDatagram(const std::uint8_t *datagram, std::size_t size) noexcept;

class KcpReedSolomon
{
public:
    static constexpr int kMaxShards = 256;

    // 1 <= dataShards, 1 <= parityShards, dataShards + parityShards <= 256; throws std::invalid_argument else.
    KcpReedSolomon(int dataShards, int parityShards);

    int dataShards() const noexcept { return m_data; }
    int parityShards() const noexcept { return m_parity; }
    int totalShards() const noexcept { return m_data + m_parity; }
    // The (total x data) coding matrix, row-major. Rows 0..data-1 are the identity.
    const std::vector<std::uint8_t> &matrix() const noexcept { return m_matrix; }
    std::uint8_t coefficient(int row, int column) const noexcept
    {
        return m_matrix[static_cast<std::size_t>(row) * static_cast<std::size_t>(m_data)
                        + static_cast<std::size_t>(column)];
    }

    // Computes the parity shards from the data shards, each `shardSize` bytes.
    void encode(const std::uint8_t *const *data, std::uint8_t *const *parity, std::size_t shardSize) const;
    // shards[0..total) each point at shardSize bytes; present[i] says whether shard i holds what was sent.
    // Rebuilds the missing data shards in place (parity shards are left alone). Returns false, changing
    // nothing, when fewer than dataShards() shards are present.
    bool reconstructData(std::uint8_t *const *shards, const bool *present, std::size_t shardSize);

    // Inverts the n x n matrix m (row-major) over GF(2^8) in place; false when it is singular.
    static bool invert(std::vector<std::uint8_t> &m, int n);

private:
    int m_data;
    int m_parity;
    std::vector<std::uint8_t> m_matrix;
    // Decode matrices by the set of shard rows used (a bitmap), a few at a time: losses repeat in patterns.
    std::unordered_map<std::string, std::vector<std::uint8_t>> m_decodeCache;
};

class KcpFecEncoder
{
public:
    using Sink = std::function<void(const std::uint8_t *data, std::size_t size)>;

    struct Stats {
        std::uint64_t dataShards = 0;   // data shards emitted
        std::uint64_t parityShards = 0; // parity shards emitted
        std::uint64_t groups = 0;       // groups completed
        std::uint64_t rejected = 0;     // datagrams refused (empty or larger than kMaxPacket)
    };

    // Largest KCP datagram encode() takes: the size field is 16 bits and counts itself.
    static constexpr std::size_t kMaxPacket = 0xFFFF - 2;

    // Same limits as KcpReedSolomon; throws std::invalid_argument else.
    KcpFecEncoder(int dataShards, int parityShards);

    // Frames one KCP datagram: emits its data shard, then, if it completed a group, the group's parity shards.
    // `emit`'s buffer is valid only during the call. Returns false (emitting nothing) for an empty datagram or
    // one larger than kMaxPacket.
    bool encode(const std::uint8_t *packet, std::size_t size, const Sink &emit);
    // The same, returning copies of the datagrams.
    std::vector<std::vector<std::uint8_t>> encode(const std::uint8_t *packet, std::size_t size);

    int dataShards() const noexcept { return m_rs.dataShards(); }
    int parityShards() const noexcept { return m_rs.parityShards(); }
    // The seqid of the next shard (kcp-go starts at 0).
    std::uint32_t nextSeqid() const noexcept { return m_next; }
    // Starts the next group at `seqid` (tests: sequence wrap). Only between groups and only at a multiple of
    // (data + parity) below wrapLimit(); returns false otherwise.
    bool setNextSeqid(std::uint32_t seqid) noexcept;
    // kcp-go's paws: seqids run in [0, wrapLimit()).
    std::uint32_t wrapLimit() const noexcept { return m_paws; }
    const Stats &stats() const noexcept { return m_stats; }

private:
    KcpReedSolomon m_rs;
    std::uint32_t m_paws;
    std::uint32_t m_next = 0;
    int m_count = 0;          // data shards collected in the current group
    std::size_t m_maxLen = 0; // largest "size + datagram" in the current group
    // Whole shard datagrams (header included), data shards first, then parity.
    std::vector<std::vector<std::uint8_t>> m_shards;
    std::vector<const std::uint8_t *> m_in;
    std::vector<std::uint8_t *> m_out;
    Stats m_stats;
};

class KcpFecDecoder
{
public:
    using Sink = std::function<void(const std::uint8_t *data, std::size_t size)>;

    enum class Result {
        Data,      // a data shard: its KCP datagram was emitted (and any recovered ones)
        Parity,    // a parity shard (recovered datagrams may have been emitted)
        NotFec,    // not FEC (bytes 4..5 not 0xf1/0xf2): emitted unchanged, as kcp-go does
        Malformed, // FEC type but shorter than 8 bytes: dropped
    };

    struct Stats {
        std::uint64_t dataShards = 0;          // data shards received (duplicates included)
        std::uint64_t parityShards = 0;        // parity shards received (duplicates included)
        std::uint64_t notFec = 0;              // datagrams passed through unchanged
        std::uint64_t recovered = 0;           // KCP datagrams rebuilt from parity and emitted
        std::uint64_t recoveryErrors = 0;      // rebuilt shards whose size field was impossible (kcp-go FECErrs)
        std::uint64_t unrecoverableGroups = 0; // groups evicted or expired before enough shards arrived
        std::uint64_t expiredGroups = 0;       // of those, dropped by the 60 s expiry
        std::uint64_t duplicates = 0;          // shards already buffered
        std::uint64_t late = 0;                // shards of a group already completed or recovered
        std::uint64_t mismatched = 0;          // the peer uses other d/p (a shard out of place, or parity that does
                                               // not match our encoding): recovery is then off for good
        std::uint64_t malformed = 0;           // FEC type but too short
    };

    KcpFecDecoder(int dataShards, int parityShards);
    ~KcpFecDecoder();
    KcpFecDecoder(const KcpFecDecoder &) = delete;
    KcpFecDecoder &operator=(const KcpFecDecoder &) = delete;

    // Processes one datagram received at `now` (milliseconds, any origin, wrapping). Emits, in this order, the
    // data shard's KCP datagram (every data shard, also a duplicate or a late one, as kcp-go hands every data
    // shard to KCP, which drops repeats itself) and the KCP datagrams recovered by this shard.
    Result decode(const std::uint8_t *datagram, std::size_t size, std::uint32_t now, const Sink &emit);
    // The same, returning copies of the KCP datagrams.
    std::vector<std::vector<std::uint8_t>> decode(const std::uint8_t *datagram, std::size_t size, std::uint32_t now);
    // Drops groups older than kKcpFecExpireMs at `now` (decode() also does this).
    void expire(std::uint32_t now);

    int dataShards() const noexcept { return m_rs.dataShards(); }
    int parityShards() const noexcept { return m_rs.parityShards(); }
    std::size_t rxLimit() const noexcept { return m_rxLimit; }
    std::size_t bufferedShards() const noexcept { return m_buffered; }
    std::size_t bufferedGroups() const noexcept { return m_groups.size(); }
    const Stats &stats() const noexcept { return m_stats; }
    // On (the default): no rebuild until a group proves the peer's parameters equal ours (see above). Off: rebuild
    // from any `data` shards, exactly as kcp-go does (unit tests of the raw recovery use this).
    void setVerifyParameters(bool on)
    {
        m_verify = on;
        m_synced = !on;
    }

private:
    struct Group;
    std::size_t findOrCreate(std::uint32_t base, std::uint32_t now);
    void retire(std::size_t index, bool completed);
    bool isRetired(std::uint32_t base) const noexcept;
    bool recover(Group &g, const Sink &emit, bool verify = false);
    void enforceLimit();

    KcpReedSolomon m_rs;
    std::size_t m_rxLimit;
    std::size_t m_buffered = 0;
    bool m_verify = true;      // see setVerifyParameters()
    bool m_synced = false;     // a group proved that the peer encodes with our parameters
    bool m_outOfSync = false;  // it encodes with others: never rebuild
    std::vector<std::unique_ptr<Group>> m_groups; // active groups, unordered
    std::vector<std::unique_ptr<Group>> m_spare;  // recycled
    // Bases of recently completed groups (a small ring): their late shards are not buffered again.
    static constexpr std::size_t kRetiredRing = 64;
    std::uint32_t m_retired[kRetiredRing] = {};
    std::size_t m_retiredCount = 0;
    std::size_t m_retiredNext = 0;
    std::vector<std::uint8_t *> m_ptrs;
    std::unique_ptr<bool[]> m_present;
    Stats m_stats;
};

} // namespace kcpnet
