// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// Language: the monitor's translations (embedded .qm, from translations/*.ts) and Qt's own for the standard
// dialogs. "system" follows the system locale; a switch retranslates the open windows (LanguageChange).
#ifndef KCPMON_LANGUAGE_H
#define KCPMON_LANGUAGE_H

#include <QtCore/qobject.h>
#include <QtCore/qstringlist.h>

#include <memory>

class QTranslator;

namespace kcpmon {

class Language : public QObject
{
    Q_OBJECT
public:
    explicit Language(QObject *parent = nullptr);
    ~Language() override;

    // Languages the monitor ships, as locale names ("en", "zh_CN").
    static QStringList available();
    // The resource path of a language's .qm file.
    static QString qmPath(const QString &language);
    // Native name for a menu ("English", "简体中文").
    static QString nativeName(const QString &language);

    // "system" or one of available(); returns the language in effect.
    QString apply(const QString &choice);
    QString choice() const { return m_choice; }
    QString current() const { return m_current; }

private:
    std::unique_ptr<QTranslator> m_app;
    std::unique_ptr<QTranslator> m_qt;
    QString m_choice;
    QString m_current;
};

} // namespace kcpmon

#endif // KCPMON_LANGUAGE_H
