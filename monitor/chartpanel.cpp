// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "chartpanel.h"

#include "format.h"
#include "sessionmodel.h"
#include "theme.h"
#include "timechart.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qcoreevent.h>
#include <QtGui/qpainter.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qgridlayout.h>
#include <QtWidgets/qlabel.h>

#include <algorithm>

namespace kcpmon {

std::vector<Point> downsample(const std::vector<Point> &in, std::size_t maxPoints)
{
    if (in.size() <= maxPoints || maxPoints < 2)
        return in;
    std::vector<Point> out;
    out.reserve(maxPoints);
    const double step = double(in.size()) / double(maxPoints);
    for (std::size_t b = 0; b < maxPoints; ++b) {
        const std::size_t lo = std::size_t(double(b) * step);
        const std::size_t hi = std::min(in.size(), std::size_t(double(b + 1) * step));
        if (lo >= hi)
            continue;
        Point acc;
        const float n = float(hi - lo);
        float maxRtx = 0, maxDrops = 0;
        for (std::size_t i = lo; i < hi; ++i) {
            const Point &p = in[i];
            acc.srtt += p.srtt / n;
            acc.rttvar += p.rttvar / n;
            acc.rto += p.rto / n;
            acc.cwnd += p.cwnd / n;
            acc.ssthresh += p.ssthresh / n;
            acc.inFlight += p.inFlight / n;
            acc.rateOut += p.rateOut / n;
            acc.rateIn += p.rateIn / n;
            acc.wireOut += p.wireOut / n;
            acc.wireIn += p.wireIn / n;
            acc.retransmitPct += p.retransmitPct / n;
            acc.sessions += p.sessions / n;
            maxRtx = std::max(maxRtx, p.retransmits);
            maxDrops = std::max(maxDrops, p.drops);
        }
        // Spikes matter for losses: keep the bucket's peak rather than its mean.
        acc.retransmits = maxRtx;
        acc.drops = maxDrops;
        acc.t = in[hi - 1].t;
        out.push_back(acc);
    }
    return out;
}

ChartPanel::ChartPanel(Recorder *recorder, QWidget *parent) : QWidget(parent), m_recorder(recorder)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    m_title = new QLabel(this);
    QFont f = m_title->font();
    f.setBold(true);
    m_title->setFont(f);
    m_title->setContentsMargins(4, 2, 4, 0);
    m_padlock = new QLabel(this);
    m_detail = new QLabel(this);
    m_detail->setContentsMargins(0, 2, 4, 0);
    auto *titleRow = new QHBoxLayout;
    titleRow->setSpacing(4);
    titleRow->addWidget(m_title);
    titleRow->addStretch(1);
    titleRow->addWidget(m_padlock);
    titleRow->addWidget(m_detail);
    layout->addLayout(titleRow);
    auto *grid = new QGridLayout;
    grid->setSpacing(6);
    layout->addLayout(grid, 1);
    for (int i = 0; i < ChartCount; ++i) {
        m_charts[std::size_t(i)] = new TimeChart(this);
        grid->addWidget(m_charts[std::size_t(i)], i / 2, i % 2);
        connect(m_charts[std::size_t(i)], &TimeChart::zoomed, this, &ChartPanel::syncZoom);
        connect(m_charts[std::size_t(i)], &TimeChart::zoomReset, this, &ChartPanel::resetZoom);
    }
    TimeChart *rtt = m_charts[RttChart];
    rtt->setRobustFit(true);
    m_rtoBand = rtt->addBand(theme::series(0));
    m_srtt = rtt->addLine(theme::series(0));
    m_rto = rtt->addLine(theme::series(3), true);
    TimeChart *tp = m_charts[ThroughputChart];
    m_out = tp->addLine(theme::series(0), false, true);
    m_in = tp->addLine(theme::series(1), false, true);
    TimeChart *win = m_charts[WindowChart];
    m_cwnd = win->addLine(theme::series(2));
    // In flight is usually far below the window: it gets its own scale on the right.
    m_inFlight = win->addLine(theme::series(4), false, true, true);
    TimeChart *loss = m_charts[LossChart];
    m_rtx = loss->addLine(theme::series(3), false, true);
    m_drops = loss->addLine(theme::series(1));
    retranslate();
}

void ChartPanel::retranslate()
{
    TimeChart *rtt = m_charts[RttChart];
    rtt->setTitle(tr("Round-trip time"));
    rtt->setValueTitle(tr("ms"));
    rtt->setValueSuffix(tr("ms"));
    rtt->setSeriesName(m_rtoBand, tr("RTO margin"));
    rtt->setSeriesName(m_srtt, tr("SRTT"));
    rtt->setSeriesName(m_rto, tr("RTO"));
    TimeChart *tp = m_charts[ThroughputChart];
    tp->setTitle(tr("Throughput"));
    tp->setSeriesName(m_out, tr("Out"));
    tp->setSeriesName(m_in, tr("In"));
    TimeChart *win = m_charts[WindowChart];
    win->setTitle(m_key ? tr("Window and segments in flight") : tr("Window and segments in flight (sum)"));
    win->setValueTitle(tr("segments"));
    win->setRightValueTitle(tr("in flight"));
    win->setValueSuffix(tr("segments"));
    win->setSeriesName(m_cwnd, tr("Window"));
    win->setSeriesName(m_inFlight, tr("In flight"));
    TimeChart *loss = m_charts[LossChart];
    loss->setTitle(tr("Retransmits and drops"));
    loss->setValueTitle(tr("per second"));
    loss->setValueSuffix(tr("/s"));
    loss->setSeriesName(m_rtx, tr("Retransmits"));
    loss->setSeriesName(m_drops, tr("Drops"));
    m_lastDrawnT = -1;
    refresh();
}

void ChartPanel::applyTheme()
{
    for (TimeChart *c : m_charts)
        c->applyTheme();
    m_detailState = -1; // the padlock and the warning colour are the palette's
    m_lastDrawnT = -1;
    refresh();
}

void ChartPanel::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void ChartPanel::setSessionKey(quint64 key)
{
    if (m_key == key)
        return;
    m_key = key;
    m_lastDrawnT = -1;
    m_charts[WindowChart]->setTitle(m_key ? tr("Window and segments in flight") : tr("Window and segments in flight (sum)"));
    refresh();
}

void ChartPanel::setWindowMinutes(int minutes)
{
    m_minutes = std::clamp(minutes, 1, 30);
    m_lastDrawnT = -1;
    refresh();
}

void ChartPanel::setPaused(bool paused)
{
    m_paused = paused;
    if (!paused) {
        m_lastDrawnT = -1;
        refresh();
    }
}

bool ChartPanel::isZoomed() const
{
    return m_zoomed;
}

void ChartPanel::syncZoom(qint64 from, qint64 to)
{
    m_zoomed = true;
    m_zoomFrom = from;
    m_zoomTo = to;
    for (TimeChart *c : m_charts)
        c->setTimeRange(from, to);
    Q_EMIT zoomChanged(true);
}

void ChartPanel::resetZoom()
{
    if (!m_zoomed)
        return;
    m_zoomed = false;
    m_lastDrawnT = -1;
    refresh();
    Q_EMIT zoomChanged(false);
}

int ChartPanel::pointCount(ChartId id) const
{
    return m_charts[std::size_t(id)]->pointCount(id == RttChart ? m_srtt : 0);
}

std::vector<Point> ChartPanel::visiblePoints() const
{
    const History *h = nullptr;
    if (m_key == 0) {
        h = &m_recorder->totals();
    } else if (const Track *t = m_recorder->track(m_key)) {
        h = &t->history;
    }
    if (!h)
        return {};
    const auto range = m_charts[0]->timeRange();
    std::vector<Point> pts = h->since(range.first);
    while (!pts.empty() && pts.back().t > range.second)
        pts.pop_back();
    return pts;
}

void ChartPanel::refresh()
{
    if (m_paused && m_lastDrawnT >= 0)
        return;
    const History *h = nullptr;
    QString title;
    if (m_key == 0) {
        h = &m_recorder->totals();
        title = tr("All sessions");
    } else if (const Track *t = m_recorder->track(m_key)) {
        h = &t->history;
        title = tr("Session %1 — %2, conversation %3")
                    .arg(t->info.peer, t->info.source)
                    .arg(t->info.conversation);
    } else {
        title = tr("Session ended");
    }
    m_title->setText(title);
    updateDetail();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 window = qint64(m_minutes) * 60000;
    // Until the history fills the window, the charts span what there is (at least 10 s), not an empty minute.
    qint64 from = m_zoomed ? m_zoomFrom : now - window;
    if (!m_zoomed && h && !h->isEmpty()) {
        const qint64 first = h->firstTime();
        from = std::max(from, std::min(first, now - 10000));
    }
    const qint64 to = m_zoomed ? m_zoomTo : now;
    if (h && !h->isEmpty() && h->last().t == m_lastDrawnT && m_key == m_lastDrawnKey && m_zoomed) {
        return; // nothing new to draw and the view does not move
    }
    std::vector<Point> pts = h ? h->since(from - 1000) : std::vector<Point>();
    pts = downsample(pts, 900);
    m_lastDrawnT = h && !h->isEmpty() ? h->last().t : 0;
    m_lastDrawnKey = m_key;

    QList<QPointF> srtt, rto, out, in, cwnd, inflight, rtx, drops;
    srtt.reserve(qsizetype(pts.size()));
    rto.reserve(qsizetype(pts.size()));
    double maxRate = 0;
    for (const Point &p : pts)
        maxRate = std::max({maxRate, double(p.rateOut), double(p.rateIn)});
    QString unit;
    double div = 1;
    Format::rateUnit(maxRate, &unit, &div);
    for (const Point &p : pts) {
        const double x = double(p.t);
        // Before the first RTT sample there is no RTT to draw (only the initial RTO).
        if (p.srtt > 0) {
            srtt.append(QPointF(x, p.srtt));
            rto.append(QPointF(x, std::max(p.rto, p.srtt)));
        }
        out.append(QPointF(x, p.rateOut / div));
        in.append(QPointF(x, p.rateIn / div));
        cwnd.append(QPointF(x, p.cwnd));
        inflight.append(QPointF(x, p.inFlight));
        rtx.append(QPointF(x, p.retransmits));
        drops.append(QPointF(x, p.drops));
    }
    TimeChart *rc = m_charts[RttChart];
    rc->setBand(m_rtoBand, srtt, rto);
    rc->setLine(m_srtt, srtt);
    rc->setLine(m_rto, rto);
    TimeChart *tc = m_charts[ThroughputChart];
    tc->setValueTitle(unit);
    tc->setValueSuffix(unit);
    tc->setLine(m_out, out);
    tc->setLine(m_in, in);
    m_charts[WindowChart]->setLine(m_cwnd, cwnd);
    m_charts[WindowChart]->setLine(m_inFlight, inflight);
    m_charts[LossChart]->setLine(m_rtx, rtx);
    m_charts[LossChart]->setLine(m_drops, drops);
    for (TimeChart *c : m_charts)
        c->setTimeRange(from, to);
}

QString ChartPanel::detailText() const
{
    return m_detail->text();
}

void ChartPanel::updateDetail()
{
    bool encrypted = false;
    bool attacked = false; // datagrams failing authentication or replayed in the last second
    Counters sum;
    QString text;
    if (m_key == 0) {
        const QList<quint64> keys = m_recorder->keys();
        int count = 0;
        for (quint64 key : keys) {
            const Track *t = m_recorder->track(key);
            if (!t || !t->info.encrypted)
                continue;
            ++count;
            sum.dropsUnauthentic += t->info.counters.dropsUnauthentic;
            sum.dropsReplayed += t->info.counters.dropsReplayed;
            attacked = attacked || t->rates.securityDrops > 0;
        }
        encrypted = count > 0 && count == keys.size();
        if (!keys.isEmpty())
            text = tr("%1 of %n session(s) encrypted", nullptr, int(keys.size())).arg(count);
        if (count == 0)
            sum = Counters();
    } else if (const Track *t = m_recorder->track(m_key)) {
        encrypted = t->info.encrypted;
        sum = t->info.counters;
        attacked = t->rates.securityDrops > 0;
        text = encrypted ? tr("Encrypted") : tr("Not encrypted");
    }
    // An encrypted link always says what its encryption layer refused, zeros included: that is the reassurance.
    if (!text.isEmpty() && (encrypted || sum.securityDrops() > 0))
        text += QStringLiteral(" · ") + tr("failed authentication %1 · replayed %2")
                                                 .arg(Format::count(double(sum.dropsUnauthentic)), Format::count(double(sum.dropsReplayed)));
    m_detail->setText(text);
    // Amber while the encryption layer is refusing datagrams, as the table's rows are.
    const int state = int(attacked) | (int(encrypted) << 1);
    if (state != m_detailState) {
        m_detailState = state;
        QPalette pal; // nothing set: the label follows the window's palette
        if (attacked)
            pal.setColor(QPalette::WindowText, theme::health(Health::Warning));
        m_detail->setPalette(pal);
        const int side = m_detail->fontMetrics().height();
        m_padlock->setPixmap(theme::padlock(encrypted).pixmap(QSize(side, side), devicePixelRatioF()));
    }
    m_padlock->setVisible(!text.isEmpty());
    QString tip;
    if (!text.isEmpty()) {
        tip = m_key ? SessionModel::encryptionText(encrypted) : tr("Sessions encrypted with a pre-shared key or DTLS");
        if (text.contains(QStringLiteral(" · ")))
            tip += QLatin1Char('\n') + tr("Failed authentication: forged, tampered or wrong-key datagrams. Replayed: datagrams that came before.");
    }
    m_detail->setToolTip(tip);
    m_padlock->setToolTip(tip);
}

QImage ChartPanel::renderImage() const
{
    const qreal dpr = 2.0;
    QImage img(size() * dpr, QImage::Format_ARGB32_Premultiplied);
    img.setDevicePixelRatio(dpr);
    img.fill(palette().color(QPalette::Window));
    QPainter p(&img);
    const_cast<ChartPanel *>(this)->render(&p);
    p.end();
    return img;
}

} // namespace kcpmon
