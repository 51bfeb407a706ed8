// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// Human-readable numbers for the monitor: rates, sizes, durations, percentages.
#ifndef KCPMON_FORMAT_H
#define KCPMON_FORMAT_H

#include <QtCore/qcoreapplication.h>
#include <QtCore/qstring.h>

namespace kcpmon {

class Format
{
    Q_DECLARE_TR_FUNCTIONS(Format)
public:
    static QString rate(double bytesPerSecond);       // "1.25 MB/s"
    static QString bytes(double bytes);               // "12.0 MB"
    static QString duration(qint64 ms);               // "850 ms", "12.4 s", "3 min 05 s", "2 h 10 min"
    static QString milliseconds(double ms);           // "42 ms"
    static QString percent(double pct);               // "3.2 %"
    static QString count(double n);                   // "1,234" (locale grouping)
    static QString perSecond(double n);               // "12.5 /s"
    // A unit and divisor for an axis whose values go up to maxBytesPerSecond.
    static void rateUnit(double maxBytesPerSecond, QString *unit, double *divisor);
};

} // namespace kcpmon

#endif // KCPMON_FORMAT_H
