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
    if (s->m_schedId)
        return;
    s->m_schedId = m_nextId++;
    s->m_scheduledAt = -1;
    m_registry.insert(s->m_schedId, s);
}

void QKcpScheduler::remove(QKcpScheduled *s)
{
    if (!s->m_schedId)
        return;
    m_registry.remove(s->m_schedId);
    s->m_schedId = 0;
    s->m_scheduledAt = -1;
    if (s->m_dirty) {
        m_dirty.erase(std::remove(m_dirty.begin(), m_dirty.end(), s), m_dirty.end());
        s->m_dirty = false;
    }
    // Heap entries with the old id are skipped when they surface. Rebuild when stale ones dominate.
    if (m_heap.size() > 64 && m_heap.size() > 4 * static_cast<std::size_t>(m_registry.size())) {
        std::vector<Entry> live;
        live.reserve(m_registry.size());
        for (const Entry &e : m_heap) {
            auto it = m_registry.constFind(e.id);
            if (it != m_registry.constEnd() && (*it)->m_scheduledAt == e.when)
                live.push_back(e);
        }
        m_heap.swap(live);
        std::make_heap(m_heap.begin(), m_heap.end(), std::greater<Entry>());
    }
}

void QKcpScheduler::schedule(QKcpScheduled *s, qint64 when)
{
    if (!s->m_schedId)
        add(s);
    if (s->m_scheduledAt >= 0 && s->m_scheduledAt <= when)
        return; // an earlier wake-up is pending; the socket reschedules when it runs
    s->m_scheduledAt = when;
    m_heap.push_back({when, s->m_schedId});
    std::push_heap(m_heap.begin(), m_heap.end(), std::greater<Entry>());
    arm();
}

void QKcpScheduler::markDirty(QKcpScheduled *s)
{
    if (!s->m_schedId)
        add(s);
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
        auto it = m_registry.constFind(e.id);
        if (it == m_registry.constEnd())
            continue; // socket gone
        QKcpScheduled *s = *it;
        if (s->m_scheduledAt != e.when)
            continue; // superseded by an earlier entry that already ran
        s->m_scheduledAt = -1;
        s->onScheduled(now);
    }
    arm();
}
