// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpgf256.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define KCPNET_GF256_X86 1
#include <immintrin.h>
#else
#define KCPNET_GF256_X86 0
#endif

namespace kcpnet::gf256 {
namespace {

struct Tables {
    std::uint8_t log[256];
    std::uint8_t exp[512]; // doubled, so exp[log a + log b] needs no reduction
    std::uint8_t mul[256][256];
    // Nibble tables for the shuffle kernels: lo[c][x] = c*x, hi[c][x] = c*(x << 4), x < 16.
    alignas(16) std::uint8_t lo[256][16];
    alignas(16) std::uint8_t hi[256][16];

    Tables()
    {
        unsigned x = 1;
        for (unsigned i = 0; i < 255; ++i) {
            exp[i] = static_cast<std::uint8_t>(x);
            log[x] = static_cast<std::uint8_t>(i);
            x <<= 1;
            if (x & 0x100)
                x ^= kPolynomial;
        }
        log[0] = 0;
        for (unsigned i = 255; i < 512; ++i)
            exp[i] = exp[i - 255];
        for (unsigned a = 0; a < 256; ++a) {
            for (unsigned b = 0; b < 256; ++b)
                mul[a][b] = (a == 0 || b == 0) ? 0 : exp[log[a] + log[b]];
        }
        for (unsigned c = 0; c < 256; ++c) {
            for (unsigned n = 0; n < 16; ++n) {
                lo[c][n] = mul[c][n];
                hi[c][n] = mul[c][n << 4];
            }
        }
    }
};

const Tables &tables() noexcept
{
    static const Tables t;
    return t;
}

void scalarSet(std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c, std::size_t n) noexcept
{
    const std::uint8_t *row = tables().mul[c];
    for (std::size_t i = 0; i < n; ++i)
        dst[i] = row[src[i]];
}

void scalarAdd(std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c, std::size_t n) noexcept
{
    const std::uint8_t *row = tables().mul[c];
    for (std::size_t i = 0; i < n; ++i)
        dst[i] ^= row[src[i]];
}

#if KCPNET_GF256_X86
template <bool Accumulate>
__attribute__((target("ssse3"))) void ssse3Kernel(std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c,
                                                  std::size_t n) noexcept
{
    const Tables &t = tables();
    const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i *>(t.lo[c]));
    const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i *>(t.hi[c]));
    const __m128i mask = _mm_set1_epi8(0x0f);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i));
        const __m128i l = _mm_and_si128(s, mask);
        const __m128i h = _mm_and_si128(_mm_srli_epi64(s, 4), mask);
        __m128i p = _mm_xor_si128(_mm_shuffle_epi8(lo, l), _mm_shuffle_epi8(hi, h));
        if (Accumulate)
            p = _mm_xor_si128(p, _mm_loadu_si128(reinterpret_cast<const __m128i *>(dst + i)));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i), p);
    }
    if (Accumulate)
        scalarAdd(dst + i, src + i, c, n - i);
    else
        scalarSet(dst + i, src + i, c, n - i);
}

template <bool Accumulate>
__attribute__((target("avx2"))) void avx2Kernel(std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c,
                                                std::size_t n) noexcept
{
    const Tables &t = tables();
    const __m256i lo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i *>(t.lo[c])));
    const __m256i hi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i *>(t.hi[c])));
    const __m256i mask = _mm256_set1_epi8(0x0f);
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) { // two vectors per turn: two independent shuffle chains
        const __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
        const __m256i s1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 32));
        __m256i p0 = _mm256_xor_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(s0, mask)),
                                      _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64(s0, 4), mask)));
        __m256i p1 = _mm256_xor_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(s1, mask)),
                                      _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64(s1, 4), mask)));
        if (Accumulate) {
            p0 = _mm256_xor_si256(p0, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(dst + i)));
            p1 = _mm256_xor_si256(p1, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(dst + i + 32)));
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i), p0);
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i + 32), p1);
    }
    for (; i + 32 <= n; i += 32) {
        const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
        __m256i p = _mm256_xor_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(s, mask)),
                                     _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64(s, 4), mask)));
        if (Accumulate)
            p = _mm256_xor_si256(p, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(dst + i)));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i), p);
    }
    if (Accumulate)
        scalarAdd(dst + i, src + i, c, n - i);
    else
        scalarSet(dst + i, src + i, c, n - i);
}
#endif

Kernel detectKernel() noexcept
{
#if KCPNET_GF256_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return Kernel::Avx2;
    if (__builtin_cpu_supports("ssse3"))
        return Kernel::Ssse3;
#endif
    return Kernel::Scalar;
}

} // namespace

std::uint8_t mul(std::uint8_t a, std::uint8_t b) noexcept
{
    return tables().mul[a][b];
}

std::uint8_t div(std::uint8_t a, std::uint8_t b) noexcept
{
    if (a == 0 || b == 0)
        return 0;
    const Tables &t = tables();
    return t.exp[t.log[a] + 255u - t.log[b]];
}

std::uint8_t inv(std::uint8_t a) noexcept
{
    return div(1, a);
}

std::uint8_t exp(std::uint8_t a, unsigned n) noexcept
{
    if (n == 0)
        return 1;
    if (a == 0)
        return 0;
    const Tables &t = tables();
    return t.exp[(static_cast<unsigned long long>(t.log[a]) * n) % 255u];
}

std::uint8_t log(std::uint8_t a) noexcept
{
    return tables().log[a];
}

std::uint8_t pow2(unsigned i) noexcept
{
    return tables().exp[i % 255u];
}

const std::uint8_t *mulRow(std::uint8_t c) noexcept
{
    return tables().mul[c];
}

const char *kernelName(Kernel k) noexcept
{
    switch (k) {
    case Kernel::Scalar:
        return "scalar";
    case Kernel::Ssse3:
        return "ssse3";
    case Kernel::Avx2:
        return "avx2";
    }
    return "?";
}

bool kernelSupported(Kernel k) noexcept
{
    switch (k) {
    case Kernel::Scalar:
        return true;
    case Kernel::Ssse3:
        return activeKernel() != Kernel::Scalar;
    case Kernel::Avx2:
        return activeKernel() == Kernel::Avx2;
    }
    return false;
}

Kernel activeKernel() noexcept
{
    static const Kernel k = detectKernel();
    return k;
}

void mulSetWith(Kernel k, std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c, std::size_t n) noexcept
{
    if (c == 0) {
        for (std::size_t i = 0; i < n; ++i)
            dst[i] = 0;
        return;
    }
#if KCPNET_GF256_X86
    if (k == Kernel::Avx2 && kernelSupported(Kernel::Avx2))
        return avx2Kernel<false>(dst, src, c, n);
    if (k == Kernel::Ssse3 && kernelSupported(Kernel::Ssse3))
        return ssse3Kernel<false>(dst, src, c, n);
#else
    (void)k;
#endif
    scalarSet(dst, src, c, n);
}

void mulAddWith(Kernel k, std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c, std::size_t n) noexcept
{
    if (c == 0)
        return;
#if KCPNET_GF256_X86
    if (k == Kernel::Avx2 && kernelSupported(Kernel::Avx2))
        return avx2Kernel<true>(dst, src, c, n);
    if (k == Kernel::Ssse3 && kernelSupported(Kernel::Ssse3))
        return ssse3Kernel<true>(dst, src, c, n);
#else
    (void)k;
#endif
    scalarAdd(dst, src, c, n);
}

void mulSet(std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c, std::size_t n) noexcept
{
    mulSetWith(activeKernel(), dst, src, c, n);
}

void mulAdd(std::uint8_t *dst, const std::uint8_t *src, std::uint8_t c, std::size_t n) noexcept
{
    mulAddWith(activeKernel(), dst, src, c, n);
}

} // namespace kcpnet::gf256
