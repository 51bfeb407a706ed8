// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcp-go's packet encryption (kcpnet/compat/kcpgocrypt.h) against kcp-go's own BlockCrypt implementations (through
// kcpgo-vectors): the raw cipher transform both ways, whole sealed datagrams both ways, datagrams captured from a
// real kcp-go session, kcptun's key derivation, and the failures (wrong key, wrong cipher, corruption, too short).
#include "compat_support.h"
#include "kcpgocrypt.h"

#include <gtest/gtest.h>

#include <set>

using namespace kcpnet;
using compat_test::Bytes;

namespace {

const char *const kCiphers[] = {"null", "xor", "aes", "aes-128", "aes-192", "3des", "salsa20"};

Bytes testKey(std::uint64_t seed = 0xC0FFEE)
{
    return compat_test::Pattern(seed).take(32);
}

// Runs kcpgo-vectors crypt over "E <hex>" / "D <hex>" requests; returns the outputs in order.
std::vector<Bytes> goCrypt(const std::string &cipher, const Bytes &key, const std::vector<std::pair<char, Bytes>> &reqs,
                           std::string *error)
{
    std::string input;
    for (const auto &[op, buf] : reqs)
        input += std::string(1, op) + " " + compat_test::toHex(buf) + "\n";
    const auto r = compat_test::runTool(compat_test::vectorsPath(), {"crypt", cipher, compat_test::toHex(key)}, input);
    *error = r.error;
    std::vector<Bytes> out;
    for (const std::string &h : compat_test::vectorsLines(r, "OUT"))
        out.push_back(compat_test::fromHex(h));
    if (error->empty() && out.size() != reqs.size())
        *error = "kcpgo-vectors answered " + std::to_string(out.size()) + " of " + std::to_string(reqs.size());
    return out;
}

std::uint8_t slowCrcByte(std::uint32_t &crc, std::uint8_t b)
{
    crc ^= b;
    for (int k = 0; k < 8; ++k)
        crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    return 0;
}

} // namespace

TEST(CompatCrypt, Crc32Ieee)
{
    const char *check = "123456789";
    EXPECT_EQ(crc32Ieee(reinterpret_cast<const std::uint8_t *>(check), 9), 0xCBF43926u);
    EXPECT_EQ(crc32Ieee(nullptr, 0), 0u);
    compat_test::Pattern p(1);
    const Bytes data = p.take(3000);
    for (std::size_t len = 0; len < 200; ++len) {
        for (std::size_t off : {0u, 1u, 3u, 7u}) {
            std::uint32_t slow = ~0u;
            for (std::size_t i = 0; i < len; ++i)
                slowCrcByte(slow, data[off + i]);
            ASSERT_EQ(crc32Ieee(data.data() + off, len), ~slow) << len;
        }
    }
    // Continuation.
    EXPECT_EQ(crc32Ieee(data.data() + 1000, 2000, crc32Ieee(data.data(), 1000)), crc32Ieee(data.data(), 3000));
}

TEST(CompatCrypt, CreateAndNames)
{
    std::string error;
    EXPECT_EQ(KcpGoCrypt::create("none", testKey(), &error), nullptr);
    EXPECT_TRUE(error.empty()) << "none is no layer, not an error";
    EXPECT_EQ(KcpGoCrypt::create("rot13", testKey(), &error), nullptr);
    EXPECT_NE(error.find("unknown"), std::string::npos) << error;
    EXPECT_EQ(KcpGoCrypt::create("aes", Bytes(16, 1), &error), nullptr) << "aes is AES-256: 32 bytes";
    EXPECT_NE(error.find("32"), std::string::npos) << error;
    for (const char *c : kCiphers) {
        auto crypt = KcpGoCrypt::create(c, testKey(), &error);
        ASSERT_NE(crypt, nullptr) << c << ": " << error;
        EXPECT_EQ(crypt->name(), c);
        EXPECT_EQ(crypt->overhead(), 20u);
    }
    EXPECT_EQ(KcpGoCrypt::keySize("aes-128"), 16);
    EXPECT_EQ(KcpGoCrypt::keySize("xor"), 0);
    EXPECT_EQ(KcpGoCrypt::keySize("bogus"), -1);
    EXPECT_EQ(KcpGoCrypt::ciphers().size(), std::size(kCiphers));
}

TEST(CompatCrypt, KcptunKeyMatchesGo)
{
    COMPAT_REQUIRE_VECTORS();
    for (const std::string pass : {"it's a secrect", "", "hello", "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC"}) {
        const auto r = compat_test::runTool(compat_test::vectorsPath(), {"kcptun-key", pass}, "");
        ASSERT_TRUE(r.error.empty()) << r.error;
        const auto keys = compat_test::vectorsLines(r, "KEY");
        ASSERT_EQ(keys.size(), 1u);
        EXPECT_EQ(compat_test::toHex(KcpGoCrypt::kcptunKey(pass)), keys[0]) << "'" << pass << "'";
    }
}

TEST(CompatCrypt, KcptunNamesAndKeySlices)
{
    std::string error;
    // kcptun's "none" is kcp-go's NoneBlockCrypt (nonce + CRC), our "null"; unknown names fall back to aes.
    auto none = KcpGoCrypt::createKcptun("none", "pw", &error);
    ASSERT_NE(none, nullptr) << error;
    EXPECT_EQ(none->name(), "null");
    auto fallback = KcpGoCrypt::createKcptun("whatever", "pw", &error);
    ASSERT_NE(fallback, nullptr) << error;
    EXPECT_EQ(fallback->name(), "aes");
    EXPECT_EQ(KcpGoCrypt::createKcptun("sm4", "pw", &error), nullptr);
    EXPECT_NE(error.find("not supported"), std::string::npos) << error;
    // Each cipher uses the prefix of the derived key kcptun gives it.
    const Bytes key = KcpGoCrypt::kcptunKey("pw");
    const Bytes nonce(16, 7), payload = compat_test::Pattern(4).take(100);
    for (const char *c : {"aes", "aes-128", "aes-192", "3des", "salsa20", "xor"}) {
        auto a = KcpGoCrypt::createKcptun(c, "pw", &error);
        ASSERT_NE(a, nullptr) << c << ": " << error;
        const int need = KcpGoCrypt::keySize(c);
        auto b = KcpGoCrypt::create(c, key.data(), need > 0 ? static_cast<std::size_t>(need) : key.size());
        ASSERT_NE(b, nullptr);
        Bytes x(120), y(120);
        a->seal(payload.data(), payload.size(), x.data(), nonce.data());
        b->seal(payload.data(), payload.size(), y.data(), nonce.data());
        EXPECT_EQ(x, y) << c;
    }
}

// kcp-go's BlockCrypt.Encrypt / Decrypt on whole buffers, against ours, for every size class.
TEST(CompatCrypt, RawTransformMatchesKcpGo)
{
    COMPAT_REQUIRE_VECTORS();
    const Bytes key = testKey();
    compat_test::Pattern data(99);
    for (const char *c : kCiphers) {
        std::vector<std::pair<char, Bytes>> reqs;
        for (std::size_t size : {8u, 9u, 15u, 16u, 17u, 20u, 21u, 24u, 31u, 32u, 33u, 100u, 127u, 128u, 129u, 1023u,
                                 1400u, 1472u, 1500u}) {
            const Bytes buf = data.take(size);
            reqs.emplace_back('E', buf);
            reqs.emplace_back('D', buf);
        }
        std::string error;
        const auto go = goCrypt(c, key, reqs, &error);
        ASSERT_TRUE(error.empty()) << c << ": " << error;
        auto ours = KcpGoCrypt::create(c, key);
        ASSERT_NE(ours, nullptr);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            const Bytes &in = reqs[i].second;
            Bytes out(in.size());
            if (reqs[i].first == 'E')
                ours->encryptRaw(out.data(), in.data(), in.size());
            else
                ours->decryptRaw(out.data(), in.data(), in.size());
            ASSERT_EQ(compat_test::toHex(out), compat_test::toHex(go[i]))
                << c << " " << reqs[i].first << " of " << in.size() << " bytes";
            // In place too.
            Bytes inPlace = in;
            if (reqs[i].first == 'E')
                ours->encryptRaw(inPlace.data(), inPlace.data(), inPlace.size());
            else
                ours->decryptRaw(inPlace.data(), inPlace.data(), inPlace.size());
            ASSERT_EQ(inPlace, out);
        }
    }
}

// Whole datagrams: our seal() equals kcp-go's Encrypt of nonce | CRC32(payload) | payload, and each side decrypts
// the other's.
TEST(CompatCrypt, SealAndOpenMatchKcpGo)
{
    COMPAT_REQUIRE_VECTORS();
    const Bytes key = testKey(17);
    compat_test::Pattern data(5);
    for (const char *c : kCiphers) {
        auto ours = KcpGoCrypt::create(c, key);
        ASSERT_NE(ours, nullptr);
        std::vector<Bytes> payloads, nonces, plains, sealed;
        std::vector<std::pair<char, Bytes>> reqs;
        for (std::size_t size : {0u, 1u, 4u, 24u, 25u, 100u, 1000u, 1372u, 1480u}) {
            payloads.push_back(data.take(size));
            nonces.push_back(data.take(16));
            Bytes plain = nonces.back();
            const std::uint32_t crc = crc32Ieee(payloads.back().data(), size);
            for (int i = 0; i < 4; ++i)
                plain.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
            plain.insert(plain.end(), payloads.back().begin(), payloads.back().end());
            plains.push_back(plain);
            Bytes s(size + 20);
            ours->seal(payloads.back().data(), size, s.data(), nonces.back().data());
            sealed.push_back(s);
            reqs.emplace_back('E', plain);
            reqs.emplace_back('D', s);
        }
        std::string error;
        const auto go = goCrypt(c, key, reqs, &error);
        ASSERT_TRUE(error.empty()) << c << ": " << error;
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            EXPECT_EQ(compat_test::toHex(sealed[i]), compat_test::toHex(go[2 * i]))
                << c << ": seal of " << payloads[i].size() << " bytes";
            EXPECT_EQ(compat_test::toHex(go[2 * i + 1]), compat_test::toHex(plains[i]))
                << c << ": kcp-go's decryption of our datagram";
            KcpGoCrypt::OpenResult result;
            EXPECT_EQ(ours->open(go[2 * i], &result), payloads[i]) << c;
            EXPECT_EQ(result, KcpGoCrypt::OpenResult::Ok);
        }
        EXPECT_EQ(ours->stats().badChecksum, 0u);
    }
}

TEST(CompatCrypt, RandomNoncesDiffer)
{
    auto crypt = KcpGoCrypt::create("null", Bytes());
    ASSERT_NE(crypt, nullptr);
    const Bytes payload(10, 1);
    std::set<Bytes> nonces;
    for (int i = 0; i < 1000; ++i) {
        const Bytes s = crypt->seal(payload);
        nonces.insert(Bytes(s.begin(), s.begin() + 16));
        EXPECT_EQ(crypt->open(s), payload);
    }
    EXPECT_EQ(nonces.size(), 1000u);
}

TEST(CompatCrypt, WrongKeyWrongCipherCorruptionAndShort)
{
    const Bytes keyA = testKey(1), keyB = testKey(2);
    const Bytes payload = compat_test::Pattern(8).take(500);
    for (const char *c : kCiphers) {
        auto a = KcpGoCrypt::create(c, keyA);
        auto b = KcpGoCrypt::create(c, keyB);
        ASSERT_NE(a, nullptr);
        ASSERT_NE(b, nullptr);
        const Bytes sealed = a->seal(payload);
        KcpGoCrypt::OpenResult result;
        if (std::string(c) != "null") { // null has no key
            for (int i = 0; i < 20; ++i) {
                const Bytes s = a->seal(payload);
                EXPECT_TRUE(b->open(s, &result).empty()) << c;
                EXPECT_EQ(result, KcpGoCrypt::OpenResult::BadChecksum) << c;
            }
            EXPECT_EQ(b->stats().badChecksum, 20u) << c;
            EXPECT_EQ(b->stats().opened, 0u) << c;
        }
        // Any flipped bit in the CRC or the payload is caught.
        for (std::size_t at : {16u, 19u, 20u, 21u, 100u, 519u}) {
            Bytes bad = sealed;
            bad[at] ^= 0x10;
            EXPECT_TRUE(a->open(bad, &result).empty()) << c << " byte " << at;
            EXPECT_EQ(result, KcpGoCrypt::OpenResult::BadChecksum) << c << " byte " << at;
        }
        // Too short for the header: refused before decryption (kcp-go drops these without a count).
        EXPECT_TRUE(a->open(Bytes(19, 0), &result).empty());
        EXPECT_EQ(result, KcpGoCrypt::OpenResult::TooShort);
        EXPECT_EQ(a->stats().tooShort, 1u);
        // Only 20 bytes: a valid empty payload.
        const Bytes empty = a->seal(Bytes());
        EXPECT_EQ(empty.size(), 20u);
        EXPECT_TRUE(a->open(empty, &result).empty());
        EXPECT_EQ(result, KcpGoCrypt::OpenResult::Ok);
    }
    // The same key bytes under another AES key size: another cipher, caught by the CRC.
    auto aes256 = KcpGoCrypt::create("aes", keyA), aes128 = KcpGoCrypt::create("aes-128", keyA);
    KcpGoCrypt::OpenResult result;
    EXPECT_TRUE(aes128->open(aes256->seal(payload), &result).empty());
    EXPECT_EQ(result, KcpGoCrypt::OpenResult::BadChecksum);
}

// Datagrams a real kcp-go session sends (kcp-go's own nonces and CRCs), with and without FEC, open with ours.
TEST(CompatCrypt, OpensKcpGoSessionDatagrams)
{
    COMPAT_REQUIRE_VECTORS();
    const Bytes key = testKey(3);
    for (const char *c : kCiphers) {
        for (const bool fec : {false, true}) {
            const auto r = compat_test::runTool(compat_test::vectorsPath(),
                                                {"capture", "--crypt", c, "--key-hex", compat_test::toHex(key),
                                                 "--datashard", fec ? "10" : "0", "--parityshard", fec ? "3" : "0",
                                                 "--count", "39", "--conv", "4660", "--seed", "2"},
                                                "");
            ASSERT_TRUE(r.error.empty()) << r.error;
            const auto lines = compat_test::vectorsLines(r, "DGRAM");
            ASSERT_EQ(lines.size(), 39u);
            auto ours = KcpGoCrypt::create(c, key);
            ASSERT_NE(ours, nullptr);
            for (const std::string &h : lines) {
                const Bytes wire = compat_test::fromHex(h);
                KcpGoCrypt::OpenResult result;
                const Bytes plain = ours->open(wire, &result);
                ASSERT_EQ(result, KcpGoCrypt::OpenResult::Ok) << c << (fec ? " +FEC" : "");
                ASSERT_GE(plain.size(), 24u);
                if (fec) {
                    EXPECT_TRUE(plain[4] == 0xf1 || plain[4] == 0xf2) << c;
                } else {
                    EXPECT_EQ(plain[0] | (plain[1] << 8), 4660) << c << ": conv";
                    EXPECT_GE(plain[4], 81);
                    EXPECT_LE(plain[4], 84);
                }
            }
        }
    }
}
