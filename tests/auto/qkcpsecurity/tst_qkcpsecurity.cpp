// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The pre-shared-key mode through the Qt API: round trips with both built-in ciphers and a custom one, over a
// relay that loses, duplicates, reorders and corrupts; wrong keys and mismatched settings give the documented
// errors at once; invalid settings are refused before anything is sent. The wire-level properties (tampering,
// replay, nonce uniqueness, MITM) are covered in tests/session/tst_session_secure.cpp.
#include "../../common/kcptestsupport.h"
#include "../../common/udprelay.h"

#include <QKcpCipher>
#include <QKcpConfig>
#include <QKcpServer>
#include <QKcpSocket>

#include <QtTest/qtest.h>

#include <atomic>

namespace {

const QByteArray kKey = QByteArray::fromHex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210");

QKcpConfig keyed(const QByteArray &key = kKey, QKcpConfig::Cipher cipher = QKcpConfig::Aes256Gcm)
{
    QKcpConfig c;
    c.setPreSharedKey(key);
    c.setCipher(cipher);
    return c;
}

// A custom cipher for the tests: the built-in AES-256-GCM under another name, counting its calls.
class CountingCipher : public QKcpCipher
{
public:
    explicit CountingCipher(QByteArray name, std::shared_ptr<std::atomic<int>> calls)
        : m_name(std::move(name))
        , m_calls(std::move(calls))
        , m_inner(QKcpCipher::createAes256Gcm())
    {
    }
    QByteArray name() const override { return m_name; }
    int tagSize() const override { return m_inner->tagSize(); }
    QKcpCipher *create() const override { return new CountingCipher(m_name, m_calls); }
    bool setKey(QByteArrayView key) override { return m_inner->setKey(key); }
    bool seal(QByteArrayView nonce, QByteArrayView ad, QByteArrayView plaintext, char *out) override
    {
        ++*m_calls;
        return m_inner->seal(nonce, ad, plaintext, out);
    }
    bool open(QByteArrayView nonce, QByteArrayView ad, QByteArrayView ciphertext, char *out) override
    {
        ++*m_calls;
        return m_inner->open(nonce, ad, ciphertext, out);
    }

private:
    QByteArray m_name;
    std::shared_ptr<std::atomic<int>> m_calls;
    std::unique_ptr<QKcpCipher> m_inner;
};

} // namespace

class tst_QKcpSecurity : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrip_data();
    void roundTrip();
    void lossyTamperingLink();
    void mismatch_data();
    void mismatch();
    void invalidSettings();
    void passphrase();
    void customCipher();
    void createPair();
};

void tst_QKcpSecurity::roundTrip_data()
{
    QTest::addColumn<int>("cipher");
    QTest::addColumn<int>("mode");
    QTest::newRow("aes-256-gcm stream") << int(QKcpConfig::Aes256Gcm) << int(QKcpConfig::StreamMode);
    QTest::newRow("chacha20-poly1305 stream") << int(QKcpConfig::ChaCha20Poly1305) << int(QKcpConfig::StreamMode);
    QTest::newRow("aes-256-gcm message") << int(QKcpConfig::Aes256Gcm) << int(QKcpConfig::MessageMode);
}

void tst_QKcpSecurity::roundTrip()
{
    QFETCH(int, cipher);
    QFETCH(int, mode);
    QKcpConfig serverConfig = keyed(kKey, QKcpConfig::Aes256Gcm); // the server accepts either built-in cipher
    serverConfig.setMode(QKcpConfig::Mode(mode));
    KcpEchoServer server(serverConfig);
    QVERIFY(server.listen());

    QKcpConfig clientConfig = keyed(kKey, QKcpConfig::Cipher(cipher));
    clientConfig.setMode(QKcpConfig::Mode(mode));
    QKcpSocket client(clientConfig);
    QSignalSpy connectedSpy(&client, &QKcpSocket::connected);
    QSignalSpy errorSpy(&client, &QKcpSocket::errorOccurred);
    client.connectToHost(QHostAddress::LocalHost, server.port());
    QTRY_COMPARE_WITH_TIMEOUT(connectedSpy.size(), 1, 5000);

    QByteArray received;
    kcpCollectInto(&client, &received);
    const QByteArray payload = kcpTestPattern(2 * 1024 * 1024, 7);
    if (mode == QKcpConfig::MessageMode) {
        for (qsizetype i = 0; i < payload.size(); i += 50000)
            QVERIFY(client.writeMessage(payload.mid(i, 50000)) > 0);
    } else {
        QCOMPARE(client.write(payload), payload.size());
    }
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), payload.size(), 30000);
    QVERIFY(received == payload);
    QCOMPARE(errorSpy.size(), 0);

    const QKcpStatistics s = client.statistics();
    QVERIFY(s.encrypted);
    QCOMPARE(s.droppedUnauthentic, 0u);
    QVERIFY(server.at(0));
    QVERIFY(server.at(0)->statistics().encrypted);
    // The datagrams grew by the header and tag only: every one fits the MTU, and apart from retransmissions (a slow
    // receiver, e.g. under a sanitizer, can overflow its UDP buffer) the wire carries the payload plus KCP's and
    // the seal's headers and the ACKs of the echo.
    QVERIFY2(s.wireBytesSent <= s.datagramsSent * quint64(clientConfig.mtu()),
             qPrintable(QStringLiteral("%1 bytes in %2 datagrams").arg(s.wireBytesSent).arg(s.datagramsSent)));
    const quint64 resent = s.retransmitsTimeout + s.retransmitsFast + s.retransmitsRedundant;
    QVERIFY2(s.wireBytesSent < quint64(payload.size()) * 110 / 100 + resent * quint64(clientConfig.mtu()),
             qPrintable(QStringLiteral("%1 bytes, %2 segments resent").arg(s.wireBytesSent).arg(resent)));
}

void tst_QKcpSecurity::lossyTamperingLink()
{
    KcpEchoServer server(keyed());
    QVERIFY(server.listen());
    KcpUdpRelay relay;
    relay.setSeed(11);
    relay.setImpairment({5.0, 1, 3, 5.0, 5.0}); // loss, delay, jitter (reorder), duplicates, corruption
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, server.port());

    QKcpSocket client(keyed());
    QSignalSpy connectedSpy(&client, &QKcpSocket::connected);
    client.connectToHost(relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(connectedSpy.size(), 1, 10000);
    QByteArray received;
    kcpCollectInto(&client, &received);
    const QByteArray payload = kcpTestPattern(1024 * 1024, 3);
    QCOMPARE(client.write(payload), payload.size());
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), payload.size(), 60000);
    QVERIFY(received == payload);

    // Corrupted copies failed authentication, duplicates were recognised as replays; none reached the data.
    const QKcpStatistics c = client.statistics();
    const QKcpStatistics s = server.at(0)->statistics();
    QVERIFY2(c.droppedUnauthentic + s.droppedUnauthentic + c.droppedChecksum + s.droppedChecksum > 0,
             "the relay corrupted datagrams: some must have been dropped");
    QVERIFY2(c.droppedReplayed + s.droppedReplayed > 0, "the relay duplicated datagrams: replays must be dropped");
}

void tst_QKcpSecurity::mismatch_data()
{
    QTest::addColumn<QByteArray>("clientKey");
    QTest::addColumn<QByteArray>("serverKey");
    QTest::addColumn<QString>("expectedText");
    QByteArray other = kKey;
    other[0] = char(other[0] ^ 1);
    QTest::newRow("wrong key") << kKey << other << QStringLiteral("pre-shared keys");
    QTest::newRow("client keyed, server not") << kKey << QByteArray() << QStringLiteral("the other does not");
    QTest::newRow("server keyed, client not") << QByteArray() << kKey << QStringLiteral("the other does not");
}

void tst_QKcpSecurity::mismatch()
{
    QFETCH(QByteArray, clientKey);
    QFETCH(QByteArray, serverKey);
    QFETCH(QString, expectedText);
    QKcpConfig serverConfig;
    serverConfig.setPreSharedKey(serverKey);
    QKcpServer server(serverConfig);
    QSignalSpy newConnectionSpy(&server, &QKcpServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));

    QKcpConfig clientConfig;
    clientConfig.setPreSharedKey(clientKey);
    clientConfig.setConnectTimeout(20000);
    QKcpSocket client(clientConfig);
    QSignalSpy errorSpy(&client, &QKcpSocket::errorOccurred);
    QSignalSpy connectedSpy(&client, &QKcpSocket::connected);
    QElapsedTimer timer;
    timer.start();
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(errorSpy.size(), 1, 5000);
    QVERIFY2(timer.elapsed() < 5000, "a mismatch is reported by the server at once, not by a timeout");
    QCOMPARE(errorSpy.at(0).at(0).value<QAbstractSocket::SocketError>(), QAbstractSocket::SslHandshakeFailedError);
    QVERIFY2(client.errorString().contains(expectedText), qPrintable(client.errorString()));
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(connectedSpy.size(), 0);
    QCOMPARE(newConnectionSpy.size(), 0);
    QCOMPARE(server.statistics().sessions, 0u);
}

void tst_QKcpSecurity::invalidSettings()
{
    QKcpSocket client;
    QSignalSpy errorSpy(&client, &QKcpSocket::errorOccurred);

    QKcpConfig shortKey;
    shortKey.setPreSharedKey("too short");
    client.setConfig(shortKey);
    client.connectToHost(QHostAddress::LocalHost, 9);
    QCOMPARE(errorSpy.size(), 1);
    QCOMPARE(client.error(), QAbstractSocket::SslInvalidUserDataError);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);

    QKcpConfig plain = keyed();
    plain.setProtocol(QKcpConfig::PlainKcp);
    client.setConfig(plain);
    client.connectToHost(QHostAddress::LocalHost, 9);
    QCOMPARE(errorSpy.size(), 2);
    QCOMPARE(client.error(), QAbstractSocket::SslInvalidUserDataError);
    QVERIFY(client.errorString().contains(QStringLiteral("session protocol")));

    QKcpConfig noCustom = keyed();
    noCustom.setCipher(QKcpConfig::CustomCipher);
    QKcpServer server(noCustom);
    QVERIFY(!server.listen(QHostAddress::LocalHost));
    QCOMPARE(server.serverError(), QAbstractSocket::SslInvalidUserDataError);
    QVERIFY(!server.errorString().isEmpty());

    // The key never shows in debug output.
    QString debugText;
    QDebug(&debugText) << keyed();
    QVERIFY(!debugText.contains(QString::fromLatin1(kKey.toHex())));
    QVERIFY(debugText.contains(QStringLiteral("encrypted")));
}

void tst_QKcpSecurity::passphrase()
{
    // PBKDF2-HMAC-SHA256, 200,000 iterations, salt "kcpnet passphrase v1" (checked against Python's hashlib).
    const QByteArray key = QKcpConfig::keyFromPassphrase(QStringLiteral("correct horse battery staple"));
    QCOMPARE(key.toHex(), QByteArray("8e54f21bad0e4884c1633560d6d6b04be34477ed616fe8e6a0841d8779096512"));
    QVERIFY(QKcpConfig::keyFromPassphrase(QString()).isEmpty());

    QKcpConfig config;
    config.setPassphrase(QStringLiteral("correct horse battery staple"));
    QCOMPARE(config.preSharedKey(), key);
    KcpEchoServer server(config);
    QVERIFY(server.listen());
    QKcpSocket client(config);
    client.connectToHost(QHostAddress::LocalHost, server.port());
    // (waitForConnected() would block the thread the server runs in: wait with the event loop instead)
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::ConnectedState, 5000);
    client.write("hello\n");
    QTRY_VERIFY_WITH_TIMEOUT(client.canReadLine(), 5000);
    QCOMPARE(client.readLine(), QByteArray("hello\n"));
}

void tst_QKcpSecurity::customCipher()
{
    auto serverCalls = std::make_shared<std::atomic<int>>(0);
    auto clientCalls = std::make_shared<std::atomic<int>>(0);
    QKcpConfig serverConfig = keyed();
    serverConfig.setCustomCipher(QSharedPointer<QKcpCipher>(new CountingCipher("test-gcm", serverCalls)));
    QCOMPARE(serverConfig.cipher(), QKcpConfig::CustomCipher);
    KcpEchoServer server(serverConfig);
    QVERIFY(server.listen());

    QKcpConfig clientConfig = keyed();
    clientConfig.setCustomCipher(QSharedPointer<QKcpCipher>(new CountingCipher("test-gcm", clientCalls)));
    QKcpSocket client(clientConfig);
    client.connectToHost(QHostAddress::LocalHost, server.port());
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::ConnectedState, 5000);
    QByteArray received;
    kcpCollectInto(&client, &received);
    const QByteArray payload = kcpTestPattern(200000, 5);
    client.write(payload);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), payload.size(), 20000);
    QVERIFY(received == payload);
    QVERIFY(*clientCalls > 100);
    QVERIFY(*serverCalls > 100);

    // A client with the same key but another custom cipher name is refused by the handshake at once (the name is
    // proven in the HELLO), not left to time out: the connect timeout is far beyond the bound checked here.
    QSignalSpy newConnectionSpy(&server.server, &QKcpServer::newConnection);
    const QKcpServerStatistics before = server.server.serverStatistics();
    QKcpConfig otherName = keyed();
    otherName.setCustomCipher(QSharedPointer<QKcpCipher>(new CountingCipher("other", clientCalls)));
    otherName.setConnectTimeout(20000);
    QKcpSocket stranger(otherName);
    QSignalSpy errorSpy(&stranger, &QKcpSocket::errorOccurred);
    QSignalSpy strangerConnected(&stranger, &QKcpSocket::connected);
    QElapsedTimer timer;
    timer.start();
    stranger.connectToHost(QHostAddress::LocalHost, server.port());
    QTRY_COMPARE_WITH_TIMEOUT(errorSpy.size(), 1, 3000);
    QVERIFY2(timer.elapsed() < 3000, "a cipher name mismatch is reported by the server at once, not by a timeout");
    QCOMPARE(errorSpy.at(0).at(0).value<QAbstractSocket::SocketError>(), QAbstractSocket::SslHandshakeFailedError);
    QVERIFY2(stranger.errorString().contains(QStringLiteral("cipher")), qPrintable(stranger.errorString()));
    QCOMPARE(stranger.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(strangerConnected.size(), 0);
    QCOMPARE(newConnectionSpy.size(), 0);
    const QKcpServerStatistics after = server.server.serverStatistics();
    QCOMPARE(after.sessions, 1u); // the first client's only
    QCOMPARE(after.accepted, before.accepted);
    QCOMPARE(after.handshakes, before.handshakes); // no ACCEPT either: nothing to remember
    QCOMPARE(after.rejected, before.rejected + 1);

    // A server without a custom cipher refuses a client that asks for one.
    KcpEchoServer builtin(keyed());
    QVERIFY(builtin.listen());
    QKcpSocket custom(clientConfig);
    QSignalSpy customErrors(&custom, &QKcpSocket::errorOccurred);
    custom.connectToHost(QHostAddress::LocalHost, builtin.port());
    QTRY_COMPARE_WITH_TIMEOUT(customErrors.size(), 1, 5000);
    QCOMPARE(custom.error(), QAbstractSocket::SslHandshakeFailedError);
    QVERIFY2(custom.errorString().contains(QStringLiteral("cipher")), qPrintable(custom.errorString()));
}

void tst_QKcpSecurity::createPair()
{
    QObject parent;
    auto [a, b] = QKcpSocket::createPair(keyed(), &parent);
    QVERIFY(a && b);
    QVERIFY(a->statistics().encrypted && b->statistics().encrypted);
    a->write("ping\n");
    QTRY_VERIFY_WITH_TIMEOUT(b->canReadLine(), 5000);
    QCOMPARE(b->readLine(), QByteArray("ping\n"));
}

QTEST_MAIN(tst_QKcpSecurity)
#include "tst_qkcpsecurity.moc"
