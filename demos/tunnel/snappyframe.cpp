// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "snappyframe.h"

#include <snappy.h>

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define TUNNEL_CRC32C_HW 1
#endif

namespace tunnel {

namespace {

// Slicing-by-8 tables for the reflected Castagnoli polynomial. table[0] is the classic byte table; table[k][b] is
// the CRC of byte b followed by k zero bytes.
struct Crc32cTables {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    Crc32cTables()
    {
        for (std::uint32_t b = 0; b < 256; ++b) {
            std::uint32_t c = b;
            for (int i = 0; i < 8; ++i)
                c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[0][b] = c;
        }
        for (std::uint32_t b = 0; b < 256; ++b) {
            for (int k = 1; k < 8; ++k)
                t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
        }
    }
};

const Crc32cTables &tables()
{
    static const Crc32cTables instance;
    return instance;
}

std::uint32_t crc32cSoftware(const unsigned char *p, std::size_t n, std::uint32_t crc)
{
    const auto &t = tables().t;
    while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0) {
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
        --n;
    }
    while (n >= 8) {
        std::uint32_t lo;
        std::uint32_t hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][hi & 0xff]
            ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    return crc;
}

#ifdef TUNNEL_CRC32C_HW
__attribute__((target("sse4.2"))) std::uint32_t crc32cHardware(const unsigned char *p, std::size_t n, std::uint32_t crc)
{
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n-- > 0)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

bool haveSse42()
{
    static const bool yes = __builtin_cpu_supports("sse4.2");
    return yes;
}
#endif

// golang/snappy's Reader accepts chunks up to the largest encoding of a full block plus the checksum.
std::size_t maxChunkLength()
{
    static const std::size_t n = snappy::MaxCompressedLength(snappyframe::kMaxBlock) + snappyframe::kChecksumSize;
    return n;
}

std::uint32_t getLe32(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return static_cast<std::uint32_t>(u[0]) | (static_cast<std::uint32_t>(u[1]) << 8)
        | (static_cast<std::uint32_t>(u[2]) << 16) | (static_cast<std::uint32_t>(u[3]) << 24);
}

void putLe32(char *p, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void putChunkHeader(char *p, std::uint8_t type, std::uint32_t length)
{
    p[0] = static_cast<char>(type);
    p[1] = static_cast<char>(length & 0xff);
    p[2] = static_cast<char>((length >> 8) & 0xff);
    p[3] = static_cast<char>((length >> 16) & 0xff);
}

constexpr qsizetype kCompactAt = 256 * 1024;

} // namespace

std::uint32_t crc32c(const void *data, std::size_t size, std::uint32_t crc) noexcept
{
    const auto *p = static_cast<const unsigned char *>(data);
    crc = ~crc;
#ifdef TUNNEL_CRC32C_HW
    if (haveSse42())
        return ~crc32cHardware(p, size, crc);
#endif
    return ~crc32cSoftware(p, size, crc);
}

std::uint32_t crc32cPortable(const void *data, std::size_t size, std::uint32_t crc) noexcept
{
    return ~crc32cSoftware(static_cast<const unsigned char *>(data), size, ~crc);
}

std::uint32_t snappyMaskedCrc(const void *data, std::size_t size) noexcept
{
    const std::uint32_t c = crc32c(data, size);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

namespace snappyframe {
const char kStreamHeader[10] = {'\xff', '\x06', '\x00', '\x00', 's', 'N', 'a', 'P', 'p', 'Y'};
} // namespace snappyframe

void SnappyFrameWriter::write(const char *data, qsizetype size, QByteArray &out)
{
    using namespace snappyframe;
    if (size <= 0)
        return;
    if (!m_headerWritten) {
        m_headerWritten = true;
        out.append(kStreamHeader, sizeof kStreamHeader);
        m_stats.outBytes += sizeof kStreamHeader;
    }
    const auto maxCompressed = static_cast<qsizetype>(snappy::MaxCompressedLength(kMaxBlock));
    if (m_scratch.size() < maxCompressed)
        m_scratch.resize(maxCompressed);
    while (size > 0) {
        const qsizetype n = std::min<qsizetype>(size, kMaxBlock);
        const std::uint32_t checksum = snappyMaskedCrc(data, static_cast<std::size_t>(n));
        std::size_t compressedSize = 0;
        snappy::RawCompress(data, static_cast<std::size_t>(n), m_scratch.data(), &compressedSize);
        const bool useCompressed = static_cast<qsizetype>(compressedSize) < n - n / 8;
        const qsizetype body = useCompressed ? static_cast<qsizetype>(compressedSize) : n;
        char header[kChunkHeader + kChecksumSize];
        putChunkHeader(header, useCompressed ? kCompressed : kUncompressed,
                       static_cast<std::uint32_t>(body + kChecksumSize));
        putLe32(header + kChunkHeader, checksum);
        out.append(header, sizeof header);
        out.append(useCompressed ? m_scratch.constData() : data, body);
        if (useCompressed)
            ++m_stats.compressedChunks;
        else
            ++m_stats.uncompressedChunks;
        m_stats.inBytes += static_cast<quint64>(n);
        m_stats.outBytes += static_cast<quint64>(sizeof header + body);
        data += n;
        size -= n;
    }
}

void SnappyFrameReader::feed(const char *data, qsizetype size)
{
    if (size <= 0 || failed())
        return;
    if (m_pos > 0 && (m_pos == m_buf.size() || m_pos >= kCompactAt)) {
        m_buf.remove(0, m_pos);
        m_pos = 0;
    }
    m_buf.append(data, size);
}

SnappyFrameReader::Result SnappyFrameReader::fail(const char *why)
{
    m_error = why;
    m_buf.clear();
    m_pos = 0;
    return Error;
}

SnappyFrameReader::Result SnappyFrameReader::decodeChunk(QByteArray &out)
{
    using namespace snappyframe;
    if (failed())
        return Error;
    const qsizetype avail = m_buf.size() - m_pos;
    if (avail < kChunkHeader)
        return NeedMore;
    const char *h = m_buf.constData() + m_pos;
    const auto type = static_cast<std::uint8_t>(h[0]);
    const std::uint32_t length = static_cast<std::uint32_t>(static_cast<unsigned char>(h[1]))
        | (static_cast<std::uint32_t>(static_cast<unsigned char>(h[2])) << 8)
        | (static_cast<std::uint32_t>(static_cast<unsigned char>(h[3])) << 16);
    if (!m_headerSeen && type != kStreamIdentifier)
        return fail("snappy framing: the stream does not start with a stream identifier");
    if (length > maxChunkLength())
        return fail("snappy framing: chunk too long");
    if (avail < kChunkHeader + static_cast<qsizetype>(length))
        return NeedMore;
    const char *body = h + kChunkHeader;
    switch (type) {
    case kStreamIdentifier:
        if (length != 6 || std::memcmp(body, kStreamHeader + kChunkHeader, 6) != 0)
            return fail("snappy framing: bad stream identifier");
        m_headerSeen = true;
        break;
    case kCompressed: {
        if (length < kChecksumSize)
            return fail("snappy framing: compressed chunk shorter than its checksum");
        const std::uint32_t expected = getLe32(body);
        const char *block = body + kChecksumSize;
        const std::size_t blockSize = length - kChecksumSize;
        std::size_t decodedSize = 0;
        if (!snappy::GetUncompressedLength(block, blockSize, &decodedSize))
            return fail("snappy framing: corrupt compressed block");
        if (decodedSize > static_cast<std::size_t>(kMaxBlock))
            return fail("snappy framing: compressed block decodes to more than 65536 bytes");
        const qsizetype old = out.size();
        out.resize(old + static_cast<qsizetype>(decodedSize));
        if (!snappy::RawUncompress(block, blockSize, out.data() + old)) {
            out.resize(old);
            return fail("snappy framing: corrupt compressed block");
        }
        if (snappyMaskedCrc(out.constData() + old, decodedSize) != expected) {
            out.resize(old);
            return fail("snappy framing: checksum mismatch");
        }
        break;
    }
    case kUncompressed: {
        if (length < kChecksumSize)
            return fail("snappy framing: uncompressed chunk shorter than its checksum");
        const std::size_t n = length - kChecksumSize;
        if (n > static_cast<std::size_t>(kMaxBlock))
            return fail("snappy framing: uncompressed chunk longer than 65536 bytes");
        if (snappyMaskedCrc(body + kChecksumSize, n) != getLe32(body))
            return fail("snappy framing: checksum mismatch");
        out.append(body + kChecksumSize, static_cast<qsizetype>(n));
        break;
    }
    default:
        if (type <= 0x7f)
            return fail("snappy framing: reserved unskippable chunk type");
        break; // padding and reserved skippable chunks
    }
    m_pos += kChunkHeader + static_cast<qsizetype>(length);
    return Ok;
}

SnappyFrameReader::Result SnappyFrameReader::decodeAll(QByteArray &out)
{
    Result r = NeedMore;
    for (;;) {
        const Result one = decodeChunk(out);
        if (one == Error)
            return Error;
        if (one == NeedMore)
            return r;
        r = Ok;
    }
}

} // namespace tunnel
