// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// benchmarks/sessions: what idle sessions cost a QKcpServer.
// The program starts itself a second time as the server (so client work never counts against it), opens N client
// sessions to it over 127.0.0.1, lets them sit idle (keepalives only) and has the server measure, over a fixed
// window, its CPU time (getrusage) and its resident memory per session (RSS growth from before the first session).
// Prints a table and the ratios against the targets: idle CPU < 2 % of a core, memory < 8 KiB per session.
//
// Usage: sessions [--sessions N] [--idle S]

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QKcpServer>
#include <QKcpSocket>
#include <QProcess>
#include <QTextStream>
#include <QTimer>

#include <sys/resource.h>

#include <cstdio>
#include <vector>

namespace {

double cpuSeconds()
{
    rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

qint64 rssBytes()
{
    QFile f(QStringLiteral("/proc/self/statm"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = f.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLongLong() * 4096 : 0;
}

void raiseFileLimit()
{
    rlimit rl {};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// The server process: listens, reports its port, waits for `expected` sessions, settles, measures.
int runServer(int expected, int idleSeconds)
{
    QTextStream out(stdout);
    const qint64 rss0 = rssBytes();
    QKcpServer server;
    server.setMaxPendingConnections(expected + 16);
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        out << "ERROR listen " << server.errorString() << Qt::endl;
        return 1;
    }
    std::vector<QKcpSocket *> sessions;
    sessions.reserve(static_cast<std::size_t>(expected));
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&] {
        while (QKcpSocket *s = server.nextPendingConnection())
            sessions.push_back(s);
    });
    out << "PORT " << server.serverPort() << Qt::endl;

    QTimer poll;
    poll.setInterval(100);
    bool measuring = false;
    QObject::connect(&poll, &QTimer::timeout, &server, [&] {
        if (measuring || static_cast<int>(sessions.size()) < expected)
            return;
        measuring = true;
        // Settle (handshakes done, first keepalives scheduled), then measure an idle window.
        QTimer::singleShot(2000, &server, [&] {
            const double cpu0 = cpuSeconds();
            const QKcpServerStatistics st0 = server.serverStatistics(); // the window's datagrams, not the handshakes
            QElapsedTimer wall;
            wall.start();
            QTimer::singleShot(idleSeconds * 1000, &server, [&, cpu0, st0, wall] {
                const double cpu = cpuSeconds() - cpu0;
                const double secs = wall.elapsed() / 1000.0;
                const QKcpServerStatistics st = server.serverStatistics();
                const qint64 rss = rssBytes() - rss0;
                int alive = 0;
                for (QKcpSocket *s : sessions)
                    alive += s->state() == QAbstractSocket::ConnectedState ? 1 : 0;
                out << "RESULT sessions=" << alive << " idle_cpu_pct=" << 100.0 * cpu / secs
                    << " rss_per_session=" << double(rss) / std::max(alive, 1)
                    << " datagrams_in=" << st.datagramsReceived - st0.datagramsReceived
                    << " datagrams_out=" << st.datagramsSent - st0.datagramsSent
                    << " seconds=" << secs << Qt::endl;
                QCoreApplication::quit();
            });
        });
    });
    poll.start();
    return QCoreApplication::exec();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    raiseFileLimit();
    QCommandLineParser parser;
    QCommandLineOption sessionsOpt(QStringLiteral("sessions"), QStringLiteral("Sessions (default 10000)."),
                                   QStringLiteral("n"), QStringLiteral("10000"));
    QCommandLineOption idleOpt(QStringLiteral("idle"), QStringLiteral("Idle window in seconds (default 20)."),
                               QStringLiteral("s"), QStringLiteral("20"));
    QCommandLineOption serverOpt(QStringLiteral("server"), QStringLiteral("Internal: run as the server."));
    parser.addOptions({sessionsOpt, idleOpt, serverOpt});
    parser.addHelpOption();
    parser.process(app);
    const int n = std::max(1, parser.value(sessionsOpt).toInt());
    const int idle = std::max(1, parser.value(idleOpt).toInt());
    if (parser.isSet(serverOpt))
        return runServer(n, idle);

    QTextStream out(stdout);
    QProcess server;
    server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    server.start(QCoreApplication::applicationFilePath(),
                 {QStringLiteral("--server"), QStringLiteral("--sessions"), QString::number(n), QStringLiteral("--idle"),
                  QString::number(idle)});
    if (!server.waitForStarted(10000) || !server.waitForReadyRead(10000)) {
        out << "server did not start" << Qt::endl;
        return 1;
    }
    const QByteArray portLine = server.readLine().trimmed();
    const quint16 port = static_cast<quint16>(portLine.mid(5).toUInt());
    if (!portLine.startsWith("PORT ") || port == 0) {
        out << "unexpected server output: " << portLine << Qt::endl;
        return 1;
    }

    out << "kcpnet sessions benchmark: " << n << " idle sessions on one QKcpServer (separate process), idle window "
        << idle << " s, default config (keepalive " << QKcpConfig().keepAliveInterval() << " ms, peer timeout "
        << QKcpConfig().peerTimeout() << " ms)" << Qt::endl;

    // Open the clients in batches so the handshake burst stays within the socket buffers.
    std::vector<QKcpSocket *> clients;
    clients.reserve(static_cast<std::size_t>(n));
    int connected = 0;
    int failed = 0;
    double connectSeconds = 0;
    QElapsedTimer connectClock;
    connectClock.start();
    QTimer opener;
    opener.setInterval(5);
    QObject::connect(&opener, &QTimer::timeout, &app, [&] {
        for (int i = 0; i < 100 && static_cast<int>(clients.size()) < n; ++i) {
            auto *s = new QKcpSocket(&app);
            QObject::connect(s, &QKcpSocket::connected, &app, [&] {
                if (++connected == n)
                    connectSeconds = connectClock.elapsed() / 1000.0;
            });
            QObject::connect(s, &QKcpSocket::errorOccurred, &app, [&] { ++failed; });
            s->connectToHost(QHostAddress::LocalHost, port);
            clients.push_back(s);
        }
        if (static_cast<int>(clients.size()) >= n)
            opener.stop();
    });
    opener.start();

    QObject::connect(&server, &QProcess::readyReadStandardOutput, &app, [&] {
        while (server.canReadLine()) {
            const QByteArray line = server.readLine().trimmed();
            if (!line.startsWith("RESULT ")) {
                out << "server: " << line << Qt::endl;
                continue;
            }
            QHash<QByteArray, double> v;
            for (const QByteArray &kv : line.mid(7).split(' ')) {
                const int eq = kv.indexOf('=');
                if (eq > 0)
                    v.insert(kv.left(eq), kv.mid(eq + 1).toDouble());
            }
            out << Qt::endl
                << QStringLiteral("%1 %2 %3 %4 %5").arg(QStringLiteral("sessions"), 10)
                       .arg(QStringLiteral("connect s"), 10)
                       .arg(QStringLiteral("idle CPU %"), 11)
                       .arg(QStringLiteral("bytes/session"), 14)
                       .arg(QStringLiteral("datagrams/s"), 12)
                << Qt::endl;
            out << QStringLiteral("%1 %2 %3 %4 %5")
                       .arg(v.value("sessions"), 10, 'f', 0)
                       .arg(connectSeconds, 10, 'f', 2)
                       .arg(v.value("idle_cpu_pct"), 11, 'f', 3)
                       .arg(v.value("rss_per_session"), 14, 'f', 0)
                       .arg((v.value("datagrams_in") + v.value("datagrams_out")) / std::max(1.0, v.value("seconds")),
                            12, 'f', 0)
                << Qt::endl;
            out << QStringLiteral("target idle CPU < 2 %: %1 (ratio %2)\n")
                       .arg(v.value("idle_cpu_pct") < 2.0 ? QStringLiteral("met") : QStringLiteral("MISSED"))
                       .arg(v.value("idle_cpu_pct") / 2.0, 0, 'f', 3);
            out << QStringLiteral("target memory < 8 KiB/session: %1 (ratio %2)\n")
                       .arg(v.value("rss_per_session") < 8192 ? QStringLiteral("met") : QStringLiteral("MISSED"))
                       .arg(v.value("rss_per_session") / 8192.0, 0, 'f', 3);
            out.flush();
            QCoreApplication::exit(0);
        }
    });
    QObject::connect(&server, &QProcess::finished, &app, [&] { QCoreApplication::exit(0); });
    QTimer progress;
    progress.setInterval(2000);
    QObject::connect(&progress, &QTimer::timeout, &app, [&] {
        out << "clients: " << connected << " connected, " << failed << " failed" << Qt::endl;
    });
    progress.start();
    QTimer::singleShot((idle + 120) * 1000, &app, [&] {
        out << "timed out" << Qt::endl;
        QCoreApplication::exit(1);
    });
    const int rc = app.exec();
    server.kill();
    server.waitForFinished(5000);
    return rc;
}
