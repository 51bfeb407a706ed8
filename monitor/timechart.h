// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// TimeChart: a Qt Charts view of a few time series over a sliding window (wall-clock axis), with a band series
// (area between two lines), hover values, horizontal rubber-band zoom and a right-click reset.
// applyChartTheme() styles any QChart after the application palette (used by every chart of the monitor).
#ifndef KCPMON_TIMECHART_H
#define KCPMON_TIMECHART_H

#include <QtCharts/qchartview.h>

#include <QtCore/qlist.h>
#include <QtCore/qpoint.h>

#include <functional>
#include <vector>

QT_BEGIN_NAMESPACE
class QAreaSeries;
class QDateTimeAxis;
class QLineSeries;
class QValueAxis;
QT_END_NAMESPACE

namespace kcpmon {

void applyChartTheme(QChart *chart);
// Sets a value axis to a round range covering [lo, hi] with round tick steps (about `ticks` of them) and
// labels with just the decimals the step needs.
void niceAxis(QValueAxis *axis, double lo, double hi, int ticks = 5);

class TimeChart : public QChartView
{
    Q_OBJECT
public:
    explicit TimeChart(QWidget *parent = nullptr);

    // A line; returns its index. dashed: a dashed pen; fill: a translucent area under the line.
    // rightAxis: the line has its own scale on a second value axis on the right (labels in its colour).
    int addLine(const QColor &color, bool dashed = false, bool fill = false, bool rightAxis = false);
    // An area between two series (lower, upper); returns its index (shares the numbering with lines).
    int addBand(const QColor &color);
    void setSeriesName(int index, const QString &name);
    // Replace the points of a line, or of a band (upper and lower share x).
    void setLine(int index, const QList<QPointF> &points);
    void setBand(int index, const QList<QPointF> &lower, const QList<QPointF> &upper);
    int pointCount(int index) const;

    void setTitle(const QString &title);
    void setValueTitle(const QString &title);
    void setRightValueTitle(const QString &title);
    // Unit appended to hover values ("ms", "MB/s"...), and the scale they are shown in.
    void setValueSuffix(const QString &suffix) { m_suffix = suffix; }
    // Robust fit: a rare spike far above the rest (more than 3x the 95th percentile) runs off the top instead of
    // flattening everything else. For RTT, where one timeout can be 50 times the usual value.
    void setRobustFit(bool on) { m_robust = on; }
    // Sets the visible x range [fromMs, toMs] (when following) and fits y to the visible points.
    void setTimeRange(qint64 fromMs, qint64 toMs);
    void fitValues();
    bool isZoomed() const { return m_zoomed; }
    QPair<qint64, qint64> timeRange() const;
    // The chart follows the window again (and emits zoomReset()).
    void resetZoom();
    void applyTheme();

Q_SIGNALS:
    // The user zoomed into [fromMs, toMs] with the rubber band.
    void zoomed(qint64 fromMs, qint64 toMs);
    void zoomReset();

protected:
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;

private:
    struct Entry {
        QLineSeries *line = nullptr;  // line, or the upper line of a band
        QLineSeries *lower = nullptr; // bands only
        QAreaSeries *area = nullptr;  // bands and filled lines
        QColor color;
        bool dashed = false;
        bool right = false;
    };
    void attach(QAbstractSeries *series, bool right = false);
    void onHovered(int index, const QPointF &point, bool state);
    void styleEntry(Entry &e);

    QDateTimeAxis *m_x;
    QValueAxis *m_y;
    QValueAxis *m_y2 = nullptr;
    std::vector<Entry> m_entries;
    QString m_suffix;
    bool m_zoomed = false;
    bool m_robust = false;
};

} // namespace kcpmon

#endif // KCPMON_TIMECHART_H
