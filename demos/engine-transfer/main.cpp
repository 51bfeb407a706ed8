// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// engine-transfer: the Qt-free KcpEngine moving a file through a simulated lossy link in real time.
// Two engines live in this process; the "network" between them drops, delays and jitters datagrams.
// Once a second it prints the sender's and receiver's statistics; at the end it checks the data arrived
// intact (FNV-1a over both copies).
//
// Usage: engine-transfer [--file PATH] [--size MB] [--loss PERCENT] [--delay MS] [--jitter MS]
//                        [--duration S] [--preset normal|fast|turbo]

#include "kcpengine.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

using kcpnet::KcpEngine;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string file;
    double sizeMb = 20;
    double loss = 10;
    std::uint32_t delay = 25;
    std::uint32_t jitter = 5;
    double duration = 60;
    std::string preset = "turbo";
};

struct Packet {
    std::uint32_t due;
    std::uint64_t order;
    std::vector<std::uint8_t> bytes;
    bool operator>(const Packet &o) const
    {
        return kcpnet::kcpDiff(due, o.due) > 0 || (due == o.due && order > o.order);
    }
};

// One direction of the simulated network: loss, fixed delay plus uniform jitter (which reorders).
class Link
{
public:
    Link(std::uint32_t seed, const Options &o) : m_rng(seed), m_opt(o) {}

    void send(const std::uint8_t *p, std::size_t n, std::uint32_t now)
    {
        ++m_sent;
        if (std::uniform_real_distribution<double>(0, 100)(m_rng) < m_opt.loss) {
            ++m_dropped;
            return;
        }
        const std::uint32_t jitter =
            m_opt.jitter ? std::uniform_int_distribution<std::uint32_t>(0, m_opt.jitter)(m_rng) : 0;
        m_queue.push({now + m_opt.delay + jitter, m_order++, std::vector<std::uint8_t>(p, p + n)});
    }

    void deliver(KcpEngine &to, std::uint32_t now)
    {
        while (!m_queue.empty() && kcpnet::kcpDiff(now, m_queue.top().due) >= 0) {
            to.input(m_queue.top().bytes.data(), m_queue.top().bytes.size(), now);
            m_queue.pop();
        }
    }

    bool nextDue(std::uint32_t &t) const
    {
        if (m_queue.empty())
            return false;
        t = m_queue.top().due;
        return true;
    }
    std::uint64_t sent() const { return m_sent; }
    std::uint64_t dropped() const { return m_dropped; }

private:
    std::priority_queue<Packet, std::vector<Packet>, std::greater<Packet>> m_queue;
    std::mt19937 m_rng;
    const Options &m_opt;
    std::uint64_t m_order = 0;
    std::uint64_t m_sent = 0;
    std::uint64_t m_dropped = 0;
};

void applyPreset(KcpEngine &e, const std::string &preset)
{
    if (preset == "normal")
        e.setNoDelay(0, 40, 2, true); // kcptun "normal"
    else if (preset == "fast")
        e.setNoDelay(0, 30, 2, true); // kcptun "fast"
    else
        e.setNoDelay(1, 10, 2, true); // ikcp "turbo" = kcptun "fast3"
    e.setWindowSize(256, 256);
    e.setStreamMode(true);
    e.setAckNoDelay(true);
}

std::uint64_t fnv1a(std::uint64_t h, const std::uint8_t *p, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool parse(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char * { return i + 1 < argc ? argv[++i] : nullptr; };
        const char *v = nullptr;
        if (a == "--file" && (v = next()))
            o.file = v;
        else if (a == "--size" && (v = next()))
            o.sizeMb = std::atof(v);
        else if (a == "--loss" && (v = next()))
            o.loss = std::atof(v);
        else if (a == "--delay" && (v = next()))
            o.delay = static_cast<std::uint32_t>(std::atoi(v));
        else if (a == "--jitter" && (v = next()))
            o.jitter = static_cast<std::uint32_t>(std::atoi(v));
        else if (a == "--duration" && (v = next()))
            o.duration = std::atof(v);
        else if (a == "--preset" && (v = next()))
            o.preset = v;
        else
            return false;
    }
    return o.loss >= 0 && o.loss < 100 && o.sizeMb > 0 && o.duration > 0;
}

} // namespace

int main(int argc, char **argv)
{
    Options opt;
    if (!parse(argc, argv, opt)) {
        std::fprintf(stderr,
                     "usage: %s [--file PATH] [--size MB] [--loss PERCENT] [--delay MS] [--jitter MS]"
                     " [--duration S] [--preset normal|fast|turbo]\n",
                     argv[0]);
        return 2;
    }

    std::vector<std::uint8_t> payload;
    if (!opt.file.empty()) {
        std::ifstream in(opt.file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "cannot read %s\n", opt.file.c_str());
            return 1;
        }
        payload.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else {
        payload.resize(static_cast<std::size_t>(opt.sizeMb * 1e6));
        std::mt19937 gen(42);
        for (auto &b : payload)
            b = static_cast<std::uint8_t>(gen());
    }

    const auto start = Clock::now();
    auto millis = [&] {
        return static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    };
    std::uint32_t now = millis();
    Link toReceiver(1, opt), toSender(2, opt);
    KcpEngine sender(0x4b435021, [&](const std::uint8_t *p, std::size_t n) { toReceiver.send(p, n, now); });
    KcpEngine receiver(0x4b435021, [&](const std::uint8_t *p, std::size_t n) { toSender.send(p, n, now); });
    applyPreset(sender, opt.preset);
    applyPreset(receiver, opt.preset);

    std::printf("engine-transfer: %zu bytes%s%s, preset %s, loss %.1f%%, delay %u ms, jitter %u ms\n",
                payload.size(), opt.file.empty() ? "" : " from ", opt.file.c_str(), opt.preset.c_str(), opt.loss,
                opt.delay, opt.jitter);
    std::printf("%5s %9s %9s %7s %6s %6s %6s %7s %7s %7s %6s\n", "t(s)", "sent MB", "recv MB", "MB/s", "srtt",
                "rto", "cwnd", "rtx-to", "rtx-fst", "dups", "wire%");

    std::size_t sent = 0, received = 0;
    std::uint64_t hashIn = 1469598103934665603ull, hashOut = hashIn;
    hashIn = fnv1a(hashIn, payload.data(), payload.size());
    std::vector<std::uint8_t> sink(1 << 20);
    std::uint32_t nextReport = now + 1000;
    std::size_t lastReceived = 0;
    const std::uint32_t deadline = static_cast<std::uint32_t>(opt.duration * 1000);

    auto report = [&](double t) {
        const auto s = sender.stats();
        const auto r = receiver.stats();
        const double wire = s.bytesSent ? 100.0 * static_cast<double>(s.wireBytesSent) / s.bytesSent : 0;
        std::printf("%5.1f %9.2f %9.2f %7.2f %6u %6u %6u %7llu %7llu %7llu %6.1f\n", t, sent / 1e6, received / 1e6,
                    (received - lastReceived) / 1e6, s.srtt, s.rto, s.cwnd,
                    static_cast<unsigned long long>(s.retransmitsTimeout),
                    static_cast<unsigned long long>(s.retransmitsFast),
                    static_cast<unsigned long long>(r.duplicateSegments), wire);
        std::fflush(stdout);
        lastReceived = received;
    };

    while (received < payload.size() && kcpnet::kcpDiff(now, deadline) < 0) {
        while (sent < payload.size() && sender.waitSnd() < 2 * sender.sendWindow()) {
            const int n = static_cast<int>(std::min<std::size_t>(64 * 1024, payload.size() - sent));
            sender.send(payload.data() + sent, n);
            sent += static_cast<std::size_t>(n);
        }
        toReceiver.deliver(receiver, now);
        toSender.deliver(sender, now);
        for (int n; (n = receiver.recv(sink.data(), static_cast<int>(sink.size()))) > 0;) {
            hashOut = fnv1a(hashOut, sink.data(), static_cast<std::size_t>(n));
            received += static_cast<std::size_t>(n);
        }
        sender.update(now);
        receiver.update(now);
        if (kcpnet::kcpDiff(now, nextReport) >= 0) {
            report(now / 1000.0);
            nextReport += 1000;
        }

        // Sleep until the next thing happens: an engine timer, a datagram arriving, or the next report.
        std::uint32_t wake = nextReport;
        for (std::uint32_t t : {sender.check(now), receiver.check(now)})
            wake = kcpnet::kcpDiff(t, wake) < 0 ? t : wake;
        std::uint32_t due;
        for (const Link *l : {&toReceiver, &toSender})
            if (l->nextDue(due) && kcpnet::kcpDiff(due, wake) < 0)
                wake = due;
        const std::int32_t wait = kcpnet::kcpDiff(wake, millis());
        if (wait > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(wait));
        now = millis();
    }
    report(now / 1000.0);

    const auto s = sender.stats();
    const bool ok = received == payload.size() && hashIn == hashOut;
    std::printf("%s: %zu of %zu bytes in %.2f s (%.2f MB/s); datagrams sent %llu, dropped by the link %llu + %llu;"
                " retransmits %llu timeout + %llu fast\n",
                ok ? "OK" : "FAILED", received, payload.size(), now / 1000.0, received / 1e6 / (now / 1000.0),
                static_cast<unsigned long long>(s.datagramsSent),
                static_cast<unsigned long long>(toReceiver.dropped()),
                static_cast<unsigned long long>(toSender.dropped()),
                static_cast<unsigned long long>(s.retransmitsTimeout),
                static_cast<unsigned long long>(s.retransmitsFast));
    return ok ? 0 : 1;
}
