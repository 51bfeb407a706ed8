// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Private: one scheduler per thread drives every KCP socket of that thread from one QTimer.
// Sockets tell it when they next need attention (their session's check()); it keeps a min-heap of those
// deadlines and arms the timer for the earliest. A deadline that moves later is not re-pushed: the old entry
// fires, the socket recomputes and reschedules (lazy deletion), so the hot path costs one comparison.
// Work requested during an event (writes, received datagrams) is coalesced and run once at the end of the
// event-loop turn (a queued call), so many small writes become one flush.
#ifndef QKCPSCHEDULER_P_H
#define QKCPSCHEDULER_P_H

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qobject.h>
#include <QtCore/qtimer.h>

#include <cstdint>
#include <vector>

// The monotonic clock every kcpnet socket uses (ms since the first call in this process, starting at 1).
qint64 qkcpNow();
inline std::uint32_t qkcpNow32(qint64 now) { return static_cast<std::uint32_t>(now); }

class QKcpScheduled
{
public:
    virtual ~QKcpScheduled();
    // Do what is due; called by the scheduler with the current time. Reschedule from here if needed.
    virtual void onScheduled(qint64 now) = 0;

private:
    friend class QKcpScheduler;
    quint64 m_schedId = 0;          // registry key while registered
    qint64 m_scheduledAt = -1;      // earliest pending heap entry, -1 if none
    bool m_dirty = false;
};

class QKcpScheduler : public QObject
{
    Q_OBJECT
public:
    // The scheduler of the calling thread (created on first use, destroyed with the thread).
    static QKcpScheduler *instance();

    void add(QKcpScheduled *s);
    void remove(QKcpScheduled *s);
    // Run s->onScheduled() at `when` (ms, qkcpNow() clock) or earlier.
    void schedule(QKcpScheduled *s, qint64 when);
    // Run s->onScheduled() once at the end of this event-loop turn.
    void markDirty(QKcpScheduled *s);

    std::size_t heapSize() const { return m_heap.size(); }
    quint64 wakeups() const { return m_wakeups; }

private:
    explicit QKcpScheduler(QObject *parent = nullptr);
    void onTimer();
    void runDirty();
    void arm();

    struct Entry {
        qint64 when;
        quint64 id;
        bool operator>(const Entry &o) const { return when > o.when; }
    };
    std::vector<Entry> m_heap; // min-heap on `when`
    QHash<quint64, QKcpScheduled *> m_registry;
    std::vector<QKcpScheduled *> m_dirty;
    QTimer m_timer;
    qint64 m_armedFor = -1;
    quint64 m_nextId = 1;
    quint64 m_wakeups = 0;
    bool m_dirtyPosted = false;
};

#endif // QKCPSCHEDULER_P_H
