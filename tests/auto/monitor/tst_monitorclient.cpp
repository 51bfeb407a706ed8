// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The monitor's HTTP client against a real QKcpMetricsServer in the same process (real KCP sessions on
// 127.0.0.1): polling, the recorder fed from it, bearer tokens, unreachable endpoints, the trace round trip.

#include "metricsclient.h"
#include "recorder.h"
#include "sessionmodel.h"
#include "tracepanel.h"

#include <QKcpMetricsServer>
#include <QKcpServer>
#include <QKcpSocket>

#include <QtNetwork/qtcpserver.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <memory>

using namespace kcpmon;

namespace {
struct Pair {
    std::unique_ptr<QKcpServer> server = std::make_unique<QKcpServer>();
    std::unique_ptr<QKcpSocket> client = std::make_unique<QKcpSocket>();
    QKcpMetricsServer metrics;

    bool start()
    {
        if (!server->listen(QHostAddress::LocalHost, 0))
            return false;
        QObject::connect(server.get(), &QKcpServer::newConnection, server.get(), [this] {
            while (QKcpSocket *s = server->nextPendingConnection())
                QObject::connect(s, &QKcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
        });
        client->connectToHost(QHostAddress::LocalHost, server->serverPort());
        metrics.watch(server.get(), QStringLiteral("echo"));
        metrics.watch(client.get(), QStringLiteral("client"));
        return metrics.listen()
            && QTest::qWaitFor([this] { return client->state() == QAbstractSocket::ConnectedState; }, 10000);
    }
    QString url() const { return QStringLiteral("127.0.0.1:%1").arg(metrics.serverPort()); }
};
} // namespace

class tst_MonitorClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void normalizeUrl_data();
    void normalizeUrl();
    void pollsRealExporter();
    void bearerToken();
    void unreachable();
    void traceRoundTrip();
};

void tst_MonitorClient::normalizeUrl_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    QTest::newRow("host:port") << QStringLiteral("127.0.0.1:9464") << QStringLiteral("http://127.0.0.1:9464");
    QTest::newRow("url") << QStringLiteral("http://localhost:9000/") << QStringLiteral("http://localhost:9000");
    QTest::newRow("pasted path") << QStringLiteral("http://10.0.0.1:9464/metrics") << QStringLiteral("http://10.0.0.1:9464");
    QTest::newRow("no port") << QStringLiteral("example.invalid") << QStringLiteral("http://example.invalid:80");
    QTest::newRow("ipv6") << QStringLiteral("http://[::1]:9464") << QStringLiteral("http://[::1]:9464");
    QTest::newRow("spaces") << QStringLiteral("  127.0.0.1:1  ") << QStringLiteral("http://127.0.0.1:1");
    QTest::newRow("empty") << QString() << QString();
    QTest::newRow("https") << QStringLiteral("https://host:1") << QString();
    QTest::newRow("garbage") << QStringLiteral("http://") << QString();
}

void tst_MonitorClient::normalizeUrl()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const QUrl u = MetricsClient::normalizeUrl(text);
    QCOMPARE(u.isValid() ? u.toString() : QString(), expected);
}

void tst_MonitorClient::pollsRealExporter()
{
    Pair pair;
    QVERIFY(pair.start());
    MetricsClient client(MetricsClient::normalizeUrl(pair.url()));
    client.setPollInterval(50);
    QCOMPARE(client.pollInterval(), 50);
    Recorder recorder;
    SessionModel model(&recorder);
    const int ep = recorder.addEndpoint(client.displayName());
    connect(&client, &MetricsClient::snapshotReceived, &recorder,
            [&](const Snapshot &s) { recorder.ingest(ep, s); });
    QSignalSpy snapshots(&client, &MetricsClient::snapshotReceived);
    QSignalSpy status(&client, &MetricsClient::statusChanged);
    client.start();
    QVERIFY(client.isRunning());
    QTRY_VERIFY_WITH_TIMEOUT(snapshots.size() >= 3, 10000);
    QCOMPARE(client.status(), MetricsClient::Status::Online);
    QVERIFY(status.size() >= 2); // Connecting, Online
    const Snapshot &last = client.lastSnapshot();
    QVERIFY(last.valid);
    QCOMPARE(last.sessions.size(), 2);
    QCOMPARE(model.rowCount(), 2);

    // Traffic shows up as counters and rates in the recorder.
    pair.client->write(QByteArray(300000, 'm'));
    QTRY_VERIFY_WITH_TIMEOUT(recorder.track(Recorder::makeKey(ep, pair.metrics.sessionId(pair.client.get())))
                                     ->info.counters.bytesReceived >= 300000,
                             10000);
    QTRY_VERIFY_WITH_TIMEOUT(recorder.totalRates().out > 0, 5000);
    QVERIFY(recorder.totals().size() > 0);

    // A session that ends disappears from the table.
    pair.client->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1, 10000); // the client socket stays watched, the server one ends
    client.stop();
    QVERIFY(!client.isRunning());
    QCOMPARE(client.status(), MetricsClient::Status::Idle);
    QVERIFY(client.snapshotsReceived() >= 3);
}

void tst_MonitorClient::bearerToken()
{
    Pair pair;
    pair.metrics.setBearerToken("t0ken");
    QVERIFY(pair.start());
    MetricsClient wrong(MetricsClient::normalizeUrl(pair.url()));
    wrong.setBearerToken("nope");
    wrong.start();
    QTRY_COMPARE_WITH_TIMEOUT(wrong.status(), MetricsClient::Status::Unauthorized, 10000);
    QVERIFY(!wrong.errorString().isEmpty());
    QCOMPARE(wrong.snapshotsReceived(), quint64(0));

    MetricsClient right(MetricsClient::normalizeUrl(pair.url()));
    right.setBearerToken("t0ken");
    QSignalSpy snapshots(&right, &MetricsClient::snapshotReceived);
    right.start();
    QTRY_VERIFY_WITH_TIMEOUT(snapshots.size() >= 1, 10000);
    QCOMPARE(right.status(), MetricsClient::Status::Online);
}

void tst_MonitorClient::unreachable()
{
    // A port that was free a moment ago: connection refused.
    quint16 port = 0;
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    MetricsClient client(MetricsClient::normalizeUrl(QStringLiteral("127.0.0.1:%1").arg(port)));
    client.start();
    QTRY_COMPARE_WITH_TIMEOUT(client.status(), MetricsClient::Status::Error, 10000);

    // Something that answers HTTP but is not an exporter.
    QTcpServer fake;
    QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
    connect(&fake, &QTcpServer::newConnection, &fake, [&fake] {
        while (QTcpSocket *s = fake.nextPendingConnection()) {
            connect(s, &QTcpSocket::readyRead, s, [s] {
                s->readAll();
                s->write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello");
            });
        }
    });
    MetricsClient other(MetricsClient::normalizeUrl(QStringLiteral("127.0.0.1:%1").arg(fake.serverPort())));
    other.start();
    QTRY_COMPARE_WITH_TIMEOUT(other.status(), MetricsClient::Status::Error, 10000);
    QVERIFY(other.errorString().contains(QLatin1String("snapshot")));
}

void tst_MonitorClient::traceRoundTrip()
{
    Pair pair;
    QVERIFY(pair.start());
    MetricsClient client(MetricsClient::normalizeUrl(pair.url()));
    const quint64 id = pair.metrics.sessionId(pair.client.get());
    QVERIFY(id);
    TracePanel panel;
    panel.setSession(&client, id, QStringLiteral("test"));
    QSignalSpy loaded(&panel, &TracePanel::traceLoaded);
    panel.startTrace();
    QTRY_VERIFY_WITH_TIMEOUT(pair.client->isTracing(), 5000);
    pair.client->write(QByteArray(100000, 't'));
    qint64 echoed = 0;
    QTRY_VERIFY_WITH_TIMEOUT((echoed += pair.client->readAll().size()) >= 100000, 10000);
    panel.stopAndLoad();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.size(), 1, 10000);
    const Trace &t = panel.trace();
    QCOMPARE(t.header.value(QLatin1String("session")).toInteger(), qint64(id));
    QVERIFY(t.count(QStringLiteral("sent")) > 10);
    QVERIFY(t.count(QStringLiteral("acked")) > 10);
    QVERIFY(t.count(QStringLiteral("received")) > 10);
    QVERIFY(!pair.client->isTracing());

    // The raw JSON lines can be saved and read back.
    const QString path = QDir::temp().filePath(QStringLiteral("kcpnet-monitor-test-trace.jsonl"));
    QVERIFY(panel.exportJsonLines(path));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const Trace again = Trace::parse(f.readAll());
    QCOMPARE(again.events.size(), t.events.size());
    f.remove();

    // Errors come back as messages, not crashes.
    bool done = false, ok = true;
    client.fetchTrace(987654, [&](bool success, const QByteArray &) {
        done = true;
        ok = success;
    });
    QTRY_VERIFY_WITH_TIMEOUT(done, 5000);
    QVERIFY(!ok);
}

QTEST_MAIN(tst_MonitorClient)
#include "tst_monitorclient.moc"
