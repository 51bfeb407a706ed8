// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// ChartPanel: the live charts of one session (or of all sessions): RTT with the RTO band, throughput each way,
// window vs in flight, retransmits and drops per second. Refreshed by the main window at 10 Hz from the Recorder;
// zooming one chart zooms them all and holds the view until reset.
#ifndef KCPMON_CHARTPANEL_H
#define KCPMON_CHARTPANEL_H

#include "recorder.h"

#include <QtWidgets/qwidget.h>

#include <array>

class QLabel;

namespace kcpmon {

class TimeChart;

class ChartPanel : public QWidget
{
    Q_OBJECT
public:
    enum ChartId { RttChart, ThroughputChart, WindowChart, LossChart, ChartCount };

    explicit ChartPanel(Recorder *recorder, QWidget *parent = nullptr);

    // 0: the totals of every session.
    void setSessionKey(quint64 key);
    quint64 sessionKey() const { return m_key; }
    void setWindowMinutes(int minutes);
    int windowMinutes() const { return m_minutes; }
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }
    bool isZoomed() const;
    void resetZoom();
    // Redraws from the Recorder (cheap when nothing changed).
    void refresh();
    void retranslate();
    void applyTheme();

    TimeChart *chart(ChartId id) const { return m_charts[std::size_t(id)]; }
    // Beside the title: whether the session is encrypted and what its encryption layer dropped (for all
    // sessions: how many are encrypted).
    QString detailText() const;
    // Points currently shown by a chart's first series (tests).
    int pointCount(ChartId id) const;
    // The four charts in one image (export).
    QImage renderImage() const;
    // The points the charts show now (export of the visible series).
    std::vector<Point> visiblePoints() const;

Q_SIGNALS:
    void zoomChanged(bool zoomed);

protected:
    void changeEvent(QEvent *event) override;

private:
    void syncZoom(qint64 from, qint64 to);
    void updateDetail();

    Recorder *m_recorder;
    QLabel *m_title;
    QLabel *m_padlock;
    QLabel *m_detail;
    std::array<TimeChart *, ChartCount> m_charts {};
    quint64 m_key = 0;
    int m_minutes = 1;
    bool m_paused = false;
    bool m_zoomed = false;
    qint64 m_zoomFrom = 0;
    qint64 m_zoomTo = 0;
    // series indices
    int m_rtoBand = 0, m_srtt = 0, m_rto = 0;
    int m_out = 0, m_in = 0;
    int m_cwnd = 0, m_inFlight = 0;
    int m_rtx = 0, m_drops = 0;
    int m_detailState = -1; // what the padlock and the detail's colour show (updateDetail)
    qint64 m_lastDrawnT = -1;
    quint64 m_lastDrawnKey = ~quint64(0);
};

// Averages points into at most maxPoints buckets (keeps the shape, bounds the drawing cost).
std::vector<Point> downsample(const std::vector<Point> &in, std::size_t maxPoints);

} // namespace kcpmon

#endif // KCPMON_CHARTPANEL_H
