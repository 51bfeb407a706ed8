// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "language.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qfile.h>
#include <QtCore/qlibraryinfo.h>
#include <QtCore/qlocale.h>
#include <QtCore/qtranslator.h>

namespace kcpmon {

Language::Language(QObject *parent) : QObject(parent) {}

Language::~Language()
{
    if (m_app)
        QCoreApplication::removeTranslator(m_app.get());
    if (m_qt)
        QCoreApplication::removeTranslator(m_qt.get());
}

QStringList Language::available()
{
    return {QStringLiteral("en"), QStringLiteral("zh_CN")};
}

QString Language::qmPath(const QString &language)
{
    return QStringLiteral(":/i18n/kcpnet_monitor_%1.qm").arg(language);
}

QString Language::nativeName(const QString &language)
{
    if (language == QLatin1String("zh_CN"))
        return QStringLiteral("简体中文");
    if (language == QLatin1String("en"))
        return QStringLiteral("English");
    return QLocale(language).nativeLanguageName();
}

QString Language::apply(const QString &choice)
{
    m_choice = choice.isEmpty() ? QStringLiteral("system") : choice;
    QString lang = m_choice;
    if (lang == QLatin1String("system")) {
        lang = QStringLiteral("en");
        const QStringList ui = QLocale::system().uiLanguages();
        for (const QString &l : ui) {
            const QString n = QLocale(l).name(); // "zh_CN", "en_US"
            if (n.startsWith(QLatin1String("zh"))) {
                lang = QStringLiteral("zh_CN");
                break;
            }
            if (n.startsWith(QLatin1String("en")))
                break;
        }
    }
    if (!available().contains(lang))
        lang = QStringLiteral("en");
    if (lang == m_current && m_app)
        return m_current;
    if (m_app)
        QCoreApplication::removeTranslator(m_app.get());
    if (m_qt)
        QCoreApplication::removeTranslator(m_qt.get());
    m_app = std::make_unique<QTranslator>();
    m_qt = std::make_unique<QTranslator>();
    if (m_app->load(qmPath(lang)))
        QCoreApplication::installTranslator(m_app.get());
    if (lang != QLatin1String("en")
        && m_qt->load(QLocale(lang), QStringLiteral("qtbase"), QStringLiteral("_"),
                      QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(m_qt.get());
    QLocale::setDefault(QLocale(lang == QLatin1String("en") ? QStringLiteral("en_US") : lang));
    m_current = lang;
    return m_current;
}

} // namespace kcpmon
