// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpnet-tunnel: kcptun-compatible TCP-over-KCP port forwarder (see README.md beside this file).
//
//   kcpnet-tunnel server -l :29900 -t 127.0.0.1:22
//   kcpnet-tunnel client -l :12948 -r vps:29900
//
// Flags follow kcptun's (single or double dash: -key and --key both work). A binary named *client or *server (a
// symlink such as kcpnet-tunnel-client) needs no subcommand.

#include "tunnel.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QSocketNotifier>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int signalFds[2] = {-1, -1};

void onUnixSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(signalFds[0], &byte, 1);
}

void printTotals(const char *role, const tunnel::SessionStats &t)
{
    std::fprintf(stderr,
                 "kcpnet-tunnel %s: streams opened %llu, closed %llu; tcp->kcp %llu bytes, kcp->tcp %llu bytes; "
                 "on the KCP stream out %llu, in %llu bytes; FINs resent %llu\n",
                 role, static_cast<unsigned long long>(t.streamsOpened),
                 static_cast<unsigned long long>(t.streamsClosed), static_cast<unsigned long long>(t.tcpToKcp),
                 static_cast<unsigned long long>(t.kcpToTcp), static_cast<unsigned long long>(t.kcpBytesOut),
                 static_cast<unsigned long long>(t.kcpBytesIn), static_cast<unsigned long long>(t.finsResent));
    std::fflush(stderr);
}

int intValue(const QCommandLineParser &p, const QCommandLineOption &o, bool *ok)
{
    bool good = false;
    const int v = p.value(o).toInt(&good);
    if (!good) {
        std::fprintf(stderr, "kcpnet-tunnel: --%s needs a number, not \"%s\"\n", qPrintable(o.names().constLast()),
                     qPrintable(p.value(o)));
        *ok = false;
    }
    return v;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kcpnet-tunnel"));

    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions); // kcptun's -key, -crypt ...
    parser.setApplicationDescription(
        QStringLiteral("TCP over KCP, wire-compatible with kcptun (smux v1/v2, snappy, kcp-go FEC and ciphers).\n"
                       "  kcpnet-tunnel client -l :12948 -r SERVER:29900 [options]\n"
                       "  kcpnet-tunnel server -l :29900 -t TARGET:PORT [options]"));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("role"), QStringLiteral("client or server"));

    auto opt = [](const QStringList &names, const QString &help, const QString &valueName = QString(),
                  const QString &def = QString()) { return QCommandLineOption(names, help, valueName, def); };
    const auto listenOpt = opt({QStringLiteral("l"), QStringLiteral("localaddr"), QStringLiteral("listen")},
                               QStringLiteral("Listen address (client: TCP, default :12948; server: KCP/UDP, default "
                                              ":29900)."),
                               QStringLiteral("addr"));
    const auto remoteOpt = opt({QStringLiteral("r"), QStringLiteral("remoteaddr")},
                               QStringLiteral("Client: the KCP server address (default vps:29900)."),
                               QStringLiteral("addr"), QStringLiteral("vps:29900"));
    const auto targetOpt = opt({QStringLiteral("t"), QStringLiteral("target")},
                               QStringLiteral("Server: the TCP target (default 127.0.0.1:12948)."),
                               QStringLiteral("addr"), QStringLiteral("127.0.0.1:12948"));
    const auto keyOpt = opt({QStringLiteral("key")}, QStringLiteral("Pre-shared secret (env KCPTUN_KEY)."),
                            QStringLiteral("secret"), QStringLiteral("it's a secrect"));
    const auto cryptOpt =
        opt({QStringLiteral("crypt")}, QStringLiteral("aes, aes-128, aes-192, salsa20, 3des, xor, none (default aes)."),
            QStringLiteral("name"), QStringLiteral("aes"));
    const auto modeOpt = opt({QStringLiteral("mode")}, QStringLiteral("fast3, fast2, fast, normal, manual."),
                             QStringLiteral("mode"), QStringLiteral("fast"));
    const auto connOpt = opt({QStringLiteral("conn")}, QStringLiteral("Client: KCP sessions to the server."),
                             QStringLiteral("n"), QStringLiteral("1"));
    const auto mtuOpt = opt({QStringLiteral("mtu")}, QStringLiteral("UDP packet size (default 1350)."),
                            QStringLiteral("bytes"), QStringLiteral("1350"));
    const auto sndwndOpt =
        opt({QStringLiteral("sndwnd")}, QStringLiteral("Send window in packets (client 128, server 1024)."),
            QStringLiteral("n"), QStringLiteral("0"));
    const auto rcvwndOpt =
        opt({QStringLiteral("rcvwnd")}, QStringLiteral("Receive window in packets (client 512, server 1024)."),
            QStringLiteral("n"), QStringLiteral("0"));
    const auto dsOpt =
        opt({QStringLiteral("ds"), QStringLiteral("datashard")},
            QStringLiteral("Reed-Solomon data shards (default 10)."), QStringLiteral("n"), QStringLiteral("10"));
    const auto psOpt =
        opt({QStringLiteral("ps"), QStringLiteral("parityshard")},
            QStringLiteral("Reed-Solomon parity shards (default 3)."), QStringLiteral("n"), QStringLiteral("3"));
    const auto dscpOpt = opt({QStringLiteral("dscp")}, QStringLiteral("DSCP (6 bits) of the UDP packets."),
                             QStringLiteral("n"), QStringLiteral("0"));
    const auto nocompOpt = opt({QStringLiteral("nocomp")}, QStringLiteral("Disable snappy compression."));
    const auto ackOpt = opt({QStringLiteral("acknodelay")}, QStringLiteral("Accepted; kcpnet always ACKs at once."));
    const auto nodelayOpt = opt({QStringLiteral("nodelay")}, QStringLiteral("--mode manual: nodelay 0/1."),
                                QStringLiteral("n"), QStringLiteral("0"));
    const auto intervalOpt = opt({QStringLiteral("interval")}, QStringLiteral("--mode manual: tick in ms."),
                                 QStringLiteral("ms"), QStringLiteral("50"));
    const auto resendOpt = opt({QStringLiteral("resend")}, QStringLiteral("--mode manual: fast resend skips."),
                               QStringLiteral("n"), QStringLiteral("0"));
    const auto ncOpt = opt({QStringLiteral("nc")}, QStringLiteral("--mode manual: 1 = no congestion control."),
                           QStringLiteral("n"), QStringLiteral("0"));
    const auto sockbufOpt = opt({QStringLiteral("sockbuf")}, QStringLiteral("UDP socket buffer in bytes."),
                                QStringLiteral("bytes"), QStringLiteral("4194304"));
    const auto smuxverOpt = opt({QStringLiteral("smuxver")}, QStringLiteral("smux version, 1 or 2 (default 1)."),
                                QStringLiteral("n"), QStringLiteral("1"));
    const auto smuxbufOpt =
        opt({QStringLiteral("smuxbuf")}, QStringLiteral("Per-session bytes for TCP before KCP reading stops."),
            QStringLiteral("bytes"), QStringLiteral("4194304"));
    const auto streambufOpt = opt({QStringLiteral("streambuf")}, QStringLiteral("smux v2 per-stream window."),
                                  QStringLiteral("bytes"), QStringLiteral("2097152"));
    const auto keepaliveOpt =
        opt({QStringLiteral("keepalive")}, QStringLiteral("Seconds between smux NOPs (0 = off; default 10)."),
            QStringLiteral("s"), QStringLiteral("10"));
    const auto keepaliveTimeoutOpt = opt({QStringLiteral("keepalive-timeout")},
                                         QStringLiteral("kcpnet extension: seconds of silence before a session is "
                                                        "closed (smux's fixed 30)."),
                                         QStringLiteral("s"), QStringLiteral("30"));
    const auto quietOpt = opt({QStringLiteral("quiet")}, QStringLiteral("No stream open/close messages."));
    const auto statsOpt = opt({QStringLiteral("stats")}, QStringLiteral("Print totals every N seconds."),
                              QStringLiteral("s"), QStringLiteral("0"));
    // kcptun flags accepted for command-line compatibility but without effect here.
    const auto autoexpireOpt = opt({QStringLiteral("autoexpire")}, QStringLiteral("Ignored."), QStringLiteral("s"));
    const auto scavengeOpt = opt({QStringLiteral("scavengettl")}, QStringLiteral("Ignored."), QStringLiteral("s"));
    const auto snmplogOpt = opt({QStringLiteral("snmplog")}, QStringLiteral("Ignored."), QStringLiteral("file"));
    const auto snmpperiodOpt = opt({QStringLiteral("snmpperiod")}, QStringLiteral("Ignored."), QStringLiteral("s"));
    const auto pprofOpt = opt({QStringLiteral("pprof")}, QStringLiteral("Ignored."));
    const auto tcpOpt = opt({QStringLiteral("tcp")}, QStringLiteral("Not supported (kcptun's raw-TCP emulation)."));
    const auto configOpt =
        opt({QStringLiteral("c")}, QStringLiteral("Not supported (kcptun's JSON config)."), QStringLiteral("file"));
    for (const auto *o : {&listenOpt,     &remoteOpt,   &targetOpt,     &keyOpt,       &cryptOpt,
                          &modeOpt,       &connOpt,     &mtuOpt,        &sndwndOpt,    &rcvwndOpt,
                          &dsOpt,         &psOpt,       &dscpOpt,       &nocompOpt,    &ackOpt,
                          &nodelayOpt,    &intervalOpt, &resendOpt,     &ncOpt,        &sockbufOpt,
                          &smuxverOpt,    &smuxbufOpt,  &streambufOpt,  &keepaliveOpt, &keepaliveTimeoutOpt,
                          &quietOpt,      &statsOpt,    &autoexpireOpt, &scavengeOpt,  &snmplogOpt,
                          &snmpperiodOpt, &pprofOpt,    &tcpOpt,        &configOpt})
        parser.addOption(*o);
    parser.process(app);

    QString role;
    const QStringList positional = parser.positionalArguments();
    if (!positional.isEmpty())
        role = positional.constFirst();
    else {
        const QString self = QFileInfo(QCoreApplication::applicationFilePath()).fileName();
        if (self.endsWith(QLatin1String("client")))
            role = QStringLiteral("client");
        else if (self.endsWith(QLatin1String("server")))
            role = QStringLiteral("server");
    }
    if (role != QLatin1String("client") && role != QLatin1String("server")) {
        std::fprintf(stderr, "kcpnet-tunnel: say \"client\" or \"server\" (see --help)\n");
        return 2;
    }
    if (parser.isSet(tcpOpt) || parser.isSet(configOpt)) {
        std::fprintf(stderr, "kcpnet-tunnel: --tcp and -c are not supported\n");
        return 2;
    }
    for (const auto *o : {&autoexpireOpt, &scavengeOpt, &snmplogOpt, &snmpperiodOpt, &pprofOpt, &ackOpt}) {
        if (parser.isSet(*o))
            std::fprintf(stderr, "kcpnet-tunnel: --%s has no effect here\n", qPrintable(o->names().constFirst()));
    }

    const bool client = role == QLatin1String("client");
    tunnel::TunnelOptions o;
    o.role = client ? tunnel::TunnelOptions::Client : tunnel::TunnelOptions::Server;
    o.listen = parser.isSet(listenOpt) ? parser.value(listenOpt)
                                       : (client ? QStringLiteral(":12948") : QStringLiteral(":29900"));
    o.remote = client ? parser.value(remoteOpt) : parser.value(targetOpt);
    o.key = parser.value(keyOpt);
    if (!parser.isSet(keyOpt) && qEnvironmentVariableIsSet("KCPTUN_KEY"))
        o.key = qEnvironmentVariable("KCPTUN_KEY");
    o.crypt = parser.value(cryptOpt);
    o.mode = parser.value(modeOpt);
    bool ok = true;
    o.conn = intValue(parser, connOpt, &ok);
    o.mtu = intValue(parser, mtuOpt, &ok);
    o.sndwnd = intValue(parser, sndwndOpt, &ok);
    o.rcvwnd = intValue(parser, rcvwndOpt, &ok);
    o.dataShards = intValue(parser, dsOpt, &ok);
    o.parityShards = intValue(parser, psOpt, &ok);
    o.dscp = intValue(parser, dscpOpt, &ok);
    o.noComp = parser.isSet(nocompOpt);
    o.noDelay = intValue(parser, nodelayOpt, &ok);
    o.interval = intValue(parser, intervalOpt, &ok);
    o.resend = intValue(parser, resendOpt, &ok);
    o.noCongestion = intValue(parser, ncOpt, &ok);
    o.sockBuf = intValue(parser, sockbufOpt, &ok);
    o.smuxVersion = intValue(parser, smuxverOpt, &ok);
    o.smuxBuf = intValue(parser, smuxbufOpt, &ok);
    o.streamBuf = intValue(parser, streambufOpt, &ok);
    o.keepAlive = intValue(parser, keepaliveOpt, &ok);
    o.keepAliveTimeout = intValue(parser, keepaliveTimeoutOpt, &ok);
    o.quiet = parser.isSet(quietOpt);
    const int statsEvery = intValue(parser, statsOpt, &ok);
    if (!ok)
        return 2;

    std::fprintf(stderr,
                 "kcpnet-tunnel %s: listen %s, %s %s, crypt %s, mode %s, mtu %d, sndwnd %d, rcvwnd %d, ds %d, ps %d, "
                 "compression %s, smux v%d, keepalive %d s\n",
                 qPrintable(role), qPrintable(o.listen), client ? "remote" : "target", qPrintable(o.remote),
                 qPrintable(o.crypt), qPrintable(o.mode), o.mtu, o.effectiveSndwnd(), o.effectiveRcvwnd(), o.dataShards,
                 o.parityShards, o.noComp ? "off" : "on", o.smuxVersion, o.keepAlive);

    std::unique_ptr<tunnel::TunnelClient> tunnelClient;
    std::unique_ptr<tunnel::TunnelServer> tunnelServer;
    QString error;
    bool started;
    if (client) {
        tunnelClient = std::make_unique<tunnel::TunnelClient>(o);
        started = tunnelClient->start(&error);
    } else {
        tunnelServer = std::make_unique<tunnel::TunnelServer>(o);
        started = tunnelServer->start(&error);
    }
    if (!started) {
        std::fprintf(stderr, "kcpnet-tunnel: %s\n", qPrintable(error));
        return 1;
    }

    auto totals = [&] { return client ? tunnelClient->totals() : tunnelServer->totals(); };
    const QByteArray roleName = role.toLatin1();

    QTimer statsTimer;
    if (statsEvery > 0) {
        QObject::connect(&statsTimer, &QTimer::timeout, [&] { printTotals(roleName.constData(), totals()); });
        statsTimer.start(statsEvery * 1000);
    }

    // SIGINT/SIGTERM: print the totals and leave through the event loop (sockets closed in order).
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalFds) == 0) {
        auto *notifier = new QSocketNotifier(signalFds[1], QSocketNotifier::Read, &app);
        QObject::connect(notifier, &QSocketNotifier::activated, &app, [&] {
            char byte;
            [[maybe_unused]] const auto n = ::read(signalFds[1], &byte, 1);
            QCoreApplication::quit();
        });
        std::signal(SIGINT, onUnixSignal);
        std::signal(SIGTERM, onUnixSignal);
    }
    const int rc = app.exec();
    printTotals(roleName.constData(), totals());
    return rc;
}
