// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Qt Test suite of QKcpSocket over real UDP sockets on 127.0.0.1 / ::1: signals and their order, stream and
// message mode, the blocking API in a thread without an event loop, bulk transfer through a lossy relay, errors
// (refused, host not found, peer timeout, reset), keepalive, idle timeout, createPair() and statistics.
// Waits are condition-based (QTRY_*, QSignalSpy::wait) and bounded; nothing asserts on speed.

#include <QKcpConfig>
#include <QKcpServer>
#include <QKcpSocket>
#include <QKcpStatistics>

#include "kcptestsupport.h"
#include "udprelay.h"

#include <QtCore/qbuffer.h>
#include <QtCore/qcryptographichash.h>
#include <QtCore/qdatastream.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qmap.h>
#include <QtCore/qpointer.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qtextstream.h>
#include <QtCore/qthread.h>
#include <QtNetwork/qudpsocket.h>
#include <QtTest/qtest.h>

#include <cstring>
#include <memory>
#include <random>

using SocketPair = std::pair<std::unique_ptr<QKcpSocket>, std::unique_ptr<QKcpSocket>>;

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

// A client in a QThread whose run() has no event loop: only the blocking API drives it.
class BlockingClient : public QThread
{
public:
    QKcpConfig config;
    QString host;
    quint16 port = 0;
    bool bindLocal = false;
    int rounds = 0;

    // Results, read by the main thread after the thread has finished.
    QString failure;
    int echoedRounds = 0;
    int loopLevel = -1;
    QAbstractSocket::SocketState finalState = QAbstractSocket::ConnectingState;
    int disconnectedSignals = 0;

protected:
    void run() override
    {
        loopLevel = loopLevelOfThisThread();
        QKcpSocket socket(config);
        QObject::connect(&socket, &QKcpSocket::disconnected, [this] { ++disconnectedSignals; });
        const bool message = config.mode() == QKcpConfig::MessageMode;
        if (bindLocal && !socket.bind(QHostAddress::LocalHost)) {
            failure = QStringLiteral("bind failed");
            return;
        }
        socket.connectToHost(host, port);
        if (!socket.waitForConnected(10000)) {
            failure = QStringLiteral("waitForConnected: ") + socket.errorString();
            return;
        }
        for (int r = 0; r < rounds; ++r) {
            const QByteArray payload = kcpTestPattern(1 + (r * 997) % 9000, 1000 + r);
            const qint64 written = message ? socket.writeMessage(payload) : socket.write(payload);
            if (written != payload.size()) {
                failure = QStringLiteral("write returned %1").arg(written);
                return;
            }
            if (!socket.waitForBytesWritten(10000)) {
                failure = QStringLiteral("waitForBytesWritten: ") + socket.errorString();
                return;
            }
            QByteArray echoed;
            for (int i = 0; i < 1000 && echoed.size() < payload.size(); ++i) {
                if (socket.bytesAvailable() == 0 && !socket.waitForReadyRead(10000)) {
                    failure = QStringLiteral("waitForReadyRead: ") + socket.errorString();
                    return;
                }
                echoed += message ? socket.readMessage() : socket.readAll();
            }
            if (echoed != payload) {
                failure = QStringLiteral("round %1: echo differs (%2 of %3 bytes)")
                              .arg(r)
                              .arg(echoed.size())
                              .arg(payload.size());
                return;
            }
            ++echoedRounds;
        }
        socket.disconnectFromHost();
        if (socket.state() != QAbstractSocket::UnconnectedState && !socket.waitForDisconnected(10000)) {
            failure = QStringLiteral("waitForDisconnected: ") + socket.errorString();
            return;
        }
        finalState = socket.state();
    }

private:
    static int loopLevelOfThisThread() { return QThread::currentThread()->loopLevel(); }
};

} // namespace

class tst_QKcpSocket : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void ageOfFirstSocket();
    void connectEchoCloseSignalOrder_data();
    void connectEchoCloseSignalOrder();
    void streamReadLine_data();
    void streamReadLine();
    void streamDataStream();
    void streamTextStream();
    void messageBoundaries_data();
    void messageBoundaries();
    void emptyMessageEmitsReadyRead();
    void messagePartialRead();
    void messageTooLarge();
    void messageApiInStreamMode();
    void bufferLimits();
    void blockingApiInThread_data();
    void blockingApiInThread();
    void waitForTimeouts_data();
    void waitForTimeouts();
    void transferThroughRelay_data();
    void transferThroughRelay();
    void refused_data();
    void refused();
    void hostNotFound_data();
    void hostNotFound();
    void peerVanishes_data();
    void peerVanishes();
    void peerAborts_data();
    void peerAborts();
    void ipv6_data();
    void ipv6();
    void createPair_data();
    void createPair();
    void keepAliveKeepsIdleSessionAlive();
    void idleTimeout_data();
    void idleTimeout();
    void statistics();
    void socketOptions();
    void liveConfigChange();
    void tracing();

private:
    // A connected client and its server-side socket, straight (no relay).
    SocketPair connectedPair(const QKcpConfig &config);
};

void tst_QKcpSocket::initTestCase()
{
    qRegisterMetaType<QAbstractSocket::SocketState>();
    qRegisterMetaType<QAbstractSocket::SocketError>();
}

SocketPair tst_QKcpSocket::connectedPair(const QKcpConfig &config)
{
    auto pair = QKcpSocket::createPair(config, nullptr, 10000);
    return {std::unique_ptr<QKcpSocket>(pair.first), std::unique_ptr<QKcpSocket>(pair.second)};
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpSocket::ageOfFirstSocket()
{
    // The library's monotonic clock starts at 0 ms with its first use, which is the first connectToHost() of the
    // process (this test runs first on purpose). A socket that started at 0 ms still has an age.
    KcpEchoServer echo(makeConfig());
    QVERIFY(echo.listen());
    QKcpSocket client(makeConfig());
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(client.statistics().age >= 20 && client.statistics().lastReceiveAge >= 20, 2000);
    QVERIFY(client.statistics().lastReceiveAge <= client.statistics().age);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(echo.at(0)->statistics().age >= 20, 2000);
}

void tst_QKcpSocket::connectEchoCloseSignalOrder_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("bindLocal");
    QTest::addColumn<bool>("messageMode");
    QTest::addColumn<bool>("useClose");

    QTest::newRow("ipv4-literal/stream") << QStringLiteral("127.0.0.1") << false << false << false;
    QTest::newRow("hostname/stream") << QStringLiteral("localhost") << true << false << false;
    QTest::newRow("ipv4-literal/message") << QStringLiteral("127.0.0.1") << false << true << false;
    QTest::newRow("ipv4-literal/stream/close()") << QStringLiteral("127.0.0.1") << false << false << true;
}

void tst_QKcpSocket::connectEchoCloseSignalOrder()
{
    QFETCH(QString, host);
    QFETCH(bool, bindLocal);
    QFETCH(bool, messageMode);
    QFETCH(bool, useClose);

    const QKcpConfig config = makeConfig(messageMode);
    KcpEventLog log; // declared first: outlives every socket it listens to
    KcpEchoServer echo(config);
    KcpServerSpies serverSpies(&echo.server);
    QVERIFY(serverSpies.isValid());
    QVERIFY(echo.listen());

    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    QVERIFY(cs.isValid());
    log.attach(&client, QStringLiteral("client"));
    if (bindLocal)
        QVERIFY(client.bind(QHostAddress::LocalHost));
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);

    client.connectToHost(host, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QCOMPARE(log.eventsOf(QStringLiteral("client")),
             QStringList({QStringLiteral("stateChanged(HostLookup)"), QStringLiteral("hostFound"),
                          QStringLiteral("stateChanged(Connecting)"), QStringLiteral("stateChanged(Connected)"),
                          QStringLiteral("connected")}));
    QCOMPARE(cs.hostFound.count(), 1);
    QCOMPARE(cs.errorOccurred.count(), 0);
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
    QVERIFY(client.isValid());
    QVERIFY(client.isOpen());
    QCOMPARE(client.peerPort(), echo.port());
    QCOMPARE(client.peerAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(client.peerName(), host);
    QVERIFY(client.localPort() != 0);

    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QCOMPARE(serverSpies.newConnection.count(), 1);
    QCOMPARE(serverSpies.pendingConnectionAvailable.count(), 1);
    QCOMPARE(serverSpies.acceptError.count(), 0);
    QKcpSocket *peer = echo.at(0);
    QVERIFY(peer);
    KcpSocketSpies ss(peer);
    log.attach(peer, QStringLiteral("server"));
    QCOMPARE(peer->state(), QAbstractSocket::ConnectedState);
    QCOMPARE(peer->peerPort(), client.localPort());
    QCOMPARE(peer->localPort(), echo.port());
    QCOMPARE(peer->parent(), &echo.server);
    QVERIFY(peer->isOpen());

    // Echo both ways.
    const QByteArray hello("hello, kcpnet");
    QCOMPARE(messageMode ? client.writeMessage(hello) : client.write(hello), qint64(hello.size()));
    QTRY_COMPARE_WITH_TIMEOUT(client.bytesAvailable(), qint64(hello.size()), 10000);
    QCOMPARE(messageMode ? client.readMessage() : client.readAll(), hello);
    QVERIFY(cs.readyRead.count() >= 1);
    QVERIFY(ss.readyRead.count() >= 1);
    QTRY_COMPARE(cs.bytesWrittenTotal(), qint64(hello.size()));
    QTRY_COMPARE(ss.bytesWrittenTotal(), qint64(hello.size()));

    // Data written right before the close must all arrive before the peer's disconnected().
    echo.echoing = false;
    QByteArray tail;
    QByteArray serverGot;
    qint64 seenAtDisconnect = -1;
    kcpCollectInto(peer, &serverGot);
    QObject::connect(peer, &QKcpSocket::disconnected, peer,
                     [&] { seenAtDisconnect = serverGot.size() + peer->bytesAvailable(); });
    if (messageMode) {
        for (int i = 0; i < 40; ++i) {
            const QByteArray m = kcpTestPattern(100 + 97 * i, 77 + i);
            QCOMPARE(client.writeMessage(m), qint64(m.size()));
            tail += m;
        }
    } else {
        tail = kcpTestPattern(300 * 1024, 4242);
        QCOMPARE(client.write(tail), qint64(tail.size()));
    }
    if (useClose)
        client.close();
    else
        client.disconnectFromHost();
    QCOMPARE(client.state(), QAbstractSocket::ClosingState);

    QTRY_COMPARE_WITH_TIMEOUT(cs.disconnected.count(), 1, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(ss.disconnected.count(), 1, 15000);
    QCOMPARE(seenAtDisconnect, qint64(tail.size()));
    if (messageMode) {
        for (int i = 0; i < 1000 && peer->hasPendingMessages(); ++i)
            serverGot += peer->readMessage();
    } else {
        serverGot += peer->readAll();
    }
    QCOMPARE(serverGot.size(), tail.size());
    QVERIFY(serverGot == tail);

    QStringList clientClose;
    if (useClose)
        clientClose << QStringLiteral("aboutToClose");
    clientClose << QStringLiteral("stateChanged(Closing)") << QStringLiteral("stateChanged(Unconnected)")
                << QStringLiteral("disconnected");
    QVERIFY2(log.containsInOrder(QStringLiteral("client"), clientClose), qPrintable(log.events().join(u' ')));
    QCOMPARE(cs.errorOccurred.count(), 0); // a close we asked for is not an error
    QCOMPARE(cs.aboutToClose.count(), useClose ? 1 : 0);
    QCOMPARE(cs.disconnected.count(), 1);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QVERIFY(!client.isValid());

    QVERIFY2(log.containsInOrder(QStringLiteral("server"),
                                 {QStringLiteral("readChannelFinished"),
                                  QStringLiteral("errorOccurred(RemoteHostClosedError)"),
                                  QStringLiteral("stateChanged(Unconnected)"), QStringLiteral("disconnected")}),
             qPrintable(log.events().join(u' ')));
    QCOMPARE(ss.readChannelFinished.count(), 1);
    QCOMPARE(ss.errorOccurred.count(), 1);
    QCOMPARE(ss.lastError(), QAbstractSocket::RemoteHostClosedError);
    QCOMPARE(peer->error(), QAbstractSocket::RemoteHostClosedError);
    QVERIFY(!peer->errorString().isEmpty());
    QCOMPARE(peer->state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(ss.connected.count(), 0); // born connected: the server hands it out, no connected() of its own
    QTRY_COMPARE(echo.server.sessions().size(), 0);
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpSocket::streamReadLine_data()
{
    QTest::addColumn<int>("chunk");
    QTest::newRow("one write") << 0;
    QTest::newRow("1-byte writes") << 1;
    QTest::newRow("7-byte writes") << 7;
    QTest::newRow("mss+3 writes") << 1375;
}

void tst_QKcpSocket::streamReadLine()
{
    QFETCH(int, chunk);
    SocketPair pair = connectedPair(makeConfig());
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;
    KcpSocketSpies rs(&reader);

    QStringList expected;
    QByteArray text;
    for (int i = 0; i < 50; ++i) {
        QByteArray line = i == 7 ? QByteArray() : QByteArray::number(i) + ": " + QByteArray(i * 61, char('a' + i % 26));
        if (i == 20)
            line = QByteArray(5000, 'L'); // longer than several segments
        text += line + '\n';
        expected << QString::fromLatin1(line + '\n');
    }
    if (chunk == 0) {
        QCOMPARE(writer.write(text), qint64(text.size()));
    } else {
        for (qsizetype at = 0; at < text.size(); at += chunk)
            QCOMPARE(writer.write(text.mid(at, chunk)), qint64(std::min<qsizetype>(chunk, text.size() - at)));
    }

    QStringList lines;
    QObject::connect(&reader, &QKcpSocket::readyRead, &reader, [&] {
        for (int i = 0; i < 1000 && reader.canReadLine(); ++i)
            lines << QString::fromLatin1(reader.readLine());
    });
    QTRY_COMPARE_WITH_TIMEOUT(lines.size(), expected.size(), 15000);
    QCOMPARE(lines, expected);
    QCOMPARE(reader.bytesAvailable(), qint64(0));
    QVERIFY(!reader.canReadLine());
    QVERIFY(rs.readyRead.count() >= 1);

    // A line without its newline yet: readable bytes, but no line.
    QCOMPARE(writer.write("partial"), qint64(7));
    QTRY_COMPARE_WITH_TIMEOUT(reader.bytesAvailable(), qint64(7), 10000);
    QVERIFY(!reader.canReadLine());
    QCOMPARE(writer.write(" line\n"), qint64(6));
    QTRY_COMPARE_WITH_TIMEOUT(lines.size(), expected.size() + 1, 10000);
    QCOMPARE(lines.last(), QStringLiteral("partial line\n"));
}

void tst_QKcpSocket::streamDataStream()
{
    SocketPair pair = connectedPair(makeConfig());
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;

    struct Record {
        QString name;
        qint32 id = 0;
        double value = 0;
        QList<qint64> samples;
        QMap<QString, int> tags;
        QByteArray blob;
    };
    QList<Record> sent;
    for (int i = 0; i < 5; ++i) {
        Record r;
        r.name = QStringLiteral("record %1 — ünïcödé").arg(i);
        r.id = -1000 + i;
        r.value = 3.25 * i - 1e10;
        for (int k = 0; k < 100 * i; ++k)
            r.samples << (qint64(k) << 33) - k;
        r.tags.insert(QStringLiteral("a"), i);
        r.tags.insert(QStringLiteral("b"), -i);
        r.blob = kcpTestPattern(i == 3 ? 400 * 1024 : 1000 * i, 900 + i);
        sent << r;
    }
    {
        QDataStream out(&writer);
        out.setVersion(QDataStream::Qt_6_4);
        for (const Record &r : sent)
            out << r.name << r.id << r.value << r.samples << r.tags << r.blob;
        QCOMPARE(out.status(), QDataStream::Ok);
    }

    QList<Record> received;
    QDataStream in(&reader);
    in.setVersion(QDataStream::Qt_6_4);
    auto readAvailable = [&] {
        for (int i = 0; i < 100 && received.size() < sent.size(); ++i) {
            in.startTransaction();
            Record r;
            in >> r.name >> r.id >> r.value >> r.samples >> r.tags >> r.blob;
            if (!in.commitTransaction())
                break;
            received << r;
        }
        return received.size();
    };
    QTRY_COMPARE_WITH_TIMEOUT(readAvailable(), sent.size(), 15000);
    for (int i = 0; i < sent.size(); ++i) {
        QCOMPARE(received.at(i).name, sent.at(i).name);
        QCOMPARE(received.at(i).id, sent.at(i).id);
        QCOMPARE(received.at(i).value, sent.at(i).value);
        QCOMPARE(received.at(i).samples, sent.at(i).samples);
        QCOMPARE(received.at(i).tags, sent.at(i).tags);
        QVERIFY(received.at(i).blob == sent.at(i).blob);
    }
    QCOMPARE(reader.bytesAvailable(), qint64(0));
}

void tst_QKcpSocket::streamTextStream()
{
    SocketPair pair = connectedPair(makeConfig());
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;

    QStringList lines;
    for (int i = 0; i < 200; ++i)
        lines << QStringLiteral("Zeile %1: Grüße aus Köln, 東京, %2").arg(i).arg(i * 0.5);
    QBuffer reference;
    reference.open(QIODevice::WriteOnly);
    {
        QTextStream ref(&reference);
        QTextStream out(&writer);
        for (const QString &l : lines) {
            out << l << '\n';
            ref << l << '\n';
        }
        out.flush();
        ref.flush();
        QCOMPARE(out.status(), QTextStream::Ok);
    }
    const qint64 expectedBytes = reference.data().size();
    QTRY_COMPARE_WITH_TIMEOUT(reader.bytesAvailable(), expectedBytes, 15000);

    QTextStream in(&reader);
    QStringList got;
    for (int i = 0; i < 1000 && !in.atEnd(); ++i)
        got << in.readLine();
    QCOMPARE(got, lines);
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpSocket::messageBoundaries_data()
{
    QTest::addColumn<qint64>("size");
    const QKcpConfig config = makeConfig(true);
    const qint64 mss = kcpTestMss(config);
    const qint64 max = QKcpSocket(config).maximumMessageSize();
    QTest::newRow("0") << qint64(0);
    QTest::newRow("1") << qint64(1);
    QTest::newRow("mss-1") << mss - 1;
    QTest::newRow("mss") << mss;
    QTest::newRow("mss+1") << mss + 1;
    QTest::newRow("3*mss") << 3 * mss;
    QTest::newRow("7*mss+5") << 7 * mss + 5;
    QTest::newRow("max-1") << max - 1;
    QTest::newRow("max") << max;
}

void tst_QKcpSocket::messageBoundaries()
{
    QFETCH(qint64, size);
    const QKcpConfig config = makeConfig(true);
    SocketPair pair = connectedPair(config);
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;
    KcpSocketSpies ws(&writer);
    KcpSocketSpies rs(&reader);
    QCOMPARE(writer.maximumMessageSize(), QKcpSocket(config).maximumMessageSize());
    QCOMPARE(reader.maximumMessageSize(), writer.maximumMessageSize());
    QVERIFY(writer.maximumMessageSize() >= 16 * kcpTestMss(config));

    const QByteArray a = kcpTestPattern(size, 11);
    const QByteArray b = kcpTestPattern(size, 12);
    QCOMPARE(writer.writeMessage(a), size);
    QCOMPARE(writer.writeMessage("M"), qint64(1));
    QCOMPARE(writer.writeMessage(b), size);
    QCOMPARE(writer.writeMessage("E"), qint64(1));

    // Messages arrive in order: once "E" is in, everything is.
    QTRY_COMPARE_WITH_TIMEOUT(reader.bytesAvailable(), 2 * size + 2, 20000);
    QVERIFY(rs.readyRead.count() >= 1);
    QVERIFY(reader.hasPendingMessages());
    QCOMPARE(reader.pendingMessageSize(), size);
    QVERIFY(reader.readMessage() == a);
    QCOMPARE(reader.pendingMessageSize(), qint64(1));
    QCOMPARE(reader.readMessage(), QByteArray("M"));
    QCOMPARE(reader.pendingMessageSize(), size);
    QVERIFY(reader.readMessage() == b);
    QCOMPARE(reader.pendingMessageSize(), qint64(1));
    QCOMPARE(reader.readMessage(), QByteArray("E"));
    QVERIFY(!reader.hasPendingMessages());
    QCOMPARE(reader.pendingMessageSize(), qint64(-1));
    QCOMPARE(reader.bytesAvailable(), qint64(0));
    QVERIFY(reader.readMessage().isNull() || reader.readMessage().isEmpty());
    QTRY_COMPARE(ws.bytesWrittenTotal(), 2 * size + 2);
    QCOMPARE(ws.errorOccurred.count(), 0);
    QCOMPARE(rs.errorOccurred.count(), 0);
}

void tst_QKcpSocket::emptyMessageEmitsReadyRead()
{
    // An empty message is a message (like an empty UDP datagram): the receiver must hear about it.
    SocketPair pair = connectedPair(makeConfig(true));
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;
    KcpSocketSpies rs(&reader);
    QCOMPARE(writer.writeMessage(QByteArray()), qint64(0));
    QTRY_VERIFY_WITH_TIMEOUT(reader.hasPendingMessages(), 10000);
    QCOMPARE(reader.pendingMessageSize(), qint64(0));
    QTRY_VERIFY_WITH_TIMEOUT(rs.readyRead.count() >= 1, 2000);
    QCOMPARE(reader.readMessage(), QByteArray());
    QVERIFY(!reader.hasPendingMessages());
}

void tst_QKcpSocket::messagePartialRead()
{
    SocketPair pair = connectedPair(makeConfig(true));
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;

    const QByteArray first = kcpTestPattern(5000, 1);
    const QByteArray second = kcpTestPattern(300, 2);
    QCOMPARE(writer.writeMessage(first), qint64(first.size()));
    QCOMPARE(writer.writeMessage(second), qint64(second.size()));
    QTRY_COMPARE_WITH_TIMEOUT(reader.bytesAvailable(), qint64(first.size() + second.size()), 10000);

    QCOMPARE(reader.read(1200), first.left(1200));
    QCOMPARE(reader.pendingMessageSize(), qint64(first.size() - 1200));
    QCOMPARE(reader.bytesAvailable(), qint64(first.size() - 1200 + second.size()));
    QCOMPARE(reader.read(1), first.mid(1200, 1));
    QCOMPARE(reader.readMessage(), first.mid(1201)); // the rest of the partly read message
    QCOMPARE(reader.pendingMessageSize(), qint64(second.size()));
    QCOMPARE(reader.readMessage(), second);
    QVERIFY(!reader.hasPendingMessages());

    // A whole message through read(): exactly its bytes, then the next message starts clean.
    QCOMPARE(writer.writeMessage(first), qint64(first.size()));
    QCOMPARE(writer.writeMessage(second), qint64(second.size()));
    QTRY_COMPARE_WITH_TIMEOUT(reader.bytesAvailable(), qint64(first.size() + second.size()), 10000);
    QByteArray viaRead;
    for (int i = 0; i < 100 && viaRead.size() < first.size(); ++i)
        viaRead += reader.read(first.size() - viaRead.size());
    QCOMPARE(viaRead, first);
    QCOMPARE(reader.pendingMessageSize(), qint64(second.size()));
    QCOMPARE(reader.readMessage(), second);
}

void tst_QKcpSocket::messageTooLarge()
{
    SocketPair pair = connectedPair(makeConfig(true));
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;
    KcpSocketSpies ws(&writer);

    const qint64 max = writer.maximumMessageSize();
    QVERIFY(max > 0);
    QCOMPARE(writer.writeMessage(QByteArray(max + 1, 'x')), qint64(-1));
    QVERIFY(!writer.errorString().isEmpty());
    QVERIFY2(writer.errorString().contains(QString::number(max)), qPrintable(writer.errorString()));
    QCOMPARE(writer.writeMessage(QByteArray(4 * max, 'x')), qint64(-1));
    // Refusing an oversized message does not hurt the connection.
    QCOMPARE(writer.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(ws.errorOccurred.count(), 0);
    QCOMPARE(writer.bytesToWrite(), qint64(0));
    QCOMPARE(writer.writeMessage("still fine"), qint64(10));
    QTRY_VERIFY_WITH_TIMEOUT(reader.hasPendingMessages(), 10000);
    QCOMPARE(reader.readMessage(), QByteArray("still fine"));
}

void tst_QKcpSocket::messageApiInStreamMode()
{
    SocketPair pair = connectedPair(makeConfig(false));
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("writeMessage\\(\\) needs")));
    QCOMPARE(writer.writeMessage("abc"), qint64(-1));
    QCOMPARE(writer.write("abc"), qint64(3));
    QTRY_COMPARE_WITH_TIMEOUT(reader.bytesAvailable(), qint64(3), 10000);
    QVERIFY(!reader.hasPendingMessages());
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("readMessage\\(\\) needs")));
    QCOMPARE(reader.readMessage(), QByteArray());
    QCOMPARE(reader.readAll(), QByteArray("abc"));
}

void tst_QKcpSocket::bufferLimits()
{
    SocketPair pair = connectedPair(makeConfig());
    QVERIFY(pair.first && pair.second);
    QKcpSocket &writer = *pair.first;
    QKcpSocket &reader = *pair.second;
    KcpSocketSpies ws(&writer);

    // Write buffer limit: write() takes only what fits.
    writer.setWriteBufferLimit(100000);
    QCOMPARE(writer.writeBufferLimit(), qint64(100000));
    const QByteArray big = kcpTestPattern(250000, 5);
    const qint64 first = writer.write(big);
    QVERIFY2(first > 0 && first <= 100000, qPrintable(QString::number(first)));
    QVERIFY(writer.bytesToWrite() <= 100000);

    // Read buffer size: the receiver buffers at most this much; the rest waits in KCP (window closes).
    reader.setReadBufferSize(64 * 1024);
    QCOMPARE(reader.readBufferSize(), qint64(64 * 1024));
    QByteArray sent = big.left(first);
    QByteArray got;
    qint64 maxBuffered = 0;
    // Feed the writer as bytesWritten() makes room; read slowly (only when the buffer is full).
    auto pump = [&] {
        maxBuffered = std::max(maxBuffered, reader.bytesAvailable());
        if (sent.size() < big.size()) {
            const qint64 n = writer.write(big.mid(sent.size()));
            if (n > 0)
                sent += big.mid(sent.size(), n);
        }
        if (reader.bytesAvailable() >= reader.readBufferSize())
            got += reader.read(16 * 1024);
        return got.size() + reader.bytesAvailable();
    };
    QTRY_COMPARE_WITH_TIMEOUT(pump(), qint64(big.size()), 20000);
    got += reader.readAll();
    QVERIFY(got == big);
    QVERIFY2(maxBuffered <= 64 * 1024, qPrintable(QString::number(maxBuffered)));
    QVERIFY(ws.bytesWrittenTotal() == big.size());
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpSocket::blockingApiInThread_data()
{
    QTest::addColumn<bool>("messageMode");
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("bindLocal");
    QTest::newRow("stream") << false << QStringLiteral("127.0.0.1") << false;
    QTest::newRow("message") << true << QStringLiteral("127.0.0.1") << false;
    QTest::newRow("stream/hostname") << false << QStringLiteral("localhost") << true;
}

void tst_QKcpSocket::blockingApiInThread()
{
    QFETCH(bool, messageMode);
    QFETCH(QString, host);
    QFETCH(bool, bindLocal);
    const QKcpConfig config = makeConfig(messageMode);
    KcpEchoServer echo(config); // in the main thread, driven by the event loop of QTRY_*
    QVERIFY(echo.listen());

    BlockingClient client;
    client.config = config;
    client.host = host;
    client.port = echo.port();
    client.bindLocal = bindLocal;
    client.rounds = 25;
    QSignalSpy finished(&client, &QThread::finished);
    client.start();
    QTRY_VERIFY_WITH_TIMEOUT(client.isFinished(), 60000);
    QVERIFY(client.wait(10000));
    QCOMPARE(finished.count(), 1);
    QCOMPARE(client.loopLevel, 0); // the thread really had no event loop
    QVERIFY2(client.failure.isEmpty(), qPrintable(client.failure));
    QCOMPARE(client.echoedRounds, 25);
    QCOMPARE(client.finalState, QAbstractSocket::UnconnectedState);
    QCOMPARE(client.disconnectedSignals, 1);
    QCOMPARE(echo.accepted.size(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(echo.at(0)->state(), QAbstractSocket::UnconnectedState, 10000);
    QCOMPARE(echo.at(0)->error(), QAbstractSocket::RemoteHostClosedError);
}

void tst_QKcpSocket::waitForTimeouts_data()
{
    QTest::addColumn<QString>("call");
    QTest::newRow("waitForConnected") << QStringLiteral("connected");
    QTest::newRow("waitForReadyRead") << QStringLiteral("readyRead");
    QTest::newRow("waitForBytesWritten") << QStringLiteral("bytesWritten");
    QTest::newRow("waitForDisconnected") << QStringLiteral("disconnected");
}

void tst_QKcpSocket::waitForTimeouts()
{
    QFETCH(QString, call);
    QKcpConfig config = makeConfig();
    config.setConnectTimeout(20000);
    QKcpServer server(config);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    KcpUdpRelay relay;
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, server.serverPort());

    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    if (call == QLatin1String("connected")) {
        server.pauseAccepting(); // HELLOs are ignored: the handshake cannot complete
        client.connectToHost(QHostAddress::LocalHost, server.serverPort());
        QVERIFY(!client.waitForConnected(300));
        QCOMPARE(client.error(), QAbstractSocket::SocketTimeoutError);
        QCOMPARE(cs.connected.count(), 0);
        client.abort();
        return;
    }

    client.connectToHost(relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 10000);
    std::unique_ptr<QKcpSocket> peer(server.nextPendingConnection());
    QVERIFY(peer);

    if (call == QLatin1String("readyRead")) {
        QVERIFY(!client.waitForReadyRead(300));
        QCOMPARE(client.error(), QAbstractSocket::SocketTimeoutError);
        QCOMPARE(client.state(), QAbstractSocket::ConnectedState); // a timeout is not fatal
    } else if (call == QLatin1String("bytesWritten")) {
        relay.cut(); // nothing is acknowledged: once the send window is full, nothing more goes out
        QCOMPARE(client.write(kcpTestPattern(16 << 20, 3)), qint64(16 << 20));
        int calls = 0;
        while (calls < 100 && client.waitForBytesWritten(300))
            ++calls;
        QVERIFY2(calls < 100, "waitForBytesWritten never timed out");
        QCOMPARE(client.error(), QAbstractSocket::SocketTimeoutError);
        QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
        QVERIFY(client.bytesToWrite() > 0);
    } else if (call == QLatin1String("disconnected")) {
        QVERIFY(!client.waitForDisconnected(300));
        QCOMPARE(client.error(), QAbstractSocket::SocketTimeoutError);
        QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
    }
    QCOMPARE(cs.disconnected.count(), 0);
    QCOMPARE(cs.errorOccurred.count(), 0); // timeouts of waitFor*() are reported by their return value only
    client.abort();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpSocket::transferThroughRelay_data()
{
    QTest::addColumn<qint64>("size");
    QTest::addColumn<double>("loss");
    QTest::addColumn<int>("delay");
    QTest::addColumn<int>("jitter");
    QTest::addColumn<double>("duplicate");
    QTest::addColumn<double>("corrupt");
    QTest::addColumn<int>("timeoutMs");

    // 64 MB each, SHA-256 on both ends. Client, relay and server share this one thread; measured on 2 cores:
    // clean ~1.3 s, impaired ~5 s. The timeouts only bound a hang.
    QTest::newRow("64MB clean") << qint64(64) * 1024 * 1024 << 0.0 << 0 << 0 << 0.0 << 0.0 << 60000;
    QTest::newRow("64MB loss10% jitter4ms dup2% corrupt1%")
        << qint64(64) * 1024 * 1024 << 10.0 << 1 << 4 << 2.0 << 1.0 << 60000;
}

void tst_QKcpSocket::transferThroughRelay()
{
    QFETCH(qint64, size);
    QFETCH(double, loss);
    QFETCH(int, delay);
    QFETCH(int, jitter);
    QFETCH(double, duplicate);
    QFETCH(double, corrupt);
    QFETCH(int, timeoutMs);

    const QKcpConfig config = makeConfig();
    QKcpServer server(config);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    KcpUdpRelay relay;
    relay.setSeed(20260101);
    relay.setImpairment({loss, delay, jitter, duplicate, corrupt});
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, server.serverPort());

    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    client.connectToHost(relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 10000);
    QKcpSocket *peer = server.nextPendingConnection();
    QVERIFY(peer);
    KcpSocketSpies ps(peer);

    QCryptographicHash rxHash(QCryptographicHash::Sha256);
    qint64 received = 0;
    QObject::connect(peer, &QKcpSocket::readyRead, peer, [&] {
        const QByteArray d = peer->readAll();
        rxHash.addData(d);
        received += d.size();
    });

    QCryptographicHash txHash(QCryptographicHash::Sha256);
    std::mt19937 gen(99);
    qint64 produced = 0;
    constexpr qint64 kChunk = 256 * 1024;
    constexpr qint64 kInFlight = 4 << 20; // keep this much queued in the socket
    bool writeFailed = false;
    auto feed = [&] {
        for (int i = 0; i < 64 && produced < size && client.bytesToWrite() < kInFlight; ++i) {
            const qint64 n = std::min(kChunk, size - produced);
            QByteArray chunk(n, Qt::Uninitialized);
            for (qint64 k = 0; k + 4 <= n; k += 4) {
                const quint32 v = gen();
                std::memcpy(chunk.data() + k, &v, 4);
            }
            if (client.write(chunk) != n)
                writeFailed = true;
            txHash.addData(chunk);
            produced += n;
        }
    };
    QObject::connect(&client, &QKcpSocket::bytesWritten, &client, feed);
    QElapsedTimer elapsed;
    elapsed.start();
    feed();
    QTRY_VERIFY_WITH_TIMEOUT(received >= size || cs.disconnected.count() || ps.disconnected.count(), timeoutMs);
    const qint64 ms = elapsed.elapsed();
    QVERIFY(!writeFailed);
    QCOMPARE(received, size);
    QCOMPARE(rxHash.result().toHex(), txHash.result().toHex());

    const QKcpStatistics c = client.statistics();
    const QKcpStatistics p = peer->statistics();
    const QKcpServerStatistics srv = server.serverStatistics();
    const KcpUdpRelay::Counters up = relay.counters(KcpUdpRelay::ClientToServer);
    const KcpUdpRelay::Counters down = relay.counters(KcpUdpRelay::ServerToClient);
    qInfo("%s: %lld bytes in %lld ms (%.1f MB/s); relay c->s fwd %llu drop %llu dup %llu corrupt %llu; "
          "s->c fwd %llu drop %llu dup %llu corrupt %llu; retransmits %llu timeout + %llu fast; "
          "checksum drops client %llu server-session %llu server %llu",
          QTest::currentDataTag(), size, ms, ms ? double(size) / 1048.576 / double(ms) : 0.0, up.forwarded,
          up.dropped, up.duplicated, up.corrupted, down.forwarded, down.dropped, down.duplicated, down.corrupted,
          c.retransmitsTimeout, c.retransmitsFast, c.droppedChecksum, p.droppedChecksum, srv.droppedChecksum);

    QCOMPARE(c.bytesSent, quint64(size));
    QCOMPARE(p.bytesReceived, quint64(size));
    QCOMPARE(cs.errorOccurred.count(), 0);
    QCOMPARE(ps.errorOccurred.count(), 0);
    if (loss > 0) {
        QVERIFY(up.dropped > 0 && down.dropped > 0);
        QVERIFY(c.retransmitsTimeout + c.retransmitsFast > 0);
        QVERIFY(c.retransmitRatio() > 0.0 && c.retransmitRatio() < 1.0);
    }
    if (duplicate > 0) {
        QVERIFY(up.duplicated > 0);
        QVERIFY(p.duplicateSegments > 0);
    }
    if (corrupt > 0) {
        // Every corrupted datagram that reached a receiver failed the CRC32C there: none got through.
        QVERIFY(up.corrupted > 0 && down.corrupted > 0);
        QVERIFY(c.droppedChecksum > 0);
        QVERIFY(p.droppedChecksum + srv.droppedChecksum > 0);
        QVERIFY2(c.droppedChecksum <= down.corrupted, "a datagram failed the checksum that the relay had not corrupted");
        QVERIFY(p.droppedChecksum + srv.droppedChecksum <= up.corrupted);
    } else {
        QCOMPARE(c.droppedChecksum, quint64(0));
        QCOMPARE(p.droppedChecksum, quint64(0));
    }

    client.disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(cs.disconnected.count(), 1, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(ps.disconnected.count(), 1, 15000);
}

// ---------------------------------------------------------------------------------------------------------------

void tst_QKcpSocket::refused_data()
{
    QTest::addColumn<QString>("scenario");
    QTest::newRow("port unreachable") << QStringLiteral("closed-port");
    QTest::newRow("mode mismatch (REJECT)") << QStringLiteral("mode");
}

void tst_QKcpSocket::refused()
{
    QFETCH(QString, scenario);
    QKcpConfig config = makeConfig();
    // "Refused" must come from the network (ICMP port unreachable) or the server (REJECT), well before this timer.
    config.setConnectTimeout(8000);

    quint16 port = 0;
    std::unique_ptr<QKcpServer> server;
    if (scenario == QLatin1String("closed-port")) {
        QUdpSocket probe; // find a free port, then free it again: nothing listens there
        QVERIFY(probe.bind(QHostAddress::LocalHost, 0));
        port = probe.localPort();
        probe.close();
    } else {
        server = std::make_unique<QKcpServer>(makeConfig(true)); // message mode; the client speaks stream mode
        QVERIFY(server->listen(QHostAddress::LocalHost));
        port = server->serverPort();
    }

    KcpEventLog log;
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    log.attach(&client, QStringLiteral("client"));
    client.connectToHost(QHostAddress::LocalHost, port);
    QTRY_COMPARE_WITH_TIMEOUT(cs.errorOccurred.count(), 1, 4000);
    QCOMPARE(cs.lastError(), QAbstractSocket::ConnectionRefusedError);
    QCOMPARE(client.error(), QAbstractSocket::ConnectionRefusedError);
    QVERIFY(!client.errorString().isEmpty());
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(cs.connected.count(), 0);
    QCOMPARE(cs.disconnected.count(), 0);
    QCOMPARE(log.eventsOf(QStringLiteral("client")),
             QStringList({QStringLiteral("stateChanged(HostLookup)"), QStringLiteral("hostFound"),
                          QStringLiteral("stateChanged(Connecting)"),
                          QStringLiteral("errorOccurred(ConnectionRefusedError)"),
                          QStringLiteral("stateChanged(Unconnected)")}));
    if (server) {
        QVERIFY(client.errorString().contains(QLatin1String("mode"), Qt::CaseInsensitive));
        QCOMPARE(server->serverStatistics().rejected, quint64(1));
        QCOMPARE(server->sessions().size(), 0);
    }
}

void tst_QKcpSocket::hostNotFound_data()
{
    QTest::addColumn<bool>("blocking");
    QTest::newRow("event loop") << false;
    QTest::newRow("waitForConnected") << true;
}

void tst_QKcpSocket::hostNotFound()
{
    QFETCH(bool, blocking);
    QKcpSocket client(makeConfig());
    KcpSocketSpies cs(&client);
    client.connectToHost(QStringLiteral("nonexistent.invalid"), 4000);
    QCOMPARE(client.state(), QAbstractSocket::HostLookupState);
    if (blocking)
        QVERIFY(!client.waitForConnected(20000));
    QTRY_COMPARE_WITH_TIMEOUT(cs.errorOccurred.count(), 1, 20000);
    QCOMPARE(cs.lastError(), QAbstractSocket::HostNotFoundError);
    QCOMPARE(client.error(), QAbstractSocket::HostNotFoundError);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(cs.hostFound.count(), 0);
    QCOMPARE(cs.connected.count(), 0);
    QCOMPARE(cs.disconnected.count(), 0);
    QCOMPARE(cs.stateChanged.count(), 2); // HostLookup, Unconnected
}

void tst_QKcpSocket::peerVanishes_data()
{
    QTest::addColumn<int>("direction"); // -1: both
    QTest::newRow("both directions cut") << -1;
    QTest::newRow("client->server cut") << int(KcpUdpRelay::ClientToServer);
    QTest::newRow("server->client cut") << int(KcpUdpRelay::ServerToClient);
}

void tst_QKcpSocket::peerVanishes()
{
    QFETCH(int, direction);
    QKcpConfig config = makeConfig();
    config.setPeerTimeout(1500);
    config.setKeepAliveInterval(300);
    QKcpServer server(config);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    KcpUdpRelay relay;
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, server.serverPort());

    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    client.connectToHost(relay.address(), relay.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 10000);
    std::unique_ptr<QKcpSocket> peer(server.nextPendingConnection());
    QVERIFY(peer);
    KcpSocketSpies ps(peer.get());
    QCOMPARE(client.write("ping"), qint64(4));
    QTRY_COMPARE_WITH_TIMEOUT(peer->bytesAvailable(), qint64(4), 10000);

    const quint64 pingsBefore = client.statistics().keepAlivesSent;
    if (direction < 0)
        relay.cut();
    else
        relay.cut(KcpUdpRelay::Direction(direction));
    QElapsedTimer t;
    t.start();
    // Bound: the peer timeout plus generous slack (the session must notice by itself; no data is written).
    QTRY_COMPARE_WITH_TIMEOUT(cs.disconnected.count(), 1, 1500 * 4);
    const qint64 clientGaveUpAfter = t.elapsed();
    QCOMPARE(cs.lastError(), QAbstractSocket::SocketTimeoutError);
    QCOMPARE(client.error(), QAbstractSocket::SocketTimeoutError);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QVERIFY(client.statistics().keepAlivesSent > pingsBefore); // it probed before giving up
    QTRY_COMPARE_WITH_TIMEOUT(ps.disconnected.count(), 1, 1500 * 4);
    QCOMPARE(ps.lastError(), QAbstractSocket::SocketTimeoutError);
    QCOMPARE(cs.errorOccurred.count(), 1);
    QCOMPARE(ps.errorOccurred.count(), 1);
    QVERIFY(relay.counters(KcpUdpRelay::ClientToServer).cutDropped + relay.counters(KcpUdpRelay::ServerToClient).cutDropped > 0);
    QTRY_COMPARE(server.sessions().size(), 0);
    qInfo("%s: the client gave up %lld ms after the cut, the server %lld ms after it (peer timeout 1500 ms)",
          QTest::currentDataTag(), clientGaveUpAfter, t.elapsed());
}

void tst_QKcpSocket::peerAborts_data()
{
    QTest::addColumn<bool>("serverSideAborts");
    QTest::addColumn<bool>("byDestruction");
    QTest::newRow("server-side abort()") << true << false;
    QTest::newRow("client abort()") << false << false;
    QTest::newRow("server-side socket deleted") << true << true;
    QTest::newRow("client deleted") << false << true;
}

void tst_QKcpSocket::peerAborts()
{
    QFETCH(bool, serverSideAborts);
    QFETCH(bool, byDestruction);
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    auto client = std::make_unique<QKcpSocket>(config);
    KcpSocketSpies cs(client.get());
    client->connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QPointer<QKcpSocket> peer = echo.at(0);
    KcpSocketSpies ps(peer.data());
    QCOMPARE(client->write("x"), qint64(1));
    QTRY_COMPARE_WITH_TIMEOUT(client->bytesAvailable(), qint64(1), 10000);

    QKcpSocket *aborter = serverSideAborts ? peer.data() : client.get();
    KcpSocketSpies &as = serverSideAborts ? ps : cs;
    KcpSocketSpies &other = serverSideAborts ? cs : ps;
    QKcpSocket *otherSocket = serverSideAborts ? client.get() : peer.data();
    if (byDestruction) {
        if (serverSideAborts)
            delete peer.data();
        else
            client.reset();
    } else {
        aborter->abort();
        QCOMPARE(aborter->state(), QAbstractSocket::UnconnectedState);
        QCOMPARE(as.disconnected.count(), 1); // abort() of an established socket emits disconnected()
        QCOMPARE(as.errorOccurred.count(), 0);
    }
    QTRY_COMPARE_WITH_TIMEOUT(other.disconnected.count(), 1, 10000);
    QCOMPARE(other.errorOccurred.count(), 1);
    QCOMPARE(other.lastError(), QAbstractSocket::RemoteHostClosedError);
    QCOMPARE(otherSocket->state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(otherSocket->error(), QAbstractSocket::RemoteHostClosedError);
    QTRY_COMPARE(echo.server.sessions().size(), 0);
}

void tst_QKcpSocket::ipv6_data()
{
    QTest::addColumn<bool>("viaRelay");
    QTest::newRow("direct") << false;
    QTest::newRow("via relay") << true;
}

void tst_QKcpSocket::ipv6()
{
    QFETCH(bool, viaRelay);
    if (!ipv6LoopbackAvailable())
        QSKIP("::1 is not available on this machine");
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen(QHostAddress::LocalHostIPv6));
    QCOMPARE(echo.server.serverAddress(), QHostAddress(QHostAddress::LocalHostIPv6));
    KcpUdpRelay relay;
    if (viaRelay) {
        QVERIFY(relay.listen(QHostAddress::LocalHostIPv6));
        relay.setTarget(QHostAddress::LocalHostIPv6, echo.port());
        relay.setImpairment({5.0, 0, 2, 0.0, 0.0});
    }
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHostIPv6, viaRelay ? relay.port() : echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QCOMPARE(client.peerAddress(), QHostAddress(QHostAddress::LocalHostIPv6));
    QCOMPARE(client.localAddress().protocol(), QAbstractSocket::IPv6Protocol);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QCOMPARE(echo.at(0)->peerAddress(), QHostAddress(QHostAddress::LocalHostIPv6));

    const QByteArray data = kcpTestPattern(200000, 6);
    QCOMPARE(client.write(data), qint64(data.size()));
    QByteArray back;
    kcpCollectInto(&client, &back);
    QTRY_COMPARE_WITH_TIMEOUT(back.size(), data.size(), 20000);
    QVERIFY(back == data);
    client.disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(cs.disconnected.count(), 1, 10000);
    QCOMPARE(cs.errorOccurred.count(), 0);
}

void tst_QKcpSocket::createPair_data()
{
    QTest::addColumn<bool>("messageMode");
    QTest::newRow("stream") << false;
    QTest::newRow("message") << true;
}

void tst_QKcpSocket::createPair()
{
    QFETCH(bool, messageMode);
    QObject owner;
    auto [a, b] = QKcpSocket::createPair(makeConfig(messageMode), &owner, 10000);
    QVERIFY(a);
    QVERIFY(b);
    QCOMPARE(a->parent(), &owner);
    QCOMPARE(b->parent(), &owner);
    QCOMPARE(a->state(), QAbstractSocket::ConnectedState);
    QCOMPARE(b->state(), QAbstractSocket::ConnectedState);
    QCOMPARE(a->localPort(), b->peerPort());
    QCOMPARE(b->localPort(), a->peerPort());
    QCOMPARE(a->peerAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(a->statistics().conversation, b->statistics().conversation);
    KcpSocketSpies as(a);
    KcpSocketSpies bs(b);

    const QByteArray ab = kcpTestPattern(30000, 1);
    const QByteArray ba = kcpTestPattern(20000, 2);
    QByteArray gotAtB;
    QByteArray gotAtA;
    kcpCollectInto(a, &gotAtA);
    kcpCollectInto(b, &gotAtB);
    QCOMPARE(messageMode ? a->writeMessage(ab) : a->write(ab), qint64(ab.size()));
    QCOMPARE(messageMode ? b->writeMessage(ba) : b->write(ba), qint64(ba.size()));
    QTRY_COMPARE_WITH_TIMEOUT(gotAtB.size(), ab.size(), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(gotAtA.size(), ba.size(), 10000);
    QVERIFY(gotAtB == ab);
    QVERIFY(gotAtA == ba);

    // Closing one end closes the other.
    a->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(bs.disconnected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(as.disconnected.count(), 1, 10000);
    QCOMPARE(bs.lastError(), QAbstractSocket::RemoteHostClosedError);
    QCOMPARE(as.errorOccurred.count(), 0);
    // `owner` deletes both (and the helper server, a child of the server-side socket).
}

void tst_QKcpSocket::keepAliveKeepsIdleSessionAlive()
{
    constexpr int kPeerTimeout = 600;
    QKcpConfig config = makeConfig();
    config.setPeerTimeout(kPeerTimeout);
    config.setKeepAliveInterval(150);
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    KcpSocketSpies ps(echo.at(0));

    // Idle (no application data) for well over 3x the peer timeout: only keepalives keep it up.
    QTRY_VERIFY_WITH_TIMEOUT(client.statistics().age > 4 * kPeerTimeout || !cs.disconnected.isEmpty(), 20000);
    QCOMPARE(cs.disconnected.count(), 0);
    QCOMPARE(ps.disconnected.count(), 0);
    QCOMPARE(cs.errorOccurred.count(), 0);
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(echo.at(0)->state(), QAbstractSocket::ConnectedState);
    const QKcpStatistics s = client.statistics();
    QVERIFY2(s.keepAlivesSent >= 3, qPrintable(QString::number(s.keepAlivesSent)));
    QCOMPARE(s.bytesSent, quint64(0));
    QVERIFY(s.lastReceiveAge < kPeerTimeout);
    QCOMPARE(echo.at(0)->statistics().keepAlivesSent, quint64(0)); // the client drives keepalive

    // And the session still works.
    QCOMPARE(client.write("still here"), qint64(10));
    QTRY_COMPARE_WITH_TIMEOUT(client.bytesAvailable(), qint64(10), 10000);
    QCOMPARE(client.readAll(), QByteArray("still here"));
}

void tst_QKcpSocket::idleTimeout_data()
{
    QTest::addColumn<bool>("clientIdle");
    QTest::addColumn<bool>("serverIdle");
    QTest::newRow("client idle timeout") << true << false;
    QTest::newRow("server idle timeout") << false << true;
    QTest::newRow("both") << true << true;
}

void tst_QKcpSocket::idleTimeout()
{
    QFETCH(bool, clientIdle);
    QFETCH(bool, serverIdle);
    constexpr int kIdle = 500;
    QKcpConfig base = makeConfig();
    base.setKeepAliveInterval(100); // keepalives are not application data: they do not reset the idle timer
    base.setPeerTimeout(5000);
    QKcpConfig clientConfig = base;
    clientConfig.setIdleTimeout(clientIdle ? kIdle : 0);
    QKcpConfig serverConfig = base;
    serverConfig.setIdleTimeout(serverIdle ? kIdle : 0);
    QCOMPARE(clientConfig.idleTimeout(), clientIdle ? kIdle : 0);

    KcpEchoServer echo(serverConfig);
    QVERIFY(echo.listen());
    QKcpSocket client(clientConfig);
    KcpSocketSpies cs(&client);
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QKcpSocket *peer = echo.at(0);
    KcpSocketSpies ps(peer);
    QCOMPARE(client.write("activity"), qint64(8));
    QTRY_COMPARE_WITH_TIMEOUT(client.bytesAvailable(), qint64(8), 10000);

    QTRY_COMPARE_WITH_TIMEOUT(cs.disconnected.count(), 1, kIdle * 10);
    QTRY_COMPARE_WITH_TIMEOUT(ps.disconnected.count(), 1, kIdle * 10);
    QCOMPARE(cs.errorOccurred.count(), 1);
    QCOMPARE(ps.errorOccurred.count(), 1);
    if (clientIdle && !serverIdle) {
        QCOMPARE(cs.lastError(), QAbstractSocket::SocketTimeoutError);
        QCOMPARE(ps.lastError(), QAbstractSocket::RemoteHostClosedError);
    } else if (serverIdle && !clientIdle) {
        QCOMPARE(ps.lastError(), QAbstractSocket::SocketTimeoutError);
        QCOMPARE(cs.lastError(), QAbstractSocket::RemoteHostClosedError);
    } else {
        // Both timers run out at about the same time: whoever closes first reports the timeout.
        QVERIFY(cs.lastError() == QAbstractSocket::SocketTimeoutError
                || ps.lastError() == QAbstractSocket::SocketTimeoutError);
    }
    QCOMPARE(client.readAll(), QByteArray("activity")); // received data stays readable after the close
}

void tst_QKcpSocket::statistics()
{
    const QKcpConfig config = makeConfig();
    KcpEchoServer echo(config);
    QVERIFY(echo.listen());
    QKcpSocket client(config);
    KcpSocketSpies cs(&client);
    QCOMPARE(client.statistics().bytesSent, quint64(0));
    QCOMPARE(client.statistics().conversation, quint32(0));
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(echo.accepted.size(), 1, 10000);
    QKcpSocket *peer = echo.at(0);

    constexpr int kSize = 100000;
    const QByteArray data = kcpTestPattern(kSize, 8);
    QByteArray back;
    kcpCollectInto(&client, &back);
    QCOMPARE(client.write(data), qint64(kSize));
    QTRY_COMPARE_WITH_TIMEOUT(back.size(), kSize, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(client.statistics().inFlight == 0 && peer->statistics().inFlight == 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(client.statistics().age > 0, 5000);

    const QKcpStatistics c = client.statistics();
    const QKcpStatistics p = peer->statistics();
    QVERIFY(c.conversation != 0);
    QCOMPARE(c.conversation, p.conversation);
    QCOMPARE(c.bytesSent, quint64(kSize));
    QCOMPARE(c.bytesReceived, quint64(kSize));
    QCOMPARE(p.bytesSent, quint64(kSize));
    QCOMPARE(p.bytesReceived, quint64(kSize));
    const quint64 minSegments = (kSize + kcpTestMss(config) - 1) / kcpTestMss(config);
    QVERIFY(c.segmentsSent >= minSegments);
    QVERIFY(c.segmentsReceived >= minSegments);
    QVERIFY(p.segmentsSent >= minSegments);
    QVERIFY(p.segmentsReceived >= minSegments);
    QVERIFY(c.datagramsSent > 0 && c.datagramsReceived > 0);
    QVERIFY(p.datagramsSent > 0 && p.datagramsReceived > 0);
    QVERIFY(c.wireBytesSent > c.bytesSent); // headers and trailers on top of the payload
    QVERIFY(c.wireBytesReceived > c.bytesReceived);
    QVERIFY(c.rto > 0);
    QVERIFY(c.congestionWindow > 0);
    QVERIFY(c.remoteWindow > 0);
    QCOMPARE(c.sendQueue, quint32(0));
    QCOMPARE(c.sendBuffer, quint32(0));
    QCOMPARE(c.receiveQueue, quint32(0));
    QCOMPARE(c.droppedChecksum, quint64(0));
    QCOMPARE(c.droppedWrongConversation, quint64(0));
    QCOMPARE(c.droppedMalformed, quint64(0));
    QVERIFY(c.age > 0);
    QVERIFY(c.lastReceiveAge >= 0 && c.lastReceiveAge <= c.age);
    QCOMPARE(c.sessions, quint32(1));
    QVERIFY(c.retransmitRatio() >= 0.0 && c.retransmitRatio() < 1.0);

    // Every property is exported.
    const QVariantMap map = c.toVariantMap();
    const QMetaObject &mo = QKcpStatistics::staticMetaObject;
    QCOMPARE(map.size(), mo.propertyCount() - mo.propertyOffset());
    QCOMPARE(map.value(QStringLiteral("bytesSent")).toULongLong(), quint64(kSize));

    // Server totals: the sum over its sessions.
    const QKcpStatistics total = echo.server.statistics();
    QCOMPARE(total.sessions, quint32(1));
    QCOMPARE(total.bytesReceived, p.bytesReceived);
    QCOMPARE(total.bytesSent, p.bytesSent);
    const QKcpServerStatistics srv = echo.server.serverStatistics();
    QCOMPARE(srv.sessions, quint32(1));
    QCOMPARE(srv.accepted, quint64(1));
    QVERIFY(srv.handshakes >= 1);
    QVERIFY(srv.datagramsReceived >= c.datagramsSent / 2); // routed through the server's socket
    QVERIFY(srv.datagramsSent > 0);
}

void tst_QKcpSocket::socketOptions()
{
    // Options set before connecting reach the UDP socket when it is created (and override the library's own
    // buffer sizing); TypeOfServiceOption carries DSCP/TOS marks.
    KcpEchoServer echo(makeConfig());
    QVERIFY(echo.listen());
    QKcpSocket client(makeConfig());
    KcpSocketSpies cs(&client);
    client.setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, 300000);
    client.setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, 300000);
    client.setSocketOption(QAbstractSocket::TypeOfServiceOption, 0xb8); // DSCP EF
    QCOMPARE(client.socketOption(QAbstractSocket::TypeOfServiceOption).toInt(), 0xb8); // remembered before connect
    client.connectToHost(QHostAddress::LocalHost, echo.port());
    QTRY_COMPARE_WITH_TIMEOUT(cs.connected.count(), 1, 10000);
    QCOMPARE(client.socketOption(QAbstractSocket::TypeOfServiceOption).toInt(), 0xb8);
    // Linux reports twice what was asked (bookkeeping overhead), capped by net.core.*mem_max.
    QVERIFY(client.socketOption(QAbstractSocket::ReceiveBufferSizeSocketOption).toInt() >= 300000);
    QVERIFY(client.socketOption(QAbstractSocket::SendBufferSizeSocketOption).toInt() >= 300000);
    // Changed while connected: applied at once.
    client.setSocketOption(QAbstractSocket::TypeOfServiceOption, 0x28); // DSCP AF11
    QCOMPARE(client.socketOption(QAbstractSocket::TypeOfServiceOption).toInt(), 0x28);
    // Data still flows with the marks set.
    QCOMPARE(client.write("marked\n"), qint64(7));
    QTRY_COMPARE_WITH_TIMEOUT(client.bytesAvailable(), qint64(7), 10000);
    QCOMPARE(client.readAll(), QByteArray("marked\n"));
}

void tst_QKcpSocket::liveConfigChange()
{
    // Windows and the no-delay settings apply to a connected socket at once.
    SocketPair pair = connectedPair(makeConfig());
    QVERIFY(pair.first && pair.second);
    QKcpSocket &a = *pair.first;
    QKcpSocket &b = *pair.second;
    QTRY_VERIFY_WITH_TIMEOUT(a.statistics().congestionWindow > 64, 10000);
    QKcpConfig small = a.config();
    small.setSendWindow(16);
    small.setNoDelay(false);
    small.setAckNoDelay(false); // ACKs batched per tick, as ikcp/kcp-go do by default
    a.setConfig(small);
    QCOMPARE(a.config().sendWindow(), 16);
    QVERIFY(!a.config().ackNoDelay());
    QVERIFY(a.config() != makeConfig());
    QVERIFY(a.statistics().congestionWindow <= 16);
    QCOMPARE(a.statistics().rto >= 30, true);
    // Still a working connection, now limited to 16 segments in flight.
    const QByteArray payload = kcpTestPattern(400000, 7);
    QCOMPARE(a.write(payload), qint64(payload.size()));
    QByteArray got;
    quint32 maxInFlight = 0;
    auto progress = [&] {
        maxInFlight = std::max(maxInFlight, a.statistics().inFlight);
        got += b.readAll();
        return got.size() >= payload.size();
    };
    QTRY_VERIFY_WITH_TIMEOUT(progress(), 20000);
    QCOMPARE(got, payload);
    QVERIFY2(maxInFlight <= 16, qPrintable(QString::number(maxInFlight)));
}

void tst_QKcpSocket::tracing()
{
    // startTrace() records protocol events: sends, acknowledgements, RTT samples; stopTrace() stops it.
    SocketPair pair = connectedPair(makeConfig());
    QVERIFY(pair.first && pair.second);
    QKcpSocket &a = *pair.first;
    QKcpSocket &b = *pair.second;
    QVERIFY(!a.isTracing());
    a.startTrace(1000);
    b.startTrace(1000);
    QVERIFY(a.isTracing());
    const QByteArray payload = kcpTestPattern(50000, 3);
    a.write(payload);
    QTRY_COMPARE_WITH_TIMEOUT(b.bytesAvailable(), qint64(payload.size()), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(a.statistics().inFlight == 0, 10000);
    const QList<QKcpTraceEvent> sent = a.traceEvents();
    const QList<QKcpTraceEvent> got = b.traceEvents();
    auto count = [](const QList<QKcpTraceEvent> &l, QKcpTraceEvent::Type t) {
        return std::count_if(l.cbegin(), l.cend(), [t](const QKcpTraceEvent &e) { return e.type == t; });
    };
    QVERIFY(count(sent, QKcpTraceEvent::Sent) >= 50000 / 1400);
    QVERIFY(count(sent, QKcpTraceEvent::Acked) >= 50000 / 1400);
    QVERIFY(count(sent, QKcpTraceEvent::RttSample) >= 1);
    QVERIFY(count(got, QKcpTraceEvent::Received) >= 50000 / 1400);
    for (qsizetype i = 1; i < sent.size(); ++i)
        QVERIFY(sent[i].time >= sent[i - 1].time);
    const QJsonObject first = sent.front().toJson();
    QVERIFY(first.contains(QStringLiteral("t")) && first.contains(QStringLiteral("ev")));
    // The ring is bounded.
    a.startTrace(10);
    a.write(payload);
    QTRY_VERIFY_WITH_TIMEOUT(a.statistics().inFlight == 0 && b.bytesAvailable() == 2 * payload.size(), 10000);
    QCOMPARE(a.traceEvents().size(), 10);
    a.stopTrace();
    QVERIFY(!a.isTracing());
    const qsizetype kept = a.traceEvents().size();
    a.write("more");
    QTRY_COMPARE_WITH_TIMEOUT(b.bytesAvailable(), qint64(2 * payload.size() + 4), 10000);
    QCOMPARE(a.traceEvents().size(), kept);
}

QTEST_MAIN(tst_QKcpSocket)
#include "tst_qkcpsocket.moc"
