// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The per-thread scheduler: runs each socket at its latest deadline, never earlier, once; a deadline moved later
// does not wake the socket at the old one; removed sockets are never run; markDirty() coalesces. Waits are bounded
// (QTRY_*); "not before" is checked against the time recorded at each run.

#include "qkcpscheduler_p.h"

#include <QRandomGenerator>
#include <QTest>

#include <functional>
#include <memory>
#include <vector>

namespace {

struct Probe : QKcpScheduled {
    ~Probe() override { QKcpScheduler::instance()->remove(this); }
    void onScheduled(qint64 now) override
    {
        runs.push_back(now);
        if (then)
            then(now);
    }
    std::vector<qint64> runs;
    std::function<void(qint64)> then;
};

} // namespace

class tst_QKcpScheduler : public QObject
{
    Q_OBJECT

private slots:
    void runsAtItsDeadline();
    void laterDeadlineDoesNotWakeEarly();
    void earlierDeadlineWins();
    void removedIsNeverRun();
    void markDirtyCoalesces();
    void manySocketsEachOnceAtTheirLastDeadline();
};

void tst_QKcpScheduler::runsAtItsDeadline()
{
    QKcpScheduler *sched = QKcpScheduler::instance();
    Probe p;
    const qint64 due = qkcpNow() + 40;
    sched->schedule(&p, due);
    QTRY_COMPARE_WITH_TIMEOUT(p.runs.size(), std::size_t(1), 5000);
    QVERIFY2(p.runs[0] >= due, qPrintable(QString::number(due - p.runs[0])));
}

void tst_QKcpScheduler::laterDeadlineDoesNotWakeEarly()
{
    // The first deadline's heap entry stays queued; when it comes up, the scheduler must queue the later deadline
    // itself, not run the socket.
    QKcpScheduler *sched = QKcpScheduler::instance();
    Probe p;
    const qint64 start = qkcpNow();
    const quint64 wakeups0 = sched->wakeups();
    sched->schedule(&p, start + 20);
    sched->schedule(&p, start + 800);
    QTRY_COMPARE_WITH_TIMEOUT(p.runs.size(), std::size_t(1), 5000);
    QVERIFY2(p.runs[0] >= start + 800, qPrintable(QString::number(p.runs[0] - start)));
    QVERIFY(sched->wakeups() - wakeups0 >= 2); // it did wake at +20, without running the socket
}

void tst_QKcpScheduler::earlierDeadlineWins()
{
    QKcpScheduler *sched = QKcpScheduler::instance();
    Probe p;
    Probe clock; // runs after the first probe's old entry has surfaced
    const qint64 start = qkcpNow();
    sched->schedule(&p, start + 1500);
    sched->schedule(&p, start + 30);
    sched->schedule(&clock, start + 1600);
    QTRY_COMPARE_WITH_TIMEOUT(clock.runs.size(), std::size_t(1), 5000);
    QCOMPARE(p.runs.size(), std::size_t(1)); // at +30; the +1500 entry was superseded and skipped
    QVERIFY(p.runs[0] >= start + 30);
    QVERIFY2(p.runs[0] < start + 1500, qPrintable(QString::number(p.runs[0] - start)));
}

void tst_QKcpScheduler::removedIsNeverRun()
{
    QKcpScheduler *sched = QKcpScheduler::instance();
    Probe clock;
    const qint64 start = qkcpNow();
    {
        Probe gone;
        sched->schedule(&gone, start + 20);
        sched->markDirty(&gone);
    } // removed (and destroyed) with an entry queued and a dirty mark pending
    Probe reused; // may take the freed slot: the old entry must not run it
    sched->schedule(&reused, start + 1500);
    sched->schedule(&clock, start + 100);
    QTRY_COMPARE_WITH_TIMEOUT(clock.runs.size(), std::size_t(1), 5000);
    QVERIFY2(reused.runs.empty(), "a removed socket's heap entry ran the slot's next owner");
    QTRY_COMPARE_WITH_TIMEOUT(reused.runs.size(), std::size_t(1), 5000);
    QVERIFY(reused.runs[0] >= start + 1500);
}

void tst_QKcpScheduler::markDirtyCoalesces()
{
    QKcpScheduler *sched = QKcpScheduler::instance();
    Probe p;
    for (int i = 0; i < 5; ++i)
        sched->markDirty(&p);
    QVERIFY(p.runs.empty()); // at the end of this turn, not now
    QTRY_COMPARE_WITH_TIMEOUT(p.runs.size(), std::size_t(1), 5000);
    // Marked again from its own run: runs once more, in a later turn.
    p.then = [&](qint64) {
        if (p.runs.size() == 2)
            sched->markDirty(&p);
    };
    sched->markDirty(&p);
    QTRY_COMPARE_WITH_TIMEOUT(p.runs.size(), std::size_t(3), 5000);
}

void tst_QKcpScheduler::manySocketsEachOnceAtTheirLastDeadline()
{
    // 2000 sockets, each scheduled at a random time, then most moved later (as keepalives move peer timeouts) and
    // some earlier; a few removed. Each remaining one runs exactly once, not before its last deadline.
    QKcpScheduler *sched = QKcpScheduler::instance();
    QRandomGenerator rng(20261126);
    const qint64 start = qkcpNow();
    constexpr int kCount = 2000;
    std::vector<std::unique_ptr<Probe>> probes;
    std::vector<qint64> last(kCount);
    for (int i = 0; i < kCount; ++i) {
        probes.push_back(std::make_unique<Probe>());
        last[i] = start + 10 + rng.bounded(200);
        sched->schedule(probes[i].get(), last[i]);
    }
    for (int i = 0; i < kCount; ++i) {
        const qint64 moved = i % 5 == 0 ? last[i] - rng.bounded(10) : last[i] + 20 + rng.bounded(300);
        last[i] = moved;
        sched->schedule(probes[i].get(), moved);
    }
    for (int i = 0; i < kCount; i += 97)
        probes[i].reset();
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const auto &p : probes) {
                if (p && p->runs.empty())
                    return false;
            }
            return true;
        }(),
        10000);
    for (int i = 0; i < kCount; ++i) {
        if (!probes[i])
            continue;
        QCOMPARE(probes[i]->runs.size(), std::size_t(1));
        QVERIFY2(probes[i]->runs[0] >= last[i], qPrintable(QStringLiteral("socket %1 ran %2 ms early")
                                                                .arg(i)
                                                                .arg(last[i] - probes[i]->runs[0])));
    }
    QVERIFY(sched->heapSize() <= std::size_t(2 * kCount));
}

QTEST_GUILESS_MAIN(tst_QKcpScheduler)
#include "tst_qkcpscheduler.moc"
