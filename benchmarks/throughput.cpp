// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// benchmarks/throughput: one session over loopback, echo, at equal KCP settings for kcpnet and kcp-go:
// nodelay(1, 10, 2, nc), windows 512/512, MTU 1400, stream mode. The echo server runs in its own process in both
// cases (kcpnet: this program with --server; kcp-go: the Go peer from tests/interop). The client sends N MB and
// reads the echo; MB/s each way = N / wall time. Also a ping-pong of 1 KB messages for latency.
// Prints a table and the ratio kcpnet / kcp-go (target: >= 1.5). Then the same kcpnet run with pre-shared-key
// encryption (AES-256-GCM, ChaCha20-Poly1305) and the ratio encrypted / plain (target: >= 0.85), and in
// certificate mode (DTLS 1.2, with a certificate generated at start; the client does not verify it).
//
// The kcpnet configurations run interleaved, --repeat times (default 3), and each row shows its median run.
//
// Usage: throughput [--mb N] [--repeat N] [--only plain,aes,chacha,dtls] [--kcpgo PATH] [--no-kcpgo]
//                   [--no-encrypted]

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QKcpServer>
#include <QKcpSocket>
#include <QProcess>
#include <QTextStream>
#include <QTimer>
#if QT_CONFIG(dtls) && defined(KCPNET_BENCH_DTLS)
#include "kcptestcerts.h"
#include <QSslConfiguration>
#include <QSslKey>
#define KCPNET_BENCH_HAVE_DTLS 1
#endif

#include <algorithm>
#include <vector>

namespace {

const QString kDtls = QStringLiteral("dtls");

// cipher: empty = no encryption, "aes" or "chacha" (pre-shared-key mode), or "dtls" (certificate mode).
QKcpConfig benchConfig(const QString &cipher = QString())
{
    QKcpConfig c(QKcpConfig::Turbo); // nodelay, 10 ms, resend 2, no congestion window
    c.setSendWindow(512);
    c.setReceiveWindow(512);
    c.setMtu(1400);
    if (!cipher.isEmpty() && cipher != kDtls) {
        c.setPreSharedKey(QByteArray("kcpnet benchmark key, 32 bytes!!"));
        c.setCipher(cipher == QLatin1String("chacha") ? QKcpConfig::ChaCha20Poly1305 : QKcpConfig::Aes256Gcm);
    }
    return c;
}

int runServer(const QString &cipher)
{
    QTextStream out(stdout);
    QKcpServer server(benchConfig(cipher));
#ifdef KCPNET_BENCH_HAVE_DTLS
    if (cipher == kDtls) {
        QSslConfiguration ssl = QSslConfiguration::defaultDtlsConfiguration();
        ssl.setLocalCertificate(kcpTestPki().serverCert);
        ssl.setPrivateKey(kcpTestPki().serverKey);
        server.setSslConfiguration(ssl);
    }
#endif
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        out << "ERROR " << server.errorString() << Qt::endl;
        return 1;
    }
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&server] {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            QObject::connect(s, &QKcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
            QObject::connect(s, &QKcpSocket::disconnected, s, [] { QCoreApplication::quit(); });
        }
    });
    out << "PORT " << server.serverPort() << Qt::endl;
    QTimer::singleShot(120000, qApp, &QCoreApplication::quit); // bounded
    return QCoreApplication::exec();
}

struct Result {
    double connectMs = -1; // connectToHost() -> connected()
    double seconds = 0;
    double mbEachWay = 0;
    double pingP50 = 0;
    double pingP99 = 0;
    bool ok = false;
    QString note;
};

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

// Starts `program args`, waits for a line starting with `marker`, returns the rest of it.
QByteArray startAndWait(QProcess &p, const QString &program, const QStringList &args, const QByteArray &marker)
{
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(program, args);
    if (!p.waitForStarted(10000))
        return QByteArray();
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 15000) {
        while (p.canReadLine()) {
            const QByteArray line = p.readLine().trimmed();
            if (line.startsWith(marker))
                return line.mid(marker.size()).trimmed();
        }
        if (!p.waitForReadyRead(1000) && p.state() != QProcess::Running)
            break;
    }
    return QByteArray();
}

Result runKcpnet(qint64 bytes, const QString &cipher = QString())
{
    Result r;
    QProcess server;
    const QByteArray port = startAndWait(server, QCoreApplication::applicationFilePath(),
                                         {QStringLiteral("--server"), QStringLiteral("--cipher"), cipher},
                                         "PORT");
    if (port.isEmpty()) {
        r.note = QStringLiteral("server did not start");
        return r;
    }
    QKcpSocket socket(benchConfig(cipher));
    QEventLoop loop;
    QTimer guard;
    guard.setSingleShot(true);
    QObject::connect(&guard, &QTimer::timeout, &loop, &QEventLoop::quit);
    guard.start(120000);

    // Bulk echo
    QByteArray chunk(64 * 1024, Qt::Uninitialized);
    for (int i = 0; i < chunk.size(); ++i)
        chunk[i] = char(i * 31 + 7);
    qint64 sent = 0;
    qint64 received = 0;
    QElapsedTimer clock;
    auto pump = [&] {
        while (sent < bytes && socket.bytesToWrite() < 2 * 1024 * 1024) {
            const qint64 n = std::min<qint64>(chunk.size(), bytes - sent);
            socket.write(chunk.constData(), n);
            sent += n;
        }
    };
    QElapsedTimer connectClock;
    QObject::connect(&socket, &QKcpSocket::connected, &loop, [&] {
        r.connectMs = connectClock.nsecsElapsed() / 1e6;
        clock.start();
        pump();
    });
    QObject::connect(&socket, &QKcpSocket::bytesWritten, &loop, pump);
    bool bulkDone = false;
    std::vector<double> pings;
    QElapsedTimer pingClock;
    auto sendPing = [&] {
        QByteArray m(1024, 'p');
        socket.write(m);
        pingClock.start();
    };
    qint64 pingBytes = 0;
    QObject::connect(&socket, &QKcpSocket::readyRead, &loop, [&] {
        const qint64 n = socket.readAll().size();
        if (!bulkDone) {
            received += n;
            if (received >= bytes) {
                r.seconds = clock.nsecsElapsed() / 1e9;
                bulkDone = true;
                sendPing();
            }
            return;
        }
        pingBytes += n;
        if (pingBytes >= 1024) {
            pingBytes -= 1024;
            pings.push_back(pingClock.nsecsElapsed() / 1e6);
            if (pings.size() < 1000)
                sendPing();
            else
                loop.quit();
        }
    });
    QObject::connect(&socket, &QKcpSocket::errorOccurred, &loop, [&] {
        r.note = socket.errorString();
        loop.quit();
    });
    connectClock.start();
#ifdef KCPNET_BENCH_HAVE_DTLS
    if (cipher == kDtls) {
        QSslConfiguration ssl = QSslConfiguration::defaultDtlsConfiguration();
        ssl.setPeerVerifyMode(QSslSocket::VerifyNone); // the server's certificate is made up at its start
        socket.setSslConfiguration(ssl);
        socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), static_cast<quint16>(port.toUInt()));
    } else
#endif
    socket.connectToHost(QHostAddress::LocalHost, static_cast<quint16>(port.toUInt()));
    loop.exec();
    r.ok = bulkDone && pings.size() >= 1000;
    r.mbEachWay = bytes / 1e6;
    r.pingP50 = percentile(pings, 0.5);
    r.pingP99 = percentile(pings, 0.99);
    socket.disconnectFromHost();
    socket.waitForDisconnected(3000);
    server.waitForFinished(3000);
    if (server.state() != QProcess::NotRunning)
        server.kill();
    return r;
}

Result runKcpGo(const QString &peer, qint64 bytes)
{
    Result r;
    const QStringList common = {QStringLiteral("--mode"), QStringLiteral("stream"), QStringLiteral("--sndwnd"),
                                QStringLiteral("512"), QStringLiteral("--rcvwnd"), QStringLiteral("512"),
                                QStringLiteral("--nodelay"), QStringLiteral("1"), QStringLiteral("--interval"),
                                QStringLiteral("10"), QStringLiteral("--resend"), QStringLiteral("2"),
                                QStringLiteral("--nc"), QStringLiteral("1"), QStringLiteral("--mtu"),
                                QStringLiteral("1400"), QStringLiteral("--timeout"), QStringLiteral("120s")};
    QProcess server;
    const QByteArray listening = startAndWait(
        server, peer, QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                  QStringLiteral("--role"), QStringLiteral("echo")} + common,
        "LISTENING");
    if (listening.isEmpty()) {
        r.note = QStringLiteral("kcp-go server did not start");
        return r;
    }
    const QByteArray port = listening.split(' ').value(0);
    QProcess client;
    const QByteArray session = startAndWait(
        client, peer,
        QStringList{QStringLiteral("dial"), QStringLiteral("--connect"), QStringLiteral("127.0.0.1:") + QString::fromLatin1(port),
                    QStringLiteral("--role"), QStringLiteral("both"), QStringLiteral("--bytes"), QString::number(bytes),
                    QStringLiteral("--send-seed"), QStringLiteral("7"), QStringLiteral("--recv-seed"), QStringLiteral("7"),
                    QStringLiteral("--stdin-control=false"), QStringLiteral("--linger"), QStringLiteral("10ms")}
            + common,
        "SESSION");
    // "conv=<n> ok seconds=<s>"
    const int at = session.indexOf("seconds=");
    if (at >= 0 && session.contains(" ok ")) {
        r.seconds = session.mid(at + 8).toDouble();
        r.mbEachWay = bytes / 1e6;
        r.ok = r.seconds > 0;
    } else {
        r.note = QStringLiteral("kcp-go run failed: ") + QString::fromLatin1(session);
    }
    client.waitForFinished(5000);
    server.closeWriteChannel();
    server.kill();
    server.waitForFinished(5000);
    return r;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    QCommandLineOption mbOpt(QStringLiteral("mb"), QStringLiteral("MB each way (default 100)."), QStringLiteral("n"),
                             QStringLiteral("100"));
    QCommandLineOption kcpgoOpt(QStringLiteral("kcpgo"), QStringLiteral("Path of the kcp-go peer."),
                                QStringLiteral("path"));
    QCommandLineOption noKcpgoOpt(QStringLiteral("no-kcpgo"), QStringLiteral("Skip kcp-go."));
    QCommandLineOption noEncryptedOpt(QStringLiteral("no-encrypted"), QStringLiteral("Skip the encrypted rows."));
    QCommandLineOption serverOpt(QStringLiteral("server"), QStringLiteral("Internal: echo server."));
    QCommandLineOption cipherOpt(QStringLiteral("cipher"), QStringLiteral("Internal: the server's cipher."),
                                 QStringLiteral("name"));
    QCommandLineOption repeatOpt(QStringLiteral("repeat"),
                                 QStringLiteral("Runs per kcpnet configuration, interleaved; the median is shown "
                                                "(default 3)."),
                                 QStringLiteral("n"), QStringLiteral("3"));
    QCommandLineOption onlyOpt(QStringLiteral("only"),
                               QStringLiteral("Run only these kcpnet configurations: plain,aes,chacha,dtls."),
                               QStringLiteral("list"));
    parser.addOptions({mbOpt, kcpgoOpt, noKcpgoOpt, noEncryptedOpt, repeatOpt, onlyOpt, serverOpt, cipherOpt});
    parser.addHelpOption();
    parser.process(app);
    if (parser.isSet(serverOpt))
        return runServer(parser.value(cipherOpt));

    QTextStream out(stdout);
    const qint64 bytes = std::max<qint64>(1, parser.value(mbOpt).toLongLong()) * 1000000;
    const int repeat = std::clamp(parser.value(repeatOpt).toInt(), 1, 20);
    QString peer = parser.value(kcpgoOpt);
#ifdef KCPNET_KCPGO_PEER
    if (peer.isEmpty())
        peer = QStringLiteral(KCPNET_KCPGO_PEER);
#endif
    if (parser.isSet(noKcpgoOpt))
        peer.clear();

    out << "kcpnet throughput benchmark: one session, echo over 127.0.0.1, server in its own process, "
        << bytes / 1000000 << " MB each way, nodelay(1,10,2,nc) windows 512/512 MTU 1400 stream mode" << Qt::endl;
    out << "kcpnet rows: median of " << repeat << " runs, the configurations interleaved (so that load changes hit "
        << "all of them alike)" << Qt::endl
        << Qt::endl;
    out << QStringLiteral("%1 %2 %3 %4 %5 %6").arg(QStringLiteral("impl"), -8).arg(QStringLiteral("seconds"), 9)
               .arg(QStringLiteral("MB/s each way"), 14).arg(QStringLiteral("1KB p50 ms"), 11)
               .arg(QStringLiteral("1KB p99 ms"), 11).arg(QStringLiteral("connect ms"), 11)
        << Qt::endl;
    struct Row {
        QString label;
        QString cipher;
        std::vector<Result> runs;
    };
    QList<Row> rows = {{QStringLiteral("kcpnet"), QString(), {}}};
    if (!parser.isSet(noEncryptedOpt)) {
        rows.append({QStringLiteral("+aes-gcm"), QStringLiteral("aes"), {}});
        rows.append({QStringLiteral("+chacha"), QStringLiteral("chacha"), {}});
#ifdef KCPNET_BENCH_HAVE_DTLS
        rows.append({QStringLiteral("+dtls"), kDtls, {}});
#endif
    }
    if (parser.isSet(onlyOpt)) {
        // For profiling: only the named configurations (plain, aes, chacha, dtls).
        const QStringList wanted = parser.value(onlyOpt).split(QLatin1Char(','), Qt::SkipEmptyParts);
        rows.removeIf([&wanted](const Row &row) {
            return !wanted.contains(row.cipher.isEmpty() ? QStringLiteral("plain") : row.cipher);
        });
    }
    for (int i = 0; i < repeat; ++i) {
        for (Row &row : rows)
            row.runs.push_back(runKcpnet(bytes, row.cipher));
    }
    // The run with the median time stands for the row; a failed run fails the row.
    auto median = [](std::vector<Result> runs) {
        for (const Result &r : runs) {
            if (!r.ok)
                return r;
        }
        std::sort(runs.begin(), runs.end(), [](const Result &a, const Result &b) { return a.seconds < b.seconds; });
        return runs[runs.size() / 2];
    };
    bool allOk = true;
    Result ours;
    QStringList ratios;
    for (const Row &row : std::as_const(rows)) {
        const Result r = median(row.runs);
        allOk = allOk && r.ok;
        out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7").arg(row.label, -8).arg(r.seconds, 9, 'f', 3)
                   .arg(r.seconds > 0 ? r.mbEachWay / r.seconds : 0, 14, 'f', 1)
                   .arg(r.pingP50, 11, 'f', 3).arg(r.pingP99, 11, 'f', 3).arg(r.connectMs, 11, 'f', 3)
                   .arg(r.ok ? QString() : QStringLiteral(" FAILED ") + r.note)
            << Qt::endl;
        if (row.cipher.isEmpty()) {
            ours = r;
        } else if (r.ok && ours.ok) {
            const double ratio = ours.seconds / r.seconds;
            ratios << QStringLiteral("%1 %2x (target >= 0.85x: %3)")
                          .arg(row.label.mid(1))
                          .arg(ratio, 0, 'f', 2)
                          .arg(ratio >= 0.85 ? QStringLiteral("met") : QStringLiteral("not met"));
        }
    }
    for (const QString &r : std::as_const(ratios))
        out << QStringLiteral("ratio encrypted / plain throughput, ") << r << Qt::endl;
    if (peer.isEmpty()) {
        out << "(kcp-go comparison skipped: no peer)" << Qt::endl;
        return allOk ? 0 : 1;
    }
    const Result go = runKcpGo(peer, bytes);
    out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7").arg(QStringLiteral("kcp-go"), -8).arg(go.seconds, 9, 'f', 3)
               .arg(go.seconds > 0 ? go.mbEachWay / go.seconds : 0, 14, 'f', 1)
               .arg(QStringLiteral("-"), 11).arg(QStringLiteral("-"), 11).arg(QStringLiteral("-"), 11)
               .arg(go.ok ? QString() : QStringLiteral(" FAILED ") + go.note)
        << Qt::endl;
    if (ours.ok && go.ok) {
        const double ratio = go.seconds / ours.seconds;
        out << Qt::endl
            << QStringLiteral("ratio kcpnet / kcp-go throughput: %1x (target >= 1.5x: %2)")
                   .arg(ratio, 0, 'f', 2)
                   .arg(ratio >= 1.5 ? QStringLiteral("met") : QStringLiteral("not met"))
            << Qt::endl;
    }
    return allOk ? 0 : 1;
}
