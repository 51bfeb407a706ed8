// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Private implementation of QKcpSocket. Not part of the API.
#ifndef QKCPSOCKET_P_H
#define QKCPSOCKET_P_H

#include "qkcpscheduler_p.h"
#include "qkcpsocket.h"

#include "kcpsession.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qqueue.h>
#include <QtNetwork/qhostinfo.h>
#if QT_CONFIG(dtls)
#include "qkcpdtls_p.h"
#endif

#include <functional>
#include <memory>

class QUdpSocket;
class QKcpServerPrivate;

// Sizes the kernel buffers of a UDP socket for the configured windows.
void qkcpTuneUdpBuffers(QUdpSocket *udp, const kcpnet::KcpSessionConfig &config);
// The kcp-go packet layers (FEC, cipher) a plain-KCP configuration asks for; nullptr when none.
// Sets *error and returns nullptr when the configuration names something unsupported.
std::unique_ptr<kcpnet::KcpPacketTransform> qkcpMakeTransform(const QKcpConfig &config, QString *error);
// The session configuration of `config`; with DTLS, each datagram travels as one record, so the MTU leaves room for
// `dtlsOverhead` bytes of record header, nonce and tag.
kcpnet::KcpSessionConfig qkcpSessionConfig(const QKcpConfig &config, int dtlsOverhead);
// How long a DTLS handshake may take (and a finished one may wait for its session): the connect timeout, 1 s..10 min.
int qkcpDtlsHandshakeTimeout(const QKcpConfig &config);

class QKcpSocketPrivate : public kcpnet::KcpSessionHandler, public QKcpScheduled
{
public:
    explicit QKcpSocketPrivate(QKcpSocket *q);
    ~QKcpSocketPrivate() override;

    // Client side
    void connectToHostImpl(const QString &hostName, quint16 port, QIODevice::OpenMode mode);
    void startLookup(const QString &hostName);
    void lookupFinished(const QHostInfo &info);
    void cancelLookup();
    void startConnecting(const QHostAddress &address);
    // Client: creates the session and sends HELLO (certificate mode: once DTLS is up, its overhead known).
    void startSession(qint64 now);
    // Ends the connection at once with `e` (the session, if any, is failed quietly; data received stays readable).
    void failConnection(QAbstractSocket::SocketError e, const QString &text);
#if QT_CONFIG(dtls)
    void readDtls(const char *data, qsizetype size, qint64 now);
    void dtlsEstablished(qint64 now);
    void dtlsVerificationFailed(qint64 now);
    void cacheSslPeer();
#endif
    void readUdp();
    void udpError();
    // Server side: the handshake was verified by the server; the session starts Connected. `overhead`: bytes a
    // DTLS record adds to each datagram (0 without DTLS), taken from the MTU.
    void initServerSide(QKcpServerPrivate *srv, quint32 conv, const QHostAddress &address, quint16 port,
                        const kcpnet::KcpHandshakeSecrets *secrets, int overhead);
    // Server side, plain KCP: the first datagram(s) from a new peer, already decoded by `transform`.
    void initServerSidePlain(QKcpServerPrivate *srv, quint32 conv, const QHostAddress &address, quint16 port,
                             std::unique_ptr<kcpnet::KcpPacketTransform> transform,
                             const QList<QByteArray> &decoded);

    // A datagram from the peer (client: its own socket; server side: routed by the server).
    void processDatagram(const char *data, qsizetype size, qint64 now);
    // Runs the session: timers, flush, write pump, read drain, then signals. Reschedules.
    void run(qint64 now);
    void onScheduled(qint64 now) override { run(now); }

    void pumpWrites();
    void compactWhenIdle(qint64 now);
    void drainReadable();
    void dispatchEvents();
    void reschedule(qint64 now);
    void applyLiveConfig();
    void releaseTransport();
    void resetForConnect();

    void setState(QAbstractSocket::SocketState s);
    void setError(QAbstractSocket::SocketError e, const QString &text);
    void setErrorAndEmit(QAbstractSocket::SocketError e, const QString &text);

    // Blocking helpers: drive this socket (and its transport) until `done` or the deadline.
    bool waitUntil(int msecs, const std::function<bool()> &done);
    bool pollTransport(int msecs);
    qint64 engineUnsent() const;
    qint64 availableBytes() const;

    // KcpSessionHandler: record events; they are turned into signals by dispatchEvents() once the session call
    // has returned, so slots can do anything (even abort() or deleteLater()) safely.
    void sessionSend(const std::uint8_t *data, std::size_t size) override;
    void sessionConnected() override { evConnected = true; }
    void sessionReadable() override { evReadable = true; }
    void sessionBytesSent(std::uint64_t bytes) override { evBytesSent += bytes; }
    void sessionClosed(kcpnet::KcpCloseReason reason) override
    {
        evClosed = true;
        closeReason = reason;
    }
    void sessionNewConversation(std::uint32_t conv, const std::uint8_t *data, std::size_t size) override;

    QKcpSocket *q_ptr;
    QKcpConfig config;
    std::unique_ptr<kcpnet::KcpSession> session;
    QUdpSocket *udp = nullptr;            // client: its own UDP socket
    QKcpServerPrivate *server = nullptr;  // server side: the server's shared socket
    QHostAddress peerAddress;
    quint16 peerPort = 0;
    QString peerName;
    QHostAddress bindAddress;
    quint16 bindPort = 0;
    QAbstractSocket::BindMode bindMode = QAbstractSocket::DefaultForPlatform;
    bool bindRequested = false;
    QHash<int, QVariant> socketOptions; // applied to the UDP socket when it exists
    QAbstractSocket::SocketState state = QAbstractSocket::UnconnectedState;
    QAbstractSocket::SocketError error = QAbstractSocket::UnknownSocketError;
    int lookupId = -1;
    quint64 lookupAttempt = 0; // invalidates stale asynchronous lookups
    qint64 startedAt = 0;
    qint64 idleSince = 0; // when the engine last became idle (0 = busy)
    bool compacted = false;
    qint64 lastReceive = 0;

    // Read side. Stream mode: unread bytes are rbuf[rpos..]. Message mode: whole messages, the first one
    // possibly partly read (mpos bytes consumed).
    QByteArray rbuf;
    qsizetype rpos = 0;
    QQueue<QByteArray> messages;
    qsizetype mpos = 0;
    qint64 messageBytes = 0; // unread bytes over all queued messages
    qint64 readBufferSize = 0;

    // Write side: data not yet handed to KCP (stream chunks or whole messages).
    QQueue<QByteArray> wqueue;
    qsizetype wpos = 0;
    qint64 wbytes = 0;
    qint64 writeBufferLimit = 0;
    quint64 toEngine = 0;     // payload bytes handed to KCP
    quint64 sentByEngine = 0; // payload bytes KCP has transmitted (first transmissions)

    // Wire counters (every datagram, control packets included)
    quint64 datagramsIn = 0;
    quint64 datagramsOut = 0;
    quint64 wireIn = 0;
    quint64 wireOut = 0;

#if QT_CONFIG(dtls)
    // Certificate mode. The SSL state is allocated on first use: sockets that never use DTLS (most of a server's
    // thousands) pay one pointer for it.
    struct Ssl {
        QSslConfiguration configuration = QSslConfiguration::defaultDtlsConfiguration();
        QString peerName;                 // verification name given to connectToHostEncrypted() (empty: host name)
        QList<QSslError> errorsToIgnore;  // ignoreSslErrors(list)
        bool ignoreAll = false;           // ignoreSslErrors() during sslErrors()
        QList<QSslError> handshakeErrors;
        QSslCertificate peerCertificate;
        QList<QSslCertificate> peerChain;
        QSslCipher cipher;
        QSsl::SslProtocol protocol = QSsl::UnknownProtocol;
    };
    std::unique_ptr<Ssl> ssl;
    Ssl &sslState()
    {
        if (!ssl)
            ssl = std::make_unique<Ssl>();
        return *ssl;
    }
    bool dtlsRequested = false;       // this connect uses DTLS
    QKcpDtlsClient *dtls = nullptr;   // client: the association (child of q)
    int dtlsOverhead = 0;             // bytes DTLS adds to each datagram once established
#endif
    bool dtlsEncrypted = false;       // a DTLS association protects this connection
    quint64 dtlsUnauthentic = 0;      // DTLS application records that failed authentication (dropped)

    // Tracing: a bounded ring of protocol events
    QList<QKcpTraceEvent> traceRing;
    qsizetype traceHead = 0; // index of the oldest event once the ring is full
    int traceCapacity = 0;   // 0 = not tracing
    void attachTrace();
    void recordTrace(const kcpnet::KcpTraceRecord &r);

    // Pending events
    kcpnet::KcpCloseReason closeReason = kcpnet::KcpCloseReason::None;
    quint64 evBytesSent = 0;
    bool evConnected = false;
    bool evReadable = false;
    bool evClosed = false;
    bool emittingReadyRead = false;
    bool emittingBytesWritten = false;
    bool dispatching = false;

    Q_DECLARE_PUBLIC(QKcpSocket)
};

#endif // QKCPSOCKET_P_H
