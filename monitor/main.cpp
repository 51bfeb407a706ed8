// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// kcpnet-monitor: see what a KCP link is doing. Connect to applications that expose a QKcpMetricsServer, or run
// the in-process demo. docs/MONITOR.md.
//
//   kcpnet-monitor [--connect URL]... [--token TOKEN] [--demo [--demo-clients N]] [--lang en|zh_CN|system]
//                  [--dark] [--interval MS]

#include "labpanel.h"
#include "language.h"
#include "mainwindow.h"
#include "theme.h"

#include <qkcpnetglobal.h>

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qsettings.h>
#include <QtCore/qtimer.h>
#include <QtWidgets/qapplication.h>
#include <QtWidgets/qstylefactory.h>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("kcpnet"));
    QApplication::setApplicationName(QStringLiteral("kcpnet-monitor"));
    QApplication::setApplicationDisplayName(QStringLiteral("kcpnet monitor"));
    QApplication::setApplicationVersion(QStringLiteral(KCPNET_VERSION_STR));
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QApplication::setWindowIcon(kcpmon::theme::appIcon());

    // The language first, so the help text below is translated too.
    kcpmon::Language language;
    QString lang = QSettings().value(QStringLiteral("language"), QStringLiteral("system")).toString();
    for (int i = 1; i + 1 < argc; ++i) {
        if (qstrcmp(argv[i], "--lang") == 0)
            lang = QString::fromLocal8Bit(argv[i + 1]);
    }
    language.apply(lang);

    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate("main", "kcpnet monitor: watch KCP sessions live."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption connectOpt(QStringLiteral("connect"),
                                        QCoreApplication::translate("main", "Connect to a metrics endpoint (repeatable)."),
                                        QStringLiteral("url"));
    const QCommandLineOption tokenOpt(QStringLiteral("token"),
                                      QCoreApplication::translate("main", "Bearer token for the endpoints."),
                                      QStringLiteral("token"));
    const QCommandLineOption demoOpt(QStringLiteral("demo"),
                                     QCoreApplication::translate("main", "Run an in-process server and clients and watch them."));
    const QCommandLineOption clientsOpt(QStringLiteral("demo-clients"),
                                        QCoreApplication::translate("main", "Number of demo clients (default 6)."),
                                        QStringLiteral("n"), QStringLiteral("6"));
    const QCommandLineOption langOpt(QStringLiteral("lang"),
                                     QCoreApplication::translate("main", "Language: system, en or zh_CN."),
                                     QStringLiteral("language"));
    const QCommandLineOption darkOpt(QStringLiteral("dark"),
                                     QCoreApplication::translate("main", "Use a dark palette whatever the system uses."));
    const QCommandLineOption intervalOpt(QStringLiteral("interval"),
                                         QCoreApplication::translate("main", "Polling interval in ms (default 100)."),
                                         QStringLiteral("ms"));
    const QCommandLineOption shotOpt(QStringLiteral("screenshot"),
                                     QCoreApplication::translate("main", "Save a screenshot of the window to a PNG file, then quit."),
                                     QStringLiteral("file"));
    const QCommandLineOption shotAfterOpt(QStringLiteral("screenshot-after"),
                                          QCoreApplication::translate("main", "Milliseconds to wait before the screenshot (default 8000)."),
                                          QStringLiteral("ms"), QStringLiteral("8000"));
    const QCommandLineOption tabOpt(QStringLiteral("tab"),
                                    QCoreApplication::translate("main", "Tab to show first: live, trace or lab."),
                                    QStringLiteral("name"));
    parser.addOptions({connectOpt, tokenOpt, demoOpt, clientsOpt, langOpt, darkOpt, intervalOpt, shotOpt, shotAfterOpt, tabOpt});
    parser.process(app);

    if (parser.isSet(darkOpt))
        QApplication::setPalette(kcpmon::theme::darkPalette());

    kcpmon::MainWindow window(&language);
    if (parser.isSet(intervalOpt))
        window.setPollInterval(parser.value(intervalOpt).toInt());
    window.show();
    const QByteArray token = parser.value(tokenOpt).toUtf8();
    const QStringList urls = parser.values(connectOpt);
    for (const QString &u : urls) {
        if (!window.connectTo(u, token))
            qWarning("kcpnet-monitor: not a usable endpoint address: %s", qPrintable(u));
    }
    if (parser.isSet(demoOpt))
        QTimer::singleShot(0, &window, [&window, &parser, &clientsOpt] { window.startDemo(parser.value(clientsOpt).toInt()); });
    if (parser.isSet(tabOpt)) {
        const QString tab = parser.value(tabOpt);
        window.setCurrentTab(tab == QLatin1String("lab") ? 2 : tab == QLatin1String("trace") ? 1 : 0);
        if (tab == QLatin1String("lab"))
            QTimer::singleShot(0, &window, [&window] { window.labPanel()->start(); });
    }
    if (parser.isSet(shotOpt)) {
        const QString file = parser.value(shotOpt);
        QTimer::singleShot(parser.value(shotAfterOpt).toInt(), &window, [&window, file] {
            const bool ok = window.grab().save(file, "PNG");
            QCoreApplication::exit(ok ? 0 : 1);
        });
    }
    return app.exec();
}
