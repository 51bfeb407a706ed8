// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// Recorder: the monitor's memory. Snapshots from every endpoint come in; per session and for the totals it keeps
// rates (from counter deltas over the last second of the exporter's clock) and a history of points for the
// charts: 5 minutes at full rate (10 Hz) and 30 minutes at 1 Hz, so 100 sessions cost a few MB.
#ifndef KCPMON_RECORDER_H
#define KCPMON_RECORDER_H

#include "snapshot.h"

#include <QtCore/qhash.h>
#include <QtCore/qobject.h>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

namespace kcpmon {

// One point of a series (a session's or the totals'). t: wall-clock ms (for the time axis).
struct Point {
    qint64 t = 0;
    float srtt = 0;
    float rttvar = 0;
    float rto = 0;
    float cwnd = 0;
    float ssthresh = 0;
    float inFlight = 0;
    float rateOut = 0;      // payload bytes/s sent
    float rateIn = 0;       // payload bytes/s received
    float wireOut = 0;      // UDP payload bytes/s sent
    float wireIn = 0;
    float retransmits = 0;  // segments/s
    float drops = 0;        // datagrams/s
    float retransmitPct = 0; // share of sent segments that were retransmissions, over the rate window
    float sessions = 0;     // totals only
};

// Rates derived from counter deltas.
struct Rates {
    double out = 0;
    double in = 0;
    double wireOut = 0;
    double wireIn = 0;
    double retransmits = 0;
    double drops = 0;
    double securityDrops = 0; // of drops: failed authentication or replayed
    double retransmitPct = 0;
};

class History
{
public:
    static constexpr std::size_t FineCapacity = 3000;  // 5 min at 10 Hz
    static constexpr std::size_t CoarseCapacity = 1800; // 30 min at 1 Hz
    void append(const Point &p);
    // Updates the last point in place (keeps its time).
    void replaceLast(Point p);
    // Points with t >= from (the fine ring when it reaches back far enough, else the coarse one).
    std::vector<Point> since(qint64 from) const;
    bool isEmpty() const { return m_fine.empty(); }
    const Point &last() const { return m_fine.back(); }
    // Time of the oldest point kept (either ring).
    qint64 firstTime() const
    {
        return m_coarse.empty() ? m_fine.front().t : std::min(m_fine.front().t, m_coarse.front().t);
    }
    std::size_t size() const { return m_fine.size(); }
    const std::deque<Point> &fine() const { return m_fine; }
    const std::deque<Point> &coarse() const { return m_coarse; }
    void clear();

private:
    std::deque<Point> m_fine;
    std::deque<Point> m_coarse;
};

// Computes rates from (exporter time, counters) pairs over a sliding window.
class RateWindow
{
public:
    explicit RateWindow(qint64 spanMs = 1000) : m_span(spanMs) {}
    Rates add(qint64 timeMs, const Counters &c);
    void clear() { m_samples.clear(); }

private:
    qint64 m_span;
    std::deque<std::pair<qint64, Counters>> m_samples;
};

struct Track {
    quint64 key = 0;
    int endpoint = 0;
    SessionInfo info;
    Rates rates;
    RateWindow window;
    History history;
    qint64 firstSeen = 0;
};

class Recorder : public QObject
{
    Q_OBJECT
public:
    explicit Recorder(QObject *parent = nullptr);

    static quint64 makeKey(int endpoint, quint64 sessionId) { return (quint64(endpoint) << 40) | sessionId; }
    static int endpointOf(quint64 key) { return int(key >> 40); }
    static quint64 sessionOf(quint64 key) { return key & ((quint64(1) << 40) - 1); }

    int addEndpoint(const QString &name);
    void removeEndpoint(int endpoint);
    QString endpointName(int endpoint) const { return m_endpoints.value(endpoint).name; }
    QList<int> endpoints() const { return m_endpoints.keys(); }

    // nowMs: the wall clock to stamp points with (-1: now).
    void ingest(int endpoint, const Snapshot &snapshot, qint64 nowMs = -1);
    void clear();

    const Track *track(quint64 key) const;
    QList<quint64> keys() const;
    const History &totals() const { return m_totals; }
    Rates totalRates() const;
    int sessionCount() const { return int(m_tracks.size()); }
    double meanSrtt() const;
    quint64 snapshots() const { return m_snapshots; }

Q_SIGNALS:
    // After each ingest: the sessions of `endpoint` were updated (added/removed lists may be empty).
    void updated(int endpoint, const QList<quint64> &added, const QList<quint64> &removed);
    void cleared();

private:
    struct Endpoint {
        QString name;
        RateWindow window;
        Rates rates;
        int sessions = 0;
        double srttSum = 0;
        int srttCount = 0;
    };
    void pushTotals(qint64 now);

    QHash<int, Endpoint> m_endpoints;
    int m_nextEndpoint = 1;
    std::map<quint64, Track> m_tracks;
    History m_totals;
    quint64 m_snapshots = 0;
};

} // namespace kcpmon

#endif // KCPMON_RECORDER_H
