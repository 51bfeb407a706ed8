// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpsession.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace kcpnet {

namespace {

constexpr std::uint32_t kHelloRetryFirst = 250; // first HELLO retransmission; doubles up to kRetryMax
constexpr std::uint32_t kRetryMax = 2000;
constexpr std::uint32_t kRetryMin = 100;
constexpr std::uint32_t kRetryCap = 1000; // CONFIRM / FIN / keepalive retry interval cap

// Datagrams are assembled here (engine output + trailer). One per thread; sessions are not re-entrant.
std::vector<std::uint8_t> &scratch()
{
    thread_local std::vector<std::uint8_t> buffer(2048);
    return buffer;
}

// Opened (decrypted) datagrams: separate from scratch(), because processing one may send (ACKs) while it is read.
std::vector<std::uint8_t> &openScratch()
{
    thread_local std::vector<std::uint8_t> buffer(2048);
    return buffer;
}

std::uint64_t randomNonce()
{
    thread_local std::mt19937_64 gen([] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }());
    std::uint64_t v;
    do {
        v = gen();
    } while (v == 0);
    return v;
}

bool reached(std::uint32_t now, std::uint32_t t)
{
    return kcpDiff(now, t) >= 0;
}

} // namespace

const char *kcpCloseReasonName(KcpCloseReason r) noexcept
{
    switch (r) {
    case KcpCloseReason::None:
        return "none";
    case KcpCloseReason::LocalClose:
        return "closed";
    case KcpCloseReason::LocalAbort:
        return "aborted";
    case KcpCloseReason::PeerClosed:
        return "the remote host closed the connection";
    case KcpCloseReason::PeerReset:
        return "the connection was reset by the peer";
    case KcpCloseReason::PeerTimeout:
        return "the peer stopped answering";
    case KcpCloseReason::DeadLink:
        return "a segment was retransmitted too often (dead link)";
    case KcpCloseReason::ConnectTimeout:
        return "the server did not answer the handshake";
    case KcpCloseReason::Rejected:
        return "the server rejected the connection";
    case KcpCloseReason::IdleTimeout:
        return "idle timeout";
    case KcpCloseReason::Refused:
        return "connection refused";
    }
    return "unknown";
}

KcpSession::KcpSession(Role role, const KcpSessionConfig &config, KcpSessionHandler *handler)
    : m_config(config)
    , m_handler(handler)
    , m_role(role)
{
    if (m_config.isSecure())
        m_macKey = kcpHandshakeKey(m_config.security->psk);
}

KcpSession::~KcpSession()
{
    kcpSecureZero(m_macKey.data(), m_macKey.size());
}

bool KcpSession::startSealing(const KcpHandshakeSecrets &secrets)
{
    m_sealer = std::make_unique<KcpSealer>();
    if (!m_sealer->init(*m_config.security, secrets, m_role == Role::Client)) {
        m_sealer.reset();
        return false;
    }
    return true;
}

void KcpSession::sendProtected(const std::uint8_t *payload, std::size_t size)
{
    std::vector<std::uint8_t> &buf = scratch();
    const std::size_t need = size + m_sealer->overhead();
    if (buf.size() < need)
        buf.resize(need);
    const std::size_t n = m_sealer->seal(m_conv, payload, size, buf.data());
    if (n)
        m_handler->sessionSend(buf.data(), n);
}

void KcpSession::configureEngine(KcpEngine &engine, const KcpSessionConfig &c)
{
    engine.setNoDelay(c.noDelay, static_cast<int>(c.interval), c.fastResend, !c.congestionControl);
    engine.setMinRto(c.minRto);
    engine.setWindowSize(c.sendWindow, c.receiveWindow);
    engine.setMtu(c.mtu - (c.plain ? 0u : static_cast<std::uint32_t>(kSessionTrailerSize)));
    engine.setDeadLink(c.deadLink);
    engine.setStreamMode(c.streamMode);
    engine.setAckNoDelay(c.ackNoDelay);
    engine.setSendNoDelay(c.sendNoDelay);
    engine.setRedundantRetransmits(c.redundantRetransmits);
}

void KcpSession::createEngine(std::uint32_t conv)
{
    m_conv = conv;
    if (m_config.plain) {
        // Compatible mode: KCP segments as they are, through the transform (FEC, cipher) when there is one.
        m_engine = std::make_unique<KcpEngine>(conv, [this](const std::uint8_t *data, std::size_t size) {
            if (m_transform)
                m_transform->outgoing(data, size, m_now, [this](const std::uint8_t *p, std::size_t n) {
                    m_handler->sessionSend(p, n);
                });
            else
                m_handler->sessionSend(data, size);
        });
    } else if (m_sealer) {
        m_engine = std::make_unique<KcpEngine>(conv, [this](const std::uint8_t *data, std::size_t size) {
            sendProtected(data, size);
        });
    } else {
        m_engine = std::make_unique<KcpEngine>(conv, [this](const std::uint8_t *data, std::size_t size) {
            std::vector<std::uint8_t> &buf = scratch();
            if (buf.size() < size + kSessionTrailerSize)
                buf.resize(size + kSessionTrailerSize);
            std::memcpy(buf.data(), data, size);
            m_handler->sessionSend(buf.data(), sessionSeal(buf.data(), size));
        });
    }
    configureEngine(*m_engine, m_config);
    if (m_transform)
        m_engine->setMtu(m_engine->mtu() - static_cast<std::uint32_t>(m_transform->overhead()));
    if (m_sealer) // header and tag instead of the CRC32C trailer
        m_engine->setMtu(m_config.mtu - static_cast<std::uint32_t>(m_sealer->overhead()));
}

void KcpSession::setTransform(std::unique_ptr<KcpPacketTransform> transform)
{
    m_transform = std::move(transform);
    if (m_engine && m_transform)
        m_engine->setMtu(m_config.mtu - static_cast<std::uint32_t>(m_transform->overhead()));
}

void KcpSession::sendControl(const std::uint8_t *data, std::size_t size)
{
    // Encoders produce protocol-v1 packets with their CRC32C trailer; once keys exist they are sealed instead.
    if (m_sealer)
        sendProtected(data, size - kSessionTrailerSize);
    else
        m_handler->sessionSend(data, size);
}

void KcpSession::sendBare(SessionPacketType type)
{
    std::uint8_t buf[kSessionMaxControlSize];
    sendControl(buf, encodeBare(m_conv, type, buf));
}

void KcpSession::sendHello()
{
    SessionHello h;
    h.flags = m_config.streamMode ? kSessionFlagStream : 0;
    h.nonce = m_nonce;
    if (m_config.isSecure()) {
        h.flags |= kSessionFlagSecure;
        h.cipher = static_cast<std::uint8_t>(m_config.security->cipher);
        std::memcpy(h.random, m_clientRandom, sizeof h.random);
        if (m_config.security->cipher == KcpCipherId::Custom) {
            const std::string &name = m_config.security->customName;
            sessionCipherNameMac(m_macKey.data(), m_clientRandom, name.data(), name.size(), h.cipherNameMac);
        }
    }
    std::uint8_t buf[kSessionMaxControlSize];
    m_handler->sessionSend(buf, encodeHello(h, buf, m_macKey.data()));
}

void KcpSession::sendConfirm()
{
    SessionConfirm c;
    c.conv = m_conv;
    c.nonce = m_nonce;
    c.issued = m_cookieIssued;
    c.cookie = m_cookie;
    if (m_sealer) {
        c.secure = true;
        c.cipher = static_cast<std::uint8_t>(m_config.security->cipher);
        std::memcpy(c.clientRandom, m_clientRandom, sizeof c.clientRandom);
        std::memcpy(c.serverRandom, m_serverRandom, sizeof c.serverRandom);
    }
    std::uint8_t buf[kSessionMaxControlSize];
    m_handler->sessionSend(buf, encodeConfirm(c, buf, m_macKey.data())); // never sealed: the server has no keys yet
}

std::uint32_t KcpSession::retryInterval() const noexcept
{
    const std::uint32_t rto = m_engine ? m_engine->rto() : kHelloRetryFirst;
    return std::clamp(2 * rto, kRetryMin, kRetryCap);
}

void KcpSession::connect(std::uint32_t now)
{
    if (m_state != KcpSessionState::Unconnected || m_role != Role::Client)
        return;
    m_now = now;
    if (m_config.plain) {
        // Nothing to negotiate: KCP has no handshake. The session is usable at once.
        std::uint32_t conv = m_config.conv;
        while (conv == 0)
            conv = static_cast<std::uint32_t>(randomNonce());
        createEngine(conv);
        m_state = KcpSessionState::Connected;
        m_startedAt = now;
        m_lastReceive = now;
        m_lastProgress = now;
        m_lastActivity = now;
        m_handler->sessionConnected();
        return;
    }
    m_state = KcpSessionState::Connecting;
    m_nonce = randomNonce();
    if (m_config.isSecure())
        kcpRandomBytes(m_clientRandom, sizeof m_clientRandom);
    m_startedAt = now;
    m_retryStep = kHelloRetryFirst;
    m_nextRetry = now + m_retryStep;
    sendHello();
}

void KcpSession::acceptConfirmed(std::uint32_t conv, std::uint32_t now, const KcpHandshakeSecrets *secrets)
{
    if (m_state != KcpSessionState::Unconnected || m_role != Role::Server)
        return;
    m_conv = conv;
    if (m_config.isSecure() && (!secrets || !startSealing(*secrets))) {
        ++m_drops.authentication;
        finish(KcpCloseReason::Rejected); // nothing is sent: without keys we cannot say anything authentic
        return;
    }
    if (m_sealer) { // to recognise this session's CONFIRM when the client repeats it (see inputSecure())
        std::memcpy(m_clientRandom, secrets->clientRandom, sizeof m_clientRandom);
        std::memcpy(m_serverRandom, secrets->serverRandom, sizeof m_serverRandom);
        m_nonce = secrets->nonce;
    }
    createEngine(conv);
    m_state = KcpSessionState::Connected;
    m_startedAt = now;
    m_lastReceive = now;
    m_lastActivity = now;
    m_keepalive = 0; // the client drives keepalive; the server answers and watches the silence
    sendBare(SessionPacketType::Confirmed);
}

void KcpSession::acceptPlain(std::uint32_t conv, std::uint32_t now)
{
    if (m_state != KcpSessionState::Unconnected || m_role != Role::Server || !m_config.plain)
        return;
    m_now = now;
    createEngine(conv);
    m_state = KcpSessionState::Connected;
    m_startedAt = now;
    m_lastReceive = now;
    m_lastProgress = now;
    m_lastActivity = now;
}

void KcpSession::inputKcp(const std::uint8_t *data, std::size_t size, std::uint32_t now)
{
    const std::uint64_t before = m_engine->counters().bytesReceived;
    const KcpInputResult r = m_engine->input(data, size, now);
    if (r != KcpInputResult::Ok) {
        if (r == KcpInputResult::WrongConv) {
            ++m_drops.wrongConv;
            std::uint32_t conv = 0;
            if (m_config.plain && m_role == Role::Server && KcpEngine::inspect(data, size, &conv) == KcpInputResult::Ok
                && data[4] == static_cast<std::uint8_t>(KcpCommand::Push) && kcpGetU32(data + 12) == 0)
                m_handler->sessionNewConversation(conv, data, size);
        } else {
            ++m_drops.malformed;
        }
        return;
    }
    m_lastReceive = now;
    m_lastProgress = now;
    markConfirmed(now);
    if (m_state == KcpSessionState::Closing && m_finSent)
        m_finSentAt = now; // the peer is still sending (a simultaneous close): keep our close alive
    if (m_engine->counters().bytesReceived != before)
        m_lastActivity = now;
    if (m_engine->peekSize() >= 0)
        m_handler->sessionReadable();
}

void KcpSession::inputDecoded(const std::uint8_t *data, std::size_t size, std::uint32_t now)
{
    m_now = now;
    if (m_engine && (m_state == KcpSessionState::Connected || m_state == KcpSessionState::Closing))
        inputKcp(data, size, now);
}

void KcpSession::input(const std::uint8_t *data, std::size_t size, std::uint32_t now)
{
    m_now = now;
    if (m_config.plain) {
        if (!m_engine || (m_state != KcpSessionState::Connected && m_state != KcpSessionState::Closing)) {
            ++m_drops.unexpected;
            return;
        }
        if (!m_transform) {
            inputKcp(data, size, now);
        } else if (!m_transform->incoming(data, size, now, [&](const std::uint8_t *p, std::size_t n) {
                       inputKcp(p, n, now);
                   })) {
            ++m_drops.checksum; // the transform rejected it: wrong key, corrupted, malformed
        }
        return;
    }
    if (m_config.isSecure()) {
        inputSecure(data, size, now);
        return;
    }
    const std::size_t n = sessionVerify(data, size);
    if (n == 0) {
        ++m_drops.checksum;
        return;
    }
    inputPayload(data, n, now);
}

void KcpSession::inputSecure(const std::uint8_t *data, std::size_t size, std::uint32_t now)
{
    if (size >= kSealedHeaderSize && data[4] == static_cast<std::uint8_t>(SessionPacketType::Sealed)) {
        if (!m_sealer) {
            ++m_drops.unexpected;
            return;
        }
        if (kcpGetU32(data) != m_conv) {
            ++m_drops.wrongConv;
            return;
        }
        std::vector<std::uint8_t> &buf = openScratch();
        if (buf.size() < size)
            buf.resize(size);
        std::size_t n = 0;
        switch (m_sealer->open(data, size, buf.data(), &n)) {
        case KcpSealer::OpenResult::Ok:
            if (n < 5 || kcpGetU32(buf.data()) != m_conv) {
                ++m_drops.malformed; // authentic, so the peer is broken rather than hostile
                return;
            }
            inputPayload(buf.data(), n, now);
            return;
        case KcpSealer::OpenResult::Replayed:
            ++m_drops.replayed;
            return;
        case KcpSealer::OpenResult::Unauthentic:
            ++m_drops.authentication;
            return;
        case KcpSealer::OpenResult::Malformed:
            ++m_drops.malformed;
            return;
        }
        return;
    }
    // Unsealed: only the handshake answers (authenticated by MAC, or bound to our nonce) and the stateless
    // server's authenticated RESET can be genuine.
    const std::size_t n = sessionVerify(data, size);
    if (n == 0) {
        ++m_drops.checksum;
        return;
    }
    const std::uint8_t type = data[4];
    if (type == static_cast<std::uint8_t>(SessionPacketType::Reject)) {
        inputPayload(data, n, now);
        return;
    }
    if (type == static_cast<std::uint8_t>(SessionPacketType::Accept) && m_state == KcpSessionState::Connecting) {
        if (!sessionMacValid(data, n, m_macKey.data(), m_clientRandom)) {
            ++m_drops.authentication;
            return;
        }
        inputPayload(data, n, now);
        return;
    }
    std::uint64_t pn = 0;
    if (type == static_cast<std::uint8_t>(SessionPacketType::Reset) && decodeSecureReset(data, n, pn)) {
        if (!sessionMacValid(data, n, m_macKey.data())) {
            ++m_drops.authentication;
            return;
        }
        // The server has no session for a datagram we sent after it had confirmed ours: it restarted or timed us
        // out. Older packet numbers are the harmless race of data overtaking CONFIRM, or a recorded RESET.
        if (m_role != Role::Client || !m_sealer || kcpGetU32(data) != m_conv || m_confirmPending
            || pn < m_pnAtConfirm || pn >= m_sealer->nextSendPacketNumber()
            || (m_state != KcpSessionState::Connected && m_state != KcpSessionState::Closing)) {
            ++m_drops.unexpected;
            return;
        }
        finish(m_state == KcpSessionState::Closing && m_finSent ? KcpCloseReason::LocalClose
                                                                 : KcpCloseReason::PeerReset);
        return;
    }
    SessionConfirm c;
    if (type == static_cast<std::uint8_t>(SessionPacketType::Confirm) && m_role == Role::Server && m_sealer
        && (m_state == KcpSessionState::Connected || m_state == KcpSessionState::Closing) && decodeConfirm(data, n, c)
        && c.secure && c.conv == m_conv && c.nonce == m_nonce
        && std::memcmp(c.clientRandom, m_clientRandom, sizeof m_clientRandom) == 0
        && std::memcmp(c.serverRandom, m_serverRandom, sizeof m_serverRandom) == 0
        && sessionMacValid(data, n, m_macKey.data())) {
        // The client repeats the CONFIRM of this session: our CONFIRMED was lost. Answer it (sealed), as without a
        // key. Not a sign of life: a recorded CONFIRM can be replayed.
        sendBare(SessionPacketType::Confirmed);
        return;
    }
    ++m_drops.authentication; // unprotected session traffic is never accepted in this mode
}

void KcpSession::inputPayload(const std::uint8_t *data, std::size_t n, std::uint32_t now)
{
    const std::uint32_t conv = kcpGetU32(data);
    const std::uint8_t type = data[4];

    if (type == static_cast<std::uint8_t>(SessionPacketType::Reject)) {
        SessionReject r;
        if (!decodeReject(data, n, r)) {
            ++m_drops.malformed;
        } else if (m_role == Role::Client && r.nonce == m_nonce
                   && (m_state == KcpSessionState::Connecting || m_confirmPending)) {
            m_rejectReason = static_cast<SessionRejectReason>(r.reason);
            finish(KcpCloseReason::Rejected);
        } else {
            ++m_drops.unexpected;
        }
        return;
    }

    if (m_state == KcpSessionState::Connecting) {
        SessionAccept a;
        if (type != static_cast<std::uint8_t>(SessionPacketType::Accept)) {
            ++m_drops.unexpected;
            return;
        }
        if (!decodeAccept(data, n, a) || a.version != kSessionVersion) {
            ++m_drops.malformed;
            return;
        }
        if (a.nonce != m_nonce) {
            ++m_drops.unexpected;
            return;
        }
        if (m_config.isSecure()) {
            KcpHandshakeSecrets secrets;
            secrets.cipher = m_config.security->cipher;
            std::memcpy(secrets.clientRandom, m_clientRandom, sizeof secrets.clientRandom);
            std::memcpy(secrets.serverRandom, a.serverRandom, sizeof secrets.serverRandom);
            secrets.nonce = m_nonce;
            secrets.conv = a.conv;
            std::memcpy(m_serverRandom, a.serverRandom, sizeof m_serverRandom);
            m_conv = a.conv;
            if (a.cipher != static_cast<std::uint8_t>(secrets.cipher) || !startSealing(secrets)) {
                ++m_drops.malformed;
                return;
            }
        }
        createEngine(a.conv);
        m_cookie = a.cookie;
        m_cookieIssued = a.issued;
        m_handshakeRtt = m_helloRetransmitted ? 0 : now - m_startedAt;
        m_state = KcpSessionState::Connected;
        m_lastReceive = now;
        m_lastActivity = now;
        // Ping often enough for the stricter of the two peer timeouts, with room for retries.
        m_keepalive = m_config.keepaliveInterval;
        if (m_keepalive) {
            if (a.peerTimeoutMs)
                m_keepalive = std::min(m_keepalive, a.peerTimeoutMs / 2);
            if (m_config.peerTimeout)
                m_keepalive = std::min(m_keepalive, m_config.peerTimeout / 2);
            m_keepalive = std::max(m_keepalive, kRetryMin);
        }
        m_nextPing = now + m_keepalive;
        m_confirmPending = true;
        sendConfirm();
        m_nextRetry = now + retryInterval();
        m_handler->sessionConnected();
        return;
    }

    if (m_state == KcpSessionState::Unconnected) {
        ++m_drops.unexpected;
        return;
    }
    if (conv != m_conv) {
        ++m_drops.wrongConv;
        return;
    }

    if (m_state == KcpSessionState::Closed) {
        // Our FIN_ACK was lost and the peer repeats its FIN: answer, so its close completes cleanly.
        if (type == static_cast<std::uint8_t>(SessionPacketType::Fin))
            sendBare(SessionPacketType::FinAck);
        else
            ++m_drops.unexpected;
        return;
    }

    if (isStaleUnknownConvReset(data, n, now)) {
        ++m_drops.unexpected; // not a sign of life either: the server does not know us (yet)
        return;
    }
    m_lastReceive = now;
    if (m_keepalive)
        m_nextPing = now + m_keepalive;

    if (isKcpType(type)) {
        inputKcp(data, n, now);
        return;
    }
    handleControl(data, n, now);
}

void KcpSession::markConfirmed(std::uint32_t now)
{
    if (m_confirmPending) {
        m_confirmedAt = now;
        if (m_sealer)
            m_pnAtConfirm = m_sealer->nextSendPacketNumber();
    }
    m_confirmPending = false;
}

bool KcpSession::isStaleUnknownConvReset(const std::uint8_t *p, std::size_t n, std::uint32_t now) const
{
    // Data that overtook our CONFIRM makes the server answer "unknown conv". Such a RESET may arrive while the
    // CONFIRM is in flight or, reordered, shortly after the session was confirmed: neither is fatal.
    SessionResetReason reason;
    if (m_role != Role::Client || p[4] != static_cast<std::uint8_t>(SessionPacketType::Reset)
        || !decodeReset(p, n, reason) || reason != SessionResetReason::UnknownConv)
        return false;
    return m_confirmPending || kcpDiff(now, m_confirmedAt + retryInterval()) < 0;
}

void KcpSession::handleControl(const std::uint8_t *p, std::size_t n, std::uint32_t now)
{
    switch (static_cast<SessionPacketType>(p[4])) {
    case SessionPacketType::Accept:
        break; // an answer to a retransmitted HELLO: the first one won
    case SessionPacketType::Confirm: {
        SessionConfirm c;
        if (m_role == Role::Server && decodeConfirm(p, n, c))
            sendBare(SessionPacketType::Confirmed); // the client missed our CONFIRMED
        else
            ++m_drops.unexpected;
        break;
    }
    case SessionPacketType::Confirmed:
        markConfirmed(now);
        break;
    case SessionPacketType::Ping: {
        std::uint32_t clock;
        if (!decodePing(p, n, clock)) {
            ++m_drops.malformed;
            break;
        }
        std::uint8_t buf[kSessionMaxControlSize];
        sendControl(buf, encodePing(m_conv, SessionPacketType::Pong, clock, buf));
        break;
    }
    case SessionPacketType::Pong: {
        std::uint32_t clock;
        if (!decodePing(p, n, clock)) {
            ++m_drops.malformed;
            break;
        }
        markConfirmed(now);
        if (kcpDiff(now, clock) >= 0)
            m_pingRtt = now - clock;
        break;
    }
    case SessionPacketType::Fin:
        if (n != kSessionBareSize - kSessionTrailerSize) {
            ++m_drops.malformed;
            break;
        }
        markConfirmed(now);
        if (m_state == KcpSessionState::Closing && !m_finSent)
            break; // both closing, ours still delivering: our own FIN (sent once all is acknowledged) answers theirs
        sendBare(SessionPacketType::FinAck);
        finish(m_state == KcpSessionState::Closing ? KcpCloseReason::LocalClose : KcpCloseReason::PeerClosed);
        break;
    case SessionPacketType::FinAck:
        if (m_state == KcpSessionState::Closing && m_finSent)
            finish(KcpCloseReason::LocalClose);
        else
            ++m_drops.unexpected;
        break;
    case SessionPacketType::Reset: {
        SessionResetReason reason;
        if (!decodeReset(p, n, reason)) {
            ++m_drops.malformed;
            break;
        }
        finish(KcpCloseReason::PeerReset); // (stale "unknown conv" RESETs were filtered in input())
        break;
    }
    default:
        ++m_drops.malformed;
        break;
    }
}

void KcpSession::afterEngineWork(std::uint32_t now)
{
    const std::uint64_t sent = m_engine->counters().bytesSent;
    if (sent != m_bytesSentReported) {
        const std::uint64_t delta = sent - m_bytesSentReported;
        m_bytesSentReported = sent;
        m_lastActivity = now;
        m_handler->sessionBytesSent(delta);
    }
}

void KcpSession::updatePlain(std::uint32_t now)
{
    if (m_waitStarts) {
        m_waitStarts = false;
        m_lastProgress = now;
    }
    // A silent peer shows only while we wait for it: data sent and not acknowledged.
    if (m_config.peerTimeout && m_engine->waitSnd() > 0 && reached(now, m_lastProgress + m_config.peerTimeout)) {
        finish(KcpCloseReason::PeerTimeout);
        return;
    }
    m_engine->update(now);
    afterEngineWork(now);
    if (m_engine->isDeadLink()) {
        finish(KcpCloseReason::DeadLink);
        return;
    }
    if (m_state == KcpSessionState::Connected && m_config.idleTimeout
        && reached(now, m_lastActivity + m_config.idleTimeout)) {
        m_reason = KcpCloseReason::IdleTimeout;
        m_state = KcpSessionState::Closing;
    }
    // Plain KCP has no FIN: the close is complete once everything sent is acknowledged.
    if (m_state == KcpSessionState::Closing && m_engine->waitSnd() == 0)
        finish(KcpCloseReason::LocalClose);
}

std::uint32_t KcpSession::checkPlain(std::uint32_t now) const noexcept
{
    std::uint32_t t = m_engine->check(now);
    auto consider = [&](std::uint32_t when) {
        if (kcpDiff(when, now) < 0)
            when = now;
        if (kcpDiff(when, t) < 0)
            t = when;
    };
    if (m_config.peerTimeout && m_engine->waitSnd() > 0)
        consider((m_waitStarts ? now : m_lastProgress) + m_config.peerTimeout);
    if (m_state == KcpSessionState::Connected && m_config.idleTimeout)
        consider(m_lastActivity + m_config.idleTimeout);
    if (m_state == KcpSessionState::Closing && m_engine->waitSnd() == 0)
        consider(now);
    return t;
}

void KcpSession::update(std::uint32_t now)
{
    if (m_state == KcpSessionState::Unconnected || m_state == KcpSessionState::Closed)
        return;
    m_now = now;
    if (m_config.plain) {
        updatePlain(now);
        return;
    }

    if (m_state == KcpSessionState::Connecting) {
        if (reached(now, m_startedAt + m_config.connectTimeout)) {
            finish(KcpCloseReason::ConnectTimeout);
        } else if (reached(now, m_nextRetry)) {
            sendHello();
            m_helloRetransmitted = true;
            m_retryStep = std::min(m_retryStep * 2, kRetryMax);
            m_nextRetry = now + m_retryStep;
        }
        return;
    }

    if (m_config.peerTimeout && reached(now, m_lastReceive + m_config.peerTimeout)) {
        finish(KcpCloseReason::PeerTimeout);
        return;
    }
    m_engine->update(now);
    afterEngineWork(now);
    if (m_engine->isDeadLink()) {
        finish(KcpCloseReason::DeadLink);
        return;
    }
    if (m_confirmPending && reached(now, m_nextRetry)) {
        sendConfirm();
        m_nextRetry = now + retryInterval();
    }
    if (m_keepalive && reached(now, m_nextPing)) {
        std::uint8_t buf[kSessionMaxControlSize];
        sendControl(buf, encodePing(m_conv, SessionPacketType::Ping, now, buf));
        ++m_pingsSent;
        m_nextPing = now + std::min(retryInterval(), m_keepalive);
    }
    if (m_state == KcpSessionState::Connected && m_config.idleTimeout
        && reached(now, m_lastActivity + m_config.idleTimeout)) {
        m_reason = KcpCloseReason::IdleTimeout; // reported when the close completes
        close(now);
        return;
    }
    if (m_state == KcpSessionState::Closing) {
        if (!m_finSent) {
            if (m_engine->waitSnd() == 0) {
                sendBare(SessionPacketType::Fin);
                m_finSent = true;
                m_finSentAt = now;
                m_nextFinRetry = now + retryInterval();
            }
        } else if (reached(now, m_finSentAt + m_config.closeTimeout)) {
            // Everything we wrote was acknowledged before FIN went out: the close succeeded even unanswered.
            finish(KcpCloseReason::LocalClose);
        } else if (reached(now, m_nextFinRetry)) {
            sendBare(SessionPacketType::Fin);
            m_nextFinRetry = now + retryInterval();
        }
    }
}

std::uint32_t KcpSession::check(std::uint32_t now) const noexcept
{
    if (m_state == KcpSessionState::Unconnected || m_state == KcpSessionState::Closed)
        return now + KcpEngine::kIdleDelay;
    std::uint32_t t = now + KcpEngine::kIdleDelay;
    auto consider = [&](std::uint32_t when) {
        if (kcpDiff(when, now) < 0)
            when = now;
        if (kcpDiff(when, t) < 0)
            t = when;
    };
    if (m_state == KcpSessionState::Connecting) {
        consider(m_nextRetry);
        consider(m_startedAt + m_config.connectTimeout);
        return t;
    }
    if (m_config.plain)
        return checkPlain(now);
    consider(m_engine->check(now));
    if (m_config.peerTimeout)
        consider(m_lastReceive + m_config.peerTimeout);
    if (m_confirmPending)
        consider(m_nextRetry);
    if (m_keepalive)
        consider(m_nextPing);
    if (m_state == KcpSessionState::Connected && m_config.idleTimeout)
        consider(m_lastActivity + m_config.idleTimeout);
    if (m_state == KcpSessionState::Closing) {
        if (!m_finSent) {
            if (m_engine->waitSnd() == 0)
                consider(now);
        } else {
            consider(m_nextFinRetry);
            consider(m_finSentAt + m_config.closeTimeout);
        }
    }
    return t;
}

int KcpSession::send(const std::uint8_t *data, int size)
{
    if (m_state != KcpSessionState::Connected)
        return -4;
    if (m_engine->waitSnd() == 0)
        m_waitStarts = true; // from the next update on we wait for the peer (plain mode's liveness)
    return m_engine->send(data, size);
}

void KcpSession::close(std::uint32_t now)
{
    switch (m_state) {
    case KcpSessionState::Unconnected:
    case KcpSessionState::Connecting:
        finish(KcpCloseReason::LocalClose);
        break;
    case KcpSessionState::Connected:
        m_state = KcpSessionState::Closing;
        update(now);
        break;
    case KcpSessionState::Closing:
    case KcpSessionState::Closed:
        break;
    }
}

void KcpSession::abort(std::uint32_t)
{
    if (!m_config.plain && (m_state == KcpSessionState::Connected || m_state == KcpSessionState::Closing)) {
        std::uint8_t buf[kSessionMaxControlSize];
        const std::size_t size = encodeReset(m_conv, SessionResetReason::Abort, buf);
        sendControl(buf, size);
        sendControl(buf, size); // a second copy: a lost RESET would leave the peer waiting for its timeout
    }
    finish(KcpCloseReason::LocalAbort);
}

void KcpSession::fail(KcpCloseReason reason)
{
    finish(reason);
}

void KcpSession::finish(KcpCloseReason reason)
{
    if (m_state == KcpSessionState::Closed)
        return;
    // A close started by the idle timer completes as IdleTimeout.
    if (reason == KcpCloseReason::LocalClose && m_reason == KcpCloseReason::IdleTimeout)
        reason = KcpCloseReason::IdleTimeout;
    m_state = KcpSessionState::Closed;
    m_reason = reason;
    m_handler->sessionClosed(reason);
}

} // namespace kcpnet
