// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// Exports: CSV of recorded series, a self-contained HTML session report.
#ifndef KCPMON_EXPORTER_H
#define KCPMON_EXPORTER_H

#include "recorder.h"

#include <QtCore/qcoreapplication.h>
#include <QtGui/qimage.h>

#include <vector>

class QIODevice;

namespace kcpmon {

class Exporter
{
    Q_DECLARE_TR_FUNCTIONS(Exporter)
public:
    // One header line, then one line per point (RFC 4180, '.' decimals whatever the locale).
    static bool writeCsv(const std::vector<Point> &points, QIODevice *out);
    static QByteArray csvHeader();
    // A report of a session (track != nullptr) or of all sessions, with the charts as an embedded PNG.
    static QString htmlReport(const QString &title, const Track *track, const std::vector<Point> &points,
                              const QImage &charts, const QString &endpoint);
};

} // namespace kcpmon

#endif // KCPMON_EXPORTER_H
