// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcphandshake.h"

#include "kcpchecksum.h"
#include "kcpsegment.h"

#include <cstring>
#include <random>

namespace kcpnet {

namespace {

void randomBytes(std::uint8_t *out, std::size_t n)
{
    std::random_device rd; // the OS entropy source on Linux
    for (std::size_t i = 0; i < n; i += 4) {
        const std::uint32_t v = rd();
        for (std::size_t k = 0; k < 4 && i + k < n; ++k)
            out[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
    }
}

} // namespace

KcpHandshakeResponder::KcpHandshakeResponder(const Settings &settings)
    : m_settings(settings)
{
    randomBytes(m_key, sizeof m_key);
    randomBytes(reinterpret_cast<std::uint8_t *>(&m_convState), sizeof m_convState);
}

KcpHandshakeResponder::KcpHandshakeResponder(const Settings &settings, const std::uint8_t key[16])
    : m_settings(settings)
{
    std::memcpy(m_key, key, sizeof m_key);
    m_convState = 0x9e3779b97f4a7c15ull;
}

std::uint64_t KcpHandshakeResponder::cookie(const KcpPeerAddress &from, std::uint64_t nonce, std::uint32_t conv,
                                            std::uint32_t issued) const noexcept
{
    std::uint8_t msg[16 + 2 + 8 + 4 + 4 + 1];
    std::memcpy(msg, from.ip.data(), 16);
    kcpPutU16(msg + 16, from.port);
    kcpPutU32(msg + 18, static_cast<std::uint32_t>(nonce));
    kcpPutU32(msg + 22, static_cast<std::uint32_t>(nonce >> 32));
    kcpPutU32(msg + 26, conv);
    kcpPutU32(msg + 30, issued);
    msg[34] = kSessionVersion;
    return sipHash24(m_key, msg, sizeof msg);
}

std::uint32_t KcpHandshakeResponder::newConv()
{
    // A keyed permutation-free generator is enough: convs need to be unpredictable to outsiders and non-zero;
    // uniqueness is checked by the caller when the CONFIRM arrives.
    std::uint32_t conv;
    do {
        m_convState += 0x9e3779b97f4a7c15ull;
        std::uint8_t in[8];
        kcpPutU32(in, static_cast<std::uint32_t>(m_convState));
        kcpPutU32(in + 4, static_cast<std::uint32_t>(m_convState >> 32));
        conv = static_cast<std::uint32_t>(sipHash24(m_key, in, sizeof in));
    } while (conv == 0);
    return conv;
}

bool KcpHandshakeResponder::allowReset(std::uint32_t now)
{
    if (kcpDiff(now, m_resetWindowStart) >= 1000 || kcpDiff(now, m_resetWindowStart) < 0) {
        m_resetWindowStart = now;
        m_resetsInWindow = 0;
    }
    if (m_resetsInWindow >= m_settings.resetsPerSecond) {
        ++m_counters.resetsLimited;
        return false;
    }
    ++m_resetsInWindow;
    ++m_counters.resetsSent;
    return true;
}

std::size_t KcpHandshakeResponder::encodeRefusal(std::uint64_t nonce, std::uint8_t *out)
{
    SessionReject r;
    r.reason = static_cast<std::uint8_t>(SessionRejectReason::Refused);
    r.nonce = nonce;
    return encodeReject(r, out);
}

KcpHandshakeResponder::Outcome KcpHandshakeResponder::handle(const std::uint8_t *data, std::size_t size,
                                                             const KcpPeerAddress &from, std::uint32_t now)
{
    Outcome out;
    const std::size_t n = sessionVerify(data, size);
    if (n == 0) {
        ++m_counters.checksum;
        return out;
    }
    const std::uint32_t conv = kcpGetU32(data);
    const std::uint8_t type = data[4];

    if (type == static_cast<std::uint8_t>(SessionPacketType::Hello)) {
        SessionHello h;
        if (!decodeHello(data, n, h)) {
            ++m_counters.malformed;
            return out;
        }
        if (h.version != kSessionVersion || ((h.flags & kSessionFlagStream) != 0) != m_settings.streamMode) {
            SessionReject r;
            r.reason = static_cast<std::uint8_t>(h.version != kSessionVersion ? SessionRejectReason::Version
                                                                               : SessionRejectReason::Mode);
            r.nonce = h.nonce;
            out.replySize = encodeReject(r, out.reply);
            out.action = Action::Reply;
            ++m_counters.rejects;
            return out;
        }
        if (!m_accepting) {
            ++m_counters.notAccepting;
            return out;
        }
        SessionAccept a;
        a.conv = newConv();
        a.flags = h.flags;
        a.nonce = h.nonce;
        a.issued = now;
        a.cookie = cookie(from, h.nonce, a.conv, now);
        a.peerTimeoutMs = m_settings.peerTimeoutMs;
        a.keepaliveMs = m_settings.keepaliveMs;
        out.replySize = encodeAccept(a, out.reply);
        out.action = Action::Reply;
        ++m_counters.hellos;
        return out;
    }

    if (type == static_cast<std::uint8_t>(SessionPacketType::Confirm)) {
        SessionConfirm c;
        if (!decodeConfirm(data, n, c)) {
            ++m_counters.malformed;
            return out;
        }
        const std::int32_t age = kcpDiff(now, c.issued);
        if (c.cookie != cookie(from, c.nonce, c.conv, c.issued) || age < 0
            || static_cast<std::uint32_t>(age) > m_settings.cookieLifetimeMs) {
            ++m_counters.badCookies;
            return out;
        }
        if (!m_accepting) {
            ++m_counters.notAccepting;
            return out;
        }
        ++m_counters.confirms;
        out.action = Action::Accept;
        out.conv = c.conv;
        out.nonce = c.nonce;
        return out;
    }

    if (conv == 0) {
        ++m_counters.malformed;
        return out;
    }
    if (isKcpType(type) || type == static_cast<std::uint8_t>(SessionPacketType::Ping)) {
        const bool wellFormed = isKcpType(type) ? n >= kKcpHeaderSize : n == kSessionPingSize - kSessionTrailerSize;
        if (!wellFormed) { // too short to be what it claims: never answered (a RESET would be larger)
            ++m_counters.malformed;
            return out;
        }
        ++m_counters.unknownConv;
        if (allowReset(now)) {
            out.replySize = encodeReset(conv, SessionResetReason::UnknownConv, out.reply);
            out.action = Action::Reply;
        }
        return out;
    }
    if (type == static_cast<std::uint8_t>(SessionPacketType::Fin)) {
        ++m_counters.unknownConv;
        out.replySize = encodeBare(conv, SessionPacketType::FinAck, out.reply);
        out.action = Action::Reply;
        return out;
    }
    ++m_counters.ignored;
    return out;
}

} // namespace kcpnet
