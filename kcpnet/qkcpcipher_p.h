// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Bridges between QKcpCipher (public, Qt types) and kcpnet::KcpAead (the Qt-free session layer). Not API.
#ifndef QKCPCIPHER_P_H
#define QKCPCIPHER_P_H

#include "qkcpcipher.h"

#include "kcpcrypto.h"

#include <memory>

// A built-in cipher seen through the public class.
class QKcpBuiltinCipher final : public QKcpCipher
{
public:
    QKcpBuiltinCipher(kcpnet::KcpCipherId id, std::unique_ptr<kcpnet::KcpAead> aead);
    QByteArray name() const override;
    int tagSize() const override;
    QKcpCipher *create() const override;
    bool setKey(QByteArrayView key) override;
    bool seal(QByteArrayView nonce, QByteArrayView associatedData, QByteArrayView plaintext, char *out) override;
    bool open(QByteArrayView nonce, QByteArrayView associatedData, QByteArrayView ciphertext, char *out) override;

private:
    kcpnet::KcpCipherId m_id;
    std::unique_ptr<kcpnet::KcpAead> m_aead;
};

// An application's cipher seen through the session layer's interface (owns the instance).
class QKcpCipherAead final : public kcpnet::KcpAead
{
public:
    explicit QKcpCipherAead(QKcpCipher *cipher);
    std::size_t tagSize() const noexcept override { return m_tagSize; }
    bool setKey(const std::uint8_t *key) override;
    bool seal(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
              std::size_t size, std::uint8_t *out) override;
    bool open(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
              std::size_t size, std::uint8_t *out) override;

private:
    std::unique_ptr<QKcpCipher> m_cipher;
    std::size_t m_tagSize;
};

#endif // QKCPCIPHER_P_H
