// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The tunnel server's stream life cycle, driven by a hand-made smux client over a real KCP session on 127.0.0.1:
// what a peer that loses a FIN (kcptun's smux can, see MuxSession::awaitPeerFin) gets from us.

#include "smuxframe.h"
#include "tunnel.h"

#include <QKcpConfig>
#include <QKcpSocket>
#include <QTcpServer>
#include <QTest>

#include <map>

using namespace tunnel;

class tst_TunnelStreams : public QObject
{
    Q_OBJECT

private slots:
    void finResentUntilAnswered();
};

namespace {

// A TCP port on 127.0.0.1 that nobody listens on (bound and released: refused from then on, barring a reuse race).
quint16 closedTcpPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = probe.serverPort();
    probe.close();
    return port;
}

TunnelOptions plainOptions(TunnelOptions::Role role)
{
    TunnelOptions o;
    o.role = role;
    o.crypt = QStringLiteral("none");
    o.noComp = true;
    o.dataShards = 0;
    o.parityShards = 0;
    o.quiet = true;
    return o;
}

} // namespace

// Two streams to a target that refuses: the server closes both with FIN at once. Stream 3's FIN is "lost" (never
// answered): it must come again, three times in all, then no more. Stream 5's FIN is answered: it must not come again.
void tst_TunnelStreams::finResentUntilAnswered()
{
    const quint16 target = closedTcpPort();
    QVERIFY(target != 0);
    TunnelOptions so = plainOptions(TunnelOptions::Server);
    so.listen = QStringLiteral("127.0.0.1:0");
    so.remote = QStringLiteral("127.0.0.1:%1").arg(target);
    TunnelServer server(so);
    QString error;
    QVERIFY2(server.start(&error), qPrintable(error));

    QKcpConfig config;
    QVERIFY2(makeKcpConfig(plainOptions(TunnelOptions::Client), &config, &error), qPrintable(error));
    QKcpSocket kcp;
    kcp.setConfig(config);
    std::map<quint32, int> fins;
    smux::FrameParser parser(1);
    QByteArray answers;
    connect(&kcp, &QKcpSocket::readyRead, &kcp, [&] {
        parser.feed(kcp.readAll());
        smux::Frame f;
        while (parser.next(&f) == smux::FrameParser::Ok) {
            if (f.cmd != smux::Fin)
                continue;
            if (++fins[f.sid] == 1 && f.sid == 5) {
                answers.clear();
                smux::appendFrame(answers, 1, smux::Fin, 5);
                kcp.write(answers);
            }
        }
    });
    kcp.connectToHost(QHostAddress::LocalHost, server.listenPort());
    QByteArray open;
    smux::appendFrame(open, 1, smux::Syn, 3);
    smux::appendFrame(open, 1, smux::Syn, 5);
    QCOMPARE(kcp.write(open), qint64(open.size()));

    QTRY_COMPARE_WITH_TIMEOUT(fins[5], 1, 5000);
    // Stream 3: the first FIN and three more (after 0.5, 1.5 and 3.5 s). By then stream 5's resend, due after
    // 0.5 s, would long have come had the answer not cancelled it.
    QTRY_COMPARE_WITH_TIMEOUT(fins[3], 4, 10000);
    QCOMPARE(fins[5], 1);
    QCOMPARE(server.totals().finsResent, quint64(3));
    QCOMPARE(server.totals().streamsOpened, quint64(2));
    QCOMPARE(server.totals().streamsClosed, quint64(2));
}

QTEST_MAIN(tst_TunnelStreams)
#include "tst_tunnelstreams.moc"
