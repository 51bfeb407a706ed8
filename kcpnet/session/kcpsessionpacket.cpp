// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpsessionpacket.h"

#include "kcpchecksum.h"
#include "kcpcrypto.h"
#include "kcpsegment.h"

#include <cstring>

namespace kcpnet {

namespace {

void putU64(std::uint8_t *p, std::uint64_t v)
{
    kcpPutU32(p, static_cast<std::uint32_t>(v));
    kcpPutU32(p + 4, static_cast<std::uint32_t>(v >> 32));
}

std::uint64_t getU64(const std::uint8_t *p)
{
    return kcpGetU32(p) | (static_cast<std::uint64_t>(kcpGetU32(p + 4)) << 32);
}

std::size_t head(std::uint8_t *out, std::uint32_t conv, SessionPacketType type)
{
    kcpPutU32(out, conv);
    out[4] = static_cast<std::uint8_t>(type);
    return 5;
}

bool isType(const std::uint8_t *p, std::size_t n, std::size_t expected, SessionPacketType type)
{
    return n == expected && p[4] == static_cast<std::uint8_t>(type);
}

// Secure handshake layouts: where the MAC sits (it covers everything before it, after a label and, for ACCEPT,
// the client's random).
constexpr std::size_t kHelloMacAt = 38;
constexpr std::size_t kHelloCipherNameAt = kHelloMacAt + kSessionSecureMacSize; // 54, in the padding the MAC skips
constexpr std::size_t kAcceptMacAt = 54;
constexpr std::size_t kConfirmMacAt = 61;
constexpr std::size_t kResetMacAt = 12;

void computeMac(const std::uint8_t *key, const char *label, const std::uint8_t *extra, std::size_t extraSize,
                const std::uint8_t *p, std::size_t n, std::uint8_t mac[kSessionSecureMacSize])
{
    std::uint8_t full[32];
    kcpHmacSha256(key, 32, reinterpret_cast<const std::uint8_t *>(label), std::strlen(label), extra, extraSize, p, n,
                  full);
    std::memcpy(mac, full, kSessionSecureMacSize);
}

bool macMatches(const std::uint8_t *key, const char *label, const std::uint8_t *extra, std::size_t extraSize,
                const std::uint8_t *p, std::size_t macAt)
{
    std::uint8_t mac[kSessionSecureMacSize];
    computeMac(key, label, extra, extraSize, p, macAt, mac);
    return kcpSecureEqual(mac, p + macAt, sizeof mac);
}

} // namespace

std::size_t sessionVerify(const std::uint8_t *data, std::size_t size) noexcept
{
    if (!data || size < kSessionBareSize)
        return 0;
    const std::size_t payload = size - kSessionTrailerSize;
    return crc32c(data, payload) == kcpGetU32(data + payload) ? payload : 0;
}

std::size_t sessionSeal(std::uint8_t *data, std::size_t size) noexcept
{
    kcpPutU32(data + size, crc32c(data, size));
    return size + kSessionTrailerSize;
}

std::size_t encodeHello(const SessionHello &h, std::uint8_t *out, const std::uint8_t *macKey) noexcept
{
    const bool secure = (h.flags & kSessionFlagSecure) != 0;
    const std::size_t size = secure ? kSessionSecureHelloSize : kSessionHelloSize;
    std::memset(out, 0, size);
    head(out, 0, SessionPacketType::Hello);
    kcpPutU32(out + 5, kSessionMagic);
    out[9] = h.version;
    out[10] = h.flags;
    putU64(out + 13, h.nonce);
    if (secure) {
        out[21] = h.cipher;
        std::memcpy(out + 22, h.random, kSessionSecureRandomSize);
        if (macKey)
            computeMac(macKey, "kcpnet hello", nullptr, 0, out, kHelloMacAt, out + kHelloMacAt);
        std::memcpy(out + kHelloCipherNameAt, h.cipherNameMac, kSessionSecureMacSize);
    }
    return sessionSeal(out, size - kSessionTrailerSize);
}

bool decodeHello(const std::uint8_t *p, std::size_t n, SessionHello &h) noexcept
{
    if (n < 5 || p[4] != static_cast<std::uint8_t>(SessionPacketType::Hello)
        || (n != kSessionHelloSize - kSessionTrailerSize && n != kSessionSecureHelloSize - kSessionTrailerSize)
        || kcpGetU32(p) != 0 || kcpGetU32(p + 5) != kSessionMagic)
        return false;
    h.version = p[9];
    h.flags = p[10];
    h.nonce = getU64(p + 13);
    const bool secure = (h.flags & kSessionFlagSecure) != 0;
    if (secure != (n == kSessionSecureHelloSize - kSessionTrailerSize))
        return false;
    if (secure) {
        h.cipher = p[21];
        std::memcpy(h.random, p + 22, kSessionSecureRandomSize);
        std::memcpy(h.cipherNameMac, p + kHelloCipherNameAt, kSessionSecureMacSize);
    }
    return true;
}

std::size_t encodeAccept(const SessionAccept &a, std::uint8_t *out, const std::uint8_t *macKey,
                         const std::uint8_t *clientRandom) noexcept
{
    std::size_t i = head(out, a.conv, SessionPacketType::Accept);
    out[i++] = a.version;
    out[i++] = a.flags;
    kcpPutU16(out + i, 0);
    i += 2;
    putU64(out + i, a.nonce);
    i += 8;
    kcpPutU32(out + i, a.issued);
    i += 4;
    putU64(out + i, a.cookie);
    i += 8;
    kcpPutU32(out + i, a.peerTimeoutMs);
    i += 4;
    kcpPutU32(out + i, a.keepaliveMs);
    i += 4;
    if (a.flags & kSessionFlagSecure) {
        out[i++] = a.cipher;
        std::memcpy(out + i, a.serverRandom, kSessionSecureRandomSize);
        i += kSessionSecureRandomSize;
        if (macKey && clientRandom)
            computeMac(macKey, "kcpnet accept", clientRandom, kSessionSecureRandomSize, out, i, out + i);
        i += kSessionSecureMacSize;
    }
    return sessionSeal(out, i);
}

bool decodeAccept(const std::uint8_t *p, std::size_t n, SessionAccept &a) noexcept
{
    if (n < 7 || p[4] != static_cast<std::uint8_t>(SessionPacketType::Accept))
        return false;
    const bool secure = (p[6] & kSessionFlagSecure) != 0;
    if (n != (secure ? kSessionSecureAcceptSize : kSessionAcceptSize) - kSessionTrailerSize)
        return false;
    if (secure) {
        a.cipher = p[37];
        std::memcpy(a.serverRandom, p + 38, kSessionSecureRandomSize);
    }
    a.conv = kcpGetU32(p);
    a.version = p[5];
    a.flags = p[6];
    a.nonce = getU64(p + 9);
    a.issued = kcpGetU32(p + 17);
    a.cookie = getU64(p + 21);
    a.peerTimeoutMs = kcpGetU32(p + 29);
    a.keepaliveMs = kcpGetU32(p + 33);
    return a.conv != 0;
}

std::size_t encodeConfirm(const SessionConfirm &c, std::uint8_t *out, const std::uint8_t *macKey) noexcept
{
    std::size_t i = head(out, c.conv, SessionPacketType::Confirm);
    out[i++] = 0;
    out[i++] = 0;
    out[i++] = 0;
    putU64(out + i, c.nonce);
    i += 8;
    kcpPutU32(out + i, c.issued);
    i += 4;
    putU64(out + i, c.cookie);
    i += 8;
    if (c.secure) {
        out[5] = kSessionFlagSecure;
        out[i++] = c.cipher;
        std::memcpy(out + i, c.clientRandom, kSessionSecureRandomSize);
        i += kSessionSecureRandomSize;
        std::memcpy(out + i, c.serverRandom, kSessionSecureRandomSize);
        i += kSessionSecureRandomSize;
        if (macKey)
            computeMac(macKey, "kcpnet confirm", nullptr, 0, out, i, out + i);
        i += kSessionSecureMacSize;
    }
    return sessionSeal(out, i);
}

bool decodeConfirm(const std::uint8_t *p, std::size_t n, SessionConfirm &c) noexcept
{
    if (n < 6 || p[4] != static_cast<std::uint8_t>(SessionPacketType::Confirm))
        return false;
    c.secure = (p[5] & kSessionFlagSecure) != 0;
    if (n != (c.secure ? kSessionSecureConfirmSize : kSessionConfirmSize) - kSessionTrailerSize)
        return false;
    if (c.secure) {
        c.cipher = p[28];
        std::memcpy(c.clientRandom, p + 29, kSessionSecureRandomSize);
        std::memcpy(c.serverRandom, p + 45, kSessionSecureRandomSize);
    }
    c.conv = kcpGetU32(p);
    c.nonce = getU64(p + 8);
    c.issued = kcpGetU32(p + 16);
    c.cookie = getU64(p + 20);
    return c.conv != 0;
}

void sessionCipherNameMac(const std::uint8_t *macKey, const std::uint8_t *clientRandom, const char *name,
                          std::size_t nameSize, std::uint8_t out[kSessionSecureMacSize]) noexcept
{
    computeMac(macKey, "kcpnet cipher name", clientRandom, kSessionSecureRandomSize,
               reinterpret_cast<const std::uint8_t *>(name), nameSize, out);
}

std::size_t encodeReject(const SessionReject &r, std::uint8_t *out) noexcept
{
    std::size_t i = head(out, 0, SessionPacketType::Reject);
    out[i++] = r.reason;
    out[i++] = r.version;
    putU64(out + i, r.nonce);
    i += 8;
    return sessionSeal(out, i);
}

bool decodeReject(const std::uint8_t *p, std::size_t n, SessionReject &r) noexcept
{
    if (!isType(p, n, kSessionRejectSize - kSessionTrailerSize, SessionPacketType::Reject))
        return false;
    r.reason = p[5];
    r.version = p[6];
    r.nonce = getU64(p + 7);
    return true;
}

std::size_t encodeBare(std::uint32_t conv, SessionPacketType type, std::uint8_t *out) noexcept
{
    return sessionSeal(out, head(out, conv, type));
}

std::size_t encodePing(std::uint32_t conv, SessionPacketType type, std::uint32_t clock, std::uint8_t *out) noexcept
{
    const std::size_t i = head(out, conv, type);
    kcpPutU32(out + i, clock);
    return sessionSeal(out, i + 4);
}

bool decodePing(const std::uint8_t *p, std::size_t n, std::uint32_t &clock) noexcept
{
    if (n != kSessionPingSize - kSessionTrailerSize
        || (p[4] != static_cast<std::uint8_t>(SessionPacketType::Ping)
            && p[4] != static_cast<std::uint8_t>(SessionPacketType::Pong)))
        return false;
    clock = kcpGetU32(p + 5);
    return true;
}

std::size_t encodeReset(std::uint32_t conv, SessionResetReason reason, std::uint8_t *out) noexcept
{
    std::size_t i = head(out, conv, SessionPacketType::Reset);
    out[i++] = static_cast<std::uint8_t>(reason);
    return sessionSeal(out, i);
}

bool decodeReset(const std::uint8_t *p, std::size_t n, SessionResetReason &reason) noexcept
{
    if (!isType(p, n, kSessionResetSize - kSessionTrailerSize, SessionPacketType::Reset))
        return false;
    reason = static_cast<SessionResetReason>(p[5]);
    return true;
}

std::size_t encodeSecureReset(std::uint32_t conv, std::uint64_t packetNumber, const std::uint8_t *macKey,
                              std::uint8_t *out) noexcept
{
    std::size_t i = head(out, conv, SessionPacketType::Reset);
    out[i++] = static_cast<std::uint8_t>(SessionResetReason::UnknownConv);
    kcpPutU48(out + i, packetNumber);
    i += 6;
    computeMac(macKey, "kcpnet reset", nullptr, 0, out, i, out + i);
    i += kSessionSecureMacSize;
    return sessionSeal(out, i);
}

bool decodeSecureReset(const std::uint8_t *p, std::size_t n, std::uint64_t &packetNumber) noexcept
{
    if (!isType(p, n, kSessionSecureResetSize - kSessionTrailerSize, SessionPacketType::Reset)
        || p[5] != static_cast<std::uint8_t>(SessionResetReason::UnknownConv))
        return false;
    packetNumber = kcpGetU48(p + 6);
    return true;
}

bool sessionMacValid(const std::uint8_t *p, std::size_t n, const std::uint8_t *macKey,
                     const std::uint8_t *clientRandom) noexcept
{
    if (!macKey || n < 5)
        return false;
    switch (static_cast<SessionPacketType>(p[4])) {
    case SessionPacketType::Hello:
        return n == kSessionSecureHelloSize - kSessionTrailerSize
            && macMatches(macKey, "kcpnet hello", nullptr, 0, p, kHelloMacAt);
    case SessionPacketType::Accept:
        return n == kSessionSecureAcceptSize - kSessionTrailerSize && clientRandom
            && macMatches(macKey, "kcpnet accept", clientRandom, kSessionSecureRandomSize, p, kAcceptMacAt);
    case SessionPacketType::Confirm:
        return n == kSessionSecureConfirmSize - kSessionTrailerSize
            && macMatches(macKey, "kcpnet confirm", nullptr, 0, p, kConfirmMacAt);
    case SessionPacketType::Reset:
        return n == kSessionSecureResetSize - kSessionTrailerSize
            && macMatches(macKey, "kcpnet reset", nullptr, 0, p, kResetMacAt);
    default:
        return false;
    }
}

const char *sessionPacketTypeName(std::uint8_t type) noexcept
{
    switch (type) {
    case 81:
        return "PUSH";
    case 82:
        return "ACK";
    case 83:
        return "WASK";
    case 84:
        return "WINS";
    case 0xA1:
        return "HELLO";
    case 0xA2:
        return "ACCEPT";
    case 0xA3:
        return "CONFIRM";
    case 0xA4:
        return "CONFIRMED";
    case 0xA5:
        return "REJECT";
    case 0xB1:
        return "PING";
    case 0xB2:
        return "PONG";
    case 0xC1:
        return "FIN";
    case 0xC2:
        return "FIN_ACK";
    case 0xC3:
        return "RESET";
    case 0xD1:
        return "SEALED";
    default:
        return "unknown";
    }
}

} // namespace kcpnet
