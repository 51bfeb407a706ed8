// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// LinkModel: what the emulated link does to each packet, without any I/O.
//
// Each direction has its own loss probability, one-way delay and jitter (uniform 0..jitter extra delay). Packets
// that survive wait in one timer heap ordered by due time (ties keep arrival order); the caller asks for the packets
// that are due and writes them out. By default a direction keeps its packets in order (a packet is never due before
// the one ahead of it, as on a real path where jitter is queueing delay); with reordering allowed, jitter lets
// packets overtake each other. Each direction's queue is bounded: a full queue drops (and counts) the packet.
//
// Decisions come from one seeded std::mt19937_64, so a given seed and packet sequence give the same decisions.
#ifndef LINKEMU_LINKMODEL_H
#define LINKEMU_LINKMODEL_H

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <queue>
#include <random>
#include <vector>

namespace linkemu {

struct Impairment {
    double lossPercent = 0.0; // 0..100
    std::int64_t delayNs = 0;
    std::int64_t jitterNs = 0;
};

struct DirectionCounters {
    std::uint64_t received = 0;  // packets read from the sending side
    std::uint64_t lost = 0;      // dropped on purpose (the loss probability)
    std::uint64_t queueFull = 0; // dropped because the queue was at its limit
    std::uint64_t delivered = 0; // handed back to the caller for writing
    std::uint64_t bytesDelivered = 0;
    std::size_t maxQueued = 0;
};

class LinkModel
{
public:
    struct Packet {
        std::int64_t due = 0; // ns, on the caller's monotonic clock
        std::uint64_t seq = 0;
        int direction = 0;
        std::vector<std::uint8_t> data;
    };

    LinkModel(std::uint64_t seed, std::size_t queueLimit, bool allowReorder)
        : m_rng(seed)
        , m_queueLimit(std::max<std::size_t>(queueLimit, 1))
        , m_allowReorder(allowReorder)
    {}

    void setImpairment(int direction, const Impairment &impairment) { m_impairment[direction] = impairment; }
    const DirectionCounters &counters(int direction) const { return m_counters[direction]; }
    std::size_t queued(int direction) const { return m_queued[direction]; }

    // A packet read from `direction`'s sender at time `now`. Returns false when it was dropped.
    bool submit(int direction, const std::uint8_t *data, std::size_t size, std::int64_t now)
    {
        DirectionCounters &c = m_counters[direction];
        const Impairment &imp = m_impairment[direction];
        ++c.received;
        if (imp.lossPercent > 0.0 && m_uniform(m_rng) * 100.0 < imp.lossPercent) {
            ++c.lost;
            return false;
        }
        if (m_queued[direction] >= m_queueLimit) {
            ++c.queueFull;
            return false;
        }
        std::int64_t due = now + imp.delayNs;
        if (imp.jitterNs > 0)
            due += static_cast<std::int64_t>(m_uniform(m_rng) * static_cast<double>(imp.jitterNs + 1));
        if (!m_allowReorder)
            due = std::max(due, m_lastDue[direction]);
        m_lastDue[direction] = due;

        Packet p;
        p.due = due;
        p.seq = m_nextSeq++;
        p.direction = direction;
        p.data.assign(data, data + size);
        m_heap.push(std::move(p));
        c.maxQueued = std::max(c.maxQueued, ++m_queued[direction]);
        return true;
    }

    // The earliest due time, or -1 when nothing waits.
    std::int64_t nextDue() const { return m_heap.empty() ? -1 : m_heap.top().due; }

    // Moves the next packet due at `now` into `out`; false when none is due.
    bool popDue(std::int64_t now, Packet *out)
    {
        if (m_heap.empty() || m_heap.top().due > now)
            return false;
        // priority_queue::top() is const: copy out, then pop (packets are small, at most one MTU).
        *out = m_heap.top();
        m_heap.pop();
        --m_queued[out->direction];
        DirectionCounters &c = m_counters[out->direction];
        ++c.delivered;
        c.bytesDelivered += out->data.size();
        return true;
    }

private:
    struct Later {
        bool operator()(const Packet &a, const Packet &b) const
        {
            return a.due != b.due ? a.due > b.due : a.seq > b.seq;
        }
    };

    std::mt19937_64 m_rng;
    std::uniform_real_distribution<double> m_uniform{0.0, 1.0};
    std::size_t m_queueLimit;
    bool m_allowReorder;
    std::array<Impairment, 2> m_impairment{};
    std::array<DirectionCounters, 2> m_counters{};
    std::array<std::size_t, 2> m_queued{};
    std::array<std::int64_t, 2> m_lastDue{};
    std::uint64_t m_nextSeq = 0;
    std::priority_queue<Packet, std::vector<Packet>, Later> m_heap;
};

} // namespace linkemu

#endif // LINKEMU_LINKMODEL_H
