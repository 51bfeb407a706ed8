// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Renders the monitor's main window (1280×800) with a live in-process demo feed and writes the screenshots of
// docs/screenshots/ (monitor.png, monitor-trace.png, monitor-lab.png, monitor-dark.png) into the source tree.
// Each must be a real picture: checked by pixel variance and the number of distinct colours.

#include "chartpanel.h"
#include "demo.h"
#include "labpanel.h"
#include "language.h"
#include "mainwindow.h"
#include "metricsclient.h"
#include "recorder.h"
#include "sessionmodel.h"
#include "theme.h"
#include "tracepanel.h"

#include <QtCore/qdir.h>
#include <QtCore/qtemporarydir.h>
#include <QtCore/qset.h>
#include <QtCore/qsettings.h>
#include <QtCore/qstandardpaths.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qapplication.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qtabwidget.h>
#include <QtWidgets/qstylefactory.h>
#include <QtWidgets/qtableview.h>

using namespace kcpmon;

namespace {

struct PixelStats {
    double variance = 0;
    int colours = 0;
};

PixelStats pixelStats(const QImage &image)
{
    const QImage img = image.convertToFormat(QImage::Format_RGB32);
    double sum = 0, sum2 = 0;
    qint64 n = 0;
    QSet<QRgb> colours;
    for (int y = 0; y < img.height(); y += 2) {
        const auto *line = reinterpret_cast<const QRgb *>(img.constScanLine(y));
        for (int x = 0; x < img.width(); x += 2) {
            const QRgb p = line[x];
            const double l = 0.299 * qRed(p) + 0.587 * qGreen(p) + 0.114 * qBlue(p);
            sum += l;
            sum2 += l * l;
            ++n;
            if (colours.size() < 5000)
                colours.insert(p & 0xf8f8f8);
        }
    }
    PixelStats s;
    const double mean = sum / double(n);
    s.variance = sum2 / double(n) - mean * mean;
    s.colours = int(colours.size());
    return s;
}

void saveShot(const QImage &image, const QString &name)
{
    QDir().mkpath(QStringLiteral(KCPNET_SCREENSHOT_DIR));
    const QString path = QStringLiteral(KCPNET_SCREENSHOT_DIR "/%1").arg(name);
    QVERIFY2(image.save(path, "PNG"), qPrintable(path));
    const PixelStats s = pixelStats(image);
    qInfo("%s: %dx%d, luminance variance %.0f, %d colours", qPrintable(path), image.width(), image.height(), s.variance, s.colours);
    QVERIFY2(s.variance > 200, qPrintable(QString::number(s.variance)));
    QVERIFY2(s.colours > 60, qPrintable(QString::number(s.colours)));
}

quint64 keyOfSource(MainWindow &w, const QString &source)
{
    for (quint64 key : w.recorder()->keys()) {
        const Track *t = w.recorder()->track(key);
        if (t && t->info.source == source)
            return key;
    }
    return 0;
}

} // namespace

class tst_MonitorScreenshot : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void liveDemo();
    void settingsPersist();
    void cleanupTestCase();

private:
    Language *m_language = nullptr;
};

void tst_MonitorScreenshot::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("kcpnet-tests"));
    QSettings().clear(); // start from the defaults whatever an earlier run saved
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    m_language = new Language(this);
    m_language->apply(QStringLiteral("en"));
}

void tst_MonitorScreenshot::liveDemo()
{
    MainWindow w(m_language);
    w.resize(1280, 800);
    w.setCurrentTab(0);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.startDemo(6));
    QVERIFY(w.demo()->isRunning());

    // Twelve sessions (six clients and their server ends), and about 12 s of history for the charts.
    QTRY_COMPARE_WITH_TIMEOUT(w.sessionModel()->rowCount(), 12, 30000);
    // Wait on the span of the history, not on a number of points: a loaded machine polls less often.
    auto span = [](const History &h) { return h.isEmpty() ? 0 : h.last().t - h.firstTime(); };
    QTRY_VERIFY_WITH_TIMEOUT(span(w.recorder()->totals()) >= 11000 && w.recorder()->totals().size() >= 30, 40000);
    const quint64 lossy = keyOfSource(w, QStringLiteral("bulk-turbo-lossy"));
    QVERIFY(lossy);
    w.selectSession(lossy);
    QCOMPARE(w.chartPanel()->sessionKey(), lossy);
    QTRY_VERIFY_WITH_TIMEOUT(w.chartPanel()->pointCount(ChartPanel::RttChart) >= 30, 5000);
    QVERIFY(w.chartPanel()->pointCount(ChartPanel::ThroughputChart) >= 30);
    QTRY_VERIFY_WITH_TIMEOUT(w.recorder()->track(lossy)->info.counters.retransmits() > 0, 10000);
    QTest::qWait(150); // one more 10 Hz refresh so the selected session's charts are drawn
    saveShot(w.grab().toImage(), QStringLiteral("monitor.png"));

    // Exports of the selected session: CSV of the visible series, the charts as PNG, an HTML report.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(w.exportCsv(dir.filePath(QStringLiteral("s.csv"))));
    QFile csv(dir.filePath(QStringLiteral("s.csv")));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> rows = csv.readAll().trimmed().split('\n');
    QVERIFY(rows.size() > 50);
    QVERIFY(rows[0].startsWith("time,t_ms,srtt_ms"));
    QVERIFY(w.exportChartPng(dir.filePath(QStringLiteral("c.png"))));
    QVERIFY(QImage(dir.filePath(QStringLiteral("c.png"))).width() >= 1000);
    QVERIFY(w.exportReport(dir.filePath(QStringLiteral("r.html"))));
    QFile html(dir.filePath(QStringLiteral("r.html")));
    QVERIFY(html.open(QIODevice::ReadOnly));
    const QByteArray report = html.readAll();
    QVERIFY(report.contains("bulk-turbo-lossy"));
    QVERIFY(report.contains("data:image/png;base64,"));
    QVERIFY(report.contains("Retransmits (timeout / fast)"));

    // Trace: a 2-second capture of the same session.
    w.setCurrentTab(1);
    QSignalSpy loaded(w.tracePanel(), &TracePanel::traceLoaded);
    w.tracePanel()->capture(2);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.size(), 1, 15000);
    QVERIFY(w.tracePanel()->trace().count(QStringLiteral("sent")) > 0);
    QTest::qWait(100);
    saveShot(w.grab().toImage(), QStringLiteral("monitor-trace.png"));

    // Lab: Normal vs Turbo over 3 % loss and 20 ms each way.
    w.setCurrentTab(2);
    LabPanel *lab = w.labPanel();
    lab->setPresets(QKcpConfig::Normal, QKcpConfig::Turbo);
    lab->setWorkload(LabPanel::Bulk);
    lab->setImpairment(3.0, 20, 4);
    lab->start();
    QTRY_VERIFY_WITH_TIMEOUT(lab->laneStats(0).delivered > 0 && lab->laneStats(1).delivered > 0, 15000);
    QTRY_VERIFY_WITH_TIMEOUT(span(lab->history(0)) >= 8000 && lab->history(0).size() >= 20, 30000);
    QVERIFY(lab->laneStats(1).goodput > 0);
    saveShot(w.grab().toImage(), QStringLiteral("monitor-lab.png"));
    lab->stop();
    QVERIFY(!lab->isRunning());

    // Dark palette: the whole window follows.
    w.setCurrentTab(0);
    const QPalette light = QApplication::palette();
    QApplication::setPalette(theme::darkPalette());
    QTRY_VERIFY_WITH_TIMEOUT(theme::isDark(w.palette()), 5000);
    QTest::qWait(250);
    const QImage dark = w.grab().toImage();
    saveShot(dark, QStringLiteral("monitor-dark.png"));
    QVERIFY(qGray(dark.pixel(640, 400)) < 128 || qGray(dark.pixel(20, 780)) < 128);
    QApplication::setPalette(light);

    w.stopDemo();
    QVERIFY(!w.demo()->isRunning());
    QTRY_COMPARE_WITH_TIMEOUT(w.sessionModel()->rowCount(), 0, 5000);
}

void tst_MonitorScreenshot::settingsPersist()
{
    {
        MainWindow w(m_language);
        w.resize(1100, 700);
        w.show();
        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QVERIFY(w.connectTo(QStringLiteral("127.0.0.1:1")));
        w.chartPanel()->setWindowMinutes(1);
        QTest::keyClick(&w, Qt::Key_2, Qt::AltModifier); // 5 minutes
        QCOMPARE(w.chartPanel()->windowMinutes(), 5);
        QTest::keyClick(&w, Qt::Key_3, Qt::ControlModifier); // Lab tab
        w.close();
    }
    MainWindow again(m_language);
    QCOMPARE(again.chartPanel()->windowMinutes(), 5);
    QCOMPARE(again.findChild<QTabWidget *>()->currentIndex(), 2);
    QCOMPARE(again.size(), QSize(1100, 700));
    auto *url = again.findChild<QComboBox *>();
    QVERIFY(url);
    QCOMPARE(url->itemText(0), QStringLiteral("http://127.0.0.1:1"));
}

void tst_MonitorScreenshot::cleanupTestCase() {}

QTEST_MAIN(tst_MonitorScreenshot)
#include "tst_monitorscreenshot.moc"
