// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpscheduler_p.h"

#include <QtCore/qthreadstorage.h>

#include <algorithm>
#include <functional>

qint64 qkcpNow()
{
    static const QElapsedTimer clock = [] {
        QElapsedTimer t;
        t.start();
        return t;
    }();
    return clock.elapsed() + 1; // never 0: 0 means "not set" for the times sockets keep
}

QKcpScheduled::~QKcpScheduled() = default;

namespace {
// Owned per thread; QThreadStorage deletes it when the thread ends.
QThreadStorage<QKcpScheduler *> g_schedulers;
} // namespace

QKcpScheduler *QKcpScheduler::instance()
{
    if (!g_schedulers.hasLocalData())
        g_schedulers.setLocalData(new QKcpScheduler);
    return g_schedulers.localData();
}

QKcpScheduler::QKcpScheduler(QObject *parent)
    : QObject(parent)
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &QKcpScheduler::onTimer);
}

void QKcpScheduler::add(QKcpScheduled *s)
{
    slotOf(s);
}

quint32 QKcpScheduler::slotOf(QKcpScheduled *s)
{
    if (s->m_slot)
        return s->m_slot - 1;
    quint32 index;
    if (!m_freeSlots.empty()) {
        index = m_freeSlots.back();
        m_freeSlots.pop_back();
    } else {
        index = static_cast<quint32>(m_slots.size());
        m_slots.emplace_back();
    }
    Slot &slot = m_slots[index];
    slot.owner = s;
    slot.deadline = -1;
    slot.queuedAt = -1;
    s->m_slot = index + 1;
    ++m_live;
    return index;
}

void QKcpScheduler::remove(QKcpScheduled *s)
{
    if (!s->m_slot)
        return;
    const quint32 index = s->m_slot - 1;
    Slot &slot = m_slots[index];
    slot.owner = nullptr;
    slot.deadline = -1;
    slot.queuedAt = -1;
    ++slot.generation; // its heap entries are skipped when they surface
    m_freeSlots.push_back(index);
    s->m_slot = 0;
    --m_live;
    if (s->m_dirty) {
        m_dirty.erase(std::remove(m_dirty.begin(), m_dirty.end(), s), m_dirty.end());
        s->m_dirty = false;
    }
    // Rebuild when stale entries dominate.
    if (m_heap.size() > 64 && m_heap.size() > 4 * m_live) {
        std::vector<Entry> live;
        live.reserve(m_live);
        for (const Entry &e : m_heap) {
            const Slot &owner = m_slots[e.slot];
            if (owner.owner && owner.generation == e.generation && owner.queuedAt == e.when)
                live.push_back(e);
        }
        m_heap.swap(live);
        std::make_heap(m_heap.begin(), m_heap.end(), std::greater<Entry>());
    }
}

void QKcpScheduler::push(quint32 index, qint64 when)
{
    Slot &slot = m_slots[index];
    slot.queuedAt = when;
    m_heap.push_back({when, index, slot.generation});
    std::push_heap(m_heap.begin(), m_heap.end(), std::greater<Entry>());
}

void QKcpScheduler::schedule(QKcpScheduled *s, qint64 when)
{
    const quint32 index = slotOf(s);
    Slot &slot = m_slots[index];
    slot.deadline = when;
    if (slot.queuedAt >= 0 && slot.queuedAt <= when)
        return; // an entry at or before `when` is queued: when it comes up, onTimer() looks at the deadline
    push(index, when);
    arm();
}

void QKcpScheduler::markDirty(QKcpScheduled *s)
{
    slotOf(s);
    if (s->m_dirty)
        return;
    s->m_dirty = true;
    m_dirty.push_back(s);
    if (!m_dirtyPosted) {
        m_dirtyPosted = true;
        QMetaObject::invokeMethod(this, &QKcpScheduler::runDirty, Qt::QueuedConnection);
    }
}

void QKcpScheduler::runDirty()
{
    m_dirtyPosted = false;
    std::vector<QKcpScheduled *> batch;
    batch.swap(m_dirty);
    const qint64 now = qkcpNow();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        QKcpScheduled *s = batch[i];
        if (!s->m_dirty)
            continue; // removed meanwhile
        s->m_dirty = false;
        s->onScheduled(now);
    }
}

void QKcpScheduler::arm()
{
    if (m_heap.empty()) {
        m_timer.stop();
        m_armedFor = -1;
        return;
    }
    const qint64 when = m_heap.front().when;
    if (m_timer.isActive() && m_armedFor == when)
        return;
    m_armedFor = when;
    m_timer.start(static_cast<int>(std::clamp<qint64>(when - qkcpNow(), 0, 24 * 3600 * 1000)));
}

void QKcpScheduler::onTimer()
{
    ++m_wakeups;
    m_armedFor = -1;
    // Bounded: each socket is run at most once per timer event; entries pushed meanwhile wait for the next.
    const qint64 now = qkcpNow();
    std::size_t budget = m_heap.size();
    while (!m_heap.empty() && m_heap.front().when <= now && budget--) {
        const Entry e = m_heap.front();
        std::pop_heap(m_heap.begin(), m_heap.end(), std::greater<Entry>());
        m_heap.pop_back();
        Slot &slot = m_slots[e.slot];
        if (!slot.owner || slot.generation != e.generation || slot.queuedAt != e.when)
            continue; // socket gone, or superseded by an earlier entry that already ran
        slot.queuedAt = -1;
        if (slot.deadline > now) {
            push(e.slot, slot.deadline); // the deadline moved later since this entry was queued
            continue;
        }
        slot.deadline = -1;
        slot.owner->onScheduled(now); // may add or remove sockets: `slot` is not used after this
    }
    arm();
}
