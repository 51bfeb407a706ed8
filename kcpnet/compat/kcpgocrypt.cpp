// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpgocrypt.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace kcpnet {
namespace {

// ---- CRC-32/IEEE, slicing by 8 ----

struct CrcTables {
    std::uint32_t t[8][256];
    CrcTables()
    {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
            t[0][i] = c;
        }
        for (int k = 1; k < 8; ++k) {
            for (std::uint32_t i = 0; i < 256; ++i)
                t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
        }
    }
};

const CrcTables &crcTables()
{
    static const CrcTables tables;
    return tables;
}

std::uint32_t loadLe32(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8)
        | (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

void storeLe32(std::uint8_t *p, std::uint32_t v) noexcept
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// kcp-go's fixed initial vector for its CFB routine (crypt.go initialVector).
constexpr std::uint8_t kInitialVector[16] = {167, 115, 79, 156, 18, 172, 27, 1, 164, 21, 242, 193, 252, 120, 230, 107};
// kcp-go's salt for the xor table (crypt.go saltxor).
constexpr char kXorSalt[] = "sH3CIVoF#rWLtJo6";
constexpr std::size_t kXorTableSize = 1500; // kcp-go mtuLimit
constexpr int kXorIterations = 32;

void copyBytes(std::uint8_t *dst, const std::uint8_t *src, std::size_t n) noexcept
{
    if (dst != src && n > 0)
        std::memmove(dst, src, n);
}

// ---- Ciphers ----

class NullCrypt final : public KcpGoCrypt
{
public:
    NullCrypt()
        : KcpGoCrypt("null")
    {}

protected:
    void begin(bool, const std::uint8_t *) override {}
    void update(std::uint8_t *dst, const std::uint8_t *src, std::size_t size) override { copyBytes(dst, src, size); }
};

class XorCrypt final : public KcpGoCrypt
{
public:
    XorCrypt(const std::uint8_t *key, std::size_t keySize)
        : KcpGoCrypt("xor")
        , m_table(kXorTableSize)
    {
        // An empty key is fine for PBKDF2; OpenSSL wants a non-null pointer.
        static const std::uint8_t empty = 0;
        if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char *>(key ? key : &empty), static_cast<int>(keySize),
                              reinterpret_cast<const unsigned char *>(kXorSalt), sizeof kXorSalt - 1, kXorIterations,
                              EVP_sha1(), static_cast<int>(m_table.size()), m_table.data())
            != 1)
            throw std::runtime_error("kcp-go xor: PBKDF2 failed");
    }

protected:
    void begin(bool, const std::uint8_t *) override { m_pos = 0; }
    void update(std::uint8_t *dst, const std::uint8_t *src, std::size_t size) override
    {
        // kcp-go XORs min(len, 1500) bytes; longer datagrams never occur (kcp-go's own limit is 1500).
        std::size_t i = 0;
        for (; i < size && m_pos < kXorTableSize; ++i, ++m_pos)
            dst[i] = src[i] ^ m_table[m_pos];
        copyBytes(dst + i, src + i, size - i);
        m_pos += size - i;
    }

private:
    std::vector<std::uint8_t> m_table;
    std::size_t m_pos = 0;
};

// AES / 3DES in kcp-go's CFB routine, which is plain CFB with full-block feedback (CFB-128 / CFB-64).
class EvpCfbCrypt final : public KcpGoCrypt
{
public:
    EvpCfbCrypt(std::string name, const EVP_CIPHER *cipher, const std::uint8_t *key)
        : KcpGoCrypt(std::move(name))
        , m_enc(EVP_CIPHER_CTX_new())
        , m_dec(EVP_CIPHER_CTX_new())
    {
        if (!m_enc || !m_dec || EVP_EncryptInit_ex(m_enc, cipher, nullptr, key, kInitialVector) != 1
            || EVP_DecryptInit_ex(m_dec, cipher, nullptr, key, kInitialVector) != 1) {
            EVP_CIPHER_CTX_free(m_enc);
            EVP_CIPHER_CTX_free(m_dec);
            throw std::runtime_error("kcp-go " + this->name() + ": OpenSSL cipher setup failed");
        }
    }
    ~EvpCfbCrypt() override
    {
        EVP_CIPHER_CTX_free(m_enc);
        EVP_CIPHER_CTX_free(m_dec);
    }

protected:
    void begin(bool encrypt, const std::uint8_t *) override
    {
        m_ctx = encrypt ? m_enc : m_dec;
        // Same key, fresh IV and stream position for every datagram.
        if (EVP_CipherInit_ex(m_ctx, nullptr, nullptr, nullptr, kInitialVector, encrypt ? 1 : 0) != 1)
            throw std::runtime_error("kcp-go " + name() + ": OpenSSL IV reset failed");
    }
    void update(std::uint8_t *dst, const std::uint8_t *src, std::size_t size) override
    {
        int outLen = 0;
        if (size > 0 && EVP_CipherUpdate(m_ctx, dst, &outLen, src, static_cast<int>(size)) != 1)
            throw std::runtime_error("kcp-go " + name() + ": OpenSSL update failed");
    }

private:
    EVP_CIPHER_CTX *m_enc;
    EVP_CIPHER_CTX *m_dec;
    EVP_CIPHER_CTX *m_ctx = nullptr;
};

// Salsa20/20 (D. J. Bernstein's specification), 256-bit key, 64-bit nonce, 64-bit block counter from 0.
class Salsa20Crypt final : public KcpGoCrypt
{
public:
    explicit Salsa20Crypt(const std::uint8_t *key)
        : KcpGoCrypt("salsa20")
    {
        m_in[0] = 0x61707865;  // "expa"
        m_in[5] = 0x3320646e;  // "nd 3"
        m_in[10] = 0x79622d32; // "2-by"
        m_in[15] = 0x6b206574; // "te k"
        for (int i = 0; i < 4; ++i) {
            m_in[1 + i] = loadLe32(key + 4 * i);
            m_in[11 + i] = loadLe32(key + 16 + 4 * i);
        }
    }

protected:
    void begin(bool, const std::uint8_t *wireNonce) override
    {
        m_in[6] = loadLe32(wireNonce);
        m_in[7] = loadLe32(wireNonce + 4);
        m_pos = 0;
        m_block = ~std::uint64_t(0);
    }
    void update(std::uint8_t *dst, const std::uint8_t *src, std::size_t size) override
    {
        std::size_t i = 0;
        for (; i < size && m_pos < 8; ++i, ++m_pos) // kcp-go leaves the 8 nonce bytes in the clear
            dst[i] = src[i];
        while (i < size) {
            const std::uint64_t k = m_pos - 8;
            const std::uint64_t block = k / 64;
            if (block != m_block)
                generate(block);
            const auto offset = static_cast<std::size_t>(k % 64);
            const std::size_t n = std::min(size - i, 64 - offset);
            for (std::size_t j = 0; j < n; ++j)
                dst[i + j] = src[i + j] ^ m_stream[offset + j];
            i += n;
            m_pos += n;
        }
    }

private:
    static std::uint32_t rotl(std::uint32_t v, int c) noexcept { return (v << c) | (v >> (32 - c)); }
    static void quarter(std::uint32_t &a, std::uint32_t &b, std::uint32_t &c, std::uint32_t &d) noexcept
    {
        b ^= rotl(a + d, 7);
        c ^= rotl(b + a, 9);
        d ^= rotl(c + b, 13);
        a ^= rotl(d + c, 18);
    }
    void generate(std::uint64_t block) noexcept
    {
        m_in[8] = static_cast<std::uint32_t>(block);
        m_in[9] = static_cast<std::uint32_t>(block >> 32);
        std::uint32_t x[16];
        std::memcpy(x, m_in, sizeof x);
        for (int round = 0; round < 10; ++round) {
            // columns
            quarter(x[0], x[4], x[8], x[12]);
            quarter(x[5], x[9], x[13], x[1]);
            quarter(x[10], x[14], x[2], x[6]);
            quarter(x[15], x[3], x[7], x[11]);
            // rows
            quarter(x[0], x[1], x[2], x[3]);
            quarter(x[5], x[6], x[7], x[4]);
            quarter(x[10], x[11], x[8], x[9]);
            quarter(x[15], x[12], x[13], x[14]);
        }
        for (int i = 0; i < 16; ++i)
            storeLe32(m_stream + 4 * i, x[i] + m_in[i]);
        m_block = block;
    }

    std::uint32_t m_in[16] = {};
    std::uint8_t m_stream[64] = {};
    std::uint64_t m_pos = 0;
    std::uint64_t m_block = ~std::uint64_t(0);
};

struct CipherInfo {
    const char *name;
    int keySize; // 0 = any
};

constexpr CipherInfo kCiphers[] = {
    {"null", 0}, {"xor", 0}, {"aes", 32}, {"aes-128", 16}, {"aes-192", 24}, {"3des", 24}, {"salsa20", 32},
};

} // namespace

std::uint32_t crc32Ieee(const std::uint8_t *data, std::size_t size, std::uint32_t crc) noexcept
{
    const CrcTables &t = crcTables();
    crc = ~crc;
    for (; size >= 8; data += 8, size -= 8) {
        const std::uint32_t one = loadLe32(data) ^ crc;
        const std::uint32_t two = loadLe32(data + 4);
        crc = t.t[7][one & 0xFF] ^ t.t[6][(one >> 8) & 0xFF] ^ t.t[5][(one >> 16) & 0xFF] ^ t.t[4][one >> 24]
            ^ t.t[3][two & 0xFF] ^ t.t[2][(two >> 8) & 0xFF] ^ t.t[1][(two >> 16) & 0xFF] ^ t.t[0][two >> 24];
    }
    for (; size > 0; ++data, --size)
        crc = t.t[0][(crc ^ *data) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

// Random nonces, as kcp-go draws them (it encrypts a running seed with a random AES-128 key): here an
// AES-128-CTR keystream under a random key and counter, 256 nonces per refill.
struct KcpGoCrypt::NonceSource {
    EVP_CIPHER_CTX *ctx = nullptr;
    std::array<std::uint8_t, 4096> buffer{};
    std::size_t used = 4096;

    NonceSource()
    {
        std::uint8_t keyIv[32];
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx || RAND_bytes(keyIv, sizeof keyIv) != 1
            || EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, keyIv, keyIv + 16) != 1) {
            EVP_CIPHER_CTX_free(ctx);
            throw std::runtime_error("kcp-go crypt: cannot seed the nonce generator");
        }
    }
    ~NonceSource() { EVP_CIPHER_CTX_free(ctx); }

    void next(std::uint8_t *out)
    {
        if (used + kNonceSize > buffer.size()) {
            static const std::array<std::uint8_t, 4096> zeros{};
            int n = 0;
            if (EVP_EncryptUpdate(ctx, buffer.data(), &n, zeros.data(), static_cast<int>(zeros.size())) != 1)
                throw std::runtime_error("kcp-go crypt: nonce generator failed");
            used = 0;
        }
        std::memcpy(out, buffer.data() + used, kNonceSize);
        used += kNonceSize;
    }
};

KcpGoCrypt::KcpGoCrypt(std::string name)
    : m_name(std::move(name))
{}

KcpGoCrypt::~KcpGoCrypt() = default;

std::vector<std::string> KcpGoCrypt::ciphers()
{
    std::vector<std::string> names;
    for (const CipherInfo &c : kCiphers)
        names.emplace_back(c.name);
    return names;
}

int KcpGoCrypt::keySize(std::string_view cipher)
{
    for (const CipherInfo &c : kCiphers) {
        if (cipher == c.name)
            return c.keySize;
    }
    return -1;
}

std::unique_ptr<KcpGoCrypt> KcpGoCrypt::create(std::string_view cipher, const std::uint8_t *key, std::size_t keyLength,
                                               std::string *error)
{
    if (error)
        error->clear();
    if (cipher == "none")
        return nullptr;
    const int need = keySize(cipher);
    if (need < 0) {
        if (error)
            *error = "unknown kcp-go cipher \"" + std::string(cipher) + "\"";
        return nullptr;
    }
    if (keyLength < static_cast<std::size_t>(need)) {
        if (error)
            *error = "kcp-go cipher " + std::string(cipher) + " needs a key of " + std::to_string(need) + " bytes, got "
                + std::to_string(keyLength);
        return nullptr;
    }
    try {
        if (cipher == "null")
            return std::make_unique<NullCrypt>();
        if (cipher == "xor")
            return std::make_unique<XorCrypt>(key, keyLength);
        if (cipher == "aes")
            return std::make_unique<EvpCfbCrypt>("aes", EVP_aes_256_cfb128(), key);
        if (cipher == "aes-128")
            return std::make_unique<EvpCfbCrypt>("aes-128", EVP_aes_128_cfb128(), key);
        if (cipher == "aes-192")
            return std::make_unique<EvpCfbCrypt>("aes-192", EVP_aes_192_cfb128(), key);
        if (cipher == "3des")
            return std::make_unique<EvpCfbCrypt>("3des", EVP_des_ede3_cfb64(), key);
        if (cipher == "salsa20")
            return std::make_unique<Salsa20Crypt>(key);
    } catch (const std::exception &e) {
        if (error)
            *error = e.what();
        return nullptr;
    }
    return nullptr;
}

std::vector<std::uint8_t> KcpGoCrypt::kcptunKey(std::string_view passphrase)
{
    std::vector<std::uint8_t> key(kKcptunKeySize);
    static const char empty = 0;
    if (PKCS5_PBKDF2_HMAC(passphrase.empty() ? &empty : passphrase.data(), static_cast<int>(passphrase.size()),
                          reinterpret_cast<const unsigned char *>(kKcptunSalt), sizeof kKcptunSalt - 1,
                          kKcptunIterations, EVP_sha1(), static_cast<int>(key.size()), key.data())
        != 1)
        throw std::runtime_error("kcptun key: PBKDF2 failed");
    return key;
}

std::unique_ptr<KcpGoCrypt> KcpGoCrypt::createKcptun(std::string_view kcptunCrypt, std::string_view passphrase,
                                                     std::string *error)
{
    // kcptun's switch (client/main.go, server/main.go): "none" is kcp-go's NoneBlockCrypt (nonce + CRC), and any
    // name it does not know becomes "aes". It supports more ciphers than we do (sm4, tea, xtea, blowfish,
    // twofish, cast5).
    std::string_view name = kcptunCrypt;
    if (name == "none")
        name = "null";
    static const char *const unsupported[] = {"sm4", "tea", "xtea", "blowfish", "twofish", "cast5"};
    for (const char *u : unsupported) {
        if (name == u) {
            if (error)
                *error = "kcptun cipher " + std::string(name) + " is not supported by kcpnet";
            return nullptr;
        }
    }
    if (keySize(name) < 0)
        name = "aes";
    const std::vector<std::uint8_t> key = kcptunKey(passphrase);
    // Each cipher takes the prefix it needs (aes-128: 16 bytes, aes-192 and 3des: 24, the rest all 32).
    return create(name, key, error);
}

void KcpGoCrypt::fillNonce(std::uint8_t *nonce)
{
    if (!m_nonces)
        m_nonces = std::make_unique<NonceSource>();
    m_nonces->next(nonce);
}

void KcpGoCrypt::seal(const std::uint8_t *in, std::size_t size, std::uint8_t *out, const std::uint8_t *nonce)
{
    std::uint8_t header[kOverhead];
    if (nonce)
        std::memcpy(header, nonce, kNonceSize);
    else
        fillNonce(header);
    storeLe32(header + kNonceSize, crc32Ieee(in, size));
    begin(true, header);
    update(out, header, kOverhead);
    update(out + kOverhead, in, size);
    ++m_stats.sealed;
}

std::vector<std::uint8_t> KcpGoCrypt::seal(const std::vector<std::uint8_t> &in)
{
    std::vector<std::uint8_t> out(in.size() + kOverhead);
    seal(in.data(), in.size(), out.data());
    return out;
}

KcpGoCrypt::OpenResult KcpGoCrypt::open(const std::uint8_t *in, std::size_t size, std::uint8_t *out,
                                        std::size_t *payloadSize)
{
    *payloadSize = 0;
    if (size < kOverhead) {
        ++m_stats.tooShort;
        return OpenResult::TooShort;
    }
    std::uint8_t header[kOverhead];
    begin(false, in);
    update(header, in, kOverhead);
    update(out, in + kOverhead, size - kOverhead);
    if (crc32Ieee(out, size - kOverhead) != loadLe32(header + kNonceSize)) {
        ++m_stats.badChecksum;
        return OpenResult::BadChecksum;
    }
    *payloadSize = size - kOverhead;
    ++m_stats.opened;
    return OpenResult::Ok;
}

std::vector<std::uint8_t> KcpGoCrypt::open(const std::vector<std::uint8_t> &in, OpenResult *result)
{
    std::vector<std::uint8_t> out(in.size());
    std::size_t n = 0;
    const OpenResult r = open(in.data(), in.size(), out.data(), &n);
    if (result)
        *result = r;
    out.resize(n);
    return out;
}

void KcpGoCrypt::encryptRaw(std::uint8_t *dst, const std::uint8_t *src, std::size_t size)
{
    std::uint8_t clear[kNonceSize] = {};
    std::memcpy(clear, src, std::min(size, kNonceSize));
    begin(true, clear);
    update(dst, src, size);
}

void KcpGoCrypt::decryptRaw(std::uint8_t *dst, const std::uint8_t *src, std::size_t size)
{
    std::uint8_t clear[kNonceSize] = {};
    std::memcpy(clear, src, std::min(size, kNonceSize));
    begin(false, clear);
    update(dst, src, size);
}

} // namespace kcpnet
