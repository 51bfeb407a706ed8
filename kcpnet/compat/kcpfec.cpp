// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpfec.h"

#include "kcpgf256.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kcpnet {
namespace {

std::uint16_t getU16(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

std::uint32_t getU32(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8)
        | (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

void putU16(std::uint8_t *p, std::uint16_t v) noexcept
{
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}

void putU32(std::uint8_t *p, std::uint32_t v) noexcept
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::int32_t seqDiff(std::uint32_t a, std::uint32_t b) noexcept
{
    return static_cast<std::int32_t>(a - b);
}

void checkShardCounts(int dataShards, int parityShards)
{
    if (dataShards < 1 || parityShards < 1 || dataShards + parityShards > KcpReedSolomon::kMaxShards)
        throw std::invalid_argument("kcp-go FEC: need 1 <= dataShards, 1 <= parityShards, sum <= 256");
}

constexpr std::size_t kDecodeCacheLimit = 256;

} // namespace

bool isKcpFecDatagram(const std::uint8_t *datagram, std::size_t size) noexcept
{
    if (size < kKcpFecHeaderSize)
        return false;
    const std::uint16_t type = getU16(datagram + 4);
    return type == kKcpFecTypeData || type == kKcpFecTypeParity;
}

// ---- KcpReedSolomon ----

KcpReedSolomon::KcpReedSolomon(int dataShards, int parityShards)
    : m_data(dataShards)
    , m_parity(parityShards)
{
    checkShardCounts(dataShards, parityShards);
    const int total = dataShards + parityShards;
    const auto d = static_cast<std::size_t>(dataShards);

    // Vandermonde rows r = 0..total-1: v[r][c] = r^c (with 0^0 = 1).
    std::vector<std::uint8_t> v(static_cast<std::size_t>(total) * d);
    for (int r = 0; r < total; ++r) {
        for (int c = 0; c < dataShards; ++c)
            v[static_cast<std::size_t>(r) * d + static_cast<std::size_t>(c)] =
                gf256::exp(static_cast<std::uint8_t>(r), static_cast<unsigned>(c));
    }
    std::vector<std::uint8_t> top(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(d * d));
    if (!invert(top, dataShards))
        throw std::logic_error("kcp-go FEC: singular Vandermonde square"); // cannot happen: rows are distinct

    m_matrix.assign(static_cast<std::size_t>(total) * d, 0);
    for (int r = 0; r < total; ++r) {
        for (int c = 0; c < dataShards; ++c) {
            std::uint8_t acc = 0;
            for (int k = 0; k < dataShards; ++k)
                acc ^= gf256::mul(v[static_cast<std::size_t>(r) * d + static_cast<std::size_t>(k)],
                                  top[static_cast<std::size_t>(k) * d + static_cast<std::size_t>(c)]);
            m_matrix[static_cast<std::size_t>(r) * d + static_cast<std::size_t>(c)] = acc;
        }
    }
}

bool KcpReedSolomon::invert(std::vector<std::uint8_t> &m, int n)
{
    const auto un = static_cast<std::size_t>(n);
    if (n <= 0 || m.size() != un * un)
        return false;
    // Gauss-Jordan on [m | I]: the right half becomes the inverse.
    const std::size_t w = 2 * un;
    std::vector<std::uint8_t> a(un * w, 0);
    for (std::size_t r = 0; r < un; ++r) {
        std::memcpy(&a[r * w], &m[r * un], un);
        a[r * w + un + r] = 1;
    }
    for (std::size_t col = 0; col < un; ++col) {
        std::size_t pivot = col;
        while (pivot < un && a[pivot * w + col] == 0)
            ++pivot;
        if (pivot == un)
            return false;
        if (pivot != col)
            std::swap_ranges(a.begin() + static_cast<std::ptrdiff_t>(pivot * w),
                             a.begin() + static_cast<std::ptrdiff_t>(pivot * w + w),
                             a.begin() + static_cast<std::ptrdiff_t>(col * w));
        const std::uint8_t scale = gf256::inv(a[col * w + col]);
        gf256::mulSet(&a[col * w], &a[col * w], scale, w);
        for (std::size_t r = 0; r < un; ++r) {
            if (r != col && a[r * w + col] != 0)
                gf256::mulAdd(&a[r * w], &a[col * w], a[r * w + col], w);
        }
    }
    for (std::size_t r = 0; r < un; ++r)
        std::memcpy(&m[r * un], &a[r * w + un], un);
    return true;
}

void KcpReedSolomon::encode(const std::uint8_t *const *data, std::uint8_t *const *parity, std::size_t shardSize) const
{
    for (int p = 0; p < m_parity; ++p) {
        const int row = m_data + p;
        std::uint8_t *out = parity[p];
        gf256::mulSet(out, data[0], coefficient(row, 0), shardSize);
        for (int c = 1; c < m_data; ++c)
            gf256::mulAdd(out, data[c], coefficient(row, c), shardSize);
    }
}

bool KcpReedSolomon::reconstructData(std::uint8_t *const *shards, const bool *present, std::size_t shardSize)
{
    const int total = totalShards();
    int have = 0, haveData = 0;
    for (int i = 0; i < total; ++i) {
        if (present[i]) {
            ++have;
            if (i < m_data)
                ++haveData;
        }
    }
    if (haveData == m_data)
        return true;
    if (have < m_data)
        return false;

    // The first `data` present shards, and the key naming that choice.
    std::vector<int> rows;
    rows.reserve(static_cast<std::size_t>(m_data));
    std::string key(static_cast<std::size_t>((total + 7) / 8), '\0');
    for (int i = 0; i < total && static_cast<int>(rows.size()) < m_data; ++i) {
        if (present[i]) {
            rows.push_back(i);
            key[static_cast<std::size_t>(i / 8)] =
                static_cast<char>(key[static_cast<std::size_t>(i / 8)] | (1 << (i % 8)));
        }
    }

    auto it = m_decodeCache.find(key);
    if (it == m_decodeCache.end()) {
        const auto d = static_cast<std::size_t>(m_data);
        std::vector<std::uint8_t> sub(d * d);
        for (std::size_t r = 0; r < d; ++r)
            std::memcpy(&sub[r * d], &m_matrix[static_cast<std::size_t>(rows[r]) * d], d);
        if (!invert(sub, m_data))
            return false; // cannot happen for this matrix: every square subset is invertible
        if (m_decodeCache.size() >= kDecodeCacheLimit)
            m_decodeCache.clear();
        it = m_decodeCache.emplace(std::move(key), std::move(sub)).first;
    }
    const std::vector<std::uint8_t> &dec = it->second;

    // Data shard i = sum over j of dec[i][j] * (present shard rows[j]).
    for (int i = 0; i < m_data; ++i) {
        if (present[i])
            continue;
        std::uint8_t *out = shards[i];
        const std::uint8_t *coeffs = &dec[static_cast<std::size_t>(i) * static_cast<std::size_t>(m_data)];
        gf256::mulSet(out, shards[rows[0]], coeffs[0], shardSize);
        for (int j = 1; j < m_data; ++j)
            gf256::mulAdd(out, shards[rows[static_cast<std::size_t>(j)]], coeffs[j], shardSize);
    }
    return true;
}

// ---- KcpFecEncoder ----

KcpFecEncoder::KcpFecEncoder(int dataShards, int parityShards)
    : m_rs(dataShards, parityShards)
{
    const auto total = static_cast<std::uint32_t>(dataShards + parityShards);
    m_paws = 0xFFFFFFFFu / total * total;
    m_shards.resize(total);
    m_in.resize(static_cast<std::size_t>(dataShards));
    m_out.resize(static_cast<std::size_t>(parityShards));
}

bool KcpFecEncoder::setNextSeqid(std::uint32_t seqid) noexcept
{
    const auto total = static_cast<std::uint32_t>(m_rs.totalShards());
    if (m_count != 0 || seqid % total != 0 || seqid >= m_paws)
        return false;
    m_next = seqid;
    return true;
}

bool KcpFecEncoder::encode(const std::uint8_t *packet, std::size_t size, const Sink &emit)
{
    if (size == 0 || size > kMaxPacket) {
        ++m_stats.rejected;
        return false;
    }
    std::vector<std::uint8_t> &shard = m_shards[static_cast<std::size_t>(m_count)];
    shard.resize(kKcpFecOverhead + size);
    putU32(shard.data(), m_next);
    putU16(shard.data() + 4, kKcpFecTypeData);
    putU16(shard.data() + 6, static_cast<std::uint16_t>(size + 2));
    std::memcpy(shard.data() + kKcpFecOverhead, packet, size);
    ++m_next; // kcp-go wraps only at parity shards: a group never straddles the wrap
    ++m_count;
    m_maxLen = std::max(m_maxLen, size + 2);
    ++m_stats.dataShards;
    if (emit)
        emit(shard.data(), shard.size());

    if (m_count < m_rs.dataShards())
        return true;

    // The group is complete: pad the data shards with zeros to the longest and compute the parity.
    const std::size_t full = kKcpFecHeaderSize + m_maxLen;
    const auto d = static_cast<std::size_t>(m_rs.dataShards());
    for (std::size_t i = 0; i < d; ++i) {
        m_shards[i].resize(full); // grows with zeros
        m_in[i] = m_shards[i].data() + kKcpFecHeaderSize;
    }
    for (std::size_t p = 0; p < m_out.size(); ++p) {
        m_shards[d + p].resize(full);
        m_out[p] = m_shards[d + p].data() + kKcpFecHeaderSize;
    }
    m_rs.encode(m_in.data(), m_out.data(), m_maxLen);
    for (std::size_t p = 0; p < m_out.size(); ++p) {
        std::uint8_t *h = m_shards[d + p].data();
        putU32(h, m_next);
        putU16(h + 4, kKcpFecTypeParity);
        m_next = (m_next + 1) % m_paws;
        ++m_stats.parityShards;
        if (emit)
            emit(h, full);
    }
    ++m_stats.groups;
    m_count = 0;
    m_maxLen = 0;
    return true;
}

std::vector<std::vector<std::uint8_t>> KcpFecEncoder::encode(const std::uint8_t *packet, std::size_t size)
{
    std::vector<std::vector<std::uint8_t>> out;
    encode(packet, size, [&](const std::uint8_t *data, std::size_t n) { out.emplace_back(data, data + n); });
    return out;
}

// ---- KcpFecDecoder ----

struct KcpFecDecoder::Group {
    std::uint32_t base = 0;
    std::uint32_t firstSeen = 0;
    int count = 0;
    int dataCount = 0;
    std::size_t maxLen = 0;
    std::vector<std::uint8_t> present;
    std::vector<std::vector<std::uint8_t>> shards; // what follows the 6-byte header

    void reset(int total, std::uint32_t b, std::uint32_t now)
    {
        base = b;
        firstSeen = now;
        count = dataCount = 0;
        maxLen = 0;
        present.assign(static_cast<std::size_t>(total), 0);
        shards.resize(static_cast<std::size_t>(total));
    }
};

KcpFecDecoder::KcpFecDecoder(int dataShards, int parityShards)
    : m_rs(dataShards, parityShards)
    , m_rxLimit(kKcpFecRxMulti * static_cast<std::size_t>(dataShards + parityShards))
    , m_present(new bool[static_cast<std::size_t>(dataShards + parityShards)])
{
    m_ptrs.resize(static_cast<std::size_t>(dataShards + parityShards));
}

KcpFecDecoder::~KcpFecDecoder() = default;

bool KcpFecDecoder::isRetired(std::uint32_t base) const noexcept
{
    for (std::size_t i = 0; i < m_retiredCount; ++i) {
        if (m_retired[i] == base)
            return true;
    }
    return false;
}

std::size_t KcpFecDecoder::findOrCreate(std::uint32_t base, std::uint32_t now)
{
    for (std::size_t i = 0; i < m_groups.size(); ++i) {
        if (m_groups[i]->base == base)
            return i;
    }
    std::unique_ptr<Group> g;
    if (!m_spare.empty()) {
        g = std::move(m_spare.back());
        m_spare.pop_back();
    } else {
        g = std::make_unique<Group>();
    }
    g->reset(m_rs.totalShards(), base, now);
    m_groups.push_back(std::move(g));
    return m_groups.size() - 1;
}

void KcpFecDecoder::retire(std::size_t index, bool completed)
{
    std::unique_ptr<Group> g = std::move(m_groups[index]);
    m_groups[index] = std::move(m_groups.back());
    m_groups.pop_back();
    m_buffered -= static_cast<std::size_t>(g->count);
    if (completed) {
        m_retired[m_retiredNext] = g->base;
        m_retiredNext = (m_retiredNext + 1) % kRetiredRing;
        m_retiredCount = std::min(m_retiredCount + 1, kRetiredRing);
    } else {
        ++m_stats.unrecoverableGroups;
    }
    m_spare.push_back(std::move(g));
}

void KcpFecDecoder::expire(std::uint32_t now)
{
    for (std::size_t i = 0; i < m_groups.size();) {
        if (seqDiff(now, m_groups[i]->firstSeen) > static_cast<std::int32_t>(kKcpFecExpireMs)) {
            ++m_stats.expiredGroups;
            retire(i, false);
        } else {
            ++i;
        }
    }
}

void KcpFecDecoder::enforceLimit()
{
    while (m_buffered > m_rxLimit && !m_groups.empty()) {
        // The oldest group: the one furthest behind in seqid order (wrap-aware).
        std::size_t oldest = 0;
        for (std::size_t i = 1; i < m_groups.size(); ++i) {
            if (seqDiff(m_groups[i]->base, m_groups[oldest]->base) < 0)
                oldest = i;
        }
        retire(oldest, false);
    }
}

bool KcpFecDecoder::recover(Group &g, const Sink &emit, bool verify)
{
    const int total = m_rs.totalShards();
    const int data = m_rs.dataShards();
    for (int i = 0; i < total; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        m_present[ui] = g.present[ui] != 0;
        if (m_present[ui] || i < data) {
            g.shards[ui].resize(g.maxLen); // present ones are zero-padded, missing data ones get room
            m_ptrs[ui] = g.shards[ui].data();
        } else {
            m_ptrs[ui] = nullptr;
        }
    }
    if (!m_rs.reconstructData(m_ptrs.data(), m_present.get(), g.maxLen)) {
        ++m_stats.recoveryErrors;
        return !verify;
    }
    if (verify) {
        // Re-encode the (now complete) data shards: every parity shard we hold must come out the same.
        std::vector<const std::uint8_t *> dataPtrs(static_cast<std::size_t>(data));
        for (int i = 0; i < data; ++i)
            dataPtrs[static_cast<std::size_t>(i)] = g.shards[static_cast<std::size_t>(i)].data();
        std::vector<std::vector<std::uint8_t>> parity(static_cast<std::size_t>(total - data),
                                                      std::vector<std::uint8_t>(g.maxLen));
        std::vector<std::uint8_t *> parityPtrs;
        for (auto &p : parity)
            parityPtrs.push_back(p.data());
        m_rs.encode(dataPtrs.data(), parityPtrs.data(), g.maxLen);
        for (int j = 0; j < total - data; ++j) {
            const auto uj = static_cast<std::size_t>(data + j);
            if (m_present[uj] && parity[static_cast<std::size_t>(j)] != g.shards[uj])
                return false;
        }
    }
    for (int i = 0; i < data; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        if (m_present[ui])
            continue;
        const std::uint8_t *s = g.shards[ui].data();
        const std::size_t sz = getU16(s);
        if (sz < 2 || sz > g.maxLen) {
            ++m_stats.recoveryErrors;
            continue;
        }
        ++m_stats.recovered;
        if (emit)
            emit(s + 2, sz - 2);
    }
    return true;
}

KcpFecDecoder::Result KcpFecDecoder::decode(const std::uint8_t *datagram, std::size_t size, std::uint32_t now,
                                            const Sink &emit)
{
    if (!isKcpFecDatagram(datagram, size)) {
        ++m_stats.notFec;
        if (emit)
            emit(datagram, size);
        return Result::NotFec;
    }
    if (size < kKcpFecOverhead) {
        ++m_stats.malformed;
        return Result::Malformed;
    }
    const std::uint32_t seqid = getU32(datagram);
    const bool isData = getU16(datagram + 4) == kKcpFecTypeData;
    const Result result = isData ? Result::Data : Result::Parity;
    if (isData) {
        ++m_stats.dataShards;
        if (emit)
            emit(datagram + kKcpFecOverhead, size - kKcpFecOverhead);
    } else {
        ++m_stats.parityShards;
    }

    expire(now);

    if (m_outOfSync)
        return result; // the peer's FEC parameters differ from ours: pass data through, never rebuild
    const auto total = static_cast<std::uint32_t>(m_rs.totalShards());
    const std::uint32_t pos = seqid % total;
    if ((pos < static_cast<std::uint32_t>(m_rs.dataShards())) != isData) {
        // The peer uses other FEC parameters (kcp-go would try to auto-tune). Rebuilding from its shards with our
        // matrix would produce garbage that KCP might accept: stop recovering for good.
        ++m_stats.mismatched;
        m_outOfSync = m_verify;
        return result;
    }
    const std::uint32_t base = seqid - pos;
    if (isRetired(base)) {
        ++m_stats.late;
        return result;
    }
    const std::size_t index = findOrCreate(base, now);
    Group &g = *m_groups[index];
    if (g.present[pos]) {
        ++m_stats.duplicates;
        return result;
    }
    g.shards[pos].assign(datagram + kKcpFecHeaderSize, datagram + size);
    g.present[pos] = 1;
    ++g.count;
    if (isData)
        ++g.dataCount;
    g.maxLen = std::max(g.maxLen, size - kKcpFecHeaderSize);
    ++m_buffered;

    if (!m_synced) {
        // Until a group with more shards than needed proves that the peer encodes with our parameters (the shards
        // beyond `data` match what our matrix computes), nothing rebuilt is passed on: wrong parameters would
        // rebuild garbage that KCP might accept. Data shards themselves were passed on already.
        if (g.count > m_rs.dataShards()) {
            if (recover(g, emit, true)) {
                m_synced = true;
            } else {
                ++m_stats.mismatched;
                m_outOfSync = true;
            }
            retire(index, true);
        }
        enforceLimit();
        return result;
    }
    if (g.dataCount == m_rs.dataShards()) {
        retire(index, true); // nothing lost
    } else if (g.count >= m_rs.dataShards()) {
        recover(g, emit);
        retire(index, true);
    }
    enforceLimit();
    return result;
}

std::vector<std::vector<std::uint8_t>> KcpFecDecoder::decode(const std::uint8_t *datagram, std::size_t size,
                                                             std::uint32_t now)
{
    std::vector<std::vector<std::uint8_t>> out;
    decode(datagram, size, now, [&](const std::uint8_t *data, std::size_t n) { out.emplace_back(data, data + n); });
    return out;
}

} // namespace kcpnet
