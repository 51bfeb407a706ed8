// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpnet-live: the main job. A QKcpServer echoes; several QKcpSocket clients with different presets talk to it
// over UDP: one pushes bulk data, the others exchange small timestamped messages (ping-pong) so their round-trip
// latency can be measured. Once a second it prints a statistics table per session; after --duration it closes
// every client gracefully and prints a summary.
//
// Usage: kcpnet-live [--duration S] [--clients N] [--port P]

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QKcpServer>
#include <QKcpSocket>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

struct Client {
    QKcpSocket *socket = nullptr;
    QString name;
    bool bulk = false;
    QElapsedTimer clock;
    std::vector<double> rtts; // ms, this second
    std::vector<double> allRtts;
    qint64 echoed = 0;
    qint64 lastEchoed = 0;
    QByteArray pending; // bulk: bytes not yet echoed back are not tracked, only counted
};

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
    return v[i];
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kcpnet-live"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("kcpnet live demo: an echo server, clients, statistics"));
    parser.addHelpOption();
    QCommandLineOption durationOpt(QStringLiteral("duration"), QStringLiteral("Seconds to run (default 20)."),
                                   QStringLiteral("seconds"), QStringLiteral("20"));
    QCommandLineOption clientsOpt(QStringLiteral("clients"), QStringLiteral("Number of clients (default 4)."),
                                  QStringLiteral("n"), QStringLiteral("4"));
    QCommandLineOption portOpt(QStringLiteral("port"), QStringLiteral("Server UDP port (default: any free one)."),
                               QStringLiteral("port"), QStringLiteral("0"));
    QCommandLineOption noBulkOpt(QStringLiteral("no-bulk"), QStringLiteral("Only ping-pong clients, no bulk."));
    parser.addOptions({durationOpt, clientsOpt, portOpt, noBulkOpt});
    parser.process(app);
    const int duration = std::max(1, parser.value(durationOpt).toInt());
    const int clientCount = std::clamp(parser.value(clientsOpt).toInt(), 1, 64);

    QTextStream out(stdout);

    // The echo server: every byte a client sends comes back.
    QKcpServer server;
    if (!server.listen(QHostAddress::LocalHost, static_cast<quint16>(parser.value(portOpt).toUInt()))) {
        out << "cannot listen: " << server.errorString() << Qt::endl;
        return 1;
    }
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&server] {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            QObject::connect(s, &QKcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
            QObject::connect(s, &QKcpSocket::disconnected, s, &QObject::deleteLater);
        }
    });
    out << "kcpnet-live: echo server on 127.0.0.1:" << server.serverPort() << ", " << clientCount
        << " clients, " << duration << " s" << Qt::endl;

    const QKcpConfig::Preset presets[] = {QKcpConfig::Fast, QKcpConfig::Normal, QKcpConfig::Turbo};
    const char *presetNames[] = {"fast", "normal", "turbo"};
    std::vector<Client> clients(static_cast<std::size_t>(clientCount));
    const QByteArray bulkChunk(16 * 1024, 'k');
    for (int i = 0; i < clientCount; ++i) {
        Client &c = clients[static_cast<std::size_t>(i)];
        const int p = i % 3;
        c.bulk = i == 0 && !parser.isSet(noBulkOpt);
        c.name = QStringLiteral("client%1 %2%3").arg(i).arg(QLatin1String(presetNames[p]),
                                                          c.bulk ? QStringLiteral(" bulk") : QString());
        c.socket = new QKcpSocket(QKcpConfig(presets[p]), &app);
        c.clock.start();
        QKcpSocket *s = c.socket;
        Client *cp = &c;
        if (c.bulk) {
            // Keep about 1 MB in flight; count what comes back.
            auto pump = [s, &bulkChunk] {
                while (s->state() == QAbstractSocket::ConnectedState && s->bytesToWrite() < 1024 * 1024)
                    s->write(bulkChunk);
            };
            QObject::connect(s, &QKcpSocket::connected, s, pump);
            QObject::connect(s, &QKcpSocket::bytesWritten, s, pump);
            QObject::connect(s, &QKcpSocket::readyRead, s, [s, cp] { cp->echoed += s->readAll().size(); });
        } else {
            // Ping-pong: a line with the send time; the echo gives the round trip.
            auto ping = [s, cp] {
                if (s->state() == QAbstractSocket::ConnectedState)
                    s->write(QByteArray::number(cp->clock.nsecsElapsed()) + '\n');
            };
            QObject::connect(s, &QKcpSocket::connected, s, ping);
            QObject::connect(s, &QKcpSocket::readyRead, s, [s, cp] {
                while (s->canReadLine()) {
                    const QByteArray line = s->readLine();
                    cp->echoed += line.size();
                    const double rtt = (cp->clock.nsecsElapsed() - line.trimmed().toLongLong()) / 1e6;
                    cp->rtts.push_back(rtt);
                    cp->allRtts.push_back(rtt);
                }
            });
            auto *timer = new QTimer(s);
            timer->setInterval(20);
            QObject::connect(timer, &QTimer::timeout, s, ping);
            timer->start();
        }
        QObject::connect(s, &QKcpSocket::errorOccurred, s, [&out, cp](QAbstractSocket::SocketError) {
            out << cp->name << ": " << cp->socket->errorString() << Qt::endl;
        });
        s->connectToHost(QHostAddress::LocalHost, server.serverPort());
    }

    int second = 0;
    QTimer report;
    report.setInterval(1000);
    QObject::connect(&report, &QTimer::timeout, &app, [&] {
        ++second;
        out << QStringLiteral("\n-- t=%1s  server: %2 sessions, %3 datagrams in, %4 out\n")
                   .arg(second)
                   .arg(server.serverStatistics().sessions)
                   .arg(server.serverStatistics().datagramsReceived)
                   .arg(server.serverStatistics().datagramsSent);
        out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9 %10\n")
                   .arg(QStringLiteral("session"), -22)
                   .arg(QStringLiteral("state"), -10)
                   .arg(QStringLiteral("srtt"), 5)
                   .arg(QStringLiteral("rto"), 5)
                   .arg(QStringLiteral("cwnd"), 5)
                   .arg(QStringLiteral("MB/s"), 8)
                   .arg(QStringLiteral("rtt p50"), 8)
                   .arg(QStringLiteral("rtt p99"), 8)
                   .arg(QStringLiteral("rtx"), 7)
                   .arg(QStringLiteral("drops"), 6);
        for (Client &c : clients) {
            const QKcpStatistics s = c.socket->statistics();
            const double rate = (c.echoed - c.lastEchoed) / 1e6;
            c.lastEchoed = c.echoed;
            const char *state = c.socket->state() == QAbstractSocket::ConnectedState ? "connected"
                : c.socket->state() == QAbstractSocket::UnconnectedState                ? "closed"
                                                                                         : "busy";
            out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9 %10\n")
                       .arg(c.name, -22)
                       .arg(QLatin1String(state), -10)
                       .arg(s.srtt, 5)
                       .arg(s.rto, 5)
                       .arg(s.congestionWindow, 5)
                       .arg(rate, 8, 'f', 2)
                       .arg(percentile(c.rtts, 0.5), 8, 'f', 2)
                       .arg(percentile(c.rtts, 0.99), 8, 'f', 2)
                       .arg(s.retransmitsTimeout + s.retransmitsFast, 7)
                       .arg(s.droppedChecksum + s.droppedMalformed + s.droppedUnexpected, 6);
            c.rtts.clear();
        }
        out.flush();
        if (second >= duration) {
            report.stop();
            for (Client &c : clients)
                c.socket->disconnectFromHost();
            // Give the graceful closes a moment (bounded), then summarise.
            QTimer::singleShot(1500, &app, [&] {
                bool ok = true;
                out << "\nsummary:\n";
                for (Client &c : clients) {
                    const bool closed = c.socket->state() == QAbstractSocket::UnconnectedState;
                    ok = ok && closed && c.echoed > 0;
                    out << QStringLiteral("  %1 echoed %2 bytes, rtt p50 %3 ms p99 %4 ms, closed %5\n")
                               .arg(c.name, -22)
                               .arg(c.echoed)
                               .arg(percentile(c.allRtts, 0.5), 0, 'f', 2)
                               .arg(percentile(c.allRtts, 0.99), 0, 'f', 2)
                               .arg(closed ? QStringLiteral("yes") : QStringLiteral("no"));
                }
                out << (ok ? "OK" : "FAILED") << Qt::endl;
                app.exit(ok ? 0 : 1);
            });
        }
    });
    report.start();
    return app.exec();
}
