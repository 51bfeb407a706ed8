// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "format.h"

#include <QtCore/qlocale.h>

#include <cmath>

namespace kcpmon {

void Format::rateUnit(double maxBytesPerSecond, QString *unit, double *divisor)
{
    if (maxBytesPerSecond >= 1e9) {
        *unit = tr("GB/s");
        *divisor = 1e9;
    } else if (maxBytesPerSecond >= 1e6) {
        *unit = tr("MB/s");
        *divisor = 1e6;
    } else if (maxBytesPerSecond >= 1e3) {
        *unit = tr("kB/s");
        *divisor = 1e3;
    } else {
        *unit = tr("B/s");
        *divisor = 1;
    }
}

QString Format::rate(double v)
{
    QString unit;
    double div = 1;
    rateUnit(v, &unit, &div);
    const double x = v / div;
    const int decimals = div == 1 ? 0 : (x < 10 ? 2 : (x < 100 ? 1 : 0));
    return QStringLiteral("%1 %2").arg(QLocale().toString(x, 'f', decimals), unit);
}

QString Format::bytes(double v)
{
    QLocale l;
    if (v >= 1e9)
        return tr("%1 GB").arg(l.toString(v / 1e9, 'f', 2));
    if (v >= 1e6)
        return tr("%1 MB").arg(l.toString(v / 1e6, 'f', 1));
    if (v >= 1e3)
        return tr("%1 kB").arg(l.toString(v / 1e3, 'f', 1));
    return tr("%1 B").arg(l.toString(qint64(v)));
}

QString Format::duration(qint64 ms)
{
    QLocale l;
    if (ms < 1000)
        return tr("%1 ms").arg(ms);
    if (ms < 60000)
        return tr("%1 s").arg(l.toString(ms / 1000.0, 'f', 1));
    const qint64 s = ms / 1000;
    if (s < 3600)
        return tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return tr("%1 h %2 min").arg(s / 3600).arg((s / 60) % 60, 2, 10, QLatin1Char('0'));
}

QString Format::milliseconds(double ms)
{
    return tr("%1 ms").arg(QLocale().toString(ms, 'f', ms < 10 && ms != std::floor(ms) ? 1 : 0));
}

QString Format::percent(double pct)
{
    return tr("%1 %").arg(QLocale().toString(pct, 'f', pct < 10 ? 1 : 0));
}

QString Format::count(double n)
{
    return QLocale().toString(qint64(std::llround(n)));
}

QString Format::perSecond(double n)
{
    return tr("%1 /s").arg(QLocale().toString(n, 'f', n < 10 ? 1 : 0));
}

} // namespace kcpmon
