// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Qt Test suite of QKcpMetricsServer: real KCP sessions on 127.0.0.1 and real HTTP requests to the exporter
// (a raw QTcpSocket client, so malformed requests can be sent too). Waits are condition-based and bounded.

#include <QKcpConfig>
#include <QKcpMetricsServer>
#include <QKcpServer>
#include <QKcpSocket>

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qprocess.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qset.h>
#include <QtCore/qstandardpaths.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <memory>
#include <vector>

namespace {

struct HttpReply {
    int status = 0;
    QHash<QByteArray, QByteArray> headers; // lower-case names
    QByteArray body;
    bool complete = false;
};

// Parses one HTTP/1.1 response from the front of `buffer`; removes it when complete.
bool takeResponse(QByteArray &buffer, HttpReply *out, bool head = false)
{
    const qsizetype end = buffer.indexOf("\r\n\r\n");
    if (end < 0)
        return false;
    const QList<QByteArray> lines = buffer.left(end).split('\n');
    HttpReply r;
    const QList<QByteArray> status = lines.value(0).trimmed().split(' ');
    r.status = status.value(1).toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const qsizetype colon = lines[i].indexOf(':');
        if (colon > 0)
            r.headers.insert(lines[i].left(colon).trimmed().toLower(), lines[i].mid(colon + 1).trimmed());
    }
    const qint64 length = head ? 0 : r.headers.value("content-length", "0").toLongLong();
    if (buffer.size() < end + 4 + length)
        return false;
    r.body = buffer.mid(end + 4, length);
    r.complete = true;
    buffer.remove(0, end + 4 + length);
    *out = r;
    return true;
}

// Sends raw request bytes on a fresh connection and reads `count` responses (bounded wait).
QList<HttpReply> rawExchange(quint16 port, const QByteArray &request, int count = 1, bool head = false)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    QList<HttpReply> replies;
    if (!QTest::qWaitFor([&] { return socket.state() == QAbstractSocket::ConnectedState; }, 5000))
        return replies;
    socket.write(request);
    QByteArray buffer;
    (void)QTest::qWaitFor(
        [&] {
            buffer += socket.readAll();
            HttpReply r;
            while (replies.size() < count && takeResponse(buffer, &r, head))
                replies.append(r);
            return replies.size() >= count || socket.state() == QAbstractSocket::UnconnectedState;
        },
        10000);
    return replies;
}

HttpReply request(quint16 port, const QByteArray &method, const QByteArray &path,
                  const QList<QByteArray> &headers = {})
{
    QByteArray req = method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const QByteArray &h : headers)
        req += h + "\r\n";
    if (method == "POST")
        req += "Content-Length: 0\r\n";
    req += "\r\n";
    const QList<HttpReply> r = rawExchange(port, req, 1, method == "HEAD");
    return r.value(0);
}

QJsonObject json(const HttpReply &r)
{
    return QJsonDocument::fromJson(r.body).object();
}

// A server with `clients` connected clients (all children of the returned holder).
struct Link {
    std::unique_ptr<QObject> holder = std::make_unique<QObject>();
    QKcpServer *server = nullptr;
    std::vector<QKcpSocket *> clients;
    std::vector<QKcpSocket *> accepted;
};

std::unique_ptr<Link> makeLink(int clients, bool echo = true)
{
    auto link = std::make_unique<Link>();
    link->server = new QKcpServer(QKcpConfig(QKcpConfig::Fast), link->holder.get());
    link->server->setMaxPendingConnections(clients + 8);
    if (!link->server->listen(QHostAddress::LocalHost, 0))
        return nullptr;
    Link *l = link.get();
    QObject::connect(l->server, &QKcpServer::newConnection, l->server, [l, echo] {
        while (QKcpSocket *s = l->server->nextPendingConnection()) {
            l->accepted.push_back(s);
            if (echo)
                QObject::connect(s, &QKcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
        }
    });
    for (int i = 0; i < clients; ++i) {
        auto *c = new QKcpSocket(QKcpConfig(QKcpConfig::Fast), link->holder.get());
        c->connectToHost(QHostAddress::LocalHost, l->server->serverPort());
        l->clients.push_back(c);
    }
    const bool ok = QTest::qWaitFor(
        [l, clients] {
            if (int(l->accepted.size()) < clients)
                return false;
            for (QKcpSocket *c : l->clients) {
                if (c->state() != QAbstractSocket::ConnectedState)
                    return false;
            }
            return true;
        },
        20000);
    return ok ? std::move(link) : nullptr;
}

// Sends `bytes` from client i and waits for the echo.
bool exchange(Link *l, int i, int bytes)
{
    QKcpSocket *c = l->clients[std::size_t(i)];
    c->write(QByteArray(bytes, 'x'));
    qint64 got = 0;
    return QTest::qWaitFor(
        [&] {
            got += c->readAll().size();
            return got >= bytes;
        },
        10000);
}

QSet<QString> labelValues(const QByteArray &text, const char *family, const char *label)
{
    QSet<QString> out;
    const QRegularExpression re(QStringLiteral("^%1\\{[^}]*%2=\"([^\"]*)\"").arg(QLatin1String(family), QLatin1String(label)),
                                QRegularExpression::MultilineOption);
    auto it = re.globalMatch(QString::fromUtf8(text));
    while (it.hasNext())
        out.insert(it.next().captured(1));
    return out;
}

double sampleValue(const QByteArray &text, const QString &lineStart)
{
    const QList<QByteArray> lines = text.split('\n');
    for (const QByteArray &l : lines) {
        if (l.startsWith(lineStart.toUtf8() + ' '))
            return l.mid(lineStart.toUtf8().size() + 1).toDouble();
    }
    return -1;
}

} // namespace

class tst_QKcpMetricsServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void listensOnLoopbackByDefault();
    void snapshotJsonShape();
    void metricsTextFormat();
    void metricsPassPromtool();
    void openMetricsFlavour();
    void bearerToken_data();
    void bearerToken();
    void topSessionsBounded();
    void traceEndpoints();
    void httpErrors_data();
    void httpErrors();
    void keepAliveAndPipelining();
    void countersSurviveSessionEnd();
    void watchedObjectDestroyed();
};

void tst_QKcpMetricsServer::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void tst_QKcpMetricsServer::listensOnLoopbackByDefault()
{
    QKcpMetricsServer metrics;
    QVERIFY(!metrics.isListening());
    QVERIFY(metrics.listen());
    QVERIFY(metrics.isListening());
    QCOMPARE(metrics.serverAddress(), QHostAddress(QHostAddress::LocalHost));
    QVERIFY(metrics.serverPort() != 0);
    const HttpReply r = request(metrics.serverPort(), "GET", "/");
    QCOMPARE(r.status, 200);
    QVERIFY(r.body.contains("/metrics"));
    metrics.close();
    QVERIFY(!metrics.isListening());

    // A port in use is reported, not ignored.
    QKcpMetricsServer first, second;
    QVERIFY(first.listen());
    QVERIFY(!second.listen(QHostAddress::LocalHost, first.serverPort()));
    QVERIFY(!second.errorString().isEmpty());
}

void tst_QKcpMetricsServer::snapshotJsonShape()
{
    auto link = makeLink(2);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.setSampleInterval(60000); // only the explicit sample() calls below take rate samples
    metrics.watch(link->server, QStringLiteral("echo"));
    metrics.watch(link->clients[0]);
    QVERIFY(metrics.listen());
    metrics.sample();
    QVERIFY(exchange(link.get(), 0, 200000));
    QTest::qWait(120); // a rate needs two samples at least 50 ms apart: this is the interval, not a sync point
    metrics.sample();

    const HttpReply r = request(metrics.serverPort(), "GET", "/api/v1/snapshot");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.headers.value("content-type"), QByteArray("application/json"));
    const QJsonObject root = json(r);
    QCOMPARE(root.value(QLatin1String("format")).toInt(), 1);
    QVERIFY(root.contains(QLatin1String("time_ms")));
    QCOMPARE(root.value(QLatin1String("sample_interval_ms")).toInt(), 60000);
    const QJsonArray sources = root.value(QLatin1String("sources")).toArray();
    QCOMPARE(sources.size(), 2);
    QCOMPARE(sources[0].toObject().value(QLatin1String("name")).toString(), QStringLiteral("echo"));
    QCOMPARE(sources[0].toObject().value(QLatin1String("role")).toString(), QStringLiteral("server"));
    QCOMPARE(sources[1].toObject().value(QLatin1String("name")).toString(), QStringLiteral("client0"));
    QVERIFY(sources[0].toObject().value(QLatin1String("server")).toObject().contains(QLatin1String("handshakes")));

    const QJsonArray sessions = root.value(QLatin1String("sessions")).toArray();
    QCOMPARE(sessions.size(), 3); // two server-side sessions, one client
    QCOMPARE(root.value(QLatin1String("sessions_total")).toInt(), 3);
    QCOMPARE(root.value(QLatin1String("sessions_truncated")).toBool(), false);
    const QStringList fields = {
        QStringLiteral("id"), QStringLiteral("source"), QStringLiteral("role"), QStringLiteral("conversation"),
        QStringLiteral("peer"), QStringLiteral("local"), QStringLiteral("state"), QStringLiteral("age_ms"),
        QStringLiteral("last_receive_ms"), QStringLiteral("srtt_ms"), QStringLiteral("rttvar_ms"),
        QStringLiteral("rto_ms"), QStringLiteral("cwnd"), QStringLiteral("ssthresh"), QStringLiteral("in_flight"),
        QStringLiteral("send_queue"), QStringLiteral("send_buffer"), QStringLiteral("receive_queue"),
        QStringLiteral("receive_buffer"), QStringLiteral("bytes_sent"), QStringLiteral("bytes_received"),
        QStringLiteral("wire_bytes_sent"), QStringLiteral("wire_bytes_received"), QStringLiteral("datagrams_sent"),
        QStringLiteral("datagrams_received"), QStringLiteral("segments_sent"), QStringLiteral("retransmits"),
        QStringLiteral("drops"), QStringLiteral("rates"), QStringLiteral("retransmit_ratio"), QStringLiteral("tracing"),
        QStringLiteral("encrypted")};
    QSet<qint64> ids;
    bool sawClient = false;
    for (const QJsonValue &v : sessions) {
        const QJsonObject s = v.toObject();
        for (const QString &f : fields)
            QVERIFY2(s.contains(f), qPrintable(f));
        ids.insert(s.value(QLatin1String("id")).toInteger());
        QCOMPARE(s.value(QLatin1String("state")).toString(), QStringLiteral("connected"));
        QCOMPARE(s.value(QLatin1String("encrypted")).toBool(), false); // no key, no certificates
        QVERIFY(s.value(QLatin1String("peer")).toString().startsWith(QLatin1String("127.0.0.1:")));
        QVERIFY(s.value(QLatin1String("rto_ms")).toInteger() > 0);
        const QJsonObject rtx = s.value(QLatin1String("retransmits")).toObject();
        QVERIFY(rtx.contains(QLatin1String("timeout")) && rtx.contains(QLatin1String("fast")));
        const QJsonObject drops = s.value(QLatin1String("drops")).toObject();
        for (const char *reason : {"checksum", "wrong_conversation", "malformed", "unexpected"})
            QVERIFY(drops.contains(QLatin1String(reason)));
        if (s.value(QLatin1String("source")).toString() == QLatin1String("client0")) {
            sawClient = true;
            QCOMPARE(s.value(QLatin1String("role")).toString(), QStringLiteral("client"));
            QVERIFY(s.value(QLatin1String("bytes_sent")).toInteger() >= 200000);
            QVERIFY(s.value(QLatin1String("bytes_received")).toInteger() >= 200000);
            const QJsonObject rates = s.value(QLatin1String("rates")).toObject();
            QVERIFY2(rates.value(QLatin1String("bytes_sent")).toDouble() > 0, "the throughput comes from the sampler");
        }
    }
    QVERIFY(sawClient);
    QCOMPARE(ids.size(), 3);
    const QJsonObject totals = root.value(QLatin1String("totals")).toObject();
    QCOMPARE(totals.value(QLatin1String("sessions")).toInt(), 3);
    QVERIFY(totals.value(QLatin1String("bytes_sent")).toInteger() >= 400000); // both ends counted

    // ?limit= keeps the busiest.
    const QJsonObject limited = json(request(metrics.serverPort(), "GET", "/api/v1/snapshot?limit=1"));
    QCOMPARE(limited.value(QLatin1String("sessions")).toArray().size(), 1);
    QCOMPARE(limited.value(QLatin1String("sessions_truncated")).toBool(), true);
    QVERIFY(limited.value(QLatin1String("sessions")).toArray()[0].toObject().value(QLatin1String("bytes_sent")).toInteger() >= 200000);

    // The API without HTTP gives the same ids.
    QCOMPARE(qint64(metrics.sessionId(link->clients[0])) > 0, true);
    QVERIFY(ids.contains(qint64(metrics.sessionId(link->clients[0]))));
}

void tst_QKcpMetricsServer::metricsTextFormat()
{
    auto link = makeLink(2);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.watch(link->server, QStringLiteral("srv \"quoted\"\\"));
    QVERIFY(metrics.listen());
    QVERIFY(exchange(link.get(), 1, 5000));
    const HttpReply r = request(metrics.serverPort(), "GET", "/metrics");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.headers.value("content-type"), QByteArray("text/plain; version=0.0.4; charset=utf-8"));
    const QByteArray &t = r.body;
    QVERIFY(t.endsWith('\n'));
    QVERIFY(!t.contains("# EOF"));
    // Label values are escaped.
    QVERIFY2(t.contains("kcpnet_sessions{source=\"srv \\\"quoted\\\"\\\\\"} 2"), t.constData());
    // Every family has HELP and TYPE, every counter ends in _total, every sample belongs to an announced family.
    QSet<QByteArray> families;
    const QList<QByteArray> lines = t.split('\n');
    QByteArray pendingHelp;
    for (const QByteArray &line : lines) {
        if (line.isEmpty())
            continue;
        if (line.startsWith("# HELP ")) {
            pendingHelp = line.split(' ').value(2);
            continue;
        }
        if (line.startsWith("# TYPE ")) {
            const QList<QByteArray> parts = line.split(' ');
            QCOMPARE(parts.value(2), pendingHelp);
            if (parts.value(3) == "counter")
                QVERIFY2(parts.value(2).endsWith("_total"), line.constData());
            QVERIFY(!families.contains(parts.value(2)));
            families.insert(parts.value(2));
            continue;
        }
        QVERIFY2(!line.startsWith('#'), line.constData());
        const QByteArray name = line.left(line.indexOf(line.contains('{') ? '{' : ' '));
        QVERIFY2(families.contains(name), line.constData());
        QVERIFY(QRegularExpression(QStringLiteral("^[a-z_][a-z0-9_]*$")).match(QString::fromLatin1(name)).hasMatch());
    }
    for (const char *f : {"kcpnet_sessions", "kcpnet_bytes_sent_total", "kcpnet_retransmits_total",
                          "kcpnet_drops_total", "kcpnet_throughput_bytes_per_second", "kcpnet_server_handshakes_total",
                          "kcpnet_session_srtt_seconds", "kcpnet_session_rto_seconds",
                          "kcpnet_session_congestion_window_segments", "kcpnet_session_in_flight_segments"})
        QVERIFY2(families.contains(f), f);
    QVERIFY(t.contains("kind=\"timeout\""));
    QVERIFY(t.contains("reason=\"wrong_conversation\""));
    // The same text without HTTP, and HEAD has the headers only.
    QVERIFY(metrics.metricsText().contains("kcpnet_bytes_sent_total"));
    const HttpReply head = request(metrics.serverPort(), "HEAD", "/metrics");
    QCOMPARE(head.status, 200);
    QVERIFY(head.body.isEmpty());
    QVERIFY(head.headers.value("content-length").toInt() > 0);
}

void tst_QKcpMetricsServer::metricsPassPromtool()
{
    const QString promtool = QStandardPaths::findExecutable(QStringLiteral("promtool"));
    if (promtool.isEmpty())
        QSKIP("promtool not installed (Debian package prometheus; scripts/deps.sh installs it)");
    auto link = makeLink(3);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.watch(link->server);
    metrics.watch(link->clients[0]);
    QVERIFY(metrics.listen());
    metrics.sample();
    QVERIFY(exchange(link.get(), 0, 20000));
    metrics.sample();
    const HttpReply r = request(metrics.serverPort(), "GET", "/metrics");
    QCOMPARE(r.status, 200);
    QProcess p;
    p.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
    QVERIFY(p.waitForStarted(10000));
    p.write(r.body);
    p.closeWriteChannel();
    QVERIFY(p.waitForFinished(30000));
    const QByteArray out = p.readAllStandardOutput() + p.readAllStandardError();
    QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, out.constData());
    QVERIFY2(out.trimmed().isEmpty(), out.constData()); // no lint complaint either
}

void tst_QKcpMetricsServer::openMetricsFlavour()
{
    auto link = makeLink(1);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.watch(link->server);
    QVERIFY(metrics.listen());
    const HttpReply r = request(metrics.serverPort(), "GET", "/metrics",
                                {"Accept: application/openmetrics-text; version=1.0.0,text/plain;q=0.5"});
    QCOMPARE(r.status, 200);
    QVERIFY(r.headers.value("content-type").startsWith("application/openmetrics-text; version=1.0.0"));
    QVERIFY(r.body.endsWith("# EOF\n"));
    // Counter families are announced without _total; their samples keep it.
    QVERIFY(r.body.contains("# TYPE kcpnet_bytes_sent counter\n"));
    QVERIFY(r.body.contains("\nkcpnet_bytes_sent_total{"));
    QVERIFY(r.body.contains("# TYPE kcpnet_sessions gauge\n"));
}

void tst_QKcpMetricsServer::bearerToken_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<int>("status");
    QTest::newRow("none") << QByteArray() << 401;
    QTest::newRow("wrong") << QByteArray("Authorization: Bearer s3cret-but-wrong") << 401;
    QTest::newRow("prefix") << QByteArray("Authorization: Bearer s3cre") << 401;
    QTest::newRow("basic") << QByteArray("Authorization: Basic czNjcmV0") << 401;
    QTest::newRow("right") << QByteArray("Authorization: Bearer s3cret") << 200;
    QTest::newRow("case-insensitive scheme") << QByteArray("authorization: bearer s3cret") << 200;
}

void tst_QKcpMetricsServer::bearerToken()
{
    QFETCH(QByteArray, header);
    QFETCH(int, status);
    QKcpMetricsServer metrics;
    metrics.setBearerToken("s3cret");
    QCOMPARE(metrics.bearerToken(), QByteArray("s3cret"));
    QVERIFY(metrics.listen());
    const QList<QByteArray> headers = header.isEmpty() ? QList<QByteArray>() : QList<QByteArray>{header};
    for (const char *path : {"/metrics", "/api/v1/snapshot", "/api/v1/trace?session=1", "/"}) {
        const HttpReply r = request(metrics.serverPort(), "GET", path, headers);
        // Past authentication, the trace of an unknown session is "not found".
        const bool trace = QByteArray(path).startsWith("/api/v1/trace");
        QCOMPARE(r.status, status == 200 && trace ? 404 : status);
        if (status == 401) {
            QVERIFY(r.headers.value("www-authenticate").startsWith("Bearer"));
            QVERIFY(!r.body.contains("kcpnet_"));
        }
    }
}

void tst_QKcpMetricsServer::topSessionsBounded()
{
    constexpr int kSessions = 500;
    auto link = makeLink(kSessions);
    QVERIFY2(link, "500 clients could not connect");
    QKcpMetricsServer metrics;
    metrics.setMaxLabeledSessions(20);
    metrics.setMaxSnapshotSessions(100);
    metrics.setSampleInterval(60000); // rate samples from the explicit sample() calls only
    metrics.watch(link->server);
    QVERIFY(metrics.listen());
    metrics.sample();
    // Three sessions carry traffic: they must be among the labeled ones.
    const int busy[] = {17, 250, 433};
    for (int i : busy)
        QVERIFY(exchange(link.get(), i, 50000));
    QTest::qWait(60); // rate samples must be at least 50 ms apart: an interval, not a synchronisation
    metrics.sample();

    const HttpReply r = request(metrics.serverPort(), "GET", "/metrics");
    QCOMPARE(r.status, 200);
    const QSet<QString> labeled = labelValues(r.body, "kcpnet_session_srtt_seconds", "session");
    QCOMPARE(labeled.size(), 20);
    QCOMPARE(labelValues(r.body, "kcpnet_session_bytes_sent_total", "session"), labeled);
    QCOMPARE(sampleValue(r.body, QStringLiteral("kcpnet_sessions_unlabeled")), double(kSessions - 20));
    QCOMPARE(sampleValue(r.body, QStringLiteral("kcpnet_sessions{source=\"server0\"}")), double(kSessions));
    // The scrape stays small: totals + 20 sessions, not 500.
    QVERIFY2(r.body.size() < 64 * 1024, QByteArray::number(r.body.size()).constData());
    // The busy server-side sessions (peers = the busy clients) are labeled.
    const QSet<QString> peers = labelValues(r.body, "kcpnet_session_srtt_seconds", "peer");
    for (int i : busy) {
        const QString peer = QStringLiteral("127.0.0.1:%1").arg(link->clients[std::size_t(i)]->localPort());
        QVERIFY2(peers.contains(peer), qPrintable(peer));
    }
    // The JSON snapshot is bounded too.
    const QJsonObject snap = json(request(metrics.serverPort(), "GET", "/api/v1/snapshot"));
    QCOMPARE(snap.value(QLatin1String("sessions")).toArray().size(), 100);
    QCOMPARE(snap.value(QLatin1String("sessions_total")).toInt(), kSessions);
    QVERIFY(snap.value(QLatin1String("sessions_truncated")).toBool());
    // Totals only.
    metrics.setMaxLabeledSessions(0);
    const QByteArray t = metrics.metricsText();
    QVERIFY(!t.contains("kcpnet_session_srtt_seconds"));
    QCOMPARE(sampleValue(t, QStringLiteral("kcpnet_sessions_unlabeled")), double(kSessions));
}

void tst_QKcpMetricsServer::traceEndpoints()
{
    auto link = makeLink(1);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.watch(link->clients[0], QStringLiteral("client"));
    QVERIFY(metrics.listen());
    const quint16 port = metrics.serverPort();
    const quint64 id = metrics.sessionId(link->clients[0]);
    QVERIFY(id > 0);
    const QByteArray q = "?session=" + QByteArray::number(id);

    QCOMPARE(request(port, "GET", "/api/v1/trace/start" + q).status, 405);
    QCOMPARE(request(port, "POST", "/api/v1/trace/start").status, 400);
    QCOMPARE(request(port, "POST", "/api/v1/trace/start?session=999999").status, 404);
    const HttpReply started = request(port, "POST", "/api/v1/trace/start" + q + "&max=5000");
    QCOMPARE(started.status, 200);
    QCOMPARE(json(started).value(QLatin1String("tracing")).toBool(), true);
    QVERIFY(link->clients[0]->isTracing());
    QVERIFY(exchange(link.get(), 0, 30000));
    const HttpReply stopped = request(port, "POST", "/api/v1/trace/stop" + q);
    QCOMPARE(stopped.status, 200);
    QVERIFY(json(stopped).value(QLatin1String("events")).toInt() > 0);
    QVERIFY(!link->clients[0]->isTracing());

    const HttpReply trace = request(port, "GET", "/api/v1/trace" + q);
    QCOMPARE(trace.status, 200);
    QCOMPARE(trace.headers.value("content-type"), QByteArray("application/x-ndjson"));
    const QList<QByteArray> lines = trace.body.trimmed().split('\n');
    QVERIFY(lines.size() > 10);
    QVERIFY(lines.size() <= 5001);
    const QJsonObject header = QJsonDocument::fromJson(lines[0]).object();
    QCOMPARE(header.value(QLatin1String("kcpnet_trace")).toInt(), 1);
    QCOMPARE(header.value(QLatin1String("session")).toInteger(), qint64(id));
    QCOMPARE(header.value(QLatin1String("role")).toString(), QStringLiteral("client"));
    QCOMPARE(header.value(QLatin1String("events")).toInt(), lines.size() - 1);
    QSet<QString> kinds;
    qint64 lastT = -1;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QJsonObject e = QJsonDocument::fromJson(lines[i]).object();
        QVERIFY2(e.contains(QLatin1String("t")) && e.contains(QLatin1String("ev")), lines[i].constData());
        QVERIFY(e.value(QLatin1String("t")).toInteger() >= lastT);
        lastT = e.value(QLatin1String("t")).toInteger();
        kinds.insert(e.value(QLatin1String("ev")).toString());
    }
    QVERIFY(kinds.contains(QStringLiteral("sent")));
    QVERIFY(kinds.contains(QStringLiteral("acked")));
    QVERIFY(kinds.contains(QStringLiteral("received")));
    // limit and since bound the answer.
    const HttpReply limited = request(port, "GET", "/api/v1/trace" + q + "&limit=3");
    QCOMPARE(limited.body.trimmed().split('\n').size(), 4);
    const HttpReply later = request(port, "GET", "/api/v1/trace" + q + "&since=" + QByteArray::number(lastT));
    QCOMPARE(later.body.trimmed().split('\n').size(), 1); // the header only
    // POST on the fetch endpoint is refused.
    QCOMPARE(request(port, "POST", "/api/v1/trace" + q).status, 405);
}

void tst_QKcpMetricsServer::httpErrors_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<int>("status");
    QTest::newRow("unknown path") << QByteArray("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n") << 404;
    QTest::newRow("bad request line") << QByteArray("GARBAGE\r\n\r\n") << 400;
    QTest::newRow("not http") << QByteArray("GET / SPDY/3\r\n\r\n") << 400;
    QTest::newRow("method") << QByteArray("DELETE /metrics HTTP/1.1\r\n\r\n") << 405;
    QTest::newRow("chunked") << QByteArray("POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") << 501;
    QTest::newRow("body too large") << QByteArray("POST /metrics HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n") << 413;
    QTest::newRow("header too large") << (QByteArray("GET / HTTP/1.1\r\nX-Pad: ") + QByteArray(20000, 'a') + "\r\n\r\n") << 431;
}

void tst_QKcpMetricsServer::httpErrors()
{
    QFETCH(QByteArray, raw);
    QFETCH(int, status);
    QKcpMetricsServer metrics;
    QSignalSpy served(&metrics, &QKcpMetricsServer::requestServed);
    QVERIFY(metrics.listen());
    const QList<HttpReply> r = rawExchange(metrics.serverPort(), raw);
    QCOMPARE(r.size(), 1);
    QCOMPARE(r[0].status, status);
    if (status == 404 || status == 405)
        QCOMPARE(served.size(), 1);
    // The server still answers afterwards.
    QCOMPARE(request(metrics.serverPort(), "GET", "/").status, 200);
}

void tst_QKcpMetricsServer::keepAliveAndPipelining()
{
    QKcpMetricsServer metrics;
    QVERIFY(metrics.listen());
    // Three pipelined requests on one connection, the last one closing it.
    const QByteArray req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /api/v1/snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const QList<HttpReply> r = rawExchange(metrics.serverPort(), req, 3);
    QCOMPARE(r.size(), 3);
    QCOMPARE(r[0].status, 200);
    QCOMPARE(r[0].headers.value("connection"), QByteArray("keep-alive"));
    QVERIFY(r[1].body.contains("kcpnet_metrics_scrapes_total"));
    QCOMPARE(r[2].headers.value("connection"), QByteArray("close"));
    QVERIFY(QJsonDocument::fromJson(r[2].body).isObject());
    // HTTP/1.0 closes by default.
    const QList<HttpReply> old = rawExchange(metrics.serverPort(), "GET / HTTP/1.0\r\n\r\n");
    QCOMPARE(old.value(0).headers.value("connection"), QByteArray("close"));
}

void tst_QKcpMetricsServer::countersSurviveSessionEnd()
{
    auto link = makeLink(2);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.watch(link->server);
    QVERIFY(exchange(link.get(), 0, 40000));
    QVERIFY(exchange(link.get(), 1, 10000));
    const QJsonObject before = metrics.snapshot().value(QLatin1String("totals")).toObject();
    QCOMPARE(before.value(QLatin1String("sessions")).toInt(), 2);
    const qint64 received = before.value(QLatin1String("bytes_received")).toInteger();
    QVERIFY(received >= 50000);
    // The busy client leaves: its server-side session ends, its counters stay in the totals.
    link->clients[0]->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(link->server->sessions().size(), 1, 10000);
    const QJsonObject after = metrics.snapshot().value(QLatin1String("totals")).toObject();
    QCOMPARE(after.value(QLatin1String("sessions")).toInt(), 1);
    QVERIFY(after.value(QLatin1String("bytes_received")).toInteger() >= received);
    QVERIFY(sampleValue(metrics.metricsText(), QStringLiteral("kcpnet_bytes_received_total{source=\"server0\"}"))
            >= double(received));
}

void tst_QKcpMetricsServer::watchedObjectDestroyed()
{
    auto link = makeLink(1);
    QVERIFY(link);
    QKcpMetricsServer metrics;
    metrics.watch(link->clients[0], QStringLiteral("c"));
    metrics.watch(link->clients[0], QStringLiteral("again")); // a no-op
    QVERIFY(exchange(link.get(), 0, 1000));
    QCOMPARE(metrics.snapshot().value(QLatin1String("sources")).toArray().size(), 1);
    delete link->clients[0];
    link->clients.clear();
    const QJsonObject snap = metrics.snapshot();
    QCOMPARE(snap.value(QLatin1String("sessions")).toArray().size(), 0);
    QVERIFY(snap.value(QLatin1String("totals")).toObject().value(QLatin1String("bytes_sent")).toInteger() >= 1000);
    QCOMPARE(snap.value(QLatin1String("sources")).toArray()[0].toObject().value(QLatin1String("active")).toBool(), false);
    QVERIFY(metrics.metricsText().contains("kcpnet_sessions{source=\"c\"} 0"));
    // unwatch() of a live server retires its sessions too.
    metrics.watch(link->server, QStringLiteral("s"));
    QCOMPARE(metrics.snapshot().value(QLatin1String("sessions")).toArray().size(), 1);
    metrics.unwatch(link->server);
    QCOMPARE(metrics.snapshot().value(QLatin1String("sessions")).toArray().size(), 0);
}

QTEST_MAIN(tst_QKcpMetricsServer)
#include "tst_qkcpmetricsserver.moc"
