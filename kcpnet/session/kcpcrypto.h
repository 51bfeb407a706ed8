// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Cryptographic primitives of the session protocol's pre-shared-key mode, on OpenSSL libcrypto (EVP):
//  - KcpAead: an authenticated cipher with a 32-byte key and a 12-byte nonce (AES-256-GCM, ChaCha20-Poly1305, or
//    one the application brings, see QKcpCipher);
//  - HMAC-SHA256, HKDF-SHA256 (RFC 5869), PBKDF2-HMAC-SHA256 for passphrases, and the OS random source.
// Qt-free. The key schedule that uses them is in kcpsealer.h and docs/PROTOCOL.md ("Pre-shared-key mode").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kcpnet {

constexpr std::size_t kAeadKeySize = 32;
constexpr std::size_t kAeadNonceSize = 12;
constexpr std::size_t kAeadMaxTagSize = 16;

// Cipher identifiers carried in the handshake.
enum class KcpCipherId : std::uint8_t {
    Aes256Gcm = 1,
    ChaCha20Poly1305 = 2,
    Custom = 0x80, // the application's own (both ends must bring the same one; its name is bound into the keys)
};

const char *kcpCipherName(KcpCipherId id) noexcept;

class KcpAead
{
public:
    virtual ~KcpAead() = default;
    // Bytes seal() appends (the authentication tag), at most kAeadMaxTagSize.
    virtual std::size_t tagSize() const noexcept = 0;
    // Installs a fresh 32-byte key. Returns false when the cipher cannot be set up.
    virtual bool setKey(const std::uint8_t *key) = 0;
    // out[0 .. size + tagSize()) = ciphertext and tag of in[0..size). `out` may equal `in`.
    virtual bool seal(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
                      std::size_t size, std::uint8_t *out) = 0;
    // in[0..size) is ciphertext and tag; out[0 .. size - tagSize()) receives the plaintext. False when the tag does
    // not verify (nothing in `out` may then be used). `out` may equal `in`.
    virtual bool open(const std::uint8_t *nonce, const std::uint8_t *ad, std::size_t adSize, const std::uint8_t *in,
                      std::size_t size, std::uint8_t *out) = 0;
};

// A built-in AEAD (OpenSSL EVP); nullptr for Custom or when the cipher is not available.
std::unique_ptr<KcpAead> kcpMakeAead(KcpCipherId id);

// HMAC-SHA256 of the concatenation of up to three parts (null parts are skipped).
void kcpHmacSha256(const std::uint8_t *key, std::size_t keySize, const std::uint8_t *a, std::size_t aSize,
                   const std::uint8_t *b, std::size_t bSize, const std::uint8_t *c, std::size_t cSize,
                   std::uint8_t out[32]);
// HKDF-SHA256 (RFC 5869): Extract(salt, ikm) then Expand(prk, info, size). size <= 255 * 32.
void kcpHkdfExtract(const std::uint8_t *salt, std::size_t saltSize, const std::uint8_t *ikm, std::size_t ikmSize,
                    std::uint8_t prk[32]);
void kcpHkdfExpand(const std::uint8_t prk[32], const char *info, const std::uint8_t *context, std::size_t contextSize,
                   std::uint8_t *out, std::size_t size);
// PBKDF2-HMAC-SHA256 of a passphrase with a fixed, public salt: a 32-byte key. Slow on purpose.
std::vector<std::uint8_t> kcpKeyFromPassphrase(const std::string &passphrase, const std::string &salt,
                                               int iterations);
// Cryptographically secure random bytes (OpenSSL's RAND_bytes; aborts the process if the generator fails,
// as no key or nonce may ever come from a broken source).
void kcpRandomBytes(std::uint8_t *out, std::size_t size);
// Constant-time comparison.
bool kcpSecureEqual(const std::uint8_t *a, const std::uint8_t *b, std::size_t size) noexcept;
// Overwrites memory that held key material.
void kcpSecureZero(void *p, std::size_t size) noexcept;

} // namespace kcpnet
