// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpsocket.h"
#include "qkcpsocket_p.h"

#include "qkcpconfig_p.h"
#include "qkcpserver.h"
#include "qkcpserver_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qeventloop.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qnetworkdatagram.h>
#include <QtNetwork/qudpsocket.h>

#include <algorithm>
#include <cstring>

#ifdef Q_OS_LINUX
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

using kcpnet::KcpCloseReason;
using kcpnet::KcpSession;
using kcpnet::KcpSessionState;

Q_LOGGING_CATEGORY(lcKcpSocket, "kcpnet.socket", QtWarningMsg)

namespace {

constexpr int kReadBatch = 64;              // datagrams read per event before the event loop turns again
constexpr qsizetype kMaxDatagram = 65536;
constexpr qsizetype kCompactThreshold = 64 * 1024;

QString closeReasonText(KcpCloseReason r, kcpnet::SessionRejectReason reject)
{
    switch (r) {
    case KcpCloseReason::PeerClosed:
        return QKcpSocket::tr("The remote host closed the connection");
    case KcpCloseReason::PeerReset:
        return QKcpSocket::tr("Connection reset by peer");
    case KcpCloseReason::PeerTimeout:
        return QKcpSocket::tr("The remote host stopped answering (peer timeout)");
    case KcpCloseReason::DeadLink:
        return QKcpSocket::tr("The connection is dead: a segment was retransmitted too often");
    case KcpCloseReason::ConnectTimeout:
        return QKcpSocket::tr("Connection timed out: the server did not answer the handshake");
    case KcpCloseReason::Rejected:
        switch (reject) {
        case kcpnet::SessionRejectReason::Version:
            return QKcpSocket::tr("Connection refused: the server speaks another kcpnet protocol version");
        case kcpnet::SessionRejectReason::Mode:
            return QKcpSocket::tr("Connection refused: stream/message mode differs from the server's");
        case kcpnet::SessionRejectReason::Authentication:
            return QKcpSocket::tr("Handshake failed: the server could not authenticate us (the pre-shared keys "
                                  "differ)");
        case kcpnet::SessionRejectReason::Security:
            return QKcpSocket::tr("Handshake failed: the client and the server disagree about encryption (one uses "
                                  "a pre-shared key or certificates, the other does not)");
        case kcpnet::SessionRejectReason::Cipher:
            return QKcpSocket::tr("Handshake failed: the ciphers differ (the server does not offer the requested "
                                  "cipher, or uses a custom cipher under another name)");
        default:
            return QKcpSocket::tr("Connection refused by the server");
        }
    case KcpCloseReason::IdleTimeout:
        return QKcpSocket::tr("The connection was idle for too long");
    case KcpCloseReason::Refused:
        return QKcpSocket::tr("Connection refused");
    default:
        return QString();
    }
}

QAbstractSocket::SocketError closeReasonError(KcpCloseReason r, kcpnet::SessionRejectReason reject)
{
    if (r == KcpCloseReason::Rejected
        && (reject == kcpnet::SessionRejectReason::Authentication || reject == kcpnet::SessionRejectReason::Security
            || reject == kcpnet::SessionRejectReason::Cipher))
        return QAbstractSocket::SslHandshakeFailedError;
    switch (r) {
    case KcpCloseReason::PeerClosed:
    case KcpCloseReason::PeerReset:
        return QAbstractSocket::RemoteHostClosedError;
    case KcpCloseReason::PeerTimeout:
    case KcpCloseReason::DeadLink:
    case KcpCloseReason::ConnectTimeout:
    case KcpCloseReason::IdleTimeout:
        return QAbstractSocket::SocketTimeoutError;
    case KcpCloseReason::Rejected:
    case KcpCloseReason::Refused:
        return QAbstractSocket::ConnectionRefusedError;
    default:
        return QAbstractSocket::UnknownSocketError;
    }
}

// A plain (unencrypted) kcpnet REJECT with reason Security: what a server that does not speak DTLS answers to a
// ClientHello, and what a DTLS server answers to a plain HELLO.
bool isSecurityReject(const char *data, qsizetype size)
{
    const auto *p = reinterpret_cast<const std::uint8_t *>(data);
    const std::size_t n = kcpnet::sessionVerify(p, static_cast<std::size_t>(size));
    kcpnet::SessionReject reject;
    return n > 4 && p[4] == static_cast<std::uint8_t>(kcpnet::SessionPacketType::Reject)
        && kcpnet::decodeReject(p, n, reject)
        && reject.reason == static_cast<std::uint8_t>(kcpnet::SessionRejectReason::Security);
}

} // namespace

void qkcpTuneUdpBuffers(QUdpSocket *udp, const kcpnet::KcpSessionConfig &c)
{
    // A full window can arrive in one burst: the kernel's default UDP buffers (about 200 KB) would drop most of
    // it and turn a fast link into a retransmission storm. Ask for room for two windows, at least 1 MiB and at
    // most 8 MiB (the kernel caps this at net.core.rmem_max / wmem_max). Explicit socket options override it.
    const qint64 want = std::clamp<qint64>(2 * qint64(std::max(c.sendWindow, c.receiveWindow)) * c.mtu,
                                           1 << 20, 8 << 20);
    udp->setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, want);
    udp->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, want);
}

kcpnet::KcpSessionConfig qkcpSessionConfig(const QKcpConfig &config, int dtlsOverhead)
{
    kcpnet::KcpSessionConfig c = QKcpConfigPrivate::get(config);
    if (dtlsOverhead > 0 && c.mtu > std::uint32_t(dtlsOverhead) + kcpnet::kSessionMaxControlSize)
        c.mtu -= static_cast<std::uint32_t>(dtlsOverhead);
    return c;
}

int qkcpDtlsHandshakeTimeout(const QKcpConfig &config)
{
    return static_cast<int>(std::clamp<std::uint32_t>(QKcpConfigPrivate::get(config).connectTimeout, 1000, 600000));
}

namespace {

void applySocketOption(QUdpSocket *udp, int option, const QVariant &value)
{
    udp->setSocketOption(static_cast<QAbstractSocket::SocketOption>(option), value);
}

// ICMP "port unreachable" on a connected UDP socket. Qt peeks for datagrams before our readyRead slot runs, which
// consumes the socket's pending error, so the error would be lost. With IP_RECVERR the kernel also queues it on
// the socket's error queue, which we read here. (Linux; elsewhere a refused connect ends by its timeout.)
void enableErrorQueue(QUdpSocket *udp, QAbstractSocket::NetworkLayerProtocol protocol)
{
#ifdef Q_OS_LINUX
    const int fd = static_cast<int>(udp->socketDescriptor());
    const int on = 1;
    if (protocol == QAbstractSocket::IPv6Protocol)
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on); // also for v4-mapped traffic on a v6 socket
#else
    Q_UNUSED(udp);
    Q_UNUSED(protocol);
#endif
}

// True when the error queue holds an ICMP "port unreachable" (drains the queue, bounded).
bool takePortUnreachable(QUdpSocket *udp)
{
#ifdef Q_OS_LINUX
    const int fd = static_cast<int>(udp->socketDescriptor());
    bool refused = false;
    for (int i = 0; i < 16; ++i) {
        char data[64];
        char control[512];
        iovec iov {data, sizeof data};
        msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
            break;
        for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR)
                || (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
                sock_extended_err err;
                std::memcpy(&err, CMSG_DATA(c), sizeof err);
                if (err.ee_errno == ECONNREFUSED)
                    refused = true;
            }
        }
    }
    return refused;
#else
    Q_UNUSED(udp);
    return false;
#endif
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// QKcpSocketPrivate

QKcpSocketPrivate::QKcpSocketPrivate(QKcpSocket *q)
    : q_ptr(q)
{
}

QKcpSocketPrivate::~QKcpSocketPrivate()
{
    QKcpScheduler::instance()->remove(this);
}

void QKcpSocketPrivate::setState(QAbstractSocket::SocketState s)
{
    Q_Q(QKcpSocket);
    if (state == s)
        return;
    state = s;
    emit q->stateChanged(s);
}

void QKcpSocketPrivate::setError(QAbstractSocket::SocketError e, const QString &text)
{
    Q_Q(QKcpSocket);
    error = e;
    q->setErrorString(text);
}

void QKcpSocketPrivate::setErrorAndEmit(QAbstractSocket::SocketError e, const QString &text)
{
    Q_Q(QKcpSocket);
    setError(e, text);
    emit q->errorOccurred(e);
}

void QKcpSocketPrivate::resetForConnect()
{
    session.reset();
    rbuf.clear();
    rpos = 0;
    messages.clear();
    mpos = 0;
    messageBytes = 0;
    toEngine = 0;
    sentByEngine = 0;
    datagramsIn = datagramsOut = wireIn = wireOut = 0;
    evConnected = evReadable = evClosed = false;
    evBytesSent = 0;
    closeReason = KcpCloseReason::None;
    error = QAbstractSocket::UnknownSocketError;
    dtlsEncrypted = false;
    dtlsUnauthentic = 0;
#if QT_CONFIG(dtls)
    if (ssl) {
        ssl->ignoreAll = false;
        ssl->handshakeErrors.clear();
        ssl->peerCertificate = QSslCertificate();
        ssl->peerChain.clear();
        ssl->cipher = QSslCipher();
        ssl->protocol = QSsl::UnknownProtocol;
    }
    dtlsOverhead = 0;
#endif
}

void QKcpSocketPrivate::startLookup(const QString &hostName)
{
    Q_Q(QKcpSocket);
    setState(QAbstractSocket::HostLookupState);
    QHostAddress literal;
    if (literal.setAddress(hostName)) {
        // Like QAbstractSocket: a literal address still reports hostFound, without a DNS query.
        QHostInfo info;
        info.setAddresses({literal});
        lookupFinished(info);
        return;
    }
    // Start the asynchronous lookup on the next turn: a blocking waitForConnected() called right after
    // connectToHost() resolves synchronously instead, and nothing has to be aborted (Qt 6.4 leaks the callback
    // of an aborted lookup).
    const quint64 attempt = ++lookupAttempt;
    QMetaObject::invokeMethod(
        q,
        [this, attempt, hostName] {
            if (state != QAbstractSocket::HostLookupState || attempt != lookupAttempt || lookupId != -1)
                return;
            lookupId = QHostInfo::lookupHost(hostName, q_func(), [this, attempt](const QHostInfo &info) {
                if (attempt == lookupAttempt)
                    lookupFinished(info);
            });
        },
        Qt::QueuedConnection);
}

void QKcpSocketPrivate::cancelLookup()
{
    if (lookupId != -1)
        QHostInfo::abortHostLookup(lookupId);
    lookupId = -1;
    ++lookupAttempt; // a pending asynchronous start or answer is now stale
}

void QKcpSocketPrivate::lookupFinished(const QHostInfo &info)
{
    Q_Q(QKcpSocket);
    if (state != QAbstractSocket::HostLookupState)
        return;
    lookupId = -1;
    QList<QHostAddress> addresses = info.addresses();
    if (bindRequested && !bindAddress.isNull() && bindAddress != QHostAddress::Any
        && bindAddress != QHostAddress::AnyIPv6) {
        // Prefer addresses of the bound protocol.
        std::stable_partition(addresses.begin(), addresses.end(), [this](const QHostAddress &a) {
            return a.protocol() == bindAddress.protocol();
        });
    }
    if (info.error() != QHostInfo::NoError || addresses.isEmpty()) {
        setState(QAbstractSocket::UnconnectedState);
        setErrorAndEmit(QAbstractSocket::HostNotFoundError,
                        info.errorString().isEmpty() ? QKcpSocket::tr("Host not found") : info.errorString());
        return;
    }
    QPointer<QKcpSocket> guard(q);
    emit q->hostFound();
    if (!guard || state != QAbstractSocket::HostLookupState)
        return;
    startConnecting(addresses.first());
}

void QKcpSocketPrivate::startConnecting(const QHostAddress &address)
{
    Q_Q(QKcpSocket);
    peerAddress = address;
    setState(QAbstractSocket::ConnectingState);
    if (state != QAbstractSocket::ConnectingState)
        return;

    udp = new QUdpSocket(q);
    QObject::connect(udp, &QUdpSocket::readyRead, q, [this] { readUdp(); });
    QObject::connect(udp, &QUdpSocket::errorOccurred, q, [this](QAbstractSocket::SocketError) { udpError(); });

    QHostAddress local = bindAddress;
    if (!bindRequested || local.isNull())
        local = address.protocol() == QAbstractSocket::IPv6Protocol ? QHostAddress(QHostAddress::AnyIPv6)
                                                                     : QHostAddress(QHostAddress::AnyIPv4);
    if (!udp->bind(local, bindRequested ? bindPort : 0, bindRequested ? bindMode : QAbstractSocket::DefaultForPlatform)) {
        const QAbstractSocket::SocketError e = udp->error();
        const QString text = udp->errorString();
        releaseTransport();
        setState(QAbstractSocket::UnconnectedState);
        setErrorAndEmit(e, text);
        return;
    }
    qkcpTuneUdpBuffers(udp, QKcpConfigPrivate::get(config));
    for (auto it = socketOptions.cbegin(); it != socketOptions.cend(); ++it)
        applySocketOption(udp, it.key(), it.value());
    // A connected UDP socket: the kernel filters other senders and reports ICMP "port unreachable", so
    // connecting to a port nobody listens on fails at once with ConnectionRefusedError, as with TCP.
    udp->connectToHost(address, peerPort);
    enableErrorQueue(udp, address.protocol());

    const qint64 now = qkcpNow();
    startedAt = now;
    lastReceive = now;
#if QT_CONFIG(dtls)
    if (dtlsRequested) {
        // Certificate mode: DTLS first; the session starts once it is up (dtlsEstablished()).
        const Ssl &s = sslState();
        dtls = new QKcpDtlsClient(s.configuration, address, peerPort, s.peerName.isEmpty() ? peerName : s.peerName, q);
        dtls->setHandshakeTimeout(qkcpDtlsHandshakeTimeout(config));
        if (!s.errorsToIgnore.isEmpty())
            dtls->ignoreVerificationErrors(s.errorsToIgnore);
        QObject::connect(dtls, &QKcpDtlsClient::failed, q, [this](const QString &reason) {
            failConnection(QAbstractSocket::SocketTimeoutError,
                           QKcpSocket::tr("Connection timed out: %1 (does the server listen with a certificate?)")
                                   .arg(reason));
        });
        if (!dtls->startHandshake(udp))
            failConnection(QAbstractSocket::SslHandshakeFailedError,
                           QKcpSocket::tr("Cannot start the DTLS handshake: %1").arg(dtls->errorString()));
        return;
    }
#endif
    startSession(now);
}

void QKcpSocketPrivate::startSession(qint64 now)
{
    int overhead = 0;
#if QT_CONFIG(dtls)
    overhead = dtlsOverhead;
#endif
    session = std::make_unique<KcpSession>(KcpSession::Role::Client, qkcpSessionConfig(config, overhead), this);
    if (config.protocol() == QKcpConfig::PlainKcp) {
        QString problem;
        std::unique_ptr<kcpnet::KcpPacketTransform> transform = qkcpMakeTransform(config, &problem);
        if (!problem.isEmpty()) {
            session.reset();
            releaseTransport();
            setState(QAbstractSocket::UnconnectedState);
            setErrorAndEmit(QAbstractSocket::UnsupportedSocketOperationError, problem);
            return;
        }
        session->setTransform(std::move(transform));
    }
    session->connect(qkcpNow32(now));
    if (config.protocol() == QKcpConfig::PlainKcp)
        QKcpScheduler::instance()->markDirty(this); // connected() at the end of this turn, like a real connect
    reschedule(now);
}

void QKcpSocketPrivate::failConnection(QAbstractSocket::SocketError e, const QString &text)
{
    Q_Q(QKcpSocket);
    QPointer<QKcpSocket> guard(q);
    const bool wasConnected = state == QAbstractSocket::ConnectedState || state == QAbstractSocket::ClosingState;
    if (session && session->state() != KcpSessionState::Closed && session->state() != KcpSessionState::Unconnected)
        session->fail(e == QAbstractSocket::ConnectionRefusedError ? KcpCloseReason::Refused
                                                                   : KcpCloseReason::PeerReset);
    evClosed = false;
    drainReadable();
    releaseTransport();
    QKcpScheduler::instance()->remove(this);
    wqueue.clear();
    wpos = 0;
    wbytes = 0;
    setErrorAndEmit(e, text);
    if (!guard)
        return;
    setState(QAbstractSocket::UnconnectedState);
    if (guard && wasConnected)
        emit q->disconnected();
}

#if QT_CONFIG(dtls)
void QKcpSocketPrivate::readDtls(const char *data, qsizetype size, qint64 now)
{
    QByteArray plain;
    switch (dtls->handleDatagram(udp, QByteArray::fromRawData(data, size), &plain)) {
    case QKcpDtlsClient::Result::Data:
        processDatagram(plain.constData(), plain.size(), now);
        wireIn += static_cast<quint64>(size - plain.size()); // count what came over the wire
        break;
    case QKcpDtlsClient::Result::HandshakeComplete:
        dtlsEstablished(now);
        break;
    case QKcpDtlsClient::Result::VerificationErrors:
        dtlsVerificationFailed(now);
        break;
    case QKcpDtlsClient::Result::Failed: {
        const bool established = state == QAbstractSocket::ConnectedState || state == QAbstractSocket::ClosingState;
        QString text;
        if (established)
            text = QKcpSocket::tr("The remote host closed the connection: %1").arg(dtls->errorString());
        else if (dtlsEncrypted) // our side had completed: the server checks a client certificate only then
            text = QKcpSocket::tr("DTLS handshake failed: the server ended the association at once (it may require a "
                                  "client certificate it trusts): %1")
                           .arg(dtls->errorString());
        else
            text = QKcpSocket::tr("DTLS handshake failed: %1").arg(dtls->errorString());
        failConnection(established ? QAbstractSocket::RemoteHostClosedError : QAbstractSocket::SslHandshakeFailedError,
                       text);
        break;
    }
    case QKcpDtlsClient::Result::Nothing:
    case QKcpDtlsClient::Result::HandshakeInProgress:
        if (dtls->isEncrypted() && size > 0 && static_cast<uchar>(data[0]) == 23)
            ++dtlsUnauthentic; // an application-data record that did not decrypt: tampered, or not for us
        else if (!dtls->isEncrypted() && isSecurityReject(data, size))
            failConnection(QAbstractSocket::SslHandshakeFailedError,
                           QKcpSocket::tr("Handshake failed: the server does not use certificates (DTLS); connect "
                                          "with connectToHost() and the server's settings"));
        break;
    }
}

void QKcpSocketPrivate::cacheSslPeer()
{
    Ssl &s = sslState();
    s.peerCertificate = dtls->peerCertificate();
    s.peerChain = dtls->peerCertificateChain();
    s.cipher = dtls->sessionCipher();
    s.protocol = dtls->sessionProtocol();
}

void QKcpSocketPrivate::dtlsEstablished(qint64 now)
{
    Q_Q(QKcpSocket);
    QPointer<QKcpSocket> guard(q);
    dtlsEncrypted = true;
    dtlsOverhead = dtls->overhead();
    cacheSslPeer();
    emit q->encrypted();
    if (!guard || state != QAbstractSocket::ConnectingState || !dtls || session)
        return;
    startSession(now);
}

void QKcpSocketPrivate::dtlsVerificationFailed(qint64 now)
{
    Q_Q(QKcpSocket);
    QPointer<QKcpSocket> guard(q);
    Ssl &s = sslState();
    s.handshakeErrors = dtls->peerVerificationErrors();
    s.ignoreAll = false;
    const QList<QSslError> errors = s.handshakeErrors; // a slot may change the state
    emit q->sslErrors(errors);
    if (!guard || state != QAbstractSocket::ConnectingState || !dtls)
        return;
    const bool ignored = s.ignoreAll || std::all_of(errors.cbegin(), errors.cend(), [&s](const QSslError &e) {
                             return s.errorsToIgnore.contains(e);
                         });
    if (ignored) {
        dtls->ignoreVerificationErrors(s.ignoreAll ? errors : s.errorsToIgnore);
        if (dtls->resumeHandshake(udp)) {
            dtlsEstablished(now);
            return;
        }
    }
    QStringList reasons;
    for (const QSslError &e : errors)
        reasons.append(e.errorString());
    failConnection(QAbstractSocket::SslHandshakeFailedError,
                   QKcpSocket::tr("The server's certificate did not verify: %1").arg(reasons.join(QLatin1String("; "))));
}
#endif

void QKcpSocketPrivate::initServerSide(QKcpServerPrivate *srv, quint32 conv, const QHostAddress &address,
                                       quint16 port, const kcpnet::KcpHandshakeSecrets *secrets, int overhead)
{
    Q_Q(QKcpSocket);
    server = srv;
    peerAddress = address;
    peerPort = port;
    peerName = address.toString();
    q->QIODevice::open(QIODevice::ReadWrite | QIODevice::Unbuffered);
    const qint64 now = qkcpNow();
    startedAt = now;
    lastReceive = now;
    state = QAbstractSocket::ConnectedState; // born connected: no signals before the server hands it out
    session = std::make_unique<KcpSession>(KcpSession::Role::Server, qkcpSessionConfig(config, overhead), this);
    session->acceptConfirmed(conv, qkcpNow32(now), secrets);
    attachTrace();
    reschedule(now);
}

void QKcpSocketPrivate::initServerSidePlain(QKcpServerPrivate *srv, quint32 conv, const QHostAddress &address,
                                            quint16 port, std::unique_ptr<kcpnet::KcpPacketTransform> transform,
                                            const QList<QByteArray> &decoded)
{
    Q_Q(QKcpSocket);
    server = srv;
    peerAddress = address;
    peerPort = port;
    peerName = address.toString();
    q->QIODevice::open(QIODevice::ReadWrite | QIODevice::Unbuffered);
    const qint64 now = qkcpNow();
    startedAt = now;
    lastReceive = now;
    state = QAbstractSocket::ConnectedState;
    session = std::make_unique<KcpSession>(KcpSession::Role::Server, QKcpConfigPrivate::get(config), this);
    session->setTransform(std::move(transform));
    session->acceptPlain(conv, qkcpNow32(now));
    attachTrace();
    for (const QByteArray &packet : decoded) {
        ++datagramsIn;
        wireIn += static_cast<quint64>(packet.size());
        session->inputDecoded(reinterpret_cast<const std::uint8_t *>(packet.constData()),
                              static_cast<std::size_t>(packet.size()), qkcpNow32(now));
    }
    QKcpScheduler::instance()->markDirty(this);
    reschedule(now);
}

void QKcpSocketPrivate::sessionNewConversation(std::uint32_t conv, const std::uint8_t *data, std::size_t size)
{
    // kcp-go's rule: a new conv starting at sn 0 from our peer's address means the client restarted.
    if (server)
        server->replacePlain(this, conv, QByteArray(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size)));
}

void QKcpSocketPrivate::releaseTransport()
{
#if QT_CONFIG(dtls)
    if (dtls) {
        QObject::disconnect(dtls, nullptr, q_func(), nullptr);
        if (udp)
            dtls->shutdown(udp); // close_notify: the server forgets the association at once
        dtls->deleteLater();
        dtls = nullptr;
    }
#endif
    if (udp) {
        udp->disconnect();
        udp->close();
        udp->deleteLater();
        udp = nullptr;
    }
    if (server) {
        QKcpServerPrivate *srv = server;
        server = nullptr;
        srv->sessionEnded(this);
    }
}

void QKcpSocketPrivate::sessionSend(const std::uint8_t *data, std::size_t size)
{
    ++datagramsOut;
    wireOut += size;
    if (udp) {
#if QT_CONFIG(dtls)
        if (dtls) {
            wireOut += static_cast<quint64>(dtlsOverhead);
            if (!dtls->write(udp, reinterpret_cast<const char *>(data), static_cast<qsizetype>(size)))
                qCDebug(lcKcpSocket) << "DTLS send failed:" << dtls->errorString();
            return;
        }
#endif
        if (udp->write(reinterpret_cast<const char *>(data), static_cast<qint64>(size)) < 0)
            qCDebug(lcKcpSocket) << "UDP send failed:" << udp->errorString();
    } else if (server) {
#if QT_CONFIG(dtls)
        wireOut += static_cast<quint64>(dtlsOverhead);
#endif
        server->sendTo(data, size, peerAddress, peerPort);
    }
}

void QKcpSocketPrivate::readUdp()
{
    if (!udp)
        return;
    Q_Q(QKcpSocket);
    QPointer<QKcpSocket> guard(q);
    const qint64 now = qkcpNow();
    // Read until the socket is empty: readDatagram() says so with -1 (errorOccurred(TemporaryError), which
    // udpError() ignores); asking hasPendingDatagrams() first would cost a MSG_PEEK system call per datagram.
    char buffer[kMaxDatagram];
    int got = 0;
    for (; got < kReadBatch && udp; ++got) {
        const qint64 n = udp->readDatagram(buffer, sizeof buffer);
        if (n < 0)
            break;
#if QT_CONFIG(dtls)
        if (dtls) {
            readDtls(buffer, n, now); // may emit signals
            if (!guard)
                return;
            continue;
        }
#endif
        processDatagram(buffer, n, now);
    }
    // Anything left is read on the next turn (the read notifier stays armed), so timers get their turn too.
    // Woken with nothing to read: an ICMP error may be what made the socket readable.
    if (got == 0 && udp && takePortUnreachable(udp)) {
#if QT_CONFIG(dtls)
        if (dtls && !session) {
            failConnection(QAbstractSocket::ConnectionRefusedError,
                           closeReasonText(KcpCloseReason::Refused, kcpnet::SessionRejectReason {}));
            return;
        }
#endif
        // Only fatal during the handshake (or in plain mode, where nothing else tells us); later a stray
        // ICMP message must not end a session that the peer keeps answering.
        if (session && (session->state() == KcpSessionState::Connecting
                        || (config.protocol() == QKcpConfig::PlainKcp && session->engine()
                            && session->engine()->counters().datagramsReceived == 0))) {
            session->fail(KcpCloseReason::Refused);
            run(now);
        }
    }
}

void QKcpSocketPrivate::udpError()
{
    if (!udp || !session)
        return;
    // Datagram sockets report transient conditions here ("no datagram available" after an ICMP error was
    // consumed, a full send buffer): readUdp() and the session's timers decide what is fatal.
    qCDebug(lcKcpSocket) << "UDP error:" << udp->error() << udp->errorString();
}

void QKcpSocketPrivate::processDatagram(const char *data, qsizetype size, qint64 now)
{
    if (!session)
        return;
    ++datagramsIn;
    wireIn += static_cast<quint64>(size);
    const quint32 before = session->lastReceive();
    session->input(reinterpret_cast<const std::uint8_t *>(data), static_cast<std::size_t>(size), qkcpNow32(now));
    if (session->lastReceive() != before)
        lastReceive = now; // a valid datagram from the peer (not one dropped by the checksum)
    // Flush (ACKs, new data) and signals once per batch, at the end of this event-loop turn.
    QKcpScheduler::instance()->markDirty(this);
}

qint64 QKcpSocketPrivate::engineUnsent() const
{
    return static_cast<qint64>(toEngine - sentByEngine);
}

qint64 QKcpSocketPrivate::availableBytes() const
{
    return config.mode() == QKcpConfig::StreamMode ? rbuf.size() - rpos : messageBytes;
}

void QKcpSocketPrivate::pumpWrites()
{
    if (!session || session->state() != KcpSessionState::Connected || wqueue.isEmpty())
        return;
    kcpnet::KcpEngine *engine = session->engine();
    // Keep KCP's own queue short (two windows): the rest waits here, where bytesToWrite() and the write
    // buffer limit can see it.
    const std::uint32_t limit = 2 * engine->sendWindow();
    const bool stream = config.mode() == QKcpConfig::StreamMode;
    while (!wqueue.isEmpty() && engine->waitSnd() < limit) {
        const QByteArray &front = wqueue.front();
        if (stream) {
            const qsizetype room = static_cast<qsizetype>(limit - engine->waitSnd()) * engine->mss();
            const qsizetype n = std::min(front.size() - wpos, room);
            session->send(reinterpret_cast<const std::uint8_t *>(front.constData()) + wpos, static_cast<int>(n));
            wpos += n;
            wbytes -= n;
            toEngine += static_cast<quint64>(n);
            if (wpos == front.size()) {
                wqueue.dequeue();
                wpos = 0;
            }
        } else {
            const qsizetype n = front.size();
            if (session->send(reinterpret_cast<const std::uint8_t *>(front.constData()), static_cast<int>(n)) < 0)
                qCWarning(lcKcpSocket) << "message of" << n << "bytes refused by KCP";
            else
                toEngine += static_cast<quint64>(n);
            wbytes -= n;
            wqueue.dequeue();
        }
    }
}

void QKcpSocketPrivate::drainReadable()
{
    if (!session || !session->engine())
        return;
    kcpnet::KcpEngine *engine = session->engine();
    if (config.mode() == QKcpConfig::StreamMode) {
        for (int size; (size = engine->peekSize()) > 0;) {
            qint64 want = size;
            if (readBufferSize > 0) {
                want = std::min<qint64>(want, readBufferSize - (rbuf.size() - rpos));
                if (want <= 0)
                    break;
            }
            if (rpos > kCompactThreshold && rpos * 2 > rbuf.size()) {
                rbuf.remove(0, rpos);
                rpos = 0;
            }
            const qsizetype old = rbuf.size();
            rbuf.resize(old + want);
            const int got = engine->recv(reinterpret_cast<std::uint8_t *>(rbuf.data()) + old, static_cast<int>(want));
            rbuf.resize(old + std::max(got, 0));
            if (got <= 0)
                break;
        }
    } else {
        for (int size; (size = engine->peekSize()) >= 0;) {
            if (readBufferSize > 0 && messageBytes > 0 && messageBytes + size > readBufferSize)
                break;
            QByteArray message(size, Qt::Uninitialized);
            if (engine->recv(reinterpret_cast<std::uint8_t *>(message.data()), size) < 0)
                break;
            messageBytes += size;
            messages.enqueue(std::move(message));
        }
    }
}

void QKcpSocketPrivate::reschedule(qint64 now)
{
    if (!session)
        return;
    const KcpSessionState s = session->state();
    if (s == KcpSessionState::Closed || s == KcpSessionState::Unconnected) {
        QKcpScheduler::instance()->remove(this);
        return;
    }
    const std::uint32_t now32 = qkcpNow32(now);
    const std::int32_t delay = kcpnet::kcpDiff(session->check(now32), now32);
    QKcpScheduler::instance()->schedule(this, now + std::max(delay, 0));
}

void QKcpSocketPrivate::run(qint64 now)
{
    if (!session)
        return;
    Q_Q(QKcpSocket);
    QPointer<QKcpSocket> guard(q);
    pumpWrites();
    // disconnectFromHost() with data still queued here: FIN waits until KCP has all of it.
    if (state == QAbstractSocket::ClosingState && session->state() == KcpSessionState::Connected && wqueue.isEmpty())
        session->close(qkcpNow32(now));
    session->update(qkcpNow32(now));
    pumpWrites();
    drainReadable();
    compactWhenIdle(now);
    dispatchEvents();
    if (!guard)
        return;
    reschedule(now);
}

void QKcpSocketPrivate::compactWhenIdle(qint64 now)
{
    // A session that moved bulk data keeps its queues' storage for reuse (tens of KiB); once it has been quiet
    // for a second, give it back, so that thousands of idle sessions stay small (an idle engine is ~0.5 KiB).
    kcpnet::KcpEngine *engine = session ? session->engine() : nullptr;
    if (!engine || !engine->isIdle() || engine->peekSize() >= 0) {
        idleSince = 0;
        compacted = false;
        return;
    }
    if (idleSince == 0) {
        idleSince = now;
    } else if (!compacted && now - idleSince >= 1000) {
        engine->compact();
        if (wqueue.isEmpty())
            wqueue.squeeze();
        compacted = true;
    }
}

void QKcpSocketPrivate::dispatchEvents()
{
    Q_Q(QKcpSocket);
    if (dispatching)
        return; // a slot called back into us; the outer loop picks up the new events
    dispatching = true;
    QPointer<QKcpSocket> guard(q);
    auto alive = [&] { return !guard.isNull(); };

    for (int round = 0; round < 8; ++round) {
        bool any = false;
        if (evConnected) {
            evConnected = false;
            any = true;
            attachTrace();
            peerName = peerName.isEmpty() ? peerAddress.toString() : peerName;
            pumpWrites(); // data written while connecting goes out with the CONFIRM
            session->update(qkcpNow32(qkcpNow()));
            setState(QAbstractSocket::ConnectedState);
            if (!alive())
                return;
            emit q->connected();
            if (!alive())
                return;
        }
        const qint64 before = availableBytes();
        const qsizetype messagesBefore = messages.size();
        drainReadable();
        {
            // An empty message is a message: in message mode count messages, not bytes.
            const bool stream = config.mode() == QKcpConfig::StreamMode;
            const bool fresh = evReadable || availableBytes() > before || messages.size() > messagesBefore;
            const bool readable = stream ? availableBytes() > 0 : !messages.isEmpty();
            evReadable = false;
            if (fresh && readable && !emittingReadyRead) {
                any = true;
                emittingReadyRead = true;
                emit q->readyRead();
                if (!alive())
                    return;
                emittingReadyRead = false;
            }
        }
        if (evBytesSent) {
            const quint64 n = evBytesSent;
            evBytesSent = 0;
            sentByEngine += n;
            if (!emittingBytesWritten) {
                any = true;
                emittingBytesWritten = true;
                emit q->bytesWritten(static_cast<qint64>(n));
                if (!alive())
                    return;
                emittingBytesWritten = false;
            }
        }
        if (evClosed) {
            evClosed = false;
            any = true;
            const KcpCloseReason reason = closeReason;
            const bool wasConnected = state == QAbstractSocket::ConnectedState || state == QAbstractSocket::ClosingState;
            drainReadable();
            releaseTransport();
            wqueue.clear();
            wpos = 0;
            wbytes = 0;
            const QAbstractSocket::SocketError e = closeReasonError(reason, session->rejectReason());
            if (reason == KcpCloseReason::PeerClosed) {
                emit q->readChannelFinished();
                if (!alive())
                    return;
            }
            if (e != QAbstractSocket::UnknownSocketError) {
                QString text = closeReasonText(reason, session->rejectReason());
                const bool silent = session->engine() && session->engine()->counters().datagramsReceived == 0;
                if (config.protocol() == QKcpConfig::PlainKcp && silent
                    && (reason == KcpCloseReason::PeerTimeout || reason == KcpCloseReason::DeadLink)) {
                    // Plain KCP has no handshake to tell what went wrong: say what we know.
                    text = session->drops().checksum > 0
                        ? QKcpSocket::tr("The peer's datagrams cannot be decoded: wrong key, cipher or FEC settings")
                        : QKcpSocket::tr("The peer never answered (plain KCP: check the address, the cipher and key, "
                                         "and the FEC settings)");
                }
                setErrorAndEmit(e, text);
                if (!alive())
                    return;
            }
            setState(QAbstractSocket::UnconnectedState);
            if (!alive())
                return;
            if (wasConnected)
                emit q->disconnected();
            if (!alive())
                return;
        }
        if (!any)
            break;
    }
    dispatching = false;
}

void QKcpSocketPrivate::attachTrace()
{
    if (!session || !session->engine())
        return;
    if (traceCapacity > 0)
        session->engine()->setTrace([this](const kcpnet::KcpTraceRecord &r) { recordTrace(r); });
    else
        session->engine()->setTrace({});
}

void QKcpSocketPrivate::recordTrace(const kcpnet::KcpTraceRecord &r)
{
    QKcpTraceEvent e;
    // Engine time is the 32-bit view of qkcpNow(): rebase it on this socket's start.
    e.time = static_cast<qint64>(static_cast<std::int32_t>(r.time - qkcpNow32(startedAt)));
    e.type = static_cast<QKcpTraceEvent::Type>(r.event);
    e.a = r.a;
    e.b = r.b;
    e.c = r.c;
    if (traceRing.size() < traceCapacity) {
        traceRing.append(e);
    } else {
        traceRing[traceHead] = e;
        traceHead = (traceHead + 1) % traceCapacity;
    }
}

void QKcpSocketPrivate::applyLiveConfig()
{
    if (!session || !session->engine())
        return;
    const kcpnet::KcpSessionConfig &c = QKcpConfigPrivate::get(config);
    kcpnet::KcpEngine *e = session->engine();
    e->setNoDelay(c.noDelay, static_cast<int>(c.interval), c.fastResend, !c.congestionControl);
    e->setMinRto(c.minRto);
    e->setWindowSize(c.sendWindow, c.receiveWindow);
    e->setDeadLink(c.deadLink);
    e->setRedundantRetransmits(c.redundantRetransmits);
    e->setAckNoDelay(c.ackNoDelay);
}

bool QKcpSocketPrivate::pollTransport(int msecs)
{
    if (udp)
        return udp->waitForReadyRead(msecs);
    if (server)
        return server->waitForIncoming(msecs);
    return false;
}

bool QKcpSocketPrivate::waitUntil(int msecs, const std::function<bool()> &done)
{
    Q_Q(QKcpSocket);
    QPointer<QKcpSocket> guard(q);
    QDeadlineTimer deadline(msecs < 0 ? QDeadlineTimer::Forever : QDeadlineTimer(msecs));
    for (;;) {
        if (done())
            return true;
        if (state == QAbstractSocket::HostLookupState) {
            // No event loop to deliver the asynchronous lookup: resolve here.
            cancelLookup();
            lookupFinished(QHostInfo::fromName(peerName));
            if (!guard)
                return false;
            continue;
        }
        bool dtlsHandshake = false; // certificate mode, before the session exists
#if QT_CONFIG(dtls)
        dtlsHandshake = dtls && !session && udp;
#endif
        if (!dtlsHandshake && (!session || session->state() == KcpSessionState::Closed || (!udp && !server))) {
            dispatchEvents();
            return guard && done();
        }
        const qint64 now = qkcpNow();
        run(now);
        if (!guard)
            return false;
        if (done())
            return true;
        if (deadline.hasExpired()) {
            setError(QAbstractSocket::SocketTimeoutError, QKcpSocket::tr("Socket operation timed out"));
            return false;
        }
        qint64 wait = deadline.remainingTime();
#if QT_CONFIG(dtls)
        if (dtlsHandshake && dtls) {
            // No event loop may run QDtls's retransmission timer here: drive it ourselves.
            dtls->retransmitIfDue(udp);
            wait = wait < 0 ? 200 : std::min<qint64>(wait, 200);
        }
#endif
        if (session && session->state() != KcpSessionState::Closed) {
            const std::uint32_t now32 = qkcpNow32(now);
            const qint64 due = std::max<qint64>(kcpnet::kcpDiff(session->check(now32), now32), 0);
            wait = wait < 0 ? due : std::min(wait, due);
        }
        pollTransport(static_cast<int>(std::clamp<qint64>(wait, 0, 1000)));
        if (!guard)
            return false;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// QKcpSocket

QKcpSocket::QKcpSocket(QObject *parent)
    : QKcpSocket(QKcpConfig(), parent)
{
}

QKcpSocket::QKcpSocket(const QKcpConfig &config, QObject *parent)
    : QIODevice(parent)
    , d_ptr(new QKcpSocketPrivate(this))
{
    d_ptr->config = config;
}

QKcpSocket::QKcpSocket(QKcpServerPrivate *server, const QKcpConfig &config, QObject *parent)
    : QIODevice(parent)
    , d_ptr(new QKcpSocketPrivate(this))
{
    Q_UNUSED(server);
    d_ptr->config = config;
}

QKcpSocket::~QKcpSocket()
{
    Q_D(QKcpSocket);
    // Like QAbstractSocket: destroying a connected socket aborts it (the peer is told).
    if (d->session && d->session->state() != KcpSessionState::Closed
        && d->session->state() != KcpSessionState::Unconnected)
        d->session->abort(qkcpNow32(qkcpNow()));
    d->cancelLookup();
    d->releaseTransport();
}

QKcpConfig QKcpSocket::config() const
{
    Q_D(const QKcpSocket);
    return d->config;
}

void QKcpSocket::setConfig(const QKcpConfig &config)
{
    Q_D(QKcpSocket);
    d->config = config;
    d->applyLiveConfig();
}

bool QKcpSocket::bind(const QHostAddress &address, quint16 port, QAbstractSocket::BindMode mode)
{
    Q_D(QKcpSocket);
    if (d->state != QAbstractSocket::UnconnectedState) {
        qCWarning(lcKcpSocket, "QKcpSocket::bind() called while not unconnected");
        return false;
    }
    d->bindAddress = address;
    d->bindPort = port;
    d->bindMode = mode;
    d->bindRequested = true;
    return true;
}

void QKcpSocket::connectToHost(const QString &hostName, quint16 port, OpenMode mode)
{
    Q_D(QKcpSocket);
#if QT_CONFIG(dtls)
    if (d->state == QAbstractSocket::UnconnectedState)
        d->dtlsRequested = false;
#endif
    d->connectToHostImpl(hostName, port, mode);
}

#if QT_CONFIG(dtls)
void QKcpSocket::connectToHostEncrypted(const QString &hostName, quint16 port, OpenMode mode)
{
    connectToHostEncrypted(hostName, port, QString(), mode);
}

void QKcpSocket::connectToHostEncrypted(const QString &hostName, quint16 port, const QString &sslPeerName,
                                        OpenMode mode)
{
    Q_D(QKcpSocket);
    if (d->state == QAbstractSocket::UnconnectedState) {
        d->dtlsRequested = true;
        d->sslState().peerName = sslPeerName;
    }
    d->connectToHostImpl(hostName, port, mode);
}
#endif

void QKcpSocketPrivate::connectToHostImpl(const QString &hostName, quint16 port, QIODevice::OpenMode mode)
{
    Q_Q(QKcpSocket);
    QKcpSocketPrivate *d = this;
    if (d->state != QAbstractSocket::UnconnectedState) {
        qCWarning(lcKcpSocket, "QKcpSocket::connectToHost() called when already looking up or connecting/connected "
                               "to \"%s\"", qPrintable(hostName));
        return;
    }
    d->resetForConnect();
    q->setErrorString(QString());
    QString problem = qkcpSecurityProblem(d->config);
#if QT_CONFIG(dtls)
    if (problem.isEmpty() && dtlsRequested) {
        if (config.protocol() == QKcpConfig::PlainKcp)
            problem = QKcpSocket::tr("Certificate mode (DTLS) needs the kcpnet session protocol; plain KCP peers do "
                                     "not speak DTLS");
        else if (!config.preSharedKey().isEmpty())
            problem = QKcpSocket::tr("Use either a pre-shared key or certificates (DTLS), not both");
    }
#endif
    if (!problem.isEmpty()) {
        d->setErrorAndEmit(QAbstractSocket::SslInvalidUserDataError, problem);
        return;
    }
    d->peerName = hostName;
    d->peerPort = port;
    d->peerAddress.clear();
    q->QIODevice::open(mode | QIODevice::Unbuffered);
    d->startLookup(hostName);
}

void QKcpSocket::connectToHost(const QHostAddress &address, quint16 port, OpenMode mode)
{
    connectToHost(address.toString(), port, mode);
}

void QKcpSocket::disconnectFromHost()
{
    Q_D(QKcpSocket);
    switch (d->state) {
    case QAbstractSocket::UnconnectedState:
    case QAbstractSocket::ClosingState:
        return;
    case QAbstractSocket::HostLookupState:
        d->cancelLookup();
        d->setState(QAbstractSocket::UnconnectedState);
        return;
    case QAbstractSocket::ConnectingState:
        // Nothing was established: stop the handshake quietly.
        if (d->session)
            d->session->close(qkcpNow32(qkcpNow()));
        d->evClosed = false;
        d->releaseTransport();
        d->session.reset();
        QKcpScheduler::instance()->remove(d);
        d->setState(QAbstractSocket::UnconnectedState);
        return;
    default:
        break;
    }
    d->setState(QAbstractSocket::ClosingState);
    const qint64 now = qkcpNow();
    d->pumpWrites();
    // Data still in our write queue must reach KCP before FIN: close once it is all handed over.
    if (d->wqueue.isEmpty())
        d->session->close(qkcpNow32(now));
    d->run(now);
}

void QKcpSocket::abort()
{
    Q_D(QKcpSocket);
    if (d->state == QAbstractSocket::HostLookupState)
        d->cancelLookup();
    d->wqueue.clear();
    d->wpos = 0;
    d->wbytes = 0;
    if (d->session && d->session->state() != KcpSessionState::Closed) {
        const bool established = d->state == QAbstractSocket::ConnectedState
            || d->state == QAbstractSocket::ClosingState;
        d->session->abort(qkcpNow32(qkcpNow()));
        d->evClosed = false;
        d->releaseTransport();
        QKcpScheduler::instance()->remove(d);
        QPointer<QKcpSocket> guard(this);
        d->setState(QAbstractSocket::UnconnectedState);
        if (guard && established)
            emit disconnected();
        return;
    }
    d->releaseTransport();
    d->setState(QAbstractSocket::UnconnectedState);
}

void QKcpSocket::close()
{
    Q_D(QKcpSocket);
    QIODevice::close(); // aboutToClose(), then the device is closed for reading
    d->rbuf.clear();
    d->rpos = 0;
    d->messages.clear();
    d->mpos = 0;
    d->messageBytes = 0;
    if (d->state != QAbstractSocket::UnconnectedState)
        disconnectFromHost(); // pending writes are still delivered, as with QAbstractSocket::close()
}

QAbstractSocket::SocketState QKcpSocket::state() const
{
    Q_D(const QKcpSocket);
    return d->state;
}

QAbstractSocket::SocketError QKcpSocket::error() const
{
    Q_D(const QKcpSocket);
    return d->error;
}

bool QKcpSocket::isValid() const
{
    Q_D(const QKcpSocket);
    return d->state == QAbstractSocket::ConnectedState;
}

QHostAddress QKcpSocket::localAddress() const
{
    Q_D(const QKcpSocket);
    if (d->udp)
        return d->udp->localAddress();
    if (d->server)
        return d->server->address;
    return QHostAddress();
}

quint16 QKcpSocket::localPort() const
{
    Q_D(const QKcpSocket);
    if (d->udp)
        return d->udp->localPort();
    if (d->server)
        return d->server->port;
    return 0;
}

QHostAddress QKcpSocket::peerAddress() const
{
    Q_D(const QKcpSocket);
    return d->peerAddress;
}

quint16 QKcpSocket::peerPort() const
{
    Q_D(const QKcpSocket);
    return d->peerPort;
}

QString QKcpSocket::peerName() const
{
    Q_D(const QKcpSocket);
    return d->peerName;
}

qint64 QKcpSocket::readBufferSize() const
{
    Q_D(const QKcpSocket);
    return d->readBufferSize;
}

void QKcpSocket::setReadBufferSize(qint64 size)
{
    Q_D(QKcpSocket);
    d->readBufferSize = std::max<qint64>(size, 0);
}

qint64 QKcpSocket::writeBufferLimit() const
{
    Q_D(const QKcpSocket);
    return d->writeBufferLimit;
}

void QKcpSocket::setWriteBufferLimit(qint64 size)
{
    Q_D(QKcpSocket);
    d->writeBufferLimit = std::max<qint64>(size, 0);
}

void QKcpSocket::setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value)
{
    Q_D(QKcpSocket);
    d->socketOptions.insert(option, value);
    if (d->udp)
        applySocketOption(d->udp, option, value);
    else if (d->server)
        qCWarning(lcKcpSocket, "QKcpSocket::setSocketOption(): server-side sockets share the server's UDP socket; "
                               "use QKcpServer::setSocketOption()");
}

QVariant QKcpSocket::socketOption(QAbstractSocket::SocketOption option)
{
    Q_D(QKcpSocket);
    if (d->udp)
        return d->udp->socketOption(option);
    return d->socketOptions.value(option);
}

qint64 QKcpSocket::writeMessage(const QByteArray &message)
{
    Q_D(QKcpSocket);
    if (d->config.mode() != QKcpConfig::MessageMode) {
        qCWarning(lcKcpSocket, "QKcpSocket::writeMessage() needs QKcpConfig::MessageMode; use write()");
        return -1;
    }
    return write(message);
}

QByteArray QKcpSocket::readMessage()
{
    Q_D(QKcpSocket);
    if (d->config.mode() != QKcpConfig::MessageMode) {
        qCWarning(lcKcpSocket, "QKcpSocket::readMessage() needs QKcpConfig::MessageMode; use read()");
        return QByteArray();
    }
    if (d->messages.isEmpty())
        return QByteArray();
    QByteArray m = d->messages.dequeue();
    if (d->mpos) {
        m.remove(0, d->mpos);
        d->mpos = 0;
    }
    d->messageBytes -= m.size();
    QKcpScheduler::instance()->markDirty(d); // room in the read buffer: pull more from KCP
    return m;
}

bool QKcpSocket::hasPendingMessages() const
{
    Q_D(const QKcpSocket);
    return !d->messages.isEmpty();
}

qint64 QKcpSocket::pendingMessageSize() const
{
    Q_D(const QKcpSocket);
    return d->messages.isEmpty() ? -1 : d->messages.front().size() - d->mpos;
}

qint64 QKcpSocket::maximumMessageSize() const
{
    Q_D(const QKcpSocket);
    if (d->session && d->session->engine())
        return d->session->engine()->maxMessageSize();
    // Not connected yet: what the session will allow (the same MTU accounting as KcpSession::createEngine).
    const kcpnet::KcpSessionConfig &c = QKcpConfigPrivate::get(d->config);
    qint64 overhead = c.plain ? 0 : qint64(kcpnet::kSessionTrailerSize);
    if (c.plain) {
        QString problem;
        if (const std::unique_ptr<kcpnet::KcpPacketTransform> t = qkcpMakeTransform(d->config, &problem))
            overhead += qint64(t->overhead());
    }
    const qint64 mss = qint64(c.mtu) - overhead - qint64(kcpnet::kKcpHeaderSize);
    return mss * std::min<qint64>(kcpnet::KcpEngine::kMaxFragments, c.receiveWindow);
}

bool QKcpSocket::flush()
{
    Q_D(QKcpSocket);
    if (!d->session || d->session->state() != KcpSessionState::Connected)
        return false;
    const quint64 before = d->toEngine;
    d->run(qkcpNow());
    return d->toEngine != before;
}

QKcpStatistics QKcpSocket::statistics() const
{
    Q_D(const QKcpSocket);
    QKcpStatistics s;
    const qint64 now = qkcpNow();
    s.age = d->startedAt ? now - d->startedAt : 0;
    s.lastReceiveAge = d->lastReceive ? now - d->lastReceive : 0;
    s.datagramsSent = d->datagramsOut;
    s.datagramsReceived = d->datagramsIn;
    s.wireBytesSent = d->wireOut;
    s.wireBytesReceived = d->wireIn;
    if (!d->session)
        return s;
    const KcpSession &session = *d->session;
    s.conversation = session.conv();
    const kcpnet::KcpSessionDrops &drops = session.drops();
    s.droppedChecksum = drops.checksum;
    s.droppedWrongConversation = drops.wrongConv;
    s.droppedMalformed = drops.malformed;
    s.droppedUnexpected = drops.unexpected;
    s.droppedUnauthentic = drops.authentication + d->dtlsUnauthentic;
    s.droppedReplayed = drops.replayed;
    s.encrypted = session.sealer() != nullptr || d->dtlsEncrypted;
    s.handshakeRtt = session.handshakeRtt();
    s.keepAliveRtt = session.keepaliveRtt();
    s.keepAlivesSent = session.pingsSent();
    if (const kcpnet::KcpPacketTransform *t = session.transform()) {
        const kcpnet::KcpPacketTransform::Counters c = t->counters();
        s.fecRecovered = c.recovered;
        s.fecParitySent = c.parity;
    }
    if (const kcpnet::KcpEngine *engine = session.engine()) {
        const kcpnet::KcpEngineStats e = engine->stats();
        s.srtt = e.srtt;
        s.rttVariance = e.rttvar;
        s.rto = e.rto;
        s.congestionWindow = e.cwnd;
        s.slowStartThreshold = e.ssthresh;
        s.remoteWindow = e.remoteWindow;
        s.inFlight = e.inFlight;
        s.sendQueue = e.sendQueue;
        s.sendBuffer = e.sendBuffer;
        s.receiveQueue = e.receiveQueue;
        s.receiveBuffer = e.receiveBuffer;
        s.bytesSent = e.bytesSent;
        s.bytesReceived = e.bytesReceived;
        s.segmentsSent = e.segmentsSent;
        s.segmentsReceived = e.segmentsReceived;
        s.retransmitsTimeout = e.retransmitsTimeout;
        s.retransmitsFast = e.retransmitsFast;
        s.retransmitsRedundant = e.redundantSegments;
        s.duplicateSegments = e.duplicateSegments;
        s.outOfWindowSegments = e.outOfWindowSegments;
    }
    return s;
}

bool QKcpSocket::isEncrypted() const
{
    Q_D(const QKcpSocket);
    const bool open = d->state == QAbstractSocket::ConnectedState || d->state == QAbstractSocket::ClosingState
        || (d->state == QAbstractSocket::ConnectingState && d->dtlsEncrypted);
    return open && (d->dtlsEncrypted || (d->session && d->session->sealer()));
}

#if QT_CONFIG(dtls)
void QKcpSocket::setSslConfiguration(const QSslConfiguration &configuration)
{
    Q_D(QKcpSocket);
    d->sslState().configuration = configuration;
}

QSslConfiguration QKcpSocket::sslConfiguration() const
{
    Q_D(const QKcpSocket);
    return d->ssl ? d->ssl->configuration : QSslConfiguration::defaultDtlsConfiguration();
}

QSslCertificate QKcpSocket::peerCertificate() const
{
    Q_D(const QKcpSocket);
    return d->ssl ? d->ssl->peerCertificate : QSslCertificate();
}

QList<QSslCertificate> QKcpSocket::peerCertificateChain() const
{
    Q_D(const QKcpSocket);
    return d->ssl ? d->ssl->peerChain : QList<QSslCertificate>();
}

QSslCipher QKcpSocket::sessionCipher() const
{
    Q_D(const QKcpSocket);
    return d->ssl ? d->ssl->cipher : QSslCipher();
}

QSsl::SslProtocol QKcpSocket::sessionProtocol() const
{
    Q_D(const QKcpSocket);
    return d->ssl ? d->ssl->protocol : QSsl::UnknownProtocol;
}

QList<QSslError> QKcpSocket::sslHandshakeErrors() const
{
    Q_D(const QKcpSocket);
    return d->ssl ? d->ssl->handshakeErrors : QList<QSslError>();
}

void QKcpSocket::ignoreSslErrors(const QList<QSslError> &errors)
{
    Q_D(QKcpSocket);
    d->sslState().errorsToIgnore = errors;
    if (d->dtls)
        d->dtls->ignoreVerificationErrors(errors);
}

void QKcpSocket::ignoreSslErrors()
{
    Q_D(QKcpSocket);
    d->sslState().ignoreAll = true;
}
#endif

void QKcpSocket::startTrace(int maxEvents)
{
    Q_D(QKcpSocket);
    d->traceRing.clear();
    d->traceHead = 0;
    d->traceCapacity = std::max(1, maxEvents);
    d->traceRing.reserve(std::min(d->traceCapacity, 4096));
    d->attachTrace();
}

void QKcpSocket::stopTrace()
{
    Q_D(QKcpSocket);
    d->traceCapacity = 0;
    d->attachTrace();
}

bool QKcpSocket::isTracing() const
{
    Q_D(const QKcpSocket);
    return d->traceCapacity > 0;
}

QList<QKcpTraceEvent> QKcpSocket::traceEvents() const
{
    Q_D(const QKcpSocket);
    if (d->traceHead == 0)
        return d->traceRing;
    QList<QKcpTraceEvent> ordered;
    ordered.reserve(d->traceRing.size());
    ordered.append(d->traceRing.mid(d->traceHead));
    ordered.append(d->traceRing.first(d->traceHead));
    return ordered;
}

void QKcpSocket::clearTrace()
{
    Q_D(QKcpSocket);
    d->traceRing.clear();
    d->traceHead = 0;
}

bool QKcpSocket::isSequential() const
{
    return true;
}

qint64 QKcpSocket::bytesAvailable() const
{
    Q_D(const QKcpSocket);
    return d->availableBytes() + QIODevice::bytesAvailable();
}

qint64 QKcpSocket::bytesToWrite() const
{
    Q_D(const QKcpSocket);
    return d->wbytes + d->engineUnsent();
}

bool QKcpSocket::canReadLine() const
{
    Q_D(const QKcpSocket);
    if (QIODevice::canReadLine())
        return true;
    if (d->config.mode() == QKcpConfig::StreamMode)
        return d->rbuf.indexOf('\n', d->rpos) >= 0;
    for (qsizetype i = 0; i < d->messages.size(); ++i)
        if (d->messages.at(i).indexOf('\n', i == 0 ? d->mpos : 0) >= 0)
            return true;
    return false;
}

bool QKcpSocket::atEnd() const
{
    return bytesAvailable() == 0;
}

qint64 QKcpSocket::readData(char *data, qint64 maxSize)
{
    Q_D(QKcpSocket);
    qint64 copied = 0;
    const bool wasFull = d->readBufferSize > 0 && d->availableBytes() >= d->readBufferSize;
    if (d->config.mode() == QKcpConfig::StreamMode) {
        copied = std::min<qint64>(maxSize, d->rbuf.size() - d->rpos);
        if (copied > 0) {
            std::memcpy(data, d->rbuf.constData() + d->rpos, static_cast<size_t>(copied));
            d->rpos += copied;
            if (d->rpos == d->rbuf.size()) {
                d->rbuf.clear();
                d->rpos = 0;
            }
        }
    } else {
        // Reads never cross a message boundary, so readMessage() keeps working after a partial read().
        if (!d->messages.isEmpty()) {
            const QByteArray &front = d->messages.front();
            copied = std::min<qint64>(maxSize, front.size() - d->mpos);
            std::memcpy(data, front.constData() + d->mpos, static_cast<size_t>(copied));
            d->mpos += copied;
            d->messageBytes -= copied;
            if (d->mpos == front.size()) {
                d->messages.dequeue();
                d->mpos = 0;
            }
        }
    }
    if (copied == 0 && d->state == QAbstractSocket::UnconnectedState && d->session)
        return -1; // closed and drained: end of stream
    if (wasFull || (d->session && d->session->engine() && d->session->engine()->peekSize() >= 0))
        QKcpScheduler::instance()->markDirty(d); // room again: pull from KCP, reopen the window
    return copied;
}

qint64 QKcpSocket::readLineData(char *data, qint64 maxSize)
{
    Q_D(QKcpSocket);
    if (d->config.mode() != QKcpConfig::StreamMode)
        return QIODevice::readLineData(data, maxSize);
    const qsizetype end = d->rbuf.indexOf('\n', d->rpos);
    const qint64 available = d->rbuf.size() - d->rpos;
    const qint64 lineLength = end >= 0 ? end - d->rpos + 1 : available;
    return readData(data, std::min(maxSize, lineLength));
}

qint64 QKcpSocket::writeData(const char *data, qint64 size)
{
    Q_D(QKcpSocket);
    if (d->state != QAbstractSocket::ConnectedState && d->state != QAbstractSocket::ConnectingState
        && d->state != QAbstractSocket::HostLookupState) {
        d->setError(QAbstractSocket::OperationError, tr("Socket is not connected"));
        return -1;
    }
    qint64 accept = size;
    if (d->config.mode() == QKcpConfig::MessageMode) {
        if (size == 0 && d->config.protocol() == QKcpConfig::PlainKcp) {
            // kcp-go's reader never consumes a zero-length message: its session would stall for good.
            setErrorString(tr("Empty messages cannot be sent in PlainKcp mode (kcp-go would stall on them)"));
            return -1;
        }
        if (size > maximumMessageSize()) {
            setErrorString(tr("Message of %1 bytes exceeds the maximum message size of %2 bytes")
                               .arg(size)
                               .arg(maximumMessageSize()));
            return -1;
        }
        if (d->writeBufferLimit > 0 && bytesToWrite() + size > d->writeBufferLimit && bytesToWrite() > 0)
            return 0;
    } else if (d->writeBufferLimit > 0) {
        accept = std::clamp<qint64>(d->writeBufferLimit - bytesToWrite(), 0, size);
        if (accept == 0)
            return 0;
    }
    d->wqueue.enqueue(QByteArray(data, accept));
    d->wbytes += accept;
    QKcpScheduler::instance()->markDirty(d);
    return accept;
}

bool QKcpSocket::waitForConnected(int msecs)
{
    Q_D(QKcpSocket);
    if (d->state == QAbstractSocket::ConnectedState)
        return true;
    if (d->state == QAbstractSocket::UnconnectedState)
        return false;
    if (d->waitUntil(msecs, [d] { return d->state == QAbstractSocket::ConnectedState; }))
        return true;
    if (d->state == QAbstractSocket::HostLookupState || d->state == QAbstractSocket::ConnectingState) {
        // As QAbstractSocket does: a connection attempt that timed out is abandoned.
        QPointer<QKcpSocket> guard(this);
        abort();
        if (guard)
            d->setErrorAndEmit(QAbstractSocket::SocketTimeoutError, tr("Socket operation timed out"));
    }
    return false;
}

// Drives the socket until `signal` is emitted, the socket is unconnected, or msecs pass.
template <typename Signal>
static bool waitForSignal(QKcpSocket *q, QKcpSocketPrivate *d, Signal signal, int msecs)
{
    bool fired = false;
    const QMetaObject::Connection c = QObject::connect(q, signal, q, [&fired] { fired = true; });
    const bool ok = d->waitUntil(msecs, [&] { return fired || d->state == QAbstractSocket::UnconnectedState; });
    QObject::disconnect(c);
    return ok && fired;
}

bool QKcpSocket::waitForReadyRead(int msecs)
{
    Q_D(QKcpSocket);
    if (d->state == QAbstractSocket::UnconnectedState)
        return false;
    return waitForSignal(this, d, &QKcpSocket::readyRead, msecs);
}

bool QKcpSocket::waitForBytesWritten(int msecs)
{
    Q_D(QKcpSocket);
    if (d->state == QAbstractSocket::UnconnectedState || bytesToWrite() == 0)
        return false;
    return waitForSignal(this, d, &QKcpSocket::bytesWritten, msecs);
}

bool QKcpSocket::waitForDisconnected(int msecs)
{
    Q_D(QKcpSocket);
    if (d->state == QAbstractSocket::UnconnectedState) {
        qCWarning(lcKcpSocket, "QKcpSocket::waitForDisconnected() is not allowed in UnconnectedState");
        return false;
    }
    return d->waitUntil(msecs, [d] { return d->state == QAbstractSocket::UnconnectedState; });
}

std::pair<QKcpSocket *, QKcpSocket *> QKcpSocket::createPair(const QKcpConfig &config, QObject *parent, int msecs)
{
    auto *server = new QKcpServer(config);
    if (!server->listen(QHostAddress::LocalHost, 0)) {
        delete server;
        return {nullptr, nullptr};
    }
    auto *client = new QKcpSocket(config, parent);
    client->connectToHost(QHostAddress::LocalHost, server->serverPort());

    // A short local event loop: both ends need their datagrams processed.
    QEventLoop loop;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(server, &QKcpServer::newConnection, &loop, &QEventLoop::quit);
    QObject::connect(client, &QKcpSocket::errorOccurred, &loop, &QEventLoop::quit);
    QObject::connect(client, &QKcpSocket::connected, &loop, &QEventLoop::quit);
    timeout.start(msecs);
    while (timeout.isActive() && !(server->hasPendingConnections() && client->state() == QAbstractSocket::ConnectedState)
           && client->state() != QAbstractSocket::UnconnectedState)
        loop.exec();

    QKcpSocket *accepted = server->nextPendingConnection();
    if (!accepted || client->state() != QAbstractSocket::ConnectedState) {
        delete client;
        delete server;
        return {nullptr, nullptr};
    }
    server->pauseAccepting();
    // The server-side socket keeps the server (its UDP socket) alive: the server becomes its child.
    accepted->setParent(parent);
    server->setParent(accepted);
    return {client, accepted};
}
