// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpSession: one end of a kcpnet session (client or server side) around a KcpEngine.
// Adds what KCP lacks: a handshake (1 round trip for the client, no server state before the client proves its
// address), graceful close that the peer sees (FIN after all data is acknowledged), reset, keepalive and dead-peer
// detection, and a CRC32C on every datagram. Qt-free, no I/O, no clock: like the engine, it is driven with the
// current time in ms and hands datagrams to its handler. The wire format is in docs/PROTOCOL.md.
#pragma once

#include "kcpengine.h"
#include "kcppackettransform.h"
#include "kcpsealer.h"
#include "kcpsessionpacket.h"

#include <array>
#include <cstdint>
#include <memory>

namespace kcpnet {

struct KcpSessionConfig {
    // KCP (see KcpEngine). Defaults: nodelay, 20 ms tick, fast resend after 2 skips, no congestion window,
    // ACKs and new data sent at once, 1024-segment windows, 1400-byte datagrams, stream mode.
    int noDelay = 1;
    std::uint32_t interval = 20;
    int fastResend = 2;
    bool congestionControl = false;
    std::uint32_t sendWindow = 1024;
    std::uint32_t receiveWindow = 1024;
    std::uint32_t mtu = 1400; // whole UDP payload, session trailer included
    std::uint32_t minRto = 30;
    std::uint32_t deadLink = 20;
    bool streamMode = true;
    bool ackNoDelay = true;
    bool sendNoDelay = true;
    bool redundantRetransmits = true; // a second copy of segments that timed out (see KcpEngine)

    // Session timers (ms). 0 disables keepalive / idle timeout.
    std::uint32_t connectTimeout = 10000;   // HELLO retransmitted until then
    std::uint32_t keepaliveInterval = 5000; // client pings after this much silence (and retries faster)
    std::uint32_t peerTimeout = 10000;      // silence after which the peer is declared dead
    std::uint32_t idleTimeout = 0;          // no application data either way for this long: close
    std::uint32_t closeTimeout = 3000;      // how long FIN is retransmitted waiting for FIN_ACK

    // Plain KCP (compatible mode): no session protocol on the wire, only KCP segments (through the optional packet
    // transform), as ikcp and kcp-go speak it. No handshake (the client is connected at once), no FIN (a close
    // waits until everything sent is acknowledged), no keepalive: a silent peer is noticed only while data is
    // unacknowledged (peerTimeout), through dead link, or through idleTimeout.
    bool plain = false;
    std::uint32_t conv = 0; // plain-mode client conversation id; 0 = random

    // Pre-shared-key mode (session protocol only) when set with a non-empty key: the handshake is authenticated
    // and every later datagram is sealed with an AEAD (kcpsealer.h, docs/PROTOCOL.md).
    std::shared_ptr<const KcpSecurityConfig> security;
    bool isSecure() const noexcept { return !plain && security && !security->psk.empty(); }
};

enum class KcpSessionState : std::uint8_t {
    Unconnected,
    Connecting, // client: HELLO sent, waiting for ACCEPT
    Connected,
    Closing, // close() called: delivering what was written, then FIN
    Closed,
};

enum class KcpCloseReason : std::uint8_t {
    None,
    LocalClose,     // close() completed (FIN acknowledged, or all data acknowledged and FIN sent)
    LocalAbort,     // abort()
    PeerClosed,     // the peer sent FIN
    PeerReset,      // the peer sent RESET
    PeerTimeout,    // nothing heard from the peer for peerTimeout
    DeadLink,       // KCP gave up: one segment sent deadLink times
    ConnectTimeout, // no ACCEPT within connectTimeout
    Rejected,       // the server answered REJECT (see rejectReason())
    IdleTimeout,    // no application data for idleTimeout
    Refused,        // the network reported the port unreachable (set by the I/O layer)
};

const char *kcpCloseReasonName(KcpCloseReason r) noexcept;

// Datagrams a session dropped, by reason.
struct KcpSessionDrops {
    std::uint64_t checksum = 0;     // CRC32C mismatch or shorter than a session packet
    std::uint64_t wrongConv = 0;    // conv is not this session's
    std::uint64_t malformed = 0;    // bad control packet, or KCP input rejected as malformed
    std::uint64_t unexpected = 0;   // valid packet that makes no sense in the current state
    std::uint64_t authentication = 0; // pre-shared-key mode: tag/MAC did not verify, or an unprotected packet
    std::uint64_t replayed = 0;       // pre-shared-key mode: a datagram already received (or too old)
};

class KcpSessionHandler
{
public:
    virtual ~KcpSessionHandler() = default;
    // A complete datagram for the peer (valid during the call only).
    virtual void sessionSend(const std::uint8_t *data, std::size_t size) = 0;
    virtual void sessionConnected() {}
    // New data can be read (engine().peekSize() >= 0).
    virtual void sessionReadable() {}
    // `bytes` of user data were transmitted for the first time.
    virtual void sessionBytesSent(std::uint64_t bytes) { (void)bytes; }
    // The session reached Closed. Data already received stays readable.
    virtual void sessionClosed(KcpCloseReason reason) { (void)reason; }
    // Plain mode: a well-formed KCP datagram with another conv whose first segment is PUSH sn 0 came from our peer
    // (kcp-go's rule for "the client restarted"). `data` is the decoded KCP datagram. Default: dropped.
    virtual void sessionNewConversation(std::uint32_t conv, const std::uint8_t *data, std::size_t size)
    {
        (void)conv;
        (void)data;
        (void)size;
    }
};

class KcpSession
{
public:
    enum class Role : std::uint8_t { Client, Server };

    KcpSession(Role role, const KcpSessionConfig &config, KcpSessionHandler *handler);
    ~KcpSession();
    KcpSession(const KcpSession &) = delete;
    KcpSession &operator=(const KcpSession &) = delete;

    // Client: start the handshake (sends HELLO).
    void connect(std::uint32_t now);
    // Server: the handshake was verified (see KcpHandshakeResponder); the session exists from now on.
    // Pre-shared-key mode needs the handshake's secrets (KcpHandshakeResponder::Outcome::secrets).
    void acceptConfirmed(std::uint32_t conv, std::uint32_t now, const KcpHandshakeSecrets *secrets = nullptr);
    // Server, plain mode: a well-formed KCP datagram for `conv` arrived from a new peer.
    void acceptPlain(std::uint32_t conv, std::uint32_t now);
    // Plain mode: feeds KCP datagrams already decoded by the transform (server: the datagram that created us).
    void inputDecoded(const std::uint8_t *data, std::size_t size, std::uint32_t now);
    // Installs a packet transform (before connect()/accept*()); the session owns it.
    void setTransform(std::unique_ptr<KcpPacketTransform> transform);
    KcpPacketTransform *transform() const noexcept { return m_transform.get(); }

    // A datagram from the peer, trailer included (verified here).
    void input(const std::uint8_t *data, std::size_t size, std::uint32_t now);
    // Does what is due at `now`: engine flush, retransmissions of handshake/FIN, keepalive, timeouts.
    void update(std::uint32_t now);
    // When update() next has something to do (now or later).
    std::uint32_t check(std::uint32_t now) const noexcept;

    // Queues user data (Connected only). Returns as KcpEngine::send, or -4 when not connected.
    int send(const std::uint8_t *data, int size);
    // Graceful close: what was written is delivered, then FIN. No more send() after this.
    void close(std::uint32_t now);
    // Immediate close: RESET to the peer, Closed(LocalAbort).
    void abort(std::uint32_t now);
    // The I/O layer learned something fatal (e.g. ICMP port unreachable): Closed(reason), nothing sent.
    void fail(KcpCloseReason reason);

    KcpSessionState state() const noexcept { return m_state; }
    KcpCloseReason closeReason() const noexcept { return m_reason; }
    SessionRejectReason rejectReason() const noexcept { return m_rejectReason; }
    Role role() const noexcept { return m_role; }
    std::uint32_t conv() const noexcept { return m_conv; }
    bool isConfirmed() const noexcept { return !m_confirmPending; }
    const KcpSessionConfig &config() const noexcept { return m_config; }
    // Present once the conv is known (client: after ACCEPT).
    KcpEngine *engine() noexcept { return m_engine.get(); }
    const KcpEngine *engine() const noexcept { return m_engine.get(); }
    const KcpSessionDrops &drops() const noexcept { return m_drops; }
    // Pre-shared-key mode: the packet protection (nullptr before the handshake, or without a key).
    const KcpSealer *sealer() const noexcept { return m_sealer.get(); }
    std::uint32_t lastReceive() const noexcept { return m_lastReceive; }
    std::uint32_t handshakeRtt() const noexcept { return m_handshakeRtt; }
    std::uint32_t keepaliveRtt() const noexcept { return m_pingRtt; }
    std::uint64_t pingsSent() const noexcept { return m_pingsSent; }
    std::uint32_t effectiveKeepalive() const noexcept { return m_keepalive; }

    // Applies the KCP part of a configuration to an engine.
    static void configureEngine(KcpEngine &engine, const KcpSessionConfig &config);

private:
    void sendControl(const std::uint8_t *data, std::size_t size);
    void sendProtected(const std::uint8_t *payload, std::size_t size);
    void inputSecure(const std::uint8_t *data, std::size_t size, std::uint32_t now);
    void inputPayload(const std::uint8_t *data, std::size_t n, std::uint32_t now);
    bool startSealing(const KcpHandshakeSecrets &secrets);
    void sendBare(SessionPacketType type);
    void sendHello();
    void sendConfirm();
    void createEngine(std::uint32_t conv);
    void afterEngineWork(std::uint32_t now);
    void finish(KcpCloseReason reason);
    void handleControl(const std::uint8_t *p, std::size_t n, std::uint32_t now);
    void markConfirmed(std::uint32_t now);
    bool isStaleUnknownConvReset(const std::uint8_t *p, std::size_t n, std::uint32_t now) const;
    void inputKcp(const std::uint8_t *data, std::size_t size, std::uint32_t now);
    void updatePlain(std::uint32_t now);
    std::uint32_t checkPlain(std::uint32_t now) const noexcept;
    std::uint32_t retryInterval() const noexcept;

    KcpSessionConfig m_config;
    KcpSessionHandler *m_handler;
    std::unique_ptr<KcpEngine> m_engine;
    std::unique_ptr<KcpPacketTransform> m_transform;
    std::unique_ptr<KcpSealer> m_sealer;
    std::array<std::uint8_t, 32> m_macKey {};
    std::uint8_t m_clientRandom[kSessionRandomSize] {};
    std::uint8_t m_serverRandom[kSessionRandomSize] {};
    std::uint64_t m_pnAtConfirm = 0; // client: our first packet number after the server confirmed the session
    KcpSessionDrops m_drops;
    std::uint64_t m_nonce = 0;
    std::uint64_t m_cookie = 0;
    std::uint64_t m_bytesSentReported = 0;
    std::uint64_t m_pingsSent = 0;
    std::uint32_t m_cookieIssued = 0;
    std::uint32_t m_conv = 0;
    std::uint32_t m_startedAt = 0;     // connect() / acceptConfirmed()
    std::uint32_t m_nextRetry = 0;     // next HELLO / CONFIRM retransmission
    std::uint32_t m_nextFinRetry = 0;  // next FIN retransmission
    std::uint32_t m_confirmedAt = 0;   // client: when the server first showed it has our session
    std::uint32_t m_retryStep = 0;
    std::uint32_t m_finSentAt = 0;
    std::uint32_t m_lastReceive = 0;
    std::uint32_t m_lastActivity = 0;  // application data sent or received (idle timeout)
    std::uint32_t m_nextPing = 0;
    std::uint32_t m_keepalive = 0;
    std::uint32_t m_handshakeRtt = 0;
    std::uint32_t m_pingRtt = 0;
    std::uint32_t m_now = 0;          // last time passed in (for the transform on output)
    std::uint32_t m_lastProgress = 0; // plain mode: last receive, or when we started waiting for an answer
    KcpSessionState m_state = KcpSessionState::Unconnected;
    KcpCloseReason m_reason = KcpCloseReason::None;
    SessionRejectReason m_rejectReason {};
    Role m_role;
    bool m_confirmPending = false;
    bool m_finSent = false;
    bool m_helloRetransmitted = false;
    bool m_waitStarts = false; // plain mode: send() on an idle engine; the wait for the peer starts at update()
};

} // namespace kcpnet
