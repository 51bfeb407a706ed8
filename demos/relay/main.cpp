// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpnet-relay: put a bad network between any UDP client and server.
//
//   kcpnet-relay --target 127.0.0.1:4000 --port 5000 --loss 10 --delay 25 --jitter 5
//   echo-client --port 5000            # now every datagram crosses a lossy, slow link
//
// The relay listens on --port; every client gets its own upstream socket towards --target, and each direction
// drops, delays, reorders (jitter), duplicates or corrupts datagrams as asked (KcpUdpRelay, tests/common).
// --cut-after N cuts the link once N bytes went from clients to the target, for --cut-for ms, then heals it: the
// way to watch a transfer survive (or resume after) an outage. On SIGINT/SIGTERM it prints its counters and exits.

#include "udprelay.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTextStream>
#include <QTimer>

#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

// Unix signals -> the event loop: the handler only writes a byte to a socket pair, and a QSocketNotifier on the
// other end runs the Qt code in the normal way (nothing but async-signal-safe calls in the handler).
int signalFds[2] = {-1, -1};

void onUnixSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(signalFds[0], &byte, 1);
}

void printCounters(const KcpUdpRelay &relay)
{
    const char *names[] = {"client->server", "server->client"};
    for (int d = 0; d < 2; ++d) {
        const KcpUdpRelay::Counters c = relay.counters(static_cast<KcpUdpRelay::Direction>(d));
        out() << "kcpnet-relay: " << names[d] << ": " << c.received << " received, " << c.forwarded << " forwarded, "
              << c.dropped << " dropped (" << c.cutDropped << " while cut), " << c.duplicated << " duplicated, "
              << c.corrupted << " corrupted, " << c.bytesForwarded << " bytes forwarded" << Qt::endl;
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kcpnet-relay"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A UDP relay that impairs the link: loss, delay, jitter, cuts."));
    parser.addHelpOption();
    const QCommandLineOption targetOption(QStringLiteral("target"), QStringLiteral("Where to forward: host:port."),
                                          QStringLiteral("host:port"));
    const QCommandLineOption listenOption(QStringLiteral("listen"),
                                          QStringLiteral("Address to listen on (default 127.0.0.1)."),
                                          QStringLiteral("address"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Port to listen on (default: any)."),
                                        QStringLiteral("port"), QStringLiteral("0"));
    const QCommandLineOption lossOption(QStringLiteral("loss"), QStringLiteral("Loss in % per direction."),
                                        QStringLiteral("percent"), QStringLiteral("0"));
    const QCommandLineOption delayOption(QStringLiteral("delay"), QStringLiteral("One-way delay in ms."),
                                         QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption jitterOption(QStringLiteral("jitter"),
                                          QStringLiteral("Extra random delay 0..ms (reorders datagrams)."),
                                          QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption duplicateOption(QStringLiteral("duplicate"), QStringLiteral("Duplicates in %."),
                                             QStringLiteral("percent"), QStringLiteral("0"));
    const QCommandLineOption corruptOption(QStringLiteral("corrupt"), QStringLiteral("Corrupted datagrams in %."),
                                           QStringLiteral("percent"), QStringLiteral("0"));
    const QCommandLineOption seedOption(QStringLiteral("seed"), QStringLiteral("Random seed (default 1)."),
                                        QStringLiteral("n"), QStringLiteral("1"));
    const QCommandLineOption cutAfterOption(QStringLiteral("cut-after"),
                                            QStringLiteral("Cut the link once this many bytes went client->server."),
                                            QStringLiteral("bytes"));
    const QCommandLineOption cutForOption(QStringLiteral("cut-for"),
                                          QStringLiteral("How long a cut lasts in ms (default 3000)."),
                                          QStringLiteral("ms"), QStringLiteral("3000"));
    const QCommandLineOption reportOption(QStringLiteral("report"),
                                          QStringLiteral("Print the counters every N seconds (default 0: at exit)."),
                                          QStringLiteral("s"), QStringLiteral("0"));
    parser.addOptions({targetOption, listenOption, portOption, lossOption, delayOption, jitterOption, duplicateOption,
                       corruptOption, seedOption, cutAfterOption, cutForOption, reportOption});
    parser.process(app);

    const QString target = parser.value(targetOption);
    const qsizetype colon = target.lastIndexOf(QLatin1Char(':'));
    const QHostAddress targetAddress(colon > 0 ? target.left(colon) : QString());
    const quint16 targetPort = colon > 0 ? static_cast<quint16>(target.mid(colon + 1).toUInt()) : 0;
    if (targetAddress.isNull() || targetPort == 0) {
        out() << "kcpnet-relay: --target must be an IP address and port, e.g. 127.0.0.1:4000" << Qt::endl;
        return 2;
    }

    KcpUdpRelay relay;
    relay.setSeed(parser.value(seedOption).toUInt());
    KcpUdpRelay::Impairment impairment;
    impairment.lossPercent = parser.value(lossOption).toDouble();
    impairment.delayMs = parser.value(delayOption).toInt();
    impairment.jitterMs = parser.value(jitterOption).toInt();
    impairment.duplicatePercent = parser.value(duplicateOption).toDouble();
    impairment.corruptPercent = parser.value(corruptOption).toDouble();
    relay.setImpairment(impairment);
    relay.setTarget(targetAddress, targetPort);
    if (!relay.listen(QHostAddress(parser.value(listenOption)),
                      static_cast<quint16>(parser.value(portOption).toUInt()))) {
        out() << "kcpnet-relay: cannot listen: " << relay.errorString() << Qt::endl;
        return 1;
    }
    out() << "kcpnet-relay: listening on port " << relay.port() << ", forwarding to " << target << " (loss "
          << impairment.lossPercent << " %, delay " << impairment.delayMs << " ms, jitter " << impairment.jitterMs
          << " ms, duplicate " << impairment.duplicatePercent << " %, corrupt " << impairment.corruptPercent << " %)"
          << Qt::endl;

    // The scheduled outage: watch the forwarded byte count, cut once it passes the mark, heal after --cut-for.
    QTimer cutWatch;
    if (parser.isSet(cutAfterOption)) {
        const quint64 cutAfter = parser.value(cutAfterOption).toULongLong();
        const int cutFor = std::max(0, parser.value(cutForOption).toInt());
        cutWatch.setInterval(5);
        QObject::connect(&cutWatch, &QTimer::timeout, &relay, [&relay, &cutWatch, cutAfter, cutFor] {
            const quint64 bytes = relay.counters(KcpUdpRelay::ClientToServer).bytesForwarded;
            if (bytes < cutAfter)
                return;
            cutWatch.stop();
            relay.cut();
            out() << "kcpnet-relay: link cut after " << bytes << " bytes, for " << cutFor << " ms" << Qt::endl;
            QTimer::singleShot(cutFor, &relay, [&relay] {
                relay.heal();
                out() << "kcpnet-relay: link healed" << Qt::endl;
            });
        });
        cutWatch.start();
    }

    QTimer report;
    if (const int seconds = parser.value(reportOption).toInt(); seconds > 0) {
        QObject::connect(&report, &QTimer::timeout, &relay, [&relay] { printCounters(relay); });
        report.start(seconds * 1000);
    }

    // SIGINT / SIGTERM: print the counters, then quit normally.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalFds) != 0) {
        out() << "kcpnet-relay: socketpair failed" << Qt::endl;
        return 1;
    }
    QSocketNotifier signalNotifier(signalFds[1], QSocketNotifier::Read);
    QObject::connect(&signalNotifier, &QSocketNotifier::activated, &app, [&relay] {
        char byte;
        [[maybe_unused]] const auto n = ::read(signalFds[1], &byte, 1);
        printCounters(relay);
        QCoreApplication::quit();
    });
    std::signal(SIGINT, onUnixSignal);
    std::signal(SIGTERM, onUnixSignal);

    return app.exec();
}
