// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// drop-in: the one-minute argument for kcpnet.
//
// The same request/response code (protocol.h, written against QIODevice*) runs over a QTcpSocket and over a
// QKcpSocket, across the same impaired link, and the round-trip latencies are compared: median and tail. Only the
// few lines that create and connect the socket differ (see Comparison::run()).
//
//   drop-in [--loss 10] [--delay 25] [--count 300]       compare (the default)
//   drop-in serve [--tcp-port 5000] [--kcp-port 5001]    just the responders
//   drop-in measure --host H [--tcp-port 5000] [--kcp-port 5001] [--count 300]
//
// To lose TCP segments for real the impairment has to happen at the packet level. As root, drop-in runs itself
// under tools/linkemu: the responders in one network namespace, the measuring client in another, joined by a link
// that drops and delays IP packets (TCP and UDP alike). Without root (or without linkemu) it falls back to an
// in-process UDP relay that impairs only KCP's datagrams, and says so: "UDP relay only: TCP not impaired".

#include "protocol.h"
#include "udprelay.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QKcpServer>
#include <QKcpSocket>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTextStream>
#include <QTimer>

#include <functional>
#include <unistd.h>
#ifdef Q_OS_LINUX
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

bool parsePreset(const QString &name, QKcpConfig::Preset *preset)
{
    if (name == QLatin1String("normal"))
        *preset = QKcpConfig::Normal;
    else if (name == QLatin1String("fast"))
        *preset = QKcpConfig::Fast;
    else if (name == QLatin1String("turbo"))
        *preset = QKcpConfig::Turbo;
    else
        return false;
    return true;
}

// Retransmitted segments of a TCP connection, as the kernel counts them (Linux); -1 elsewhere.
qint64 tcpRetransmits(const QTcpSocket *socket)
{
#ifdef Q_OS_LINUX
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(static_cast<int>(socket->socketDescriptor()), IPPROTO_TCP, TCP_INFO, &info, &length) == 0)
        return info.tcpi_total_retrans;
#else
    Q_UNUSED(socket);
#endif
    return -1;
}

QString shellQuote(const QString &text)
{
    QString quoted = text;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

struct Settings {
    QString host;
    quint16 tcpPort = 0;
    quint16 kcpPort = 0;
    int count = 300;
    int size = 200;
    int timeoutMs = 120000;
    QKcpConfig::Preset preset = QKcpConfig::Fast;
    QString presetName;
    QString linkLabel; // printed above the table
    bool tcpImpaired = true;
};

} // namespace

// Measures TCP, then KCP, then prints the table.
class Comparison : public QObject
{
    Q_OBJECT

public:
    Comparison(const Settings &settings, QObject *parent = nullptr)
        : QObject(parent)
        , m_settings(settings)
    {
        m_results.reserve(2); // run() hands out references into it
    }

    void start()
    {
        out() << "drop-in: " << m_settings.count << " round trips of " << m_settings.size << "-byte requests per "
              << "transport; link: " << m_settings.linkLabel << Qt::endl;
        runTcp();
    }

Q_SIGNALS:
    void finished(bool ok);

private:
    struct Result {
        QString name;
        std::vector<double> samples;
        qint64 retransmits = -1;
        QString error;
    };

    // ---- The only transport-specific code: create, tune and connect the socket. ----
    void runTcp()
    {
        auto *socket = new QTcpSocket(this);
        // What a latency-sensitive TCP application does anyway: no Nagle delay for small writes.
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        run(socket, m_settings.tcpPort, QStringLiteral("TCP (QTcpSocket)"), [this, socket](Result *r) {
            r->retransmits = tcpRetransmits(socket);
            runKcp();
        });
    }

    void runKcp()
    {
        auto *socket = new QKcpSocket(QKcpConfig(m_settings.preset), this);
        run(socket, m_settings.kcpPort, QStringLiteral("KCP (QKcpSocket, %1)").arg(m_settings.presetName),
            [this, socket](Result *r) {
                const QKcpStatistics s = socket->statistics();
                r->retransmits = static_cast<qint64>(s.retransmitsFast + s.retransmitsTimeout);
                report();
            });
    }
    // ---- From here on, both transports share the same code. ----

    template <typename Socket>
    void run(Socket *socket, quint16 port, const QString &name, std::function<void(Result *)> next)
    {
        m_results.push_back({name, {}, -1, QString()});
        auto *tripper = new RoundTripper(socket, m_settings.count, m_settings.size, socket);
        auto *timeout = new QTimer(socket);
        timeout->setSingleShot(true);
        // Each outcome (finished, failed, error, timeout) ends the run exactly once.
        auto end = [this, socket, tripper, timeout, next](const QString &error) {
            QObject::disconnect(socket, nullptr, this, nullptr);
            QObject::disconnect(tripper, nullptr, this, nullptr);
            timeout->stop();
            Result &r = m_results.back();
            r.samples = tripper->samples();
            r.error = error;
            out() << "drop-in: " << r.name << ": "
                  << (error.isEmpty() ? QStringLiteral("%1 round trips").arg(r.samples.size()) : error) << Qt::endl;
            next(&r);
            socket->disconnectFromHost();
        };
        connect(socket, &Socket::connected, this, [tripper] { tripper->start(); });
        connect(socket, &Socket::errorOccurred, this, [socket, end] { end(socket->errorString()); });
        connect(tripper, &RoundTripper::finished, this, [end] { end(QString()); });
        connect(tripper, &RoundTripper::failed, this, [end](const QString &why) { end(why); });
        connect(timeout, &QTimer::timeout, this, [end] { end(QStringLiteral("timed out")); });
        timeout->start(m_settings.timeoutMs);
        socket->connectToHost(m_settings.host, port);
    }

    void report()
    {
        out() << Qt::endl
              << QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
                     .arg(QStringLiteral("transport"), -34)
                     .arg(QStringLiteral("trips"), 6)
                     .arg(QStringLiteral("p50 ms"), 8)
                     .arg(QStringLiteral("p90 ms"), 8)
                     .arg(QStringLiteral("p99 ms"), 8)
                     .arg(QStringLiteral("max ms"), 8)
                     .arg(QStringLiteral("retransmits"), 12)
              << Qt::endl;
        bool ok = true;
        for (const Result &r : m_results) {
            const bool complete = r.error.isEmpty() && static_cast<int>(r.samples.size()) == m_settings.count;
            ok = ok && complete;
            QString name = r.name;
            if (name.startsWith(QLatin1String("TCP")) && !m_settings.tcpImpaired)
                name += QStringLiteral(" [not impaired]");
            out() << QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
                         .arg(name, -34)
                         .arg(r.samples.size(), 6)
                         .arg(percentile(r.samples, 0.50), 8, 'f', 1)
                         .arg(percentile(r.samples, 0.90), 8, 'f', 1)
                         .arg(percentile(r.samples, 0.99), 8, 'f', 1)
                         .arg(percentile(r.samples, 1.0), 8, 'f', 1)
                         .arg(r.retransmits < 0 ? QStringLiteral("n/a") : QString::number(r.retransmits), 12)
                  << Qt::endl;
        }
        if (ok) {
            const double tcp99 = percentile(m_results[0].samples, 0.99);
            const double kcp99 = percentile(m_results[1].samples, 0.99);
            const double tcp50 = percentile(m_results[0].samples, 0.50);
            const double kcp50 = percentile(m_results[1].samples, 0.50);
            out() << Qt::endl
                  << QStringLiteral("RESULT tcp p50=%1 p99=%2 kcp p50=%3 p99=%4 ms")
                         .arg(tcp50, 0, 'f', 1)
                         .arg(tcp99, 0, 'f', 1)
                         .arg(kcp50, 0, 'f', 1)
                         .arg(kcp99, 0, 'f', 1)
                  << Qt::endl;
            if (m_settings.tcpImpaired && kcp99 > 0)
                out() << QStringLiteral("drop-in: tail latency (p99): TCP %1 ms, KCP %2 ms (%3x)")
                             .arg(tcp99, 0, 'f', 1)
                             .arg(kcp99, 0, 'f', 1)
                             .arg(tcp99 / kcp99, 0, 'f', 1)
                      << Qt::endl;
        }
        out() << (ok ? "drop-in: OK" : "drop-in: FAILED") << Qt::endl;
        // Give the graceful closes one event-loop turn to leave, then finish.
        QTimer::singleShot(0, this, [this, ok] { emit finished(ok); });
    }

    Settings m_settings;
    std::vector<Result> m_results;
};

// The responders: a QTcpServer and a QKcpServer, and the same Responder on every connection of either.
class Responders : public QObject
{
public:
    explicit Responders(const QKcpConfig &config, QObject *parent = nullptr)
        : QObject(parent)
        , m_kcp(config, this)
    {
        connect(&m_tcp, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_tcp.nextPendingConnection()) {
                socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                new Responder(socket);
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
        connect(&m_kcp, &QKcpServer::newConnection, this, [this] {
            while (QKcpSocket *socket = m_kcp.nextPendingConnection()) {
                new Responder(socket);
                connect(socket, &QKcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    }

    bool listen(const QHostAddress &address, quint16 tcpPort, quint16 kcpPort, QString *error)
    {
        if (!m_tcp.listen(address, tcpPort)) {
            *error = QStringLiteral("TCP: %1").arg(m_tcp.errorString());
            return false;
        }
        if (!m_kcp.listen(address, kcpPort)) {
            *error = QStringLiteral("KCP: %1").arg(m_kcp.errorString());
            return false;
        }
        return true;
    }
    quint16 tcpPort() const { return m_tcp.serverPort(); }
    quint16 kcpPort() const { return m_kcp.serverPort(); }

private:
    QTcpServer m_tcp;
    QKcpServer m_kcp;
};

namespace {

bool isProgram(const QString &path)
{
    const QFileInfo info(path);
    return info.isFile() && info.isExecutable();
}

QString findLinkemu(const QString &given)
{
    if (!given.isEmpty())
        return isProgram(given) ? given : QString();
    const QString besideUs = QCoreApplication::applicationDirPath() + QLatin1String("/linkemu");
    if (isProgram(besideUs))
        return besideUs;
#ifdef KCPNET_LINKEMU_PATH
    if (isProgram(QStringLiteral(KCPNET_LINKEMU_PATH)))
        return QStringLiteral(KCPNET_LINKEMU_PATH);
#endif
    return QStandardPaths::findExecutable(QStringLiteral("linkemu"));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("drop-in"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("The same request/response code over QTcpSocket and QKcpSocket across an impaired link.\n"
                       "  drop-in [compare]   measure both (under linkemu as root; else KCP through a UDP relay)\n"
                       "  drop-in serve       run the responders\n"
                       "  drop-in measure     run the measuring client against a running 'drop-in serve'"));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("mode"), QStringLiteral("compare (default), serve or measure"));
    const QCommandLineOption lossOption(QStringLiteral("loss"), QStringLiteral("compare: loss in % (default 10)."),
                                        QStringLiteral("percent"), QStringLiteral("10"));
    const QCommandLineOption delayOption(QStringLiteral("delay"),
                                         QStringLiteral("compare: one-way delay in ms (default 25)."),
                                         QStringLiteral("ms"), QStringLiteral("25"));
    const QCommandLineOption jitterOption(QStringLiteral("jitter"),
                                          QStringLiteral("compare: extra random delay 0..ms (default 0)."),
                                          QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption seedOption(QStringLiteral("seed"), QStringLiteral("compare: random seed (default 1)."),
                                        QStringLiteral("n"), QStringLiteral("1"));
    const QCommandLineOption countOption(QStringLiteral("count"),
                                         QStringLiteral("Round trips per transport (default 300)."),
                                         QStringLiteral("n"), QStringLiteral("300"));
    const QCommandLineOption sizeOption(QStringLiteral("size"), QStringLiteral("Request size in bytes (default 200)."),
                                        QStringLiteral("bytes"), QStringLiteral("200"));
    const QCommandLineOption presetOption(QStringLiteral("preset"),
                                          QStringLiteral("KCP preset: normal, fast (default) or turbo."),
                                          QStringLiteral("preset"), QStringLiteral("fast"));
    const QCommandLineOption hostOption(QStringLiteral("host"), QStringLiteral("measure: the responders' host."),
                                        QStringLiteral("host"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption tcpPortOption(QStringLiteral("tcp-port"), QStringLiteral("TCP port (default 5000)."),
                                           QStringLiteral("port"), QStringLiteral("5000"));
    const QCommandLineOption kcpPortOption(QStringLiteral("kcp-port"), QStringLiteral("KCP UDP port (default 5001)."),
                                           QStringLiteral("port"), QStringLiteral("5001"));
    const QCommandLineOption timeoutOption(QStringLiteral("timeout"),
                                           QStringLiteral("Seconds per transport before giving up (default 120)."),
                                           QStringLiteral("s"), QStringLiteral("120"));
    const QCommandLineOption linkemuOption(QStringLiteral("linkemu"), QStringLiteral("compare: path of linkemu."),
                                           QStringLiteral("path"));
    const QCommandLineOption relayOnlyOption(QStringLiteral("relay-only"),
                                             QStringLiteral("compare: skip linkemu, use the UDP relay."));
    const QCommandLineOption labelOption(QStringLiteral("link-label"),
                                         QStringLiteral("measure: how to describe the link in the output."),
                                         QStringLiteral("text"), QStringLiteral("as it is"));
    parser.addOptions({lossOption, delayOption, jitterOption, seedOption, countOption, sizeOption, presetOption,
                       hostOption, tcpPortOption, kcpPortOption, timeoutOption, linkemuOption, relayOnlyOption,
                       labelOption});
    parser.process(app);

    const QString mode = parser.positionalArguments().value(0, QStringLiteral("compare"));
    Settings settings;
    settings.presetName = parser.value(presetOption);
    if (!parsePreset(settings.presetName, &settings.preset)) {
        out() << "drop-in: unknown preset " << settings.presetName << Qt::endl;
        return 2;
    }
    settings.host = parser.value(hostOption);
    settings.tcpPort = static_cast<quint16>(parser.value(tcpPortOption).toUInt());
    settings.kcpPort = static_cast<quint16>(parser.value(kcpPortOption).toUInt());
    settings.count = std::max(1, parser.value(countOption).toInt());
    settings.size = std::clamp(parser.value(sizeOption).toInt(), 4, 60000);
    settings.timeoutMs = std::max(1, parser.value(timeoutOption).toInt()) * 1000;
    settings.linkLabel = parser.value(labelOption);

    if (mode == QLatin1String("serve")) {
        Responders responders{QKcpConfig(settings.preset)};
        QString error;
        if (!responders.listen(QHostAddress::AnyIPv4, settings.tcpPort, settings.kcpPort, &error)) {
            out() << "drop-in: cannot listen: " << error << Qt::endl;
            return 1;
        }
        out() << "drop-in: serving TCP on port " << responders.tcpPort() << " and KCP on port " << responders.kcpPort()
              << Qt::endl;
        return app.exec();
    }

    if (mode == QLatin1String("measure")) {
        Comparison comparison(settings);
        QObject::connect(&comparison, &Comparison::finished, &app, [](bool ok) { QCoreApplication::exit(ok ? 0 : 1); });
        comparison.start();
        return app.exec();
    }

    if (mode != QLatin1String("compare")) {
        parser.showHelp(2);
    }

    const double loss = parser.value(lossOption).toDouble();
    const int delay = parser.value(delayOption).toInt();
    const int jitter = parser.value(jitterOption).toInt();
    const QString impairment = QStringLiteral("%1 % loss, %2 ms one-way delay%3")
                                   .arg(loss)
                                   .arg(delay)
                                   .arg(jitter > 0 ? QStringLiteral(", %1 ms jitter").arg(jitter) : QString());

    // 1. The real thing: both transports through linkemu's packet-level link.
    const QString linkemu = findLinkemu(parser.value(linkemuOption));
    if (parser.isSet(relayOnlyOption)) {
        out() << "drop-in: --relay-only given" << Qt::endl;
    } else if (::geteuid() != 0) {
        out() << "drop-in: not root, so linkemu cannot build its namespaces" << Qt::endl;
    } else if (linkemu.isEmpty()) {
        out() << "drop-in: linkemu not found (build tools/linkemu, or pass --linkemu PATH)" << Qt::endl;
    } else {
        const QString self = shellQuote(QCoreApplication::applicationFilePath());
        const QString common = QStringLiteral(" --preset %1 --tcp-port 5000 --kcp-port 5001").arg(settings.presetName);
        QStringList args;
        args << QStringLiteral("--loss") << QString::number(loss) << QStringLiteral("--delay") << QString::number(delay)
             << QStringLiteral("--jitter") << QString::number(jitter) << QStringLiteral("--seed")
             << parser.value(seedOption) << QStringLiteral("--timeout")
             << QString::number(2 * settings.timeoutMs / 1000 + 30) << QStringLiteral("--ready")
             << QStringLiteral("drop-in: serving") << QStringLiteral("--server")
             << self + QStringLiteral(" serve") + common << QStringLiteral("--client")
             << self + QStringLiteral(" measure --host 10.77.0.1") + common
                + QStringLiteral(" --count %1 --size %2 --timeout %3 --link-label %4")
                      .arg(settings.count)
                      .arg(settings.size)
                      .arg(settings.timeoutMs / 1000)
                      .arg(shellQuote(QStringLiteral("linkemu, packet level, TCP and KCP impaired: ") + impairment));
        out() << "drop-in: running both transports under linkemu (" << linkemu << ")" << Qt::endl;
        QProcess process;
        process.setProcessChannelMode(QProcess::ForwardedChannels);
        process.start(linkemu, args);
        if (!process.waitForStarted(10000) || !process.waitForFinished(2 * settings.timeoutMs + 60000)) {
            out() << "drop-in: linkemu did not run: " << process.errorString() << Qt::endl;
            process.kill();
            process.waitForFinished(5000);
            return 1;
        }
        if (process.exitStatus() == QProcess::NormalExit && process.exitCode() != 3)
            return process.exitCode();
        out() << "drop-in: linkemu cannot run here (see above)" << Qt::endl;
    }

    // 2. The fallback: responders and client in this process; only KCP's datagrams cross the impaired relay.
    out() << "drop-in: falling back to UDP relay only: TCP not impaired" << Qt::endl;
    Responders responders{QKcpConfig(settings.preset)};
    QString error;
    if (!responders.listen(QHostAddress::LocalHost, 0, 0, &error)) {
        out() << "drop-in: cannot listen: " << error << Qt::endl;
        return 1;
    }
    KcpUdpRelay relay;
    relay.setSeed(parser.value(seedOption).toUInt());
    relay.setImpairment({loss, delay, jitter, 0.0, 0.0});
    relay.setTarget(QHostAddress::LocalHost, responders.kcpPort());
    if (!relay.listen(QHostAddress::LocalHost)) {
        out() << "drop-in: relay: " << relay.errorString() << Qt::endl;
        return 1;
    }
    settings.host = QStringLiteral("127.0.0.1");
    settings.tcpPort = responders.tcpPort();
    settings.kcpPort = relay.port();
    settings.tcpImpaired = false;
    settings.linkLabel = QStringLiteral("UDP relay only: TCP not impaired; KCP through the relay: ") + impairment;
    Comparison comparison(settings);
    QObject::connect(&comparison, &Comparison::finished, &app, [](bool ok) { QCoreApplication::exit(ok ? 0 : 1); });
    comparison.start();
    return app.exec();
}

#include "main.moc"
