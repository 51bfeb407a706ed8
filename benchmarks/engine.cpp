// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// benchmarks/engine: two KcpEngines moving data through an in-memory link driven by a virtual clock.
// Prints, per case, the CPU cost of the engine (MB moved per CPU-second, CPU ms per MB) and the protocol's
// throughput in virtual time, then the same for kcp-go's in-memory KCP when the Go peer is available,
// and the memory of an idle engine. Not a test: it asserts nothing about speed.
//
// Usage: engine [--mb N] [--kcpgo PATH_TO_KCPGO_PEER] [--no-kcpgo]

#include "kcpengine.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

using kcpnet::KcpEngine;

namespace {

double cpuSeconds()
{
    rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
        + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Case {
    const char *name;
    double loss;          // per datagram, each direction
    std::uint32_t delayMs; // one way
};

struct Result {
    double megabytes = 0;
    double cpuSeconds = 0;
    double virtualSeconds = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t datagrams = 0;
    bool complete = false;
};

// A one-way link with fixed delay (so FIFO) and random loss.
struct Link {
    struct Packet {
        std::uint32_t due;
        std::vector<std::uint8_t> bytes;
    };
    std::deque<Packet> queue;
    std::vector<std::vector<std::uint8_t>> spare; // recycled buffers: the link itself should cost little
    std::mt19937 rng;
    double loss;
    std::uint32_t delay;

    Link(std::uint32_t seed, double l, std::uint32_t d) : rng(seed), loss(l), delay(d) {}

    void send(const std::uint8_t *p, std::size_t n, std::uint32_t now)
    {
        if (loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < loss)
            return;
        std::vector<std::uint8_t> buf;
        if (!spare.empty()) {
            buf = std::move(spare.back());
            spare.pop_back();
        }
        buf.assign(p, p + n);
        queue.push_back({now + delay, std::move(buf)});
    }

    void deliver(KcpEngine &to, std::uint32_t now)
    {
        while (!queue.empty() && kcpnet::kcpDiff(now, queue.front().due) >= 0) {
            to.input(queue.front().bytes.data(), queue.front().bytes.size(), now);
            spare.push_back(std::move(queue.front().bytes));
            queue.pop_front();
        }
    }
};

void configure(KcpEngine &e)
{
    // kcptun's fast3 / ikcp turbo, windows 512, MTU 1400: the settings the kcp-go figures use.
    e.setNoDelay(1, 10, 2, true);
    e.setWindowSize(512, 512);
    e.setMtu(1400);
    e.setStreamMode(true);
}

Result runCase(const Case &c, std::size_t totalBytes)
{
    std::uint32_t now = 0;
    Link ab(1, c.loss, c.delayMs);
    Link ba(2, c.loss, c.delayMs);
    KcpEngine a(0x11223344, [&](const std::uint8_t *p, std::size_t n) { ab.send(p, n, now); });
    KcpEngine b(0x11223344, [&](const std::uint8_t *p, std::size_t n) { ba.send(p, n, now); });
    configure(a);
    configure(b);

    std::vector<std::uint8_t> chunk(64 * 1024);
    for (std::size_t i = 0; i < chunk.size(); ++i)
        chunk[i] = static_cast<std::uint8_t>(i * 131 + 7);
    std::vector<std::uint8_t> sink(256 * 1024);

    std::size_t sent = 0;
    std::size_t received = 0;
    const double cpu0 = cpuSeconds();
    const std::uint32_t limitMs = 600000; // virtual time bound
    for (std::uint32_t steps = 0; received < totalBytes && steps < 10000000 && now < limitMs; ++steps) {
        while (sent < totalBytes && a.waitSnd() < 2 * a.sendWindow()) {
            const int n = static_cast<int>(std::min(chunk.size(), totalBytes - sent));
            a.send(chunk.data(), n);
            sent += static_cast<std::size_t>(n);
        }
        ab.deliver(b, now);
        ba.deliver(a, now);
        for (int n; (n = b.recv(sink.data(), static_cast<int>(sink.size()))) > 0;)
            received += static_cast<std::size_t>(n);
        a.update(now);
        b.update(now);

        std::uint32_t next = std::min(a.check(now), b.check(now), [&](std::uint32_t x, std::uint32_t y) {
            return kcpnet::kcpDiff(x, y) < 0;
        });
        for (const Link *l : {&ab, &ba})
            if (!l->queue.empty() && kcpnet::kcpDiff(l->queue.front().due, next) < 0)
                next = l->queue.front().due;
        now = kcpnet::kcpDiff(next, now) > 0 ? next : now + 1;
    }
    Result r;
    r.cpuSeconds = cpuSeconds() - cpu0;
    r.megabytes = static_cast<double>(received) / 1e6;
    r.virtualSeconds = now / 1000.0;
    r.retransmits = a.stats().retransmitsTimeout + a.stats().retransmitsFast;
    r.datagrams = a.stats().datagramsSent + b.stats().datagramsSent;
    r.complete = received == totalBytes;
    return r;
}

struct GoLine {
    std::string text;
};

std::vector<std::string> runKcpGo(const std::string &peer, std::size_t megabytes)
{
    std::vector<std::string> lines;
    const std::string cmd = "'" + peer + "' bench --mb " + std::to_string(megabytes) + " 2>&1";
    FILE *f = popen(cmd.c_str(), "r");
    if (!f)
        return lines;
    char buf[1024];
    while (std::fgets(buf, sizeof buf, f)) {
        std::string s(buf);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
            s.pop_back();
        lines.push_back(s);
    }
    const int rc = pclose(f);
    if (rc != 0)
        lines.push_back("(kcp-go peer exited with status " + std::to_string(rc) + ")");
    return lines;
}

// Extracts "key=value" from a BENCH line.
double field(const std::string &line, const char *key)
{
    const std::string k = std::string(" ") + key + "=";
    const auto pos = line.find(k);
    return pos == std::string::npos ? -1 : std::atof(line.c_str() + pos + k.size());
}

} // namespace

int main(int argc, char **argv)
{
    std::size_t megabytes = 64;
    std::string kcpgo;
#ifdef KCPNET_KCPGO_PEER
    kcpgo = KCPNET_KCPGO_PEER;
#endif
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--mb") && i + 1 < argc)
            megabytes = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
        else if (!std::strcmp(argv[i], "--kcpgo") && i + 1 < argc)
            kcpgo = argv[++i];
        else if (!std::strcmp(argv[i], "--no-kcpgo"))
            kcpgo.clear();
        else {
            std::fprintf(stderr, "usage: %s [--mb N] [--kcpgo PEER] [--no-kcpgo]\n", argv[0]);
            return 2;
        }
    }

    const Case cases[] = {
        {"lossless", 0.0, 5},
        {"loss10", 0.10, 5},
    };
    std::printf("kcpnet engine benchmark: two engines in memory, nodelay(1,10,2,1), windows 512/512, MTU 1400,"
                " stream mode, %zu MB one way, one-way delay 5 ms (virtual clock)\n\n",
                megabytes);
    std::printf("%-10s %-8s %10s %12s %14s %14s %12s\n", "impl", "case", "MB", "MB/cpu-s", "cpu ms/MB",
                "MB/s virtual", "retransmits");
    double ours[2] = {0, 0};
    int idx = 0;
    for (const Case &c : cases) {
        const std::size_t bytes = (c.loss > 0 ? std::max<std::size_t>(1, megabytes / 4) : megabytes) * 1000000;
        const Result r = runCase(c, bytes);
        const double perCpu = r.cpuSeconds > 0 ? r.megabytes / r.cpuSeconds : 0;
        ours[idx++] = perCpu;
        std::printf("%-10s %-8s %10.1f %12.0f %14.3f %14.1f %12llu%s\n", "kcpnet", c.name, r.megabytes, perCpu,
                    r.megabytes > 0 ? r.cpuSeconds * 1000 / r.megabytes : 0,
                    r.virtualSeconds > 0 ? r.megabytes / r.virtualSeconds : 0,
                    static_cast<unsigned long long>(r.retransmits), r.complete ? "" : "  INCOMPLETE");
    }

    if (!kcpgo.empty()) {
        const auto lines = runKcpGo(kcpgo, megabytes);
        for (const std::string &l : lines) {
            if (l.rfind("BENCH ", 0) != 0) {
                std::printf("  kcp-go: %s\n", l.c_str());
                continue;
            }
            // BENCH kcpgo <case> MB=.. MBps=.. MBps_virtual=.. MBps_cpu=.. cpu_ms_per_MB=.. ... retransmits=..
            // (format documented in tests/interop/kcpgo-peer/main.go; kcp-go has no virtual clock: its
            // MBps_virtual is the wall-clock rate)
            char impl[64] = {0}, name[64] = {0};
            std::sscanf(l.c_str(), "BENCH %63s %63s", impl, name);
            const double perCpu = field(l, "MBps_cpu");
            std::printf("%-10s %-8s %10.1f %12.0f %14.3f %14.1f %12.0f\n", impl, name, field(l, "MB"), perCpu,
                        field(l, "cpu_ms_per_MB"), field(l, "MBps_virtual"), field(l, "retransmits"));
            const int i = std::string(name) == "lossless" ? 0 : (std::string(name) == "loss10" ? 1 : -1);
            if (i >= 0 && perCpu > 0)
                std::printf("%-10s %-8s ratio kcpnet/kcp-go (MB per CPU-second): %.2fx\n", "", name, ours[i] / perCpu);
        }
    } else {
        std::printf("(kcp-go comparison skipped: no kcp-go peer built)\n");
    }

    // Memory of an idle engine: fresh, and after a transfer once compact() has given back its buffers.
    KcpEngine fresh(1);
    std::uint32_t now = 0;
    Link l1(3, 0, 1), l2(4, 0, 1);
    KcpEngine x(9, [&](const std::uint8_t *p, std::size_t n) { l1.send(p, n, now); });
    KcpEngine y(9, [&](const std::uint8_t *p, std::size_t n) { l2.send(p, n, now); });
    configure(x);
    configure(y);
    std::vector<std::uint8_t> data(200000, 0x5a), sink(300000);
    x.send(data.data(), static_cast<int>(data.size()));
    for (int i = 0; i < 2000 && !(x.isIdle() && y.isIdle() && l1.queue.empty() && l2.queue.empty()); ++i) {
        l1.deliver(y, now);
        l2.deliver(x, now);
        while (y.recv(sink.data(), static_cast<int>(sink.size())) > 0) {
        }
        x.update(now);
        y.update(now);
        now += 1;
    }
    const std::size_t busy = x.memoryUsage();
    x.compact();
    y.compact();
    std::printf("\nidle engine memory: fresh %zu bytes, after a 200 KB transfer %zu bytes (before compact %zu),"
                " sizeof(KcpEngine) %zu\n",
                fresh.memoryUsage(), x.memoryUsage(), busy, sizeof(KcpEngine));
    return 0;
}
