// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The monitor's charts receive the recorded points: the four live charts of a session and of the totals, the
// time window, pause, synchronised zoom, the trace graph, and the cost of a 10 Hz refresh with 100 sessions.

#include "chartpanel.h"
#include "language.h"
#include "recorder.h"
#include "scriptedfeed.h"
#include "sessionmodel.h"
#include "statcard.h"
#include "theme.h"
#include "timechart.h"
#include "tracepanel.h"

#include <QtCharts/qchart.h>
#include <QtCharts/qscatterseries.h>
#include <QtCharts/qchartview.h>
#include <QtCharts/qlineseries.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qelapsedtimer.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qlabel.h>

using namespace kcpmon;

namespace {
// Feeds `count` snapshots 100 ms apart ending now, for `sessions` sessions.
void feed(Recorder &rec, int ep, int sessions, int count)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    std::vector<ScriptedSession> list{std::size_t(sessions)};
    for (int i = 0; i < count; ++i) {
        for (int s = 0; s < sessions; ++s) {
            ScriptedSession &x = list[std::size_t(s)];
            x.id = quint64(s + 1);
            x.peer = QStringLiteral("127.0.0.1:%1").arg(40000 + s);
            x.bytesSent += quint64(1000 * (s + 1));
            x.bytesReceived += 500;
            x.segmentsSent += 10;
            x.rtxFast += quint64(i % 4 == 0);
            x.srtt = 20 + (i % 10);
            x.rto = 60 + (i % 10);
            x.cwnd = 64 + i % 32;
            x.inFlight = i % 16;
        }
        rec.ingest(ep, scriptedSnapshot(qint64(i) * 100, list), now - qint64(count - 1 - i) * 100);
    }
}
} // namespace

class tst_MonitorCharts : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void chartsReceivePoints();
    void encryptionDetail();
    void windowPauseZoom();
    void traceGraph();
    void sparklines();
    void hundredSessionsAtTenHertz();
};

void tst_MonitorCharts::chartsReceivePoints()
{
    Recorder rec;
    ChartPanel panel(&rec);
    panel.resize(900, 600);
    panel.show();
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    feed(rec, ep, 3, 50);
    panel.refresh();
    // Totals first.
    for (int c = 0; c < ChartPanel::ChartCount; ++c)
        QVERIFY2(panel.pointCount(ChartPanel::ChartId(c)) >= 40, qPrintable(QString::number(c)));
    // Then one session.
    panel.setSessionKey(Recorder::makeKey(ep, 2));
    for (int c = 0; c < ChartPanel::ChartCount; ++c)
        QCOMPARE(panel.pointCount(ChartPanel::ChartId(c)), 50);
    auto *rtt = panel.chart(ChartPanel::RttChart);
    const auto series = rtt->chart()->series();
    QVERIFY(series.size() >= 3);
    // The SRTT line carries the recorded values.
    QLineSeries *srtt = nullptr;
    for (QAbstractSeries *s : series) {
        if (s->name() == QLatin1String("SRTT"))
            srtt = qobject_cast<QLineSeries *>(s);
    }
    QVERIFY(srtt);
    QCOMPARE(srtt->at(srtt->count() - 1).y(), 20.0 + 49 % 10);
    // Throughput of session 2: 2000 bytes per 100 ms = 20 kB/s, shown in kB/s.
    auto *tp = panel.chart(ChartPanel::ThroughputChart);
    QLineSeries *out = nullptr;
    for (QAbstractSeries *s : tp->chart()->series()) {
        if (s->name() == QLatin1String("Out"))
            out = qobject_cast<QLineSeries *>(s);
    }
    QVERIFY(out);
    QVERIFY(qAbs(out->at(out->count() - 1).y() - 20.0) < 0.01);
    // An unknown session shows nothing (and does not crash).
    panel.setSessionKey(Recorder::makeKey(ep, 99));
    QCOMPARE(panel.pointCount(ChartPanel::RttChart), 0);
    QVERIFY(!panel.renderImage().isNull());
}

void tst_MonitorCharts::encryptionDetail()
{
    Language language; // the English plural forms
    QCOMPARE(language.apply(QStringLiteral("en")), QStringLiteral("en"));
    Recorder rec;
    ChartPanel panel(&rec);
    panel.resize(900, 600);
    panel.show();
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    ScriptedSession a, b, c;
    a.id = 1;
    a.encrypted = true;
    b.id = 2;
    b.peer = QStringLiteral("127.0.0.1:40002");
    c.id = 3;
    c.peer = QStringLiteral("127.0.0.1:40003");
    c.encrypted = true;
    for (int i = 0; i <= 4; ++i) {
        a.dropsUnauthentic = quint64(i);
        a.dropsReplayed = quint64(i / 2);
        rec.ingest(ep, scriptedSnapshot(i * 100, {a, b, c}), 5000 + i * 100);
    }
    auto detailLabel = [&panel]() -> QLabel * {
        const auto labels = panel.findChildren<QLabel *>();
        for (QLabel *l : labels) {
            if (l->text() == panel.detailText() && !l->text().isEmpty())
                return l;
        }
        return nullptr;
    };
    const QColor normal = panel.palette().color(QPalette::WindowText);

    // All sessions: how many are encrypted, and what their encryption refused.
    panel.refresh();
    QCOMPARE(panel.detailText(), QStringLiteral("2 of 3 sessions encrypted · failed authentication 4 · replayed 2"));
    QVERIFY(detailLabel());
    QCOMPARE(detailLabel()->palette().color(QPalette::WindowText), theme::health(Health::Warning));

    // The encrypted session under attack: amber, the counters.
    panel.setSessionKey(Recorder::makeKey(ep, 1));
    QCOMPARE(panel.detailText(), QStringLiteral("Encrypted · failed authentication 4 · replayed 2"));
    QCOMPARE(detailLabel()->palette().color(QPalette::WindowText), theme::health(Health::Warning));
    QVERIFY(detailLabel()->toolTip().startsWith(QLatin1String("Encrypted (pre-shared key or DTLS)")));
    // An encrypted session that nobody attacks: zeros, in the normal colour.
    panel.setSessionKey(Recorder::makeKey(ep, 3));
    QCOMPARE(panel.detailText(), QStringLiteral("Encrypted · failed authentication 0 · replayed 0"));
    QCOMPARE(detailLabel()->palette().color(QPalette::WindowText), normal);
    // A plain session: no counters that cannot move.
    panel.setSessionKey(Recorder::makeKey(ep, 2));
    QCOMPARE(panel.detailText(), QStringLiteral("Not encrypted"));
    QCOMPARE(detailLabel()->toolTip(), QStringLiteral("Not encrypted"));
    // An ended session: nothing.
    panel.setSessionKey(Recorder::makeKey(ep, 99));
    QVERIFY(panel.detailText().isEmpty());
}

void tst_MonitorCharts::windowPauseZoom()
{
    Recorder rec;
    ChartPanel panel(&rec);
    panel.resize(900, 600);
    panel.show();
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    feed(rec, ep, 1, 10);
    panel.setSessionKey(Recorder::makeKey(ep, 1));
    QCOMPARE(panel.pointCount(ChartPanel::RttChart), 10);
    panel.setPaused(true);
    feed(rec, ep, 1, 10); // same ids: the session goes on
    panel.refresh();
    QCOMPARE(panel.pointCount(ChartPanel::RttChart), 10); // frozen
    panel.setPaused(false);
    QVERIFY(panel.pointCount(ChartPanel::RttChart) > 10);
    panel.setWindowMinutes(5);
    QCOMPARE(panel.windowMinutes(), 5);
    panel.setWindowMinutes(99);
    QCOMPARE(panel.windowMinutes(), 30);

    // Zooming one chart zooms all of them; reset follows again.
    QSignalSpy zoom(&panel, &ChartPanel::zoomChanged);
    const auto range = panel.chart(ChartPanel::RttChart)->timeRange();
    const qint64 mid = (range.first + range.second) / 2;
    Q_EMIT panel.chart(ChartPanel::LossChart)->zoomed(mid - 500, mid + 500);
    QVERIFY(panel.isZoomed());
    QCOMPARE(zoom.size(), 1);
    QCOMPARE(panel.chart(ChartPanel::ThroughputChart)->timeRange(), qMakePair(mid - 500, mid + 500));
    panel.resetZoom();
    QVERIFY(!panel.isZoomed());
    QCOMPARE(zoom.size(), 2);
}

void tst_MonitorCharts::traceGraph()
{
    QByteArray jsonl = "{\"kcpnet_trace\":1,\"session\":5,\"peer\":\"127.0.0.1:1\",\"events\":7}\n";
    jsonl += "{\"t\":10,\"ev\":\"sent\",\"sn\":0,\"len\":1000,\"xmit\":1}\n";
    jsonl += "{\"t\":11,\"ev\":\"sent\",\"sn\":1,\"len\":1000,\"xmit\":1}\n";
    jsonl += "{\"t\":40,\"ev\":\"acked\",\"sn\":0,\"una\":1}\n";
    jsonl += "{\"t\":250,\"ev\":\"retransmit_timeout\",\"sn\":1,\"len\":1000,\"xmit\":2}\n";
    jsonl += "{\"t\":260,\"ev\":\"retransmit_fast\",\"sn\":1,\"len\":1000,\"xmit\":3}\n";
    jsonl += "{\"t\":280,\"ev\":\"acked\",\"sn\":1,\"una\":2}\n";
    jsonl += "{\"t\":281,\"ev\":\"rtt_sample\",\"rtt\":30,\"srtt\":30,\"rto\":130}\n";
    jsonl += "not json\n";
    QString error;
    const Trace t = Trace::parse(jsonl, &error);
    QCOMPARE(int(t.events.size()), 7);
    QVERIFY(!error.isEmpty());
    QCOMPARE(t.header.value(QLatin1String("session")).toInt(), 5);
    QCOMPARE(t.count(QStringLiteral("sent")), 2);
    TracePanel panel;
    panel.resize(900, 500);
    panel.show();
    panel.setTrace(t, jsonl);
    int sent = -1, rtx = 0, acked = -1;
    for (QAbstractSeries *s : panel.view()->chart()->series()) {
        auto *xy = qobject_cast<QXYSeries *>(s);
        QVERIFY(xy);
        if (s->name() == QLatin1String("Sent"))
            sent = int(xy->count());
        else if (s->name().startsWith(QLatin1String("Retransmitted")))
            rtx += int(xy->count());
        else if (s->name().startsWith(QLatin1String("Acknowledged")))
            acked = int(xy->count());
    }
    QCOMPARE(sent, 2);
    QCOMPARE(rtx, 2);
    QCOMPARE(acked, 3); // a step: (40,1), (280,1), (280,2)
    const QString png = QDir::temp().filePath(QStringLiteral("kcpnet-monitor-test-trace.png"));
    QVERIFY(panel.exportPng(png));
    QVERIFY(QImage(png).width() > 100);
    QFile::remove(png);
}

void tst_MonitorCharts::sparklines()
{
    StatCard card;
    card.setTitle(QStringLiteral("T"));
    card.setValue(QStringLiteral("12 ms"));
    card.setSeries({1, 2, 3, 2, 1});
    QCOMPARE(card.value(), QStringLiteral("12 ms"));
    QCOMPARE(card.sparkline()->values().size(), std::size_t(5));
    card.resize(200, 100);
    QVERIFY(!card.grab().isNull());
}

void tst_MonitorCharts::hundredSessionsAtTenHertz()
{
    // 100 sessions, 10 snapshots a second for 30 s of data, the table model and the charts updated on each one:
    // the work of one update must fit comfortably in the 100 ms period.
    Recorder rec;
    SessionModel model(&rec);
    SessionFilterModel proxy;
    proxy.setSourceModel(&model);
    proxy.sort(SessionModel::OutColumn, Qt::DescendingOrder);
    ChartPanel panel(&rec);
    panel.resize(1200, 500);
    panel.show();
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    feed(rec, ep, 100, 200);
    panel.setSessionKey(Recorder::makeKey(ep, 42));
    QCOMPARE(model.rowCount(), 100);
    std::vector<ScriptedSession> list(std::size_t{100});
    for (int s = 0; s < 100; ++s)
        list[std::size_t(s)].id = quint64(s + 1);
    const int rounds = 100;
    QElapsedTimer timer;
    timer.start();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < rounds; ++i) {
        for (ScriptedSession &x : list) {
            x.bytesSent += 5000;
            x.segmentsSent += 5;
        }
        rec.ingest(ep, scriptedSnapshot(100000 + i * 100, list), now + i * 100);
        panel.refresh();
        panel.repaint();
    }
    const double perUpdateMs = double(timer.elapsed()) / rounds;
    qInfo("one 10 Hz update with 100 sessions: %.2f ms", perUpdateMs);
    QVERIFY2(perUpdateMs < 60.0, qPrintable(QString::number(perUpdateMs)));
    QVERIFY(panel.pointCount(ChartPanel::RttChart) > 0);
}

QTEST_MAIN(tst_MonitorCharts)
#include "tst_monitorcharts.moc"
