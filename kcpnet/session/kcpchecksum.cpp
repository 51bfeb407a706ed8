// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpchecksum.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define KCPNET_HAVE_SSE42_PATH 1
#endif

namespace kcpnet {

namespace {

constexpr std::uint32_t kCastagnoli = 0x82F63B78u; // reflected form of 0x1EDC6F41

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct CrcTables {
    std::uint32_t t[8][256];
    CrcTables()
    {
        for (std::uint32_t b = 0; b < 256; ++b) {
            std::uint32_t c = b;
            for (int i = 0; i < 8; ++i)
                c = (c & 1) ? (c >> 1) ^ kCastagnoli : c >> 1;
            t[0][b] = c;
        }
        for (std::uint32_t b = 0; b < 256; ++b)
            for (int k = 1; k < 8; ++k)
                t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    }
};

const CrcTables &tables()
{
    static const CrcTables instance;
    return instance;
}

std::uint32_t crc32cPortable(const std::uint8_t *p, std::size_t n, std::uint32_t crc)
{
    const auto &t = tables().t;
    while (n >= 8) {
        std::uint32_t lo;
        std::uint32_t hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24]
            ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    return crc;
}

#ifdef KCPNET_HAVE_SSE42_PATH
__attribute__((target("sse4.2"))) std::uint32_t crc32cHardware(const std::uint8_t *p, std::size_t n,
                                                                 std::uint32_t crc)
{
#if defined(__x86_64__)
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    crc = static_cast<std::uint32_t>(c);
#endif
    while (n--)
        crc = _mm_crc32_u8(crc, *p++);
    return crc;
}

bool cpuHasSse42()
{
    static const bool has = __builtin_cpu_supports("sse4.2");
    return has;
}
#endif

inline std::uint64_t rotl(std::uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

inline std::uint64_t load64(const std::uint8_t *p)
{
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

struct SipState {
    std::uint64_t v0, v1, v2, v3;
    void round()
    {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(std::uint64_t m)
    {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

} // namespace

std::uint32_t crc32c(const std::uint8_t *data, std::size_t size, std::uint32_t crc) noexcept
{
    crc = ~crc;
#ifdef KCPNET_HAVE_SSE42_PATH
    if (cpuHasSse42())
        return ~crc32cHardware(data, size, crc);
#endif
    return ~crc32cPortable(data, size, crc);
}

std::uint64_t sipHash24(const std::uint8_t key[16], const std::uint8_t *data, std::size_t size) noexcept
{
    const std::uint64_t k0 = load64(key);
    const std::uint64_t k1 = load64(key + 8);
    SipState s {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
                k1 ^ 0x7465646279746573ull};
    const std::size_t whole = size & ~static_cast<std::size_t>(7);
    for (std::size_t i = 0; i < whole; i += 8)
        s.absorb(load64(data + i));
    std::uint64_t last = static_cast<std::uint64_t>(size & 0xff) << 56;
    for (std::size_t i = whole; i < size; ++i)
        last |= static_cast<std::uint64_t>(data[i]) << (8 * (i - whole));
    s.absorb(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i)
        s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

} // namespace kcpnet
