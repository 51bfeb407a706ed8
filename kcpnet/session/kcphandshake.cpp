// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcphandshake.h"

#include "kcpchecksum.h"
#include "kcpcrypto.h"
#include "kcpsegment.h"

#include <cstring>

namespace kcpnet {

namespace {

// Pre-shared-key mode: what the cookie covers besides the v1 fields, so that the randoms echoed in CONFIRM can be
// trusted without having been stored: cipher | client random | server random.
constexpr std::size_t kCookieSecureFieldsSize = 1 + 2 * kSessionSecureRandomSize;

void cookieSecureFields(std::uint8_t cipher, const std::uint8_t *clientRandom, const std::uint8_t *serverRandom,
                        std::uint8_t out[kCookieSecureFieldsSize]) noexcept
{
    out[0] = cipher;
    std::memcpy(out + 1, clientRandom, kSessionSecureRandomSize);
    std::memcpy(out + 1 + kSessionSecureRandomSize, serverRandom, kSessionSecureRandomSize);
}

} // namespace

KcpHandshakeResponder::KcpHandshakeResponder(const Settings &settings)
{
    setSettings(settings);
    kcpRandomBytes(m_key, sizeof m_key);
    kcpRandomBytes(reinterpret_cast<std::uint8_t *>(&m_convState), sizeof m_convState);
}

KcpHandshakeResponder::KcpHandshakeResponder(const Settings &settings, const std::uint8_t key[16])
{
    setSettings(settings);
    std::memcpy(m_key, key, sizeof m_key);
    m_convState = 0x9e3779b97f4a7c15ull;
}

void KcpHandshakeResponder::setSettings(const Settings &s)
{
    m_settings = s;
    if (isSecure())
        m_macKey = kcpHandshakeKey(m_settings.security->psk);
    else
        m_macKey.fill(0);
}

std::uint64_t KcpHandshakeResponder::cookie(const KcpPeerAddress &from, std::uint64_t nonce, std::uint32_t conv,
                                            std::uint32_t issued, const std::uint8_t *secureFields) const noexcept
{
    std::uint8_t msg[16 + 2 + 8 + 4 + 4 + 1 + kCookieSecureFieldsSize];
    std::memcpy(msg, from.ip.data(), 16);
    kcpPutU16(msg + 16, from.port);
    kcpPutU32(msg + 18, static_cast<std::uint32_t>(nonce));
    kcpPutU32(msg + 22, static_cast<std::uint32_t>(nonce >> 32));
    kcpPutU32(msg + 26, conv);
    kcpPutU32(msg + 30, issued);
    msg[34] = kSessionVersion;
    if (!secureFields)
        return sipHash24(m_key, msg, 35);
    std::memcpy(msg + 35, secureFields, sizeof msg - 35); // cipher, client random, server random
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

KcpHandshakeResponder::Outcome KcpHandshakeResponder::reject(SessionRejectReason reason, std::uint64_t nonce)
{
    Outcome out;
    SessionReject r;
    r.reason = static_cast<std::uint8_t>(reason);
    r.nonce = nonce;
    out.replySize = encodeReject(r, out.reply);
    out.action = Action::Reply;
    if (reason == SessionRejectReason::Authentication)
        ++m_counters.authFailures; // every handled datagram is counted once
    else
        ++m_counters.rejects;
    return out;
}

bool KcpHandshakeResponder::offersCipher(const SessionHello &h) const noexcept
{
    switch (static_cast<KcpCipherId>(h.cipher)) {
    case KcpCipherId::Aes256Gcm:
    case KcpCipherId::ChaCha20Poly1305:
        return true;
    case KcpCipherId::Custom: {
        // The HELLO's MAC proved the key; the name MAC proves the client's custom cipher is ours too (the name
        // also enters the session keys, which without this check would only show as datagrams that never open).
        const KcpSecurityConfig &sec = *m_settings.security;
        if (!sec.customFactory)
            return false;
        std::uint8_t expected[kSessionSecureMacSize];
        sessionCipherNameMac(m_macKey.data(), h.random, sec.customName.data(), sec.customName.size(), expected);
        return kcpSecureEqual(expected, h.cipherNameMac, sizeof expected);
    }
    }
    return false;
}

KcpHandshakeResponder::Outcome KcpHandshakeResponder::handleHello(const std::uint8_t *data, std::size_t n,
                                                                  const KcpPeerAddress &from, std::uint32_t now)
{
    Outcome out;
    SessionHello h;
    if (!decodeHello(data, n, h)) {
        ++m_counters.malformed;
        return out;
    }
    if (h.version != kSessionVersion)
        return reject(SessionRejectReason::Version, h.nonce);
    if (((h.flags & kSessionFlagStream) != 0) != m_settings.streamMode)
        return reject(SessionRejectReason::Mode, h.nonce);
    const bool secure = (h.flags & kSessionFlagSecure) != 0;
    if (secure != isSecure())
        return reject(SessionRejectReason::Security, h.nonce);
    if (secure) {
        if (!sessionMacValid(data, n, m_macKey.data()))
            return reject(SessionRejectReason::Authentication, h.nonce);
        if (!offersCipher(h))
            return reject(SessionRejectReason::Cipher, h.nonce);
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
    a.peerTimeoutMs = m_settings.peerTimeoutMs;
    a.keepaliveMs = m_settings.keepaliveMs;
    if (secure) {
        a.cipher = h.cipher;
        kcpRandomBytes(a.serverRandom, sizeof a.serverRandom);
        std::uint8_t fields[kCookieSecureFieldsSize];
        cookieSecureFields(a.cipher, h.random, a.serverRandom, fields);
        a.cookie = cookie(from, h.nonce, a.conv, now, fields);
        out.replySize = encodeAccept(a, out.reply, m_macKey.data(), h.random);
    } else {
        a.cookie = cookie(from, h.nonce, a.conv, now);
        out.replySize = encodeAccept(a, out.reply);
    }
    out.action = Action::Reply;
    ++m_counters.hellos;
    return out;
}

bool KcpHandshakeResponder::seenConfirm(std::uint64_t nonce, std::uint32_t now)
{
    // Sessions are created once per HELLO nonce: a CONFIRM replayed after its session ended (within the cookie's
    // lifetime) must not bring it back (in pre-shared-key mode it would reuse the session's keys and nonces).
    // Only CONFIRMs that passed the cookie check (and the MAC) get here, so strangers cannot fill this map.
    if (m_confirmed.size() > 64) {
        for (auto it = m_confirmed.begin(); it != m_confirmed.end();) {
            const std::int32_t age = kcpDiff(now, it->second);
            if (age < 0 || static_cast<std::uint32_t>(age) > m_settings.cookieLifetimeMs)
                it = m_confirmed.erase(it);
            else
                ++it;
        }
    }
    return !m_confirmed.emplace(nonce, now).second;
}

KcpHandshakeResponder::Outcome KcpHandshakeResponder::handleConfirm(const std::uint8_t *data, std::size_t n,
                                                                    const KcpPeerAddress &from, std::uint32_t now)
{
    Outcome out;
    SessionConfirm c;
    if (!decodeConfirm(data, n, c)) {
        ++m_counters.malformed;
        return out;
    }
    if (c.secure != isSecure()) {
        ++m_counters.badCookies;
        return out;
    }
    if (c.secure && !sessionMacValid(data, n, m_macKey.data())) {
        ++m_counters.authFailures;
        return out;
    }
    std::uint8_t fields[kCookieSecureFieldsSize];
    if (c.secure)
        cookieSecureFields(c.cipher, c.clientRandom, c.serverRandom, fields);
    const std::int32_t age = kcpDiff(now, c.issued);
    if (c.cookie != cookie(from, c.nonce, c.conv, c.issued, c.secure ? fields : nullptr) || age < 0
        || static_cast<std::uint32_t>(age) > m_settings.cookieLifetimeMs) {
        ++m_counters.badCookies;
        return out;
    }
    if (!m_accepting) {
        ++m_counters.notAccepting;
        return out;
    }
    if (seenConfirm(c.nonce, now)) {
        ++m_counters.replayedConfirms;
        return out;
    }
    ++m_counters.confirms;
    out.action = Action::Accept;
    out.conv = c.conv;
    out.nonce = c.nonce;
    out.secure = c.secure;
    if (c.secure) {
        out.secrets.cipher = static_cast<KcpCipherId>(c.cipher);
        std::memcpy(out.secrets.clientRandom, c.clientRandom, kSessionSecureRandomSize);
        std::memcpy(out.secrets.serverRandom, c.serverRandom, kSessionSecureRandomSize);
        out.secrets.nonce = c.nonce;
        out.secrets.conv = c.conv;
    }
    return out;
}

KcpHandshakeResponder::Outcome KcpHandshakeResponder::handle(const std::uint8_t *data, std::size_t size,
                                                             const KcpPeerAddress &from, std::uint32_t now)
{
    Outcome out;
    if (isSecure() && size >= 5 && data[4] == static_cast<std::uint8_t>(SessionPacketType::Sealed)) {
        // A sealed datagram for a session we do not have (we restarted, or it timed out). Tell the client with a
        // RESET it can authenticate, bound to that datagram's packet number. Never larger than what came in.
        // (Without a key there are no sealed datagrams: such bytes fail the checksum below like any garbage.)
        const std::uint32_t sealedConv = kcpGetU32(data);
        if (sealedConv == 0 || size < kSessionSecureResetSize) {
            ++m_counters.ignored;
            return out;
        }
        ++m_counters.unknownConv;
        if (allowReset(now)) {
            out.replySize = encodeSecureReset(sealedConv, kcpGetU48(data + 5), m_macKey.data(), out.reply);
            out.action = Action::Reply;
        }
        return out;
    }
    const std::size_t n = sessionVerify(data, size);
    if (n == 0) {
        ++m_counters.checksum;
        return out;
    }
    const std::uint32_t conv = kcpGetU32(data);
    const std::uint8_t type = data[4];

    if (type == static_cast<std::uint8_t>(SessionPacketType::Hello))
        return handleHello(data, n, from, now);
    if (type == static_cast<std::uint8_t>(SessionPacketType::Confirm))
        return handleConfirm(data, n, from, now);
    if (isSecure()) {
        // Unprotected session traffic cannot come from a peer with the key: never answered.
        ++m_counters.ignored;
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
