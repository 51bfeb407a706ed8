// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Pre-shared-key mode of the session protocol:
//  - the crypto primitives against published vectors (HMAC-SHA256: RFC 4231, HKDF-SHA256: RFC 5869, PBKDF2-HMAC-
//    SHA256, AES-256-GCM: the GCM specification's test case 16, ChaCha20-Poly1305: RFC 8439 2.8.2), AEAD round
//    trips in place and out of place, and tamper detection on every bit;
//  - KcpSealer: datagram layout, every single-bit flip rejected, duplicates and the 2048-packet replay window,
//    reordering, key epochs (also across reordered epoch boundaries), nonce uniqueness over 10^6 packets checked
//    against an independent model of the key schedule, and keys bound to every handshake input and direction;
//  - the responder's authenticated RESET for sealed datagrams of unknown sessions, and its check of the custom
//    cipher name a HELLO proves;
//  - session pairs over the simulated link (sessionharness.h): bulk data in both modes through loss, reordering,
//    duplication and corruption with nothing but the handshake in clear, one-round-trip connect, wrong key /
//    security / cipher / custom cipher name mismatches, custom ciphers, and a man in the middle who flips bits,
//    replays datagrams, CONFIRMs and RESETs, and forges unprotected control packets; a genuine server restart; a
//    lost CONFIRMED repaired by the CONFIRM retransmission;
//  - key separation between two sessions that share the pre-shared key.
// Deterministic: fixed seeds and a virtual clock (the handshake randoms differ per run, but no outcome depends on
// their values).
#include "kcpcrypto.h"
#include "kcpsealer.h"
#include "sessionharness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KCPNET_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define KCPNET_TEST_SANITIZED 1
#endif
#endif

using namespace kcpnet;
using namespace kcpnet::sessiontest;

namespace {

// ---- Helpers ----

Bytes fromHex(const std::string &hex)
{
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string toHex(const std::uint8_t *p, std::size_t n)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::string toHex(const Bytes &b)
{
    return toHex(b.data(), b.size());
}

Bytes range(std::uint8_t from, std::size_t n)
{
    Bytes b(n);
    std::iota(b.begin(), b.end(), from);
    return b;
}

std::uint64_t getU48(const std::uint8_t *p)
{
    std::uint64_t v = 0;
    for (int i = 5; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

void putU48(std::uint8_t *p, std::uint64_t v)
{
    for (int i = 0; i < 6; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::string cipherLabel(KcpCipherId id)
{
    switch (id) {
    case KcpCipherId::Aes256Gcm:
        return "Aes256Gcm";
    case KcpCipherId::ChaCha20Poly1305:
        return "ChaCha20Poly1305";
    case KcpCipherId::Custom:
        return "Custom";
    }
    return "Unknown";
}

// A toy AEAD for the Custom cipher tests: an HMAC-SHA256 keystream and a truncated HMAC-SHA256 tag of 8 bytes (a
// tag size the built-in ciphers do not have, so overhead and MTU follow the cipher). Not for real use.
class ToyAead final : public KcpAead
{
public:
    std::size_t tagSize() const noexcept override { return kTag; }
    bool setKey(const std::uint8_t *key) override
    {
        std::memcpy(m_key, key, sizeof m_key);
        m_keyed = true;
        return true;
    }
    bool seal(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
              std::size_t size, std::uint8_t *out) override
    {
        if (!m_keyed)
            return false;
        crypt(nonce, in, size, out);
        tag(nonce, ad, adSize, out, size, out + size);
        return true;
    }
    bool open(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
              std::size_t size, std::uint8_t *out) override
    {
        if (!m_keyed || size < kTag)
            return false;
        const std::size_t body = size - kTag;
        std::uint8_t t[kTag];
        tag(nonce, ad, adSize, in, body, t);
        if (!kcpSecureEqual(t, in + body, kTag))
            return false;
        crypt(nonce, in, body, out);
        return true;
    }

private:
    static constexpr std::size_t kTag = 8;
    void crypt(const std::uint8_t *nonce, const std::uint8_t *in, std::size_t size, std::uint8_t *out) const
    {
        std::uint8_t block[32];
        for (std::uint32_t counter = 0; std::size_t(counter) * 32 < size; ++counter) {
            std::uint8_t c[4];
            kcpPutU32(c, counter);
            kcpHmacSha256(m_key, sizeof m_key, nonce, kAeadNonceSize, c, sizeof c, nullptr, 0, block);
            const std::size_t off = std::size_t(counter) * 32;
            for (std::size_t i = 0; i < 32 && off + i < size; ++i)
                out[off + i] = in[off + i] ^ block[i];
        }
    }
    void tag(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *ct,
             std::size_t size, std::uint8_t *out) const
    {
        std::uint8_t head[kAeadNonceSize + 8];
        std::memcpy(head, nonce, kAeadNonceSize);
        kcpPutU32(head + kAeadNonceSize, static_cast<std::uint32_t>(adSize));
        kcpPutU32(head + kAeadNonceSize + 4, static_cast<std::uint32_t>(size));
        std::uint8_t full[32];
        kcpHmacSha256(m_key, sizeof m_key, head, sizeof head, ad, adSize, ct, size, full);
        std::memcpy(out, full, kTag);
    }
    std::uint8_t m_key[32] {};
    bool m_keyed = false;
};

// ---- An independent model of the key schedule (docs/PROTOCOL.md, "Pre-shared-key mode") ----
//   PRK      = HKDF-Extract(salt = client random | server random | nonce u64 LE | conv u32 LE | cipher u8
//                           [| custom name], IKM = PSK)
//   secret_0 = HKDF-Expand(PRK, "kcpnet client to server" / "kcpnet server to client", 32)
//   key_e    = HKDF-Expand(secret_e, "kcpnet key", 32), iv_e = HKDF-Expand(secret_e, "kcpnet iv", 12)
//   secret_e+1 = HKDF-Expand(secret_e, "kcpnet next epoch", 32)
//   nonce    = iv_e xor packet number (big-endian, in the last 8 bytes)
struct DirectionModel {
    std::uint8_t secret[32] {};
    std::uint64_t epoch = 0;

    DirectionModel(const KcpSecurityConfig &config, const KcpHandshakeSecrets &s, bool clientToServer)
    {
        Bytes salt(s.clientRandom, s.clientRandom + kSessionRandomSize);
        salt.insert(salt.end(), s.serverRandom, s.serverRandom + kSessionRandomSize);
        for (int i = 0; i < 8; ++i)
            salt.push_back(static_cast<std::uint8_t>(s.nonce >> (8 * i)));
        for (int i = 0; i < 4; ++i)
            salt.push_back(static_cast<std::uint8_t>(s.conv >> (8 * i)));
        salt.push_back(static_cast<std::uint8_t>(s.cipher));
        if (s.cipher == KcpCipherId::Custom)
            salt.insert(salt.end(), config.customName.begin(), config.customName.end());
        std::uint8_t prk[32];
        kcpHkdfExtract(salt.data(), salt.size(), config.psk.data(), config.psk.size(), prk);
        kcpHkdfExpand(prk, clientToServer ? "kcpnet client to server" : "kcpnet server to client", nullptr, 0, secret,
                      sizeof secret);
    }
    void next()
    {
        std::uint8_t n[32];
        kcpHkdfExpand(secret, "kcpnet next epoch", nullptr, 0, n, sizeof n);
        std::memcpy(secret, n, sizeof secret);
        ++epoch;
    }
    void key(std::uint8_t out[32]) const { kcpHkdfExpand(secret, "kcpnet key", nullptr, 0, out, 32); }
    void iv(std::uint8_t out[12]) const { kcpHkdfExpand(secret, "kcpnet iv", nullptr, 0, out, 12); }
    static std::array<std::uint8_t, 12> nonce(const std::uint8_t iv[12], std::uint64_t pn)
    {
        std::array<std::uint8_t, 12> n;
        std::memcpy(n.data(), iv, 12);
        for (int i = 0; i < 8; ++i)
            n[11 - i] ^= static_cast<std::uint8_t>(pn >> (8 * i));
        return n;
    }
};

// ---- Sealer fixtures ----

std::shared_ptr<KcpSecurityConfig> pskConfig(std::uint8_t fill = 7, KcpCipherId cipher = KcpCipherId::Aes256Gcm)
{
    auto sec = std::make_shared<KcpSecurityConfig>();
    sec->psk.assign(32, fill);
    sec->cipher = cipher;
    return sec;
}

// The PSK of pskConfig(fill) with the toy cipher under `name` (without a factory: the cipher is not available).
std::shared_ptr<KcpSecurityConfig> customConfig(const std::string &name, bool withFactory = true,
                                                std::uint8_t fill = 7)
{
    auto sec = pskConfig(fill, KcpCipherId::Custom);
    sec->customName = name;
    if (withFactory)
        sec->customFactory = [] { return std::make_unique<ToyAead>(); };
    return sec;
}

KcpHandshakeSecrets makeSecrets(KcpCipherId cipher, std::uint64_t seed = 1)
{
    KcpHandshakeSecrets s;
    s.cipher = cipher;
    const Bytes r = patternBytes(2 * kSessionRandomSize, seed);
    std::memcpy(s.clientRandom, r.data(), kSessionRandomSize);
    std::memcpy(s.serverRandom, r.data() + kSessionRandomSize, kSessionRandomSize);
    s.nonce = 0x0123456789ABCDEFull + seed;
    s.conv = 0x5EC0DE00u + static_cast<std::uint32_t>(seed);
    return s;
}

struct SealerPair {
    KcpSecurityConfig config;
    KcpHandshakeSecrets secrets;
    KcpSealer client;
    KcpSealer server;

    SealerPair(const KcpSecurityConfig &c, const KcpHandshakeSecrets &s)
        : config(c)
        , secrets(s)
    {
        EXPECT_TRUE(client.init(config, secrets, true));
        EXPECT_TRUE(server.init(config, secrets, false));
    }
};

Bytes sealOne(KcpSealer &sealer, std::uint32_t conv, const Bytes &payload)
{
    Bytes out(payload.size() + sealer.overhead());
    const std::size_t n = sealer.seal(conv, payload.data(), payload.size(), out.data());
    EXPECT_EQ(n, out.size());
    out.resize(n);
    return out;
}

KcpSealer::OpenResult openOne(KcpSealer &sealer, const Bytes &datagram, Bytes *payload = nullptr,
                              std::uint64_t *pn = nullptr)
{
    Bytes out(datagram.size());
    std::size_t n = 0;
    const KcpSealer::OpenResult r = sealer.open(datagram.data(), datagram.size(), out.data(), &n, pn);
    if (payload && r == KcpSealer::OpenResult::Ok)
        *payload = Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    return r;
}

const char *resultName(KcpSealer::OpenResult r)
{
    switch (r) {
    case KcpSealer::OpenResult::Ok:
        return "Ok";
    case KcpSealer::OpenResult::Malformed:
        return "Malformed";
    case KcpSealer::OpenResult::Unauthentic:
        return "Unauthentic";
    case KcpSealer::OpenResult::Replayed:
        return "Replayed";
    }
    return "?";
}

} // namespace

// =====================================================================================================================
// 1. Crypto primitives
// =====================================================================================================================

TEST(SessionSecureCrypto, HmacSha256MatchesRfc4231)
{
    std::uint8_t mac[32];
    // Test case 2: a key shorter than the block.
    const std::string key = "Jefe";
    const std::string data = "what do ya want for nothing?";
    const auto *k = reinterpret_cast<const std::uint8_t *>(key.data());
    const auto *d = reinterpret_cast<const std::uint8_t *>(data.data());
    kcpHmacSha256(k, key.size(), d, data.size(), nullptr, 0, nullptr, 0, mac);
    EXPECT_EQ(toHex(mac, 32), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // The three message parts are concatenated (empty and null parts skipped).
    std::fill(mac, mac + 32, 0);
    kcpHmacSha256(k, key.size(), d, 5, d + 5, 0, d + 5, data.size() - 5, mac);
    EXPECT_EQ(toHex(mac, 32), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    std::fill(mac, mac + 32, 0);
    kcpHmacSha256(k, key.size(), nullptr, 0, d, 10, d + 10, data.size() - 10, mac);
    EXPECT_EQ(toHex(mac, 32), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    // Test case 6: a key longer than the block is hashed first.
    const Bytes longKey(131, 0xAA);
    const std::string msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    kcpHmacSha256(longKey.data(), longKey.size(), reinterpret_cast<const std::uint8_t *>(msg.data()), msg.size(),
                  nullptr, 0, nullptr, 0, mac);
    EXPECT_EQ(toHex(mac, 32), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(SessionSecureCrypto, HkdfSha256MatchesRfc5869)
{
    struct Case {
        Bytes ikm, salt, info;
        std::size_t length;
        const char *prk;
        const char *okm;
    };
    const Case cases[] = {
        // Test case 1: basic.
        {Bytes(22, 0x0B), range(0x00, 13), range(0xF0, 10), 42,
         "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        // Test case 2: long inputs (a salt longer than the HMAC block, three output blocks).
        {range(0x00, 80), range(0x60, 80), range(0xB0, 80), 82,
         "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600"
         "c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        // Test case 3: no salt, no info.
        {Bytes(22, 0x0B), Bytes {}, Bytes {}, 42, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    int index = 1;
    for (const Case &c : cases) {
        SCOPED_TRACE("RFC 5869 case list entry " + std::to_string(index++));
        std::uint8_t prk[32];
        kcpHkdfExtract(c.salt.empty() ? nullptr : c.salt.data(), c.salt.size(), c.ikm.data(), c.ikm.size(), prk);
        EXPECT_EQ(toHex(prk, 32), c.prk);
        // The info is passed as context after an empty label.
        Bytes okm(c.length);
        kcpHkdfExpand(prk, "", c.info.empty() ? nullptr : c.info.data(), c.info.size(), okm.data(), okm.size());
        EXPECT_EQ(toHex(okm), c.okm);
        // Label and context are concatenated: the same info split between them gives the same output.
        if (!c.info.empty()) {
            const std::string label(c.info.begin(), c.info.begin() + 3);
            Bytes split(c.length);
            kcpHkdfExpand(prk, label.c_str(), c.info.data() + 3, c.info.size() - 3, split.data(), split.size());
            EXPECT_EQ(split, okm);
        }
        // A shorter output is a prefix of the longer one.
        Bytes prefix(7);
        kcpHkdfExpand(prk, "", c.info.empty() ? nullptr : c.info.data(), c.info.size(), prefix.data(), prefix.size());
        EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), okm.begin()));
    }
}

TEST(SessionSecureCrypto, Pbkdf2HmacSha256KnownVectors)
{
    EXPECT_EQ(toHex(kcpKeyFromPassphrase("password", "salt", 1)),
              "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
    EXPECT_EQ(toHex(kcpKeyFromPassphrase("password", "salt", 2)),
              "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43");
    EXPECT_EQ(toHex(kcpKeyFromPassphrase("password", "salt", 4096)),
              "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
    EXPECT_NE(kcpKeyFromPassphrase("password", "salt", 1), kcpKeyFromPassphrase("password", "pepper", 1));
}

TEST(SessionSecureCrypto, Aes256GcmKnownAnswer)
{
    // The GCM specification (McGrew & Viega), test case 16: 256-bit key, 96-bit IV, AAD, 60-byte plaintext.
    const Bytes key = fromHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const Bytes iv = fromHex("cafebabefacedbaddecaf888");
    const Bytes aad = fromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    const Bytes plain = fromHex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
                                "2449a6b525b16aedf5aa0de657ba637b39");
    const std::string cipher = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b"
                               "1056828838c5f61e6393ba7a0abcc9f662";
    const std::string tag = "76fc6ece0f4e1768cddf8853bb2d551b";
    std::unique_ptr<KcpAead> aead = kcpMakeAead(KcpCipherId::Aes256Gcm);
    ASSERT_NE(aead, nullptr);
    EXPECT_EQ(aead->tagSize(), 16u);
    ASSERT_TRUE(aead->setKey(key.data()));
    Bytes out(plain.size() + 16);
    ASSERT_TRUE(aead->seal(iv.data(), aad.data(), aad.size(), plain.data(), plain.size(), out.data()));
    EXPECT_EQ(toHex(out.data(), plain.size()), cipher);
    EXPECT_EQ(toHex(out.data() + plain.size(), 16), tag);
    Bytes back(plain.size());
    ASSERT_TRUE(aead->open(iv.data(), aad.data(), aad.size(), out.data(), out.size(), back.data()));
    EXPECT_EQ(back, plain);
}

TEST(SessionSecureCrypto, ChaCha20Poly1305KnownAnswer)
{
    // RFC 8439, 2.8.2: the nonce is the 32-bit constant 07000000 followed by the 64-bit IV 4041424344454647.
    const Bytes key = range(0x80, 32);
    const Bytes nonce = fromHex("070000004041424344454647");
    const Bytes aad = fromHex("50515253c0c1c2c3c4c5c6c7");
    const std::string text = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
                             "future, sunscreen would be it.";
    const Bytes plain(text.begin(), text.end());
    ASSERT_EQ(plain.size(), 114u);
    const std::string cipher = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb"
                               "69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad6"
                               "75945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
    const std::string tag = "1ae10b594f09e26a7e902ecbd0600691";
    std::unique_ptr<KcpAead> aead = kcpMakeAead(KcpCipherId::ChaCha20Poly1305);
    ASSERT_NE(aead, nullptr);
    EXPECT_EQ(aead->tagSize(), 16u);
    ASSERT_TRUE(aead->setKey(key.data()));
    Bytes out(plain.size() + 16);
    ASSERT_TRUE(aead->seal(nonce.data(), aad.data(), aad.size(), plain.data(), plain.size(), out.data()));
    EXPECT_EQ(toHex(out.data(), plain.size()), cipher);
    EXPECT_EQ(toHex(out.data() + plain.size(), 16), tag);
    Bytes back(plain.size());
    ASSERT_TRUE(aead->open(nonce.data(), aad.data(), aad.size(), out.data(), out.size(), back.data()));
    EXPECT_EQ(back, plain);
}

TEST(SessionSecureCrypto, RandomBytesAndHelpers)
{
    Bytes a(32);
    Bytes b(32);
    kcpRandomBytes(a.data(), a.size());
    kcpRandomBytes(b.data(), b.size());
    EXPECT_NE(a, b);
    EXPECT_NE(a, Bytes(32, 0));
    EXPECT_TRUE(kcpSecureEqual(a.data(), a.data(), a.size()));
    Bytes c = a;
    c[31] ^= 1;
    EXPECT_FALSE(kcpSecureEqual(a.data(), c.data(), c.size()));
    kcpSecureZero(c.data(), c.size());
    EXPECT_EQ(c, Bytes(32, 0));
    EXPECT_STREQ(kcpCipherName(KcpCipherId::Aes256Gcm), "AES-256-GCM");
    EXPECT_STREQ(kcpCipherName(KcpCipherId::ChaCha20Poly1305), "ChaCha20-Poly1305");
    EXPECT_EQ(kcpMakeAead(KcpCipherId::Custom), nullptr) << "no built-in for Custom";
    // The handshake key is a deterministic function of the PSK.
    EXPECT_EQ(kcpHandshakeKey(Bytes(32, 7)), kcpHandshakeKey(Bytes(32, 7)));
    EXPECT_NE(kcpHandshakeKey(Bytes(32, 7)), kcpHandshakeKey(Bytes(32, 8)));
    EXPECT_NE(kcpHandshakeKey(Bytes(32, 7)), kcpHandshakeKey(Bytes(33, 7)));
}

class SessionSecureAead : public ::testing::TestWithParam<KcpCipherId>
{
};

TEST_P(SessionSecureAead, RoundTripInPlaceAndEveryFlippedBitFails)
{
    std::unique_ptr<KcpAead> aead = kcpMakeAead(GetParam());
    ASSERT_NE(aead, nullptr);
    const std::size_t tag = aead->tagSize();
    ASSERT_EQ(tag, 16u);
    const Bytes key = patternBytes(32, 100);
    Bytes nonce = patternBytes(kAeadNonceSize, 101);
    const Bytes aad = patternBytes(kSealedHeaderSize, 102);
    Bytes scratch(2048);
    // Without a key, nothing is sealed.
    EXPECT_FALSE(aead->seal(nonce.data(), aad.data(), aad.size(), aad.data(), aad.size(), scratch.data()));
    ASSERT_TRUE(aead->setKey(key.data()));

    for (const std::size_t size : {std::size_t(0), std::size_t(1), std::size_t(15), std::size_t(16),
                                   std::size_t(17), std::size_t(63), std::size_t(1000), std::size_t(1389)}) {
        SCOPED_TRACE("payload of " + std::to_string(size) + " bytes");
        const Bytes plain = patternBytes(size, 200 + size);
        Bytes sealed(size + tag);
        ASSERT_TRUE(aead->seal(nonce.data(), aad.data(), aad.size(), plain.data(), size, sealed.data()));
        if (size) {
            EXPECT_NE(Bytes(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(size)), plain);
        }
        Bytes back(size + 1);
        ASSERT_TRUE(aead->open(nonce.data(), aad.data(), aad.size(), sealed.data(), sealed.size(), back.data()));
        EXPECT_TRUE(std::equal(plain.begin(), plain.end(), back.begin()));

        // In place: out == in, both ways, with the same result as out of place.
        Bytes inPlace = plain;
        inPlace.resize(size + tag);
        ASSERT_TRUE(aead->seal(nonce.data(), aad.data(), aad.size(), inPlace.data(), size, inPlace.data()));
        EXPECT_EQ(inPlace, sealed);
        ASSERT_TRUE(aead->open(nonce.data(), aad.data(), aad.size(), inPlace.data(), inPlace.size(), inPlace.data()));
        EXPECT_TRUE(std::equal(plain.begin(), plain.end(), inPlace.begin()));

        if (size > 64)
            continue; // the bit-flip sweep runs on the small sizes (every bit of ciphertext, tag and AAD)
        int accepted = 0;
        for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
            Bytes t = sealed;
            t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            accepted += aead->open(nonce.data(), aad.data(), aad.size(), t.data(), t.size(), back.data());
        }
        for (std::size_t bit = 0; bit < aad.size() * 8; ++bit) {
            Bytes a = aad;
            a[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            accepted += aead->open(nonce.data(), a.data(), a.size(), sealed.data(), sealed.size(), back.data());
        }
        for (std::size_t bit = 0; bit < nonce.size() * 8; ++bit) {
            Bytes n = nonce;
            n[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            accepted += aead->open(n.data(), aad.data(), aad.size(), sealed.data(), sealed.size(), back.data());
        }
        EXPECT_EQ(accepted, 0);
        // Truncated (even to the tag alone, or shorter) and extended.
        EXPECT_FALSE(aead->open(nonce.data(), aad.data(), aad.size(), sealed.data(), sealed.size() - 1, back.data()));
        EXPECT_FALSE(aead->open(nonce.data(), aad.data(), aad.size(), sealed.data(), 15, back.data()));
        Bytes longer = sealed;
        longer.push_back(0);
        EXPECT_FALSE(aead->open(nonce.data(), aad.data(), aad.size(), longer.data(), longer.size(), back.data()));
        // The context still works after failures.
        ASSERT_TRUE(aead->open(nonce.data(), aad.data(), aad.size(), sealed.data(), sealed.size(), back.data()));
    }

    // Another key cannot open it; rekeying the same instance works.
    const Bytes plain = patternBytes(100, 300);
    Bytes sealed(plain.size() + tag);
    ASSERT_TRUE(aead->seal(nonce.data(), aad.data(), aad.size(), plain.data(), plain.size(), sealed.data()));
    Bytes otherKey = key;
    otherKey[0] ^= 0x80;
    ASSERT_TRUE(aead->setKey(otherKey.data()));
    Bytes back(plain.size());
    EXPECT_FALSE(aead->open(nonce.data(), aad.data(), aad.size(), sealed.data(), sealed.size(), back.data()));
    ASSERT_TRUE(aead->setKey(key.data()));
    EXPECT_TRUE(aead->open(nonce.data(), aad.data(), aad.size(), sealed.data(), sealed.size(), back.data()));
    EXPECT_EQ(back, plain);
}

INSTANTIATE_TEST_SUITE_P(SessionSecure, SessionSecureAead,
                         ::testing::Values(KcpCipherId::Aes256Gcm, KcpCipherId::ChaCha20Poly1305),
                         [](const ::testing::TestParamInfo<KcpCipherId> &info) { return cipherLabel(info.param); });

// =====================================================================================================================
// 2. KcpSealer
// =====================================================================================================================

class SessionSecureSealer : public ::testing::TestWithParam<KcpCipherId>
{
protected:
    KcpSecurityConfig config(unsigned epochBits = 24) const
    {
        KcpSecurityConfig c = *pskConfig(7, GetParam());
        c.epochBits = epochBits;
        return c;
    }
};

TEST_P(SessionSecureSealer, LayoutAndRoundTripBothWays)
{
    SealerPair p(config(), makeSecrets(GetParam()));
    ASSERT_TRUE(p.client.isReady());
    ASSERT_TRUE(p.server.isReady());
    EXPECT_EQ(p.client.overhead(), kSealedHeaderSize + 16);
    const std::uint32_t conv = p.secrets.conv;
    std::uint64_t expectedPn = 0;
    for (const std::size_t size : {std::size_t(0), std::size_t(1), std::size_t(24), std::size_t(1373)}) {
        SCOPED_TRACE("payload of " + std::to_string(size) + " bytes");
        const Bytes payload = patternBytes(size, 10 + size);
        for (int dir = 0; dir < 2; ++dir) {
            KcpSealer &from = dir == 0 ? p.client : p.server;
            KcpSealer &to = dir == 0 ? p.server : p.client;
            EXPECT_EQ(from.nextSendPacketNumber(), expectedPn);
            const Bytes d = sealOne(from, conv, payload);
            ASSERT_EQ(d.size(), kSealedHeaderSize + size + 16);
            EXPECT_EQ(kcpGetU32(d.data()), conv);
            EXPECT_EQ(d[4], 0xD1);
            EXPECT_EQ(getU48(d.data() + 5), expectedPn);
            EXPECT_EQ(from.nextSendPacketNumber(), expectedPn + 1);
            if (size >= 16) { // the payload is not visible
                EXPECT_EQ(std::search(d.begin(), d.end(), payload.begin(), payload.begin() + 16), d.end());
            }
            Bytes back;
            std::uint64_t pn = ~0ull;
            ASSERT_EQ(openOne(to, d, &back, &pn), KcpSealer::OpenResult::Ok);
            EXPECT_EQ(back, payload);
            EXPECT_EQ(pn, expectedPn);
            EXPECT_EQ(to.highestReceived(), expectedPn + 1);
        }
        ++expectedPn;
    }
    EXPECT_EQ(p.client.counters().sealed, 4u);
    EXPECT_EQ(p.client.counters().opened, 4u);
    EXPECT_EQ(p.server.counters().sealed, 4u);
    EXPECT_EQ(p.server.counters().opened, 4u);
    EXPECT_EQ(p.client.counters().unauthentic + p.client.counters().replayed + p.client.counters().keyUpdates, 0u);
}

TEST_P(SessionSecureSealer, EverySingleBitFlipIsRejected)
{
    SealerPair p(config(), makeSecrets(GetParam()));
    // A datagram of 100 bytes, not the first of its session (pn 5), so that flips of its packet number reach
    // lower and higher numbers.
    const Bytes payload = patternBytes(100 - p.client.overhead(), 20);
    Bytes d;
    for (int i = 0; i <= 5; ++i)
        d = sealOne(p.client, p.secrets.conv, payload);
    ASSERT_EQ(d.size(), 100u);
    // The receiver has seen nothing, and failed opens must not move its window: no flip can look replayed.
    std::size_t malformed = 0;
    std::size_t unauthentic = 0;
    for (std::size_t bit = 0; bit < d.size() * 8; ++bit) {
        Bytes t = d;
        t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        const KcpSealer::OpenResult r = openOne(p.server, t);
        if (r == KcpSealer::OpenResult::Malformed) {
            ++malformed;
            EXPECT_EQ(bit / 8, 4u) << "only the type byte makes it malformed";
        } else if (r == KcpSealer::OpenResult::Unauthentic) {
            ++unauthentic;
        } else {
            ADD_FAILURE() << "bit " << bit << " flipped: " << resultName(r);
        }
    }
    EXPECT_EQ(malformed, 8u);
    EXPECT_EQ(unauthentic, d.size() * 8 - 8);
    EXPECT_EQ(p.server.counters().unauthentic, unauthentic);
    EXPECT_EQ(p.server.counters().opened, 0u);
    EXPECT_EQ(p.server.highestReceived(), 0u);
    // Truncations and extensions too.
    for (std::size_t n = 0; n < d.size(); ++n)
        EXPECT_NE(openOne(p.server, Bytes(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n))),
                  KcpSealer::OpenResult::Ok);
    Bytes longer = d;
    longer.push_back(0);
    EXPECT_EQ(openOne(p.server, longer), KcpSealer::OpenResult::Unauthentic);
    // The genuine datagram still opens.
    Bytes back;
    EXPECT_EQ(openOne(p.server, d, &back), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(back, payload);
}

TEST_P(SessionSecureSealer, DuplicatesAndOldPacketsAreReplayed)
{
    SealerPair p(config(), makeSecrets(GetParam()));
    std::vector<Bytes> sealed;
    for (int i = 0; i < 3001; ++i)
        sealed.push_back(sealOne(p.client, p.secrets.conv, patternBytes(24, 1000 + i)));
    ASSERT_EQ(openOne(p.server, sealed[0]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(openOne(p.server, sealed[0]), KcpSealer::OpenResult::Replayed) << "exact duplicate";
    EXPECT_EQ(p.server.counters().replayed, 1u);

    // Jump to pn 3000: the window now covers 953..3000.
    ASSERT_EQ(openOne(p.server, sealed[3000]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(p.server.highestReceived(), 3001u);
    EXPECT_EQ(openOne(p.server, sealed[3000 - 2048]), KcpSealer::OpenResult::Replayed) << "older than the window";
    EXPECT_EQ(openOne(p.server, sealed[1]), KcpSealer::OpenResult::Replayed);
    EXPECT_EQ(openOne(p.server, sealed[3000 - 2047]), KcpSealer::OpenResult::Ok) << "the oldest the window holds";
    EXPECT_EQ(openOne(p.server, sealed[3000 - 2047]), KcpSealer::OpenResult::Replayed);
    EXPECT_EQ(openOne(p.server, sealed[2999]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(openOne(p.server, sealed[2999]), KcpSealer::OpenResult::Replayed);
    EXPECT_EQ(openOne(p.server, sealed[3000]), KcpSealer::OpenResult::Replayed);
    EXPECT_EQ(p.server.counters().replayed, 6u);
    EXPECT_EQ(p.server.counters().unauthentic, 0u);

    // A forged datagram with a far higher packet number fails and does not move the window: what the window
    // still holds keeps opening.
    Bytes forged = sealed[2000];
    putU48(forged.data() + 5, 100000);
    EXPECT_EQ(openOne(p.server, forged), KcpSealer::OpenResult::Unauthentic);
    EXPECT_EQ(p.server.highestReceived(), 3001u);
    EXPECT_EQ(openOne(p.server, sealed[2000]), KcpSealer::OpenResult::Ok);
    // A forgery of a number already received is reported as a replay (the check comes first, without crypto).
    Bytes forgedOld = sealed[2999];
    forgedOld.back() ^= 1;
    EXPECT_EQ(openOne(p.server, forgedOld), KcpSealer::OpenResult::Replayed);
}

TEST_P(SessionSecureSealer, ReorderingWithinTheWindowIsAccepted)
{
    SealerPair p(config(), makeSecrets(GetParam()));
    constexpr std::size_t kCount = 3001;
    std::vector<Bytes> sealed;
    std::vector<Bytes> payloads;
    for (std::size_t i = 0; i < kCount; ++i) {
        payloads.push_back(patternBytes(1 + i % 200, 5000 + i));
        sealed.push_back(sealOne(p.client, p.secrets.conv, payloads.back()));
    }
    std::vector<std::size_t> order(kCount);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(77);
    for (std::size_t start = 0; start < kCount; start += 1000)
        std::shuffle(order.begin() + static_cast<std::ptrdiff_t>(start),
                     order.begin() + static_cast<std::ptrdiff_t>(std::min(kCount, start + 1000)), rng);
    std::size_t ok = 0;
    for (const std::size_t i : order) {
        Bytes back;
        std::uint64_t pn = 0;
        const KcpSealer::OpenResult r = openOne(p.server, sealed[i], &back, &pn);
        if (r != KcpSealer::OpenResult::Ok) {
            ADD_FAILURE() << "pn " << i << ": " << resultName(r);
            continue;
        }
        ++ok;
        EXPECT_EQ(pn, i);
        EXPECT_EQ(back, payloads[i]);
    }
    EXPECT_EQ(ok, kCount);
    EXPECT_EQ(p.server.highestReceived(), kCount);
    // Everything again, in another order: all replays (in the window, or older than it).
    std::shuffle(order.begin(), order.end(), rng);
    std::size_t replayed = 0;
    for (const std::size_t i : order)
        replayed += openOne(p.server, sealed[i]) == KcpSealer::OpenResult::Replayed;
    EXPECT_EQ(replayed, kCount);
    EXPECT_EQ(p.server.counters().opened, kCount);
}

TEST_P(SessionSecureSealer, KeyEpochsFollowedThroughReorderingAcrossBoundaries)
{
    // epochBits below 8 is raised to 8: a new key every 256 packets.
    SealerPair p(config(0), makeSecrets(GetParam()));
    constexpr std::uint64_t kEpoch = 256;
    std::vector<Bytes> sealed;
    for (std::uint64_t i = 0; i < 8 * kEpoch; ++i) {
        sealed.push_back(sealOne(p.client, p.secrets.conv, patternBytes(40, i)));
        EXPECT_EQ(p.client.counters().keyUpdates, i / kEpoch) << "at pn " << i;
    }
    EXPECT_EQ(p.client.counters().keyUpdates, 7u);

    // Deliver epochs 0..5 in order, except: the 40 packets around each boundary in reverse (the next epoch's
    // first packets come before the previous epoch's last ones), and three held back.
    const std::uint64_t heldBack[] = {700, 1200, 1500}; // epoch 2 (two behind at the end), 4 (previous), 5 (current)
    std::vector<std::uint64_t> order(6 * kEpoch);
    std::iota(order.begin(), order.end(), 0);
    for (std::uint64_t b = kEpoch; b < 6 * kEpoch; b += kEpoch)
        std::reverse(order.begin() + static_cast<std::ptrdiff_t>(b - 20),
                     order.begin() + static_cast<std::ptrdiff_t>(b + 20));
    std::size_t ok = 0;
    for (const std::uint64_t pn : order) {
        if (std::find(std::begin(heldBack), std::end(heldBack), pn) != std::end(heldBack))
            continue;
        const KcpSealer::OpenResult r = openOne(p.server, sealed[pn]);
        EXPECT_EQ(r, KcpSealer::OpenResult::Ok) << "pn " << pn << ": " << resultName(r);
        ok += r == KcpSealer::OpenResult::Ok;
    }
    EXPECT_EQ(ok, 6 * kEpoch - 3);
    EXPECT_EQ(p.server.counters().keyUpdates, 5u) << "the receiver entered epochs 1..5";
    // The previous and the current epoch's keys are kept; older ones are gone, even inside the replay window.
    EXPECT_EQ(openOne(p.server, sealed[1500]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(openOne(p.server, sealed[1200]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(openOne(p.server, sealed[700]), KcpSealer::OpenResult::Unauthentic);
    // Two epochs ahead cannot be opened yet (only the next key is derived)...
    EXPECT_EQ(openOne(p.server, sealed[7 * kEpoch + 3]), KcpSealer::OpenResult::Unauthentic);
    // ... but once the peer's packets of the epoch between have arrived, it can: the failure did not move the
    // window.
    for (std::uint64_t pn = 6 * kEpoch; pn < 7 * kEpoch; ++pn)
        ASSERT_EQ(openOne(p.server, sealed[pn]), KcpSealer::OpenResult::Ok) << pn;
    EXPECT_EQ(openOne(p.server, sealed[7 * kEpoch + 3]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(openOne(p.server, sealed[7 * kEpoch]), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(p.server.counters().keyUpdates, 7u);
    EXPECT_EQ(p.server.counters().unauthentic, 2u);

    // The reverse direction keeps its own epochs.
    for (std::uint64_t i = 0; i < 2 * kEpoch + 1; ++i)
        ASSERT_EQ(openOne(p.client, sealOne(p.server, p.secrets.conv, patternBytes(8, i))),
                  KcpSealer::OpenResult::Ok);
    EXPECT_EQ(p.server.counters().keyUpdates, 7u + 2u);
    EXPECT_EQ(p.client.counters().keyUpdates, 7u + 2u);
}

TEST_P(SessionSecureSealer, ReflectedDatagramsFailAndDirectionKeysDiffer)
{
    SealerPair p(config(), makeSecrets(GetParam()));
    const Bytes payload = patternBytes(64, 31);
    const Bytes fromClient = sealOne(p.client, p.secrets.conv, payload);
    const Bytes fromServer = sealOne(p.server, p.secrets.conv, payload);
    // Same conv, same packet number, same plaintext: the header is identical, the rest is not.
    EXPECT_TRUE(std::equal(fromClient.begin(), fromClient.begin() + kSealedHeaderSize, fromServer.begin()));
    EXPECT_FALSE(std::equal(fromClient.begin() + kSealedHeaderSize, fromClient.end(),
                            fromServer.begin() + kSealedHeaderSize));
    // A reflected datagram (sent back to its sender) does not open.
    EXPECT_EQ(openOne(p.client, fromClient), KcpSealer::OpenResult::Unauthentic);
    EXPECT_EQ(openOne(p.server, fromServer), KcpSealer::OpenResult::Unauthentic);
    EXPECT_EQ(openOne(p.server, fromClient), KcpSealer::OpenResult::Ok);
    EXPECT_EQ(openOne(p.client, fromServer), KcpSealer::OpenResult::Ok);
}

TEST_P(SessionSecureSealer, EveryHandshakeInputChangesTheKeys)
{
    const KcpSecurityConfig base = config();
    const KcpHandshakeSecrets secrets = makeSecrets(GetParam());
    SealerPair reference(base, secrets);
    const Bytes payload = patternBytes(48, 41);
    const Bytes sealedRef = sealOne(reference.client, secrets.conv, payload);

    struct Variant {
        const char *what;
        KcpSecurityConfig config;
        KcpHandshakeSecrets secrets;
    };
    std::vector<Variant> variants;
    auto add = [&](const char *what, auto change) {
        Variant v {what, base, secrets};
        change(v.config, v.secrets);
        variants.push_back(v);
    };
    add("psk", [](KcpSecurityConfig &c, KcpHandshakeSecrets &) { c.psk[31] ^= 1; });
    add("longer psk", [](KcpSecurityConfig &c, KcpHandshakeSecrets &) { c.psk.push_back(7); });
    add("client random", [](KcpSecurityConfig &, KcpHandshakeSecrets &s) { s.clientRandom[0] ^= 1; });
    add("server random", [](KcpSecurityConfig &, KcpHandshakeSecrets &s) { s.serverRandom[15] ^= 0x80; });
    add("randoms swapped", [](KcpSecurityConfig &, KcpHandshakeSecrets &s) {
        std::swap_ranges(s.clientRandom, s.clientRandom + kSessionRandomSize, s.serverRandom);
    });
    add("nonce", [](KcpSecurityConfig &, KcpHandshakeSecrets &s) { s.nonce ^= 1ull << 63; });
    add("conv", [](KcpSecurityConfig &, KcpHandshakeSecrets &s) { s.conv ^= 1; });
    add("cipher", [](KcpSecurityConfig &, KcpHandshakeSecrets &s) {
        s.cipher = s.cipher == KcpCipherId::Aes256Gcm ? KcpCipherId::ChaCha20Poly1305 : KcpCipherId::Aes256Gcm;
    });
    for (Variant &v : variants) {
        SCOPED_TRACE(v.what);
        SealerPair other(v.config, v.secrets);
        // The header is the same (conv is the seal() argument), the ciphertext is not.
        const Bytes sealed = sealOne(other.client, secrets.conv, payload);
        ASSERT_EQ(sealed.size(), sealedRef.size());
        EXPECT_TRUE(std::equal(sealed.begin(), sealed.begin() + kSealedHeaderSize, sealedRef.begin()));
        EXPECT_FALSE(std::equal(sealed.begin() + kSealedHeaderSize, sealed.end(),
                                sealedRef.begin() + kSealedHeaderSize));
        EXPECT_EQ(openOne(reference.server, sealed), KcpSealer::OpenResult::Unauthentic);
        EXPECT_EQ(openOne(other.server, sealedRef), KcpSealer::OpenResult::Unauthentic);
        EXPECT_EQ(openOne(other.server, sealed), KcpSealer::OpenResult::Ok);
    }
    EXPECT_EQ(openOne(reference.server, sealedRef), KcpSealer::OpenResult::Ok);
}

TEST_P(SessionSecureSealer, UnusableConfigurations)
{
    KcpSealer s;
    EXPECT_FALSE(s.isReady());
    KcpSecurityConfig noKey = config();
    noKey.psk.clear();
    EXPECT_FALSE(s.init(noKey, makeSecrets(GetParam()), true));
    EXPECT_FALSE(s.isReady());
    std::uint8_t out[64];
    EXPECT_EQ(s.seal(1, out, 4, out), 0u);
    Bytes junk(40, 0);
    junk[4] = 0xD1;
    EXPECT_EQ(openOne(s, junk), KcpSealer::OpenResult::Malformed);
    // Custom without a factory.
    KcpSecurityConfig custom = config();
    custom.cipher = KcpCipherId::Custom;
    EXPECT_FALSE(s.init(custom, makeSecrets(KcpCipherId::Custom), true));
    // A working initialisation after failed ones.
    EXPECT_TRUE(s.init(config(), makeSecrets(GetParam()), true));
    EXPECT_TRUE(s.isReady());
}

INSTANTIATE_TEST_SUITE_P(SessionSecure, SessionSecureSealer,
                         ::testing::Values(KcpCipherId::Aes256Gcm, KcpCipherId::ChaCha20Poly1305),
                         [](const ::testing::TestParamInfo<KcpCipherId> &info) { return cipherLabel(info.param); });

// One million packets with a new key every 256: strictly increasing packet numbers, the receiver follows every
// epoch, and every nonce (checked against the model of the key schedule) is distinct.
TEST(SessionSecureSealerNonces, MillionPacketsHaveDistinctNoncesAcrossEpochs)
{
    constexpr std::uint64_t kPackets = 1000000; // about 0.5 s, 1 s under AddressSanitizer
    constexpr unsigned kEpochBits = 8;
    const auto started = std::chrono::steady_clock::now();
    KcpSecurityConfig config = *pskConfig(9, KcpCipherId::Aes256Gcm);
    config.epochBits = kEpochBits;
    SealerPair p(config, makeSecrets(KcpCipherId::Aes256Gcm, 3));
    DirectionModel model(config, p.secrets, true);
    std::uint8_t modelIv[12];
    model.iv(modelIv);
    std::unique_ptr<KcpAead> modelAead = kcpMakeAead(KcpCipherId::Aes256Gcm);
    ASSERT_NE(modelAead, nullptr);
    std::uint8_t key[32];
    model.key(key);
    ASSERT_TRUE(modelAead->setKey(key));

    std::vector<std::array<std::uint8_t, 12>> nonces;
    nonces.reserve(kPackets);
    std::uint8_t payload[16] = {};
    std::uint8_t datagram[16 + 11 + 16];
    std::uint8_t opened[sizeof datagram];
    std::uint64_t failures = 0;
    std::uint64_t modelChecks = 0;
    for (std::uint64_t i = 0; i < kPackets; ++i) {
        kcpPutU32(payload, static_cast<std::uint32_t>(i));
        const std::size_t n = p.client.seal(p.secrets.conv, payload, sizeof payload, datagram);
        if (n != sizeof datagram || getU48(datagram + 5) != i) {
            ADD_FAILURE() << "seal " << i << " gave " << n << " bytes, pn " << getU48(datagram + 5);
            return;
        }
        // The model: nonce = iv of the epoch xor pn, under the key of the epoch.
        if ((i >> kEpochBits) != model.epoch) {
            model.next();
            ASSERT_EQ(model.epoch, i >> kEpochBits);
            model.iv(modelIv);
            model.key(key);
            ASSERT_TRUE(modelAead->setKey(key));
        }
        nonces.push_back(DirectionModel::nonce(modelIv, i));
        const std::uint64_t inEpoch = i & ((1u << kEpochBits) - 1);
        if (inEpoch == 0 || inEpoch == 255 || i % 1009 == 0) {
            ++modelChecks;
            std::uint8_t plain[sizeof payload];
            if (!modelAead->open(nonces.back().data(), datagram, kSealedHeaderSize, datagram + kSealedHeaderSize,
                                 n - kSealedHeaderSize, plain)
                || std::memcmp(plain, payload, sizeof payload) != 0) {
                ADD_FAILURE() << "the model of the key schedule does not open pn " << i;
                return;
            }
        }
        // The receiver follows.
        std::size_t size = 0;
        std::uint64_t pn = 0;
        if (p.server.open(datagram, n, opened, &size, &pn) != KcpSealer::OpenResult::Ok || pn != i
            || size != sizeof payload || std::memcmp(opened, payload, size) != 0)
            ++failures;
    }
    EXPECT_EQ(failures, 0u);
    EXPECT_GT(modelChecks, 2 * (kPackets >> kEpochBits));
    const std::uint64_t epochsEntered = (kPackets - 1) >> kEpochBits;
    EXPECT_EQ(p.client.counters().keyUpdates, epochsEntered);
    EXPECT_EQ(p.server.counters().keyUpdates, epochsEntered);
    EXPECT_EQ(p.client.counters().sealed, kPackets);
    EXPECT_EQ(p.server.counters().opened, kPackets);
    EXPECT_EQ(p.client.nextSendPacketNumber(), kPackets);

    std::sort(nonces.begin(), nonces.end());
    EXPECT_EQ(std::adjacent_find(nonces.begin(), nonces.end()), nonces.end()) << "a nonce repeats";
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    RecordProperty("packets", static_cast<int>(kPackets));
    RecordProperty("milliseconds", static_cast<int>(seconds * 1000));
#ifndef KCPNET_TEST_SANITIZED
    EXPECT_LT(seconds, 10.0) << "sealing and opening 10^6 packets is too slow";
#endif
}

// =====================================================================================================================
// 2b. The stateless responder in pre-shared-key mode
// =====================================================================================================================

namespace {

KcpPeerAddress somePeer()
{
    KcpPeerAddress a;
    a.ip[15] = 9;
    a.port = 4000;
    return a;
}

const std::uint8_t kTestResponderKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

} // namespace

TEST(SessionSecureResponder, SealedDatagramForUnknownConvGetsAnAuthenticatedReset)
{
    KcpHandshakeResponder::Settings settings;
    settings.security = pskConfig(7);
    settings.resetsPerSecond = 3;
    KcpHandshakeResponder responder(settings, kTestResponderKey);
    const auto macKey = kcpHandshakeKey(settings.security->psk);

    SealerPair p(*settings.security, makeSecrets(KcpCipherId::Aes256Gcm));
    Bytes d;
    for (int i = 0; i < 42; ++i)
        d = sealOne(p.client, 0xC0FFEE, patternBytes(30, 1)); // pn 41
    const KcpHandshakeResponder::Outcome o = responder.handle(d.data(), d.size(), somePeer(), 5000);
    ASSERT_EQ(o.action, KcpHandshakeResponder::Action::Reply);
    ASSERT_EQ(o.replySize, kSessionSecureResetSize);
    EXPECT_LE(o.replySize, d.size());
    const std::size_t n = sessionVerify(o.reply, o.replySize);
    ASSERT_EQ(n, kSessionSecureResetSize - kSessionTrailerSize);
    EXPECT_EQ(kcpGetU32(o.reply), 0xC0FFEEu);
    std::uint64_t pn = 0;
    ASSERT_TRUE(decodeSecureReset(o.reply, n, pn));
    EXPECT_EQ(pn, 41u) << "the RESET echoes the datagram's packet number";
    EXPECT_TRUE(sessionMacValid(o.reply, n, macKey.data()));
    EXPECT_FALSE(sessionMacValid(o.reply, n, kcpHandshakeKey(Bytes(32, 8)).data())) << "bound to the PSK";
    EXPECT_EQ(responder.counters().resetsSent, 1u);

    // Rate-limited like any RESET.
    for (int i = 0; i < 5; ++i)
        responder.handle(d.data(), d.size(), somePeer(), 5001);
    EXPECT_EQ(responder.counters().resetsSent, 3u);
    EXPECT_EQ(responder.counters().resetsLimited, 3u);
    // Never larger than what came in: shorter "sealed" datagrams get no answer.
    Bytes shortOne(d.begin(), d.begin() + kSessionSecureResetSize - 1);
    EXPECT_EQ(responder.handle(shortOne.data(), shortOne.size(), somePeer(), 9000).action,
              KcpHandshakeResponder::Action::Drop);
    // Unprotected session traffic for an unknown conv is never answered in this mode.
    std::uint8_t buf[kSessionMaxControlSize];
    const std::size_t pingSize = encodePing(0xC0FFEE, SessionPacketType::Ping, 1, buf);
    EXPECT_EQ(responder.handle(buf, pingSize, somePeer(), 9000).action, KcpHandshakeResponder::Action::Drop);
    const std::size_t finSize = encodeBare(0xC0FFEE, SessionPacketType::Fin, buf);
    EXPECT_EQ(responder.handle(buf, finSize, somePeer(), 9000).action, KcpHandshakeResponder::Action::Drop);

    // A responder without a key ignores sealed datagrams.
    KcpHandshakeResponder plainResponder(KcpHandshakeResponder::Settings {}, kTestResponderKey);
    EXPECT_EQ(plainResponder.handle(d.data(), d.size(), somePeer(), 5000).action,
              KcpHandshakeResponder::Action::Drop);
}

namespace {

// A secure HELLO as a client with `config` would send it (random = 16 x randomFill), or with its custom cipher name
// proven for `provedName` instead of its own name.
Bytes secureHello(const KcpSecurityConfig &config, std::uint8_t randomFill, std::uint64_t nonce,
                  const std::string *provedName = nullptr)
{
    const auto macKey = kcpHandshakeKey(config.psk);
    SessionHello h;
    h.flags = kSessionFlagStream | kSessionFlagSecure;
    h.nonce = nonce;
    h.cipher = static_cast<std::uint8_t>(config.cipher);
    std::memset(h.random, randomFill, sizeof h.random);
    if (config.cipher == KcpCipherId::Custom) {
        const std::string &name = provedName ? *provedName : config.customName;
        sessionCipherNameMac(macKey.data(), h.random, name.data(), name.size(), h.cipherNameMac);
    }
    Bytes d(kSessionMaxControlSize);
    d.resize(encodeHello(h, d.data(), macKey.data()));
    return d;
}

// What a responder answers to a datagram: the reply's type (0 = nothing) and, for REJECT, its reason and nonce.
struct Answer {
    std::uint8_t type = 0;
    SessionRejectReason reason {};
    std::uint64_t nonce = 0;
};

Answer answerTo(KcpHandshakeResponder &responder, const Bytes &d)
{
    Answer a;
    const KcpHandshakeResponder::Outcome o = responder.handle(d.data(), d.size(), somePeer(), 5000);
    if (o.action != KcpHandshakeResponder::Action::Reply)
        return a;
    const std::size_t n = sessionVerify(o.reply, o.replySize);
    if (n == 0)
        return a;
    a.type = o.reply[4];
    SessionReject r;
    if (decodeReject(o.reply, n, r)) {
        a.reason = static_cast<SessionRejectReason>(r.reason);
        a.nonce = r.nonce;
    }
    return a;
}

} // namespace

// A custom cipher's name is proven in the HELLO with a MAC of its own (docs/PROTOCOL.md §19.5): after the HELLO's
// MAC has shown the key, a server with another custom cipher answers REJECT(Cipher), not Authentication.
TEST(SessionSecureResponder, CustomCipherNameIsProvenInTheHelloAndCheckedAfterTheKey)
{
    const auto server = customConfig("toy-hmac-8");
    KcpHandshakeResponder::Settings settings;
    settings.security = server;
    KcpHandshakeResponder responder(settings, kTestResponderKey);
    const auto macKey = kcpHandshakeKey(server->psk);
    const std::uint8_t accept = typeByte(SessionPacketType::Accept);
    const std::uint8_t reject = typeByte(SessionPacketType::Reject);

    // The name MAC: HMAC-SHA256(K_hs, "kcpnet cipher name" | client random | name), first 16 bytes, at offset 54.
    const Bytes same = secureHello(*server, 0x11, 100);
    ASSERT_EQ(same.size(), kSessionSecureHelloSize);
    const std::string label = "kcpnet cipher name";
    const Bytes random(kSessionRandomSize, 0x11);
    std::uint8_t full[32];
    kcpHmacSha256(macKey.data(), macKey.size(), reinterpret_cast<const std::uint8_t *>(label.data()), label.size(),
                  random.data(), random.size(), reinterpret_cast<const std::uint8_t *>(server->customName.data()),
                  server->customName.size(), full);
    EXPECT_EQ(toHex(same.data() + 54, 16), toHex(full, 16));
    EXPECT_TRUE(std::all_of(same.begin() + 70, same.end() - 4, [](std::uint8_t b) { return b == 0; }))
        << "the rest of the HELLO stays zero padding";
    SessionHello decoded;
    ASSERT_TRUE(decodeHello(same.data(), same.size() - kSessionTrailerSize, decoded));
    EXPECT_EQ(toHex(decoded.cipherNameMac, 16), toHex(full, 16));

    EXPECT_EQ(answerTo(responder, same).type, accept);
    EXPECT_EQ(responder.counters().hellos, 1u);

    // The key is right, the cipher is not the server's: REJECT(Cipher), echoing the nonce; nothing is kept.
    struct Case {
        const char *what;
        Bytes hello;
    };
    std::vector<Case> cipherCases;
    const std::string other = "toy-hmac-8 v2";
    const std::string prefix = "toy-hmac-";
    const std::string empty;
    cipherCases.push_back({"another name", secureHello(*server, 0x12, 101, &other)});
    cipherCases.push_back({"a prefix of the name", secureHello(*server, 0x13, 102, &prefix)});
    cipherCases.push_back({"an empty name", secureHello(*server, 0x14, 103, &empty)});
    Bytes spliced = secureHello(*server, 0x15, 104);
    const Bytes donor = secureHello(*server, 0x16, 105); // the right name, proven for another client random
    std::copy(donor.begin() + 54, donor.begin() + 70, spliced.begin() + 54);
    sessionSeal(spliced.data(), spliced.size() - kSessionTrailerSize);
    cipherCases.push_back({"a name MAC of another HELLO", spliced});
    Bytes zeroed = secureHello(*server, 0x17, 106);
    std::fill(zeroed.begin() + 54, zeroed.begin() + 70, 0);
    sessionSeal(zeroed.data(), zeroed.size() - kSessionTrailerSize);
    cipherCases.push_back({"no name MAC", zeroed});
    for (const Case &c : cipherCases) {
        SCOPED_TRACE(c.what);
        // The HELLO's own MAC is valid: this is a key holder.
        ASSERT_TRUE(sessionMacValid(c.hello.data(), c.hello.size() - kSessionTrailerSize, macKey.data()));
        const Answer a = answerTo(responder, c.hello);
        EXPECT_EQ(a.type, reject);
        EXPECT_EQ(a.reason, SessionRejectReason::Cipher);
        SessionHello h;
        ASSERT_TRUE(decodeHello(c.hello.data(), c.hello.size() - kSessionTrailerSize, h));
        EXPECT_EQ(a.nonce, h.nonce);
    }
    EXPECT_EQ(responder.counters().rejects, cipherCases.size());
    EXPECT_EQ(responder.counters().authFailures, 0u);
    EXPECT_EQ(responder.counters().hellos, 1u);

    // A wrong key is reported as such, whatever the name: the key is checked first.
    for (const std::string &name : {server->customName, other}) {
        SCOPED_TRACE(name);
        const Answer a = answerTo(responder, secureHello(*customConfig(name, true, 8), 0x18, 107));
        EXPECT_EQ(a.type, reject);
        EXPECT_EQ(a.reason, SessionRejectReason::Authentication);
    }
    EXPECT_EQ(responder.counters().authFailures, 2u);

    // Built-in ciphers carry no name: whatever is in those bytes is padding, ignored as before.
    KcpSecurityConfig builtin = *server;
    builtin.cipher = KcpCipherId::Aes256Gcm;
    Bytes junk = secureHello(builtin, 0x19, 108);
    for (std::size_t i = 54; i < 70; ++i)
        junk[i] = static_cast<std::uint8_t>(i);
    sessionSeal(junk.data(), junk.size() - kSessionTrailerSize);
    EXPECT_EQ(toHex(secureHello(builtin, 0x19, 108).data() + 54, 16), std::string(32, '0'));
    EXPECT_EQ(answerTo(responder, junk).type, accept);
    EXPECT_EQ(responder.counters().hellos, 2u);
}

// =====================================================================================================================
// 3. Session pairs over the simulated link
// =====================================================================================================================

namespace {

Scenario secureScenario(std::uint32_t delay = 10, bool streamMode = true,
                        std::shared_ptr<KcpSecurityConfig> sec = pskConfig())
{
    Scenario s = makeScenario(delay, streamMode);
    s.client.security = sec;
    s.server.security = sec;
    s.responder.security = sec;
    return s;
}

// Everything on the wire is either a secure handshake packet, a sealed datagram, or the stateless server's
// authenticated RESET; and no datagram exceeds the MTU.
::testing::AssertionResult onlySealedTraffic(const Net &net, std::size_t mtu = 1400)
{
    for (const Net::Record &r : net.sent) {
        bool ok = false;
        switch (r.type) {
        case 0xA1:
            ok = r.dir == Dir::ToServer && r.size == kSessionSecureHelloSize;
            break;
        case 0xA2:
            ok = r.dir == Dir::ToClient && r.size == kSessionSecureAcceptSize;
            break;
        case 0xA3:
            ok = r.dir == Dir::ToServer && r.size == kSessionSecureConfirmSize;
            break;
        case 0xC3:
            ok = r.dir == Dir::ToClient && r.size == kSessionSecureResetSize;
            break;
        case 0xD1:
            ok = r.size <= mtu;
            break;
        default:
            break;
        }
        if (!ok)
            return ::testing::AssertionFailure()
                << dirName(r.dir) << " at t=" << r.t << ": " << sessionPacketTypeName(r.type) << " (0x" << std::hex
                << int(r.type) << std::dec << ") of " << r.size << " bytes";
    }
    return ::testing::AssertionSuccess();
}

std::size_t deliveredCount(const Net &net, Dir dir)
{
    return static_cast<std::size_t>(
        std::count_if(net.delivered.begin(), net.delivered.end(), [&](const Net::Record &r) { return r.dir == dir; }));
}

std::size_t deliveredUnsealedHandshake(const Net &net, Dir dir)
{
    const auto unsealed = [&](const Net::Record &r) {
        return r.dir == dir && (r.type == 0xA1 || r.type == 0xA2 || r.type == 0xA3 || r.type == 0xC3);
    };
    return static_cast<std::size_t>(std::count_if(net.delivered.begin(), net.delivered.end(), unsealed));
}

struct Traffic {
    Bytes up;
    Bytes down;
    std::vector<Bytes> upMessages;
    std::vector<Bytes> downMessages;
};

Traffic makeTraffic(bool streamMode, std::size_t bytes, std::uint64_t seed)
{
    Traffic t;
    t.up = patternBytes(bytes, seed);
    t.down = patternBytes(bytes, seed + 1);
    if (!streamMode) {
        std::mt19937_64 rng(seed + 2);
        auto cut = [&](const Bytes &all, std::vector<Bytes> &into) {
            std::size_t i = 0;
            while (i < all.size()) {
                std::size_t n = rng() % 8 == 0 ? 0 : (rng() % 8 == 1 ? 1 + rng() % 60000 : 1 + rng() % 3000);
                n = std::min(n, all.size() - i);
                into.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i),
                                  all.begin() + static_cast<std::ptrdiff_t>(i + n));
                i += n;
            }
        };
        cut(t.up, t.upMessages);
        cut(t.down, t.downMessages);
    }
    return t;
}

void startTraffic(Net &net, const Traffic &t, bool streamMode)
{
    if (streamMode) {
        net.client.outbox = chunked(t.up, 40000);
        net.onServerSession = [&t](Peer &p) { p.outbox = chunked(t.down, 30001); };
    } else {
        net.client.outbox.assign(t.upMessages.begin(), t.upMessages.end());
        net.onServerSession = [&t](Peer &p) { p.outbox.assign(t.downMessages.begin(), t.downMessages.end()); };
    }
}

bool trafficDone(Net &net, const Traffic &t)
{
    Peer *server = net.server();
    return server && net.client.receivedBytes() == t.down.size() && server->receivedBytes() == t.up.size()
        && net.client.session.engine()->waitSnd() == 0 && server->session.engine()->waitSnd() == 0;
}

::testing::AssertionResult trafficExact(Net &net, const Traffic &t, bool streamMode)
{
    Peer *server = net.server();
    if (!server)
        return ::testing::AssertionFailure() << "no server session";
    if (streamMode) {
        ::testing::AssertionResult r = sameBytes(t.up, server->stream);
        if (!r)
            return r << " (upwards)";
        r = sameBytes(t.down, net.client.stream);
        if (!r)
            return r << " (downwards)";
        return ::testing::AssertionSuccess();
    }
    if (server->messages.size() != t.upMessages.size() || net.client.messages.size() != t.downMessages.size())
        return ::testing::AssertionFailure() << "message counts differ";
    for (std::size_t i = 0; i < t.upMessages.size(); ++i)
        if (server->messages[i] != t.upMessages[i])
            return ::testing::AssertionFailure() << "message " << i << " upwards differs";
    for (std::size_t i = 0; i < t.downMessages.size(); ++i)
        if (net.client.messages[i] != t.downMessages[i])
            return ::testing::AssertionFailure() << "message " << i << " downwards differs";
    return ::testing::AssertionSuccess();
}

std::string dropsText(const KcpSessionDrops &d)
{
    return "checksum " + std::to_string(d.checksum) + ", wrongConv " + std::to_string(d.wrongConv) + ", malformed "
        + std::to_string(d.malformed) + ", unexpected " + std::to_string(d.unexpected) + ", authentication "
        + std::to_string(d.authentication) + ", replayed " + std::to_string(d.replayed);
}

} // namespace

TEST(SessionSecurePair, HandshakeTakesOneRoundTripAndEverythingAfterItIsSealed)
{
    const std::uint32_t d = 25;
    Net net(secureScenario(d));
    net.connect();
    ASSERT_EQ(net.sent.size(), 1u);
    EXPECT_EQ(net.sent[0].size, kSessionSecureHelloSize);
    EXPECT_EQ(net.sent[0].head[10] & kSessionFlagSecure, kSessionFlagSecure);
    net.run(2 * d - 1);
    EXPECT_EQ(net.client.connectedCalls, 0);
    net.run(1);
    ASSERT_EQ(net.client.connectedCalls, 1);
    EXPECT_EQ(net.client.connectedAt, 2u * d) << "one round trip, as without a key";
    EXPECT_EQ(net.client.session.handshakeRtt(), 2 * d);
    ASSERT_NE(net.client.session.sealer(), nullptr);
    EXPECT_TRUE(net.client.session.sealer()->isReady());
    EXPECT_EQ(net.serverSessions.size(), 0u);
    net.run(d);
    ASSERT_NE(net.server(), nullptr);
    EXPECT_EQ(net.server()->createdAt, 3u * d);
    ASSERT_NE(net.server()->session.sealer(), nullptr);
    net.run(d);
    EXPECT_TRUE(net.client.session.isConfirmed());

    const Bytes up = patternBytes(100000, 1);
    const Bytes down = patternBytes(100000, 2);
    net.client.outbox = chunked(up, 10000);
    net.server()->outbox = chunked(down, 10000);
    ASSERT_TRUE(net.run(30000, [&] {
        return net.server()->stream.size() == up.size() && net.client.stream.size() == down.size();
    }));
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    net.client.session.close(net.now());
    ASSERT_TRUE(net.run(10000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerClosed);

    EXPECT_TRUE(onlySealedTraffic(net));
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Hello), 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Accept), 1u);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Confirm), 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Reset), 0u);
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_EQ(net.responder.counters().hellos, 1u);
    EXPECT_EQ(net.responder.counters().confirms, 1u);
    for (const KcpSessionDrops &drops : {net.client.session.drops(), net.server()->session.drops()}) {
        EXPECT_EQ(drops.authentication + drops.replayed + drops.checksum + drops.malformed + drops.wrongConv, 0u)
            << dropsText(drops);
    }
    // The sealers' packet numbers are the datagrams each side sent after the handshake.
    EXPECT_EQ(net.client.session.sealer()->nextSendPacketNumber(), net.countSent(Dir::ToServer, 0xD1));
    EXPECT_EQ(net.server()->session.sealer()->nextSendPacketNumber(), net.countSent(Dir::ToClient, 0xD1));
}

TEST(SessionSecurePair, PlaintextNeverAppearsOnTheWire)
{
    Net net(secureScenario(10));
    const std::string marker = "kcpnet-plaintext-marker-";
    Bytes up;
    while (up.size() < 200000)
        up.insert(up.end(), marker.begin(), marker.end());
    std::size_t seen = 0;
    std::size_t scanned = 0;
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        ++scanned;
        seen += std::search(d.begin(), d.end(), marker.begin(), marker.begin() + 12) != d.end();
        return Verdict {};
    };
    net.client.outbox = chunked(up, 7000);
    net.onServerSession = [&](Peer &p) { p.outbox = chunked(up, 5000); };
    net.connect();
    ASSERT_TRUE(net.run(30000, [&] {
        return net.server() && net.server()->stream.size() == up.size() && net.client.stream.size() == up.size();
    }));
    EXPECT_GT(scanned, 300u);
    EXPECT_EQ(seen, 0u);
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
}

// (stream mode, seed)
using BulkParam = std::tuple<bool, int>;

class SessionSecureBulk : public ::testing::TestWithParam<BulkParam>
{
};

TEST_P(SessionSecureBulk, ExactThroughLossReorderDuplicationAndCorruption)
{
    const bool streamMode = std::get<0>(GetParam());
    Scenario s = secureScenario(15, streamMode);
    s.seed = static_cast<std::uint64_t>(std::get<1>(GetParam()));
    for (LinkConfig *l : {&s.toServer, &s.toClient}) {
        l->loss = 0.10;
        l->jitter = 8;
        l->duplicate = 0.05;
        l->corrupt = 0.05;
    }
    s.client.connectTimeout = 30000;
    s.client.deadLink = 60;
    s.server.deadLink = 60;
    Net net(s);
    const Traffic t = makeTraffic(streamMode, streamMode ? 1 << 20 : 512 * 1024, 10 + s.seed);
    startTraffic(net, t, streamMode);
    net.connect();
    ASSERT_TRUE(net.run(600000, [&] { return trafficDone(net, t); }))
        << "transfer incomplete: client " << kcpCloseReasonName(net.client.closeReason) << ", received "
        << net.client.receivedBytes() << "; server received " << (net.server() ? net.server()->receivedBytes() : 0);
    EXPECT_TRUE(trafficExact(net, t, streamMode));
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_TRUE(onlySealedTraffic(net));

    // Every corrupted copy was dropped (the data is exact), as inauthentic, for a wrong conv (conv bits), a bad
    // checksum (type bits: then it is not a sealed datagram) or as a replay (packet-number bits); and every
    // authentication drop is a corrupted copy or an unsealed handshake packet the session no longer needed.
    Peer &server = *net.server();
    for (const Dir dir : {Dir::ToClient, Dir::ToServer}) {
        const KcpSessionDrops &d = dir == Dir::ToClient ? net.client.session.drops() : server.session.drops();
        const std::uint64_t corrupted = net.corruptedDelivered[static_cast<int>(dir)];
        SCOPED_TRACE(std::string(dirName(dir)) + ": " + std::to_string(corrupted) + " corrupted; drops "
                     + dropsText(d));
        EXPECT_GT(corrupted, 20u);
        EXPECT_GT(d.authentication, corrupted / 2);
        EXPECT_LE(d.authentication, corrupted + deliveredUnsealedHandshake(net, dir));
        EXPECT_GE(d.authentication + d.wrongConv + d.checksum + d.replayed, corrupted);
        EXPECT_GT(d.replayed, 0u) << "duplicates";
        EXPECT_LE(d.replayed, deliveredCount(net, dir)); // (sanity)
        EXPECT_EQ(d.malformed, 0u) << "nothing authentic was malformed";
    }
    const KcpSealer::Counters &cs = net.client.session.sealer()->counters();
    EXPECT_EQ(cs.replayed, net.client.session.drops().replayed);
    // Every sealed datagram the client received (as it arrived, corrupted or not) was opened, found inauthentic or
    // replayed by its sealer, or had a conv that is not the session's.
    EXPECT_EQ(cs.opened + cs.unauthentic + cs.replayed + net.client.session.drops().wrongConv,
              net.countDelivered(Dir::ToClient, 0xD1));

    net.client.session.close(net.now());
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(server.closeReason, KcpCloseReason::PeerClosed);
}

INSTANTIATE_TEST_SUITE_P(SessionSecure, SessionSecureBulk,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1, 2, 3)),
                         [](const ::testing::TestParamInfo<BulkParam> &info) {
                             return std::string(std::get<0>(info.param) ? "Stream" : "Message") + "_seed"
                                 + std::to_string(std::get<1>(info.param));
                         });

// ---- Mismatches ----

TEST(SessionSecurePair, WrongKeyIsRejectedAtOnceWithoutAServerSession)
{
    Scenario s = secureScenario(20);
    s.client.security = pskConfig(8); // the server has 32 x 7
    Net net(s);
    net.connect();
    net.run(s.client.connectTimeout + 1000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Authentication);
    EXPECT_EQ(net.client.closedAt, 40u) << "one round trip, long before the connect timeout";
    EXPECT_EQ(net.client.connectedCalls, 0);
    EXPECT_EQ(net.sessionsCreated, 0u);
    EXPECT_EQ(net.responder.counters().authFailures, 1u);
    EXPECT_EQ(net.responder.counters().hellos, 0u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Accept), 0u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Reject), 1u);
}

TEST(SessionSecurePair, KeyOnOneSideOnlyIsRejectedAsSecurityMismatch)
{
    for (const bool keyOnClient : {true, false}) {
        SCOPED_TRACE(keyOnClient ? "PSK client, plain server" : "plain client, PSK server");
        Scenario s = secureScenario(20);
        if (keyOnClient) {
            s.server.security.reset();
            s.responder.security.reset();
        } else {
            s.client.security.reset();
        }
        Net net(s);
        net.connect();
        net.run(s.client.connectTimeout + 1000, [&] { return net.client.isClosed(); });
        EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
        EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Security);
        EXPECT_EQ(net.client.closedAt, 40u);
        EXPECT_EQ(net.sessionsCreated, 0u);
        EXPECT_EQ(net.responder.counters().rejects, 1u);
    }
    // An empty key is no key.
    Scenario s = secureScenario(20);
    auto empty = std::make_shared<KcpSecurityConfig>();
    s.server.security = empty;
    s.responder.security = empty;
    Net net(s);
    net.connect();
    net.run(1000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Security);
}

TEST(SessionSecurePair, ChaCha20Poly1305Works)
{
    Scenario s = secureScenario(10, true, pskConfig(7, KcpCipherId::ChaCha20Poly1305));
    s.toServer.loss = 0.05;
    s.toClient.loss = 0.05;
    Net net(s);
    const Traffic t = makeTraffic(true, 256 * 1024, 70);
    startTraffic(net, t, true);
    net.connect();
    ASSERT_TRUE(net.run(120000, [&] { return trafficDone(net, t); }));
    EXPECT_TRUE(trafficExact(net, t, true));
    EXPECT_TRUE(onlySealedTraffic(net));
    const Net::Record *hello = net.firstSent(Dir::ToServer, SessionPacketType::Hello);
    const Net::Record *accept = net.firstSent(Dir::ToClient, SessionPacketType::Accept);
    ASSERT_TRUE(hello && accept);
    EXPECT_EQ(hello->head[21], static_cast<std::uint8_t>(KcpCipherId::ChaCha20Poly1305));
    EXPECT_EQ(accept->head[37], static_cast<std::uint8_t>(KcpCipherId::ChaCha20Poly1305));
    // The server agrees to what the client asks for, whatever its own preference.
    Scenario mixed = secureScenario(10, true, pskConfig(7, KcpCipherId::ChaCha20Poly1305));
    mixed.server.security = pskConfig(7, KcpCipherId::Aes256Gcm);
    mixed.responder.security = mixed.server.security;
    Net net2(mixed);
    establish(net2);
    const Bytes up = patternBytes(30000, 71);
    net2.client.outbox = chunked(up, 30000);
    ASSERT_TRUE(net2.run(10000, [&] { return net2.server()->stream.size() == up.size(); }));
    EXPECT_TRUE(sameBytes(up, net2.server()->stream));
}

TEST(SessionSecurePair, CustomCipherWithATagOfItsOwnSize)
{
    Scenario s = secureScenario(10, false, customConfig("toy-hmac-8"));
    s.toServer.loss = 0.05;
    s.toClient.loss = 0.05;
    Net net(s);
    const Traffic t = makeTraffic(false, 128 * 1024, 80);
    startTraffic(net, t, false);
    net.connect();
    ASSERT_TRUE(net.run(120000, [&] { return trafficDone(net, t); }));
    EXPECT_TRUE(trafficExact(net, t, false));
    EXPECT_TRUE(onlySealedTraffic(net));
    EXPECT_EQ(net.client.session.sealer()->overhead(), kSealedHeaderSize + 8);
    std::size_t largest = 0;
    for (const Net::Record &r : net.sent)
        largest = std::max(largest, r.size);
    EXPECT_EQ(largest, 1400u) << "full-size datagrams use the whole MTU with the smaller tag";
}

TEST(SessionSecurePair, CustomCipherTheServerDoesNotHaveIsRejected)
{
    Scenario s = secureScenario(20, true, customConfig("toy-hmac-8"));
    s.server.security = customConfig("toy-hmac-8", false);
    s.responder.security = s.server.security;
    Net net(s);
    net.connect();
    net.run(s.client.connectTimeout, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Cipher);
    EXPECT_EQ(net.client.closedAt, 40u);
    EXPECT_EQ(net.sessionsCreated, 0u);
}

// Both ends have the key and a custom cipher, under different names: the handshake fails at once with
// REJECT(Cipher), and the server keeps nothing. (The names also enter the keys: even a session set up across two
// names could not exchange a single datagram.)
TEST(SessionSecurePair, CustomCipherNamesThatDifferAreRejectedAtTheHandshake)
{
    Scenario s = secureScenario(20, true, customConfig("toy-hmac-8"));
    s.server.security = customConfig("toy-hmac-8 v2");
    s.responder.security = s.server.security;
    Net net(s);
    net.client.outbox = chunked(patternBytes(5000, 90), 5000);
    net.connect();
    ASSERT_TRUE(net.run(s.client.connectTimeout + 1000, [&] { return net.client.isClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Cipher);
    EXPECT_EQ(net.client.closedAt, 40u) << "one round trip, long before the connect timeout";
    EXPECT_EQ(net.client.connectedCalls, 0);
    EXPECT_EQ(net.sessionsCreated, 0u);
    EXPECT_EQ(net.responder.counters().rejects, 1u);
    EXPECT_EQ(net.responder.counters().authFailures, 0u) << "the key is right: not an authentication failure";
    EXPECT_EQ(net.responder.counters().hellos, 0u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Accept), 0u);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Confirm), 0u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Reject), 1u);
    net.run(5000);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Hello), 1u) << "nothing after the REJECT";
    EXPECT_EQ(net.client.closedCalls, 1);

    // The same names interoperate.
    Scenario same = secureScenario(20, true, customConfig("toy-hmac-8 v2"));
    same.server.security = s.server.security;
    same.responder.security = s.server.security;
    Net ok(same);
    establish(ok);
    EXPECT_EQ(ok.responder.counters().rejects, 0u);

    // The names are bound into the session keys too.
    const KcpHandshakeSecrets secrets = makeSecrets(KcpCipherId::Custom);
    KcpSealer a;
    KcpSealer b;
    ASSERT_TRUE(a.init(*customConfig("toy-hmac-8"), secrets, true));
    ASSERT_TRUE(b.init(*customConfig("toy-hmac-8 v2"), secrets, false));
    EXPECT_EQ(openOne(b, sealOne(a, secrets.conv, patternBytes(40, 91))), KcpSealer::OpenResult::Unauthentic);
}

// With a custom cipher, a wrong key is still reported as a wrong key (same name or not).
TEST(SessionSecurePair, CustomCipherWithAWrongKeyIsAnAuthenticationFailure)
{
    for (const char *clientName : {"toy-hmac-8", "toy-hmac-8 v2"}) {
        SCOPED_TRACE(clientName);
        Scenario s = secureScenario(20, true, customConfig("toy-hmac-8"));
        s.client.security = customConfig(clientName, true, 8); // the server has 32 x 7
        Net net(s);
        net.connect();
        ASSERT_TRUE(net.run(s.client.connectTimeout + 1000, [&] { return net.client.isClosed(); }));
        EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
        EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Authentication);
        EXPECT_EQ(net.client.closedAt, 40u);
        EXPECT_EQ(net.sessionsCreated, 0u);
        EXPECT_EQ(net.responder.counters().authFailures, 1u);
        EXPECT_EQ(net.responder.counters().rejects, 0u);
    }
}

// ---- A man in the middle ----

namespace {

// A lossless link with both sides exchanging `bytes` each way.
struct MitmRun {
    explicit MitmRun(std::size_t bytes = 400 * 1024, std::uint32_t delay = 10)
        : net(secureScenario(delay))
        , traffic(makeTraffic(true, bytes, 500))
    {
        startTraffic(net, traffic, true);
    }
    Net net;
    Traffic traffic;
};

} // namespace

TEST(SessionSecureMitm, BitFlipsInsideSealedDatagramsOnlyCostRetransmissions)
{
    MitmRun run;
    Net &net = run.net;
    std::mt19937_64 rng(5);
    std::uint64_t flipped = 0;
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        // ACKs, data, PONGs, CONFIRMED: the attacker cannot read them, so it flips bits blindly.
        if (dir == Dir::ToClient && typeOf(d) == 0xD1 && rng() % 4 == 0) {
            const std::size_t bit = kSealedHeaderSize * 8 + rng() % ((d.size() - kSealedHeaderSize) * 8);
            d[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            ++flipped;
        }
        return Verdict {};
    };
    net.connect();
    ASSERT_TRUE(net.run(300000, [&] { return trafficDone(net, run.traffic); }));
    EXPECT_TRUE(trafficExact(net, run.traffic, true));
    EXPECT_GT(flipped, 100u);
    const KcpSessionDrops &d = net.client.session.drops();
    EXPECT_EQ(d.authentication, flipped) << dropsText(d);
    EXPECT_EQ(net.client.session.sealer()->counters().unauthentic, flipped);
    EXPECT_EQ(d.malformed + d.checksum + d.replayed + d.wrongConv, 0u) << dropsText(d);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
}

TEST(SessionSecureMitm, BitFlipsAnywhereBothWaysAreAllDropped)
{
    MitmRun run;
    Net &net = run.net;
    std::mt19937_64 rng(6);
    std::uint64_t flipped[2] = {0, 0};
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        if (typeOf(d) == 0xD1 && rng() % 5 == 0) {
            const std::size_t bit = rng() % (d.size() * 8); // header included
            d[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            ++flipped[static_cast<int>(dir)];
        }
        return Verdict {};
    };
    net.connect();
    ASSERT_TRUE(net.run(300000, [&] { return trafficDone(net, run.traffic); }));
    EXPECT_TRUE(trafficExact(net, run.traffic, true));
    for (const Dir dir : {Dir::ToClient, Dir::ToServer}) {
        const KcpSessionDrops &d = dir == Dir::ToClient ? net.client.session.drops() : net.server()->session.drops();
        SCOPED_TRACE(std::string(dirName(dir)) + ": " + dropsText(d));
        const std::uint64_t f = flipped[static_cast<int>(dir)];
        EXPECT_GT(f, 50u);
        // A flipped conv reaches no session (server side: the responder answers with a RESET for it).
        const std::uint64_t atResponder = dir == Dir::ToServer ? net.responder.counters().unknownConv : 0;
        EXPECT_EQ(d.authentication + d.wrongConv + d.checksum + d.replayed + atResponder, f);
        EXPECT_GT(d.authentication, f / 2);
        EXPECT_EQ(d.malformed, 0u);
    }
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.closedCalls, 0);
}

TEST(SessionSecureMitm, EverySealedDatagramReplayedLaterIsDropped)
{
    MitmRun run;
    Net &net = run.net;
    bool replaying = true;
    std::uint64_t replays[2] = {0, 0};
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        if (replaying && typeOf(d) == 0xD1) {
            net.inject(dir, d, 150); // the same datagram again, 150 ms later
            ++replays[static_cast<int>(dir)];
        }
        return Verdict {};
    };
    net.connect();
    ASSERT_TRUE(net.run(300000, [&] { return trafficDone(net, run.traffic); }));
    replaying = false;
    net.run(1000); // let the last replays arrive
    EXPECT_TRUE(trafficExact(net, run.traffic, true));
    EXPECT_GT(replays[0], 100u);
    EXPECT_GT(replays[1], 100u);
    const KcpSessionDrops &c = net.client.session.drops();
    const KcpSessionDrops &s = net.server()->session.drops();
    EXPECT_EQ(c.replayed, replays[static_cast<int>(Dir::ToClient)]) << dropsText(c);
    EXPECT_EQ(s.replayed, replays[static_cast<int>(Dir::ToServer)]) << dropsText(s);
    EXPECT_EQ(c.authentication + s.authentication, 0u);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
}

TEST(SessionSecureMitm, ConfirmReplayedAfterTheSessionEndedCreatesNoSession)
{
    Net net(secureScenario(10));
    net.forgetClosedServerSessions = true;
    Bytes confirm;
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        if (dir == Dir::ToServer && typeOf(d) == 0xA3)
            confirm = d;
        return Verdict {};
    };
    const Bytes up = patternBytes(20000, 600);
    net.client.outbox = chunked(up, 20000);
    net.client.closeWhenWritten = true;
    net.connect();
    ASSERT_TRUE(net.run(20000, [&] { return net.client.isClosed() && net.serverSessions.empty(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    ASSERT_EQ(confirm.size(), kSessionSecureConfirmSize);
    ASSERT_EQ(net.sessionsCreated, 1u);
    ASSERT_LT(net.t, 30000u) << "still within the cookie's lifetime";

    const std::size_t sentBefore = net.sent.size();
    net.inject(Dir::ToServer, confirm);
    net.run(100);
    EXPECT_EQ(net.sessionsCreated, 1u) << "a replayed CONFIRM brought the session (and its keys) back";
    EXPECT_EQ(net.responder.counters().replayedConfirms, 1u);
    EXPECT_EQ(net.responder.counters().confirms, 1u);
    EXPECT_EQ(net.sent.size(), sentBefore + 1) << "nothing was answered";
    // A tampered copy fails the MAC.
    Bytes tampered = confirm;
    tampered[40] ^= 1;
    sessionSeal(tampered.data(), tampered.size() - kSessionTrailerSize);
    net.inject(Dir::ToServer, tampered);
    net.run(100);
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_EQ(net.responder.counters().authFailures, 1u);
}

TEST(SessionSecureMitm, ForgedUnprotectedControlPacketsAreIgnored)
{
    MitmRun run(200 * 1024);
    Net &net = run.net;
    establish(net);
    const std::uint32_t conv = net.client.session.conv();
    std::uint8_t buf[kSessionMaxControlSize];
    std::vector<Bytes> toClient;
    std::vector<Bytes> toServer;
    auto bytes = [&](std::size_t n) { return Bytes(buf, buf + n); };
    toClient.push_back(bytes(encodeReset(conv, SessionResetReason::Abort, buf)));
    toClient.push_back(bytes(encodeReset(conv, SessionResetReason::UnknownConv, buf)));
    toClient.push_back(bytes(encodeBare(conv, SessionPacketType::Fin, buf)));
    toClient.push_back(bytes(encodePing(conv, SessionPacketType::Ping, net.now(), buf)));
    toClient.push_back(bytes(encodeBare(conv, SessionPacketType::Confirmed, buf)));
    // A secure RESET for a packet number the client did send, MAC'd with another key or with a broken MAC.
    const std::uint64_t pn = net.client.session.sealer()->nextSendPacketNumber() - 1;
    toClient.push_back(bytes(encodeSecureReset(conv, pn, kcpHandshakeKey(Bytes(32, 8)).data(), buf)));
    encodeSecureReset(conv, pn, kcpHandshakeKey(Bytes(32, 7)).data(), buf);
    buf[20] ^= 1;
    toClient.push_back(bytes(sessionSeal(buf, kSessionSecureResetSize - kSessionTrailerSize)));
    // A KCP segment in clear (an ACK-less PUSH of sn 0 would be accepted by an unprotected session).
    Bytes push(kKcpHeaderSize + 3 + kSessionTrailerSize, 0);
    kcpPutU32(push.data(), conv);
    push[4] = 81;
    push[6] = 128;
    kcpPutU32(push.data() + 20, 3);
    push[24] = 'b';
    push[25] = 'a';
    push[26] = 'd';
    sessionSeal(push.data(), push.size() - kSessionTrailerSize);
    toClient.push_back(push);
    toServer.push_back(push);
    toServer.push_back(bytes(encodeReset(conv, SessionResetReason::Abort, buf)));
    toServer.push_back(bytes(encodeBare(conv, SessionPacketType::Fin, buf)));
    toServer.push_back(bytes(encodePing(conv, SessionPacketType::Ping, net.now(), buf)));
    // Garbage posing as a sealed datagram.
    Bytes fakeSealed = patternBytes(80, 601);
    kcpPutU32(fakeSealed.data(), conv);
    fakeSealed[4] = 0xD1;
    putU48(fakeSealed.data() + 5, 1u << 20);
    toClient.push_back(fakeSealed);
    toServer.push_back(fakeSealed);

    const KcpSessionDrops clientBefore = net.client.session.drops();
    const KcpSessionDrops serverBefore = net.server()->session.drops();
    for (std::size_t i = 0; i < toClient.size(); ++i)
        net.inject(Dir::ToClient, toClient[i], static_cast<std::uint32_t>(i));
    for (std::size_t i = 0; i < toServer.size(); ++i)
        net.inject(Dir::ToServer, toServer[i], static_cast<std::uint32_t>(i));
    ASSERT_TRUE(net.run(300000, [&] { return trafficDone(net, run.traffic); }));
    net.run(15000); // longer than both peer timeouts: the session lives on its genuine traffic
    EXPECT_TRUE(trafficExact(net, run.traffic, true));
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.closedCalls, 0);
    EXPECT_EQ(net.server()->closedCalls, 0);
    EXPECT_EQ(net.client.session.drops().authentication - clientBefore.authentication, toClient.size())
        << dropsText(net.client.session.drops());
    EXPECT_EQ(net.server()->session.drops().authentication - serverBefore.authentication, toServer.size())
        << dropsText(net.server()->session.drops());
    EXPECT_EQ(net.server()->stream.size(), run.traffic.up.size()) << "the forged PUSH added nothing";
}

TEST(SessionSecureMitm, RecordedResetFromTheConfirmPhaseIsHarmlessLater)
{
    Net net(secureScenario(10));
    std::vector<Bytes> resets;
    bool delayedConfirm = false;
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        Verdict v;
        if (dir == Dir::ToServer && typeOf(d) == 0xA3 && !delayedConfirm) {
            delayedConfirm = true;
            v.extraDelay = 60; // the first data overtakes the CONFIRM and meets no session
        }
        if (dir == Dir::ToClient && typeOf(d) == 0xC3)
            resets.push_back(d);
        return v;
    };
    const Bytes up = patternBytes(300000, 700);
    net.client.outbox = chunked(up, 300000);
    net.connect();
    ASSERT_TRUE(net.run(30000, [&] { return net.server() && net.server()->stream.size() == up.size(); }));
    ASSERT_FALSE(resets.empty()) << "the scenario did not happen";
    EXPECT_EQ(resets.front().size(), kSessionSecureResetSize);
    EXPECT_TRUE(sessionMacValid(resets.front().data(), kSessionSecureResetSize - kSessionTrailerSize,
                                kcpHandshakeKey(Bytes(32, 7)).data()))
        << "it is a genuine RESET of the server";
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    ASSERT_TRUE(net.client.session.isConfirmed());

    // Replayed now, they still authenticate, but they name packet numbers from before the confirmation.
    const std::uint64_t unexpectedBefore = net.client.session.drops().unexpected;
    for (std::size_t i = 0; i < resets.size(); ++i)
        net.inject(Dir::ToClient, resets[i], static_cast<std::uint32_t>(i));
    net.run(2000);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.closedCalls, 0);
    EXPECT_EQ(net.client.session.drops().unexpected - unexpectedBefore, resets.size());
    EXPECT_EQ(net.client.session.drops().authentication, 0u);
    // The session still works.
    const Bytes more = patternBytes(50000, 701);
    net.client.outbox = chunked(more, 50000);
    ASSERT_TRUE(net.run(10000, [&] { return net.server()->stream.size() == up.size() + more.size(); }));
    EXPECT_TRUE(
        std::equal(more.begin(), more.end(), net.server()->stream.begin() + static_cast<std::ptrdiff_t>(up.size())));
}

TEST(SessionSecurePair, ServerRestartResetsTheClientPromptly)
{
    MitmRun run(2 << 20);
    Net &net = run.net;
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] { return net.server() && net.server()->stream.size() > 200000; }));
    ASSERT_TRUE(net.client.session.isConfirmed());
    const std::uint64_t restartAt = net.t;
    net.serverSessions.clear(); // the server process restarted: no sessions, same PSK
    net.run(net.client.session.config().peerTimeout, [&] { return net.client.isClosed(); });
    ASSERT_TRUE(net.client.isClosed());
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerReset);
    EXPECT_LE(net.client.closedAt - restartAt, 100u) << "well before the peer timeout";
    EXPECT_GE(net.responder.counters().resetsSent, 1u);
    EXPECT_EQ(net.client.session.drops().authentication, 0u);

    // The same over an idle session: the next keepalive PING meets the restarted server.
    MitmRun idle(1000);
    Net &net2 = idle.net;
    net2.connect();
    ASSERT_TRUE(net2.run(10000, [&] { return trafficDone(net2, idle.traffic) && net2.client.session.isConfirmed(); }));
    const std::uint64_t restart2 = net2.t;
    net2.serverSessions.clear();
    net2.run(20000, [&] { return net2.client.isClosed(); });
    EXPECT_EQ(net2.client.closeReason, KcpCloseReason::PeerReset);
    EXPECT_LE(net2.client.closedAt - restart2,
              std::uint64_t(net2.client.session.effectiveKeepalive()) + 100u);
}

TEST(SessionSecurePair, AbortIsDeliveredSealed)
{
    Net net(secureScenario(10));
    establish(net);
    net.client.session.abort(net.now());
    ASSERT_TRUE(net.run(1000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalAbort);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerReset);
    EXPECT_TRUE(onlySealedTraffic(net));
}

// A lost CONFIRMED on a silent session: the client's CONFIRM retransmissions must be answered (as without a key),
// or the client stays unconfirmed (and blind to server restarts) until its first keepalive.
TEST(SessionSecurePair, LostConfirmedIsRepairedByTheConfirmRetransmission)
{
    Net net(secureScenario(20));
    int dropped = 0;
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        Verdict v;
        // The server's first sealed datagram is its CONFIRMED.
        if (dir == Dir::ToClient && typeOf(d) == 0xD1 && dropped < 2) {
            ++dropped;
            v.drop = true;
        }
        return v;
    };
    net.connect();
    ASSERT_TRUE(net.run(10000, [&] {
        return net.client.session.state() == KcpSessionState::Connected && net.client.session.isConfirmed();
    }));
    EXPECT_EQ(dropped, 2);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Confirm), 3u);
    EXPECT_EQ(net.client.session.pingsSent(), 0u) << "confirmed by the CONFIRM retransmissions, not a keepalive";
    EXPECT_LT(net.t, 2000u);
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_EQ(net.server()->session.drops().authentication, 0u) << "the repeated CONFIRMs were genuine";

    // Only this session's own CONFIRM is answered; another one, even with a valid MAC, is not.
    const Net::Record *first = net.firstSent(Dir::ToServer, SessionPacketType::Confirm);
    ASSERT_NE(first, nullptr);
    SessionConfirm c;
    ASSERT_TRUE(decodeConfirm(first->head.data(), kSessionSecureConfirmSize - kSessionTrailerSize, c));
    c.clientRandom[0] ^= 1;
    std::uint8_t buf[kSessionMaxControlSize];
    const auto macKey = kcpHandshakeKey(Bytes(32, 7));
    const std::size_t sentBefore = net.countSent(Dir::ToClient, 0xD1);
    net.inject(Dir::ToServer, Bytes(buf, buf + encodeConfirm(c, buf, macKey.data())));
    net.run(100);
    EXPECT_EQ(net.server()->session.drops().authentication, 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, 0xD1), sentBefore);
    EXPECT_EQ(net.sessionsCreated, 1u);
}

// =====================================================================================================================
// 4. Key separation between sessions
// =====================================================================================================================

TEST(SessionSecureKeys, TwoSessionsWithTheSamePskHaveDifferentKeys)
{
    // Two independent client/server pairs with the same PSK. Their responders use the same fixed key, so they
    // even assign the same conv: only the handshake randoms and nonces tell the sessions apart.
    MitmRun one(300 * 1024);
    MitmRun two(20 * 1024);
    std::vector<Bytes> captured[2];
    one.net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        if (typeOf(d) == 0xD1)
            captured[static_cast<int>(dir)].push_back(d);
        return Verdict {};
    };
    one.net.connect();
    two.net.connect();
    ASSERT_TRUE(one.net.run(60000, [&] { return trafficDone(one.net, one.traffic); }));
    ASSERT_TRUE(two.net.run(60000, [&] { return trafficDone(two.net, two.traffic); }));
    const std::uint32_t conv = two.net.client.session.conv();
    EXPECT_EQ(one.net.client.session.conv(), conv);

    // Session 1's datagrams, relabelled with session 2's conv and numbered beyond anything session 2 has seen
    // (packet numbers session 2 has not received yet), injected into session 2: all rejected as inauthentic.
    Peer &server2 = *two.net.server();
    const std::uint64_t serverHighest = server2.session.sealer()->highestReceived();
    const std::uint64_t clientHighest = two.net.client.session.sealer()->highestReceived();
    std::size_t injected[2] = {0, 0};
    for (int dir = 0; dir < 2; ++dir) {
        const std::uint64_t highest = dir == 0 ? serverHighest : clientHighest;
        for (const Bytes &d : captured[dir]) {
            if (getU48(d.data() + 5) < highest)
                continue;
            Bytes relabelled = d;
            kcpPutU32(relabelled.data(), conv);
            two.net.inject(static_cast<Dir>(dir), relabelled, static_cast<std::uint32_t>(injected[dir] % 50));
            ++injected[dir];
        }
    }
    ASSERT_GT(injected[0], 50u);
    ASSERT_GT(injected[1], 50u);
    const KcpSessionDrops serverBefore = server2.session.drops();
    const KcpSessionDrops clientBefore = two.net.client.session.drops();
    two.net.run(200);
    EXPECT_EQ(server2.session.drops().authentication - serverBefore.authentication, injected[0]);
    EXPECT_EQ(two.net.client.session.drops().authentication - clientBefore.authentication, injected[1]);
    EXPECT_EQ(server2.session.drops().replayed, serverBefore.replayed);
    EXPECT_TRUE(trafficExact(two.net, two.traffic, true)) << "nothing from session 1 got into session 2";
    EXPECT_EQ(server2.stream.size(), two.traffic.up.size());
    EXPECT_EQ(two.net.client.session.state(), KcpSessionState::Connected);

    // And session 2 keeps working.
    const Bytes more = patternBytes(10000, 800);
    two.net.client.outbox = chunked(more, 10000);
    ASSERT_TRUE(two.net.run(5000, [&] { return server2.stream.size() == two.traffic.up.size() + more.size(); }));
}
