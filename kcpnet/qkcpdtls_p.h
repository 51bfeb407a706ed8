// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Private DTLS 1.2 layer (certificate mode) over QDtls / QDtlsClientVerifier. Not part of the public API.
//
//  - QKcpDtlsClient: one DTLS association with one server over the client's own QUdpSocket. The socket may be
//    connected (udp->connectToHost(addr, port)) or not: QDtls's OpenSSL backend sends with QUdpSocket::write() when
//    the socket is in ConnectedState and with writeDatagram(data, addr, port) otherwise.
//  - QKcpDtlsServer: stateless cookie exchange (QDtlsClientVerifier), then one QDtls per verified peer address and
//    port, all over the server's one shared QUdpSocket. Half-finished handshakes expire; the number of associations
//    is bounded.
//
// Neither class reads from the socket: the owner reads every datagram and hands it in (handleDatagram()). Both send
// through the socket they are given (handshake flights, retransmissions, alerts, encrypted datagrams). Each
// encrypted datagram carries exactly one application datagram (one DTLS record); overhead() bounds the growth.
// Everything runs in the thread the objects live in; QDtls's retransmission timers need that thread's event loop.
#ifndef QKCPDTLS_P_H
#define QKCPDTLS_P_H

#include <QtCore/qbytearray.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qstring.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qdtls.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qssl.h>
#include <QtNetwork/qsslcertificate.h>
#include <QtNetwork/qsslcipher.h>
#include <QtNetwork/qsslconfiguration.h>
#include <QtNetwork/qsslerror.h>
#include <QtNetwork/qsslkey.h>

QT_BEGIN_NAMESPACE
class QUdpSocket;
QT_END_NAMESPACE

namespace QKcpDtls {

// DTLS 1.2 record header: type, version, epoch, sequence number, length.
constexpr int RecordHeaderSize = 13;
// Largest application datagram write() accepts (the DTLS record plaintext limit).
constexpr qsizetype MaxPlaintextSize = 16384;
// Default bound for a handshake, and for how long a server keeps a half-finished one (ms).
constexpr int DefaultHandshakeTimeout = 10000;
// Default bound on a server's associations (handshaking + established).
constexpr int DefaultMaxPeers = 4096;

// Bytes DTLS 1.2 adds to one application datagram at most with 'cipher' (record header + explicit nonce/IV +
// tag/MAC + CBC padding). A null cipher gives the bound over all cipher suites OpenSSL offers for DTLS 1.2 (93).
int recordOverhead(const QSslCipher &cipher);

// Whether 'key' is the private key of 'certificate' (both non-null). A server with a mismatched pair would fail
// every handshake; listen() checks it first.
bool keyMatchesCertificate(const QSslCertificate &certificate, const QSslKey &key);

// The configuration QDtls gets: 'config' with a DTLS 1.2 protocol (DtlsV1_2 is kept, anything else becomes
// DtlsV1_2OrLater) and, for servers, cookie verification on.
QSslConfiguration dtlsConfiguration(const QSslConfiguration &config, QSslSocket::SslMode mode);

} // namespace QKcpDtls

class QKcpDtlsClient : public QObject
{
    Q_OBJECT
public:
    enum class Result { Nothing, HandshakeInProgress, HandshakeComplete, VerificationErrors, Data, Failed };

    // 'verificationName' is the name the server certificate must match; empty means the socket's peerName()
    // (QDtls's rule), which is what a socket connected with connectToHost(hostName, ...) reports.
    QKcpDtlsClient(const QSslConfiguration &config, const QHostAddress &address, quint16 port,
                   const QString &verificationName, QObject *parent = nullptr);
    ~QKcpDtlsClient() override;

    // Give up a handshake that has not completed after 'msecs' (default 10000): failed() is emitted.
    void setHandshakeTimeout(int msecs);
    int handshakeTimeout() const;

    // Starts a new association (dropping any previous one without a close_notify) and sends the ClientHello.
    // false + errorString() on failure.
    bool startHandshake(QUdpSocket *udp);

    // Every datagram from the server goes here. Data: *plain holds one decrypted datagram. VerificationErrors: the
    // handshake paused because of peerVerificationErrors(); the caller either calls ignoreVerificationErrors(errors)
    // + resumeHandshake(udp), or shutdown(udp). Failed: errorString() says why (handshake failure, or the server
    // closed the association). Nothing: ignored (not DTLS, a retransmission, a record that failed authentication,
    // or no handshake in progress).
    Result handleDatagram(QUdpSocket *udp, const QByteArray &datagram, QByteArray *plain);

    // Sends 'data' as one encrypted datagram (1..16384 bytes). false + errorString() when not encrypted or on error.
    bool write(QUdpSocket *udp, const char *data, qsizetype size);

    QList<QSslError> peerVerificationErrors() const;
    void ignoreVerificationErrors(const QList<QSslError> &errors); // before or during the handshake
    bool resumeHandshake(QUdpSocket *udp);                         // true when the association is now encrypted
    void shutdown(QUdpSocket *udp);   // sends close_notify when encrypted, aborts a handshake otherwise
    // For callers without an event loop (blocking waits), where QDtls's retransmission timer never fires: resends
    // the last handshake flight if OpenSSL's retransmission timer has expired (else does nothing). Call it every
    // few hundred ms while isHandshaking().
    void retransmitIfDue(QUdpSocket *udp);

    bool isEncrypted() const;
    bool isHandshaking() const;       // a handshake is in progress or paused at VerificationErrors
    QSslCertificate peerCertificate() const;
    QList<QSslCertificate> peerCertificateChain() const;
    QSslCipher sessionCipher() const;
    QSsl::SslProtocol sessionProtocol() const;
    QString errorString() const;

    // Bytes DTLS adds to each application datagram at most: QKcpDtls::recordOverhead(sessionCipher()) once
    // encrypted (37 for AES-GCM), the all-suite bound (93) before.
    int overhead() const;

Q_SIGNALS:
    // The handshake did not complete within handshakeTimeout() (retransmissions are handled internally).
    void failed(const QString &reason);

private:
    void discardDtls();
    void onDeadline();

    QSslConfiguration m_config;
    QHostAddress m_address;
    quint16 m_port = 0;
    QString m_verificationName;
    QList<QSslError> m_ignoredErrors;
    QString m_errorString;
    QDtls *m_dtls = nullptr;            // child of this; discarded with deleteLater()
    QPointer<QUdpSocket> m_udp;         // for retransmissions
    QTimer m_deadline;
    int m_handshakeTimeout = QKcpDtls::DefaultHandshakeTimeout;
};

class QKcpDtlsServer : public QObject
{
    Q_OBJECT
public:
    enum class Result { Consumed, Data, Dropped };
    struct Counters
    {
        quint64 cookiesSent = 0;          // HelloVerifyRequests sent (ClientHellos without a valid cookie)
        quint64 handshakesCompleted = 0;
        quint64 handshakesFailed = 0;     // failed, rejected (client certificate) or expired
        quint64 dropped = 0;              // datagrams answered with Dropped
    };

    // 'config' needs the local certificate and private key; its peerVerifyMode decides about client certificates
    // (VerifyPeer: a client without a valid certificate fails; QueryPeer/AutoVerifyPeer: asked for, not required;
    // VerifyNone: not asked for).
    explicit QKcpDtlsServer(const QSslConfiguration &config, QObject *parent = nullptr);
    ~QKcpDtlsServer() override;

    // Consumed: handshake traffic handled (or a verifier reply sent); Data: *plain is one decrypted datagram from
    // that peer; Dropped: invalid / not decryptable / over the peer bound (counted).
    Result handleDatagram(QUdpSocket *udp, const QByteArray &datagram, const QHostAddress &from, quint16 port,
                          QByteArray *plain);
    // Sends one encrypted datagram to an established peer.
    bool write(QUdpSocket *udp, const QHostAddress &to, quint16 port, const char *data, qsizetype size);
    // Forgets the association; with 'udp', an established one gets a close_notify first.
    void removePeer(const QHostAddress &address, quint16 port, QUdpSocket *udp = nullptr);

    bool hasPeer(const QHostAddress &address, quint16 port) const;         // handshaking or established
    bool isPeerEncrypted(const QHostAddress &address, quint16 port) const; // established
    QSslCertificate peerCertificate(const QHostAddress &address, quint16 port) const; // client certificate, if any
    int peerCount() const;                                                  // handshaking + established

    void setMaxPeers(int n);     // bound on associations; new ones beyond are dropped (default 4096)
    int maxPeers() const;
    void setHandshakeTimeout(int msecs); // half-finished handshakes are dropped after this (default 10000)
    int handshakeTimeout() const;

    Counters counters() const;
    QSslCipher sessionCipher(const QHostAddress &address, quint16 port) const;
    // Bytes DTLS adds to each application datagram at most for that peer: QKcpDtls::recordOverhead() of its
    // negotiated cipher (37 for AES-GCM), the all-suite bound (93) while it is not established.
    int overhead(const QHostAddress &address, quint16 port) const;

Q_SIGNALS:
    // A handshake with a verified peer failed, was rejected or expired; the association is gone.
    void peerError(const QHostAddress &address, quint16 port, const QString &reason);
    // A handshake completed: from now on the peer's datagrams come back as Data. Also emitted when a client
    // re-handshaked from the same address and port (its old association has been replaced).
    void handshakeCompleted(const QHostAddress &address, quint16 port);
    // The peer sent close_notify (or a fatal alert); the association is gone.
    void peerClosed(const QHostAddress &address, quint16 port);

private:
    struct PeerKey
    {
        QHostAddress address;
        quint16 port = 0;
        friend bool operator==(const PeerKey &a, const PeerKey &b)
        {
            return a.port == b.port && a.address == b.address;
        }
        friend size_t qHash(const PeerKey &k, size_t seed = 0) noexcept { return qHashMulti(seed, k.address, k.port); }
    };
    struct Peer
    {
        QDtls *dtls = nullptr;   // child of this; discarded with deleteLater()
        QByteArray helloRandom;  // the client random of the verified ClientHello that started the association
        QElapsedTimer started;
        bool established = false;
    };

    Result verifyHello(QUdpSocket *udp, const QByteArray &datagram, const PeerKey &key, bool known);
    Result continueHandshake(QUdpSocket *udp, const QByteArray &datagram, const PeerKey &key);
    Result decrypt(QUdpSocket *udp, const QByteArray &datagram, const PeerKey &key, QByteArray *plain);
    Result drop();
    void failPeer(const PeerKey &key, const QString &reason);
    void discardPeer(const PeerKey &key);
    void onHandshakeTimeout(QDtls *dtls);
    void sweep();

    QSslConfiguration m_config;
    QDtlsClientVerifier m_verifier;
    QHash<PeerKey, Peer> m_peers;
    QPointer<QUdpSocket> m_udp;   // the socket of the last handleDatagram(), for retransmissions
    QTimer m_sweepTimer;
    Counters m_counters;
    int m_maxPeers = QKcpDtls::DefaultMaxPeers;
    int m_handshakeTimeout = QKcpDtls::DefaultHandshakeTimeout;
};

#endif // QKCPDTLS_P_H
