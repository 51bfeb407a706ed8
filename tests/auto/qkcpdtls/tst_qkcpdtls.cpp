// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Qt Test suite of the private DTLS layer (QKcpDtlsClient, QKcpDtlsServer) over real UDP sockets on 127.0.0.1 and
// ::1, with the test PKI of kcptestcerts.h (generated at run time). Covers: round trips with connected and
// unconnected client sockets, certificate verification errors and ignoring them, client certificates, tampered
// and replayed records, the stateless cookie exchange, garbage input, the association bound, re-handshakes from
// the same address and port, expiry of half-finished handshakes, and the per-datagram overhead.
// Waits are condition-based (QTRY_*, QSignalSpy::wait) and bounded; nothing asserts on speed.

#include "qkcpdtls_p.h"

#include "kcptestcerts.h"

#include <QtCore/qset.h>
#include <QtNetwork/qsslsocket.h>
#include <QtNetwork/qudpsocket.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <functional>
#include <memory>
#include <random>

namespace {

using ClientResult = QKcpDtlsClient::Result;
using ServerResult = QKcpDtlsServer::Result;

const QString LocalName = QStringLiteral("localhost");

bool ipv6LoopbackAvailable()
{
    QUdpSocket probe;
    return probe.bind(QHostAddress::LocalHostIPv6, 0);
}

QByteArray pattern(qsizetype size, quint32 seed)
{
    std::mt19937 gen(seed);
    QByteArray b(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        b[i] = char(gen() & 0xff);
    return b;
}

// A DTLS server on its own UDP socket: reads bounded batches per readyRead and feeds every datagram through
// QKcpDtlsServer. 'tap' sees each datagram first and may change or swallow it (returns false).
class TestServer : public QObject
{
public:
    QUdpSocket udp;
    QKcpDtlsServer dtls;
    QList<ServerResult> results;
    QList<QByteArray> data;           // decrypted datagrams, in arrival order
    QList<quint16> dataPorts;         // source port of each
    std::function<bool(QByteArray *, const QHostAddress &, quint16)> tap;
    bool echo = false;

    TestServer(const QSslConfiguration &config, const QHostAddress &bindAddress) : dtls(config)
    {
        bound = udp.bind(bindAddress, 0);
        connect(&udp, &QUdpSocket::readyRead, this, &TestServer::readPending);
    }
    bool bound = false;
    quint16 port() const { return udp.localPort(); }
    QHostAddress address() const { return udp.localAddress(); }
    int count(ServerResult r) const { return int(results.count(r)); }

    void readPending()
    {
        for (int i = 0; i < 64 && udp.hasPendingDatagrams(); ++i) {
            const qint64 size = udp.pendingDatagramSize();
            QByteArray datagram(qMax<qint64>(size, 0), Qt::Uninitialized);
            QHostAddress from;
            quint16 fromPort = 0;
            if (udp.readDatagram(datagram.data(), datagram.size(), &from, &fromPort) < 0)
                continue;
            if (tap && !tap(&datagram, from, fromPort))
                continue;
            QByteArray plain;
            const ServerResult r = dtls.handleDatagram(&udp, datagram, from, fromPort, &plain);
            results.append(r);
            if (r == ServerResult::Data) {
                data.append(plain);
                dataPorts.append(fromPort);
                if (echo)
                    dtls.write(&udp, from, fromPort, plain.constData(), plain.size());
            }
        }
    }
};

// A DTLS client on its own UDP socket, connected to the server (as kcpnet's clients are) or not.
class TestClient : public QObject
{
public:
    QUdpSocket udp;
    QKcpDtlsClient dtls;
    QList<ClientResult> results;
    QList<QByteArray> data;
    std::function<bool(QByteArray *)> tap;

    TestClient(const QSslConfiguration &config, const TestServer &server, bool connected,
               const QString &name = LocalName, quint16 localPort = 0)
        : dtls(config, server.address(), server.port(), name), m_connected(connected)
    {
        bound = udp.bind(server.address(), localPort);
        if (bound && connected)
            udp.connectToHost(server.address(), server.port());
        connect(&udp, &QUdpSocket::readyRead, this, &TestClient::readPending);
    }
    bool bound = false;
    bool start() { return dtls.startHandshake(&udp); }
    bool send(const QByteArray &d) { return dtls.write(&udp, d.constData(), d.size()); }
    quint16 port() const { return udp.localPort(); }
    QHostAddress address() const { return udp.localAddress(); }
    bool has(ClientResult r) const { return results.contains(r); }
    bool socketConnected() const { return udp.state() == QAbstractSocket::ConnectedState; }
    bool connectedAsRequested() const { return socketConnected() == m_connected; }

    void readPending()
    {
        for (int i = 0; i < 64 && udp.hasPendingDatagrams(); ++i) {
            const qint64 size = udp.pendingDatagramSize();
            QByteArray datagram(qMax<qint64>(size, 0), Qt::Uninitialized);
            if (udp.readDatagram(datagram.data(), datagram.size()) < 0)
                continue;
            if (tap && !tap(&datagram))
                continue;
            QByteArray plain;
            const ClientResult r = dtls.handleDatagram(&udp, datagram, &plain);
            results.append(r);
            if (r == ClientResult::Data)
                data.append(plain);
        }
    }

private:
    bool m_connected = false;
};

bool isHelloVerifyRequest(const QByteArray &d)
{
    return d.size() > 13 && quint8(d[0]) == 22 && quint8(d[13]) == 3;
}

bool isClientHelloDatagram(const QByteArray &d)
{
    return d.size() > 13 && quint8(d[0]) == 22 && d[3] == 0 && d[4] == 0 && quint8(d[13]) == 1;
}

bool isApplicationData(const QByteArray &d)
{
    return d.size() > 13 && quint8(d[0]) == 23;
}

QSet<int> errorCodes(const QList<QSslError> &errors)
{
    QSet<int> codes;
    for (const QSslError &e : errors)
        codes.insert(int(e.error()));
    return codes;
}

} // namespace

#define KCP_ESTABLISH(server, client)                                                                              \
    do {                                                                                                           \
        QVERIFY((server).bound);                                                                                   \
        QVERIFY((client).bound);                                                                                   \
        QVERIFY2((client).start(), qPrintable((client).dtls.errorString()));                                       \
        QTRY_VERIFY_WITH_TIMEOUT((client).has(ClientResult::HandshakeComplete), 10000);                            \
        QTRY_VERIFY_WITH_TIMEOUT((server).dtls.isPeerEncrypted((client).address(), (client).port()), 10000);       \
    } while (false)

class tst_QKcpDtls : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void testPki();
    void roundTrip_data();
    void roundTrip();
    void verificationErrors_data();
    void verificationErrors();
    void verificationErrorsIgnoredInAdvance();
    void verificationErrorsNotAllIgnored();
    void verificationNameFromSocket_data();
    void verificationNameFromSocket();
    void clientCertificate_data();
    void clientCertificate();
    void tamperedAndReplayedRecords();
    void cookieExchangeIsStateless();
    void handshakeSurvivesLoss();
    void garbageIsDropped();
    void maxPeers();
    void reHandshakeFromSameAddress();
    void halfFinishedHandshakesExpire();
    void overhead_data();
    void overhead();
};

void tst_QKcpDtls::initTestCase()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("No TLS backend");
    if (!QSslSocket::isClassImplemented(QSsl::ImplementedClass::Dtls))
        QSKIP("The TLS backend has no DTLS");
    try {
        (void)kcpTestPki();
    } catch (const std::exception &e) {
        QFAIL(e.what());
    }
}

void tst_QKcpDtls::testPki()
{
    const KcpTestPki &pki = kcpTestPki();
    QVERIFY(!pki.ca.isNull());
    QVERIFY(pki.ca.isSelfSigned());
    QVERIFY(!pki.serverKey.isNull());
    QCOMPARE(pki.serverKey.algorithm(), QSsl::Ec);
    QCOMPARE(pki.serverCert.issuerInfo(QSslCertificate::CommonName), pki.ca.subjectInfo(QSslCertificate::CommonName));
    const auto sans = pki.serverCert.subjectAlternativeNames();
    QVERIFY(sans.values(QSsl::DnsEntry).contains(QStringLiteral("localhost")));
    QVERIFY(sans.values(QSsl::IpAddressEntry).contains(QStringLiteral("127.0.0.1")));
    QVERIFY(sans.values(QSsl::IpAddressEntry).contains(QStringLiteral("0:0:0:0:0:0:0:1"))
            || sans.values(QSsl::IpAddressEntry).contains(QStringLiteral("::1")));
    QVERIFY(pki.expiredServerCert.expiryDate() < QDateTime::currentDateTimeUtc());
    QVERIFY(pki.serverCert.expiryDate() > QDateTime::currentDateTimeUtc());
    QVERIFY(pki.wrongNameServerCert.subjectAlternativeNames().values(QSsl::DnsEntry)
                .contains(QStringLiteral("other.example")));
    QVERIFY(pki.selfSignedServerCert.isSelfSigned());
    QVERIFY(!pki.clientCert.isSelfSigned());
    QVERIFY(pki.untrustedClientCert.isSelfSigned());
    QCOMPARE(pki.clientCert.issuerInfo(QSslCertificate::CommonName), pki.ca.subjectInfo(QSslCertificate::CommonName));
    QCOMPARE(pki.expiredServerKey.algorithm(), QSsl::Ec);
    QCOMPARE(pki.clientKey.type(), QSsl::PrivateKey);
    // Generated once per process.
    QCOMPARE(&kcpTestPki(), &pki);
}

void tst_QKcpDtls::roundTrip_data()
{
    QTest::addColumn<bool>("ipv6");
    QTest::addColumn<bool>("connected");
    QTest::newRow("ipv4-connected") << false << true;
    QTest::newRow("ipv4-unconnected") << false << false;
    QTest::newRow("ipv6-connected") << true << true;
    QTest::newRow("ipv6-unconnected") << true << false;
}

void tst_QKcpDtls::roundTrip()
{
    QFETCH(bool, ipv6);
    QFETCH(bool, connected);
    if (ipv6 && !ipv6LoopbackAvailable())
        QSKIP("No IPv6 loopback");

    TestServer server(kcpTestGoodServerSsl(), ipv6 ? QHostAddress(QHostAddress::LocalHostIPv6)
                                               : QHostAddress(QHostAddress::LocalHost));
    QSignalSpy completedSpy(&server.dtls, &QKcpDtlsServer::handshakeCompleted);
    QSignalSpy closedSpy(&server.dtls, &QKcpDtlsServer::peerClosed);
    QSignalSpy errorSpy(&server.dtls, &QKcpDtlsServer::peerError);
    server.echo = true;
    TestClient client(kcpTestClientSsl(), server, connected);
    QSignalSpy failedSpy(&client.dtls, &QKcpDtlsClient::failed);
    QVERIFY(client.connectedAsRequested());

    QVERIFY(!client.dtls.isEncrypted());
    QCOMPARE(client.dtls.overhead(), 93); // no cipher yet: the all-suite bound
    QVERIFY(!client.send(QByteArrayLiteral("too early")));

    KCP_ESTABLISH(server, client);
    QVERIFY(client.dtls.isEncrypted());
    QVERIFY(!client.dtls.isHandshaking());
    QVERIFY(!client.has(ClientResult::VerificationErrors));
    QVERIFY(!client.has(ClientResult::Failed));
    QCOMPARE(client.dtls.sessionProtocol(), QSsl::DtlsV1_2);
    QVERIFY(!client.dtls.sessionCipher().isNull());
    QCOMPARE(client.dtls.peerCertificate(), kcpTestPki().serverCert);
    QVERIFY(client.dtls.peerCertificateChain().contains(kcpTestPki().serverCert));
    QVERIFY(client.connectedAsRequested());

    QCOMPARE(server.dtls.peerCount(), 1);
    QVERIFY(server.dtls.hasPeer(client.address(), client.port()));
    QVERIFY(server.dtls.peerCertificate(client.address(), client.port()).isNull()); // no client certificate
    QCOMPARE(server.dtls.sessionCipher(client.address(), client.port()), client.dtls.sessionCipher());
    QCOMPARE(completedSpy.size(), 1);
    const QKcpDtlsServer::Counters c = server.dtls.counters();
    QCOMPARE(c.cookiesSent, quint64(1));
    QCOMPARE(c.handshakesCompleted, quint64(1));
    QCOMPARE(c.handshakesFailed, quint64(0));

    // Client -> server, echoed back: sizes around the usual KCP MTU and a large one.
    const QList<qsizetype> sizes = {1, 24, 100, 1376, 1400, 4000, 16384};
    QList<QByteArray> sent;
    for (int i = 0; i < sizes.size(); ++i) {
        sent.append(pattern(sizes.at(i), quint32(i + 1)));
        QVERIFY2(client.send(sent.last()), qPrintable(client.dtls.errorString()));
    }
    QVERIFY(!client.send(QByteArray()));                          // empty: refused
    QVERIFY(!client.send(QByteArray(16385, 'x')));                // over the record limit: refused
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), sent.size(), 10000);
    QCOMPARE(server.data, sent);
    QTRY_COMPARE_WITH_TIMEOUT(client.data.size(), sent.size(), 10000);
    QCOMPARE(client.data, sent);

    // Server -> client on its own initiative.
    const QByteArray push = pattern(777, 99);
    QVERIFY(server.dtls.write(&server.udp, client.address(), client.port(), push.constData(), push.size()));
    QTRY_COMPARE_WITH_TIMEOUT(client.data.size(), sent.size() + 1, 10000);
    QCOMPARE(client.data.last(), push);
    // Not to an unknown peer.
    QVERIFY(!server.dtls.write(&server.udp, client.address(), quint16(client.port() + 1), push.constData(),
                               push.size()));

    // Orderly close: the server learns of it and forgets the association.
    client.dtls.shutdown(&client.udp);
    QVERIFY(!client.dtls.isEncrypted());
    QTRY_COMPARE_WITH_TIMEOUT(closedSpy.size(), 1, 10000);
    QCOMPARE(closedSpy.first().at(1).value<quint16>(), client.port());
    QCOMPARE(server.dtls.peerCount(), 0);
    QCOMPARE(errorSpy.size(), 0);
    QCOMPARE(failedSpy.size(), 0);
    QCOMPARE(server.count(ServerResult::Dropped), 0);
}

void tst_QKcpDtls::verificationErrors_data()
{
    QTest::addColumn<QSslCertificate>("cert");
    QTest::addColumn<QSslKey>("key");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QList<int>>("expected");
    const KcpTestPki &pki = kcpTestPki();
    QTest::newRow("self-signed") << pki.selfSignedServerCert << pki.selfSignedServerKey << LocalName
                                 << QList<int>{QSslError::SelfSignedCertificate};
    QTest::newRow("expired") << pki.expiredServerCert << pki.expiredServerKey << LocalName
                             << QList<int>{QSslError::CertificateExpired};
    QTest::newRow("wrong-name") << pki.wrongNameServerCert << pki.wrongNameServerKey << LocalName
                                << QList<int>{QSslError::HostNameMismatch};
    QTest::newRow("good-cert-other-name") << pki.serverCert << pki.serverKey << QStringLiteral("kcpnet.example")
                                          << QList<int>{QSslError::HostNameMismatch};
}

void tst_QKcpDtls::verificationErrors()
{
    QFETCH(QSslCertificate, cert);
    QFETCH(QSslKey, key);
    QFETCH(QString, name);
    QFETCH(QList<int>, expected);

    TestServer server(kcpTestServerSsl(cert, key), QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true, name);
    QVERIFY(server.bound && client.bound);
    QVERIFY(client.start());
    QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::VerificationErrors), 10000);
    QVERIFY(!client.has(ClientResult::HandshakeComplete));
    QVERIFY(!client.dtls.isEncrypted());
    QVERIFY(client.dtls.isHandshaking());
    const QList<QSslError> errors = client.dtls.peerVerificationErrors();
    QCOMPARE(errorCodes(errors), QSet<int>(expected.cbegin(), expected.cend()));
    QCOMPARE(client.dtls.peerCertificate(), cert);
    QVERIFY(!client.dtls.errorString().isEmpty());
    QVERIFY(!client.send(QByteArrayLiteral("not yet")));

    client.dtls.ignoreVerificationErrors(errors);
    QVERIFY2(client.dtls.resumeHandshake(&client.udp), qPrintable(client.dtls.errorString()));
    QVERIFY(client.dtls.isEncrypted());
    QVERIFY(!client.dtls.isHandshaking());
    QTRY_VERIFY_WITH_TIMEOUT(server.dtls.isPeerEncrypted(client.address(), client.port()), 10000);

    const QByteArray payload = pattern(512, 7);
    QVERIFY(client.send(payload));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
    QCOMPARE(server.data.first(), payload);
}

void tst_QKcpDtls::verificationErrorsIgnoredInAdvance()
{
    const KcpTestPki &pki = kcpTestPki();
    TestServer server(kcpTestServerSsl(pki.selfSignedServerCert, pki.selfSignedServerKey),
                      QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true);
    client.dtls.ignoreVerificationErrors({QSslError(QSslError::SelfSignedCertificate, pki.selfSignedServerCert)});
    KCP_ESTABLISH(server, client);
    QVERIFY(!client.has(ClientResult::VerificationErrors));
    QCOMPARE(client.dtls.peerCertificate(), pki.selfSignedServerCert);
}

void tst_QKcpDtls::verificationErrorsNotAllIgnored()
{
    const KcpTestPki &pki = kcpTestPki();
    TestServer server(kcpTestServerSsl(pki.expiredServerCert, pki.expiredServerKey), QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true);
    QVERIFY(client.start());
    QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::VerificationErrors), 10000);

    // Ignoring some other error does not cover CertificateExpired.
    client.dtls.ignoreVerificationErrors({QSslError(QSslError::SelfSignedCertificate, pki.expiredServerCert)});
    QVERIFY(!client.dtls.resumeHandshake(&client.udp));
    QVERIFY(!client.dtls.isEncrypted());
    QVERIFY(!client.dtls.errorString().isEmpty());

    // Abort: nothing encrypted is left, and the wrapper can start over.
    client.dtls.shutdown(&client.udp);
    QVERIFY(!client.dtls.isEncrypted());
    QVERIFY(!client.dtls.isHandshaking());
    QVERIFY(!client.dtls.resumeHandshake(&client.udp));
    QVERIFY(!client.send(QByteArrayLiteral("x")));
}

void tst_QKcpDtls::verificationNameFromSocket_data()
{
    QTest::addColumn<bool>("ipv6");
    QTest::addColumn<bool>("connected");
    QTest::addColumn<bool>("matches");
    // An empty verification name means the socket's peerName(): the server's address when the socket was
    // connected with connectToHost(QHostAddress), matched against the certificate's IP SANs; nothing otherwise.
    QTest::newRow("ipv4-connected") << false << true << true;
    QTest::newRow("ipv6-connected") << true << true << true;
    QTest::newRow("ipv4-unconnected") << false << false << false;
}

void tst_QKcpDtls::verificationNameFromSocket()
{
    QFETCH(bool, ipv6);
    QFETCH(bool, connected);
    QFETCH(bool, matches);
    if (ipv6 && !ipv6LoopbackAvailable())
        QSKIP("No IPv6 loopback");
    TestServer server(kcpTestGoodServerSsl(), ipv6 ? QHostAddress(QHostAddress::LocalHostIPv6)
                                               : QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, connected, QString());
    QVERIFY(server.bound && client.bound);
    QVERIFY(client.start());
    if (matches) {
        QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::HandshakeComplete), 10000);
        QVERIFY(!client.has(ClientResult::VerificationErrors));
    } else {
        QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::VerificationErrors), 10000);
        QCOMPARE(errorCodes(client.dtls.peerVerificationErrors()), QSet<int>{int(QSslError::HostNameMismatch)});
    }
}

void tst_QKcpDtls::clientCertificate_data()
{
    QTest::addColumn<int>("verifyMode");
    QTest::addColumn<QSslCertificate>("cert");
    QTest::addColumn<QSslKey>("key");
    QTest::addColumn<bool>("accepted");
    const KcpTestPki &pki = kcpTestPki();
    QTest::newRow("required-none") << int(QSslSocket::VerifyPeer) << QSslCertificate() << QSslKey() << false;
    QTest::newRow("required-untrusted") << int(QSslSocket::VerifyPeer) << pki.untrustedClientCert
                                        << pki.untrustedClientKey << false;
    QTest::newRow("required-trusted") << int(QSslSocket::VerifyPeer) << pki.clientCert << pki.clientKey << true;
    QTest::newRow("optional-none") << int(QSslSocket::QueryPeer) << QSslCertificate() << QSslKey() << true;
    QTest::newRow("optional-trusted") << int(QSslSocket::QueryPeer) << pki.clientCert << pki.clientKey << true;
}

void tst_QKcpDtls::clientCertificate()
{
    QFETCH(int, verifyMode);
    QFETCH(QSslCertificate, cert);
    QFETCH(QSslKey, key);
    QFETCH(bool, accepted);

    TestServer server(kcpTestGoodServerSsl(QSslSocket::PeerVerifyMode(verifyMode)),
                      QHostAddress(QHostAddress::LocalHost));
    QSignalSpy errorSpy(&server.dtls, &QKcpDtlsServer::peerError);
    TestClient client(kcpTestClientSsl(cert, key), server, true);
    QVERIFY(server.bound && client.bound);
    QVERIFY(client.start());

    if (accepted) {
        QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::HandshakeComplete), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(server.dtls.isPeerEncrypted(client.address(), client.port()), 10000);
        QCOMPARE(server.dtls.peerCertificate(client.address(), client.port()), cert);
        const QByteArray payload = pattern(300, 3);
        QVERIFY(client.send(payload));
        QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
        QCOMPARE(server.data.first(), payload);
        QCOMPARE(errorSpy.size(), 0);
        return;
    }

    // Rejected: the server reports it and forgets the peer; the client is told with a close_notify.
    QTRY_COMPARE_WITH_TIMEOUT(errorSpy.size(), 1, 10000);
    QCOMPARE(errorSpy.first().at(0).value<QHostAddress>(), client.address());
    QCOMPARE(errorSpy.first().at(1).value<quint16>(), client.port());
    QVERIFY(!errorSpy.first().at(2).toString().isEmpty());
    QCOMPARE(server.dtls.peerCount(), 0);
    QCOMPARE(server.dtls.counters().handshakesFailed, quint64(1));
    QCOMPARE(server.dtls.counters().handshakesCompleted, quint64(0));
    QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::Failed), 10000);
    QVERIFY(!client.dtls.isEncrypted());
    QVERIFY(!client.send(QByteArrayLiteral("rejected")));
    QVERIFY(server.data.isEmpty());
}

void tst_QKcpDtls::tamperedAndReplayedRecords()
{
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true);
    KCP_ESTABLISH(server, client);

    // Client -> server: flip one byte of the first application record's ciphertext, and replay the second.
    int appRecords = 0;
    QByteArray second;
    server.tap = [&](QByteArray *d, const QHostAddress &, quint16) {
        if (!isApplicationData(*d))
            return true;
        ++appRecords;
        if (appRecords == 1)
            (*d)[d->size() - 5] = char((*d)[d->size() - 5] ^ 0x40);
        else if (appRecords == 2)
            second = *d;
        return true;
    };
    const QByteArray a = pattern(200, 1), b = pattern(201, 2), c = pattern(202, 3);
    const int handshakeResults = int(server.results.size());
    QCOMPARE(server.dtls.counters().dropped, quint64(0));
    QVERIFY(client.send(a));
    QTRY_COMPARE_WITH_TIMEOUT(server.results.size(), handshakeResults + 1, 10000);
    QCOMPARE(server.results.last(), ServerResult::Dropped);
    QCOMPARE(server.dtls.counters().dropped, quint64(1));
    QVERIFY(client.send(b));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
    QCOMPARE(server.data.last(), b);
    QVERIFY(!second.isEmpty());
    QByteArray plain;
    QCOMPARE(server.dtls.handleDatagram(&server.udp, second, client.address(), client.port(), &plain),
             ServerResult::Dropped); // replay
    QVERIFY(plain.isEmpty());
    QCOMPARE(server.dtls.counters().dropped, quint64(2));
    QVERIFY(client.send(c));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 2, 10000);
    QCOMPARE(server.data.last(), c);
    QVERIFY(server.dtls.isPeerEncrypted(client.address(), client.port()));

    // Server -> client: same on the other side (the client reports Nothing).
    int toClient = 0;
    client.tap = [&](QByteArray *d) {
        if (isApplicationData(*d) && ++toClient == 1)
            (*d)[14] = char((*d)[14] ^ 0x01); // inside the explicit nonce / ciphertext
        return true;
    };
    const QByteArray x = pattern(64, 4), y = pattern(65, 5);
    const int clientResults = int(client.results.size());
    QVERIFY(server.dtls.write(&server.udp, client.address(), client.port(), x.constData(), x.size()));
    QTRY_COMPARE_WITH_TIMEOUT(client.results.size(), clientResults + 1, 10000);
    QCOMPARE(client.results.last(), ClientResult::Nothing);
    QVERIFY(server.dtls.write(&server.udp, client.address(), client.port(), y.constData(), y.size()));
    QTRY_COMPARE_WITH_TIMEOUT(client.data.size(), 1, 10000);
    QCOMPARE(client.data.first(), y);
    QVERIFY(client.dtls.isEncrypted());
}

void tst_QKcpDtls::cookieExchangeIsStateless()
{
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true);
    QVERIFY(server.bound && client.bound);
    QUdpSocket elsewhere; // stands for a spoofed source address: receives the verifier's replies
    QVERIFY(elsewhere.bind(QHostAddress::LocalHost, 0));

    QList<QByteArray> toClient;
    QList<QByteArray> hellos;
    client.tap = [&](QByteArray *d) {
        toClient.append(*d);
        return true;
    };
    server.tap = [&](QByteArray *d, const QHostAddress &, quint16) {
        if (isClientHelloDatagram(*d)) {
            hellos.append(*d);
            return hellos.size() == 1; // let the cookie-less hello through, hold the one with the cookie
        }
        return true;
    };

    QVERIFY(client.start());
    QTRY_COMPARE_WITH_TIMEOUT(hellos.size(), 2, 10000);
    // The first hello got exactly one stateless reply, a HelloVerifyRequest, and created nothing.
    QCOMPARE(server.results, QList<ServerResult>{ServerResult::Consumed});
    QCOMPARE(server.dtls.counters().cookiesSent, quint64(1));
    QCOMPARE(server.dtls.peerCount(), 0);
    QVERIFY(!server.dtls.hasPeer(client.address(), client.port()));
    QCOMPARE(toClient.size(), 1);
    QVERIFY(isHelloVerifyRequest(toClient.first()));

    // The hello with the cookie, replayed from another source port: the cookie does not verify, so it gets
    // a fresh HelloVerifyRequest (to that port) and still creates nothing.
    QByteArray plain;
    QCOMPARE(server.dtls.handleDatagram(&server.udp, hellos.at(1), elsewhere.localAddress(), elsewhere.localPort(),
                                        &plain),
             ServerResult::Consumed);
    QCOMPARE(server.dtls.counters().cookiesSent, quint64(2));
    QCOMPARE(server.dtls.peerCount(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(elsewhere.hasPendingDatagrams(), 10000);
    QByteArray reply(int(elsewhere.pendingDatagramSize()), Qt::Uninitialized);
    elsewhere.readDatagram(reply.data(), reply.size());
    QVERIFY(isHelloVerifyRequest(reply));

    // From the right source, the cookie verifies: now there is a (handshaking) peer, and the handshake finishes.
    QCOMPARE(server.dtls.handleDatagram(&server.udp, hellos.at(1), client.address(), client.port(), &plain),
             ServerResult::Consumed);
    QCOMPARE(server.dtls.peerCount(), 1);
    QVERIFY(server.dtls.hasPeer(client.address(), client.port()));
    QVERIFY(!server.dtls.isPeerEncrypted(client.address(), client.port()));
    QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::HandshakeComplete), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(server.dtls.isPeerEncrypted(client.address(), client.port()), 10000);

    // A stale copy of the hello that started the association changes nothing.
    QCOMPARE(server.dtls.handleDatagram(&server.udp, hellos.at(1), client.address(), client.port(), &plain),
             ServerResult::Consumed);
    QVERIFY(server.dtls.isPeerEncrypted(client.address(), client.port()));
    QCOMPARE(server.dtls.counters().handshakesCompleted, quint64(1));
    const QByteArray payload = pattern(99, 9);
    QVERIFY(client.send(payload));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
    QCOMPARE(server.data.first(), payload);
}

void tst_QKcpDtls::handshakeSurvivesLoss()
{
    // Lose one datagram of each later flight once: the server's first flight, the client's Finished flight and the
    // server's Finished flight. Retransmissions (QDtls timers, handled inside the wrappers) repair all three.
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true);
    QSignalSpy errorSpy(&server.dtls, &QKcpDtlsServer::peerError);
    bool lostServerHello = false, lostServerFinished = false, lostClientFinished = false;
    auto hasRecordType = [](const QByteArray &d, quint8 type) {
        for (qsizetype off = 0; off + 13 <= d.size(); off += 13 + ((quint8(d[off + 11]) << 8) | quint8(d[off + 12]))) {
            if (quint8(d[off]) == type)
                return true;
        }
        return false;
    };
    client.tap = [&](QByteArray *d) {
        if (isHelloVerifyRequest(*d))
            return true;
        if (!lostServerHello) {
            lostServerHello = true;
            return false;
        }
        if (!lostServerFinished && hasRecordType(*d, 20)) {
            lostServerFinished = true;
            return false;
        }
        return true;
    };
    server.tap = [&](QByteArray *d, const QHostAddress &, quint16) {
        if (!lostClientFinished && hasRecordType(*d, 20)) {
            lostClientFinished = true;
            return false;
        }
        return true;
    };
    QVERIFY(client.start());
    QTRY_VERIFY_WITH_TIMEOUT(client.has(ClientResult::HandshakeComplete), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(server.dtls.isPeerEncrypted(client.address(), client.port()), 20000);
    QVERIFY(lostServerHello && lostServerFinished && lostClientFinished);
    QCOMPARE(server.dtls.counters().handshakesCompleted, quint64(1));
    QCOMPARE(errorSpy.size(), 0);
    const QByteArray payload = pattern(1400, 77);
    QVERIFY(client.send(payload));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
    QCOMPARE(server.data.first(), payload);
}

void tst_QKcpDtls::garbageIsDropped()
{
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    TestClient client(kcpTestClientSsl(), server, true);
    QVERIFY(server.bound && client.bound);
    const QHostAddress stranger(QHostAddress::LocalHost);
    const quint16 strangerPort = 9; // discard; the verifier may answer a well-formed hello there
    QByteArray plain;

    // Degenerate calls.
    QCOMPARE(server.dtls.handleDatagram(nullptr, QByteArrayLiteral("x"), stranger, strangerPort, &plain),
             ServerResult::Dropped);
    QCOMPARE(server.dtls.handleDatagram(&server.udp, QByteArray(), stranger, strangerPort, &plain),
             ServerResult::Dropped);
    QCOMPARE(server.dtls.handleDatagram(&server.udp, QByteArray(20, '\x16'), QHostAddress(), strangerPort, &plain),
             ServerResult::Dropped);
    QCOMPARE(server.dtls.handleDatagram(&server.udp, QByteArray(20, '\x16'), stranger, 0, &plain),
             ServerResult::Dropped);
    QCOMPARE(server.dtls.handleDatagram(&server.udp, QByteArray(20, '\x16'), stranger, strangerPort, nullptr),
             ServerResult::Dropped);
    QCOMPARE(server.dtls.counters().dropped, quint64(5));
    QByteArray cplain;
    QCOMPARE(client.dtls.handleDatagram(&client.udp, QByteArray(), &cplain), ClientResult::Nothing);
    QCOMPARE(client.dtls.handleDatagram(nullptr, QByteArray(40, '\x17'), &cplain), ClientResult::Nothing);
    QCOMPARE(client.dtls.handleDatagram(&client.udp, QByteArray(40, '\x17'), nullptr), ClientResult::Nothing);

    std::mt19937 gen(20260101);
    auto randomDatagram = [&gen](bool plausibleHeader) {
        const int size = int(gen() % 1500);
        QByteArray d(size, Qt::Uninitialized);
        for (int i = 0; i < size; ++i)
            d[i] = char(gen() & 0xff);
        if (plausibleHeader && size >= 14) {
            d[0] = char(20 + gen() % 4);
            d[1] = char(0xfe);
            d[2] = char(gen() % 2 ? 0xfd : 0xff);
            if (gen() % 2) { // epoch 0
                d[3] = 0;
                d[4] = 0;
            }
            const int len = size - 13;
            d[11] = char(len >> 8);
            d[12] = char(len & 0xff);
            if (gen() % 3 == 0) { // a ClientHello-looking record
                d[0] = 22;
                d[13] = 1;
            }
        }
        return d;
    };

    // From strangers: never Data, never a peer.
    for (int i = 0; i < 400; ++i) {
        const QByteArray d = randomDatagram(i % 2 == 0);
        QVERIFY(server.dtls.handleDatagram(&server.udp, d, stranger, strangerPort, &plain) != ServerResult::Data);
    }
    QCOMPARE(server.dtls.peerCount(), 0);
    QVERIFY(server.dtls.counters().dropped >= 200);

    // The client ignores garbage before a handshake.
    for (int i = 0; i < 50; ++i)
        QCOMPARE(client.dtls.handleDatagram(&client.udp, randomDatagram(true), &cplain), ClientResult::Nothing);

    // An established association survives garbage from its own address (in both directions).
    KCP_ESTABLISH(server, client);
    for (int i = 0; i < 400; ++i) {
        const QByteArray d = randomDatagram(i % 4 != 0);
        QVERIFY(server.dtls.handleDatagram(&server.udp, d, client.address(), client.port(), &plain)
                != ServerResult::Data);
        QVERIFY(client.dtls.handleDatagram(&client.udp, d, &cplain) != ClientResult::Data);
    }
    QVERIFY(client.dtls.isEncrypted());
    QVERIFY(server.dtls.isPeerEncrypted(client.address(), client.port()));
    const QByteArray payload = pattern(1000, 11);
    QVERIFY(client.send(payload));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
    QCOMPARE(server.data.first(), payload);
    QVERIFY(server.dtls.write(&server.udp, client.address(), client.port(), payload.constData(), payload.size()));
    QTRY_COMPARE_WITH_TIMEOUT(client.data.size(), 1, 10000);
    QCOMPARE(client.data.first(), payload);

    // A handshaking peer fed garbage: no crash, no Data; the other association is untouched.
    TestClient second(kcpTestClientSsl(), server, true);
    QVERIFY(second.bound);
    second.tap = [](QByteArray *d) { return isHelloVerifyRequest(*d); }; // keep the handshake half-finished
    QVERIFY(second.start());
    QTRY_VERIFY_WITH_TIMEOUT(server.dtls.hasPeer(second.address(), second.port()), 10000);
    for (int i = 0; i < 200; ++i) {
        const QByteArray d = randomDatagram(true);
        QVERIFY(server.dtls.handleDatagram(&server.udp, d, second.address(), second.port(), &plain)
                != ServerResult::Data);
    }
    QVERIFY(server.dtls.peerCount() <= 2);
    QVERIFY(!server.dtls.isPeerEncrypted(second.address(), second.port()));
    QVERIFY(server.dtls.isPeerEncrypted(client.address(), client.port()));
}

void tst_QKcpDtls::maxPeers()
{
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    server.dtls.setMaxPeers(2);
    QCOMPARE(server.dtls.maxPeers(), 2);
    TestClient a(kcpTestClientSsl(), server, true);
    TestClient b(kcpTestClientSsl(), server, false);
    KCP_ESTABLISH(server, a);
    KCP_ESTABLISH(server, b);
    QCOMPARE(server.dtls.peerCount(), 2);

    TestClient c(kcpTestClientSsl(), server, true);
    QVERIFY(c.bound);
    c.dtls.setHandshakeTimeout(1500);
    QCOMPARE(c.dtls.handshakeTimeout(), 1500);
    QSignalSpy failedSpy(&c.dtls, &QKcpDtlsClient::failed);
    const quint64 droppedBefore = server.dtls.counters().dropped;
    QVERIFY(c.start());
    QVERIFY(failedSpy.wait(10000));
    QCOMPARE(failedSpy.size(), 1);
    QVERIFY(!failedSpy.first().at(0).toString().isEmpty());
    QVERIFY(!c.dtls.isEncrypted());
    QVERIFY(!c.dtls.isHandshaking());
    QCOMPARE(server.dtls.peerCount(), 2);
    QVERIFY(!server.dtls.hasPeer(c.address(), c.port()));
    QVERIFY(server.dtls.counters().dropped > droppedBefore); // its cookie-bearing hellos
    QVERIFY(server.dtls.counters().cookiesSent >= 3);

    // Room again: the third client gets in.
    server.dtls.removePeer(a.address(), a.port(), &server.udp);
    QCOMPARE(server.dtls.peerCount(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(a.has(ClientResult::Failed), 10000); // a got the close_notify
    c.dtls.setHandshakeTimeout(10000);
    KCP_ESTABLISH(server, c);
    QCOMPARE(server.dtls.peerCount(), 2);
    const QByteArray payload = pattern(10, 1);
    QVERIFY(c.send(payload));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);
}

void tst_QKcpDtls::reHandshakeFromSameAddress()
{
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    QSignalSpy completedSpy(&server.dtls, &QKcpDtlsServer::handshakeCompleted);
    QSignalSpy errorSpy(&server.dtls, &QKcpDtlsServer::peerError);
    quint16 port = 0;
    {
        auto client = std::make_unique<TestClient>(kcpTestClientSsl(), server, true);
        KCP_ESTABLISH(server, *client);
        port = client->port();
        QVERIFY(client->send(QByteArrayLiteral("first life")));
        QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 1, 10000);

        // 1. The same wrapper starts over on the same socket (no close_notify: the old association just ends).
        client->results.clear();
        QVERIFY(client->start());
        QTRY_VERIFY_WITH_TIMEOUT(client->has(ClientResult::HandshakeComplete), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(completedSpy.size(), 2, 10000);
        QCOMPARE(server.dtls.peerCount(), 1);
        QVERIFY(server.dtls.isPeerEncrypted(client->address(), port));
        QVERIFY(client->send(QByteArrayLiteral("second life")));
        QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 2, 10000);
        QCOMPARE(server.data.last(), QByteArrayLiteral("second life"));
        const QByteArray back = QByteArrayLiteral("to the second life");
        QVERIFY(server.dtls.write(&server.udp, client->address(), port, back.constData(), back.size()));
        QTRY_COMPARE_WITH_TIMEOUT(client->data.size(), 1, 10000);
        QCOMPARE(client->data.first(), back);
    } // 2. The client "process" dies without a close_notify...

    // ...and a new one binds the same port.
    TestClient reborn(kcpTestClientSsl(), server, true, LocalName, port);
    QVERIFY(reborn.bound);
    QCOMPARE(reborn.port(), port);
    KCP_ESTABLISH(server, reborn);
    QTRY_COMPARE_WITH_TIMEOUT(completedSpy.size(), 3, 10000);
    QCOMPARE(server.dtls.peerCount(), 1);
    QVERIFY(reborn.send(QByteArrayLiteral("third life")));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), 3, 10000);
    QCOMPARE(server.data.last(), QByteArrayLiteral("third life"));
    QCOMPARE(server.dataPorts.last(), port);
    QCOMPARE(errorSpy.size(), 0);
    QCOMPARE(server.dtls.counters().handshakesCompleted, quint64(3));
}

void tst_QKcpDtls::halfFinishedHandshakesExpire()
{
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    server.dtls.setHandshakeTimeout(1000);
    QCOMPARE(server.dtls.handshakeTimeout(), 1000);
    QSignalSpy errorSpy(&server.dtls, &QKcpDtlsServer::peerError);

    // The client passes the cookie exchange, then never hears the server's flight again.
    TestClient client(kcpTestClientSsl(), server, true);
    QVERIFY(client.bound);
    client.dtls.setHandshakeTimeout(2500);
    QSignalSpy failedSpy(&client.dtls, &QKcpDtlsClient::failed);
    client.tap = [](QByteArray *d) { return isHelloVerifyRequest(*d); };
    QVERIFY(client.start());
    QTRY_COMPARE_WITH_TIMEOUT(server.dtls.peerCount(), 1, 10000);
    QVERIFY(!server.dtls.isPeerEncrypted(client.address(), client.port()));

    QTRY_VERIFY_WITH_TIMEOUT(errorSpy.size() >= 1, 10000);
    QCOMPARE(errorSpy.first().at(0).value<QHostAddress>(), client.address());
    QCOMPARE(errorSpy.first().at(1).value<quint16>(), client.port());
    QVERIFY(errorSpy.first().at(2).toString().contains(QStringLiteral("timed out")));
    QVERIFY(server.dtls.counters().handshakesFailed >= 1);

    // The client gives up after its own bound. Until then its retransmitted hello (whose cookie is still valid)
    // may have opened another half-finished handshake: that one expires as well, and nothing is left.
    QVERIFY(failedSpy.wait(10000) || failedSpy.size() == 1);
    QCOMPARE(failedSpy.size(), 1);
    QVERIFY(failedSpy.first().at(0).toString().contains(QStringLiteral("timed out")));
    QVERIFY(!client.dtls.isHandshaking());
    QTRY_COMPARE_WITH_TIMEOUT(server.dtls.peerCount(), 0, 10000);
    QCOMPARE(server.dtls.counters().handshakesFailed, quint64(errorSpy.size()));
    QCOMPARE(server.dtls.counters().handshakesCompleted, quint64(0));
}

void tst_QKcpDtls::overhead_data()
{
    QTest::addColumn<QString>("cipher"); // empty: OpenSSL's default choice
    QTest::newRow("default") << QString();
    QTest::newRow("aes128-gcm") << QStringLiteral("ECDHE-ECDSA-AES128-GCM-SHA256");
    QTest::newRow("chacha20-poly1305") << QStringLiteral("ECDHE-ECDSA-CHACHA20-POLY1305");
    QTest::newRow("aes128-cbc-sha1") << QStringLiteral("ECDHE-ECDSA-AES128-SHA");
    QTest::newRow("aes128-cbc-sha256") << QStringLiteral("ECDHE-ECDSA-AES128-SHA256");
    QTest::newRow("aes256-cbc-sha384") << QStringLiteral("ECDHE-ECDSA-AES256-SHA384");
}

void tst_QKcpDtls::overhead()
{
    QFETCH(QString, cipher);
    QSslConfiguration cc = kcpTestClientSsl();
    if (!cipher.isEmpty()) {
        const QSslCipher c(cipher);
        if (c.isNull())
            QSKIP("Cipher suite not offered by this OpenSSL");
        cc.setCiphers({c});
    }
    TestServer server(kcpTestGoodServerSsl(), QHostAddress(QHostAddress::LocalHost));
    TestClient client(cc, server, true);
    KCP_ESTABLISH(server, client);
    if (!cipher.isEmpty())
        QCOMPARE(client.dtls.sessionCipher().name(), cipher);
    const int overhead = client.dtls.overhead();
    QCOMPARE(server.dtls.overhead(client.address(), client.port()), overhead);

    QList<qsizetype> wireSizes;
    server.tap = [&](QByteArray *d, const QHostAddress &, quint16) {
        if (isApplicationData(*d))
            wireSizes.append(d->size());
        return true;
    };
    QList<qsizetype> sizes;
    for (qsizetype s = 1; s <= 40; ++s)
        sizes.append(s);
    for (qsizetype s = 1376; s <= 1400; ++s)
        sizes.append(s);
    for (qsizetype s : sizes)
        QVERIFY(client.send(pattern(s, quint32(s))));
    QTRY_COMPARE_WITH_TIMEOUT(server.data.size(), sizes.size(), 10000);
    QCOMPARE(wireSizes.size(), sizes.size());
    qsizetype maxGrowth = 0;
    for (int i = 0; i < sizes.size(); ++i) {
        QCOMPARE(server.data.at(i).size(), sizes.at(i));
        const qsizetype growth = wireSizes.at(i) - sizes.at(i);
        QVERIFY2(growth <= overhead, qPrintable(QStringLiteral("%1 bytes grew by %2 > %3")
                                                    .arg(sizes.at(i)).arg(growth).arg(overhead)));
        maxGrowth = qMax(maxGrowth, growth);
    }
    // The bound is tight: some size reaches it (AEAD: always; CBC: the size that needs a whole padding block).
    QCOMPARE(maxGrowth, qsizetype(overhead));
    qInfo("%s: measured growth at most %lld bytes, overhead() = %d", qPrintable(client.dtls.sessionCipher().name()),
          qlonglong(maxGrowth), overhead);
}

QTEST_MAIN(tst_QKcpDtls)
#include "tst_qkcpdtls.moc"
