// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPSERVER_H
#define QKCPSERVER_H

#include "qkcpconfig.h"
#include "qkcpnetglobal.h"
#include "qkcpstatistics.h"

#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtNetwork/qabstractsocket.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qtnetworkglobal.h>
#if QT_CONFIG(dtls)
#include <QtNetwork/qsslconfiguration.h>
#endif

#include <memory>

class QKcpServerPrivate;
class QKcpSocket;

// Server-side counters that belong to no session (handshakes, strangers, routing).
class Q_KCPNET_EXPORT QKcpServerStatistics
{
    Q_GADGET
    Q_PROPERTY(quint32 sessions MEMBER sessions)
    Q_PROPERTY(quint32 pendingConnections MEMBER pendingConnections)
    Q_PROPERTY(quint64 accepted MEMBER accepted)
    Q_PROPERTY(quint64 handshakes MEMBER handshakes)
    Q_PROPERTY(quint64 badCookies MEMBER badCookies)
    Q_PROPERTY(quint64 rejected MEMBER rejected)
    Q_PROPERTY(quint64 refused MEMBER refused)
    Q_PROPERTY(quint64 replaced MEMBER replaced)
    Q_PROPERTY(quint64 datagramsReceived MEMBER datagramsReceived)
    Q_PROPERTY(quint64 datagramsSent MEMBER datagramsSent)
    Q_PROPERTY(quint64 droppedChecksum MEMBER droppedChecksum)
    Q_PROPERTY(quint64 droppedMalformed MEMBER droppedMalformed)
    Q_PROPERTY(quint64 droppedUnknownSession MEMBER droppedUnknownSession)
    Q_PROPERTY(quint64 droppedWrongAddress MEMBER droppedWrongAddress)
    Q_PROPERTY(quint64 droppedNotAccepting MEMBER droppedNotAccepting)
    Q_PROPERTY(quint64 resetsSent MEMBER resetsSent)
    Q_PROPERTY(quint64 dtlsHandshakes MEMBER dtlsHandshakes)
    Q_PROPERTY(quint64 dtlsHandshakeFailures MEMBER dtlsHandshakeFailures)
    Q_PROPERTY(quint64 dtlsCookiesSent MEMBER dtlsCookiesSent)
    Q_PROPERTY(quint64 droppedDtls MEMBER droppedDtls)
    Q_PROPERTY(quint32 dtlsAssociations MEMBER dtlsAssociations)
public:
    quint32 sessions = 0;              // live sessions (pending ones included)
    quint32 pendingConnections = 0;    // accepted, not yet taken with nextPendingConnection()
    quint64 accepted = 0;              // sessions created
    quint64 handshakes = 0;            // HELLOs answered
    quint64 badCookies = 0;            // CONFIRMs that failed verification (spoofed, expired)
    quint64 rejected = 0;              // REJECTs (version, mode, key, cipher or encryption mismatch)
    quint64 refused = 0;               // CONFIRMs refused (backlog full, conv collision)
    quint64 replaced = 0;              // sessions replaced by a new handshake from the same address
    quint64 datagramsReceived = 0;
    quint64 datagramsSent = 0;
    quint64 droppedChecksum = 0;       // not kcpnet, or corrupted, and for no session
    quint64 droppedMalformed = 0;
    quint64 droppedUnknownSession = 0; // data for a conv that has no session
    quint64 droppedWrongAddress = 0;   // a session's conv from another address
    quint64 droppedNotAccepting = 0;   // handshakes while paused or closed
    quint64 resetsSent = 0;
    // Certificate mode (DTLS)
    quint64 dtlsHandshakes = 0;        // DTLS handshakes completed
    quint64 dtlsHandshakeFailures = 0; // failed, rejected (client certificate) or expired
    quint64 dtlsCookiesSent = 0;       // HelloVerifyRequests (ClientHellos without a valid cookie)
    quint64 droppedDtls = 0;           // not DTLS, not decryptable, or beyond the association bound
    quint32 dtlsAssociations = 0;      // DTLS associations now (handshaking or established; at most 4096)
};

// Accepts kcpnet sessions on one UDP port, like QTcpServer: listen(), newConnection(),
// nextPendingConnection(). All sessions share one QUdpSocket; datagrams are routed by conversation id in O(1).
// Sessions are driven by one timer per thread (see docs/ARCHITECTURE.md), so idle sessions cost nothing.
class Q_KCPNET_EXPORT QKcpServer : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QKcpConfig config READ config WRITE setConfig)
    Q_PROPERTY(int maxPendingConnections READ maxPendingConnections WRITE setMaxPendingConnections)

public:
    explicit QKcpServer(QObject *parent = nullptr);
    explicit QKcpServer(const QKcpConfig &config, QObject *parent = nullptr);
    ~QKcpServer() override;

    // The configuration given to every accepted session (mode and timers must match the clients').
    QKcpConfig config() const;
    void setConfig(const QKcpConfig &config);

    bool listen(const QHostAddress &address = QHostAddress::Any, quint16 port = 0);
    // Stops listening and closes every session gracefully (their peers see the close).
    void close();
    bool isListening() const;
    QHostAddress serverAddress() const;
    quint16 serverPort() const;

    // The last error: listen() failing, or (certificate mode) a client's failed DTLS handshake (acceptError()).
    QAbstractSocket::SocketError serverError() const;
    QString errorString() const;

    void setMaxPendingConnections(int count);
    int maxPendingConnections() const;
    bool hasPendingConnections() const;
    // The next accepted session, parented to the server (as QTcpServer does), or nullptr.
    virtual QKcpSocket *nextPendingConnection();

    // While paused, new handshakes are ignored (clients retry until their connect timeout);
    // existing sessions continue.
    void pauseAccepting();
    void resumeAccepting();

    // Live sessions (pending ones included).
    QList<QKcpSocket *> sessions() const;
    // Sum over live sessions (sessions field = their number).
    QKcpStatistics statistics() const;
    QKcpServerStatistics serverStatistics() const;

#if QT_CONFIG(dtls)
    // Certificate mode: with a configuration holding a local certificate and private key, listen() requires
    // DTLS 1.2 from every client (QKcpSocket::connectToHostEncrypted()); the cookie exchange keeps spoofed
    // handshakes stateless. Its peerVerifyMode decides about client certificates (VerifyPeer: required). A
    // failed handshake is reported with acceptError(SslHandshakeFailedError). A null configuration turns it off.
    // Applies from the next listen().
    void setSslConfiguration(const QSslConfiguration &configuration);
    QSslConfiguration sslConfiguration() const;
#endif

    // Socket options of the shared UDP socket (buffer sizes, TypeOfServiceOption).
    void setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value);
    QVariant socketOption(QAbstractSocket::SocketOption option) const;

Q_SIGNALS:
    void newConnection();
    void pendingConnectionAvailable();
    void acceptError(QAbstractSocket::SocketError socketError);

protected:
    // Called for each accepted session; the default adds it to the pending queue (addPendingConnection) and
    // emits newConnection(). Override to hand sockets elsewhere; a socket you take over stays a child of the server
    // until you reparent it.
    virtual void incomingConnection(QKcpSocket *socket);
    void addPendingConnection(QKcpSocket *socket);

private:
    friend class QKcpSocket;
    friend class QKcpSocketPrivate;
    Q_DISABLE_COPY(QKcpServer)
    Q_DECLARE_PRIVATE(QKcpServer)
    std::unique_ptr<QKcpServerPrivate> d_ptr;
};

Q_DECLARE_METATYPE(QKcpServerStatistics)

#endif // QKCPSERVER_H
