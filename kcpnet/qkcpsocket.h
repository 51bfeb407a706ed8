// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPSOCKET_H
#define QKCPSOCKET_H

#include "qkcpconfig.h"
#include "qkcpnetglobal.h"
#include "qkcpstatistics.h"
#include "qkcptrace.h"

#include <QtCore/qiodevice.h>
#include <QtNetwork/qabstractsocket.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qtnetworkglobal.h>
#if QT_CONFIG(dtls)
#include <QtNetwork/qssl.h>
#include <QtNetwork/qsslcertificate.h>
#include <QtNetwork/qsslcipher.h>
#include <QtNetwork/qsslconfiguration.h>
#include <QtNetwork/qsslerror.h>
#endif

#include <memory>
#include <utility>

class QKcpSocketPrivate;
class QKcpServer;
class QKcpServerPrivate;

// A reliable, ordered connection over UDP using KCP and the kcpnet session protocol.
// Used like QTcpSocket: connectToHost(), the connected()/readyRead()/disconnected() signals, read()/write(),
// disconnectFromHost(), abort(), and the blocking waitFor*() functions for threads without an event loop.
// In stream mode (the default) it is a byte stream: readLine(), QDataStream and QTextStream work. In message
// mode each writeMessage() arrives as one readMessage(). See docs/API.md.
//
// A socket lives in the thread that created it; all its work runs from that thread's event loop (or from the
// waitFor*() calls). It reuses QAbstractSocket's SocketState and SocketError.
//
// Encryption (docs/SECURITY.md): with a pre-shared key in the QKcpConfig every connection is authenticated and
// encrypted; or, like QSslSocket, connectToHostEncrypted() runs DTLS 1.2 with certificates (sslConfiguration(),
// sslErrors(), ignoreSslErrors(), peerCertificate()) and then the kcpnet session inside it.
class Q_KCPNET_EXPORT QKcpSocket : public QIODevice
{
    Q_OBJECT
    Q_PROPERTY(QAbstractSocket::SocketState state READ state NOTIFY stateChanged)
    Q_PROPERTY(QKcpConfig config READ config WRITE setConfig)
    Q_PROPERTY(qint64 readBufferSize READ readBufferSize WRITE setReadBufferSize)
    Q_PROPERTY(qint64 writeBufferLimit READ writeBufferLimit WRITE setWriteBufferLimit)

public:
    explicit QKcpSocket(QObject *parent = nullptr);
    explicit QKcpSocket(const QKcpConfig &config, QObject *parent = nullptr);
    ~QKcpSocket() override;

    // Settings. Mode, MTU and the session timers apply from the next connectToHost(); windows and the
    // no-delay settings also apply at once to a connected socket.
    QKcpConfig config() const;
    void setConfig(const QKcpConfig &config);

    // Binds the local UDP socket before connecting (default: any address, an ephemeral port).
    bool bind(const QHostAddress &address, quint16 port = 0,
              QAbstractSocket::BindMode mode = QAbstractSocket::DefaultForPlatform);

    void connectToHost(const QString &hostName, quint16 port, OpenMode mode = ReadWrite);
    void connectToHost(const QHostAddress &address, quint16 port, OpenMode mode = ReadWrite);
#if QT_CONFIG(dtls)
    // Certificate mode: a DTLS 1.2 handshake with the server (verifying its certificate against sslPeerName, by
    // default hostName), then the kcpnet session inside DTLS. encrypted() is emitted when DTLS is up, connected()
    // when the session is; data written before is sent then. Not with a pre-shared key or PlainKcp.
    void connectToHostEncrypted(const QString &hostName, quint16 port, OpenMode mode = ReadWrite);
    void connectToHostEncrypted(const QString &hostName, quint16 port, const QString &sslPeerName,
                                OpenMode mode = ReadWrite);
#endif
    // Graceful: everything written is delivered, the peer is told, then disconnected().
    void disconnectFromHost();
    // Immediate: the peer is told the connection was reset; unsent data is discarded.
    void abort();

    QAbstractSocket::SocketState state() const;
    QAbstractSocket::SocketError error() const;
    bool isValid() const;

    QHostAddress localAddress() const;
    quint16 localPort() const;
    QHostAddress peerAddress() const;
    quint16 peerPort() const;
    QString peerName() const;

    // Buffers. readBufferSize 0 = unlimited; when full, the socket stops reading from KCP and the receive window
    // closes, so the peer slows down. writeBufferLimit 0 = unlimited; when reached, write() accepts only what fits
    // (possibly 0 bytes) and writeMessage() returns 0: wait for bytesWritten() and write again.
    qint64 readBufferSize() const;
    void setReadBufferSize(qint64 size);
    qint64 writeBufferLimit() const;
    void setWriteBufferLimit(qint64 size);

    // QAbstractSocket options that apply to the UDP socket: SendBufferSizeSocketOption,
    // ReceiveBufferSizeSocketOption, TypeOfServiceOption (DSCP/TOS), MulticastTtlOption is not used.
    void setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value);
    QVariant socketOption(QAbstractSocket::SocketOption option);

    // Message mode.
    qint64 writeMessage(const QByteArray &message);
    QByteArray readMessage();
    bool hasPendingMessages() const;
    qint64 pendingMessageSize() const; // -1 if none
    qint64 maximumMessageSize() const;

    // Sends what the windows allow now instead of at the end of this event-loop turn.
    bool flush();

    QKcpStatistics statistics() const;

    // True while the connection is protected: a DTLS association (certificate mode) or a pre-shared-key session.
    bool isEncrypted() const;
#if QT_CONFIG(dtls)
    // Certificate mode. The configuration used by connectToHostEncrypted() (default:
    // QSslConfiguration::defaultDtlsConfiguration()): CA certificates, peer verification, a client certificate.
    // A server-side socket reports its server's configuration.
    void setSslConfiguration(const QSslConfiguration &configuration);
    QSslConfiguration sslConfiguration() const;
    // The peer's certificate (client: the server's; server side: the client's, if it sent one), its chain, and the
    // negotiated cipher and protocol; kept after the connection ends, cleared by the next connect.
    QSslCertificate peerCertificate() const;
    QList<QSslCertificate> peerCertificateChain() const;
    QSslCipher sessionCipher() const;
    QSsl::SslProtocol sessionProtocol() const;
    // The certificate verification errors of the last handshake (also given to sslErrors()).
    QList<QSslError> sslHandshakeErrors() const;
    // Accept these errors: call before connecting, or from a slot connected to sslErrors().
    void ignoreSslErrors(const QList<QSslError> &errors);
#endif

    // Protocol tracing: while on, the socket records every KCP event (segment sent, retransmitted, acknowledged,
    // received in or out of order, RTT sample, window change...) in a ring of at most maxEvents (oldest dropped).
    // Costs nothing while off. Events survive stopTrace() until clearTrace() or the next startTrace().
    void startTrace(int maxEvents = 100000);
    void stopTrace();
    bool isTracing() const;
    QList<QKcpTraceEvent> traceEvents() const;
    void clearTrace();

    // QIODevice
    bool isSequential() const override;
    qint64 bytesAvailable() const override;
    qint64 bytesToWrite() const override;
    bool canReadLine() const override;
    void close() override;
    bool atEnd() const override;

    // Blocking use (also in a thread without an event loop). Each returns false on timeout or error.
    bool waitForConnected(int msecs = 30000);
    bool waitForReadyRead(int msecs = 30000) override;
    bool waitForBytesWritten(int msecs = 30000) override;
    bool waitForDisconnected(int msecs = 30000);

    // Two sockets connected to each other over UDP on 127.0.0.1 (handy for tests). Both get `parent`.
    // Returns {nullptr, nullptr} if the connection could not be set up within `msecs`.
    static std::pair<QKcpSocket *, QKcpSocket *> createPair(const QKcpConfig &config = QKcpConfig(),
                                                            QObject *parent = nullptr, int msecs = 5000);

#if QT_CONFIG(dtls)
public Q_SLOTS:
    // Accept whatever sslErrors() reported for this handshake (call from a slot connected to sslErrors()).
    // Disables the protection certificates give: prefer ignoreSslErrors(list) with the errors you expect.
    void ignoreSslErrors();
#endif

Q_SIGNALS:
    void hostFound();
    void connected();
    void disconnected();
    void stateChanged(QAbstractSocket::SocketState state);
    void errorOccurred(QAbstractSocket::SocketError error);
#if QT_CONFIG(dtls)
    // Certificate mode: the DTLS handshake completed (the kcpnet session handshake follows).
    void encrypted();
    // The server's certificate did not verify. Unless a connected slot calls ignoreSslErrors(), the connection
    // fails with SslHandshakeFailedError once the signal returns.
    void sslErrors(const QList<QSslError> &errors);
#endif

protected:
    qint64 readData(char *data, qint64 maxSize) override;
    qint64 readLineData(char *data, qint64 maxSize) override;
    qint64 writeData(const char *data, qint64 size) override;

private:
    friend class QKcpServer;
    friend class QKcpServerPrivate;
    // Server-side socket for an accepted session (created by QKcpServer).
    QKcpSocket(QKcpServerPrivate *server, const QKcpConfig &config, QObject *parent);

    Q_DISABLE_COPY(QKcpSocket)
    Q_DECLARE_PRIVATE(QKcpSocket)
    std::unique_ptr<QKcpSocketPrivate> d_ptr;
};

#endif // QKCPSOCKET_H
