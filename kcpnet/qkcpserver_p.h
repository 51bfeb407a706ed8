// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Private implementation of QKcpServer. Not part of the API.
#ifndef QKCPSERVER_P_H
#define QKCPSERVER_P_H

#include "qkcpserver.h"

#include "kcphandshake.h"
#include "kcppackettransform.h"

#include <memory>
#include <optional>

#include <QtCore/qbytearray.h>
#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qqueue.h>
#include <QtNetwork/qhostaddress.h>
#if QT_CONFIG(dtls)
#include "qkcpdtls_p.h"
#endif

class QUdpSocket;
class QKcpSocketPrivate;

// Identity of a peer endpoint, for the address -> session map.
struct QKcpPeerKey {
    quint64 hi = 0;
    quint64 lo = 0;
    quint16 port = 0;
    bool operator==(const QKcpPeerKey &o) const { return hi == o.hi && lo == o.lo && port == o.port; }
};
size_t qHash(const QKcpPeerKey &k, size_t seed = 0) noexcept;
QKcpPeerKey qkcpPeerKey(const QHostAddress &address, quint16 port);
kcpnet::KcpPeerAddress qkcpPeerAddress(const QHostAddress &address, quint16 port);

class QKcpServerPrivate
{
public:
    explicit QKcpServerPrivate(QKcpServer *q);
    ~QKcpServerPrivate();

    void readDatagrams();
    // Answers a HELLO that is not protected the way this server requires with REJECT(Security), in the clear
    // (certificate mode: a plain kcpnet HELLO; otherwise: a DTLS ClientHello). True when it was one.
    bool rejectWrongSecurity(const char *data, qsizetype size, const QHostAddress &from, quint16 port);
#if QT_CONFIG(dtls)
    void receiveDtls(const char *data, qsizetype size, const QHostAddress &from, quint16 port, qint64 now);
    void startDtls();
    void stopDtls();
#endif
    void dispatch(const char *data, qsizetype size, const QHostAddress &from, quint16 port, qint64 now);
    void accept(const kcpnet::KcpHandshakeResponder::Outcome &handshake, const QHostAddress &from, quint16 port,
                qint64 now);
    // Plain KCP: a datagram from an address with no session (kcp-go's Listener: the first valid packet creates it).
    void acceptPlain(const char *data, qsizetype size, const QHostAddress &from, quint16 port, qint64 now);
    // Plain KCP: `old`'s peer started a new conversation (`decoded` is its first KCP datagram): replace the session.
    void replacePlain(QKcpSocketPrivate *old, quint32 conv, const QByteArray &decoded);
    QKcpSocketPrivate *createPlainSession(quint32 conv, const QHostAddress &from, quint16 port,
                                          std::unique_ptr<kcpnet::KcpPacketTransform> transform,
                                          const QList<QByteArray> &decoded);
    QList<QKcpSocketPrivate *> allSessions() const;
    void sendTo(const std::uint8_t *data, std::size_t size, const QHostAddress &to, quint16 port);
    // A server-side socket reached Unconnected or is being destroyed.
    void sessionEnded(QKcpSocketPrivate *s);
    // Blocking: wait up to msecs for datagrams and process them. Used by waitFor*() of server-side sockets.
    bool waitForIncoming(int msecs);
    void closeTransportIfDone();
    kcpnet::KcpHandshakeResponder::Settings responderSettings() const;

    QKcpServer *q_ptr;
    QKcpConfig config;
    QUdpSocket *udp = nullptr;
    kcpnet::KcpHandshakeResponder responder;
    QHash<quint32, QKcpSocketPrivate *> byConv;
    QHash<QKcpPeerKey, quint32> byAddress;
    QHash<QKcpPeerKey, QKcpSocketPrivate *> plainByAddress; // plain KCP: sessions are identified by the peer
    QQueue<QPointer<QKcpSocket>> pending;
    QKcpServerStatistics stats;
#if QT_CONFIG(dtls)
    // Certificate mode when set (a default-constructed QSslConfiguration would load Qt's TLS backend, ~2 MB, into
    // every server, so none exists until one is given).
    std::optional<QSslConfiguration> sslConfiguration;
    QKcpDtlsServer *dtls = nullptr;     // certificate mode, while listening (child of q)
#endif
    QHostAddress address;
    quint16 port = 0;
    QAbstractSocket::SocketError error = QAbstractSocket::UnknownSocketError;
    QString errorString;
    QByteArray rx;
    int maxPending = 30;
    bool listening = false;
    bool paused = false;
    bool readScheduled = false;

    Q_DECLARE_PUBLIC(QKcpServer)
};

#endif // QKCPSERVER_P_H
