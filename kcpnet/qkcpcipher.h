// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPCIPHER_H
#define QKCPCIPHER_H

#include "qkcpnetglobal.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qbytearrayview.h>

// The packet protection of the pre-shared-key mode (QKcpConfig::setPreSharedKey): an authenticated cipher
// (AEAD) with a 32-byte key and a 12-byte nonce. kcpnet runs everything around it: the authenticated handshake,
// key derivation per session, direction and key epoch (HKDF-SHA256), unique nonces from packet numbers, and the
// replay window. The built-in ciphers (AES-256-GCM, ChaCha20-Poly1305, OpenSSL) implement this class; bring your
// own (a hardware engine, a national standard, a cipher your backend mandates) with
// QKcpConfig::setCustomCipher(). See docs/SECURITY.md.
//
// One instance protects one direction of one session and is used from that session's thread only.
class Q_KCPNET_EXPORT QKcpCipher
{
public:
    QKcpCipher() = default;
    virtual ~QKcpCipher();

    // The algorithm's name. Both ends must use the same cipher: the name is bound into the session keys.
    virtual QByteArray name() const = 0;
    // Bytes seal() appends to every datagram (its authentication tag): 0..16. A cipher without authentication
    // (tag size 0) gives up kcpnet's protection against forged and tampered datagrams: see docs/SECURITY.md.
    virtual int tagSize() const = 0;
    // A new instance of the same algorithm, not yet keyed; the caller owns it.
    virtual QKcpCipher *create() const = 0;

    // Installs a 32-byte key. Returns false if the cipher cannot use it.
    virtual bool setKey(QByteArrayView key) = 0;
    // Writes plaintext.size() + tagSize() bytes to `out`: the encrypted plaintext and a tag over it and over
    // associatedData. `nonce` is 12 bytes and never repeats under one key. `out` does not overlap the inputs.
    virtual bool seal(QByteArrayView nonce, QByteArrayView associatedData, QByteArrayView plaintext, char *out) = 0;
    // The inverse: writes ciphertext.size() - tagSize() bytes to `out`, or returns false when the data or the
    // associated data is not authentic (then nothing written may be used).
    virtual bool open(QByteArrayView nonce, QByteArrayView associatedData, QByteArrayView ciphertext, char *out) = 0;

    // The built-in ciphers (OpenSSL EVP). nullptr if OpenSSL lacks them. The caller owns the result.
    static QKcpCipher *createAes256Gcm();
    static QKcpCipher *createChaCha20Poly1305();

private:
    Q_DISABLE_COPY(QKcpCipher)
};

#endif // QKCPCIPHER_H
