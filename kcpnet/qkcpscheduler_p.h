// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Private: one scheduler per thread drives every KCP socket of that thread from one QTimer.
// Sockets tell it when they next need attention (their session's check()); it keeps a min-heap of those
// deadlines and arms the timer for the earliest. A deadline that moves later is only written down in the
// socket's slot, not re-pushed: when the old entry comes up, the scheduler queues the new deadline itself without
// waking the socket (an idle session's peer timeout moves with every keepalive; 10,000 of them would otherwise
// mean thousands of needless runs a second over cold memory). Slots live in one dense array here, so that check
// touches no socket.
// Work requested during an event (writes, received datagrams) is coalesced and run once at the end of the
// event-loop turn (a queued call), so many small writes become one flush.
#ifndef QKCPSCHEDULER_P_H
#define QKCPSCHEDULER_P_H

#include <QtCore/qelapsedtimer.h>
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
    quint32 m_slot = 0; // 1 + index into the scheduler's slots while registered, 0 if not
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
    // Run s->onScheduled() at `when` (ms, qkcpNow() clock). The latest call wins: it replaces the deadline an
    // earlier call gave (runs and markDirty() are what make a socket's deadline change).
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

    struct Slot {
        QKcpScheduled *owner = nullptr; // null while free
        qint64 deadline = -1;           // when the owner next wants to run, -1 if never
        qint64 queuedAt = -1;           // the heap entry that counts for this slot, -1 if none
        quint32 generation = 0;         // bumped when the slot is freed: older heap entries no longer count
    };
    struct Entry {
        qint64 when;
        quint32 slot;
        quint32 generation;
        bool operator>(const Entry &o) const { return when > o.when; }
    };
    quint32 slotOf(QKcpScheduled *s);
    void push(quint32 slot, qint64 when);

    std::vector<Entry> m_heap; // min-heap on `when`
    std::vector<Slot> m_slots;
    std::vector<quint32> m_freeSlots;
    std::size_t m_live = 0;
    std::vector<QKcpScheduled *> m_dirty;
    QTimer m_timer;
    qint64 m_armedFor = -1;
    quint64 m_wakeups = 0;
    bool m_dirtyPosted = false;
};

#endif // QKCPSCHEDULER_P_H
