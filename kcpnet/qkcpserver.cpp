// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpserver.h"
#include "qkcpserver_p.h"

#include "qkcpconfig_p.h"
#include "qkcpscheduler_p.h"
#include "qkcpsocket.h"
#include "qkcpsocket_p.h"

#include <QtCore/qloggingcategory.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qsslkey.h>
#include <QtNetwork/qudpsocket.h>

#include <algorithm>
#include <cstring>

Q_LOGGING_CATEGORY(lcKcpServer, "kcpnet.server", QtWarningMsg)

namespace {
constexpr int kReadBatch = 64; // datagrams per event before the event loop turns again
constexpr qsizetype kMaxDatagram = 65536;

// The first record of a DTLS handshake: content type handshake (22), a DTLS version (0xfeff / 0xfefd), epoch 0,
// and a ClientHello (handshake type 1) after the 13-byte record header.
bool isDtlsClientHello(const char *data, qsizetype size)
{
    const auto *p = reinterpret_cast<const uchar *>(data);
    return size >= 25 && p[0] == 22 && p[1] == 0xfe && p[2] >= 0xfd && p[3] == 0 && p[4] == 0 && p[13] == 1;
}

// A well-formed plain kcpnet HELLO (checksum verified); *nonce is its nonce.
bool isSessionHello(const char *data, qsizetype size, std::uint64_t *nonce)
{
    const auto *p = reinterpret_cast<const std::uint8_t *>(data);
    // conv 0 and the HELLO type first: a DTLS record never starts with 0, so no checksum is computed for those.
    if (size < 5 || kcpnet::kcpGetU32(p) != 0 || p[4] != static_cast<std::uint8_t>(kcpnet::SessionPacketType::Hello))
        return false;
    const std::size_t n = kcpnet::sessionVerify(p, static_cast<std::size_t>(size));
    kcpnet::SessionHello hello;
    if (n <= 4 || !kcpnet::decodeHello(p, n, hello))
        return false;
    *nonce = hello.nonce;
    return true;
}
#if QT_CONFIG(dtls)
void addDtlsCounters(QKcpServerStatistics &s, const QKcpDtlsServer::Counters &c)
{
    s.dtlsHandshakes += c.handshakesCompleted;
    s.dtlsHandshakeFailures += c.handshakesFailed;
    s.dtlsCookiesSent += c.cookiesSent;
    s.droppedDtls += c.dropped;
}
#endif
} // namespace

size_t qHash(const QKcpPeerKey &k, size_t seed) noexcept
{
    return qHashMulti(seed, k.hi, k.lo, k.port);
}

QKcpPeerKey qkcpPeerKey(const QHostAddress &address, quint16 port)
{
    const Q_IPV6ADDR ip = address.toIPv6Address();
    QKcpPeerKey k;
    std::memcpy(&k.hi, ip.c, 8);
    std::memcpy(&k.lo, ip.c + 8, 8);
    k.port = port;
    return k;
}

kcpnet::KcpPeerAddress qkcpPeerAddress(const QHostAddress &address, quint16 port)
{
    const Q_IPV6ADDR ip = address.toIPv6Address();
    kcpnet::KcpPeerAddress a;
    std::memcpy(a.ip.data(), ip.c, 16);
    a.port = port;
    return a;
}

// ---------------------------------------------------------------------------------------------------------------
// QKcpServerPrivate

QKcpServerPrivate::QKcpServerPrivate(QKcpServer *q)
    : q_ptr(q)
    , responder(kcpnet::KcpHandshakeResponder::Settings())
{
}

QKcpServerPrivate::~QKcpServerPrivate() = default;

kcpnet::KcpHandshakeResponder::Settings QKcpServerPrivate::responderSettings() const
{
    const kcpnet::KcpSessionConfig &c = QKcpConfigPrivate::get(config);
    kcpnet::KcpHandshakeResponder::Settings s;
    s.streamMode = c.streamMode;
    s.peerTimeoutMs = c.peerTimeout;
    s.keepaliveMs = c.keepaliveInterval;
    // A client retransmits CONFIRM for up to its peer timeout; accept cookies that old (and at least 10 s).
    s.cookieLifetimeMs = std::max<std::uint32_t>(c.peerTimeout, 10000);
    s.security = c.isSecure() ? c.security : nullptr;
    return s;
}

void QKcpServerPrivate::readDatagrams()
{
    if (!udp)
        return;
    if (rx.size() < kMaxDatagram)
        rx.resize(kMaxDatagram);
    const qint64 now = qkcpNow();
    QHostAddress from;
    quint16 port = 0;
    // Read until the socket is empty (readDatagram() returns -1 and reports a TemporaryError, which nothing here
    // listens to): asking hasPendingDatagrams() first would cost a MSG_PEEK system call per datagram.
    for (int i = 0; i < kReadBatch && udp; ++i) {
        const qint64 n = udp->readDatagram(rx.data(), rx.size(), &from, &port);
        if (n < 0)
            break;
        ++stats.datagramsReceived;
#if QT_CONFIG(dtls)
        if (dtls) {
            receiveDtls(rx.constData(), n, from, port, now);
            continue;
        }
#endif
        if (config.protocol() != QKcpConfig::PlainKcp && rejectWrongSecurity(rx.constData(), n, from, port))
            continue;
        dispatch(rx.constData(), n, from, port, now);
    }
    // More pending datagrams are read on the next turn: the read notifier stays armed, timers run in between.
}

bool QKcpServerPrivate::rejectWrongSecurity(const char *data, qsizetype size, const QHostAddress &from, quint16 port)
{
    std::uint64_t nonce = 0;
    bool dtlsMode = false;
#if QT_CONFIG(dtls)
    dtlsMode = dtls != nullptr;
#endif
    if (dtlsMode ? !isSessionHello(data, size, &nonce) : !isDtlsClientHello(data, size))
        return false;
    if (!listening || paused) {
        ++stats.droppedNotAccepting;
        return true;
    }
    // Not amplifying: REJECT (19 bytes) is smaller than a HELLO or a ClientHello.
    kcpnet::SessionReject reject;
    reject.reason = static_cast<std::uint8_t>(kcpnet::SessionRejectReason::Security);
    reject.nonce = nonce;
    std::uint8_t buf[kcpnet::kSessionMaxControlSize];
    const std::size_t n = kcpnet::encodeReject(reject, buf);
    ++stats.rejected;
    ++stats.datagramsSent;
    udp->writeDatagram(reinterpret_cast<const char *>(buf), static_cast<qint64>(n), from, port);
    return true;
}

#if QT_CONFIG(dtls)
void QKcpServerPrivate::receiveDtls(const char *data, qsizetype size, const QHostAddress &from, quint16 port,
                                    qint64 now)
{
    if (rejectWrongSecurity(data, size, from, port))
        return;
    QByteArray plain;
    switch (dtls->handleDatagram(udp, QByteArray::fromRawData(data, size), from, port, &plain)) {
    case QKcpDtlsServer::Result::Data:
        dispatch(plain.constData(), plain.size(), from, port, now);
        break;
    case QKcpDtlsServer::Result::Dropped: // counted by the DTLS server, and by the peer's session if it has one
        if (size > 0 && static_cast<uchar>(data[0]) == 23) {
            auto it = byAddress.constFind(qkcpPeerKey(from, port));
            if (it != byAddress.constEnd())
                if (QKcpSocketPrivate *s = byConv.value(*it))
                    ++s->dtlsUnauthentic;
        }
        break;
    case QKcpDtlsServer::Result::Consumed:
        break;
    }
}

void QKcpServerPrivate::startDtls()
{
    Q_Q(QKcpServer);
    stopDtls();
    dtls = new QKcpDtlsServer(*sslConfiguration, q);
    dtls->setHandshakeTimeout(qkcpDtlsHandshakeTimeout(config));
    QObject::connect(dtls, &QKcpDtlsServer::peerError, q,
                     [this, q](const QHostAddress &address, quint16 port, const QString &reason) {
                         qCInfo(lcKcpServer) << "DTLS handshake with" << address << port << "failed:" << reason;
                         // Like QTcpServer: serverError()/errorString() describe the last error.
                         error = QAbstractSocket::SslHandshakeFailedError;
                         errorString = QKcpServer::tr("DTLS handshake with %1 port %2 failed: %3")
                                               .arg(address.toString())
                                               .arg(port)
                                               .arg(reason);
                         emit q->acceptError(QAbstractSocket::SslHandshakeFailedError);
                     });
    QObject::connect(dtls, &QKcpDtlsServer::handshakeCompleted, q,
                     [this, q](const QHostAddress &address, quint16 port) {
        // An association nobody builds a session on would hold one of the bounded slots forever: the client has
        // its connect timeout to send a kcpnet HELLO through it.
        QTimer::singleShot(qkcpDtlsHandshakeTimeout(config), q, [this, address, port] {
            if (dtls && !byAddress.contains(qkcpPeerKey(address, port)))
                dtls->removePeer(address, port);
        });
    });
    QObject::connect(dtls, &QKcpDtlsServer::peerClosed, q, [this](const QHostAddress &address, quint16 port) {
        // The client ended the association (close_notify): its session cannot hear from it any more.
        auto it = byAddress.constFind(qkcpPeerKey(address, port));
        if (it == byAddress.constEnd())
            return;
        if (QKcpSocketPrivate *s = byConv.value(*it); s && s->session
            && s->session->state() != kcpnet::KcpSessionState::Closed) {
            s->session->fail(kcpnet::KcpCloseReason::PeerReset);
            QKcpScheduler::instance()->markDirty(s);
        }
    });
}

void QKcpServerPrivate::stopDtls()
{
    if (!dtls)
        return;
    addDtlsCounters(stats, dtls->counters()); // what this DTLS server counted outlives it
    dtls->disconnect();
    dtls->deleteLater();
    dtls = nullptr;
}
#endif

void QKcpServerPrivate::dispatch(const char *data, qsizetype size, const QHostAddress &from, quint16 port,
                                 qint64 now)
{
    if (config.protocol() == QKcpConfig::PlainKcp) {
        auto it = plainByAddress.constFind(qkcpPeerKey(from, port));
        if (it != plainByAddress.constEnd())
            (*it)->processDatagram(data, size, now);
        else
            acceptPlain(data, size, from, port, now);
        return;
    }
    if (size >= 4) {
        const quint32 conv = kcpnet::kcpGetU32(reinterpret_cast<const std::uint8_t *>(data));
        if (conv != 0) {
            auto it = byConv.constFind(conv);
            if (it != byConv.constEnd()) {
                QKcpSocketPrivate *s = *it;
                if (s->peerPort != port || s->peerAddress != from) {
                    // Only the address that completed the handshake speaks for a session.
                    ++stats.droppedWrongAddress;
                    return;
                }
                s->processDatagram(data, size, now);
                return;
            }
        }
    }
    const kcpnet::KcpHandshakeResponder::Outcome out =
        responder.handle(reinterpret_cast<const std::uint8_t *>(data), static_cast<std::size_t>(size),
                         qkcpPeerAddress(from, port), qkcpNow32(now));
    switch (out.action) {
    case kcpnet::KcpHandshakeResponder::Action::Drop:
        break;
    case kcpnet::KcpHandshakeResponder::Action::Reply:
        sendTo(out.reply, out.replySize, from, port);
        break;
    case kcpnet::KcpHandshakeResponder::Action::Accept:
        accept(out, from, port, now);
        break;
    }
}

void QKcpServerPrivate::accept(const kcpnet::KcpHandshakeResponder::Outcome &handshake, const QHostAddress &from,
                               quint16 port, qint64 now)
{
    Q_Q(QKcpServer);
    const quint32 conv = handshake.conv;
    const std::uint64_t nonce = handshake.nonce;
    if (byConv.contains(conv) || pending.size() >= maxPending) {
        // A conv collision (another client holds it) or a full backlog: tell the client plainly.
        std::uint8_t buf[kcpnet::kSessionMaxControlSize];
        sendTo(buf, kcpnet::KcpHandshakeResponder::encodeRefusal(nonce, buf), from, port);
        ++stats.refused;
        if (pending.size() >= maxPending)
            emit q->acceptError(QAbstractSocket::SocketResourceError);
        return;
    }
    const QKcpPeerKey key = qkcpPeerKey(from, port);
    auto old = byAddress.constFind(key);
    if (old != byAddress.constEnd()) {
        // The same address starts over (the client restarted): the old session is dead, replace it cleanly.
        if (QKcpSocketPrivate *previous = byConv.value(*old)) {
            ++stats.replaced;
            previous->session->fail(kcpnet::KcpCloseReason::PeerReset);
            previous->run(now);
        }
    }

    auto *socket = new QKcpSocket(this, config, q);
    QKcpSocketPrivate *sd = socket->d_func();
    byConv.insert(conv, sd);
    byAddress.insert(key, conv);
    ++stats.accepted;
    int overhead = 0;
#if QT_CONFIG(dtls)
    if (dtls) {
        // The handshake came through this peer's DTLS association: the socket reports it.
        overhead = dtls->overhead(from, port);
        sd->dtlsEncrypted = dtls->isPeerEncrypted(from, port);
        sd->dtlsOverhead = overhead;
        QKcpSocketPrivate::Ssl &ssl = sd->sslState();
        ssl.configuration = *sslConfiguration;
        ssl.peerCertificate = dtls->peerCertificate(from, port);
        if (!ssl.peerCertificate.isNull())
            ssl.peerChain = {ssl.peerCertificate};
        ssl.cipher = dtls->sessionCipher(from, port);
        ssl.protocol = QSsl::DtlsV1_2;
    }
#endif
    sd->initServerSide(this, conv, from, port, handshake.secure ? &handshake.secrets : nullptr, overhead);
    q->incomingConnection(socket);
}

void QKcpServerPrivate::acceptPlain(const char *data, qsizetype size, const QHostAddress &from, quint16 port,
                                    qint64 now)
{
    Q_Q(QKcpServer);
    if (!listening || paused) {
        ++stats.droppedNotAccepting;
        return;
    }
    QString problem;
    std::unique_ptr<kcpnet::KcpPacketTransform> transform = qkcpMakeTransform(config, &problem);
    if (!problem.isEmpty()) {
        ++stats.droppedMalformed;
        return;
    }
    // Decode (cipher, FEC) and vet the datagram before anything is created: garbage never makes a session.
    QList<QByteArray> decoded;
    auto keep = [&decoded](const std::uint8_t *p, std::size_t n) {
        decoded.append(QByteArray(reinterpret_cast<const char *>(p), static_cast<qsizetype>(n)));
    };
    const auto *bytes = reinterpret_cast<const std::uint8_t *>(data);
    if (transform) {
        if (!transform->incoming(bytes, static_cast<std::size_t>(size), qkcpNow32(now), keep)) {
            ++stats.droppedChecksum;
            return;
        }
    } else {
        keep(bytes, static_cast<std::size_t>(size));
    }
    std::uint32_t conv = 0;
    if (decoded.isEmpty()
        || kcpnet::KcpEngine::inspect(reinterpret_cast<const std::uint8_t *>(decoded.front().constData()),
                                      static_cast<std::size_t>(decoded.front().size()), &conv)
            != kcpnet::KcpInputResult::Ok) {
        ++stats.droppedMalformed;
        return;
    }
    if (pending.size() >= maxPending) {
        ++stats.refused;
        emit q->acceptError(QAbstractSocket::SocketResourceError);
        return;
    }
    createPlainSession(conv, from, port, std::move(transform), decoded);
}

QKcpSocketPrivate *QKcpServerPrivate::createPlainSession(quint32 conv, const QHostAddress &from, quint16 port,
                                                         std::unique_ptr<kcpnet::KcpPacketTransform> transform,
                                                         const QList<QByteArray> &decoded)
{
    Q_Q(QKcpServer);
    auto *socket = new QKcpSocket(this, config, q);
    QKcpSocketPrivate *sd = socket->d_func();
    plainByAddress.insert(qkcpPeerKey(from, port), sd);
    ++stats.accepted;
    sd->initServerSidePlain(this, conv, from, port, std::move(transform), decoded);
    q->incomingConnection(socket);
    return sd;
}

void QKcpServerPrivate::replacePlain(QKcpSocketPrivate *old, quint32 conv, const QByteArray &decoded)
{
    if (!listening || paused)
        return;
    const QHostAddress from = old->peerAddress;
    const quint16 port = old->peerPort;
    ++stats.replaced;
    old->session->fail(kcpnet::KcpCloseReason::PeerReset);
    QKcpScheduler::instance()->markDirty(old); // its signals at the end of this turn
    plainByAddress.remove(qkcpPeerKey(from, port));
    QString problem;
    createPlainSession(conv, from, port, qkcpMakeTransform(config, &problem), {decoded});
}

QList<QKcpSocketPrivate *> QKcpServerPrivate::allSessions() const
{
    QList<QKcpSocketPrivate *> list = byConv.values();
    list.append(plainByAddress.values());
    return list;
}

void QKcpServerPrivate::sendTo(const std::uint8_t *data, std::size_t size, const QHostAddress &to, quint16 port)
{
    if (!udp)
        return;
    ++stats.datagramsSent;
#if QT_CONFIG(dtls)
    if (dtls) {
        if (!dtls->write(udp, to, port, reinterpret_cast<const char *>(data), static_cast<qsizetype>(size)))
            qCDebug(lcKcpServer) << "DTLS send to" << to << port << "failed";
        return;
    }
#endif
    if (udp->writeDatagram(reinterpret_cast<const char *>(data), static_cast<qint64>(size), to, port) < 0)
        qCDebug(lcKcpServer) << "UDP send to" << to << port << "failed:" << udp->errorString();
}

void QKcpServerPrivate::sessionEnded(QKcpSocketPrivate *s)
{
    const QKcpPeerKey peer = qkcpPeerKey(s->peerAddress, s->peerPort);
    auto p = plainByAddress.find(peer);
    if (p != plainByAddress.end() && *p == s)
        plainByAddress.erase(p);
    const quint32 conv = s->session ? s->session->conv() : 0;
    auto it = byConv.find(conv);
    if (it != byConv.end() && *it == s) {
        byConv.erase(it);
        const QKcpPeerKey key = qkcpPeerKey(s->peerAddress, s->peerPort);
        auto a = byAddress.find(key);
        if (a != byAddress.end() && *a == conv)
            byAddress.erase(a);
    }
#if QT_CONFIG(dtls)
    if (dtls) {
        // Forget the peer's DTLS association once no session uses its address (checked later: a new session
        // from the same address may be replacing this one right now).
        const QHostAddress address = s->peerAddress;
        const quint16 port = s->peerPort;
        QMetaObject::invokeMethod(
                q_ptr,
                [this, address, port] {
                    if (dtls && !byAddress.contains(qkcpPeerKey(address, port)))
                        dtls->removePeer(address, port);
                },
                Qt::QueuedConnection);
    }
#endif
    closeTransportIfDone();
}

void QKcpServerPrivate::closeTransportIfDone()
{
    if (!listening && byConv.isEmpty() && plainByAddress.isEmpty() && udp) {
#if QT_CONFIG(dtls)
        stopDtls();
#endif
        udp->disconnect();
        udp->close();
        udp->deleteLater();
        udp = nullptr;
    }
}

bool QKcpServerPrivate::waitForIncoming(int msecs)
{
    if (!udp || !udp->waitForReadyRead(msecs))
        return false;
    readDatagrams();
    return true;
}

// ---------------------------------------------------------------------------------------------------------------
// QKcpServer

QKcpServer::QKcpServer(QObject *parent)
    : QKcpServer(QKcpConfig(), parent)
{
}

QKcpServer::QKcpServer(const QKcpConfig &config, QObject *parent)
    : QObject(parent)
    , d_ptr(new QKcpServerPrivate(this))
{
    d_ptr->config = config;
    d_ptr->responder.setSettings(d_ptr->responderSettings());
}

QKcpServer::~QKcpServer()
{
    Q_D(QKcpServer);
    d->listening = false;
    // Sessions still alive cannot wait for a graceful close: their peers are told with a RESET.
    const auto sessions = d->allSessions();
    for (QKcpSocketPrivate *s : sessions)
        s->q_func()->abort();
    d->byConv.clear();
    d->plainByAddress.clear();
    d->closeTransportIfDone();
}

QKcpConfig QKcpServer::config() const
{
    Q_D(const QKcpServer);
    return d->config;
}

void QKcpServer::setConfig(const QKcpConfig &config)
{
    Q_D(QKcpServer);
    d->config = config;
    d->responder.setSettings(d->responderSettings());
}

bool QKcpServer::listen(const QHostAddress &address, quint16 port)
{
    Q_D(QKcpServer);
    if (d->listening) {
        qCWarning(lcKcpServer, "QKcpServer::listen() called when already listening");
        return false;
    }
    QString problem = qkcpSecurityProblem(d->config);
#if QT_CONFIG(dtls)
    if (problem.isEmpty() && d->sslConfiguration) {
        const QSslConfiguration &ssl = *d->sslConfiguration;
        if (ssl.localCertificate().isNull() || ssl.privateKey().isNull())
            problem = tr("Certificate mode needs a local certificate and its private key in the QSslConfiguration");
        else if (!QKcpDtls::keyMatchesCertificate(ssl.localCertificate(), ssl.privateKey()))
            problem = tr("The private key in the QSslConfiguration does not belong to its local certificate");
        else if (d->config.protocol() == QKcpConfig::PlainKcp)
            problem = tr("Certificate mode (DTLS) needs the kcpnet session protocol; plain KCP peers do not speak "
                         "DTLS");
        else if (!d->config.preSharedKey().isEmpty())
            problem = tr("Use either a pre-shared key or certificates (DTLS), not both");
    }
#endif
    if (!problem.isEmpty()) {
        d->error = QAbstractSocket::SslInvalidUserDataError;
        d->errorString = problem;
        return false;
    }
    if (d->config.protocol() == QKcpConfig::PlainKcp) {
        // Refuse settings that would make every datagram undecodable, rather than dropping them silently.
        QString problem;
        qkcpMakeTransform(d->config, &problem);
        if (!problem.isEmpty()) {
            d->error = QAbstractSocket::UnsupportedSocketOperationError;
            d->errorString = problem;
            return false;
        }
    }
    if (d->udp) // still finishing the sessions of a previous close()
        d->udp->deleteLater();
    d->udp = new QUdpSocket(this);
    QAbstractSocket::BindMode mode = QAbstractSocket::DefaultForPlatform;
    if (!d->udp->bind(address, port, mode)) {
        d->error = d->udp->error();
        d->errorString = d->udp->errorString();
        delete d->udp;
        d->udp = nullptr;
        return false;
    }
    qkcpTuneUdpBuffers(d->udp, QKcpConfigPrivate::get(d->config));
    connect(d->udp, &QUdpSocket::readyRead, this, [d] { d->readDatagrams(); });
#if QT_CONFIG(dtls)
    if (d->sslConfiguration)
        d->startDtls();
    else
        d->stopDtls();
#endif
    d->address = d->udp->localAddress();
    d->port = d->udp->localPort();
    d->listening = true;
    d->paused = false;
    d->responder.setAccepting(true);
    d->error = QAbstractSocket::UnknownSocketError;
    d->errorString.clear();
    return true;
}

void QKcpServer::close()
{
    Q_D(QKcpServer);
    if (!d->listening)
        return;
    d->listening = false;
    d->responder.setAccepting(false);
    // Every session closes gracefully; the UDP socket stays open until the last one has finished.
    const auto sessions = d->allSessions();
    for (QKcpSocketPrivate *s : sessions)
        s->q_func()->disconnectFromHost();
    d->closeTransportIfDone();
}

bool QKcpServer::isListening() const
{
    Q_D(const QKcpServer);
    return d->listening;
}

QHostAddress QKcpServer::serverAddress() const
{
    Q_D(const QKcpServer);
    return d->listening ? d->address : QHostAddress();
}

quint16 QKcpServer::serverPort() const
{
    Q_D(const QKcpServer);
    return d->listening ? d->port : 0;
}

QAbstractSocket::SocketError QKcpServer::serverError() const
{
    Q_D(const QKcpServer);
    return d->error;
}

QString QKcpServer::errorString() const
{
    Q_D(const QKcpServer);
    return d->errorString;
}

void QKcpServer::setMaxPendingConnections(int count)
{
    Q_D(QKcpServer);
    d->maxPending = std::max(count, 0);
}

int QKcpServer::maxPendingConnections() const
{
    Q_D(const QKcpServer);
    return d->maxPending;
}

bool QKcpServer::hasPendingConnections() const
{
    Q_D(const QKcpServer);
    for (const QPointer<QKcpSocket> &p : d->pending)
        if (p)
            return true;
    return false;
}

QKcpSocket *QKcpServer::nextPendingConnection()
{
    Q_D(QKcpServer);
    while (!d->pending.isEmpty()) {
        QPointer<QKcpSocket> p = d->pending.dequeue();
        if (p)
            return p;
    }
    return nullptr;
}

void QKcpServer::pauseAccepting()
{
    Q_D(QKcpServer);
    d->paused = true;
    d->responder.setAccepting(false);
}

void QKcpServer::resumeAccepting()
{
    Q_D(QKcpServer);
    d->paused = false;
    d->responder.setAccepting(d->listening);
}

QList<QKcpSocket *> QKcpServer::sessions() const
{
    Q_D(const QKcpServer);
    QList<QKcpSocket *> list;
    const auto all = d->allSessions();
    list.reserve(all.size());
    for (QKcpSocketPrivate *s : all)
        list.append(s->q_func());
    return list;
}

QKcpStatistics QKcpServer::statistics() const
{
    Q_D(const QKcpServer);
    QKcpStatistics total;
    total.sessions = 0;
    for (QKcpSocketPrivate *s : d->byConv)
        total += s->q_func()->statistics();
    for (QKcpSocketPrivate *s : d->plainByAddress)
        total += s->q_func()->statistics();
    return total;
}

QKcpServerStatistics QKcpServer::serverStatistics() const
{
    Q_D(const QKcpServer);
    QKcpServerStatistics s = d->stats;
    s.sessions = static_cast<quint32>(d->byConv.size() + d->plainByAddress.size());
    quint32 pending = 0;
    for (const QPointer<QKcpSocket> &p : d->pending)
        pending += p ? 1 : 0;
    s.pendingConnections = pending;
    const kcpnet::KcpHandshakeCounters &h = d->responder.counters();
    s.handshakes = h.hellos;
    s.badCookies = h.badCookies;
    s.rejected += h.rejects;
    // The handshake responder's drops (session protocol) plus the server's own (plain-KCP acceptance).
    s.droppedChecksum += h.checksum;
    s.droppedMalformed += h.malformed;
    s.droppedUnknownSession += h.unknownConv;
    s.droppedNotAccepting += h.notAccepting;
    s.resetsSent = h.resetsSent;
#if QT_CONFIG(dtls)
    if (d->dtls) {
        addDtlsCounters(s, d->dtls->counters());
        s.dtlsAssociations = static_cast<quint32>(d->dtls->peerCount());
    }
#endif
    return s;
}

#if QT_CONFIG(dtls)
void QKcpServer::setSslConfiguration(const QSslConfiguration &configuration)
{
    Q_D(QKcpServer);
    if (configuration.isNull())
        d->sslConfiguration.reset();
    else
        d->sslConfiguration = configuration;
}

QSslConfiguration QKcpServer::sslConfiguration() const
{
    Q_D(const QKcpServer);
    return d->sslConfiguration.value_or(QSslConfiguration());
}
#endif

void QKcpServer::setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value)
{
    Q_D(QKcpServer);
    if (d->udp)
        d->udp->setSocketOption(option, value);
}

QVariant QKcpServer::socketOption(QAbstractSocket::SocketOption option) const
{
    Q_D(const QKcpServer);
    return d->udp ? d->udp->socketOption(option) : QVariant();
}

void QKcpServer::incomingConnection(QKcpSocket *socket)
{
    addPendingConnection(socket);
    emit pendingConnectionAvailable();
    emit newConnection();
}

void QKcpServer::addPendingConnection(QKcpSocket *socket)
{
    Q_D(QKcpServer);
    d->pending.enqueue(socket);
}
