// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The kcpnet session protocol's datagrams (version 1). Specified in docs/PROTOCOL.md, "Session protocol".
//
// Every session datagram starts with conv (u32 LE) and a type byte, and ends with a CRC32C (u32 LE) of all
// bytes before it. Types 81..84 are KCP commands: the datagram (without the trailer) is one or more plain KCP
// segments. Types 0xA0 and up are session control packets. Multi-byte fields are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kcpnet {

constexpr std::uint8_t kSessionVersion = 1;
constexpr std::size_t kSessionTrailerSize = 4;    // CRC32C
constexpr std::size_t kSessionHelloSize = 64;     // HELLO is padded so no answer is ever larger
constexpr std::uint32_t kSessionMagic = 0x4e50434bu; // "KCPN" little-endian

enum class SessionPacketType : std::uint8_t {
    Hello = 0xA1,     // client -> server: conv 0, magic, version, flags, client nonce, padding
    Accept = 0xA2,    // server -> client: assigned conv, nonce echo, cookie, server timers
    Confirm = 0xA3,   // client -> server: conv, nonce, cookie: creates the session on the server
    Confirmed = 0xA4, // server -> client: the session exists
    Reject = 0xA5,    // server -> client: HELLO/CONFIRM refused, with a reason
    Ping = 0xB1,      // keepalive probe, carries the sender's clock
    Pong = 0xB2,      // keepalive answer, echoes the clock
    Fin = 0xC1,       // all my data was acknowledged; I am closing
    FinAck = 0xC2,    // FIN received
    Reset = 0xC3,     // the session is gone (abort, unknown conv, error), with a reason
    Sealed = 0xD1,    // pre-shared-key mode: an encrypted and authenticated session datagram (kcpsealer.h)
};

// HELLO / ACCEPT flags
constexpr std::uint8_t kSessionFlagStream = 0x01; // stream mode (else message mode)
constexpr std::uint8_t kSessionFlagSecure = 0x02; // pre-shared-key mode: authenticated handshake, sealed datagrams

// Pre-shared-key mode: sizes of the handshake fields it adds.
constexpr std::size_t kSessionSecureRandomSize = 16;
constexpr std::size_t kSessionSecureMacSize = 16;

enum class SessionRejectReason : std::uint8_t {
    Version = 1,    // unsupported protocol version
    Mode = 2,       // stream/message mode differs from the server's
    Refused = 3,    // the server refuses connections (closed, paused, cookie expired, conv collision)
    Authentication = 4, // pre-shared-key mode: the HELLO's MAC did not verify (the keys differ)
    Security = 5,   // one side uses a pre-shared key (or certificates: DTLS) and the other does not
    Cipher = 6,     // the server does not offer the cipher the client asked for (for a custom cipher: not under
                    // the client's name, see sessionCipherNameMac())
};

enum class SessionResetReason : std::uint8_t {
    Abort = 1,       // the peer aborted
    UnknownConv = 2, // the receiver has no such session (it restarted, or timed out)
    Timeout = 3,     // the peer gave up on us
    Protocol = 4,    // the peer saw a protocol violation
    Replaced = 5,    // a new handshake from the same address replaced this session
};

// The optional pre-shared-key fields are used when flags has kSessionFlagSecure. Encoders then compute the MAC
// with the handshake key they are given; decoders only parse it (verify with sessionMacValid()).
struct SessionHello {
    std::uint8_t version = kSessionVersion;
    std::uint8_t flags = 0;
    std::uint64_t nonce = 0;
    std::uint8_t cipher = 0;
    std::uint8_t random[kSessionSecureRandomSize] {};
    // Custom cipher only (zero otherwise): proves the cipher's name under the handshake key (sessionCipherNameMac()).
    std::uint8_t cipherNameMac[kSessionSecureMacSize] {};
};

struct SessionAccept {
    std::uint32_t conv = 0;
    std::uint8_t version = kSessionVersion;
    std::uint8_t flags = 0;
    std::uint64_t nonce = 0;
    std::uint32_t issued = 0; // server clock (ms, wrapping) when the cookie was made
    std::uint64_t cookie = 0;
    std::uint32_t peerTimeoutMs = 0; // the server declares a client dead after this much silence
    std::uint32_t keepaliveMs = 0;   // the server's keepalive interval
    std::uint8_t cipher = 0;          // secure: the cipher the server agreed to
    std::uint8_t serverRandom[kSessionSecureRandomSize] {};
};

struct SessionConfirm {
    std::uint32_t conv = 0;
    std::uint64_t nonce = 0;
    std::uint32_t issued = 0;
    std::uint64_t cookie = 0;
    bool secure = false;
    std::uint8_t cipher = 0;
    std::uint8_t clientRandom[kSessionSecureRandomSize] {};
    std::uint8_t serverRandom[kSessionSecureRandomSize] {};
};

struct SessionReject {
    std::uint8_t reason = 0;
    std::uint8_t version = kSessionVersion; // highest version the server speaks
    std::uint64_t nonce = 0;
};

// Sizes of the encoded packets, trailer included.
constexpr std::size_t kSessionAcceptSize = 4 + 1 + 1 + 1 + 2 + 8 + 4 + 8 + 4 + 4 + kSessionTrailerSize; // 41
constexpr std::size_t kSessionConfirmSize = 4 + 1 + 3 + 8 + 4 + 8 + kSessionTrailerSize;                // 32
constexpr std::size_t kSessionRejectSize = 4 + 1 + 1 + 1 + 8 + kSessionTrailerSize;                      // 19
constexpr std::size_t kSessionBareSize = 4 + 1 + kSessionTrailerSize;                                    // 9
constexpr std::size_t kSessionPingSize = 4 + 1 + 4 + kSessionTrailerSize;                                // 13
constexpr std::size_t kSessionResetSize = 4 + 1 + 1 + kSessionTrailerSize;                               // 10
// Pre-shared-key mode (flag kSessionFlagSecure): the handshake packets carry a cipher id, randoms and a MAC.
constexpr std::size_t kSessionSecureHelloSize = 96;
constexpr std::size_t kSessionSecureAcceptSize = kSessionAcceptSize + 1 + 16 + 16;   // 74
constexpr std::size_t kSessionSecureConfirmSize = kSessionConfirmSize + 1 + 16 + 16 + 16; // 81
constexpr std::size_t kSessionSecureResetSize = 4 + 1 + 1 + 6 + 16 + kSessionTrailerSize; // 32
constexpr std::size_t kSessionMaxControlSize = kSessionSecureHelloSize;

static_assert(kSessionAcceptSize <= kSessionHelloSize, "no answer may be larger than the HELLO");
static_assert(kSessionSecureAcceptSize <= kSessionSecureHelloSize, "no answer may be larger than the HELLO");

// True for the type byte of a KCP segment (PUSH/ACK/WASK/WINS).
constexpr bool isKcpType(std::uint8_t type) noexcept
{
    return type >= 81 && type <= 84;
}

// Checks and strips the CRC32C trailer. Returns the payload size (> 0) or 0 when the datagram is too short
// (under 9 bytes) or the checksum does not match.
std::size_t sessionVerify(const std::uint8_t *data, std::size_t size) noexcept;
// Appends the trailer over data[0..size) at data[size..size+4). Returns size + 4.
std::size_t sessionSeal(std::uint8_t *data, std::size_t size) noexcept;

// Encoders write a complete datagram (trailer included) into `out`, which must hold kSessionMaxControlSize
// bytes, and return its size.
// With kSessionFlagSecure (HELLO, ACCEPT) or `secure` (CONFIRM) set, `macKey` (32 bytes, kcpHandshakeKey()) must
// be given; ACCEPT's MAC also covers the client's random (`clientRandom`).
std::size_t encodeHello(const SessionHello &h, std::uint8_t *out, const std::uint8_t *macKey = nullptr) noexcept;
std::size_t encodeAccept(const SessionAccept &a, std::uint8_t *out, const std::uint8_t *macKey = nullptr,
                         const std::uint8_t *clientRandom = nullptr) noexcept;
std::size_t encodeConfirm(const SessionConfirm &c, std::uint8_t *out, const std::uint8_t *macKey = nullptr) noexcept;
// The stateless server's RESET(UnknownConv) for a sealed datagram, authenticated with the handshake key and
// echoing that datagram's packet number (so a recorded RESET cannot end a later session: docs/PROTOCOL.md).
std::size_t encodeSecureReset(std::uint32_t conv, std::uint64_t packetNumber, const std::uint8_t *macKey,
                              std::uint8_t *out) noexcept;
bool decodeSecureReset(const std::uint8_t *p, std::size_t n, std::uint64_t &packetNumber) noexcept;
// Verifies the MAC of a secure HELLO / ACCEPT / CONFIRM / RESET payload (trailer stripped, decoded already).
// For ACCEPT, clientRandom is the random of our HELLO.
bool sessionMacValid(const std::uint8_t *p, std::size_t n, const std::uint8_t *macKey,
                     const std::uint8_t *clientRandom = nullptr) noexcept;
// Pre-shared-key mode with a custom cipher: the HELLO's proof of the cipher's name,
// MAC("kcpnet cipher name", clientRandom | name) under the handshake key (32 bytes). The HELLO's own MAC proves the
// key, this one the name: a server with the key but another custom cipher can tell the two apart (REJECT(Cipher)).
void sessionCipherNameMac(const std::uint8_t *macKey, const std::uint8_t *clientRandom, const char *name,
                          std::size_t nameSize, std::uint8_t out[kSessionSecureMacSize]) noexcept;
std::size_t encodeReject(const SessionReject &r, std::uint8_t *out) noexcept;
std::size_t encodeBare(std::uint32_t conv, SessionPacketType type, std::uint8_t *out) noexcept; // CONFIRMED/FIN/FIN_ACK
std::size_t encodePing(std::uint32_t conv, SessionPacketType type, std::uint32_t clock, std::uint8_t *out) noexcept;
std::size_t encodeReset(std::uint32_t conv, SessionResetReason reason, std::uint8_t *out) noexcept;

// Decoders take a verified payload (trailer stripped, see sessionVerify) and return false when it is not
// exactly a well-formed packet of that type.
bool decodeHello(const std::uint8_t *p, std::size_t n, SessionHello &h) noexcept;
bool decodeAccept(const std::uint8_t *p, std::size_t n, SessionAccept &a) noexcept;
bool decodeConfirm(const std::uint8_t *p, std::size_t n, SessionConfirm &c) noexcept;
bool decodeReject(const std::uint8_t *p, std::size_t n, SessionReject &r) noexcept;
bool decodePing(const std::uint8_t *p, std::size_t n, std::uint32_t &clock) noexcept;
bool decodeReset(const std::uint8_t *p, std::size_t n, SessionResetReason &reason) noexcept;

const char *sessionPacketTypeName(std::uint8_t type) noexcept;

} // namespace kcpnet
