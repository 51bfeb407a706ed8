// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Qt Test suite of QKcpServer over real UDP sockets on 127.0.0.1 / ::1: listening, many concurrent clients,
// close(), pause/resume, the pending-connection backlog, session replacement, strangers and spoofed datagrams,
// incomingConnection() and statistics. Waits are condition-based (QTRY_*) and bounded; nothing asserts on speed.

#include <QKcpConfig>
#include <QKcpServer>
#include <QKcpSocket>
#include <QKcpStatistics>

#include "kcptestsupport.h"
#include "udprelay.h"

#include <QtCore/qpointer.h>
#include <QtCore/qset.h>
#include <QtNetwork/qnetworkdatagram.h>
#include <QtNetwork/qudpsocket.h>
#include <QtTest/qtest.h>

#include <memory>
#include <random>
#include <vector>

namespace {

QKcpConfig makeConfig(bool messageMode = false)
{
    QKcpConfig c(QKcpConfig::Fast);
    c.setMode(messageMode ? QKcpConfig::MessageMode : QKcpConfig::StreamMode);
    return c;
}

bool ipv6LoopbackAvailable()
{
    QUdpSocket probe;
    return probe.bind(QHostAddress::LocalHostIPv6, 0);
}

quint64 counterByName(const QKcpServerStatistics &s, const char *name)
{
    const QMetaObject &mo = QKcpServerStatistics::staticMetaObject;
    const int index = mo.indexOfProperty(name);
    return index < 0 ? ~quint64(0) : mo.property(index).readOnGadget(&s).toULongLong();
}

// Hand-made session packets (docs/PROTOCOL.md §19.1), CRC32C trailer included unless said otherwise.
constexpr char kHello = char(0xA1);
constexpr char kConfirm = char(0xA3);
constexpr char kPing = char(0xB1);
constexpr char kFin = char(0xC1);
constexpr char kReset = char(0xC3);

QByteArray hello(quint64 nonce, bool stream = true, quint8 version = 1)
{
    QByteArray d;
    kcpTestPutU32(d, 0);
    d.append(kHello);
    kcpTestPutU32(d, 0x4e50434bu); // "KCPN"
    d.append(char(version));
    d.append(char(stream ? 1 : 0));
    d.append(2, '\0');
    kcpTestPutU64(d, nonce);
    d.append(60 - d.size(), '\0');
    return kcpTestSeal(d);
}

struct Accept {
    quint32 conv = 0;
    quint64 nonce = 0;
    quint32 issued = 0;
    quint64 cookie = 0;
};

bool parseAccept(const QByteArray &d, Accept &a)
{
    if (d.size() != 41 || d.at(4) != char(0xA2) || kcpTestGetU32(d, 37) != kcpTestCrc32c(d.left(37)))
        return false;
    a.conv = kcpTestGetU32(d, 0);
    a.nonce = kcpTestGetU64(d, 9);
    a.issued = kcpTestGetU32(d, 17);
    a.cookie = kcpTestGetU64(d, 21);
    return true;
}

QByteArray confirm(const Accept &a)
{
    QByteArray d;
    kcpTestPutU32(d, a.conv);
    d.append(kConfirm);
    d.append(3, '\0');
    kcpTestPutU64(d, a.nonce);
    kcpTestPutU32(d, a.issued);
    kcpTestPutU64(d, a.cookie);
    return kcpTestSeal(d);
}

QByteArray bare(quint32 conv, char type)
{
    QByteArray d;
    kcpTestPutU32(d, conv);
    d.append(type);
    return kcpTestSeal(d);
}

QByteArray ping(quint32 conv)
{
    QByteArray d;
    kcpTestPutU32(d, conv);
    d.append(kPing);
    kcpTestPutU32(d, 12345);
    return kcpTestSeal(d);
}

QByteArray reset(quint32 conv)
{
    QByteArray d;
    kcpTestPutU32(d, conv);
    d.append(kReset);
    d.append(char(1));
    return kcpTestSeal(d);
}

// One KCP PUSH segment (24-byte header + payload), optionally sealed.
QByteArray push(quint32 conv, quint32 sn, const QByteArray &payload, bool seal = true)
{
    QByteArray d;
    kcpTestPutU32(d, conv);
    d.append(char(81)); // cmd PUSH
    d.append('\0');     // frg
    d.append(char(0));
    d.append(char(1)); // wnd 256
    kcpTestPutU32(d, 1000); // ts
    kcpTestPutU32(d, sn);
    kcpTestPutU32(d, 0); // una
    kcpTestPutU32(d, quint32(payload.size()));
    d += payload;
    return seal ? kcpTestSeal(d) : d;
}

// Waits (event loop running) up to timeoutMs for one datagram on `s`; empty if none came.
QByteArray receiveOne(QUdpSocket &s, int timeoutMs)
{
    if (!s.hasPendingDatagrams()) {
        QSignalSpy readyRead(&s, &QUdpSocket::readyRead);
        readyRead.wait(timeoutMs);
    }
    return s.hasPendingDatagrams() ? s.receiveDatagram().data() : QByteArray();
}

class TakingServer : public QKcpServer
{
public:
    using QKcpServer::QKcpServer;
    QList<QPointer<QKcpSocket>> taken;
    bool alsoQueue = false;

protected:
    void incomingConnection(QKcpSocket *socket) override
    {
        taken.append(socket);
        if (alsoQueue)
            addPendingConnection(socket);
    }
};

} // namespace

class tst_QKcpServer : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void listen_data();
    void listen();
    void listenOnBusyPort();
    void pendingConnections();
    void manyClients_data();
    void manyClients();
    void closeNotifiesClients_data();
    void closeNotifiesClients();
    void connectTimeoutWhilePaused();
    void maxPendingConnections();
    void sameAddressReplacesSession();
    void strangerDatagrams_data();
    void strangerDatagrams();
    void spoofedConfirm();
    void spoofedConvFromOtherAddress();
    void garbageFlood();
    void incomingConnectionOverride_data();
    void incomingConnectionOverride();
    void statistics();
};

void tst_QKcpServer::initTestCase()
{
    qRegisterMetaType<QAbstractSocket::SocketState>();
    qRegisterMetaType<QAbstractSocket::SocketError>();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpServer::listen_data()
{
    QTest::addColumn<QHostAddress>("address");
    QTest::newRow("127.0.0.1") << QHostAddress(QHostAddress::LocalHost);
    QTest::newRow("::1") << QHostAddress(QHostAddress::LocalHostIPv6);
}

void tst_QKcpServer::listen()
{
    QFETCH(QHostAddress, address);
    if (address.protocol() == QAbstractSocket::IPv6Protocol && !ipv6LoopbackAvailable())
        QSKIP("::1 is not available on this machine");
    QKcpServer server(makeConfig());
    KcpServerSpies spies(&server);
    QVERIFY(spies.isValid());
    QVERIFY(!server.isListening());
    QCOMPARE(server.serverPort(), quint16(0));
    QCOMPARE(server.maxPendingConnections(), 30);
    QVERIFY(server.listen(address, 0));
    QVERIFY(server.isListening());
    QVERIFY(server.serverPort() != 0);
    QCOMPARE(server.serverAddress(), address);
    QVERIFY(!server.hasPendingConnections());
    QCOMPARE(server.nextPendingConnection(), nullptr);
    QCOMPARE(server.sessions().size(), 0);

    QTest::ignoreMessage(QtWarningMsg, "QKcpServer::listen() called when already listening");
    QVERIFY(!server.listen(address, 0));
    QVERIFY(server.isListening());

    // A client gets through, then close() stops listening.
    QKcpSocket client(makeConfig());
    KcpSocketSpies cs(&client);
    client.connectToHost(address, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(spies.newConnection.count(), 1, 10000);
    server.close();
    QVERIFY(!server.isListening());
    QCOMPARE(server.serverPort(), quint16(0));
    QTRY_COMPARE_WITH_TIMEOUT(cs.disconnected.count(), 1, 10000);

    // Listening again works.
    QVERIFY(server.listen(address, 0));
    QVERIFY(server.isListening());
    QKcpSocket again(makeConfig());
    KcpSocketSpies as(&again);
    again.connectToHost(address, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(as.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(spies.newConnection.count(), 2, 10000);
    QCOMPARE(spies.acceptError.count(), 0);
}

void tst_QKcpServer::listenOnBusyPort()
{
    // A port held exclusively by another socket cannot be used.
    QUdpSocket holder;
    QVERIFY(holder.bind(QHostAddress::LocalHost, 0, QAbstractSocket::DontShareAddress));
    QKcpServer server(makeConfig());
    QVERIFY(!server.listen(QHostAddress::LocalHost, holder.localPort()));
    QVERIFY(!server.isListening());
    QCOMPARE(server.serverError(), QAbstractSocket::AddressInUseError);
    QVERIFY(!server.errorString().isEmpty());

    // Two servers on one port would split the traffic between them: the second must fail, as with QTcpServer.
    QKcpServer first(makeConfig());
    QVERIFY(first.listen(QHostAddress::LocalHost, 0));
    QKcpServer second(makeConfig());
    QVERIFY2(!second.listen(QHostAddress::LocalHost, first.serverPort()),
             "a second QKcpServer could listen on a UDP port already in use by another QKcpServer");
    QCOMPARE(second.serverError(), QAbstractSocket::AddressInUseError);
}

void tst_QKcpServer::pendingConnections()
{
    QKcpServer server(makeConfig());
    KcpServerSpies spies(&server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::vector<std::unique_ptr<QKcpSocket>> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<QKcpSocket>(makeConfig()));
        clients.back()->connectToHost(QHostAddress::LocalHost, server.serverPort());
    }
    QTRY_COMPARE_WITH_TIMEOUT(server.serverStatistics().pendingConnections, quint32(3), 10000);
    QCOMPARE(spies.newConnection.count(), 3);
    QCOMPARE(spies.pendingConnectionAvailable.count(), 3);
    QVERIFY(server.hasPendingConnections());
    QCOMPARE(server.sessions().size(), 3);

    QKcpSocket *first = server.nextPendingConnection();
    QVERIFY(first);
    QCOMPARE(first->parent(), &server); // like QTcpServer: parented to the server
    QCOMPARE(first->state(), QAbstractSocket::ConnectedState);
    QVERIFY(first->isOpen());
    QCOMPARE(server.serverStatistics().pendingConnections, quint32(2));
    QKcpSocket *second = server.nextPendingConnection();
    QKcpSocket *third = server.nextPendingConnection();
    QVERIFY(second && third);
    QVERIFY(second != first && third != first && second != third);
    QCOMPARE(server.nextPendingConnection(), nullptr);
    QVERIFY(!server.hasPendingConnections());
    QCOMPARE(server.serverStatistics().pendingConnections, quint32(0));
    QCOMPARE(server.serverStatistics().accepted, quint64(3));
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpServer::manyClients_data()
{
    QTest::addColumn<int>("count");
    QTest::addColumn<bool>("messageMode");
    QTest::newRow("200 clients, stream") << 200 << false;
    QTest::newRow("200 clients, message") << 200 << true;
}

void tst_QKcpServer::manyClients()
{
    QFETCH(int, count);
    QFETCH(bool, messageMode);
    const QKcpConfig config = makeConfig(messageMode);
    KcpEchoServer echo(config);
    KcpServerSpies spies(&echo.server);
    QVERIFY(echo.listen());

    std::vector<std::unique_ptr<QKcpSocket>> clients;
    std::vector<QByteArray> payloads(count);
    std::vector<QByteArray> echoed(count);
    int connectedCount = 0;
    int disconnectedCount = 0;
    int errors = 0;
    quint64 total = 0;
    for (int i = 0; i < count; ++i) {
        payloads[i] = kcpTestPattern(2000 + 17 * i, 5000 + i); // 2 KB .. 5.4 KB
        total += payloads[i].size();
        auto c = std::make_unique<QKcpSocket>(config);
        QObject::connect(c.get(), &QKcpSocket::connected, c.get(), [&connectedCount] { ++connectedCount; });
        QObject::connect(c.get(), &QKcpSocket::disconnected, c.get(), [&disconnectedCount] { ++disconnectedCount; });
        QObject::connect(c.get(), &QKcpSocket::errorOccurred, c.get(), [&errors] { ++errors; });
        kcpCollectInto(c.get(), &echoed[i]);
        c->connectToHost(QHostAddress::LocalHost, echo.port());
        clients.push_back(std::move(c));
    }
    QTRY_COMPARE_WITH_TIMEOUT(connectedCount, count, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(int(echo.accepted.size()), count, 30000);
    for (int i = 0; i < count; ++i)
        QCOMPARE(messageMode ? clients[i]->writeMessage(payloads[i]) : clients[i]->write(payloads[i]),
                 qint64(payloads[i].size()));
    auto complete = [&] {
        int done = 0;
        for (int i = 0; i < count; ++i)
            done += echoed[i].size() == payloads[i].size() ? 1 : 0;
        return done;
    };
    QTRY_COMPARE_WITH_TIMEOUT(complete(), count, 60000);
    for (int i = 0; i < count; ++i)
        QVERIFY2(echoed[i] == payloads[i], qPrintable(QStringLiteral("client %1").arg(i)));
    QCOMPARE(errors, 0);

    // Peak: every session is live.
    QCOMPARE(echo.server.sessions().size(), count);
    const QKcpServerStatistics srv = echo.server.serverStatistics();
    QCOMPARE(srv.sessions, quint32(count));
    QCOMPARE(srv.accepted, quint64(count));
    QVERIFY(srv.handshakes >= quint64(count));
    QCOMPARE(srv.refused, quint64(0));
    QCOMPARE(srv.pendingConnections, quint32(0));
    QVERIFY(srv.datagramsReceived >= quint64(3 * count)); // HELLO, CONFIRM, data at least
    QVERIFY(srv.datagramsSent >= quint64(3 * count));
    QCOMPARE(spies.newConnection.count(), count);
    QCOMPARE(spies.acceptError.count(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.statistics().bytesSent, total, 10000);
    const QKcpStatistics sum = echo.server.statistics();
    QCOMPARE(sum.sessions, quint32(count));
    QCOMPARE(sum.bytesReceived, total);
    QVERIFY(sum.segmentsReceived >= quint64(2 * count));
    QVERIFY(sum.datagramsReceived <= srv.datagramsReceived);
    QVERIFY(sum.wireBytesReceived > total);
    QSet<quint32> convs;
    for (QKcpSocket *s : echo.server.sessions())
        convs.insert(s->statistics().conversation);
    QCOMPARE(convs.size(), count); // every session has its own conversation

    for (auto &c : clients)
        c->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(disconnectedCount, count, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.sessions().size(), 0, 30000);
    QCOMPARE(errors, 0);
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpServer::closeNotifiesClients_data()
{
    QTest::addColumn<int>("count");
    QTest::newRow("1 client") << 1;
    QTest::newRow("5 clients") << 5;
}

void tst_QKcpServer::closeNotifiesClients()
{
    QFETCH(int, count);
    const QKcpConfig config = makeConfig();
    KcpEventLog log;
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    const quint16 port = echo.port();
    std::vector<std::unique_ptr<QKcpSocket>> clients;
    std::vector<std::unique_ptr<KcpSocketSpies>> spies;
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<QKcpSocket>(config));
        spies.push_back(std::make_unique<KcpSocketSpies>(clients.back().get()));
        log.attach(clients.back().get(), QStringLiteral("c%1").arg(i));
        clients.back()->connectToHost(QHostAddress::LocalHost, port);
    }
    QTRY_COMPARE_WITH_TIMEOUT(int(echo.accepted.size()), count, 10000);
    std::vector<std::unique_ptr<KcpSocketSpies>> serverSide;
    for (int i = 0; i < count; ++i) {
        serverSide.push_back(std::make_unique<KcpSocketSpies>(echo.at(i)));
        log.attach(echo.at(i), QStringLiteral("s%1").arg(i));
    }
    for (auto &c : clients)
        QCOMPARE(c->write("hello"), qint64(5));
    for (auto &c : clients)
        QTRY_COMPARE_WITH_TIMEOUT(c->bytesAvailable(), qint64(5), 10000);

    echo.server.close();
    QVERIFY(!echo.server.isListening());
    for (int i = 0; i < count; ++i) {
        QTRY_COMPARE_WITH_TIMEOUT(spies[i]->disconnected.count(), 1, 10000);
        QCOMPARE(spies[i]->lastError(), QAbstractSocket::RemoteHostClosedError);
        QCOMPARE(spies[i]->errorOccurred.count(), 1);
        QVERIFY2(log.containsInOrder(QStringLiteral("c%1").arg(i),
                                     {QStringLiteral("readChannelFinished"),
                                      QStringLiteral("errorOccurred(RemoteHostClosedError)"),
                                      QStringLiteral("stateChanged(Unconnected)"), QStringLiteral("disconnected")}),
                 qPrintable(log.events().join(u' ')));
        QCOMPARE(clients[i]->readAll(), QByteArray("hello"));
        // The server side closed gracefully: no error there.
        QTRY_COMPARE_WITH_TIMEOUT(serverSide[i]->disconnected.count(), 1, 10000);
        QCOMPARE(serverSide[i]->errorOccurred.count(), 0);
        QVERIFY(log.containsInOrder(QStringLiteral("s%1").arg(i),
                                    {QStringLiteral("stateChanged(Closing)"), QStringLiteral("stateChanged(Unconnected)"),
                                     QStringLiteral("disconnected")}));
    }
    QTRY_COMPARE(echo.server.sessions().size(), 0);

    // Nothing listens on the port any more: a new client is refused by the network.
    QKcpConfig quick = config;
    quick.setConnectTimeout(8000); // refused by ICMP port unreachable, well before this timer
    QKcpSocket late(quick);
    KcpSocketSpies ls(&late);
    late.connectToHost(QHostAddress::LocalHost, port);
    QTRY_COMPARE_WITH_TIMEOUT(ls.errorOccurred.count(), 1, 4000);
    QCOMPARE(ls.lastError(), QAbstractSocket::ConnectionRefusedError);
}

void tst_QKcpServer::connectTimeoutWhilePaused()
{
    QKcpConfig config = makeConfig();
    config.setConnectTimeout(800);
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());

    // A session that exists before the pause keeps working during it.
    QKcpSocket early(config);
    KcpSocketSpies es(&early);
    early.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(es.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);

    echo.server.pauseAccepting();
    KcpEventLog log;
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    log.attach(&client, QStringLiteral("client"));
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QCOMPARE(early.write("during pause"), qint64(12));
    QTRY_COMPARE_WITH_TIMEOUT(early.bytesAvailable(), qint64(12), 10000);

    QTRY_COMPARE_WITH_TIMEOUT(cs.errorOccurred.count(), 1, 800 * 8);
    QCOMPARE(cs.lastError(), QAbstractSocket::SocketTimeoutError);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(cs.connected.count(), 0);
    QCOMPARE(cs.disconnected.count(), 0); // never connected, so never disconnected
    QCOMPARE(log.eventsOf(QStringLiteral("client")),
             QStringList({QStringLiteral("stateChanged(HostLookup)"), QStringLiteral("hostFound"),
                          QStringLiteral("stateChanged(Connecting)"), QStringLiteral("errorOccurred(SocketTimeoutError)"),
                          QStringLiteral("stateChanged(Unconnected)")}));
    const QKcpServerStatistics srv = echo.server.serverStatistics();
    QVERIFY(srv.droppedNotAccepting >= 1);
    QCOMPARE(srv.accepted, quint64(1));
    QCOMPARE(echo.server.sessions().size(), 1);
    QCOMPARE(early.state(), QAbstractSocket::ConnectedState);

    // Resumed: the same socket connects.
    echo.server.resumeAccepting();
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 2, 10000);
}

void tst_QKcpServer::maxPendingConnections()
{
    const QKcpConfig config = makeConfig();
    QKcpServer server(config);
    KcpServerSpies spies(&server);
    server.setMaxPendingConnections(2);
    QCOMPARE(server.maxPendingConnections(), 2);
    QVERIFY(server.listen(QHostAddress::LocalHost));

    QKcpSocket a(config);
    QKcpSocket b(config);
    KcpSocketSpies as(&a);
    KcpSocketSpies bs(&b);
    a.connectToHost(QHostAddress::LocalHost, server.serverPort());
    b.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(spies.newConnection.count(), 2, 10000);

    // The backlog is full: the third is refused (it may see connected() first: the client side is established
    // after one round trip, the server refuses its CONFIRM).
    QKcpSocket c(config);
    KcpSocketSpies cs(&c);
    c.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(cs.errorOccurred.count(), 1, 10000);
    QCOMPARE(cs.lastError(), QAbstractSocket::ConnectionRefusedError);
    QCOMPARE(c.state(), QAbstractSocket::UnconnectedState);
    QVERIFY(spies.acceptError.count() >= 1);
    QCOMPARE(spies.acceptError.first().at(0).value<QAbstractSocket::SocketError>(),
             QAbstractSocket::SocketResourceError);
    QCOMPARE(spies.newConnection.count(), 2);
    QCOMPARE(server.sessions().size(), 2);
    QVERIFY(server.serverStatistics().refused >= 1);
    QCOMPARE(as.errorOccurred.count(), 0);
    QCOMPARE(bs.errorOccurred.count(), 0);

    // Taking one makes room.
    std::unique_ptr<QKcpSocket> taken(server.nextPendingConnection());
    QVERIFY(taken);
    QKcpSocket d(config);
    KcpSocketSpies ds(&d);
    d.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(spies.newConnection.count(), 3, 10000);
    QCOMPARE(ds.errorOccurred.count(), 0);
    QCOMPARE(d.state(), QAbstractSocket::ConnectedState);
}

void tst_QKcpServer::sameAddressReplacesSession()
{
    // A client that vanished without a word (its RESET never arrived) comes back from the same address and
    // port: the server must replace the stale session, not keep both.
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    KcpUdpRelay relay; // the server sees the relay's upstream port for a client: same client port, same address
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, echo.port());

    auto first = std::make_unique<QKcpSocket>(config);
    QVERIFY(first->bind(QHostAddress::LocalHost, 0));
    KcpSocketSpies fs(first.get());
    first->connectToHost(relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(fs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QPointer<QKcpSocket> stale = echo.at(0);
    KcpSocketSpies ss(stale.data());
    QCOMPARE(first->write("one"), qint64(3));
    QTRY_COMPARE_WITH_TIMEOUT(first->bytesAvailable(), qint64(3), 10000);
    const quint16 clientPort = first->localPort();
    QVERIFY(clientPort != 0);

    relay.cut();
    first.reset(); // aborts: both copies of its RESET (docs/PROTOCOL.md §19.3) are lost in the cut relay
    QTRY_VERIFY_WITH_TIMEOUT(relay.counters(KcpUdpRelay::ClientToServer).cutDropped >= 2, 5000);
    relay.heal();
    QCOMPARE(stale->state(), QAbstractSocket::ConnectedState);

    QKcpSocket second(config);
    QVERIFY(second.bind(QHostAddress::LocalHost, clientPort));
    KcpSocketSpies s2(&second);
    second.connectToHost(relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(s2.connected.count(), 1, 10000);
    QCOMPARE(second.localPort(), clientPort);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(ss.disconnected.count(), 1, 10000);
    QCOMPARE(ss.lastError(), QAbstractSocket::RemoteHostClosedError);
    QCOMPARE(echo.server.serverStatistics().replaced, quint64(1));
    QCOMPARE(echo.server.sessions().size(), 1);
    QCOMPARE(echo.server.sessions().first(), echo.at(1));
    QCOMPARE(relay.clientCount(), 1); // really the same client address and port

    QCOMPARE(second.write("two"), qint64(3));
    QTRY_COMPARE_WITH_TIMEOUT(second.bytesAvailable(), qint64(3), 10000);
    QCOMPARE(second.readAll(), QByteArray("two"));
    QCOMPARE(s2.errorOccurred.count(), 0);
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpServer::strangerDatagrams_data()
{
    QTest::addColumn<QByteArray>("datagram");
    QTest::addColumn<QString>("counter"); // QKcpServerStatistics property that must grow by one
    QTest::addColumn<bool>("expectReply");

    std::mt19937 gen(7);
    auto random = [&gen](int n) {
        QByteArray b(n, Qt::Uninitialized);
        for (int i = 0; i < n; ++i)
            b[i] = static_cast<char>(gen());
        return b;
    };
    const QString checksum = QStringLiteral("droppedChecksum");
    QTest::newRow("empty") << QByteArray() << checksum << false;
    QTest::newRow("3 bytes") << random(3) << checksum << false;
    QTest::newRow("random 100") << random(100) << checksum << false;
    QTest::newRow("random 1400") << random(1400) << checksum << false;
    QTest::newRow("plain KCP push (no trailer)") << push(0x1234, 0, "data", false) << checksum << false;
    QTest::newRow("hello, bad crc") << [] { QByteArray h = hello(42); h[20] = char(h.at(20) ^ 1); return h; }()
                                    << checksum << false;
    QTest::newRow("push, unknown conv") << push(0x1234, 0, "data") << QStringLiteral("droppedUnknownSession") << true;
    QTest::newRow("ping, unknown conv") << ping(0x4321) << QStringLiteral("droppedUnknownSession") << true;
    QTest::newRow("fin, unknown conv") << bare(0x5678, kFin) << QStringLiteral("droppedUnknownSession") << true;
    QTest::newRow("forged confirm") << confirm({0x9abc, 77, 1, 0xdeadbeefcafef00dull}) << QStringLiteral("badCookies")
                                    << false;
    QTest::newRow("hello, wrong version") << hello(43, true, 99) << QStringLiteral("rejected") << true;
    QTest::newRow("hello, wrong mode") << hello(44, false) << QStringLiteral("rejected") << true;
    QTest::newRow("hello (answered, no session)") << hello(45) << QStringLiteral("handshakes") << true;
    QTest::newRow("hello, truncated") << kcpTestSeal(hello(46).left(30)) << QStringLiteral("droppedMalformed")
                                      << false;
    QTest::newRow("data with conv 0") << push(0, 0, "x") << QStringLiteral("droppedMalformed") << false;
    QTest::newRow("reset, unknown conv") << reset(0x1111) << QStringLiteral("datagramsReceived") << false;
}

void tst_QKcpServer::strangerDatagrams()
{
    QFETCH(QByteArray, datagram);
    QFETCH(QString, counter);
    QFETCH(bool, expectReply);

    QKcpServer server(makeConfig());
    KcpServerSpies spies(&server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QUdpSocket stranger;
    QVERIFY(stranger.bind(QHostAddress::LocalHost, 0));

    const QByteArray name = counter.toLatin1();
    const QKcpServerStatistics before = server.serverStatistics();
    QVERIFY(counterByName(before, name.constData()) != ~quint64(0));
    for (int round = 1; round <= 3; ++round) {
        QCOMPARE(stranger.writeDatagram(datagram, QHostAddress::LocalHost, server.serverPort()),
                 qint64(datagram.size()));
        QTRY_COMPARE_WITH_TIMEOUT(server.serverStatistics().datagramsReceived, before.datagramsReceived + round, 5000);
        QCOMPARE(counterByName(server.serverStatistics(), name.constData()),
                 counterByName(before, name.constData()) + round);
        if (expectReply) {
            const QByteArray reply = receiveOne(stranger, 5000);
            QVERIFY(!reply.isEmpty());
            QVERIFY2(reply.size() <= datagram.size(), "the server answered with more than it was sent (amplifier)");
            QCOMPARE(kcpTestGetU32(reply, reply.size() - 4), kcpTestCrc32c(reply.left(reply.size() - 4)));
        }
    }
    QCOMPARE(server.sessions().size(), 0);
    QCOMPARE(server.serverStatistics().sessions, quint32(0));
    QCOMPARE(server.serverStatistics().accepted, quint64(0));
    QCOMPARE(spies.newConnection.count(), 0);
    QCOMPARE(spies.acceptError.count(), 0);
    if (!expectReply) {
        // The event loop has run (QTRY above) long enough for any answer to have come back over loopback.
        QVERIFY(!stranger.hasPendingDatagrams());
    }

    // The server still serves real clients.
    QKcpSocket client(makeConfig());
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(spies.newConnection.count(), 1, 10000);
    QCOMPARE(server.sessions().size(), 1);
}

void tst_QKcpServer::spoofedConfirm()
{
    // A HELLO's cookie is bound to the sender's address and port: replaying it from elsewhere creates nothing.
    QKcpServer server(makeConfig());
    KcpServerSpies spies(&server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QUdpSocket genuine;
    QUdpSocket spoofer;
    QVERIFY(genuine.bind(QHostAddress::LocalHost, 0));
    QVERIFY(spoofer.bind(QHostAddress::LocalHost, 0));

    QCOMPARE(genuine.writeDatagram(hello(0x1122334455667788ull), QHostAddress::LocalHost, server.serverPort()),
             qint64(64));
    Accept accept;
    QVERIFY(parseAccept(receiveOne(genuine, 5000), accept));
    QCOMPARE(accept.nonce, 0x1122334455667788ull);
    QVERIFY(accept.conv != 0);
    QCOMPARE(server.sessions().size(), 0); // stateless until CONFIRM

    const QByteArray replay = confirm(accept);
    QCOMPARE(spoofer.writeDatagram(replay, QHostAddress::LocalHost, server.serverPort()), qint64(replay.size()));
    QTRY_COMPARE_WITH_TIMEOUT(server.serverStatistics().badCookies, quint64(1), 5000);
    Accept tampered = accept;
    tampered.conv ^= 1; // another conv under the same cookie
    QCOMPARE(genuine.writeDatagram(confirm(tampered), QHostAddress::LocalHost, server.serverPort()), qint64(32));
    QTRY_COMPARE_WITH_TIMEOUT(server.serverStatistics().badCookies, quint64(2), 5000);
    QCOMPARE(server.sessions().size(), 0);
    QCOMPARE(spies.newConnection.count(), 0);

    // Control: the genuine sender's CONFIRM does create the session (so the packets above were well-formed).
    QCOMPARE(genuine.writeDatagram(replay, QHostAddress::LocalHost, server.serverPort()), qint64(replay.size()));
    QTRY_COMPARE_WITH_TIMEOUT(spies.newConnection.count(), 1, 5000);
    QCOMPARE(server.sessions().size(), 1);
    QKcpSocket *s = server.nextPendingConnection();
    QVERIFY(s);
    QCOMPARE(s->peerPort(), genuine.localPort());
    QCOMPARE(s->statistics().conversation, accept.conv);
    const QByteArray confirmed = receiveOne(genuine, 5000);
    QCOMPARE(confirmed.size(), 9);
    QCOMPARE(confirmed.at(4), char(0xA4)); // CONFIRMED
    QCOMPARE(kcpTestGetU32(confirmed, 0), accept.conv);
}

void tst_QKcpServer::spoofedConvFromOtherAddress()
{
    // Only the address that completed the handshake speaks for a session.
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    KcpSocketSpies ps(echo.at(0));
    const quint32 conv = client.statistics().conversation;
    QVERIFY(conv != 0);

    QUdpSocket attacker;
    QVERIFY(attacker.bind(QHostAddress::LocalHost, 0));
    const QList<QByteArray> forged = {reset(conv), bare(conv, kFin), ping(conv), push(conv, 0, "injected"),
                                      push(conv, 1, "injected")};
    const quint64 before = echo.server.serverStatistics().droppedWrongAddress;
    for (const QByteArray &d : forged)
        QCOMPARE(attacker.writeDatagram(d, QHostAddress::LocalHost, echo.port()), qint64(d.size()));
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().droppedWrongAddress, before + forged.size(), 5000);

    QCOMPARE(echo.at(0)->state(), QAbstractSocket::ConnectedState);
    QCOMPARE(ps.errorOccurred.count(), 0);
    QCOMPARE(echo.at(0)->bytesAvailable(), qint64(0));
    QCOMPARE(client.write("genuine"), qint64(7));
    QTRY_COMPARE_WITH_TIMEOUT(client.bytesAvailable(), qint64(7), 10000);
    QCOMPARE(client.readAll(), QByteArray("genuine"));
    QCOMPARE(cs.errorOccurred.count(), 0);
    QCOMPARE(echo.server.sessions().size(), 1);
    QCOMPARE(echo.server.serverStatistics().accepted, quint64(1));
}

void tst_QKcpServer::garbageFlood()
{
    // Thousands of junk datagrams from several strangers, while a real client connects and talks.
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    std::vector<std::unique_ptr<QUdpSocket>> strangers;
    for (int i = 0; i < 3; ++i) {
        strangers.push_back(std::make_unique<QUdpSocket>());
        QVERIFY(strangers.back()->bind(QHostAddress::LocalHost, 0));
    }
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    const QByteArray payload = kcpTestPattern(50000, 3);
    QByteArray back;
    kcpCollectInto(&client, &back);
    QCOMPARE(client.write(payload), qint64(payload.size()));

    std::mt19937 gen(2026);
    constexpr int kBatches = 15;
    constexpr int kPerBatch = 200;
    quint64 sent = 0;
    const quint64 checksumBefore = echo.server.serverStatistics().droppedChecksum;
    for (int batch = 0; batch < kBatches; ++batch) {
        for (int i = 0; i < kPerBatch; ++i) {
            QByteArray junk(int(gen() % 1500), Qt::Uninitialized);
            for (char &ch : junk)
                ch = static_cast<char>(gen());
            QUdpSocket &from = *strangers[i % strangers.size()];
            if (from.writeDatagram(junk, QHostAddress::LocalHost, echo.port()) == junk.size())
                ++sent;
        }
        // Let the server catch up, so the kernel buffer never overflows and every datagram is counted.
        QTRY_COMPARE_WITH_TIMEOUT(echo.server.serverStatistics().droppedChecksum, checksumBefore + sent, 10000);
    }
    QCOMPARE(sent, quint64(kBatches * kPerBatch));
    QTRY_COMPARE_WITH_TIMEOUT(back.size(), payload.size(), 20000);
    QVERIFY(back == payload);
    QCOMPARE(echo.server.sessions().size(), 1);
    const QKcpServerStatistics srv = echo.server.serverStatistics();
    QCOMPARE(srv.accepted, quint64(1));
    QCOMPARE(srv.sessions, quint32(1));
    QVERIFY(srv.datagramsReceived >= sent);
    QCOMPARE(cs.errorOccurred.count(), 0);
    for (auto &s : strangers)
        QVERIFY(!s->hasPendingDatagrams()); // junk is never answered
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpServer::incomingConnectionOverride_data()
{
    QTest::addColumn<bool>("alsoQueue");
    QTest::newRow("taken over") << false;
    QTest::newRow("taken over and queued") << true;
}

void tst_QKcpServer::incomingConnectionOverride()
{
    QFETCH(bool, alsoQueue);
    TakingServer server(makeConfig());
    server.alsoQueue = alsoQueue;
    KcpServerSpies spies(&server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QKcpSocket client(makeConfig());
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(server.taken.size(), 1, 10000);
    QKcpSocket *s = server.taken.first();
    QVERIFY(s);
    QCOMPARE(s->state(), QAbstractSocket::ConnectedState);
    QCOMPARE(s->parent(), &server);
    QCOMPARE(spies.newConnection.count(), 0); // emitted by the default implementation only
    QCOMPARE(server.hasPendingConnections(), alsoQueue);
    if (alsoQueue)
        QCOMPARE(server.nextPendingConnection(), s);
    QCOMPARE(server.nextPendingConnection(), nullptr);

    QByteArray got;
    kcpCollectInto(s, &got);
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QCOMPARE(client.write("over"), qint64(4));
    QTRY_COMPARE_WITH_TIMEOUT(got, QByteArray("over"), 10000);
}

void tst_QKcpServer::statistics()
{
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    QCOMPARE(echo.server.statistics().sessions, quint32(0));
    QCOMPARE(echo.server.statistics().bytesReceived, quint64(0));

    constexpr int kClients = 3;
    std::vector<std::unique_ptr<QKcpSocket>> clients;
    std::vector<QByteArray> back(kClients);
    quint64 total = 0;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<QKcpSocket>(config));
        kcpCollectInto(clients.back().get(), &back[i]);
        clients.back()->connectToHost(QHostAddress::LocalHost, echo.port());
    }
    QTRY_COMPARE_WITH_TIMEOUT(int(echo.accepted.size()), kClients, 10000);
    for (int i = 0; i < kClients; ++i) {
        const QByteArray d = kcpTestPattern(10000 * (i + 1), i);
        QCOMPARE(clients[i]->write(d), qint64(d.size()));
        total += d.size();
    }
    auto allBack = [&] {
        quint64 n = 0;
        for (const QByteArray &b : back)
            n += b.size();
        return n;
    };
    QTRY_COMPARE_WITH_TIMEOUT(allBack(), total, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.server.statistics().inFlight, quint32(0), 10000);

    const QKcpStatistics sum = echo.server.statistics();
    QCOMPARE(sum.sessions, quint32(kClients));
    QCOMPARE(sum.conversation, quint32(0));
    QCOMPARE(sum.bytesReceived, total);
    QCOMPARE(sum.bytesSent, total);
    quint64 segments = 0;
    quint64 datagrams = 0;
    for (QKcpSocket *s : echo.server.sessions()) {
        segments += s->statistics().segmentsSent;
        datagrams += s->statistics().datagramsReceived;
    }
    QCOMPARE(sum.segmentsSent, segments);
    QCOMPARE(sum.datagramsReceived, datagrams);
    QVERIFY(sum.rto > 0);

    const QKcpServerStatistics srv = echo.server.serverStatistics();
    QCOMPARE(srv.sessions, quint32(kClients));
    QCOMPARE(srv.accepted, quint64(kClients));
    QVERIFY(srv.handshakes >= quint64(kClients));
    QCOMPARE(srv.badCookies, quint64(0));
    QCOMPARE(srv.rejected, quint64(0));
    QCOMPARE(srv.refused, quint64(0));
    QCOMPARE(srv.replaced, quint64(0));
    QCOMPARE(srv.droppedChecksum, quint64(0));
    QCOMPARE(srv.droppedWrongAddress, quint64(0));
    // Everything the sessions received came through the server's socket, plus the handshakes.
    QVERIFY(srv.datagramsReceived >= datagrams + kClients);
    QVERIFY(srv.datagramsSent >= sum.datagramsSent);

    // A property map for tools.
    const QMetaObject &mo = QKcpServerStatistics::staticMetaObject;
    QCOMPARE(counterByName(srv, "accepted"), quint64(kClients));
    QVERIFY(mo.propertyCount() - mo.propertyOffset() >= 16);
}

QTEST_MAIN(tst_QKcpServer)
#include "tst_qkcpserver.moc"
