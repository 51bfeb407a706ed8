// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpcrypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kcpnet {

namespace {

constexpr std::size_t kEvpTagSize = 16;

// One OpenSSL AEAD, keyed once per epoch; every packet only sets its nonce (and, to open, the expected tag).
// There is one seal or open per datagram, so the fixed cost of a call counts as much as the bulk of it
// (benchmarks/crypto): the cipher is fetched once (EVP_CIPHER_fetch), and the tag goes through a prebuilt
// OSSL_PARAM (EVP_CIPHER_CTX_get_params, or with the nonce's init) instead of EVP_CIPHER_CTX_ctrl, which converts
// each call into such a parameter anyway. Only documented OpenSSL 3 calls.
class EvpAead final : public KcpAead
{
public:
    explicit EvpAead(EVP_CIPHER *cipher)
        : m_cipher(cipher)
        , m_enc(EVP_CIPHER_CTX_new())
        , m_dec(EVP_CIPHER_CTX_new())
    {
        if (m_cipher && EVP_CIPHER_up_ref(m_cipher) != 1)
            m_cipher = nullptr;
        // Built once; each call only points them at its buffers.
        m_sealTag[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, nullptr, kEvpTagSize);
        m_sealTag[1] = OSSL_PARAM_construct_end();
        m_openTag[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, nullptr, kEvpTagSize);
        m_openTag[1] = OSSL_PARAM_construct_end();
    }
    ~EvpAead() override
    {
        EVP_CIPHER_CTX_free(m_enc);
        EVP_CIPHER_CTX_free(m_dec);
        EVP_CIPHER_free(m_cipher);
    }
    EvpAead(const EvpAead &) = delete;
    EvpAead &operator=(const EvpAead &) = delete;

    bool valid() const { return m_cipher && m_enc && m_dec; }
    std::size_t tagSize() const noexcept override { return kEvpTagSize; }

    bool setKey(const std::uint8_t *key) override
    {
        m_keyed = EVP_EncryptInit_ex2(m_enc, m_cipher, key, nullptr, nullptr) == 1
            && EVP_DecryptInit_ex2(m_dec, m_cipher, key, nullptr, nullptr) == 1;
        return m_keyed;
    }

    bool seal(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
              std::size_t size, std::uint8_t *out) override
    {
        if (!m_keyed)
            return false;
        int len = 0;
        int fin = 0;
        m_sealTag[0].data = out + size;
        return EVP_EncryptInit_ex2(m_enc, nullptr, nullptr, nonce, nullptr) == 1
            && EVP_EncryptUpdate(m_enc, nullptr, &len, ad, static_cast<int>(adSize)) == 1
            && EVP_EncryptUpdate(m_enc, out, &len, in, static_cast<int>(size)) == 1
            && EVP_EncryptFinal_ex(m_enc, out + len, &fin) == 1 && EVP_CIPHER_CTX_get_params(m_enc, m_sealTag) == 1;
    }

    bool open(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
              std::size_t size, std::uint8_t *out) override
    {
        if (!m_keyed || size < kEvpTagSize)
            return false;
        const std::size_t body = size - kEvpTagSize;
        std::uint8_t tag[kEvpTagSize];
        std::memcpy(tag, in + body, sizeof tag); // `out` may overlap `in`
        m_openTag[0].data = tag;
        int len = 0;
        int fin = 0;
        return EVP_DecryptInit_ex2(m_dec, nullptr, nullptr, nonce, m_openTag) == 1
            && EVP_DecryptUpdate(m_dec, nullptr, &len, ad, static_cast<int>(adSize)) == 1
            && EVP_DecryptUpdate(m_dec, out, &len, in, static_cast<int>(body)) == 1
            && EVP_DecryptFinal_ex(m_dec, out + len, &fin) == 1;
    }

private:
    EVP_CIPHER *m_cipher;
    EVP_CIPHER_CTX *m_enc;
    EVP_CIPHER_CTX *m_dec;
    bool m_keyed = false;
    OSSL_PARAM m_sealTag[2];
    OSSL_PARAM m_openTag[2];
};

// HMAC-SHA256 written out over the SHA-256 digest (RFC 2104), so no deprecated HMAC_CTX and no provider fetch
// per call.
class Sha256
{
public:
    Sha256()
        : m_ctx(EVP_MD_CTX_new())
    {
        EVP_DigestInit_ex(m_ctx, EVP_sha256(), nullptr);
    }
    ~Sha256() { EVP_MD_CTX_free(m_ctx); }
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;
    void add(const std::uint8_t *p, std::size_t n)
    {
        if (p && n)
            EVP_DigestUpdate(m_ctx, p, n);
    }
    void finish(std::uint8_t out[32])
    {
        unsigned int len = 32;
        EVP_DigestFinal_ex(m_ctx, out, &len);
    }

private:
    EVP_MD_CTX *m_ctx;
};

} // namespace

const char *kcpCipherName(KcpCipherId id) noexcept
{
    switch (id) {
    case KcpCipherId::Aes256Gcm:
        return "AES-256-GCM";
    case KcpCipherId::ChaCha20Poly1305:
        return "ChaCha20-Poly1305";
    case KcpCipherId::Custom:
        return "custom";
    }
    return "unknown";
}

std::unique_ptr<KcpAead> kcpMakeAead(KcpCipherId id)
{
    const char *name = nullptr;
    switch (id) {
    case KcpCipherId::Aes256Gcm:
        name = "AES-256-GCM";
        break;
    case KcpCipherId::ChaCha20Poly1305:
        name = "ChaCha20-Poly1305";
        break;
    case KcpCipherId::Custom:
        return nullptr;
    }
    if (!name)
        return nullptr;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
    auto aead = std::make_unique<EvpAead>(cipher);
    EVP_CIPHER_free(cipher); // the AEAD holds its own reference
    if (!aead->valid())
        return nullptr;
    return aead;
}

void kcpHmacSha256(const std::uint8_t *key, std::size_t keySize, const std::uint8_t *a, std::size_t aSize,
                   const std::uint8_t *b, std::size_t bSize, const std::uint8_t *c, std::size_t cSize,
                   std::uint8_t out[32])
{
    std::uint8_t block[64] = {};
    if (keySize > sizeof block) {
        Sha256 h;
        h.add(key, keySize);
        h.finish(block);
    } else if (keySize) {
        std::memcpy(block, key, keySize);
    }
    std::uint8_t pad[64];
    for (std::size_t i = 0; i < sizeof pad; ++i)
        pad[i] = block[i] ^ 0x36;
    std::uint8_t inner[32];
    {
        Sha256 h;
        h.add(pad, sizeof pad);
        h.add(a, aSize);
        h.add(b, bSize);
        h.add(c, cSize);
        h.finish(inner);
    }
    for (std::size_t i = 0; i < sizeof pad; ++i)
        pad[i] = block[i] ^ 0x5c;
    Sha256 h;
    h.add(pad, sizeof pad);
    h.add(inner, sizeof inner);
    h.finish(out);
    kcpSecureZero(block, sizeof block);
    kcpSecureZero(pad, sizeof pad);
}

void kcpHkdfExtract(const std::uint8_t *salt, std::size_t saltSize, const std::uint8_t *ikm, std::size_t ikmSize,
                    std::uint8_t prk[32])
{
    kcpHmacSha256(salt, saltSize, ikm, ikmSize, nullptr, 0, nullptr, 0, prk);
}

void kcpHkdfExpand(const std::uint8_t prk[32], const char *info, const std::uint8_t *context, std::size_t contextSize,
                   std::uint8_t *out, std::size_t size)
{
    // T(i) = HMAC(prk, T(i-1) | info | i), info = label | context
    std::uint8_t t[32];
    std::size_t tSize = 0;
    std::vector<std::uint8_t> infoBytes(info, info + std::strlen(info));
    if (context && contextSize)
        infoBytes.insert(infoBytes.end(), context, context + contextSize);
    for (std::uint8_t counter = 1; size > 0; ++counter) {
        kcpHmacSha256(prk, 32, t, tSize, infoBytes.data(), infoBytes.size(), &counter, 1, t);
        tSize = 32;
        const std::size_t n = size < 32 ? size : 32;
        std::memcpy(out, t, n);
        out += n;
        size -= n;
    }
    kcpSecureZero(t, sizeof t);
}

std::vector<std::uint8_t> kcpKeyFromPassphrase(const std::string &passphrase, const std::string &salt, int iterations)
{
    std::vector<std::uint8_t> key(32);
    if (PKCS5_PBKDF2_HMAC(passphrase.data(), static_cast<int>(passphrase.size()),
                          reinterpret_cast<const unsigned char *>(salt.data()), static_cast<int>(salt.size()),
                          iterations, EVP_sha256(), static_cast<int>(key.size()), key.data())
        != 1)
        key.clear();
    return key;
}

void kcpRandomBytes(std::uint8_t *out, std::size_t size)
{
    if (RAND_bytes(out, static_cast<int>(size)) != 1) {
        std::fputs("kcpnet: the OpenSSL random generator failed; refusing to continue without a secure source\n",
                   stderr);
        std::abort();
    }
}

bool kcpSecureEqual(const std::uint8_t *a, const std::uint8_t *b, std::size_t size) noexcept
{
    return CRYPTO_memcmp(a, b, size) == 0;
}

void kcpSecureZero(void *p, std::size_t size) noexcept
{
    OPENSSL_cleanse(p, size);
}

} // namespace kcpnet
