// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpnet-live-lossy: the main job (scripts/run.sh). kcpnet-live's echo server and preset clients, but across a
// lossy link, with the metrics endpoint on, and optionally the monitor attached.
//
//   client (fast, bulk)    ─┐
//   client (normal, ping)  ─┼─► relay: --loss %, --delay ms, --jitter ms ─► QKcpServer (echo)
//   client (turbo, ping)   ─┤          (KcpUdpRelay, one upstream per client)
//   client (fast, ping)    ─┘
//   QKcpMetricsServer on 127.0.0.1 watches all of them  ◄── kcpnet-monitor --connect http://127.0.0.1:PORT
//
// One client streams bulk data; the others send a timestamped line every 20 ms and time the echo. Every second a
// table shows each session: state, smoothed RTT, RTO, throughput, round-trip p50/p99 of that second,
// retransmissions. After --duration seconds (or Ctrl-C, or when the monitor window closes) every client closes
// gracefully and a summary follows; exit status 0 means every client moved data and closed cleanly.
//
//   kcpnet-live-lossy [--duration 30] [--loss 5] [--delay 10] [--jitter 2] [--clients 4] [--bulk-rate 4]
//                     [--monitor PATH]

#include "udprelay.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QKcpMetricsServer>
#include <QKcpServer>
#include <QKcpSocket>
#include <QProcess>
#include <QSocketNotifier>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0.0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p * static_cast<double>(v.size()))));
    return v[std::min(rank, v.size()) - 1];
}

// SIGINT/SIGTERM -> a byte on a socket pair -> QSocketNotifier -> a normal Qt slot.
int signalFds[2] = {-1, -1};
void onUnixSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(signalFds[0], &byte, 1);
}

} // namespace

// One client: a socket with a preset, and what it measured.
class LiveClient : public QObject
{
public:
    // bulkRate: bytes per second the bulk client offers (0 = as fast as the link goes).
    LiveClient(const QString &name, QKcpConfig::Preset preset, bool bulk, double bulkRate, QObject *parent)
        : QObject(parent)
        , m_name(name)
        , m_socket(QKcpConfig(preset), this)
        , m_bulk(bulk)
    {
        m_clock.start();
        if (bulk) {
            // Keep at most 1 MB waiting in the socket; top up whenever some of it has left. With a rate, a token
            // bucket refilled every 20 ms paces the writes, so the bulk flow does not drown the ping-pong clients
            // (they all share this process's one thread, and the relay).
            auto pump = [this, bulkRate] {
                static const QByteArray chunk(16 * 1024, 'k');
                while (m_socket.state() == QAbstractSocket::ConnectedState && m_socket.bytesToWrite() < (1 << 20)
                       && (bulkRate <= 0 || m_budget > 0)) {
                    m_socket.write(chunk);
                    m_budget -= chunk.size();
                }
            };
            connect(&m_socket, &QKcpSocket::connected, this, pump);
            connect(&m_socket, &QKcpSocket::bytesWritten, this, pump);
            if (bulkRate > 0) {
                connect(&m_pace, &QTimer::timeout, this, [this, bulkRate, pump] {
                    m_budget = std::min(m_budget + bulkRate * 0.02, bulkRate * 0.1); // at most 100 ms of burst
                    pump();
                });
                m_pace.start(20);
            }
            connect(&m_socket, &QKcpSocket::readyRead, this, [this] { m_echoed += m_socket.readAll().size(); });
        } else {
            // Ping-pong: a line carrying its send time; the echo gives the round trip.
            connect(&m_ping, &QTimer::timeout, this, [this] {
                if (m_socket.state() == QAbstractSocket::ConnectedState)
                    m_socket.write(QByteArray::number(m_clock.nsecsElapsed()) + '\n');
            });
            connect(&m_socket, &QKcpSocket::connected, this, [this] { m_ping.start(20); });
            connect(&m_socket, &QKcpSocket::readyRead, this, [this] {
                while (m_socket.canReadLine()) {
                    const QByteArray line = m_socket.readLine();
                    m_echoed += line.size();
                    const double rtt = static_cast<double>(m_clock.nsecsElapsed() - line.trimmed().toLongLong()) / 1e6;
                    m_rtts.push_back(rtt);
                    m_allRtts.push_back(rtt);
                }
            });
        }
        connect(&m_socket, &QKcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError error) {
            if (error != QAbstractSocket::RemoteHostClosedError)
                out() << m_name << ": " << m_socket.errorString() << Qt::endl;
        });
        connect(&m_socket, &QKcpSocket::disconnected, this, [this] {
            m_ping.stop();
            m_pace.stop();
        });
    }

    QString name() const { return m_name; }
    bool isPingPong() const { return !m_bulk; }
    QKcpSocket *socket() { return &m_socket; }
    qint64 echoed() const { return m_echoed; }
    const std::vector<double> &allRtts() const { return m_allRtts; }

    // The numbers of the last second (and start a new second).
    struct Second {
        double megabytesPerSecond = 0;
        double p50 = 0;
        double p99 = 0;
    };
    Second takeSecond()
    {
        Second s;
        s.megabytesPerSecond = static_cast<double>(m_echoed - m_lastEchoed) / 1e6;
        s.p50 = percentile(m_rtts, 0.50);
        s.p99 = percentile(m_rtts, 0.99);
        m_lastEchoed = m_echoed;
        m_rtts.clear();
        return s;
    }

private:
    QString m_name;
    QKcpSocket m_socket;
    bool m_bulk;
    QTimer m_ping;
    QTimer m_pace;
    double m_budget = 0;
    QElapsedTimer m_clock;
    qint64 m_echoed = 0;
    qint64 m_lastEchoed = 0;
    std::vector<double> m_rtts;
    std::vector<double> m_allRtts;
};

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kcpnet-live-lossy"));
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("kcpnet live: an echo server and preset clients across a lossy link, statistics every second."));
    parser.addHelpOption();
    const QCommandLineOption durationOption(QStringLiteral("duration"),
                                            QStringLiteral("Seconds to run (default 30; 0 = until interrupted)."),
                                            QStringLiteral("s"), QStringLiteral("30"));
    const QCommandLineOption lossOption(QStringLiteral("loss"), QStringLiteral("Loss in % each way (default 5)."),
                                        QStringLiteral("percent"), QStringLiteral("5"));
    const QCommandLineOption delayOption(QStringLiteral("delay"), QStringLiteral("One-way delay in ms (default 10)."),
                                         QStringLiteral("ms"), QStringLiteral("10"));
    const QCommandLineOption jitterOption(QStringLiteral("jitter"), QStringLiteral("Jitter in ms (default 2)."),
                                          QStringLiteral("ms"), QStringLiteral("2"));
    const QCommandLineOption clientsOption(QStringLiteral("clients"), QStringLiteral("Clients (default 4)."),
                                           QStringLiteral("n"), QStringLiteral("4"));
    const QCommandLineOption noBulkOption(QStringLiteral("no-bulk"), QStringLiteral("Only ping-pong clients."));
    const QCommandLineOption bulkRateOption(QStringLiteral("bulk-rate"),
                                            QStringLiteral("MB/s the bulk client offers (default 4; 0 = unlimited)."),
                                            QStringLiteral("MBps"), QStringLiteral("4"));
    const QCommandLineOption metricsPortOption(QStringLiteral("metrics-port"),
                                               QStringLiteral("Port of the metrics endpoint (default: any free one)."),
                                               QStringLiteral("port"), QStringLiteral("0"));
    const QCommandLineOption monitorOption(QStringLiteral("monitor"),
                                           QStringLiteral("Start this kcpnet-monitor attached to the metrics endpoint; "
                                                          "with --duration 0, run until its window closes."),
                                           QStringLiteral("path"));
    parser.addOptions({durationOption, lossOption, delayOption, jitterOption, clientsOption, noBulkOption,
                       bulkRateOption, metricsPortOption, monitorOption});
    parser.process(app);
    const int duration = std::max(0, parser.value(durationOption).toInt());
    const int clientCount = std::clamp(parser.value(clientsOption).toInt(), 1, 64);
    const double bulkRate = std::max(0.0, parser.value(bulkRateOption).toDouble()) * 1e6;

    // 1. The echo server.
    QKcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        out() << "cannot listen: " << server.errorString() << Qt::endl;
        return 1;
    }
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&server] {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            QObject::connect(s, &QKcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
            QObject::connect(s, &QKcpSocket::disconnected, s, &QObject::deleteLater);
        }
    });

    // 2. The bad link in front of it.
    KcpUdpRelay relay;
    KcpUdpRelay::Impairment impairment;
    impairment.lossPercent = parser.value(lossOption).toDouble();
    impairment.delayMs = parser.value(delayOption).toInt();
    impairment.jitterMs = parser.value(jitterOption).toInt();
    relay.setImpairment(impairment);
    relay.setTarget(QHostAddress::LocalHost, server.serverPort());
    if (!relay.listen(QHostAddress::LocalHost)) {
        out() << "relay: " << relay.errorString() << Qt::endl;
        return 1;
    }

    // 3. The metrics endpoint: the monitor, Prometheus or curl can watch every session from outside.
    QKcpMetricsServer metrics;
    metrics.watch(&server, QStringLiteral("echo-server"));
    if (!metrics.listen(QHostAddress::LocalHost, static_cast<quint16>(parser.value(metricsPortOption).toUInt()))) {
        out() << "metrics: " << metrics.errorString() << Qt::endl;
        return 1;
    }
    const QString metricsUrl = QStringLiteral("http://127.0.0.1:%1").arg(metrics.serverPort());

    out() << "kcpnet-live-lossy: echo server on 127.0.0.1:" << server.serverPort() << " behind a relay on port "
          << relay.port() << " (loss " << impairment.lossPercent << " %, delay " << impairment.delayMs << " ms, jitter "
          << impairment.jitterMs << " ms), " << clientCount << " clients, "
          << (duration > 0 ? QStringLiteral("%1 s").arg(duration) : QStringLiteral("until interrupted")) << Qt::endl;
    out() << "metrics: " << metricsUrl << "/metrics  (snapshot: " << metricsUrl << "/api/v1/snapshot)" << Qt::endl;

    // 4. The clients, through the relay.
    const QKcpConfig::Preset presets[] = {QKcpConfig::Fast, QKcpConfig::Normal, QKcpConfig::Turbo};
    const char *presetNames[] = {"fast", "normal", "turbo"};
    std::vector<std::unique_ptr<LiveClient>> clients;
    for (int i = 0; i < clientCount; ++i) {
        const bool bulk = i == 0 && !parser.isSet(noBulkOption);
        const QString name = QStringLiteral("client%1 %2%3")
                                 .arg(i)
                                 .arg(QLatin1String(presetNames[i % 3]), bulk ? QStringLiteral(" bulk") : QString());
        clients.push_back(std::make_unique<LiveClient>(name, presets[i % 3], bulk, bulkRate, nullptr));
        metrics.watch(clients.back()->socket(), name);
        clients.back()->socket()->connectToHost(relay.address(), relay.port());
    }

    // 5. The table, once a second. On a terminal it redraws in place; into a file or pipe it appends.
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    int second = 0;
    QTimer report;
    report.setInterval(1000);
    QObject::connect(&report, &QTimer::timeout, &app, [&] {
        ++second;
        const KcpUdpRelay::Counters up = relay.counters(KcpUdpRelay::ClientToServer);
        const KcpUdpRelay::Counters down = relay.counters(KcpUdpRelay::ServerToClient);
        if (tty)
            out() << "\033[H\033[2J";
        out() << QStringLiteral("-- t=%1s  link: %2 % loss, %3 ms delay; datagrams up %4 (%5 lost), down %6 (%7 lost)"
                                "  metrics: %8\n")
                     .arg(second)
                     .arg(impairment.lossPercent)
                     .arg(impairment.delayMs)
                     .arg(up.received)
                     .arg(up.dropped)
                     .arg(down.received)
                     .arg(down.dropped)
                     .arg(metricsUrl);
        out() << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8\n")
                     .arg(QStringLiteral("session"), -22)
                     .arg(QStringLiteral("state"), -10)
                     .arg(QStringLiteral("srtt"), 5)
                     .arg(QStringLiteral("rto"), 5)
                     .arg(QStringLiteral("MB/s"), 7)
                     .arg(QStringLiteral("rtt p50"), 8)
                     .arg(QStringLiteral("rtt p99"), 8)
                     .arg(QStringLiteral("rtx"), 7);
        for (const auto &c : clients) {
            const QKcpStatistics s = c->socket()->statistics();
            const LiveClient::Second sec = c->takeSecond();
            const QAbstractSocket::SocketState state = c->socket()->state();
            const QString stateName = state == QAbstractSocket::ConnectedState ? QStringLiteral("connected")
                : state == QAbstractSocket::UnconnectedState                   ? QStringLiteral("closed")
                                                                               : QStringLiteral("busy");
            const bool timed = c->isPingPong();
            out() << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8\n")
                         .arg(c->name(), -22)
                         .arg(stateName, -10)
                         .arg(s.srtt, 5)
                         .arg(s.rto, 5)
                         .arg(sec.megabytesPerSecond, 7, 'f', 2)
                         .arg(timed ? QString::number(sec.p50, 'f', 1) : QStringLiteral("-"), 8)
                         .arg(timed ? QString::number(sec.p99, 'f', 1) : QStringLiteral("-"), 8)
                         .arg(s.retransmitsTimeout + s.retransmitsFast, 7);
        }
        out().flush();
        if (duration > 0 && second >= duration)
            QTimer::singleShot(0, &app, &QCoreApplication::quit); // -> the summary below
    });
    report.start();

    // 6. The monitor, if asked for: started once the endpoint is up; closing its window ends the run.
    QProcess monitor;
    if (parser.isSet(monitorOption)) {
        monitor.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        monitor.setStandardOutputFile(QProcess::nullDevice());
        QObject::connect(&monitor, &QProcess::finished, &app, [&] {
            out() << "kcpnet-live-lossy: the monitor closed" << Qt::endl;
            QCoreApplication::quit();
        });
        monitor.start(parser.value(monitorOption), {QStringLiteral("--connect"), metricsUrl});
        out() << "kcpnet-live-lossy: monitor started: " << parser.value(monitorOption) << " --connect " << metricsUrl
              << Qt::endl;
    }

    // Ctrl-C / SIGTERM end the run like --duration does.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalFds) == 0) {
        auto *notifier = new QSocketNotifier(signalFds[1], QSocketNotifier::Read, &app);
        QObject::connect(notifier, &QSocketNotifier::activated, &app, [] {
            char byte;
            [[maybe_unused]] const auto n = ::read(signalFds[1], &byte, 1);
            QCoreApplication::quit();
        });
        std::signal(SIGINT, onUnixSignal);
        std::signal(SIGTERM, onUnixSignal);
    }

    app.exec();

    // 7. Wind down: graceful closes (bounded wait), then the summary.
    report.stop();
    if (monitor.state() != QProcess::NotRunning) {
        QObject::disconnect(&monitor, nullptr, &app, nullptr);
        monitor.terminate();
        if (!monitor.waitForFinished(3000))
            monitor.kill();
    }
    for (const auto &c : clients)
        c->socket()->disconnectFromHost();
    QTimer giveUp;
    giveUp.setSingleShot(true);
    QObject::connect(&giveUp, &QTimer::timeout, &app, &QCoreApplication::quit);
    auto allClosed = [&] {
        return std::all_of(clients.begin(), clients.end(),
                           [](const auto &c) { return c->socket()->state() == QAbstractSocket::UnconnectedState; });
    };
    for (const auto &c : clients) {
        QObject::connect(c->socket(), &QKcpSocket::disconnected, &app, [&] {
            if (allClosed())
                QCoreApplication::quit();
        });
    }
    if (!allClosed()) {
        giveUp.start(5000);
        app.exec();
    }

    bool ok = true;
    out() << "\nsummary:\n";
    for (const auto &c : clients) {
        const bool closed = c->socket()->state() == QAbstractSocket::UnconnectedState;
        const QKcpStatistics s = c->socket()->statistics();
        ok = ok && closed && c->echoed() > 0;
        const QString rtt = c->isPingPong() ? QStringLiteral(", rtt p50 %1 ms p99 %2 ms")
                                                  .arg(percentile(c->allRtts(), 0.5), 0, 'f', 1)
                                                  .arg(percentile(c->allRtts(), 0.99), 0, 'f', 1)
                                            : QString();
        out() << QStringLiteral("  %1 echoed %2 bytes%3, %4 retransmissions, closed %5\n")
                     .arg(c->name(), -22)
                     .arg(c->echoed())
                     .arg(rtt)
                     .arg(s.retransmitsTimeout + s.retransmitsFast)
                     .arg(closed ? QStringLiteral("yes") : QStringLiteral("no"));
    }
    out() << (ok ? "kcpnet-live-lossy: OK" : "kcpnet-live-lossy: FAILED") << Qt::endl;
    return ok ? 0 : 1;
}
