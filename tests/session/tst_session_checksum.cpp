// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// CRC32C and SipHash-2-4 (kcpchecksum.h): published test vectors, agreement with a bit-at-a-time reference
// written here, incremental use, and the error-detection properties the session trailer relies on.
#include "kcpchecksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using kcpnet::crc32c;
using kcpnet::sipHash24;

namespace {

// The slowest possible CRC32C: one bit per step, reflected polynomial 0x82F63B78, init and final xor ~0.
// Continues from a finished CRC like the library function does.
std::uint32_t referenceCrc32c(const std::uint8_t *data, std::size_t size, std::uint32_t previous = 0)
{
    std::uint32_t reg = ~previous;
    for (std::size_t i = 0; i < size; ++i) {
        reg ^= data[i];
        for (int bit = 0; bit < 8; ++bit) {
            const bool low = (reg & 1u) != 0;
            reg >>= 1;
            if (low)
                reg ^= 0x82F63B78u;
        }
    }
    return ~reg;
}

std::vector<std::uint8_t> randomBytes(std::mt19937_64 &rng, std::size_t n)
{
    std::vector<std::uint8_t> v(n);
    for (auto &b : v)
        b = static_cast<std::uint8_t>(rng() >> 56);
    return v;
}

std::uint32_t crcOf(const std::string &s, std::uint32_t previous = 0)
{
    return crc32c(reinterpret_cast<const std::uint8_t *>(s.data()), s.size(), previous);
}

} // namespace

TEST(SessionChecksum, Crc32cCheckValue)
{
    EXPECT_EQ(crcOf("123456789"), 0xE3069283u);
    EXPECT_EQ(referenceCrc32c(reinterpret_cast<const std::uint8_t *>("123456789"), 9), 0xE3069283u);
}

TEST(SessionChecksum, Crc32cIscsiVectors)
{
    // RFC 3720 appendix B.4.
    std::vector<std::uint8_t> zeros(32, 0x00);
    std::vector<std::uint8_t> ones(32, 0xFF);
    std::vector<std::uint8_t> up(32);
    std::vector<std::uint8_t> down(32);
    for (int i = 0; i < 32; ++i) {
        up[i] = static_cast<std::uint8_t>(i);
        down[i] = static_cast<std::uint8_t>(31 - i);
    }
    EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(crc32c(up.data(), up.size()), 0x46DD794Eu);
    EXPECT_EQ(crc32c(down.data(), down.size()), 0x113FDB5Cu);
    // The reference used below agrees with the published values too.
    EXPECT_EQ(referenceCrc32c(zeros.data(), 32), 0x8A9136AAu);
    EXPECT_EQ(referenceCrc32c(ones.data(), 32), 0x62A8AB43u);
    EXPECT_EQ(referenceCrc32c(up.data(), 32), 0x46DD794Eu);
    EXPECT_EQ(referenceCrc32c(down.data(), 32), 0x113FDB5Cu);
}

TEST(SessionChecksum, Crc32cEmptyInputLeavesTheValue)
{
    const std::uint8_t byte = 0;
    EXPECT_EQ(crc32c(&byte, 0), 0u);
    EXPECT_EQ(crc32c(nullptr, 0), 0u);
    EXPECT_EQ(crc32c(&byte, 0, 0xDEADBEEFu), 0xDEADBEEFu);
    EXPECT_EQ(crc32c(nullptr, 0, 0x12345678u), 0x12345678u);
}

// The public function takes the SSE4.2 path on CPUs that have it and the table path elsewhere; both must equal
// the bitwise reference for every length (0..300 covers the 8-byte main loop plus every tail) and alignment.
TEST(SessionChecksum, Crc32cMatchesBitwiseReferenceForEveryLengthAndAlignment)
{
    std::mt19937_64 rng(20260101);
    const std::vector<std::uint8_t> buffer = randomBytes(rng, 300 + 16);
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t len = 0; len <= 300; ++len) {
            const std::uint8_t *p = buffer.data() + offset;
            ASSERT_EQ(crc32c(p, len), referenceCrc32c(p, len)) << "offset " << offset << " length " << len;
        }
    }
}

TEST(SessionChecksum, Crc32cMatchesReferenceOnRandomBuffersAndSeeds)
{
    std::mt19937_64 rng(7);
    for (int round = 0; round < 200; ++round) {
        const std::size_t len = static_cast<std::size_t>(rng() % 4096);
        const std::vector<std::uint8_t> data = randomBytes(rng, len);
        const std::uint32_t seed = static_cast<std::uint32_t>(rng());
        ASSERT_EQ(crc32c(data.data(), len, seed), referenceCrc32c(data.data(), len, seed)) << "round " << round;
    }
    // A large buffer, to go well past any block size an implementation might use.
    const std::vector<std::uint8_t> big = randomBytes(rng, 1 << 20);
    EXPECT_EQ(crc32c(big.data(), big.size()), referenceCrc32c(big.data(), big.size()));
}

TEST(SessionChecksum, Crc32cIsIncremental)
{
    EXPECT_EQ(crcOf("56789", crcOf("1234")), 0xE3069283u);
    std::mt19937_64 rng(99);
    const std::vector<std::uint8_t> data = randomBytes(rng, 600);
    const std::uint32_t whole = crc32c(data.data(), data.size());
    for (std::size_t split = 0; split <= data.size(); ++split) {
        const std::uint32_t first = crc32c(data.data(), split);
        ASSERT_EQ(crc32c(data.data() + split, data.size() - split, first), whole) << "split at " << split;
    }
    // Three pieces of odd sizes.
    std::uint32_t c = crc32c(data.data(), 13);
    c = crc32c(data.data() + 13, 301, c);
    c = crc32c(data.data() + 314, 286, c);
    EXPECT_EQ(c, whole);
}

TEST(SessionChecksum, Crc32cDetectsEverySingleAndDoubleBitError)
{
    std::mt19937_64 rng(3);
    std::vector<std::uint8_t> msg = randomBytes(rng, 64);
    const std::uint32_t good = crc32c(msg.data(), msg.size());
    const std::size_t bits = msg.size() * 8;
    for (std::size_t i = 0; i < bits; ++i) {
        msg[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
        ASSERT_NE(crc32c(msg.data(), msg.size()), good) << "bit " << i;
        for (std::size_t j = i + 1; j < bits; ++j) {
            msg[j / 8] ^= static_cast<std::uint8_t>(1u << (j % 8));
            ASSERT_NE(crc32c(msg.data(), msg.size()), good) << "bits " << i << ", " << j;
            msg[j / 8] ^= static_cast<std::uint8_t>(1u << (j % 8));
        }
        msg[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    }
}

TEST(SessionChecksum, Crc32cDetectsBurstsUpTo32Bits)
{
    std::mt19937_64 rng(11);
    std::vector<std::uint8_t> msg = randomBytes(rng, 1400);
    const std::uint32_t good = crc32c(msg.data(), msg.size());
    for (int round = 0; round < 5000; ++round) {
        const std::size_t length = 1 + rng() % 32;                  // burst length in bits
        const std::size_t start = rng() % (msg.size() * 8 - length); // first bit of the burst
        // A burst flips its first and last bit; the ones in between are random.
        std::vector<std::uint8_t> bad = msg;
        for (std::size_t k = 0; k < length; ++k) {
            const bool edge = k == 0 || k == length - 1;
            if (edge || (rng() & 1)) {
                const std::size_t bit = start + k;
                bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            }
        }
        ASSERT_NE(crc32c(bad.data(), bad.size()), good) << "burst of " << length << " at bit " << start;
    }
}

namespace {

struct SipVector {
    std::size_t length;
    std::uint64_t hash;
};

// From the SipHash reference implementation / paper: key 00 01 .. 0f, message 00 01 .. (length-1),
// output as the 64-bit little-endian value.
const SipVector kSipVectors[] = {
    {0, 0x726fdb47dd0e0e31ull},  {1, 0x74f839c593dc67fdull},  {2, 0x0d6c8009d9a94f5aull},
    {3, 0x85676696d7fb7e2dull},  {4, 0xcf2794e0277187b7ull},  {5, 0x18765564cd99a68dull},
    {6, 0xcbc9466e58fee3ceull},  {7, 0xab0200f58b01d137ull},  {8, 0x93f5f5799a932462ull},
    {9, 0x9e0082df0ba9e4b0ull},  {10, 0x7a5dbbc594ddb9f3ull}, {11, 0xf4b32f46226bada7ull},
    {12, 0x751e8fbc860ee5fbull}, {13, 0x14ea5627c0843d90ull}, {14, 0xf723ca908e7af2eeull},
    {15, 0xa129ca6149be45e5ull}, {16, 0x3f2acc7f57c29bdbull}, {32, 0x7127512f72f27cceull},
};

void referenceKey(std::uint8_t key[16])
{
    for (int i = 0; i < 16; ++i)
        key[i] = static_cast<std::uint8_t>(i);
}

} // namespace

TEST(SessionChecksum, SipHash24ReferenceVectors)
{
    std::uint8_t key[16];
    referenceKey(key);
    std::uint8_t msg[64];
    for (int i = 0; i < 64; ++i)
        msg[i] = static_cast<std::uint8_t>(i);
    for (const SipVector &v : kSipVectors)
        EXPECT_EQ(sipHash24(key, msg, v.length), v.hash) << "message length " << v.length;
    EXPECT_EQ(sipHash24(key, nullptr, 0), 0x726fdb47dd0e0e31ull);
}

TEST(SessionChecksum, SipHash24DependsOnEveryKeyAndMessageBit)
{
    std::uint8_t key[16];
    referenceKey(key);
    std::uint8_t msg[35]; // the size of a handshake cookie's input
    for (int i = 0; i < 35; ++i)
        msg[i] = static_cast<std::uint8_t>(0xA5 ^ i);
    const std::uint64_t good = sipHash24(key, msg, sizeof msg);
    for (int bit = 0; bit < 128; ++bit) {
        key[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        EXPECT_NE(sipHash24(key, msg, sizeof msg), good) << "key bit " << bit;
        key[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    }
    for (int bit = 0; bit < 35 * 8; ++bit) {
        msg[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        EXPECT_NE(sipHash24(key, msg, sizeof msg), good) << "message bit " << bit;
        msg[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    }
    EXPECT_EQ(sipHash24(key, msg, sizeof msg), good);
}

TEST(SessionChecksum, SipHash24LengthIsPartOfTheHash)
{
    // Trailing zero bytes must not collide with the shorter message (the length byte is mixed in).
    std::uint8_t key[16];
    referenceKey(key);
    std::uint8_t zeros[24] = {};
    std::vector<std::uint64_t> seen;
    for (std::size_t n = 0; n <= sizeof zeros; ++n) {
        const std::uint64_t h = sipHash24(key, zeros, n);
        for (std::uint64_t earlier : seen)
            EXPECT_NE(h, earlier) << "length " << n;
        seen.push_back(h);
    }
}

TEST(SessionChecksum, SipHash24DoesNotReadPastTheEnd)
{
    // The same message at every alignment, followed by different garbage: same hash.
    std::uint8_t key[16];
    referenceKey(key);
    std::mt19937_64 rng(5);
    for (std::size_t len = 0; len <= 40; ++len) {
        std::vector<std::uint8_t> a(len + 16);
        std::vector<std::uint8_t> b(len + 16);
        for (auto &x : a)
            x = static_cast<std::uint8_t>(rng());
        for (auto &x : b)
            x = static_cast<std::uint8_t>(rng());
        const std::size_t offA = len % 8;
        const std::size_t offB = (len * 3 + 1) % 8;
        std::memcpy(b.data() + offB, a.data() + offA, len);
        EXPECT_EQ(sipHash24(key, a.data() + offA, len), sipHash24(key, b.data() + offB, len)) << "length " << len;
    }
}
