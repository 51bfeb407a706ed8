// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Self-test of KcpUdpRelay (tests/common), the impairment relay the QKcpSocket/QKcpServer suites rely on:
// forwarding both ways, one upstream port per client, loss/duplication/corruption rates, delayed delivery,
// reordering by jitter, cut/heal, IPv6. Plain QUdpSockets on loopback; counts, not timings, are asserted.

#include "udprelay.h"

#include <QtCore/qset.h>
#include <QtNetwork/qnetworkdatagram.h>
#include <QtNetwork/qudpsocket.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <memory>

namespace {

// A target that answers every datagram with "echo:" + the datagram, and remembers what it got.
class EchoTarget
{
public:
    explicit EchoTarget(const QHostAddress &address = QHostAddress::LocalHost)
    {
        ok = socket.bind(address, 0);
        QObject::connect(&socket, &QUdpSocket::readyRead, &socket, [this] {
            for (int i = 0; i < 1000 && socket.hasPendingDatagrams(); ++i) {
                const QNetworkDatagram d = socket.receiveDatagram();
                received << d.data();
                senders << d.senderPort();
                if (echo)
                    socket.writeDatagram(QByteArray("echo:") + d.data(), d.senderAddress(), quint16(d.senderPort()));
            }
        });
    }
    QUdpSocket socket;
    QList<QByteArray> received;
    QList<int> senders;
    bool echo = true;
    bool ok = false;
};

QList<QByteArray> drain(QUdpSocket &s)
{
    QList<QByteArray> out;
    for (int i = 0; i < 100000 && s.hasPendingDatagrams(); ++i)
        out << s.receiveDatagram().data();
    return out;
}

QByteArray numbered(int i)
{
    return QByteArray::number(i).rightJustified(8, '0') + QByteArray(100, char('a' + i % 26));
}

bool ipv6LoopbackAvailable()
{
    QUdpSocket probe;
    return probe.bind(QHostAddress::LocalHostIPv6, 0);
}

} // namespace

class tst_KcpUdpRelay : public QObject
{
    Q_OBJECT

private slots:
    void forwardsBothWays_data();
    void forwardsBothWays();
    void upstreamPerClient();
    void rates_data();
    void rates();
    void corruptionFlipsOneByte();
    void delayQueuesThenDelivers();
    void jitterReorders();
    void cutAndHeal();
};

void tst_KcpUdpRelay::forwardsBothWays_data()
{
    QTest::addColumn<QHostAddress>("address");
    QTest::newRow("127.0.0.1") << QHostAddress(QHostAddress::LocalHost);
    QTest::newRow("::1") << QHostAddress(QHostAddress::LocalHostIPv6);
}

void tst_KcpUdpRelay::forwardsBothWays()
{
    QFETCH(QHostAddress, address);
    if (address.protocol() == QAbstractSocket::IPv6Protocol && !ipv6LoopbackAvailable())
        QSKIP("::1 is not available on this machine");
    EchoTarget target(address);
    QVERIFY(target.ok);
    KcpUdpRelay relay;
    QVERIFY(!relay.isListening());
    QVERIFY(relay.listen(address));
    QVERIFY(relay.isListening());
    QVERIFY(relay.port() != 0);
    QCOMPARE(relay.address(), address);
    relay.setTarget(address, target.socket.localPort());
    QCOMPARE(relay.targetPort(), target.socket.localPort());

    QUdpSocket client;
    QVERIFY(client.bind(address, 0));
    for (int i = 0; i < 20; ++i)
        QCOMPARE(client.writeDatagram(numbered(i), relay.address(), relay.port()), qint64(numbered(i).size()));
    QList<QByteArray> back;
    QTRY_COMPARE_WITH_TIMEOUT((back += drain(client)).size(), 20, 5000);
    for (int i = 0; i < 20; ++i) {
        QCOMPARE(target.received.at(i), numbered(i)); // no impairment: in order, unchanged
        QCOMPARE(back.at(i), QByteArray("echo:") + numbered(i));
    }
    const KcpUdpRelay::Counters up = relay.counters(KcpUdpRelay::ClientToServer);
    const KcpUdpRelay::Counters down = relay.counters(KcpUdpRelay::ServerToClient);
    QCOMPARE(up.received, quint64(20));
    QCOMPARE(up.forwarded, quint64(20));
    QCOMPARE(down.received, quint64(20));
    QCOMPARE(down.forwarded, quint64(20));
    QCOMPARE(up.dropped + up.duplicated + up.corrupted + up.sendErrors, quint64(0));
    QCOMPARE(up.bytesForwarded, quint64(20 * numbered(0).size()));
    QCOMPARE(relay.clientCount(), 1);
    QCOMPARE(relay.queuedDatagrams(), 0);
    relay.resetCounters();
    QCOMPARE(relay.counters(KcpUdpRelay::ClientToServer).received, quint64(0));
    relay.close();
    QVERIFY(!relay.isListening());
    QCOMPARE(relay.clientCount(), 0);
}

void tst_KcpUdpRelay::upstreamPerClient()
{
    EchoTarget target;
    KcpUdpRelay relay;
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, target.socket.localPort());
    QUdpSocket a;
    QUdpSocket b;
    QVERIFY(a.bind(QHostAddress::LocalHost, 0));
    QVERIFY(b.bind(QHostAddress::LocalHost, 0));
    a.writeDatagram("from a", relay.address(), relay.port());
    b.writeDatagram("from b", relay.address(), relay.port());
    a.writeDatagram("from a again", relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(target.received.size(), 3, 5000);
    QCOMPARE(relay.clientCount(), 2);
    const quint16 upA = relay.upstreamPort(QHostAddress::LocalHost, a.localPort());
    const quint16 upB = relay.upstreamPort(QHostAddress::LocalHost, b.localPort());
    QVERIFY(upA != 0 && upB != 0 && upA != upB);
    QCOMPARE(relay.upstreamPort(QHostAddress::LocalHost, 1), quint16(0));
    for (int i = 0; i < 3; ++i)
        QCOMPARE(quint16(target.senders.at(i)), target.received.at(i).startsWith("from a") ? upA : upB);
    // Answers go back to the right client only.
    QList<QByteArray> atA;
    QList<QByteArray> atB;
    QTRY_COMPARE_WITH_TIMEOUT((atA += drain(a)).size() + (atB += drain(b)).size(), 3, 5000);
    QCOMPARE(atA, QList<QByteArray>({"echo:from a", "echo:from a again"}));
    QCOMPARE(atB, QList<QByteArray>({"echo:from b"}));
    QCOMPARE(relay.counters(KcpUdpRelay::ServerToClient).forwarded, quint64(3));
}

void tst_KcpUdpRelay::rates_data()
{
    QTest::addColumn<double>("loss");
    QTest::addColumn<double>("duplicate");
    QTest::newRow("10% loss") << 10.0 << 0.0;
    QTest::newRow("5% duplication") << 0.0 << 5.0;
    QTest::newRow("20% loss, 10% duplication") << 20.0 << 10.0;
    QTest::newRow("100% loss") << 100.0 << 0.0;
}

void tst_KcpUdpRelay::rates()
{
    QFETCH(double, loss);
    QFETCH(double, duplicate);
    constexpr int kCount = 3000;
    EchoTarget target;
    target.echo = false;
    KcpUdpRelay relay;
    relay.setSeed(1234);
    relay.setImpairment(KcpUdpRelay::ClientToServer, {loss, 0, 0, duplicate, 0.0});
    QCOMPARE(relay.impairment(KcpUdpRelay::ClientToServer).lossPercent, loss);
    QCOMPARE(relay.impairment(KcpUdpRelay::ServerToClient).lossPercent, 0.0);
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, target.socket.localPort());
    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));
    // In batches, so no socket buffer overflows and every datagram is accounted for.
    for (int batch = 0; batch < kCount / 300; ++batch) {
        for (int i = 0; i < 300; ++i)
            client.writeDatagram(numbered(batch * 300 + i), relay.address(), relay.port());
        QTRY_COMPARE_WITH_TIMEOUT(relay.counters(KcpUdpRelay::ClientToServer).received, quint64((batch + 1) * 300),
                                  5000);
    }
    const KcpUdpRelay::Counters c = relay.counters(KcpUdpRelay::ClientToServer);
    QCOMPARE(c.received, quint64(kCount));
    QCOMPARE(c.forwarded, c.received - c.dropped + c.duplicated);
    QTRY_COMPARE_WITH_TIMEOUT(quint64(target.received.size()), c.forwarded, 5000);
    // Within +-40 % of the expected count (binomial: several standard deviations for these sizes).
    auto near = [](quint64 got, double expected) {
        return double(got) >= expected * 0.6 - 1 && double(got) <= expected * 1.4 + 1;
    };
    QVERIFY2(near(c.dropped, kCount * loss / 100), qPrintable(QString::number(c.dropped)));
    QVERIFY2(near(c.duplicated, (kCount - c.dropped) * duplicate / 100), qPrintable(QString::number(c.duplicated)));
    QCOMPARE(c.cutDropped, quint64(0));
}

void tst_KcpUdpRelay::corruptionFlipsOneByte()
{
    EchoTarget target;
    target.echo = false;
    KcpUdpRelay relay;
    relay.setSeed(99);
    relay.setImpairment(KcpUdpRelay::ClientToServer, {0.0, 0, 0, 0.0, 100.0});
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, target.socket.localPort());
    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));
    for (int i = 0; i < 50; ++i)
        client.writeDatagram(numbered(i), relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(target.received.size(), 50, 5000);
    QCOMPARE(relay.counters(KcpUdpRelay::ClientToServer).corrupted, quint64(50));
    for (int i = 0; i < 50; ++i) {
        const QByteArray &got = target.received.at(i);
        const QByteArray sent = numbered(i);
        QCOMPARE(got.size(), sent.size());
        int differing = 0;
        for (int k = 0; k < got.size(); ++k)
            differing += got.at(k) != sent.at(k) ? 1 : 0;
        QCOMPARE(differing, 1);
    }
}

void tst_KcpUdpRelay::delayQueuesThenDelivers()
{
    EchoTarget target;
    KcpUdpRelay relay;
    relay.setImpairment(KcpUdpRelay::ClientToServer, {0.0, 1000, 0, 0.0, 0.0}); // long: the check below must run before it ends
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, target.socket.localPort());
    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));
    for (int i = 0; i < 10; ++i)
        client.writeDatagram(numbered(i), relay.address(), relay.port());
    // Read by the relay, held in its queue, not yet forwarded.
    QTRY_COMPARE_WITH_TIMEOUT(relay.counters(KcpUdpRelay::ClientToServer).received, quint64(10), 5000);
    QCOMPARE(relay.queuedDatagrams(), 10);
    QCOMPARE(relay.counters(KcpUdpRelay::ClientToServer).forwarded, quint64(0));
    QTRY_COMPARE_WITH_TIMEOUT(target.received.size(), 10, 5000);
    for (int i = 0; i < 10; ++i)
        QCOMPARE(target.received.at(i), numbered(i)); // a fixed delay keeps the order
    QCOMPARE(relay.queuedDatagrams(), 0);
}

void tst_KcpUdpRelay::jitterReorders()
{
    EchoTarget target;
    target.echo = false;
    KcpUdpRelay relay;
    relay.setSeed(5);
    relay.setImpairment(KcpUdpRelay::ClientToServer, {0.0, 0, 30, 0.0, 0.0});
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, target.socket.localPort());
    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));
    for (int i = 0; i < 200; ++i)
        client.writeDatagram(numbered(i), relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(target.received.size(), 200, 10000);
    int outOfOrder = 0;
    QSet<QByteArray> distinct;
    for (int i = 0; i < 200; ++i) {
        distinct.insert(target.received.at(i));
        outOfOrder += target.received.at(i) != numbered(i) ? 1 : 0;
    }
    QCOMPARE(distinct.size(), 200); // all of them, each once
    QVERIFY(outOfOrder > 0);
}

void tst_KcpUdpRelay::cutAndHeal()
{
    EchoTarget target;
    KcpUdpRelay relay;
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, target.socket.localPort());
    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));

    relay.cut();
    QVERIFY(relay.isCut(KcpUdpRelay::ClientToServer) && relay.isCut(KcpUdpRelay::ServerToClient));
    for (int i = 0; i < 5; ++i)
        client.writeDatagram(numbered(i), relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(relay.counters(KcpUdpRelay::ClientToServer).cutDropped, quint64(5), 5000);
    QCOMPARE(target.received.size(), 0);

    relay.heal();
    QVERIFY(!relay.isCut(KcpUdpRelay::ClientToServer));
    relay.cut(KcpUdpRelay::ServerToClient); // one way only: requests pass, answers do not
    client.writeDatagram("one way", relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(target.received.size(), 1, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(relay.counters(KcpUdpRelay::ServerToClient).cutDropped, quint64(1), 5000);
    QVERIFY(!client.hasPendingDatagrams());

    // Queued datagrams are dropped too when the link is cut before their time.
    relay.heal();
    relay.setImpairment(KcpUdpRelay::ClientToServer, {0.0, 1000, 0, 0.0, 0.0});
    client.writeDatagram("late", relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(relay.queuedDatagrams(), 1, 5000);
    relay.cut(KcpUdpRelay::ClientToServer);
    QTRY_COMPARE_WITH_TIMEOUT(relay.queuedDatagrams(), 0, 5000);
    QCOMPARE(relay.counters(KcpUdpRelay::ClientToServer).cutDropped, quint64(6));
    QCOMPARE(target.received.size(), 1);

    relay.heal();
    relay.setImpairment(KcpUdpRelay::ClientToServer, {});
    client.writeDatagram("healed", relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(target.received.size(), 2, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(client.hasPendingDatagrams(), 5000);
    QCOMPARE(client.receiveDatagram().data(), QByteArray("echo:healed"));
}

QTEST_MAIN(tst_KcpUdpRelay)
#include "tst_kcpudprelay.moc"
