// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcp-go v5's packet encryption (crypt.go, sess.go output/packetInput), byte-compatible. Qt-free; OpenSSL libcrypto.
//
// Wire format of one datagram, before encryption:
//
//   nonce (16 random bytes) | crc32 u32 LE | payload        crc32 = CRC-32/IEEE of the payload only
//
// and then the WHOLE datagram (nonce and CRC included) goes through the cipher:
//  - block ciphers (aes, aes-128, aes-192, 3des): CFB with full-block feedback and a fixed initial vector (kcp-go's
//    initialVector), the last partial block XORed with the keystream: exactly CFB-128 (CFB-64 for 3DES), so OpenSSL's
//    EVP CFB modes are used. The random nonce is the first plaintext block, so it acts as the per-packet IV.
//  - salsa20: Salsa20/20 keyed with the 32-byte key, the datagram's first 8 bytes (nonce) as the Salsa20 nonce and
//    left in the clear, bytes 8.. XORed with the keystream (block counter from 0).
//  - xor ("simple xor"): the datagram XORed with a 1500-byte table, PBKDF2-HMAC-SHA1(key, "sH3CIVoF#rWLtJo6",
//    32 iterations, 1500 bytes). No real protection.
//  - null (kcp-go NewNoneBlockCrypt; kcptun calls it "none"): nonce + CRC in the clear, no cipher.
//  - "none" here means no layer at all (kcp-go with block == nil): create() returns nullptr for it.
// There is no authentication: the CRC only catches a wrong key or cipher (the decrypted CRC does not match) and
// corruption. kcp-go drops such a datagram silently (counting InCsumErrors), and a datagram shorter than 20
// bytes is dropped without a count; open() reports both.
//
// Keys: kcp-go's constructors take raw keys (aes: 32 bytes, aes-192: 24, aes-128: 16, 3des: 24, salsa20: 32;
// xor and null: any). kcptun derives them from a passphrase: PBKDF2-HMAC-SHA1(passphrase, "kcp-go", 4096
// iterations, 32 bytes), then hands each cipher a prefix of that (aes-128 the first 16 bytes, aes-192 24, 3des 24,
// aes/salsa20/xor all 32); its "none" is our "null" and an unknown name falls back to "aes"
// (createKcptun() does all of that).
//
// Not thread-safe: one object per session and direction pair, used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kcpnet {

// CRC-32/IEEE (reflected 0xEDB88320, as Go's crc32.ChecksumIEEE and zlib), continuing from `crc`.
std::uint32_t crc32Ieee(const std::uint8_t *data, std::size_t size, std::uint32_t crc = 0) noexcept;

class KcpGoCrypt
{
public:
    static constexpr std::size_t kNonceSize = 16;
    static constexpr std::size_t kCrcSize = 4;
    static constexpr std::size_t kOverhead = kNonceSize + kCrcSize; // kcp-go cryptHeaderSize
    static constexpr char kKcptunSalt[] = "kcp-go";
    static constexpr int kKcptunIterations = 4096;
    static constexpr std::size_t kKcptunKeySize = 32;

    enum class OpenResult {
        Ok,
        TooShort,    // fewer than 20 bytes
        BadChecksum, // CRC mismatch after decryption: wrong key or cipher, or a corrupted datagram
    };

    struct Stats {
        std::uint64_t sealed = 0;
        std::uint64_t opened = 0;
        std::uint64_t tooShort = 0;
        std::uint64_t badChecksum = 0;
    };

    // The cipher names create() accepts (besides "none").
    static std::vector<std::string> ciphers();
    // Key bytes the cipher uses (a longer key is cut, as kcp-go's callers do; a shorter one is an error);
    // 0 = any length (xor, null). -1 for an unknown name.
    static int keySize(std::string_view cipher);
    // A cipher with a raw key. Returns nullptr for "none" (no layer) and, with *error set, for an unknown name or
    // a key that is too short.
    static std::unique_ptr<KcpGoCrypt> create(std::string_view cipher, const std::uint8_t *key, std::size_t keySize,
                                              std::string *error = nullptr);
    static std::unique_ptr<KcpGoCrypt> create(std::string_view cipher, const std::vector<std::uint8_t> &key,
                                              std::string *error = nullptr)
    {
        return create(cipher, key.data(), key.size(), error);
    }
    // kcptun's key: PBKDF2-HMAC-SHA1(passphrase, "kcp-go", 4096, 32).
    static std::vector<std::uint8_t> kcptunKey(std::string_view passphrase);
    // kcptun's --crypt NAME --key PASSPHRASE: the same cipher and key as kcptun-client/-server would use.
    static std::unique_ptr<KcpGoCrypt> createKcptun(std::string_view kcptunCrypt, std::string_view passphrase,
                                                    std::string *error = nullptr);

    virtual ~KcpGoCrypt();
    KcpGoCrypt(const KcpGoCrypt &) = delete;
    KcpGoCrypt &operator=(const KcpGoCrypt &) = delete;

    const std::string &name() const noexcept { return m_name; }
    std::size_t overhead() const noexcept { return kOverhead; }

    // Writes size + 20 bytes to `out` (which must not overlap `in`): nonce, CRC, payload, all encrypted.
    // `nonce` (16 bytes) is for tests; by default a fresh random one is drawn.
    void seal(const std::uint8_t *in, std::size_t size, std::uint8_t *out, const std::uint8_t *nonce = nullptr);
    std::vector<std::uint8_t> seal(const std::vector<std::uint8_t> &in);
    // Decrypts and checks a received datagram; on Ok writes its size - 20 payload bytes to `out` (no overlap
    // with `in`) and sets *payloadSize. On failure *payloadSize is 0 and nothing meaningful is in `out`.
    OpenResult open(const std::uint8_t *in, std::size_t size, std::uint8_t *out, std::size_t *payloadSize);
    // Convenience: the payload, or nothing (result in *result when given).
    std::vector<std::uint8_t> open(const std::vector<std::uint8_t> &in, OpenResult *result = nullptr);

    // kcp-go's BlockCrypt.Encrypt / Decrypt on a whole buffer, header included (tests). dst may equal src.
    void encryptRaw(std::uint8_t *dst, const std::uint8_t *src, std::size_t size);
    void decryptRaw(std::uint8_t *dst, const std::uint8_t *src, std::size_t size);

    const Stats &stats() const noexcept { return m_stats; }

protected:
    explicit KcpGoCrypt(std::string name);

    // A cipher transforms one datagram as a stream, in pieces: begin() with the datagram's first 16 bytes as they
    // are on the wire where the cipher leaves them in the clear (only salsa20 reads them; for encryption they
    // are the plaintext nonce, which salsa20 keeps), then update() over consecutive ranges.
    virtual void begin(bool encrypt, const std::uint8_t *wireNonce) = 0;
    virtual void update(std::uint8_t *dst, const std::uint8_t *src, std::size_t size) = 0;

private:
    void fillNonce(std::uint8_t *nonce);

    std::string m_name;
    Stats m_stats;
    struct NonceSource;
    std::unique_ptr<NonceSource> m_nonces;
};

} // namespace kcpnet
