// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpcipher_p.h"

#include <cstring>
#include <vector>

QKcpCipher::~QKcpCipher() = default;

QKcpCipher *QKcpCipher::createAes256Gcm()
{
    std::unique_ptr<kcpnet::KcpAead> aead = kcpnet::kcpMakeAead(kcpnet::KcpCipherId::Aes256Gcm);
    return aead ? new QKcpBuiltinCipher(kcpnet::KcpCipherId::Aes256Gcm, std::move(aead)) : nullptr;
}

QKcpCipher *QKcpCipher::createChaCha20Poly1305()
{
    std::unique_ptr<kcpnet::KcpAead> aead = kcpnet::kcpMakeAead(kcpnet::KcpCipherId::ChaCha20Poly1305);
    return aead ? new QKcpBuiltinCipher(kcpnet::KcpCipherId::ChaCha20Poly1305, std::move(aead)) : nullptr;
}

QKcpBuiltinCipher::QKcpBuiltinCipher(kcpnet::KcpCipherId id, std::unique_ptr<kcpnet::KcpAead> aead)
    : m_id(id)
    , m_aead(std::move(aead))
{
}

QByteArray QKcpBuiltinCipher::name() const
{
    return QByteArray(kcpnet::kcpCipherName(m_id));
}

int QKcpBuiltinCipher::tagSize() const
{
    return static_cast<int>(m_aead->tagSize());
}

QKcpCipher *QKcpBuiltinCipher::create() const
{
    std::unique_ptr<kcpnet::KcpAead> aead = kcpnet::kcpMakeAead(m_id);
    return aead ? new QKcpBuiltinCipher(m_id, std::move(aead)) : nullptr;
}

bool QKcpBuiltinCipher::setKey(QByteArrayView key)
{
    return key.size() == qsizetype(kcpnet::kAeadKeySize)
        && m_aead->setKey(reinterpret_cast<const std::uint8_t *>(key.data()));
}

bool QKcpBuiltinCipher::seal(QByteArrayView nonce, QByteArrayView ad, QByteArrayView plaintext, char *out)
{
    if (nonce.size() != qsizetype(kcpnet::kAeadNonceSize))
        return false;
    return m_aead->seal(reinterpret_cast<const std::uint8_t *>(nonce.data()),
                        reinterpret_cast<const std::uint8_t *>(ad.data()), std::size_t(ad.size()),
                        reinterpret_cast<const std::uint8_t *>(plaintext.data()), std::size_t(plaintext.size()),
                        reinterpret_cast<std::uint8_t *>(out));
}

bool QKcpBuiltinCipher::open(QByteArrayView nonce, QByteArrayView ad, QByteArrayView ciphertext, char *out)
{
    if (nonce.size() != qsizetype(kcpnet::kAeadNonceSize))
        return false;
    return m_aead->open(reinterpret_cast<const std::uint8_t *>(nonce.data()),
                        reinterpret_cast<const std::uint8_t *>(ad.data()), std::size_t(ad.size()),
                        reinterpret_cast<const std::uint8_t *>(ciphertext.data()), std::size_t(ciphertext.size()),
                        reinterpret_cast<std::uint8_t *>(out));
}

QKcpCipherAead::QKcpCipherAead(QKcpCipher *cipher)
    : m_cipher(cipher)
    , m_tagSize(cipher ? std::size_t(qBound(0, cipher->tagSize(), int(kcpnet::kAeadMaxTagSize + 1))) : 0)
{
}

bool QKcpCipherAead::setKey(const std::uint8_t *key)
{
    return m_cipher
        && m_cipher->setKey(QByteArrayView(reinterpret_cast<const char *>(key), qsizetype(kcpnet::kAeadKeySize)));
}

bool QKcpCipherAead::seal(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize,
                          const std::uint8_t *in, std::size_t size, std::uint8_t *out)
{
    if (!m_cipher)
        return false;
    const QByteArrayView n(reinterpret_cast<const char *>(nonce), qsizetype(kcpnet::kAeadNonceSize));
    const QByteArrayView a(reinterpret_cast<const char *>(ad), qsizetype(adSize));
    if (in != out)
        return m_cipher->seal(n, a, QByteArrayView(reinterpret_cast<const char *>(in), qsizetype(size)),
                              reinterpret_cast<char *>(out));
    // The public contract promises non-overlapping buffers.
    const std::vector<std::uint8_t> copy(in, in + size);
    return m_cipher->seal(n, a, QByteArrayView(reinterpret_cast<const char *>(copy.data()), qsizetype(size)),
                          reinterpret_cast<char *>(out));
}

bool QKcpCipherAead::open(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize,
                          const std::uint8_t *in, std::size_t size, std::uint8_t *out)
{
    if (!m_cipher || size < m_tagSize)
        return false;
    const QByteArrayView n(reinterpret_cast<const char *>(nonce), qsizetype(kcpnet::kAeadNonceSize));
    const QByteArrayView a(reinterpret_cast<const char *>(ad), qsizetype(adSize));
    if (in != out)
        return m_cipher->open(n, a, QByteArrayView(reinterpret_cast<const char *>(in), qsizetype(size)),
                              reinterpret_cast<char *>(out));
    const std::vector<std::uint8_t> copy(in, in + size);
    return m_cipher->open(n, a, QByteArrayView(reinterpret_cast<const char *>(copy.data()), qsizetype(size)),
                          reinterpret_cast<char *>(out));
}
