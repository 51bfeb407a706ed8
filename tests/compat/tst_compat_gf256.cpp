// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// GF(2^8) and Reed-Solomon (kcpnet/compat/kcpgf256.h, kcpfec.h): the field axioms over every pair (and triple
// where cheap), every SIMD kernel against the scalar one, the coding matrix against klauspost/reedsolomon's for
// several shapes, parity bytes against reedsolomon's Encode, and reconstruction for every erasure pattern.
#include "compat_support.h"
#include "kcpfec.h"
#include "kcpgf256.h"

#include <gtest/gtest.h>

#include <functional>

using namespace kcpnet;
using compat_test::Bytes;

namespace {

// Carry-less multiplication reduced by 0x11D, bit by bit: an independent reference for the tables.
std::uint8_t slowMul(std::uint8_t a, std::uint8_t b)
{
    unsigned r = 0, x = a;
    for (int i = 0; i < 8; ++i) {
        if (b & (1u << i))
            r ^= x;
        x <<= 1;
        if (x & 0x100)
            x ^= gf256::kPolynomial;
    }
    return static_cast<std::uint8_t>(r);
}

} // namespace

TEST(CompatGf256, MultiplicationMatchesBitwiseReference)
{
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; ++b)
            ASSERT_EQ(gf256::mul(a, b), slowMul(a, b)) << a << " * " << b;
    }
}

TEST(CompatGf256, FieldAxiomsExhaustive)
{
    for (unsigned a = 0; a < 256; ++a) {
        const auto ua = static_cast<std::uint8_t>(a);
        ASSERT_EQ(gf256::mul(ua, 1), ua);
        ASSERT_EQ(gf256::mul(ua, 0), 0);
        ASSERT_EQ(gf256::add(ua, ua), 0);
        if (a != 0) {
            ASSERT_EQ(gf256::mul(ua, gf256::inv(ua)), 1) << a;
            ASSERT_EQ(gf256::div(ua, ua), 1) << a;
            ASSERT_EQ(gf256::pow2(gf256::log(ua)), ua) << a;
        }
        for (unsigned b = 0; b < 256; ++b) {
            const auto ub = static_cast<std::uint8_t>(b);
            const std::uint8_t ab = gf256::mul(ua, ub);
            ASSERT_EQ(ab, gf256::mul(ub, ua)) << "commutative " << a << "," << b;
            ASSERT_EQ(ab == 0, a == 0 || b == 0) << "no zero divisors " << a << "," << b;
            if (b != 0) {
                ASSERT_EQ(gf256::div(ab, ub), ua) << "(a*b)/b " << a << "," << b;
                ASSERT_EQ(gf256::mul(gf256::div(ua, ub), ub), ua) << "(a/b)*b " << a << "," << b;
                ASSERT_EQ(gf256::div(ua, ub), gf256::mul(ua, gf256::inv(ub)));
            }
        }
    }
    // Associativity and distributivity over all triples (16.7 M each).
    for (unsigned a = 0; a < 256; ++a) {
        const std::uint8_t *ra = gf256::mulRow(static_cast<std::uint8_t>(a));
        for (unsigned b = 0; b < 256; ++b) {
            const std::uint8_t ab = ra[b];
            const std::uint8_t *rab = gf256::mulRow(ab);
            const std::uint8_t *rb = gf256::mulRow(static_cast<std::uint8_t>(b));
            for (unsigned c = 0; c < 256; ++c) {
                if (rab[c] != ra[rb[c]])
                    FAIL() << "associativity " << a << "," << b << "," << c;
                if (ra[b ^ c] != (ra[b] ^ ra[c]))
                    FAIL() << "distributivity " << a << "," << b << "," << c;
            }
        }
    }
}

TEST(CompatGf256, ExpAndLogTables)
{
    // 2 generates the multiplicative group: its 255 powers are the 255 non-zero elements.
    std::vector<int> seen(256, 0);
    for (unsigned i = 0; i < 255; ++i) {
        const std::uint8_t v = gf256::pow2(i);
        ASSERT_NE(v, 0);
        ASSERT_EQ(seen[v]++, 0) << "2^" << i << " repeats";
        ASSERT_EQ(gf256::log(v), i);
    }
    // klauspost's galExp: a^0 = 1 (also 0^0), 0^n = 0, and a^n by repeated multiplication.
    for (unsigned a = 0; a < 256; ++a) {
        std::uint8_t power = 1;
        for (unsigned n = 0; n < 600; ++n) {
            ASSERT_EQ(gf256::exp(static_cast<std::uint8_t>(a), n), power) << a << "^" << n;
            power = gf256::mul(power, static_cast<std::uint8_t>(a));
        }
    }
    // Known values (klauspost's expTable starts 1 2 4 8 16 32 64 128 29 58).
    EXPECT_EQ(gf256::pow2(8), 0x1d);
    EXPECT_EQ(gf256::pow2(9), 0x3a);
    EXPECT_EQ(gf256::mul(0x80, 2), 0x1d);
}

TEST(CompatGf256, KernelsAgreeWithScalar)
{
    compat_test::SplitMix64 rng(42);
    const gf256::Kernel kernels[] = {gf256::Kernel::Scalar, gf256::Kernel::Ssse3, gf256::Kernel::Avx2};
    std::printf("[compat] gf256 active kernel: %s\n", gf256::kernelName(gf256::activeKernel()));
    Bytes src(4096 + 64), base(4096 + 64);
    for (auto &b : src)
        b = static_cast<std::uint8_t>(rng.next());
    for (auto &b : base)
        b = static_cast<std::uint8_t>(rng.next());
    const std::size_t lengths[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 1400, 1457, 4096};
    for (unsigned c = 0; c < 256; ++c) {
        for (std::size_t len : lengths) {
            const std::size_t off = (c * 7 + len) % 13; // unaligned starts
            Bytes wantSet(len), wantAdd(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(len));
            for (std::size_t i = 0; i < len; ++i) {
                wantSet[i] = slowMul(static_cast<std::uint8_t>(c), src[off + i]);
                wantAdd[i] ^= wantSet[i];
            }
            for (gf256::Kernel k : kernels) {
                Bytes set(len + 1, 0xEE), add(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(len));
                add.push_back(0xEE);
                gf256::mulSetWith(k, set.data(), src.data() + off, static_cast<std::uint8_t>(c), len);
                gf256::mulAddWith(k, add.data(), src.data() + off, static_cast<std::uint8_t>(c), len);
                ASSERT_TRUE(std::equal(wantSet.begin(), wantSet.end(), set.begin()))
                    << gf256::kernelName(k) << " mulSet c=" << c << " len=" << len;
                ASSERT_TRUE(std::equal(wantAdd.begin(), wantAdd.end(), add.begin()))
                    << gf256::kernelName(k) << " mulAdd c=" << c << " len=" << len;
                ASSERT_EQ(set[len], 0xEE) << "wrote past the end";
                ASSERT_EQ(add[len], 0xEE) << "wrote past the end";
            }
        }
    }
}

// ---- the coding matrix ----

TEST(CompatReedSolomon, MatrixIsSystematicAndMdsProperty)
{
    const KcpReedSolomon rs(10, 3);
    for (int r = 0; r < 10; ++r) {
        for (int c = 0; c < 10; ++c)
            ASSERT_EQ(rs.coefficient(r, c), r == c ? 1 : 0);
    }
    // Every 10-row subset of the 13 rows is invertible (what makes any 10 shards enough).
    for (int mask = 0; mask < (1 << 13); ++mask) {
        if (__builtin_popcount(static_cast<unsigned>(mask)) != 10)
            continue;
        std::vector<std::uint8_t> m;
        for (int r = 0; r < 13; ++r) {
            if (mask & (1 << r))
                m.insert(m.end(), rs.matrix().begin() + r * 10, rs.matrix().begin() + r * 10 + 10);
        }
        ASSERT_TRUE(KcpReedSolomon::invert(m, 10)) << "rows " << mask;
    }
}

TEST(CompatReedSolomon, InvalidShapesThrow)
{
    EXPECT_THROW(KcpReedSolomon(0, 3), std::invalid_argument);
    EXPECT_THROW(KcpReedSolomon(3, 0), std::invalid_argument);
    EXPECT_THROW(KcpReedSolomon(200, 57), std::invalid_argument);
    EXPECT_NO_THROW(KcpReedSolomon(200, 56));
}

TEST(CompatReedSolomon, MatrixMatchesKlauspost)
{
    COMPAT_REQUIRE_VECTORS();
    const std::pair<int, int> shapes[] = {{1, 1},  {2, 1},   {3, 2},  {4, 2},    {5, 5},
                                          {10, 3}, {20, 10}, {7, 17}, {100, 28}, {128, 128}};
    for (const auto &[d, p] : shapes) {
        const auto r =
            compat_test::runTool(compat_test::vectorsPath(), {"matrix", std::to_string(d), std::to_string(p)}, "");
        ASSERT_TRUE(r.error.empty()) << r.error;
        const auto rows = compat_test::vectorsLines(r, "ROW");
        ASSERT_EQ(rows.size(), static_cast<std::size_t>(d + p));
        const KcpReedSolomon rs(d, p);
        for (int row = 0; row < d + p; ++row) {
            const auto w = compat_test::splitWords(rows[static_cast<std::size_t>(row)]);
            ASSERT_EQ(w.size(), 2u);
            ASSERT_EQ(w[0], std::to_string(row));
            const Bytes want = compat_test::fromHex(w[1]);
            const Bytes got(rs.matrix().begin() + row * d, rs.matrix().begin() + row * d + d);
            ASSERT_EQ(compat_test::toHex(got), compat_test::toHex(want)) << d << "/" << p << " row " << row;
        }
    }
}

TEST(CompatReedSolomon, EncodeMatchesKlauspost)
{
    COMPAT_REQUIRE_VECTORS();
    struct Shape {
        int d, p;
        std::size_t size;
        std::uint64_t seed;
    };
    for (const Shape s : {Shape{10, 3, 1400, 1}, Shape{4, 2, 333, 2}, Shape{1, 1, 17, 3}, Shape{20, 10, 1000, 4}}) {
        const auto r = compat_test::runTool(
            compat_test::vectorsPath(),
            {"rs", std::to_string(s.d), std::to_string(s.p), std::to_string(s.size), std::to_string(s.seed)}, "");
        ASSERT_TRUE(r.error.empty()) << r.error;
        const auto lines = compat_test::vectorsLines(r, "SHARD");
        ASSERT_EQ(lines.size(), static_cast<std::size_t>(s.d + s.p));
        compat_test::Pattern pattern(s.seed);
        std::vector<Bytes> shards(static_cast<std::size_t>(s.d + s.p), Bytes(s.size));
        std::vector<const std::uint8_t *> in;
        std::vector<std::uint8_t *> out;
        for (int i = 0; i < s.d + s.p; ++i) {
            if (i < s.d) {
                pattern.fill(shards[static_cast<std::size_t>(i)].data(), s.size);
                in.push_back(shards[static_cast<std::size_t>(i)].data());
            } else {
                out.push_back(shards[static_cast<std::size_t>(i)].data());
            }
        }
        KcpReedSolomon(s.d, s.p).encode(in.data(), out.data(), s.size);
        for (int i = 0; i < s.d + s.p; ++i) {
            const auto w = compat_test::splitWords(lines[static_cast<std::size_t>(i)]);
            ASSERT_EQ(w.size(), 2u);
            ASSERT_EQ(w[1], compat_test::toHex(shards[static_cast<std::size_t>(i)]))
                << s.d << "/" << s.p << " shard " << i;
        }
    }
}

// Every erasure pattern of up to `parity` shards is repaired exactly; more erasures are refused untouched.
static void checkAllErasures(int d, int p, std::size_t size)
{
    const int total = d + p;
    KcpReedSolomon rs(d, p);
    compat_test::Pattern pattern(static_cast<std::uint64_t>(d * 100 + p));
    std::vector<Bytes> orig(static_cast<std::size_t>(total), Bytes(size));
    std::vector<const std::uint8_t *> in;
    std::vector<std::uint8_t *> out;
    for (int i = 0; i < total; ++i) {
        if (i < d) {
            pattern.fill(orig[static_cast<std::size_t>(i)].data(), size);
            in.push_back(orig[static_cast<std::size_t>(i)].data());
        } else {
            out.push_back(orig[static_cast<std::size_t>(i)].data());
        }
    }
    rs.encode(in.data(), out.data(), size);

    int patterns = 0;
    for (unsigned mask = 0; mask < (1u << total); ++mask) {
        const int lost = __builtin_popcount(mask);
        if (lost > p + 1)
            continue;
        std::vector<Bytes> shards = orig;
        std::unique_ptr<bool[]> present(new bool[static_cast<std::size_t>(total)]);
        std::vector<std::uint8_t *> ptrs;
        for (int i = 0; i < total; ++i) {
            present[static_cast<std::size_t>(i)] = !(mask & (1u << i));
            if (!present[static_cast<std::size_t>(i)])
                std::fill(shards[static_cast<std::size_t>(i)].begin(), shards[static_cast<std::size_t>(i)].end(), 0xA5);
            ptrs.push_back(shards[static_cast<std::size_t>(i)].data());
        }
        const bool ok = rs.reconstructData(ptrs.data(), present.get(), size);
        if (lost > p) {
            ASSERT_FALSE(ok) << "mask " << mask;
            continue;
        }
        ASSERT_TRUE(ok) << "mask " << mask;
        for (int i = 0; i < d; ++i)
            ASSERT_EQ(shards[static_cast<std::size_t>(i)], orig[static_cast<std::size_t>(i)])
                << d << "/" << p << " mask " << mask << " shard " << i;
        ++patterns;
    }
    std::printf("[compat] %d/%d: %d erasure patterns of up to %d shards repaired\n", d, p, patterns, p);
}

TEST(CompatReedSolomon, ReconstructEveryErasurePattern10of3)
{
    checkAllErasures(10, 3, 1400);
}

TEST(CompatReedSolomon, ReconstructEveryErasurePattern4of2)
{
    checkAllErasures(4, 2, 333);
}
