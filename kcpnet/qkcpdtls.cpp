// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpdtls_p.h"

#include <QtCore/qstringlist.h>
#include <QtNetwork/qudpsocket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

namespace {

constexpr quint8 ContentChangeCipherSpec = 20;
constexpr quint8 ContentAlert = 21;
constexpr quint8 ContentHandshake = 22;
constexpr quint8 ContentApplicationData = 23;
constexpr quint8 HandshakeClientHello = 1;

inline const uchar *bytes(const QByteArray &d)
{
    return reinterpret_cast<const uchar *>(d.constData());
}

inline int recordLength(const uchar *record)
{
    return (int(record[11]) << 8) | int(record[12]);
}

// A cheap plausibility check before anything reaches OpenSSL: the datagram starts with a whole DTLS 1.x record
// header of a known content type, and that record fits into the datagram.
bool looksLikeDtls(const QByteArray &datagram)
{
    if (datagram.size() < QKcpDtls::RecordHeaderSize)
        return false;
    const uchar *p = bytes(datagram);
    if (p[0] < ContentChangeCipherSpec || p[0] > ContentApplicationData)
        return false;
    if (p[1] != 0xfe || p[2] < 0xfd) // DTLS 1.2 (0xfefd) or DTLS 1.0 (0xfeff, ClientHello record version)
        return false;
    return QKcpDtls::RecordHeaderSize + recordLength(p) <= datagram.size();
}

// Offsets in a datagram that starts with a ClientHello record: the record header, then the handshake header (type,
// length, message_seq, fragment_offset, fragment_length), then client_version and the 32-byte random.
constexpr int HelloFragmentOffset = QKcpDtls::RecordHeaderSize + 6;
constexpr int HelloRandomOffset = QKcpDtls::RecordHeaderSize + 12 + 2;
constexpr int HelloRandomSize = 32;

// The first fragment of a ClientHello in epoch 0: the start of a (new or retransmitted) handshake.
bool isClientHello(const QByteArray &datagram)
{
    if (datagram.size() < HelloRandomOffset + HelloRandomSize)
        return false;
    const uchar *p = bytes(datagram);
    return p[0] == ContentHandshake && p[3] == 0 && p[4] == 0 && p[QKcpDtls::RecordHeaderSize] == HandshakeClientHello
        && p[HelloFragmentOffset] == 0 && p[HelloFragmentOffset + 1] == 0 && p[HelloFragmentOffset + 2] == 0;
}

// The client's random identifies a handshake attempt: retransmissions and the cookie-bearing second ClientHello
// repeat it (RFC 6347 4.2.1), a client that starts over picks a new one. (The record sequence number differs
// between retransmissions, so whole datagrams cannot be compared.)
QByteArray helloRandom(const QByteArray &clientHello)
{
    return clientHello.mid(HelloRandomOffset, HelloRandomSize);
}

// The content types of the records in a datagram (bit 'type - 20' set), as far as the headers are well-formed.
unsigned recordTypes(const QByteArray &datagram)
{
    unsigned types = 0;
    qsizetype offset = 0;
    while (datagram.size() - offset >= QKcpDtls::RecordHeaderSize) {
        const uchar *p = bytes(datagram) + offset;
        if (p[0] < ContentChangeCipherSpec || p[0] > ContentApplicationData)
            break;
        types |= 1u << (p[0] - ContentChangeCipherSpec);
        offset += QKcpDtls::RecordHeaderSize + recordLength(p);
    }
    return types;
}

constexpr unsigned typeBit(quint8 type)
{
    return 1u << (type - ContentChangeCipherSpec);
}

QString joinErrors(const QList<QSslError> &errors)
{
    QStringList parts;
    parts.reserve(errors.size());
    for (const QSslError &e : errors)
        parts.append(e.errorString());
    return parts.join(QStringLiteral("; "));
}

} // namespace

int QKcpDtls::recordOverhead(const QSslCipher &cipher)
{
    constexpr int CbcIv = 16;        // explicit IV, one block (AES, Camellia, ARIA; 3DES uses 8)
    constexpr int CbcPadding = 16;   // padding + its length byte, at most one block with minimal padding
    constexpr int MaxMac = 48;       // HMAC-SHA384
    constexpr int AeadTag = 16;
    constexpr int ExplicitNonce = 8; // AES-GCM, AES-CCM, ARIA-GCM (RFC 5288, 6655); ChaCha20-Poly1305 has none

    const QString name = cipher.name().toUpper();
    if (cipher.isNull() || name.isEmpty())
        return RecordHeaderSize + CbcIv + MaxMac + CbcPadding;
    if (name.contains(QLatin1StringView("CHACHA20")))
        return RecordHeaderSize + AeadTag;
    if (name.contains(QLatin1StringView("GCM")))
        return RecordHeaderSize + ExplicitNonce + AeadTag;
    if (name.contains(QLatin1StringView("CCM8")) || name.contains(QLatin1StringView("CCM_8")))
        return RecordHeaderSize + ExplicitNonce + 8;
    if (name.contains(QLatin1StringView("CCM")))
        return RecordHeaderSize + ExplicitNonce + AeadTag;

    // CBC (or NULL encryption) with an HMAC named by the suffix.
    int mac = MaxMac;
    if (name.endsWith(QLatin1StringView("-SHA256")))
        mac = 32;
    else if (name.endsWith(QLatin1StringView("-SHA")))
        mac = 20;
    else if (name.endsWith(QLatin1StringView("-MD5")))
        mac = 16;
    return RecordHeaderSize + CbcIv + mac + CbcPadding;
}

bool QKcpDtls::keyMatchesCertificate(const QSslCertificate &certificate, const QSslKey &key)
{
    if (certificate.isNull() || key.isNull())
        return false;
    const QByteArray certPem = certificate.toPem();
    const QByteArray keyPem = key.toPem();
    BIO *certBio = BIO_new_mem_buf(certPem.constData(), static_cast<int>(certPem.size()));
    BIO *keyBio = BIO_new_mem_buf(keyPem.constData(), static_cast<int>(keyPem.size()));
    X509 *x509 = certBio ? PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr) : nullptr;
    EVP_PKEY *pkey = keyBio ? PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr) : nullptr;
    const bool match = x509 && pkey && X509_check_private_key(x509, pkey) == 1;
    EVP_PKEY_free(pkey);
    X509_free(x509);
    BIO_free(keyBio);
    BIO_free(certBio);
    ERR_clear_error(); // a mismatch leaves errors on this thread's queue: not for whoever looks next
    return match;
}

QSslConfiguration QKcpDtls::dtlsConfiguration(const QSslConfiguration &config, QSslSocket::SslMode mode)
{
    QSslConfiguration c = config;
    if (c.protocol() != QSsl::DtlsV1_2)
        c.setProtocol(QSsl::DtlsV1_2OrLater);
    if (mode == QSslSocket::SslServerMode)
        c.setDtlsCookieVerificationEnabled(true); // QDtls re-checks the cookie QDtlsClientVerifier accepted
    return c;
}

// ---------------------------------------------------------------------------------------------------------------
// QKcpDtlsClient

QKcpDtlsClient::QKcpDtlsClient(const QSslConfiguration &config, const QHostAddress &address, quint16 port,
                               const QString &verificationName, QObject *parent)
    : QObject(parent),
      m_config(QKcpDtls::dtlsConfiguration(config, QSslSocket::SslClientMode)),
      m_address(address),
      m_port(port),
      m_verificationName(verificationName)
{
    m_deadline.setSingleShot(true);
    connect(&m_deadline, &QTimer::timeout, this, &QKcpDtlsClient::onDeadline);
}

QKcpDtlsClient::~QKcpDtlsClient() = default; // m_dtls is a child

void QKcpDtlsClient::setHandshakeTimeout(int msecs)
{
    m_handshakeTimeout = std::max(1, msecs);
}

int QKcpDtlsClient::handshakeTimeout() const
{
    return m_handshakeTimeout;
}

void QKcpDtlsClient::discardDtls()
{
    m_deadline.stop();
    if (!m_dtls)
        return;
    // The QDtls may be on the stack (its timer event emits handshakeTimeout): never delete it synchronously.
    disconnect(m_dtls, nullptr, this, nullptr);
    m_dtls->deleteLater();
    m_dtls = nullptr;
}

bool QKcpDtlsClient::startHandshake(QUdpSocket *udp)
{
    discardDtls();
    m_errorString.clear();
    if (!udp) {
        m_errorString = tr("No UDP socket");
        return false;
    }
    m_udp = udp;

    auto *dtls = new QDtls(QSslSocket::SslClientMode, this);
    if (!dtls->setPeer(m_address, m_port, m_verificationName) || !dtls->setDtlsConfiguration(m_config)) {
        m_errorString = dtls->dtlsErrorString();
        delete dtls; // not started, no timer yet
        return false;
    }
    if (!m_ignoredErrors.isEmpty())
        dtls->ignoreVerificationErrors(m_ignoredErrors);
    connect(dtls, &QDtls::handshakeTimeout, this, [this, dtls] {
        if (dtls == m_dtls && m_udp && dtls->handshakeState() == QDtls::HandshakeInProgress)
            dtls->handleTimeout(m_udp); // retransmits the last flight; OpenSSL doubles the interval
    });
    m_dtls = dtls;
    if (!dtls->doHandshake(udp)) {
        m_errorString = dtls->dtlsErrorString();
        discardDtls();
        return false;
    }
    m_deadline.start(m_handshakeTimeout);
    return true;
}

void QKcpDtlsClient::onDeadline()
{
    if (!m_dtls || m_dtls->handshakeState() != QDtls::HandshakeInProgress)
        return;
    if (m_udp)
        m_dtls->abortHandshake(m_udp);
    discardDtls();
    m_errorString = tr("DTLS handshake timed out after %1 ms").arg(m_handshakeTimeout);
    Q_EMIT failed(m_errorString);
}

QKcpDtlsClient::Result QKcpDtlsClient::handleDatagram(QUdpSocket *udp, const QByteArray &datagram,
                                                      QByteArray *plain)
{
    if (plain)
        plain->clear();
    if (!m_dtls || !udp || !looksLikeDtls(datagram))
        return Result::Nothing;
    m_udp = udp;

    switch (m_dtls->handshakeState()) {
    case QDtls::HandshakeNotStarted:
    case QDtls::PeerVerificationFailed: // waiting for the caller's decision
        return Result::Nothing;
    case QDtls::HandshakeInProgress: {
        const bool ok = m_dtls->doHandshake(udp, datagram);
        switch (m_dtls->handshakeState()) {
        case QDtls::HandshakeComplete:
            m_deadline.stop();
            return Result::HandshakeComplete;
        case QDtls::PeerVerificationFailed:
            m_deadline.stop(); // the handshake is over on the wire; only the decision is pending
            m_errorString = joinErrors(m_dtls->peerVerificationErrors());
            return Result::VerificationErrors;
        case QDtls::HandshakeInProgress:
            if (ok)
                return Result::HandshakeInProgress;
            break;
        case QDtls::HandshakeNotStarted:
            break;
        }
        m_errorString = m_dtls->dtlsErrorString();
        if (m_errorString.isEmpty())
            m_errorString = tr("DTLS handshake failed");
        discardDtls();
        return Result::Failed;
    }
    case QDtls::HandshakeComplete:
        break;
    }

    const QByteArray decrypted = m_dtls->decryptDatagram(udp, datagram);
    if (!decrypted.isEmpty()) {
        if (plain)
            *plain = decrypted;
        return Result::Data;
    }
    const QDtlsError error = m_dtls->dtlsError();
    if (error == QDtlsError::RemoteClosedConnectionError
        || (error != QDtlsError::NoError && (recordTypes(datagram) & typeBit(ContentAlert)))) {
        m_errorString = error == QDtlsError::RemoteClosedConnectionError
                ? tr("The server closed the DTLS association")
                : m_dtls->dtlsErrorString();
        discardDtls();
        return Result::Failed;
    }
    // A handshake retransmission, or a record that failed authentication (silently discarded, RFC 6347 4.1.2.7).
    return Result::Nothing;
}

bool QKcpDtlsClient::write(QUdpSocket *udp, const char *data, qsizetype size)
{
    if (!udp || !data || size <= 0 || size > QKcpDtls::MaxPlaintextSize) {
        m_errorString = tr("Invalid datagram");
        return false;
    }
    if (!isEncrypted()) {
        m_errorString = tr("The DTLS association is not encrypted");
        return false;
    }
    const qint64 written = m_dtls->writeDatagramEncrypted(udp, QByteArray::fromRawData(data, size));
    if (written != size) {
        m_errorString = m_dtls->dtlsErrorString();
        if (m_errorString.isEmpty())
            m_errorString = udp->errorString();
        return false;
    }
    return true;
}

QList<QSslError> QKcpDtlsClient::peerVerificationErrors() const
{
    return m_dtls ? m_dtls->peerVerificationErrors() : QList<QSslError>();
}

void QKcpDtlsClient::ignoreVerificationErrors(const QList<QSslError> &errors)
{
    m_ignoredErrors = errors;
    if (m_dtls)
        m_dtls->ignoreVerificationErrors(errors);
}

bool QKcpDtlsClient::resumeHandshake(QUdpSocket *udp)
{
    if (!m_dtls || !udp || m_dtls->handshakeState() != QDtls::PeerVerificationFailed) {
        m_errorString = tr("No DTLS handshake to resume");
        return false;
    }
    m_udp = udp;
    if (!m_dtls->resumeHandshake(udp) || !m_dtls->isConnectionEncrypted()) {
        m_errorString = m_dtls->dtlsErrorString();
        if (m_errorString.isEmpty())
            m_errorString = tr("Not all peer verification errors were ignored");
        return false;
    }
    return true;
}

void QKcpDtlsClient::retransmitIfDue(QUdpSocket *udp)
{
    // QDtls::handleTimeout() asks OpenSSL, which resends only once its own timer (1 s, doubling) has expired.
    if (m_dtls && udp && m_dtls->handshakeState() == QDtls::HandshakeInProgress)
        m_dtls->handleTimeout(udp);
}

void QKcpDtlsClient::shutdown(QUdpSocket *udp)
{
    if (m_dtls && udp) {
        switch (m_dtls->handshakeState()) {
        case QDtls::HandshakeComplete:
            if (m_dtls->isConnectionEncrypted())
                m_dtls->shutdown(udp);
            break;
        case QDtls::HandshakeInProgress:
        case QDtls::PeerVerificationFailed:
            m_dtls->abortHandshake(udp);
            break;
        case QDtls::HandshakeNotStarted:
            break;
        }
    }
    discardDtls();
}

bool QKcpDtlsClient::isEncrypted() const
{
    return m_dtls && m_dtls->isConnectionEncrypted();
}

bool QKcpDtlsClient::isHandshaking() const
{
    return m_dtls
        && (m_dtls->handshakeState() == QDtls::HandshakeInProgress
            || m_dtls->handshakeState() == QDtls::PeerVerificationFailed);
}

QSslCertificate QKcpDtlsClient::peerCertificate() const
{
    return m_dtls ? m_dtls->dtlsConfiguration().peerCertificate() : QSslCertificate();
}

QList<QSslCertificate> QKcpDtlsClient::peerCertificateChain() const
{
    return m_dtls ? m_dtls->dtlsConfiguration().peerCertificateChain() : QList<QSslCertificate>();
}

QSslCipher QKcpDtlsClient::sessionCipher() const
{
    return m_dtls ? m_dtls->sessionCipher() : QSslCipher();
}

QSsl::SslProtocol QKcpDtlsClient::sessionProtocol() const
{
    return m_dtls ? m_dtls->sessionProtocol() : QSsl::UnknownProtocol;
}

QString QKcpDtlsClient::errorString() const
{
    return m_errorString;
}

int QKcpDtlsClient::overhead() const
{
    return QKcpDtls::recordOverhead(isEncrypted() ? sessionCipher() : QSslCipher());
}

// ---------------------------------------------------------------------------------------------------------------
// QKcpDtlsServer

QKcpDtlsServer::QKcpDtlsServer(const QSslConfiguration &config, QObject *parent)
    : QObject(parent),
      m_config(QKcpDtls::dtlsConfiguration(config, QSslSocket::SslServerMode))
{
    // QDtlsClientVerifier and every server QDtls use the same (process-wide, random) cookie secret by default,
    // so a cookie the verifier issued is accepted again by the QDtls that takes the verified ClientHello.
    m_sweepTimer.setInterval(250);
    connect(&m_sweepTimer, &QTimer::timeout, this, &QKcpDtlsServer::sweep);
}

QKcpDtlsServer::~QKcpDtlsServer() = default; // the QDtls objects are children

QKcpDtlsServer::Result QKcpDtlsServer::drop()
{
    ++m_counters.dropped;
    return Result::Dropped;
}

QKcpDtlsServer::Result QKcpDtlsServer::handleDatagram(QUdpSocket *udp, const QByteArray &datagram,
                                                      const QHostAddress &from, quint16 port, QByteArray *plain)
{
    if (plain)
        plain->clear();
    if (!udp || from.isNull() || port == 0 || !looksLikeDtls(datagram))
        return drop();
    m_udp = udp;

    const PeerKey key{from, port};
    const auto it = m_peers.constFind(key);
    const bool hello = isClientHello(datagram);
    if (it == m_peers.cend())
        return hello ? verifyHello(udp, datagram, key, false) : drop();

    if (hello) {
        if (helloRandom(datagram) == it->helloRandom) {
            // A retransmission of the ClientHello that started this association (or a late copy of its
            // cookie-less first one): a handshaking QDtls answers it with its last flight if needed; an
            // established one has no use for it.
            return it->established ? Result::Consumed : continueHandshake(udp, datagram, key);
        }
        // Another ClientHello from a known address and port: the client restarted. Only a valid cookie
        // replaces the association, so a spoofed hello costs the peer nothing.
        return verifyHello(udp, datagram, key, true);
    }
    return it->established ? decrypt(udp, datagram, key, plain) : continueHandshake(udp, datagram, key);
}

QKcpDtlsServer::Result QKcpDtlsServer::verifyHello(QUdpSocket *udp, const QByteArray &datagram, const PeerKey &key,
                                                   bool known)
{
    // QDtlsClientVerifier is stateless: it either accepts the cookie or sends a HelloVerifyRequest (or ignores a
    // malformed hello). Count what it sent to tell the last two apart.
    quint64 sent = 0;
    const QMetaObject::Connection probe = connect(udp, &QUdpSocket::bytesWritten, this, [&sent] { ++sent; });
    const bool verified = m_verifier.verifyClient(udp, datagram, key.address, key.port);
    disconnect(probe);
    if (!verified) {
        if (sent == 0)
            return drop();
        ++m_counters.cookiesSent;
        return Result::Consumed;
    }
    if (!known && m_peers.size() >= m_maxPeers)
        return drop();

    const QByteArray verifiedHello = m_verifier.verifiedHello();
    auto *dtls = new QDtls(QSslSocket::SslServerMode, this);
    if (!dtls->setPeer(key.address, key.port) || !dtls->setDtlsConfiguration(m_config)) {
        const QString reason = dtls->dtlsErrorString();
        delete dtls; // not started, no timer yet
        ++m_counters.handshakesFailed;
        Q_EMIT peerError(key.address, key.port, reason);
        return Result::Consumed;
    }
    connect(dtls, &QDtls::handshakeTimeout, this, [this, dtls] { onHandshakeTimeout(dtls); });

    if (known)
        discardPeer(key); // the client's old association is gone on its side; no close_notify
    Peer peer;
    peer.dtls = dtls;
    peer.helloRandom = helloRandom(verifiedHello);
    peer.started.start();
    m_peers.insert(key, peer);
    if (!m_sweepTimer.isActive())
        m_sweepTimer.start();

    if (!dtls->doHandshake(udp, verifiedHello)) {
        failPeer(key, dtls->dtlsErrorString());
        return Result::Consumed;
    }
    return Result::Consumed;
}

QKcpDtlsServer::Result QKcpDtlsServer::continueHandshake(QUdpSocket *udp, const QByteArray &datagram,
                                                         const PeerKey &key)
{
    QDtls *dtls = m_peers.value(key).dtls;
    const bool ok = dtls->doHandshake(udp, datagram);
    switch (dtls->handshakeState()) {
    case QDtls::HandshakeComplete: {
        m_peers[key].established = true;
        ++m_counters.handshakesCompleted;
        Q_EMIT handshakeCompleted(key.address, key.port);
        return Result::Consumed;
    }
    case QDtls::PeerVerificationFailed: {
        // The client's certificate was required and is missing or invalid. On the wire the handshake has
        // completed (QDtls verifies afterwards), so the client believes it is connected: finish the handshake
        // only to send it a close_notify, then forget the association.
        const QList<QSslError> errors = dtls->peerVerificationErrors();
        const QString reason = tr("Client certificate rejected: %1").arg(joinErrors(errors));
        dtls->ignoreVerificationErrors(errors);
        if (dtls->resumeHandshake(udp) && dtls->isConnectionEncrypted())
            dtls->shutdown(udp);
        failPeer(key, reason);
        return Result::Consumed;
    }
    case QDtls::HandshakeInProgress:
        if (ok)
            return Result::Consumed;
        break;
    case QDtls::HandshakeNotStarted:
        break;
    }
    QString reason = dtls->dtlsErrorString();
    if (reason.isEmpty())
        reason = tr("DTLS handshake failed");
    failPeer(key, reason);
    return Result::Consumed;
}

QKcpDtlsServer::Result QKcpDtlsServer::decrypt(QUdpSocket *udp, const QByteArray &datagram, const PeerKey &key,
                                               QByteArray *plain)
{
    QDtls *dtls = m_peers.value(key).dtls;
    const QByteArray decrypted = dtls->decryptDatagram(udp, datagram);
    if (!decrypted.isEmpty()) {
        if (plain)
            *plain = decrypted;
        return Result::Data;
    }
    const QDtlsError error = dtls->dtlsError();
    const unsigned types = recordTypes(datagram);
    if (error == QDtlsError::RemoteClosedConnectionError
        || (error != QDtlsError::NoError && (types & typeBit(ContentAlert)))) {
        discardPeer(key);
        Q_EMIT peerClosed(key.address, key.port);
        return Result::Consumed;
    }
    // Empty without error: OpenSSL discarded the record (authentication failed, replay, old epoch) or it was
    // a handshake retransmission it answered itself.
    if (error != QDtlsError::NoError || (types & typeBit(ContentApplicationData)))
        return drop();
    return Result::Consumed;
}

bool QKcpDtlsServer::write(QUdpSocket *udp, const QHostAddress &to, quint16 port, const char *data, qsizetype size)
{
    if (!udp || !data || size <= 0 || size > QKcpDtls::MaxPlaintextSize)
        return false;
    const auto it = m_peers.constFind(PeerKey{to, port});
    if (it == m_peers.cend() || !it->established || !it->dtls->isConnectionEncrypted())
        return false;
    return it->dtls->writeDatagramEncrypted(udp, QByteArray::fromRawData(data, size)) == size;
}

void QKcpDtlsServer::removePeer(const QHostAddress &address, quint16 port, QUdpSocket *udp)
{
    const PeerKey key{address, port};
    const auto it = m_peers.constFind(key);
    if (it == m_peers.cend())
        return;
    if (udp && it->established && it->dtls->isConnectionEncrypted())
        it->dtls->shutdown(udp);
    discardPeer(key);
}

void QKcpDtlsServer::discardPeer(const PeerKey &key)
{
    const auto it = m_peers.find(key);
    if (it == m_peers.end())
        return;
    QDtls *dtls = it->dtls;
    m_peers.erase(it);
    // The QDtls may be on the stack (its timer event emits handshakeTimeout): never delete it synchronously.
    disconnect(dtls, nullptr, this, nullptr);
    dtls->deleteLater();
}

void QKcpDtlsServer::failPeer(const PeerKey &key, const QString &reason)
{
    if (!m_peers.contains(key))
        return;
    discardPeer(key);
    ++m_counters.handshakesFailed;
    Q_EMIT peerError(key.address, key.port, reason);
}

void QKcpDtlsServer::onHandshakeTimeout(QDtls *dtls)
{
    const PeerKey key{dtls->peerAddress(), dtls->peerPort()};
    const auto it = m_peers.constFind(key);
    if (it == m_peers.cend() || it->dtls != dtls || it->established)
        return;
    if (it->started.hasExpired(m_handshakeTimeout)) {
        failPeer(key, tr("DTLS handshake timed out"));
        return;
    }
    if (m_udp && dtls->handshakeState() == QDtls::HandshakeInProgress)
        dtls->handleTimeout(m_udp); // retransmits the last flight
}

void QKcpDtlsServer::sweep()
{
    QList<PeerKey> expired;
    bool handshaking = false;
    for (auto it = m_peers.cbegin(); it != m_peers.cend(); ++it) {
        if (it->established)
            continue;
        if (it->started.hasExpired(m_handshakeTimeout))
            expired.append(it.key());
        else
            handshaking = true;
    }
    if (!handshaking)
        m_sweepTimer.stop();
    for (const PeerKey &key : std::as_const(expired))
        failPeer(key, tr("DTLS handshake timed out"));
}

bool QKcpDtlsServer::hasPeer(const QHostAddress &address, quint16 port) const
{
    return m_peers.contains(PeerKey{address, port});
}

bool QKcpDtlsServer::isPeerEncrypted(const QHostAddress &address, quint16 port) const
{
    const auto it = m_peers.constFind(PeerKey{address, port});
    return it != m_peers.cend() && it->established && it->dtls->isConnectionEncrypted();
}

QSslCertificate QKcpDtlsServer::peerCertificate(const QHostAddress &address, quint16 port) const
{
    const auto it = m_peers.constFind(PeerKey{address, port});
    return it != m_peers.cend() ? it->dtls->dtlsConfiguration().peerCertificate() : QSslCertificate();
}

QSslCipher QKcpDtlsServer::sessionCipher(const QHostAddress &address, quint16 port) const
{
    const auto it = m_peers.constFind(PeerKey{address, port});
    return it != m_peers.cend() && it->established ? it->dtls->sessionCipher() : QSslCipher();
}

int QKcpDtlsServer::overhead(const QHostAddress &address, quint16 port) const
{
    return QKcpDtls::recordOverhead(sessionCipher(address, port));
}

int QKcpDtlsServer::peerCount() const
{
    return int(m_peers.size());
}

void QKcpDtlsServer::setMaxPeers(int n)
{
    m_maxPeers = std::max(0, n);
}

int QKcpDtlsServer::maxPeers() const
{
    return m_maxPeers;
}

void QKcpDtlsServer::setHandshakeTimeout(int msecs)
{
    m_handshakeTimeout = std::max(1, msecs);
    m_sweepTimer.setInterval(std::clamp(m_handshakeTimeout / 4, 10, 250));
}

int QKcpDtlsServer::handshakeTimeout() const
{
    return m_handshakeTimeout;
}

QKcpDtlsServer::Counters QKcpDtlsServer::counters() const
{
    return m_counters;
}
