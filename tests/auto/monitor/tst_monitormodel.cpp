// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The monitor's data path against a scripted metrics feed: snapshot parsing, rates from counter deltas,
// the sessions table model (values, health colours, rows added and removed), sorting and filtering, the CSV
// export and the number formats.

#include "chartpanel.h"
#include "exporter.h"
#include "format.h"
#include "recorder.h"
#include "scriptedfeed.h"
#include "sessionmodel.h"
#include "theme.h"

#include <QtCore/qbuffer.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qlocale.h>
#include <QtGui/qbrush.h>
#include <QtGui/qguiapplication.h>
#include <QtGui/qicon.h>
#include <QtGui/qimage.h>
#include <QtTest/qabstractitemmodeltester.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qapplication.h>

using namespace kcpmon;

class tst_MonitorModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void parsesSnapshot();
    void olderExporterDefaults();
    void ratesFromCounterDeltas();
    void tableRowsFollowTheFeed();
    void encryptionInTable();
    void padlockShapes();
    void healthColours_data();
    void healthColours();
    void sortAndFilter();
    void historyRings();
    void csvExport();
    void formats();
    void modelTester();
};

void tst_MonitorModel::initTestCase()
{
    QLocale::setDefault(QLocale::c());
}

void tst_MonitorModel::parsesSnapshot()
{
    ScriptedSession s;
    s.id = 7;
    s.bytesSent = 1234;
    s.rtxTimeout = 3;
    s.rtxFast = 4;
    s.dropsChecksum = 2;
    s.dropsUnauthentic = 5;
    s.dropsReplayed = 3;
    s.encrypted = true;
    const Snapshot snap = scriptedSnapshot(5000, {s});
    QVERIFY(snap.valid);
    QCOMPARE(snap.timeMs, 5000);
    QCOMPARE(snap.sessions.size(), 1);
    const SessionInfo &i = snap.sessions[0];
    QCOMPARE(i.id, quint64(7));
    QCOMPARE(i.peer, QStringLiteral("127.0.0.1:40000"));
    QCOMPARE(i.conversation, quint32(1007));
    QCOMPARE(i.srtt, 20.0);
    QCOMPARE(i.counters.bytesSent, quint64(1234));
    QCOMPARE(i.counters.retransmits(), quint64(7));
    QVERIFY(i.encrypted);
    QCOMPARE(i.counters.dropsChecksum, quint64(2));
    QCOMPARE(i.counters.dropsUnauthentic, quint64(5));
    QCOMPARE(i.counters.dropsReplayed, quint64(3));
    QCOMPARE(i.counters.securityDrops(), quint64(8));
    QCOMPARE(i.counters.drops(), quint64(10)); // every reason counts in the total
    QCOMPARE(snap.totals.bytesSent, quint64(1234));
    QCOMPARE(snap.totals.dropsUnauthentic, quint64(5));
    QCOMPARE(snap.totals.dropsReplayed, quint64(3));
    QCOMPARE(snap.totals.drops(), quint64(10));
    QCOMPARE(snap.sources, QStringList{QStringLiteral("server0")});
    QVERIFY(!Snapshot::fromJson(QJsonObject()).valid);
}

void tst_MonitorModel::olderExporterDefaults()
{
    // An exporter from before encryption: no "encrypted", no unauthentic/replayed drops.
    ScriptedSession s;
    s.dropsChecksum = 2;
    s.dropsUnauthentic = 5; // not written
    s.encrypted = true;     // not written
    s.olderExporter = true;
    const QJsonObject json = scriptedSnapshotJson(100, {s});
    const QJsonObject session = json.value(QLatin1String("sessions")).toArray().at(0).toObject();
    QVERIFY(!session.contains(QLatin1String("encrypted")));
    QVERIFY(!session.value(QLatin1String("drops")).toObject().contains(QLatin1String("unauthentic")));
    QVERIFY(!session.value(QLatin1String("drops")).toObject().contains(QLatin1String("replayed")));
    const Snapshot snap = Snapshot::fromJson(json);
    QVERIFY(snap.valid);
    QCOMPARE(snap.sessions.size(), 1);
    const SessionInfo &i = snap.sessions[0];
    QVERIFY(!i.encrypted);
    QCOMPARE(i.counters.dropsUnauthentic, quint64(0));
    QCOMPARE(i.counters.dropsReplayed, quint64(0));
    QCOMPARE(i.counters.drops(), quint64(2));
    QCOMPARE(snap.totals.securityDrops(), quint64(0));

    // In the table: an open padlock and "Not encrypted", the drops those it was told of.
    Recorder rec;
    SessionModel model(&rec);
    rec.ingest(rec.addEndpoint(QStringLiteral("old")), snap, 1000);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, SessionModel::PeerColumn).data(SessionModel::EncryptedRole).toBool(), false);
    QCOMPARE(model.index(0, SessionModel::PeerColumn).data(Qt::DecorationRole).value<QIcon>().cacheKey(),
             theme::padlock(false).cacheKey());
    QVERIFY(model.index(0, SessionModel::PeerColumn).data(Qt::ToolTipRole).toString().contains(QLatin1String("Not encrypted")));
    QCOMPARE(model.index(0, SessionModel::DropsColumn).data(SessionModel::SortRole).toULongLong(), 2ull);
}

void tst_MonitorModel::ratesFromCounterDeltas()
{
    Recorder rec;
    const int ep = rec.addEndpoint(QStringLiteral("test"));
    ScriptedSession s;
    // 10 snapshots 100 ms apart: 100 kB/s out, 50 kB/s in, 10 segments per snapshot of which 1 retransmitted.
    for (int i = 0; i <= 10; ++i) {
        s.bytesSent = quint64(i) * 10000;
        s.bytesReceived = quint64(i) * 5000;
        s.segmentsSent = quint64(i) * 10;
        s.rtxFast = quint64(i);
        rec.ingest(ep, scriptedSnapshot(1000 + i * 100, {s}), 1000000 + i * 100);
    }
    const Track *t = rec.track(Recorder::makeKey(ep, 1));
    QVERIFY(t);
    QVERIFY(qAbs(t->rates.out - 100000) < 1);
    QVERIFY(qAbs(t->rates.in - 50000) < 1);
    QVERIFY(qAbs(t->rates.retransmits - 10) < 0.01);
    QVERIFY(qAbs(t->rates.retransmitPct - 10) < 0.01);
    QVERIFY(qAbs(rec.totalRates().out - 100000) < 1);
    QCOMPARE(rec.meanSrtt(), 20.0);
    QCOMPARE(int(t->history.size()), 11);
    QCOMPARE(t->history.last().t, 1001000);
    // The exporter restarted (time and counters went back): no negative or huge rate.
    s.bytesSent = 10;
    rec.ingest(ep, scriptedSnapshot(50, {s}), 1002000);
    QVERIFY(rec.track(Recorder::makeKey(ep, 1))->rates.out >= 0);
    QVERIFY(rec.track(Recorder::makeKey(ep, 1))->rates.out < 1e6);
}

void tst_MonitorModel::tableRowsFollowTheFeed()
{
    Recorder rec;
    SessionModel model(&rec);
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    ScriptedSession a, b, c;
    a.id = 1;
    b.id = 2;
    b.peer = QStringLiteral("127.0.0.1:40002");
    c.id = 3;
    c.peer = QStringLiteral("10.9.9.9:1");
    rec.ingest(ep, scriptedSnapshot(100, {a, b}), 10000);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.columnCount(), int(SessionModel::ColumnCount));
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.index(1, SessionModel::PeerColumn).data().toString(), QStringLiteral("127.0.0.1:40002"));
    QCOMPARE(model.index(0, SessionModel::StateColumn).data().toString(), QStringLiteral("Connected"));
    QCOMPARE(model.index(0, SessionModel::RtoColumn).data(SessionModel::SortRole).toDouble(), 60.0);
    QCOMPARE(model.index(0, SessionModel::RttColumn).data().toString(), QStringLiteral("20 ± 5"));
    QCOMPARE(model.headerData(SessionModel::PeerColumn, Qt::Horizontal).toString(), QStringLiteral("Peer"));
    QVERIFY(!model.index(0, SessionModel::StateColumn).data(Qt::DecorationRole).isNull());
    QVERIFY(model.index(0, 0).data(Qt::ToolTipRole).toString().contains(QLatin1String("conversation 1001")));

    // Next snapshot: b is gone, c is new, a has moved on.
    a.bytesSent = 100000;
    a.srtt = 33;
    rec.ingest(ep, scriptedSnapshot(1100, {a, c}), 11000);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(inserted.size(), 2);
    QVERIFY(changed.size() >= 2);
    QCOMPARE(model.keyAt(0), Recorder::makeKey(ep, 1));
    QCOMPARE(model.keyAt(1), Recorder::makeKey(ep, 3));
    QCOMPARE(model.index(0, SessionModel::RttColumn).data(SessionModel::SortRole).toDouble(), 33.0);
    QVERIFY(qAbs(model.index(0, SessionModel::OutColumn).data(SessionModel::SortRole).toDouble() - 100000) < 1);
    QCOMPARE(model.index(0, SessionModel::OutColumn).data().toString(), QStringLiteral("100 kB/s"));
    QCOMPARE(model.rowOf(Recorder::makeKey(ep, 3)), 1);

    // A second endpoint adds its rows; the source column names the endpoint then.
    const int ep2 = rec.addEndpoint(QStringLiteral("b"));
    rec.ingest(ep2, scriptedSnapshot(5, {a}), 11000);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(2, SessionModel::SourceColumn).data().toString(), QStringLiteral("b/server0"));
    rec.removeEndpoint(ep2);
    QCOMPARE(model.rowCount(), 2);
    rec.clear();
    QCOMPARE(model.rowCount(), 0);
}

void tst_MonitorModel::encryptionInTable()
{
    Recorder rec;
    SessionModel model(&rec);
    SessionFilterModel proxy;
    proxy.setSourceModel(&model);
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    ScriptedSession a, b;
    a.id = 1;
    a.encrypted = true;
    a.dropsChecksum = 1; // old news: it does not move
    b.id = 2;
    b.peer = QStringLiteral("127.0.0.1:40002");
    // Someone starts sending forged and repeated datagrams to the encrypted session.
    for (int i = 0; i <= 4; ++i) {
        a.dropsUnauthentic = quint64(i);
        a.dropsReplayed = quint64(i / 2);
        a.segmentsSent = b.segmentsSent = quint64(i) * 10;
        rec.ingest(ep, scriptedSnapshot(i * 100, {a, b}), 5000 + i * 100);
    }
    QCOMPARE(model.rowCount(), 2);
    const int ra = model.rowOf(Recorder::makeKey(ep, 1));
    const int rb = model.rowOf(Recorder::makeKey(ep, 2));
    QVERIFY(ra >= 0 && rb >= 0);
    const QModelIndex peerA = model.index(ra, SessionModel::PeerColumn);
    const QModelIndex peerB = model.index(rb, SessionModel::PeerColumn);

    // The padlock beside the peer: closed for the encrypted session, open for the other.
    QCOMPARE(peerA.data(SessionModel::EncryptedRole).toBool(), true);
    QCOMPARE(peerB.data(SessionModel::EncryptedRole).toBool(), false);
    const QIcon lockA = peerA.data(Qt::DecorationRole).value<QIcon>();
    const QIcon lockB = peerB.data(Qt::DecorationRole).value<QIcon>();
    QVERIFY(!lockA.isNull() && !lockB.isNull());
    QCOMPARE(lockA.cacheKey(), theme::padlock(true).cacheKey());
    QCOMPARE(lockB.cacheKey(), theme::padlock(false).cacheKey());
    QCOMPARE(peerA.data().toString(), QStringLiteral("127.0.0.1:40000")); // the text stays the address
    // No other column carries the padlock (the state column keeps its dot).
    QVERIFY(model.index(ra, SessionModel::SourceColumn).data(Qt::DecorationRole).isNull());
    QCOMPARE(model.index(ra, SessionModel::StateColumn).data(Qt::DecorationRole).value<QIcon>().cacheKey(),
             theme::dot(theme::health(Health::Warning)).cacheKey());

    // Tooltips say it in words, and break the drops down.
    const QString tipA = peerA.data(Qt::ToolTipRole).toString();
    const QString tipB = peerB.data(Qt::ToolTipRole).toString();
    QVERIFY2(tipA.contains(QLatin1String("<br>Encrypted (pre-shared key or DTLS)")), qPrintable(tipA));
    QVERIFY2(tipB.contains(QLatin1String("<br>Not encrypted")), qPrintable(tipB));
    QVERIFY(!tipB.contains(QLatin1String("Encrypted (")));
    QVERIFY2(tipA.contains(QLatin1String("dropped 7 (checksum 1, failed authentication 4, replayed 2)")), qPrintable(tipA));
    QVERIFY(!tipB.contains(QLatin1String("dropped"))); // nothing dropped: no line
    QCOMPARE(model.index(ra, SessionModel::DropsColumn).data(Qt::ToolTipRole).toString(), tipA);

    // The drops column counts every reason.
    QCOMPARE(model.index(ra, SessionModel::DropsColumn).data().toString(), QStringLiteral("7"));
    QCOMPARE(model.index(ra, SessionModel::DropsColumn).data(SessionModel::SortRole).toULongLong(), 7ull);
    QCOMPARE(model.index(rb, SessionModel::DropsColumn).data().toString(), QStringLiteral("0"));
    const QString dropsHeader = model.headerData(SessionModel::DropsColumn, Qt::Horizontal, Qt::ToolTipRole).toString();
    QVERIFY(dropsHeader.contains(QLatin1String("failed authentication")));
    QVERIFY(dropsHeader.contains(QLatin1String("replayed")));
    QVERIFY(model.headerData(SessionModel::PeerColumn, Qt::Horizontal, Qt::ToolTipRole).toString().contains(QLatin1String("padlock")));

    // Forged and replayed datagrams arriving make the row amber, with its own reason (not "dropped" in general:
    // the checksum drops did not move).
    const Track *t = rec.track(Recorder::makeKey(ep, 1));
    QVERIFY(qAbs(t->rates.securityDrops - 15.0) < 1e-9); // 6 in 0.4 s
    QCOMPARE(t->rates.drops, t->rates.securityDrops);
    QCOMPARE(peerA.data(SessionModel::HealthRole).toInt(), int(Health::Warning));
    QVERIFY2(tipA.contains(QStringLiteral("• Datagrams fail authentication or are replayed (15 /s)")), qPrintable(tipA));
    QVERIFY(!tipA.contains(QLatin1String("Datagrams are being dropped")));
    QCOMPARE(peerB.data(SessionModel::HealthRole).toInt(), int(Health::Good));

    // "encrypted" in the filter finds the encrypted session only (not the one that is "not encrypted").
    proxy.setText(QStringLiteral("encrypted"));
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.index(0, SessionModel::PeerColumn).data().toString(), QStringLiteral("127.0.0.1:40000"));
    proxy.setText(QString());
    QCOMPARE(proxy.rowCount(), 2);

    // The session report has both.
    const QString report = Exporter::htmlReport(QStringLiteral("r"), t, {}, QImage(), QStringLiteral("a"));
    QVERIFY(report.contains(QLatin1String("<tr><th>Encryption</th><td>Encrypted (pre-shared key or DTLS)</td></tr>")));
    QVERIFY(report.contains(QLatin1String("<tr><th>Drops by the encryption (failed authentication / replayed)</th><td>4 / 2</td></tr>")));
    const QString reportB = Exporter::htmlReport(QStringLiteral("r"), rec.track(Recorder::makeKey(ep, 2)), {}, QImage(), QStringLiteral("a"));
    QVERIFY(reportB.contains(QLatin1String("<tr><th>Encryption</th><td>Not encrypted</td></tr>")));

    // The forgeries stop (the counters stay where they are): the row is healthy again.
    for (int i = 5; i <= 20; ++i)
        rec.ingest(ep, scriptedSnapshot(i * 100, {a, b}), 5000 + i * 100);
    QCOMPARE(rec.track(Recorder::makeKey(ep, 1))->rates.securityDrops, 0.0);
    QCOMPARE(model.index(ra, SessionModel::PeerColumn).data(SessionModel::HealthRole).toInt(), int(Health::Good));
}

void tst_MonitorModel::padlockShapes()
{
    // The padlocks are drawn on a 24 px grid (16 px at 1.5×): look at the pixels that tell them apart.
    const QImage closed = theme::padlock(true).pixmap(QSize(16, 16), 1.5).toImage().convertToFormat(QImage::Format_ARGB32);
    const QImage open = theme::padlock(false).pixmap(QSize(16, 16), 1.5).toImage().convertToFormat(QImage::Format_ARGB32);
    QCOMPARE(closed.size(), QSize(24, 24));
    QCOMPARE(open.size(), QSize(24, 24));
    auto opaque = [](const QImage &img, int x, int y) { return qAlpha(img.pixel(x, y)) > 200; };
    auto clear = [](const QImage &img, int x, int y) { return qAlpha(img.pixel(x, y)) < 40; };
    // Both: a solid body with a keyhole through which the row shows.
    for (const QImage *img : {&closed, &open}) {
        QVERIFY(opaque(*img, 7, 19));
        QVERIFY(opaque(*img, 16, 18));
        QVERIFY(clear(*img, 12, 15));
        QVERIFY(clear(*img, 1, 1));
    }
    // Closed: the shackle's right leg goes down into the body; open: it stands clear of it.
    QVERIFY(opaque(closed, 16, 10));
    QVERIFY(clear(open, 16, 10));
    // Open, the shackle is higher.
    QVERIFY(opaque(open, 12, 1));
    QVERIFY(clear(closed, 12, 1));
    // Colours: the accent for closed, the muted grey for open.
    QCOMPARE(QColor(closed.pixel(7, 19)).rgb(), theme::series(0).rgb());
    QCOMPARE(QColor(open.pixel(7, 19)).rgb(), theme::health(Health::Inactive).rgb());
    // On a selected row (whose highlight may be the accent itself) the padlock takes the highlighted text's
    // colour, the open one translucent.
    const QColor highlightedText = QGuiApplication::palette().color(QPalette::HighlightedText);
    const QImage closedSelected = theme::padlock(true).pixmap(QSize(16, 16), 1.5, QIcon::Selected).toImage().convertToFormat(QImage::Format_ARGB32);
    const QImage openSelected = theme::padlock(false).pixmap(QSize(16, 16), 1.5, QIcon::Selected).toImage().convertToFormat(QImage::Format_ARGB32);
    QCOMPARE(QColor(closedSelected.pixel(7, 19)).rgb(), highlightedText.rgb());
    QCOMPARE(qAlpha(closedSelected.pixel(7, 19)), 255);
    const int a = qAlpha(openSelected.pixel(7, 19));
    QVERIFY2(a > 130 && a < 170, qPrintable(QString::number(a)));
    // Evenly translucent: where the shackle enters the body is no darker than the rest of the body.
    QCOMPARE(qAlpha(openSelected.pixel(8, 11)), a);
    QVERIFY(clear(openSelected, 16, 10));
}

void tst_MonitorModel::healthColours_data()
{
    QTest::addColumn<QString>("state");
    QTest::addColumn<double>("rto");
    QTest::addColumn<int>("rtxPerTen");  // retransmits per 10 segments sent
    QTest::addColumn<qint64>("silentMs");
    QTest::addColumn<int>("health");
    QTest::newRow("good") << QStringLiteral("connected") << 60.0 << 0 << qint64(10) << int(Health::Good);
    QTest::newRow("10% retransmitted") << QStringLiteral("connected") << 60.0 << 1 << qint64(10) << int(Health::Warning);
    QTest::newRow("40% retransmitted") << QStringLiteral("connected") << 60.0 << 4 << qint64(10) << int(Health::Bad);
    QTest::newRow("rto 500") << QStringLiteral("connected") << 500.0 << 0 << qint64(10) << int(Health::Warning);
    QTest::newRow("rto 2000") << QStringLiteral("connected") << 2000.0 << 0 << qint64(10) << int(Health::Bad);
    QTest::newRow("silent 6 s") << QStringLiteral("connected") << 60.0 << 0 << qint64(6000) << int(Health::Bad);
    QTest::newRow("connecting") << QStringLiteral("connecting") << 60.0 << 0 << qint64(10) << int(Health::Warning);
    QTest::newRow("closed") << QStringLiteral("unconnected") << 60.0 << 0 << qint64(10) << int(Health::Inactive);
}

void tst_MonitorModel::healthColours()
{
    QFETCH(QString, state);
    QFETCH(double, rto);
    QFETCH(int, rtxPerTen);
    QFETCH(qint64, silentMs);
    QFETCH(int, health);
    Recorder rec;
    SessionModel model(&rec);
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    ScriptedSession s;
    s.state = state;
    s.rto = rto;
    s.lastReceiveMs = silentMs;
    for (int i = 0; i <= 5; ++i) {
        s.segmentsSent = quint64(i) * 20;
        s.rtxTimeout = quint64(i * rtxPerTen * 2);
        rec.ingest(ep, scriptedSnapshot(i * 200, {s}), 5000 + i * 200);
    }
    const QModelIndex idx = model.index(0, SessionModel::PeerColumn);
    QCOMPARE(idx.data(SessionModel::HealthRole).toInt(), health);
    const QVariant bg = idx.data(Qt::BackgroundRole);
    if (health == int(Health::Warning) || health == int(Health::Bad)) {
        QVERIFY(bg.canConvert<QBrush>());
        QVERIFY(bg.value<QBrush>().color() != QApplication::palette().color(QPalette::Base));
        QVERIFY(idx.data(Qt::ToolTipRole).toString().contains(QStringLiteral("• ")));
    } else {
        QVERIFY(bg.isNull());
    }
    if (health == int(Health::Inactive))
        QVERIFY(idx.data(Qt::ForegroundRole).canConvert<QBrush>());
}

void tst_MonitorModel::sortAndFilter()
{
    Recorder rec;
    SessionModel model(&rec);
    SessionFilterModel proxy;
    proxy.setSourceModel(&model);
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    std::vector<ScriptedSession> list(5);
    for (int i = 0; i < 5; ++i) {
        list[std::size_t(i)].id = quint64(i + 1);
        list[std::size_t(i)].peer = QStringLiteral("127.0.0.1:%1").arg(50000 + i);
        list[std::size_t(i)].srtt = 10.0 * (5 - i);
    }
    list[3].state = QStringLiteral("closing");
    list[4].rto = 3000; // bad
    rec.ingest(ep, scriptedSnapshot(0, list), 1000);
    proxy.sort(SessionModel::RttColumn, Qt::AscendingOrder);
    QCOMPARE(proxy.rowCount(), 5);
    double last = -1;
    for (int r = 0; r < proxy.rowCount(); ++r) {
        const double v = proxy.index(r, SessionModel::RttColumn).data(SessionModel::SortRole).toDouble();
        QVERIFY(v >= last);
        last = v;
    }
    // Updates keep the order (dynamic sort).
    list[0].srtt = 1;
    rec.ingest(ep, scriptedSnapshot(100, list), 1100);
    QCOMPARE(proxy.index(0, SessionModel::PeerColumn).data().toString(), QStringLiteral("127.0.0.1:50000"));
    proxy.setText(QStringLiteral("50002"));
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setText(QStringLiteral("closing"));
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setText(QStringLiteral("server0 127.0.0.1"));
    QCOMPARE(proxy.rowCount(), 5);
    proxy.setText(QString());
    proxy.setUnhealthyOnly(true);
    QCOMPARE(proxy.rowCount(), 2); // the closing one and the bad one
    proxy.setUnhealthyOnly(false);
    QCOMPARE(proxy.rowCount(), 5);
}

void tst_MonitorModel::historyRings()
{
    History h;
    for (int i = 0; i < 4000; ++i) {
        Point p;
        p.t = qint64(i) * 100;
        p.srtt = float(i);
        h.append(p);
    }
    QCOMPARE(h.fine().size(), History::FineCapacity);
    QCOMPARE(h.coarse().size(), std::size_t(400)); // one a second
    // Recent: from the fine ring; older than it reaches: from the coarse one.
    const auto recent = h.since(399000 - 60000);
    QCOMPARE(recent.front().t, 339000);
    const auto all = h.since(0);
    QCOMPARE(all.front().t, 0);
    QCOMPARE(all.size(), std::size_t(400));
    QCOMPARE(int(downsample(h.since(0), 100).size()), 100);
}

void tst_MonitorModel::csvExport()
{
    std::vector<Point> pts(3);
    for (int i = 0; i < 3; ++i) {
        pts[std::size_t(i)].t = 1700000000000 + i * 100;
        pts[std::size_t(i)].srtt = 12.5f;
        pts[std::size_t(i)].rateOut = 1000.0f * float(i);
    }
    QByteArray csv;
    QBuffer buf(&csv);
    QVERIFY(buf.open(QIODevice::WriteOnly));
    QVERIFY(Exporter::writeCsv(pts, &buf));
    const QList<QByteArray> lines = csv.trimmed().split('\n');
    QCOMPARE(lines.size(), 4);
    QCOMPARE(lines[0] + '\n', Exporter::csvHeader());
    const int columns = int(lines[0].split(',').size());
    for (const QByteArray &l : lines)
        QCOMPARE(int(l.split(',').size()), columns);
    QVERIFY(lines[1].startsWith("2023-11-14T22:13:20.000Z,1700000000000,12.5,"));
    QCOMPARE(lines[3].split(',').value(8), QByteArray("2000"));
}

void tst_MonitorModel::formats()
{
    QCOMPARE(Format::rate(0), QStringLiteral("0 B/s"));
    QCOMPARE(Format::rate(1500), QStringLiteral("1.50 kB/s"));
    QCOMPARE(Format::rate(2.5e6), QStringLiteral("2.50 MB/s"));
    QCOMPARE(Format::rate(123.4e6), QStringLiteral("123 MB/s"));
    QCOMPARE(Format::duration(850), QStringLiteral("850 ms"));
    QCOMPARE(Format::duration(12400), QStringLiteral("12.4 s"));
    QCOMPARE(Format::duration(185000), QStringLiteral("3 min 05 s"));
    QCOMPARE(Format::duration(7800000), QStringLiteral("2 h 10 min"));
    QCOMPARE(Format::percent(3.24), QStringLiteral("3.2 %"));
    QCOMPARE(Format::bytes(12e6), QStringLiteral("12.0 MB"));
    QString unit;
    double div = 0;
    Format::rateUnit(5e6, &unit, &div);
    QCOMPARE(unit, QStringLiteral("MB/s"));
    QCOMPARE(div, 1e6);
}

void tst_MonitorModel::modelTester()
{
    Recorder rec;
    SessionModel model(&rec);
    SessionFilterModel proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const int ep = rec.addEndpoint(QStringLiteral("a"));
    for (int round = 0; round < 20; ++round) {
        std::vector<ScriptedSession> list;
        for (int i = 0; i < 10; ++i) {
            if ((i + round) % 3 == 0)
                continue; // sessions come and go
            ScriptedSession s;
            s.id = quint64(i + 1);
            s.bytesSent = quint64(round * 1000 * (i + 1));
            list.push_back(s);
        }
        rec.ingest(ep, scriptedSnapshot(round * 100, list), 1000 + round * 100);
        proxy.sort(round % SessionModel::ColumnCount, round % 2 ? Qt::AscendingOrder : Qt::DescendingOrder);
    }
}

QTEST_MAIN(tst_MonitorModel)
#include "tst_monitormodel.moc"
