// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "timechart.h"

#include "theme.h"

#include <QtCharts/qareaseries.h>
#include <QtCharts/qdatetimeaxis.h>
#include <QtCharts/qlegend.h>
#include <QtCharts/qlegendmarker.h>
#include <QtCharts/qlineseries.h>
#include <QtCharts/qvalueaxis.h>
#include <QtCore/qdatetime.h>
#include <QtGui/qguiapplication.h>
#include <QtGui/qevent.h>
#include <QtWidgets/qtooltip.h>

#include <algorithm>
#include <cmath>

namespace kcpmon {

void applyChartTheme(QChart *chart)
{
    const QPalette pal = QGuiApplication::palette();
    const bool dark = theme::isDark(pal);
    chart->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    chart->setBackgroundBrush(pal.color(QPalette::Base));
    chart->setBackgroundPen(Qt::NoPen);
    chart->setBackgroundRoundness(0);
    chart->setDropShadowEnabled(false);
    chart->setPlotAreaBackgroundVisible(false);
    chart->setMargins(QMargins(4, 2, 6, 2));
    QFont tf = QGuiApplication::font();
    tf.setBold(true);
    chart->setTitleFont(tf);
    chart->setTitleBrush(pal.color(QPalette::Text));
    QFont small = QGuiApplication::font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    QColor grid = pal.color(QPalette::Text);
    grid.setAlphaF(dark ? 0.10f : 0.08f);
    const QColor muted = theme::muted(pal);
    const auto axes = chart->axes();
    for (QAbstractAxis *axis : axes) {
        axis->setLabelsFont(small);
        axis->setLabelsBrush(muted);
        axis->setTitleBrush(muted);
        axis->setTitleFont(small);
        axis->setGridLineColor(grid);
        axis->setMinorGridLineColor(grid);
        axis->setLinePenColor(grid);
        axis->setShadesVisible(false);
    }
    chart->legend()->setFont(small);
    chart->legend()->setLabelColor(pal.color(QPalette::Text));
    chart->legend()->setBackgroundVisible(false);
    chart->legend()->setAlignment(Qt::AlignTop);
}

void niceAxis(QValueAxis *axis, double lo, double hi, int ticks)
{
    if (!(hi > lo))
        hi = lo + 1;
    const double raw = (hi - lo) / std::max(1, ticks);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * mag;
    for (double f : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (f * mag >= raw - 1e-12) {
            step = f * mag;
            break;
        }
    }
    const double from = std::floor(lo / step + 1e-9) * step;
    const double to = std::ceil(hi / step - 1e-9) * step;
    if (axis->tickType() == QValueAxis::TicksDynamic && axis->min() == from && axis->max() == to
        && axis->tickInterval() == step)
        return; // unchanged: no relayout
    // Never let a new range meet the old interval (a range of 2000 with a step of 0.25 would lay out 8000
    // ticks): switch to fixed ticks, set everything, then back to dynamic.
    axis->setTickType(QValueAxis::TicksFixed);
    axis->setRange(from, to);
    axis->setTickAnchor(from);
    axis->setTickInterval(step);
    axis->setTickType(QValueAxis::TicksDynamic);
    // As many decimals as the step has (0.25 needs two, 0.5 one, 20 none).
    int decimals = 0;
    while (decimals < 6) {
        const double scaled = step * std::pow(10.0, decimals);
        if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled))
            break;
        ++decimals;
    }
    axis->setLabelFormat(QStringLiteral("%.%1f").arg(decimals));
}

TimeChart::TimeChart(QWidget *parent) : QChartView(new QChart, parent), m_x(new QDateTimeAxis), m_y(new QValueAxis)
{
    setRenderHint(QPainter::Antialiasing);
    setRubberBand(QChartView::HorizontalRubberBand);
    chart()->legend()->setVisible(true);
    chart()->addAxis(m_x, Qt::AlignBottom);
    chart()->addAxis(m_y, Qt::AlignLeft);
    m_x->setFormat(QStringLiteral("HH:mm:ss"));
    m_x->setTickCount(6);
    m_y->setTickCount(5);
    m_y->setLabelFormat(QStringLiteral("%.4g"));
    m_y->setRange(0, 1);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(now - 60000), QDateTime::fromMSecsSinceEpoch(now));
    setMinimumSize(240, 150);
    applyTheme();
}

void TimeChart::attach(QAbstractSeries *series, bool right)
{
    chart()->addSeries(series);
    series->attachAxis(m_x);
    if (right && !m_y2) {
        m_y2 = new QValueAxis;
        chart()->addAxis(m_y2, Qt::AlignRight);
        m_y2->setRange(0, 1);
        applyChartTheme(chart());
    }
    series->attachAxis(right ? m_y2 : m_y);
}

void TimeChart::styleEntry(Entry &e)
{
    QPen pen(e.color, e.dashed ? 1.4 : 2.0);
    pen.setCosmetic(true);
    if (e.dashed)
        pen.setStyle(Qt::DashLine);
    if (e.lower) {
        QColor fill = e.color;
        fill.setAlphaF(theme::isDark() ? 0.22f : 0.16f);
        e.area->setBrush(fill);
        QColor edge = e.color;
        edge.setAlphaF(0.0f);
        e.area->setPen(QPen(edge, 0));
        return;
    }
    e.line->setPen(pen);
    if (e.area) {
        QLinearGradient g(QPointF(0, 0), QPointF(0, 1));
        g.setCoordinateMode(QGradient::ObjectBoundingMode);
        QColor top = e.color;
        top.setAlphaF(0.28f);
        QColor bottom = e.color;
        bottom.setAlphaF(0.02f);
        g.setColorAt(0, top);
        g.setColorAt(1, bottom);
        e.area->setBrush(g);
        e.area->setPen(Qt::NoPen);
    }
}

int TimeChart::addLine(const QColor &color, bool dashed, bool fill, bool rightAxis)
{
    Entry e;
    e.color = color;
    e.dashed = dashed;
    e.right = rightAxis;
    e.line = new QLineSeries(this);
    if (fill) {
        // The area is drawn under the line; the line itself stays the hover target and legend entry.
        e.area = new QAreaSeries(e.line);
        attach(e.area, rightAxis);
        const auto markers = chart()->legend()->markers(e.area);
        for (QLegendMarker *m : markers)
            m->setVisible(false);
        e.line = new QLineSeries(this);
    }
    attach(e.line, rightAxis);
    const int index = int(m_entries.size());
    connect(e.line, &QLineSeries::hovered, this,
            [this, index](const QPointF &p, bool state) { onHovered(index, p, state); });
    m_entries.push_back(e);
    styleEntry(m_entries.back());
    return index;
}

int TimeChart::addBand(const QColor &color)
{
    Entry e;
    e.color = color;
    e.line = new QLineSeries(this);
    e.lower = new QLineSeries(this);
    e.area = new QAreaSeries(e.line, e.lower);
    attach(e.area);
    const int index = int(m_entries.size());
    connect(e.area, &QAreaSeries::hovered, this,
            [this, index](const QPointF &p, bool state) { onHovered(index, p, state); });
    m_entries.push_back(e);
    styleEntry(m_entries.back());
    return index;
}

void TimeChart::setSeriesName(int index, const QString &name)
{
    Entry &e = m_entries[std::size_t(index)];
    if (e.lower)
        e.area->setName(name);
    else
        e.line->setName(name);
}

void TimeChart::setLine(int index, const QList<QPointF> &points)
{
    Entry &e = m_entries[std::size_t(index)];
    e.line->replace(points);
    if (e.area && !e.lower)
        e.area->upperSeries()->replace(points);
}

void TimeChart::setBand(int index, const QList<QPointF> &lower, const QList<QPointF> &upper)
{
    Entry &e = m_entries[std::size_t(index)];
    e.lower->replace(lower);
    e.line->replace(upper);
}

int TimeChart::pointCount(int index) const
{
    return int(m_entries[std::size_t(index)].line->count());
}

void TimeChart::setTitle(const QString &title)
{
    chart()->setTitle(title);
}

void TimeChart::setValueTitle(const QString &title)
{
    m_y->setTitleText(title);
}

void TimeChart::setRightValueTitle(const QString &title)
{
    if (m_y2)
        m_y2->setTitleText(title);
}

QPair<qint64, qint64> TimeChart::timeRange() const
{
    return {m_x->min().toMSecsSinceEpoch(), m_x->max().toMSecsSinceEpoch()};
}

void TimeChart::setTimeRange(qint64 fromMs, qint64 toMs)
{
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(fromMs), QDateTime::fromMSecsSinceEpoch(toMs));
    m_x->setFormat(toMs - fromMs > 10 * 60000 ? QStringLiteral("HH:mm") : QStringLiteral("HH:mm:ss"));
    fitValues();
}

void TimeChart::fitValues()
{
    const double from = double(m_x->min().toMSecsSinceEpoch());
    const double to = double(m_x->max().toMSecsSinceEpoch());
    double hi[2] = {0, 0};
    std::vector<double> values;
    for (const Entry &e : m_entries) {
        const QList<QPointF> pts = e.line->points();
        for (const QPointF &p : pts) {
            if (p.x() >= from && p.x() <= to) {
                hi[e.right ? 1 : 0] = std::max(hi[e.right ? 1 : 0], p.y());
                if (m_robust && !e.right)
                    values.push_back(p.y());
            }
        }
    }
    if (m_robust && values.size() >= 20) {
        const auto p95 = values.begin() + std::ptrdiff_t(values.size() * 95 / 100);
        std::nth_element(values.begin(), p95, values.end());
        if (*p95 > 0 && hi[0] > 3 * *p95)
            hi[0] = 3 * *p95;
    }
    // Some headroom above the highest point; an idle series still gets a small, readable scale.
    niceAxis(m_y, 0, hi[0] > 1e-9 ? hi[0] * 1.08 : 1.0, 4);
    if (m_y2)
        niceAxis(m_y2, 0, hi[1] > 1e-9 ? hi[1] * 1.08 : 1.0, 4);
}

void TimeChart::resetZoom()
{
    m_zoomed = false;
    Q_EMIT zoomReset();
}

void TimeChart::applyTheme()
{
    applyChartTheme(chart());
    for (Entry &e : m_entries) {
        styleEntry(e);
        if (e.right && m_y2) {
            m_y2->setLabelsBrush(e.color);
            m_y2->setTitleBrush(e.color);
        }
    }
}

void TimeChart::onHovered(int index, const QPointF &point, bool state)
{
    if (!state) {
        QToolTip::hideText();
        return;
    }
    const Entry &e = m_entries[std::size_t(index)];
    // The nearest point of the line (the hover position is between points).
    const QList<QPointF> pts = e.line->points();
    QPointF best = point;
    double bestDx = 1e300;
    for (const QPointF &p : pts) {
        const double dx = std::fabs(p.x() - point.x());
        if (dx < bestDx) {
            bestDx = dx;
            best = p;
        }
    }
    const QString name = e.lower ? e.area->name() : e.line->name();
    const QString time = QDateTime::fromMSecsSinceEpoch(qint64(best.x())).toString(QStringLiteral("HH:mm:ss.zzz"));
    QString value = QString::number(best.y(), 'g', 4);
    if (e.lower) {
        const QList<QPointF> lower = e.lower->points();
        for (const QPointF &p : lower) {
            if (p.x() == best.x()) {
                value = QStringLiteral("%1 – %2").arg(QString::number(p.y(), 'g', 4), value);
                break;
            }
        }
    }
    QToolTip::showText(QCursor::pos(), QStringLiteral("<b>%1</b><br>%2 %3<br><small>%4</small>")
                                           .arg(name.toHtmlEscaped(), value, m_suffix.toHtmlEscaped(), time),
                       this);
}

void TimeChart::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::RightButton) {
        resetZoom();
        event->accept();
        return;
    }
    QChartView::mousePressEvent(event);
}

void TimeChart::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::RightButton) {
        event->accept();
        return;
    }
    const auto before = timeRange();
    QChartView::mouseReleaseEvent(event);
    const auto after = timeRange();
    if (after != before && after.second - after.first > 50) {
        m_zoomed = true;
        fitValues();
        Q_EMIT zoomed(after.first, after.second);
    }
}

void TimeChart::wheelEvent(QWheelEvent *event)
{
    // Ctrl+wheel zooms the time axis around the cursor; a plain wheel scrolls the page as usual.
    if (!(event->modifiers() & Qt::ControlModifier)) {
        QChartView::wheelEvent(event);
        return;
    }
    const auto r = timeRange();
    const double factor = event->angleDelta().y() > 0 ? 0.8 : 1.25;
    const QPointF value = chart()->mapToValue(chart()->mapFromScene(mapToScene(event->position().toPoint())));
    const double c = std::clamp(value.x(), double(r.first), double(r.second));
    const qint64 from = qint64(c - (c - double(r.first)) * factor);
    const qint64 to = qint64(c + (double(r.second) - c) * factor);
    if (to - from < 200)
        return;
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(from), QDateTime::fromMSecsSinceEpoch(to));
    m_zoomed = true;
    fitValues();
    Q_EMIT zoomed(from, to);
    event->accept();
}

} // namespace kcpmon
