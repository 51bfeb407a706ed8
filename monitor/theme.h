// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// Colours and icons that follow the application palette (light or dark, as the system says).
#ifndef KCPMON_THEME_H
#define KCPMON_THEME_H

#include <QtGui/qcolor.h>
#include <QtGui/qicon.h>
#include <QtGui/qpalette.h>

namespace kcpmon {

enum class Health { Good, Warning, Bad, Inactive };

namespace theme {

bool isDark(const QPalette &palette);
bool isDark();
// The chart series colours, readable on light and dark backgrounds.
QColor series(int index);
QColor health(Health h);
// A row background for a health state (blended into the palette's base colour); invalid for Good.
QColor healthTint(Health h, const QPalette &palette);
QColor muted(const QPalette &palette); // secondary text
// Toolbar icons: resources/icons/<name>.svg drawn in the palette's text colour.
QIcon icon(const QString &name);
QIcon appIcon();
// A small round dot of a colour (table state column).
QIcon dot(const QColor &color);
// A small padlock in the size of dot(): closed in the accent colour for an encrypted session, open and muted for
// one that is not (table peer column, the charts' title).
QIcon padlock(bool closed);
// Fusion with a dark palette (--dark), for screenshots and systems without a dark theme of their own.
QPalette darkPalette();

} // namespace theme
} // namespace kcpmon

#endif // KCPMON_THEME_H
