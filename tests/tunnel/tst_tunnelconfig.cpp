// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpnet-tunnel's option handling: kcptun's --mode presets and window defaults, its --crypt names and key derivation
// as QKcpConfig takes them, and address parsing.
#include "tunnel.h"

#include <QKcpConfig>
#include <QTest>

using namespace tunnel;

class tst_TunnelConfig : public QObject
{
    Q_OBJECT

private slots:
    void modes_data();
    void modes();
    void windowsPerRole();
    void ciphers_data();
    void ciphers();
    void refusedCiphers();
    void invalidOptions();
    void hostPort_data();
    void hostPort();
};

void tst_TunnelConfig::modes_data()
{
    QTest::addColumn<QString>("mode");
    QTest::addColumn<bool>("noDelay");
    QTest::addColumn<int>("interval");
    QTest::addColumn<int>("resend");
    QTest::addColumn<bool>("congestion");
    QTest::addColumn<int>("minRto");
    // kcptun client/main.go and server/main.go: (nodelay, interval, resend, nc)
    QTest::newRow("normal") << "normal" << false << 40 << 2 << false << 100;
    QTest::newRow("fast") << "fast" << false << 30 << 2 << false << 100;
    QTest::newRow("fast2") << "fast2" << true << 20 << 2 << false << 30;
    QTest::newRow("fast3") << "fast3" << true << 10 << 2 << false << 30;
    // manual: the hidden flags' defaults (0, 50, 0, 0)
    QTest::newRow("manual") << "manual" << false << 50 << 0 << true << 100;
}

void tst_TunnelConfig::modes()
{
    QFETCH(QString, mode);
    TunnelOptions o;
    o.mode = mode;
    QKcpConfig c;
    QString error;
    QVERIFY2(makeKcpConfig(o, &c, &error), qPrintable(error));
    QCOMPARE(c.protocol(), QKcpConfig::PlainKcp);
    QCOMPARE(c.mode(), QKcpConfig::StreamMode);
    QTEST(c.noDelay(), "noDelay");
    QTEST(c.interval(), "interval");
    QTEST(c.fastResend(), "resend");
    QTEST(c.congestionControl(), "congestion");
    QTEST(c.minimumRto(), "minRto");
    QCOMPARE(c.mtu(), 1350);
    QCOMPARE(c.fecDataShards(), 10);
    QCOMPARE(c.fecParityShards(), 3);
}

void tst_TunnelConfig::windowsPerRole()
{
    TunnelOptions o;
    QKcpConfig c;
    QString error;
    o.role = TunnelOptions::Client;
    QVERIFY(makeKcpConfig(o, &c, &error));
    QCOMPARE(c.sendWindow(), 128);
    QCOMPARE(c.receiveWindow(), 512);
    o.role = TunnelOptions::Server;
    QVERIFY(makeKcpConfig(o, &c, &error));
    QCOMPARE(c.sendWindow(), 1024);
    QCOMPARE(c.receiveWindow(), 1024);
    o.sndwnd = 64;
    o.rcvwnd = 256;
    o.dataShards = 0;
    QVERIFY(makeKcpConfig(o, &c, &error));
    QCOMPARE(c.sendWindow(), 64);
    QCOMPARE(c.receiveWindow(), 256);
    QCOMPARE(c.fecDataShards(), 0); // either shard count 0: no FEC, as kcp-go
    QCOMPARE(c.fecParityShards(), 0);
}

void tst_TunnelConfig::ciphers_data()
{
    QTest::addColumn<QString>("crypt");
    QTest::addColumn<QString>("cipher");
    QTest::addColumn<int>("keyBytes");
    QTest::newRow("aes") << "aes"
                         << "aes" << 32;
    QTest::newRow("aes-128") << "aes-128"
                             << "aes-128" << 16;
    QTest::newRow("aes-192") << "aes-192"
                             << "aes-192" << 24;
    QTest::newRow("3des") << "3des"
                          << "3des" << 24;
    QTest::newRow("salsa20") << "salsa20"
                             << "salsa20" << 32;
    QTest::newRow("xor") << "xor"
                         << "xor" << 32;
    QTest::newRow("none is kcp-go's null cipher") << "none"
                                                  << "null" << 32;
    QTest::newRow("unknown falls back to aes") << "rot13"
                                               << "aes" << 32;
}

void tst_TunnelConfig::ciphers()
{
    QFETCH(QString, crypt);
    QFETCH(QString, cipher);
    QFETCH(int, keyBytes);
    QString name;
    QByteArray key;
    QString error;
    QVERIFY2(kcptunCipher(crypt, QStringLiteral("it's a secrect"), &name, &key, &error), qPrintable(error));
    QCOMPARE(name, cipher);
    QCOMPARE(key.size(), keyBytes);
    // kcptun hands each cipher a prefix of PBKDF2-HMAC-SHA1(passphrase, "kcp-go", 4096, 32).
    QCOMPARE(key, QKcpConfig::kcptunKey(QStringLiteral("it's a secrect")).left(keyBytes));

    TunnelOptions o;
    o.crypt = crypt;
    QKcpConfig c;
    QVERIFY(makeKcpConfig(o, &c, &error));
    QCOMPARE(c.kcpGoCipher(), cipher);
    QCOMPARE(c.kcpGoKey(), key);
}

void tst_TunnelConfig::refusedCiphers()
{
    for (const char *name : {"sm4", "tea", "xtea", "blowfish", "twofish", "cast5"}) {
        QString cipher;
        QByteArray key;
        QString error;
        QVERIFY(!kcptunCipher(QString::fromLatin1(name), QStringLiteral("k"), &cipher, &key, &error));
        QVERIFY(error.contains(QLatin1String(name)));
    }
}

void tst_TunnelConfig::invalidOptions()
{
    QKcpConfig c;
    QString error;
    TunnelOptions o;
    o.smuxVersion = 3;
    QVERIFY(!makeKcpConfig(o, &c, &error));
    QVERIFY(error.contains(QLatin1String("smux")));
    o = TunnelOptions();
    o.mtu = 9000;
    QVERIFY(!makeKcpConfig(o, &c, &error));
    o = TunnelOptions();
    o.dataShards = 200;
    o.parityShards = 100;
    QVERIFY(!makeKcpConfig(o, &c, &error));
}

void tst_TunnelConfig::hostPort_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::newRow("host:port") << "vps:29900" << true << "vps" << 29900;
    QTest::newRow("ip:port") << "127.0.0.1:12948" << true << "127.0.0.1" << 12948;
    QTest::newRow(":port") << ":29900" << true << "" << 29900;
    QTest::newRow("port 0") << "127.0.0.1:0" << true << "127.0.0.1" << 0;
    QTest::newRow("[v6]:port") << "[::1]:443" << true << "::1" << 443;
    QTest::newRow("bare v6") << "::1:443" << false << "" << 0;
    QTest::newRow("no port") << "vps" << false << "" << 0;
    QTest::newRow("port too big") << "vps:65536" << false << "" << 0;
    QTest::newRow("port not a number") << "vps:http" << false << "" << 0;
    QTest::newRow("v6 without port") << "[::1]" << false << "" << 0;
}

void tst_TunnelConfig::hostPort()
{
    QFETCH(QString, text);
    QFETCH(bool, ok);
    QString host;
    quint16 port = 0;
    QCOMPARE(parseHostPort(text, &host, &port), ok);
    if (ok) {
        QTEST(host, "host");
        QTEST(int(port), "port");
    }
}

QTEST_GUILESS_MAIN(tst_TunnelConfig)
#include "tst_tunnelconfig.moc"
