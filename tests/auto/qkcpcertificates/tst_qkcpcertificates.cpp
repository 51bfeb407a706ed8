// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Certificate mode (DTLS 1.2) through the public API: QKcpSocket::connectToHostEncrypted() against a QKcpServer
// with setSslConfiguration(), over real UDP on 127.0.0.1 / ::1, with the test PKI of tests/common/kcptestcerts.h
// (generated at run time). Covers round trips (stream and message mode, through a relay that loses, duplicates,
// reorders and corrupts), the MTU, peerCertificate()/sessionCipher() on both sides, expired / self-signed /
// wrong-name certificates (sslErrors, SslHandshakeFailedError, ignoreSslErrors in both forms), client certificates
// (required, missing, untrusted), mixing modes (plain client vs DTLS server and the reverse: a quick clear error),
// invalid settings, close and abort in both directions, a refused port and the blocking API.
// Waits are condition-based (QTRY_*, QSignalSpy::wait) and bounded; nothing asserts on speed.
#include "../../common/kcptestcerts.h"
#include "../../common/kcptestsupport.h"
#include "../../common/udprelay.h"

#include <QKcpConfig>
#include <QKcpServer>
#include <QKcpSocket>

#include <QtCore/qscopeguard.h>
#include <QtCore/qthread.h>
#include <QtNetwork/qdtls.h>
#include <QtNetwork/qsslkey.h>
#include <QtNetwork/qsslsocket.h>
#include <QtNetwork/qudpsocket.h>
#include <QtTest/qtest.h>

#include <cstring>
#include <memory>
#include <random>

namespace {

bool ipv6LoopbackAvailable()
{
    QUdpSocket probe;
    return probe.bind(QHostAddress::LocalHostIPv6, 0);
}

// An echo server in certificate mode.
struct DtlsEchoServer : KcpEchoServer
{
    explicit DtlsEchoServer(const QSslConfiguration &ssl, const QKcpConfig &config = QKcpConfig())
        : KcpEchoServer(config)
    {
        server.setSslConfiguration(ssl);
    }
};

struct Client
{
    explicit Client(const QKcpConfig &config = QKcpConfig(), const QSslConfiguration &ssl = kcpTestClientSsl())
        : socket(std::make_unique<QKcpSocket>(config))
    {
        socket->setSslConfiguration(ssl);
        spies = std::make_unique<KcpSocketSpies>(socket.get());
        encrypted = std::make_unique<QSignalSpy>(socket.get(), &QKcpSocket::encrypted);
        sslErrors = std::make_unique<QSignalSpy>(socket.get(), &QKcpSocket::sslErrors);
    }
    std::unique_ptr<QKcpSocket> socket;
    std::unique_ptr<KcpSocketSpies> spies;
    std::unique_ptr<QSignalSpy> encrypted;
    std::unique_ptr<QSignalSpy> sslErrors;
};

QList<QSslError::SslError> errorCodes(const QList<QSslError> &errors)
{
    QList<QSslError::SslError> codes;
    for (const QSslError &e : errors)
        codes.append(e.error());
    return codes;
}

} // namespace

class tst_QKcpCertificates : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void roundTrip_data();
    void roundTrip();
    void messageModeOverImpairedLink();
    void datagramsFitTheMtu();

    void verificationErrors_data();
    void verificationErrors();
    void ignoreSslErrorsFromSlot();
    void ignoreSslErrorsList();
    void ignoreSslErrorsWrongList();

    void clientCertificateRequired();
    void clientCertificateMissing_data();
    void clientCertificateMissing();

    void plainClientToDtlsServer();
    void dtlsClientToPlainServer_data();
    void dtlsClientToPlainServer();
    void invalidSettings();

    void clientClosesGracefully();
    void clientAborts();
    void serverAborts();
    void refusedPort();
    void blockingConnect_data();
    void blockingConnect();
    void reconnectSameSocket();
    void idleAssociationExpires();
    void garbageIsDropped();

private:
    bool m_ipv6 = false;
};

void tst_QKcpCertificates::initTestCase()
{
    QVERIFY(!kcpTestPki().serverCert.isNull());
    m_ipv6 = ipv6LoopbackAvailable();
}

void tst_QKcpCertificates::roundTrip_data()
{
    QTest::addColumn<QHostAddress>("listenAddress");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("peerName");
    QTest::newRow("ipv4 literal") << QHostAddress(QHostAddress::LocalHost) << QStringLiteral("127.0.0.1") << QString();
    QTest::newRow("ipv4, peer name localhost")
            << QHostAddress(QHostAddress::LocalHost) << QStringLiteral("127.0.0.1") << QStringLiteral("localhost");
    QTest::newRow("ipv6 literal") << QHostAddress(QHostAddress::LocalHostIPv6) << QStringLiteral("::1") << QString();
}

void tst_QKcpCertificates::roundTrip()
{
    QFETCH(QHostAddress, listenAddress);
    QFETCH(QString, host);
    QFETCH(QString, peerName);
    if (listenAddress.protocol() == QAbstractSocket::IPv6Protocol && !m_ipv6)
        QSKIP("no IPv6 loopback");

    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen(listenAddress));
    QCOMPARE(echo.server.sslConfiguration().localCertificate(), kcpTestPki().serverCert);

    Client c;
    KcpEventLog log;
    log.attach(c.socket.get(), QStringLiteral("c"));
    QObject::connect(c.socket.get(), &QKcpSocket::encrypted, c.socket.get(), [&] { log.mark("c:encrypted"); });
    if (peerName.isEmpty())
        c.socket->connectToHostEncrypted(host, echo.port());
    else
        c.socket->connectToHostEncrypted(host, echo.port(), peerName);
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);

    // encrypted() first (DTLS), then connected() (the kcpnet session inside it).
    const int enc = log.indexOf(QStringLiteral("c:encrypted"));
    QVERIFY2(enc >= 0, qPrintable(log.events().join(", ")));
    QVERIFY2(enc < log.indexOf(QStringLiteral("c:connected")), qPrintable(log.events().join(", ")));
    QCOMPARE(c.encrypted->size(), 1);
    QCOMPARE(c.sslErrors->size(), 0);
    QVERIFY(c.socket->isEncrypted());
    QVERIFY(c.socket->statistics().encrypted);
    QCOMPARE(c.socket->peerCertificate(), kcpTestPki().serverCert);
    QVERIFY(!c.socket->peerCertificateChain().isEmpty());
    QCOMPARE(c.socket->peerCertificateChain().first(), kcpTestPki().serverCert);
    QVERIFY(!c.socket->sessionCipher().isNull());
    QCOMPARE(c.socket->sessionProtocol(), QSsl::DtlsV1_2);
    QVERIFY(c.socket->sslHandshakeErrors().isEmpty());

    // 300 KB each way, exact.
    const QByteArray payload = kcpTestPattern(300 * 1024, 7);
    QByteArray received;
    kcpCollectInto(c.socket.get(), &received);
    c.socket->write(payload);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), payload.size(), 20000);
    QCOMPARE(received, payload);

    // The server side knows the association too.
    QKcpSocket *peer = echo.at(0);
    QVERIFY(peer);
    QVERIFY(peer->isEncrypted());
    QVERIFY(peer->statistics().encrypted);
    QCOMPARE(peer->sessionCipher().name(), c.socket->sessionCipher().name());
    QVERIFY(peer->peerCertificate().isNull()); // no client certificate was asked for
    QCOMPARE(peer->sslConfiguration().localCertificate(), kcpTestPki().serverCert);
    const QKcpServerStatistics stats = echo.server.serverStatistics();
    QCOMPARE(stats.dtlsHandshakes, quint64(1));
    QCOMPARE(stats.dtlsHandshakeFailures, quint64(0));
    QVERIFY(stats.dtlsCookiesSent >= 1); // the stateless cookie exchange ran
    QCOMPARE(stats.sessions, quint32(1));
}

void tst_QKcpCertificates::messageModeOverImpairedLink()
{
    QKcpConfig config;
    config.setMode(QKcpConfig::MessageMode);
    DtlsEchoServer echo(kcpTestGoodServerSsl(), config);
    QVERIFY(echo.listen());

    KcpUdpRelay relay;
    QVERIFY(relay.listen());
    relay.setTarget(QHostAddress::LocalHost, echo.port());
    relay.setSeed(11);
    KcpUdpRelay::Impairment bad;
    bad.lossPercent = 5;
    bad.duplicatePercent = 5;
    bad.corruptPercent = 3;
    bad.delayMs = 2;
    bad.jitterMs = 4; // reorders
    relay.setImpairment(bad);

    Client c(config);
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 20000);

    QList<QByteArray> sent;
    for (int i = 0; i < 200; ++i) {
        sent.append(kcpTestPattern(1 + (i * 97) % 5000, quint32(i)));
        QCOMPARE(c.socket->writeMessage(sent.last()), qint64(sent.last().size()));
    }
    QList<QByteArray> got;
    QObject::connect(c.socket.get(), &QKcpSocket::readyRead, c.socket.get(), [&] {
        while (c.socket->hasPendingMessages())
            got.append(c.socket->readMessage());
    });
    QTRY_COMPARE_WITH_TIMEOUT(got.size(), sent.size(), 30000);
    QCOMPARE(got, sent);
    // Corrupted records failed DTLS authentication and were discarded (and counted); KCP resent what was lost.
    QVERIFY(relay.counters(KcpUdpRelay::ClientToServer).corrupted + relay.counters(KcpUdpRelay::ServerToClient).corrupted
            > 0);
    QTRY_VERIFY_WITH_TIMEOUT(echo.at(0) != nullptr, 5000);
    const quint64 dropped = c.socket->statistics().droppedUnauthentic + echo.at(0)->statistics().droppedUnauthentic;
    QVERIFY2(dropped > 0, "no tampered record was counted");
    QVERIFY(echo.server.serverStatistics().droppedDtls >= echo.at(0)->statistics().droppedUnauthentic);
    QCOMPARE(c.spies->errorOccurred.size(), 0);
}

void tst_QKcpCertificates::datagramsFitTheMtu()
{
    QKcpConfig config;
    config.setMtu(1200);
    DtlsEchoServer echo(kcpTestGoodServerSsl(), config);
    QVERIFY(echo.listen());
    KcpUdpRelay relay;
    QVERIFY(relay.listen());
    relay.setTarget(QHostAddress::LocalHost, echo.port());

    Client c(config);
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    relay.resetCounters(); // the DTLS handshake flights (certificates) are not KCP datagrams
    const QByteArray payload = kcpTestPattern(200 * 1024, 3);
    QByteArray received;
    kcpCollectInto(c.socket.get(), &received);
    c.socket->write(payload);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), payload.size(), 20000);
    QCOMPARE(received, payload);
    // Full-size segments were sent, each one DTLS record within the MTU.
    const quint64 up = relay.counters(KcpUdpRelay::ClientToServer).largest;
    const quint64 down = relay.counters(KcpUdpRelay::ServerToClient).largest;
    QVERIFY2(up <= 1200 && down <= 1200, qPrintable(QStringLiteral("largest %1 / %2").arg(up).arg(down)));
    QVERIFY2(up > 1100 && down > 1100, qPrintable(QStringLiteral("largest %1 / %2").arg(up).arg(down)));
}

void tst_QKcpCertificates::verificationErrors_data()
{
    QTest::addColumn<int>("which");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QSslError::SslError>("expected");
    QTest::newRow("expired") << 0 << QStringLiteral("127.0.0.1") << QSslError::CertificateExpired;
    QTest::newRow("self-signed") << 1 << QStringLiteral("127.0.0.1") << QSslError::SelfSignedCertificate;
    QTest::newRow("wrong name") << 2 << QStringLiteral("127.0.0.1") << QSslError::HostNameMismatch;
}

void tst_QKcpCertificates::verificationErrors()
{
    QFETCH(int, which);
    QFETCH(QString, host);
    QFETCH(QSslError::SslError, expected);
    const KcpTestPki &pki = kcpTestPki();
    const QSslConfiguration ssl = which == 0 ? kcpTestServerSsl(pki.expiredServerCert, pki.expiredServerKey)
            : which == 1                      ? kcpTestServerSsl(pki.selfSignedServerCert, pki.selfSignedServerKey)
                                              : kcpTestServerSsl(pki.wrongNameServerCert, pki.wrongNameServerKey);
    DtlsEchoServer echo(ssl);
    QVERIFY(echo.listen());
    KcpServerSpies serverSpies(&echo.server);

    Client c;
    c.socket->connectToHostEncrypted(host, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->errorOccurred.size(), 1, 5000);
    QCOMPARE(c.spies->lastError(), QAbstractSocket::SslHandshakeFailedError);
    QCOMPARE(c.sslErrors->size(), 1);
    const auto reported = c.sslErrors->at(0).at(0).value<QList<QSslError>>();
    QVERIFY2(errorCodes(reported).contains(expected), qPrintable(c.socket->errorString()));
    QCOMPARE(c.socket->sslHandshakeErrors(), reported);
    QVERIFY(c.socket->errorString().contains(QLatin1String("certificate")));
    QCOMPARE(c.socket->state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(c.spies->connected.size(), 0);
    QCOMPARE(c.encrypted->size(), 0);
    QVERIFY(!c.socket->isEncrypted());
    // The server never saw a kcpnet handshake.
    QCOMPARE(echo.server.serverStatistics().accepted, quint64(0));
    QCOMPARE(serverSpies.newConnection.size(), 0);
}

void tst_QKcpCertificates::ignoreSslErrorsFromSlot()
{
    const KcpTestPki &pki = kcpTestPki();
    DtlsEchoServer echo(kcpTestServerSsl(pki.selfSignedServerCert, pki.selfSignedServerKey));
    QVERIFY(echo.listen());
    Client c;
    QObject::connect(c.socket.get(), &QKcpSocket::sslErrors, c.socket.get(), [&](const QList<QSslError> &errors) {
        if (errorCodes(errors).contains(QSslError::SelfSignedCertificate))
            c.socket->ignoreSslErrors();
    });
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    QCOMPARE(c.sslErrors->size(), 1);
    QCOMPARE(c.spies->errorOccurred.size(), 0);
    QVERIFY(c.socket->isEncrypted());
    QCOMPARE(c.socket->peerCertificate(), pki.selfSignedServerCert);
    QByteArray received;
    kcpCollectInto(c.socket.get(), &received);
    c.socket->write("hello over DTLS");
    QTRY_COMPARE_WITH_TIMEOUT(received, QByteArray("hello over DTLS"), 5000);
}

void tst_QKcpCertificates::ignoreSslErrorsList()
{
    const KcpTestPki &pki = kcpTestPki();
    DtlsEchoServer echo(kcpTestServerSsl(pki.wrongNameServerCert, pki.wrongNameServerKey));
    QVERIFY(echo.listen());
    Client c;
    // Expected beforehand, as with QSslSocket: the handshake then completes without sslErrors().
    c.socket->ignoreSslErrors({QSslError(QSslError::HostNameMismatch, pki.wrongNameServerCert)});
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    QCOMPARE(c.spies->errorOccurred.size(), 0);
    QCOMPARE(c.socket->peerCertificate(), pki.wrongNameServerCert);
}

void tst_QKcpCertificates::ignoreSslErrorsWrongList()
{
    const KcpTestPki &pki = kcpTestPki();
    DtlsEchoServer echo(kcpTestServerSsl(pki.expiredServerCert, pki.expiredServerKey));
    QVERIFY(echo.listen());
    Client c;
    // Ignoring another error (or the right error for another certificate) does not help.
    c.socket->ignoreSslErrors({QSslError(QSslError::HostNameMismatch, pki.expiredServerCert),
                               QSslError(QSslError::CertificateExpired, pki.serverCert)});
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->errorOccurred.size(), 1, 5000);
    QCOMPARE(c.spies->lastError(), QAbstractSocket::SslHandshakeFailedError);
    QCOMPARE(c.sslErrors->size(), 1);
    QCOMPARE(c.spies->connected.size(), 0);
}

void tst_QKcpCertificates::clientCertificateRequired()
{
    const KcpTestPki &pki = kcpTestPki();
    DtlsEchoServer echo(kcpTestGoodServerSsl(QSslSocket::VerifyPeer));
    QVERIFY(echo.listen());
    Client c(QKcpConfig(), kcpTestClientSsl(pki.clientCert, pki.clientKey));
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(echo.at(0) != nullptr, 5000);
    QKcpSocket *peer = echo.at(0);
    QCOMPARE(peer->peerCertificate(), pki.clientCert);
    QCOMPARE(peer->peerCertificateChain().value(0), pki.clientCert);
    QVERIFY(peer->isEncrypted());
    QCOMPARE(peer->sessionProtocol(), QSsl::DtlsV1_2);
    QByteArray received;
    kcpCollectInto(c.socket.get(), &received);
    c.socket->write("client certificate accepted");
    QTRY_COMPARE_WITH_TIMEOUT(received, QByteArray("client certificate accepted"), 5000);
}

void tst_QKcpCertificates::clientCertificateMissing_data()
{
    QTest::addColumn<bool>("untrusted");
    QTest::newRow("none") << false;
    QTest::newRow("untrusted") << true;
}

void tst_QKcpCertificates::clientCertificateMissing()
{
    QFETCH(bool, untrusted);
    const KcpTestPki &pki = kcpTestPki();
    DtlsEchoServer echo(kcpTestGoodServerSsl(QSslSocket::VerifyPeer));
    QVERIFY(echo.listen());
    KcpServerSpies serverSpies(&echo.server);
    Client c(QKcpConfig(), untrusted ? kcpTestClientSsl(pki.untrustedClientCert, pki.untrustedClientKey) : kcpTestClientSsl());
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->errorOccurred.size(), 1, 8000);
    QCOMPARE(c.spies->lastError(), QAbstractSocket::SslHandshakeFailedError);
    QCOMPARE(c.spies->connected.size(), 0);
    QCOMPARE(c.socket->state(), QAbstractSocket::UnconnectedState);
    QTRY_VERIFY_WITH_TIMEOUT(!serverSpies.acceptError.isEmpty(), 5000);
    QCOMPARE(serverSpies.acceptError.first().at(0).value<QAbstractSocket::SocketError>(),
             QAbstractSocket::SslHandshakeFailedError);
    QCOMPARE(serverSpies.newConnection.size(), 0);
    QVERIFY(echo.server.serverStatistics().dtlsHandshakeFailures >= 1);
    QCOMPARE(echo.server.serverStatistics().sessions, quint32(0));
    // Both sides say what happened.
    QCOMPARE(echo.server.serverError(), QAbstractSocket::SslHandshakeFailedError);
    QVERIFY2(echo.server.errorString().contains(QLatin1String("127.0.0.1")), qPrintable(echo.server.errorString()));
    QVERIFY2(c.socket->errorString().contains(QLatin1String("client certificate")), qPrintable(c.socket->errorString()));
}

void tst_QKcpCertificates::plainClientToDtlsServer()
{
    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen());
    QKcpSocket plain;
    KcpSocketSpies spies(&plain);
    QElapsedTimer timer;
    timer.start();
    plain.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(spies.errorOccurred.size(), 1, 5000);
    QCOMPARE(spies.lastError(), QAbstractSocket::SslHandshakeFailedError);
    QVERIFY(timer.elapsed() < 3000); // answered, not timed out
    QVERIFY(plain.errorString().contains(QLatin1String("encryption")));
    QCOMPARE(echo.server.serverStatistics().accepted, quint64(0));
    QVERIFY(echo.server.serverStatistics().rejected >= 1);
}

void tst_QKcpCertificates::dtlsClientToPlainServer_data()
{
    QTest::addColumn<bool>("keyed");
    QTest::newRow("no encryption") << false;
    QTest::newRow("pre-shared key") << true;
}

void tst_QKcpCertificates::dtlsClientToPlainServer()
{
    QFETCH(bool, keyed);
    QKcpConfig config;
    if (keyed)
        config.setPreSharedKey(QByteArray(32, 'k'));
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    Client c;
    QElapsedTimer timer;
    timer.start();
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->errorOccurred.size(), 1, 5000);
    QCOMPARE(c.spies->lastError(), QAbstractSocket::SslHandshakeFailedError);
    QVERIFY(timer.elapsed() < 3000);
    QVERIFY2(c.socket->errorString().contains(QLatin1String("does not use certificates")),
             qPrintable(c.socket->errorString()));
    QCOMPARE(echo.server.serverStatistics().accepted, quint64(0));
}

void tst_QKcpCertificates::invalidSettings()
{
    {
        // A pre-shared key and certificates at once.
        QKcpConfig config;
        config.setPreSharedKey(QByteArray(32, 'k'));
        QKcpSocket s(config);
        QSignalSpy errors(&s, &QKcpSocket::errorOccurred);
        s.connectToHostEncrypted(QStringLiteral("127.0.0.1"), 9);
        QCOMPARE(errors.size(), 1);
        QCOMPARE(s.error(), QAbstractSocket::SslInvalidUserDataError);
        QCOMPARE(s.state(), QAbstractSocket::UnconnectedState);
    }
    {
        // Plain KCP peers do not speak DTLS.
        QKcpConfig config;
        config.setProtocol(QKcpConfig::PlainKcp);
        QKcpSocket s(config);
        QSignalSpy errors(&s, &QKcpSocket::errorOccurred);
        s.connectToHostEncrypted(QStringLiteral("127.0.0.1"), 9);
        QCOMPARE(errors.size(), 1);
        QCOMPARE(s.error(), QAbstractSocket::SslInvalidUserDataError);
    }
    {
        // A server configuration without a private key.
        QKcpServer server;
        QSslConfiguration ssl = QSslConfiguration::defaultDtlsConfiguration();
        ssl.setLocalCertificate(kcpTestPki().serverCert);
        server.setSslConfiguration(ssl);
        QVERIFY(!server.listen(QHostAddress::LocalHost));
        QCOMPARE(server.serverError(), QAbstractSocket::SslInvalidUserDataError);
        QVERIFY(!server.errorString().isEmpty());
        // A key that is not the certificate's.
        ssl.setPrivateKey(kcpTestPki().expiredServerKey);
        server.setSslConfiguration(ssl);
        QVERIFY(!server.listen(QHostAddress::LocalHost));
        QCOMPARE(server.serverError(), QAbstractSocket::SslInvalidUserDataError);
        QVERIFY2(server.errorString().contains(QLatin1String("does not belong")), qPrintable(server.errorString()));
        // With its key it listens; a null configuration turns certificate mode off again.
        server.setSslConfiguration(kcpTestGoodServerSsl());
        QVERIFY(server.listen(QHostAddress::LocalHost));
        server.close();
        server.setSslConfiguration(QSslConfiguration());
        QVERIFY(server.listen(QHostAddress::LocalHost));
        QKcpSocket plain;
        QSignalSpy connected(&plain, &QKcpSocket::connected);
        plain.connectToHost(QHostAddress::LocalHost, server.serverPort());
        QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 1, 5000);
        QVERIFY(!plain.isEncrypted());
    }
    {
        QKcpServer server;
        QKcpConfig config;
        config.setPreSharedKey(QByteArray(32, 'k'));
        server.setConfig(config);
        server.setSslConfiguration(kcpTestGoodServerSsl());
        QVERIFY(!server.listen(QHostAddress::LocalHost));
        QCOMPARE(server.serverError(), QAbstractSocket::SslInvalidUserDataError);
    }
}

void tst_QKcpCertificates::clientClosesGracefully()
{
    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen());
    Client c;
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(echo.at(0) != nullptr, 5000);
    QPointer<QKcpSocket> peer = echo.at(0);
    QSignalSpy peerDisconnected(peer.data(), &QKcpSocket::disconnected);
    QByteArray peerGot;
    echo.echoing = false;
    kcpCollectInto(peer, &peerGot);
    const QByteArray last = kcpTestPattern(64 * 1024, 5);
    c.socket->write(last);
    c.socket->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->disconnected.size(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(peerDisconnected.size(), 1, 10000);
    QCOMPARE(peerGot, last); // everything written before the close arrived
    QCOMPARE(c.spies->errorOccurred.size(), 0);
    QVERIFY(!c.socket->isEncrypted());
    // Still there after the connection ended, like QSslSocket.
    QCOMPARE(c.socket->peerCertificate(), kcpTestPki().serverCert);
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().sessions, quint32(0), 5000);
}

void tst_QKcpCertificates::clientAborts()
{
    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen());
    Client c;
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(echo.at(0) != nullptr, 5000);
    QPointer<QKcpSocket> peer = echo.at(0);
    QSignalSpy peerDisconnected(peer.data(), &QKcpSocket::disconnected);
    QSignalSpy peerErrors(peer.data(), &QKcpSocket::errorOccurred);
    c.socket->abort();
    QTRY_COMPARE_WITH_TIMEOUT(peerDisconnected.size(), 1, 5000); // RESET inside DTLS, then close_notify
    QCOMPARE(peerErrors.size(), 1);
    QCOMPARE(peer->error(), QAbstractSocket::RemoteHostClosedError);
}

void tst_QKcpCertificates::serverAborts()
{
    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen());
    Client c;
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(echo.at(0) != nullptr, 5000);
    echo.at(0)->abort();
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->disconnected.size(), 1, 5000);
    QCOMPARE(c.spies->lastError(), QAbstractSocket::RemoteHostClosedError);
}

void tst_QKcpCertificates::refusedPort()
{
    quint16 port = 0;
    {
        QUdpSocket probe;
        QVERIFY(probe.bind(QHostAddress::LocalHost, 0));
        port = probe.localPort();
    }
    Client c;
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), port);
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->errorOccurred.size(), 1, 5000);
    QCOMPARE(c.spies->lastError(), QAbstractSocket::ConnectionRefusedError);
    QCOMPARE(c.socket->state(), QAbstractSocket::UnconnectedState);
}

void tst_QKcpCertificates::blockingConnect_data()
{
    QTest::addColumn<double>("loss");
    QTest::newRow("direct") << 0.0;
    // Lost handshake flights must be resent although no event loop runs QDtls's timer in this thread.
    QTest::newRow("30% loss") << 30.0;
}

void tst_QKcpCertificates::blockingConnect()
{
    QFETCH(double, loss);
    // The server (and the relay) run in their own thread; this thread uses only the blocking calls.
    QThread thread;
    auto *echo = new DtlsEchoServer(kcpTestGoodServerSsl());
    echo->server.moveToThread(&thread);
    auto *relay = new KcpUdpRelay;
    relay->moveToThread(&thread);
    thread.start();
    // Also on a failed check: the objects go in their thread, then the thread ends.
    auto cleanup = qScopeGuard([&] {
        QMetaObject::invokeMethod(
                &echo->server,
                [echo, relay] {
                    delete relay;
                    delete echo;
                },
                Qt::BlockingQueuedConnection);
        thread.quit();
        thread.wait(5000);
    });
    quint16 port = 0;
    QMetaObject::invokeMethod(
            &echo->server,
            [&] {
                if (!echo->listen() || !relay->listen())
                    return;
                relay->setSeed(7);
                KcpUdpRelay::Impairment lossy;
                lossy.lossPercent = loss;
                relay->setImpairment(lossy);
                relay->setTarget(QHostAddress::LocalHost, echo->port());
                port = relay->port();
            },
            Qt::BlockingQueuedConnection);
    QVERIFY(port != 0);

    {
        QKcpSocket s;
        s.setSslConfiguration(kcpTestClientSsl());
        s.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port, QStringLiteral("localhost"));
        QVERIFY2(s.waitForConnected(30000), qPrintable(s.errorString()));
        QVERIFY(s.isEncrypted());
        QCOMPARE(s.peerCertificate(), kcpTestPki().serverCert);
        s.write("blocking");
        QByteArray got;
        for (int i = 0; i < 100 && got.size() < 8; ++i) {
            if (s.waitForReadyRead(200))
                got += s.readAll();
        }
        QCOMPARE(got, QByteArray("blocking"));
        s.disconnectFromHost();
        QVERIFY(s.state() == QAbstractSocket::UnconnectedState || s.waitForDisconnected(10000));
    }
    if (loss > 0)
        QVERIFY(relay->counters(KcpUdpRelay::ClientToServer).dropped + relay->counters(KcpUdpRelay::ServerToClient).dropped
                > 0);
}

void tst_QKcpCertificates::reconnectSameSocket()
{
    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen());
    Client c;
    for (int round = 0; round < 3; ++round) {
        c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
        QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), round + 1, 10000);
        QByteArray received;
        kcpCollectInto(c.socket.get(), &received);
        const QByteArray msg = "round " + QByteArray::number(round);
        c.socket->write(msg);
        QTRY_COMPARE_WITH_TIMEOUT(received, msg, 5000);
        QObject::disconnect(c.socket.get(), &QKcpSocket::readyRead, nullptr, nullptr);
        c.socket->disconnectFromHost();
        QTRY_COMPARE_WITH_TIMEOUT(c.spies->disconnected.size(), round + 1, 10000);
    }
    QCOMPARE(c.encrypted->size(), 3);
    QCOMPARE(c.spies->errorOccurred.size(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().dtlsHandshakes, quint64(3), 5000);
}

void tst_QKcpCertificates::idleAssociationExpires()
{
    // A client that completes DTLS but never starts a kcpnet session must not hold one of the bounded association
    // slots for ever: it is dropped after the connect timeout. A real client keeps its association while its
    // session lives.
    QKcpConfig config;
    config.setConnectTimeout(1000);
    DtlsEchoServer echo(kcpTestGoodServerSsl(), config);
    QVERIFY(echo.listen());

    Client c(config);
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 5000);
    QCOMPARE(echo.server.serverStatistics().dtlsAssociations, quint32(1));

    // Then a bare DTLS client that never sends a HELLO.
    QUdpSocket udp;
    QVERIFY(udp.bind(QHostAddress::LocalHost, 0));
    QDtls dtls(QSslSocket::SslClientMode);
    QVERIFY(dtls.setPeer(QHostAddress::LocalHost, echo.port(), QStringLiteral("localhost")));
    QVERIFY(dtls.setDtlsConfiguration(kcpTestClientSsl()));
    QObject::connect(&udp, &QUdpSocket::readyRead, &udp, [&] {
        for (int i = 0; i < 16 && udp.hasPendingDatagrams(); ++i) {
            QByteArray d(int(udp.pendingDatagramSize()), Qt::Uninitialized);
            d.resize(udp.readDatagram(d.data(), d.size()));
            if (dtls.handshakeState() == QDtls::HandshakeInProgress)
                dtls.doHandshake(&udp, d);
        }
    });
    QVERIFY(dtls.doHandshake(&udp));
    QTRY_COMPARE_WITH_TIMEOUT(dtls.handshakeState(), QDtls::HandshakeComplete, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().dtlsAssociations, quint32(2), 5000);
    // The bare one goes (its grace period started after the real client's had)...
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().dtlsAssociations, quint32(1), 5000);
    QCOMPARE(echo.server.serverStatistics().accepted, quint64(1));
    // ...the real one stays and works.
    QByteArray received;
    kcpCollectInto(c.socket.get(), &received);
    c.socket->write("still here");
    QTRY_COMPARE_WITH_TIMEOUT(received, QByteArray("still here"), 5000);
    // Ending the session ends the association.
    c.socket->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().dtlsAssociations, quint32(0), 5000);
}

void tst_QKcpCertificates::garbageIsDropped()
{
    // Strangers' datagrams (random bytes, truncated or corrupted DTLS records, plain kcpnet packets) at a
    // certificate-mode server with a live session: all dropped and counted, no session or association for them,
    // and the session keeps working.
    DtlsEchoServer echo(kcpTestGoodServerSsl());
    QVERIFY(echo.listen());
    Client c;
    c.socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(c.spies->connected.size(), 1, 10000);
    const QKcpServerStatistics before = echo.server.serverStatistics();

    QUdpSocket stranger;
    QVERIFY(stranger.bind(QHostAddress::LocalHost, 0));
    std::mt19937 gen(42);
    const QByteArray record = QByteArray::fromHex("17fefd0001000000000005") + QByteArray(40, 'x'); // application data
    int sent = 0;
    for (int i = 0; i < 600; ++i) {
        QByteArray d;
        switch (i % 4) {
        case 0: // random bytes of random size
            d = kcpTestPattern(1 + int(gen() % 1500), quint32(gen()));
            break;
        case 1: // a DTLS application-data record nobody can decrypt, possibly truncated
            d = record.left(1 + int(gen() % record.size()));
            break;
        case 2: { // a ClientHello-looking header with garbage after it
            d = QByteArray::fromHex("16fefd0000000000000000") + kcpTestPattern(int(gen() % 300), quint32(gen()));
            break;
        }
        default: // a plain kcpnet-looking datagram for the session's conv
            d = kcpTestPattern(24 + int(gen() % 200), quint32(gen()));
            if (const QKcpSocket *peer = echo.at(0)) {
                const quint32 conv = peer->statistics().conversation;
                std::memcpy(d.data(), &conv, 4);
            }
            break;
        }
        if (stranger.writeDatagram(d, QHostAddress::LocalHost, echo.port()) == d.size())
            ++sent;
    }
    QVERIFY(sent > 500);
    QTRY_VERIFY_WITH_TIMEOUT(echo.server.serverStatistics().datagramsReceived >= before.datagramsReceived + quint64(sent),
                             5000);
    const QKcpServerStatistics after = echo.server.serverStatistics();
    QVERIFY2(after.droppedDtls > before.droppedDtls, qPrintable(QString::number(after.droppedDtls)));
    QCOMPARE(after.accepted, before.accepted);
    QCOMPARE(after.sessions, quint32(1));
    QVERIFY(after.dtlsAssociations <= 1);
    QCOMPARE(after.dtlsHandshakes, before.dtlsHandshakes);

    QByteArray received;
    kcpCollectInto(c.socket.get(), &received);
    c.socket->write("still fine");
    QTRY_COMPARE_WITH_TIMEOUT(received, QByteArray("still fine"), 5000);
    QCOMPARE(c.spies->errorOccurred.size(), 0);
}

QTEST_MAIN(tst_QKcpCertificates)
#include "tst_qkcpcertificates.moc"
