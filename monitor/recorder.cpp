// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "recorder.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qset.h>

#include <algorithm>

namespace kcpmon {

void History::append(const Point &p)
{
    m_fine.push_back(p);
    while (m_fine.size() > FineCapacity)
        m_fine.pop_front();
    if (m_coarse.empty() || p.t - m_coarse.back().t >= 1000) {
        m_coarse.push_back(p);
        while (m_coarse.size() > CoarseCapacity)
            m_coarse.pop_front();
    }
}

std::vector<Point> History::since(qint64 from) const
{
    // The fine ring when it reaches back to `from`, else the coarse one if that reaches further.
    const bool fineEnough = m_fine.empty() || m_fine.front().t <= from;
    const bool coarseFurther = !m_coarse.empty() && !m_fine.empty() && m_coarse.front().t < m_fine.front().t;
    const std::deque<Point> &src = fineEnough || !coarseFurther ? m_fine : m_coarse;
    auto it = std::lower_bound(src.begin(), src.end(), from, [](const Point &p, qint64 t) { return p.t < t; });
    return std::vector<Point>(it, src.end());
}

void History::replaceLast(Point p)
{
    if (m_fine.empty())
        return;
    p.t = m_fine.back().t;
    if (!m_coarse.empty() && m_coarse.back().t == p.t)
        m_coarse.back() = p;
    m_fine.back() = p;
}

void History::clear()
{
    m_fine.clear();
    m_coarse.clear();
}

Rates RateWindow::add(qint64 timeMs, const Counters &c)
{
    if (!m_samples.empty() && (timeMs < m_samples.back().first || c.bytesSent < m_samples.back().second.bytesSent
                               || c.datagramsSent < m_samples.back().second.datagramsSent))
        m_samples.clear(); // the exporter restarted or the counters started again
    m_samples.emplace_back(timeMs, c);
    // Keep one sample at or before the start of the window as the base.
    while (m_samples.size() > 2 && m_samples[1].first <= timeMs - m_span)
        m_samples.pop_front();
    Rates r;
    if (m_samples.size() < 2)
        return r;
    const auto &[t0, a] = m_samples.front();
    const double sec = double(timeMs - t0) / 1000.0;
    if (sec <= 0)
        return r;
    auto d = [sec](quint64 now, quint64 before) { return now >= before ? double(now - before) / sec : 0.0; };
    r.out = d(c.bytesSent, a.bytesSent);
    r.in = d(c.bytesReceived, a.bytesReceived);
    r.wireOut = d(c.wireBytesSent, a.wireBytesSent);
    r.wireIn = d(c.wireBytesReceived, a.wireBytesReceived);
    r.retransmits = d(c.retransmits(), a.retransmits());
    r.drops = d(c.drops(), a.drops());
    r.securityDrops = d(c.securityDrops(), a.securityDrops());
    const double segs = c.segmentsSent >= a.segmentsSent ? double(c.segmentsSent - a.segmentsSent) : 0.0;
    const double rtx = c.retransmits() >= a.retransmits() ? double(c.retransmits() - a.retransmits()) : 0.0;
    r.retransmitPct = segs > 0 ? std::min(100.0, 100.0 * rtx / segs) : 0.0;
    return r;
}

Recorder::Recorder(QObject *parent) : QObject(parent) {}

int Recorder::addEndpoint(const QString &name)
{
    const int id = m_nextEndpoint++;
    Endpoint e;
    e.name = name;
    m_endpoints.insert(id, e);
    return id;
}

void Recorder::removeEndpoint(int endpoint)
{
    QList<quint64> removed;
    for (auto it = m_tracks.begin(); it != m_tracks.end();) {
        if (it->second.endpoint == endpoint) {
            removed.append(it->first);
            it = m_tracks.erase(it);
        } else {
            ++it;
        }
    }
    m_endpoints.remove(endpoint);
    Q_EMIT updated(endpoint, {}, removed);
}

void Recorder::ingest(int endpoint, const Snapshot &snap, qint64 nowMs)
{
    auto eit = m_endpoints.find(endpoint);
    if (eit == m_endpoints.end() || !snap.valid)
        return;
    ++m_snapshots;
    const qint64 now = nowMs >= 0 ? nowMs : QDateTime::currentMSecsSinceEpoch();
    QList<quint64> added;
    QList<quint64> removed;
    QSet<quint64> present;
    Endpoint &ep = *eit;
    ep.srttSum = 0;
    ep.srttCount = 0;
    for (const SessionInfo &s : snap.sessions) {
        const quint64 key = makeKey(endpoint, s.id);
        present.insert(key);
        auto it = m_tracks.find(key);
        if (it == m_tracks.end()) {
            Track t;
            t.key = key;
            t.endpoint = endpoint;
            t.firstSeen = now;
            it = m_tracks.emplace(key, std::move(t)).first;
            added.append(key);
        }
        Track &t = it->second;
        t.info = s;
        t.rates = t.window.add(snap.timeMs, s.counters);
        Point p;
        p.t = now;
        p.srtt = float(s.srtt);
        p.rttvar = float(s.rttvar);
        p.rto = float(s.rto);
        p.cwnd = float(s.cwnd);
        p.ssthresh = float(s.ssthresh);
        p.inFlight = float(s.inFlight);
        p.rateOut = float(t.rates.out);
        p.rateIn = float(t.rates.in);
        p.wireOut = float(t.rates.wireOut);
        p.wireIn = float(t.rates.wireIn);
        p.retransmits = float(t.rates.retransmits);
        p.drops = float(t.rates.drops);
        p.retransmitPct = float(t.rates.retransmitPct);
        p.sessions = 1;
        t.history.append(p);
        if (s.state == QLatin1String("connected") && s.srtt > 0) {
            ep.srttSum += s.srtt;
            ++ep.srttCount;
        }
    }
    for (auto it = m_tracks.begin(); it != m_tracks.end();) {
        if (it->second.endpoint == endpoint && !present.contains(it->first)) {
            removed.append(it->first);
            it = m_tracks.erase(it);
        } else {
            ++it;
        }
    }
    ep.sessions = snap.sessionsTotal > 0 ? snap.sessionsTotal : int(snap.sessions.size());
    ep.rates = ep.window.add(snap.timeMs, snap.totals);
    pushTotals(now);
    Q_EMIT updated(endpoint, added, removed);
}

void Recorder::pushTotals(qint64 now)
{
    const Rates r = totalRates();
    Point p;
    p.t = now;
    p.srtt = float(meanSrtt());
    p.rateOut = float(r.out);
    p.rateIn = float(r.in);
    p.wireOut = float(r.wireOut);
    p.wireIn = float(r.wireIn);
    p.retransmits = float(r.retransmits);
    p.drops = float(r.drops);
    p.retransmitPct = float(r.retransmitPct);
    int sessions = 0;
    float rto = 0, cwnd = 0, inflight = 0, rttvar = 0;
    for (const auto &kv : m_tracks) {
        rto += float(kv.second.info.rto);
        rttvar += float(kv.second.info.rttvar);
        cwnd += float(kv.second.info.cwnd);
        inflight += float(kv.second.info.inFlight);
    }
    for (const Endpoint &e : m_endpoints)
        sessions += e.sessions;
    const float n = m_tracks.empty() ? 1.0f : float(m_tracks.size());
    p.rto = rto / n;
    p.rttvar = rttvar / n;
    p.cwnd = cwnd;
    p.inFlight = inflight;
    p.sessions = float(sessions);
    // Several endpoints each report at 10 Hz: keep the totals at about 10 Hz too.
    if (!m_totals.isEmpty() && now - m_totals.last().t < 80) {
        m_totals.replaceLast(p);
        return;
    }
    m_totals.append(p);
}

Rates Recorder::totalRates() const
{
    Rates r;
    double segsWeighted = 0, weight = 0;
    for (const Endpoint &e : m_endpoints) {
        r.out += e.rates.out;
        r.in += e.rates.in;
        r.wireOut += e.rates.wireOut;
        r.wireIn += e.rates.wireIn;
        r.retransmits += e.rates.retransmits;
        r.drops += e.rates.drops;
        r.securityDrops += e.rates.securityDrops;
        segsWeighted += e.rates.retransmitPct * (e.rates.wireOut + 1);
        weight += e.rates.wireOut + 1;
    }
    r.retransmitPct = weight > 0 ? segsWeighted / weight : 0;
    return r;
}

double Recorder::meanSrtt() const
{
    double sum = 0;
    int n = 0;
    for (const Endpoint &e : m_endpoints) {
        sum += e.srttSum;
        n += e.srttCount;
    }
    return n ? sum / n : 0.0;
}

void Recorder::clear()
{
    m_tracks.clear();
    m_totals.clear();
    for (Endpoint &e : m_endpoints) {
        e.window.clear();
        e.rates = Rates();
    }
    Q_EMIT cleared();
}

const Track *Recorder::track(quint64 key) const
{
    auto it = m_tracks.find(key);
    return it == m_tracks.end() ? nullptr : &it->second;
}

QList<quint64> Recorder::keys() const
{
    QList<quint64> k;
    k.reserve(qsizetype(m_tracks.size()));
    for (const auto &kv : m_tracks)
        k.append(kv.first);
    return k;
}

} // namespace kcpmon
