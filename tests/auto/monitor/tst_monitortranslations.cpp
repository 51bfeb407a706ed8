// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The monitor's translations: the .ts files are complete (no unfinished, vanished or empty entries, the same
// messages in every language), the compiled .qm files are embedded and load, and switching the language
// retranslates the open window.

#include "language.h"
#include "mainwindow.h"
#include "statcard.h"

#include <QtCore/qfile.h>
#include <QtCore/qprocess.h>
#include <QtCore/qtemporarydir.h>
#include <QtCore/qset.h>
#include <QtCore/qsettings.h>
#include <QtCore/qstandardpaths.h>
#include <QtCore/qtranslator.h>
#include <QtCore/qxmlstream.h>
#include <QtTest/qtest.h>
#include <QtWidgets/qapplication.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qtabwidget.h>

using namespace kcpmon;

namespace {
struct TsInfo {
    QString language;
    int messages = 0;
    QStringList problems;
    QSet<QString> keys; // context + source (+ comment)
};

TsInfo readTs(const QString &path)
{
    TsInfo info;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        info.problems << QStringLiteral("cannot open %1").arg(path);
        return info;
    }
    QXmlStreamReader xml(&f);
    QString context, source, comment;
    bool numerus = false;
    while (!xml.atEnd()) {
        xml.readNext();
        if (!xml.isStartElement())
            continue;
        const auto name = xml.name();
        if (name == QLatin1String("TS")) {
            info.language = xml.attributes().value(QLatin1String("language")).toString();
        } else if (name == QLatin1String("name")) {
            context = xml.readElementText();
        } else if (name == QLatin1String("message")) {
            numerus = xml.attributes().value(QLatin1String("numerus")) == QLatin1String("yes");
            source.clear();
            comment.clear();
            ++info.messages;
        } else if (name == QLatin1String("source")) {
            source = xml.readElementText();
        } else if (name == QLatin1String("comment")) {
            comment = xml.readElementText();
        } else if (name == QLatin1String("translation")) {
            const QString type = xml.attributes().value(QLatin1String("type")).toString();
            const QString where = context + QStringLiteral(": ") + source;
            if (!type.isEmpty())
                info.problems << QStringLiteral("%1 translation: %2").arg(type, where);
            QString text;
            if (numerus) {
                int forms = 0;
                while (xml.readNextStartElement()) {
                    if (xml.name() == QLatin1String("numerusform")) {
                        ++forms;
                        if (xml.readElementText().isEmpty())
                            info.problems << QStringLiteral("empty plural form: %1").arg(where);
                    } else {
                        xml.skipCurrentElement();
                    }
                }
                text = forms ? QStringLiteral("x") : QString();
            } else {
                text = xml.readElementText();
            }
            if (text.isEmpty())
                info.problems << QStringLiteral("empty translation: %1").arg(where);
            info.keys.insert(context + QLatin1Char('\x1f') + source + QLatin1Char('\x1f') + comment);
        }
    }
    if (xml.hasError())
        info.problems << xml.errorString();
    return info;
}
} // namespace

class tst_MonitorTranslations : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void tsFilesComplete_data();
    void tsFilesComplete();
    void sameMessagesEverywhere();
    void upToDateWithSources();
    void qmFilesEmbedded();
    void switchRetranslates();
};

void tst_MonitorTranslations::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("kcpnet-tests"));
    QSettings().clear(); // start from the defaults whatever an earlier run saved
}

void tst_MonitorTranslations::tsFilesComplete_data()
{
    QTest::addColumn<QString>("language");
    QTest::newRow("en") << QStringLiteral("en");
    QTest::newRow("zh_CN") << QStringLiteral("zh_CN");
}

void tst_MonitorTranslations::tsFilesComplete()
{
    QFETCH(QString, language);
    const TsInfo ts = readTs(QStringLiteral(KCPNET_TS_DIR "/kcpnet_monitor_%1.ts").arg(language));
    QCOMPARE(ts.language, language);
    QVERIFY2(ts.messages > 200, qPrintable(QString::number(ts.messages)));
    QVERIFY2(ts.problems.isEmpty(), qPrintable(ts.problems.mid(0, 20).join(QLatin1Char('\n'))));
}

void tst_MonitorTranslations::sameMessagesEverywhere()
{
    const TsInfo en = readTs(QStringLiteral(KCPNET_TS_DIR "/kcpnet_monitor_en.ts"));
    const TsInfo zh = readTs(QStringLiteral(KCPNET_TS_DIR "/kcpnet_monitor_zh_CN.ts"));
    QCOMPARE(en.keys.size(), en.messages);
    QCOMPARE(zh.keys, en.keys);
}

void tst_MonitorTranslations::upToDateWithSources()
{
    // lupdate over monitor/ into a scratch file: every tr() string of the sources must be in the .ts files.
    const QString lupdate = QStringLiteral(KCPNET_LUPDATE);
    if (lupdate.isEmpty() || !QFile::exists(lupdate))
        QSKIP("lupdate not available");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString scratch = dir.filePath(QStringLiteral("scratch_zh_CN.ts"));
    QProcess p;
    p.start(lupdate, {QStringLiteral("-silent"), QStringLiteral("-locations"), QStringLiteral("none"),
                      QStringLiteral(KCPNET_MONITOR_SOURCE_DIR), QStringLiteral("-ts"), scratch});
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 0);
    const TsInfo fresh = readTs(scratch);
    const TsInfo shipped = readTs(QStringLiteral(KCPNET_TS_DIR "/kcpnet_monitor_zh_CN.ts"));
    QVERIFY(fresh.keys.size() > 200);
    QStringList missing;
    for (const QString &k : fresh.keys) {
        if (!shipped.keys.contains(k))
            missing << k.section(QLatin1Char('\x1f'), 0, 1).replace(QLatin1Char('\x1f'), QLatin1String(": "));
    }
    QVERIFY2(missing.isEmpty(), qPrintable(QStringLiteral("run the update_translations target and translate:\n")
                                           + missing.join(QLatin1Char('\n'))));
}

void tst_MonitorTranslations::qmFilesEmbedded()
{
    for (const QString &lang : Language::available()) {
        QVERIFY2(QFile::exists(Language::qmPath(lang)), qPrintable(Language::qmPath(lang)));
        QTranslator t;
        QVERIFY(t.load(Language::qmPath(lang)));
        QVERIFY(!t.isEmpty());
    }
    QTranslator zh;
    QVERIFY(zh.load(Language::qmPath(QStringLiteral("zh_CN"))));
    const QString sessions = zh.translate("kcpmon::MainWindow", "Sessions");
    QVERIFY(!sessions.isEmpty());
    QVERIFY(sessions != QLatin1String("Sessions"));
    // Chinese text, not a copy of the English.
    QVERIFY(std::any_of(sessions.cbegin(), sessions.cend(), [](QChar c) { return c.unicode() >= 0x4e00 && c.unicode() <= 0x9fff; }));
    QVERIFY(!zh.translate("kcpmon::TracePanel", "%n event(s) loaded.", nullptr, 3).isEmpty());
    // Encryption and the drops of the encryption layer, where the operator reads them.
    QCOMPARE(zh.translate("kcpmon::SessionModel", "Encrypted (pre-shared key or DTLS)"), QStringLiteral("已加密（预共享密钥或 DTLS）"));
    QCOMPARE(zh.translate("kcpmon::SessionModel", "Not encrypted"), QStringLiteral("未加密"));
    QCOMPARE(zh.translate("kcpmon::SessionModel", "failed authentication %1"), QStringLiteral("认证失败 %1"));
    QCOMPARE(zh.translate("kcpmon::SessionModel", "replayed %1"), QStringLiteral("重放 %1"));
    QCOMPARE(zh.translate("kcpmon::ChartPanel", "failed authentication %1 · replayed %2"), QStringLiteral("认证失败 %1 · 重放 %2"));
    QCOMPARE(zh.translate("kcpmon::ChartPanel", "%1 of %n session(s) encrypted", nullptr, 12), QStringLiteral("%n 个会话中 %1 个已加密"));
    QTranslator en;
    QVERIFY(en.load(Language::qmPath(QStringLiteral("en"))));
    QCOMPARE(en.translate("kcpmon::ChartPanel", "%1 of %n session(s) encrypted", nullptr, 1), QStringLiteral("%1 of %n session encrypted"));
    QCOMPARE(en.translate("kcpmon::ChartPanel", "%1 of %n session(s) encrypted", nullptr, 12), QStringLiteral("%1 of %n sessions encrypted"));
}

void tst_MonitorTranslations::switchRetranslates()
{
    Language language;
    QCOMPARE(language.apply(QStringLiteral("en")), QStringLiteral("en"));
    MainWindow w(&language);
    w.resize(1280, 800);
    w.show();
    auto *tabs = w.findChild<QTabWidget *>();
    QVERIFY(tabs);
    QCOMPARE(tabs->tabText(0), QStringLiteral("Live"));
    QCOMPARE(w.windowTitle(), QStringLiteral("kcpnet monitor"));
    QCOMPARE(language.apply(QStringLiteral("zh_CN")), QStringLiteral("zh_CN"));
    QTRY_VERIFY_WITH_TIMEOUT(tabs->tabText(0) != QLatin1String("Live"), 5000);
    QVERIFY(w.windowTitle() != QLatin1String("kcpnet monitor"));
    QVERIFY(w.card(0)->findChildren<QLabel *>().size() > 0);
    QCOMPARE(language.apply(QStringLiteral("en")), QStringLiteral("en"));
    QTRY_COMPARE_WITH_TIMEOUT(tabs->tabText(0), QStringLiteral("Live"), 5000);
    // Unknown languages fall back to English; "system" resolves to a shipped one.
    QCOMPARE(language.apply(QStringLiteral("xx_YY")), QStringLiteral("en"));
    QVERIFY(Language::available().contains(language.apply(QStringLiteral("system"))));
}

QTEST_MAIN(tst_MonitorTranslations)
#include "tst_monitortranslations.moc"
