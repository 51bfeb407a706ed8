// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Engine behaviour that is not about the wire format: settings and their limits, send()/recv() return
// values, stream partial reads, zero-window probing, dead link, idleness and memory, the RTT estimator,
// and check().
#include "kcpengine.h"
#include "kcpsegment.h"
#include "simlink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

using namespace kcpnet;
using namespace kcptest;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::uint32_t kConv = 0x0BADF00D;
constexpr std::uint8_t PUSH = 81, ACK = 82, WASK = 83, WINS = 84;

struct Capture {
    std::vector<Bytes> out;
    std::vector<std::uint32_t> when;
    std::uint32_t now = 0;
    KcpEngine::Output sink()
    {
        return [this](const std::uint8_t *d, std::size_t n) {
            out.emplace_back(d, d + n);
            when.push_back(now);
        };
    }
    std::vector<KcpSegmentHeader> segments(std::uint8_t cmd) const
    {
        std::vector<KcpSegmentHeader> v;
        for (const Bytes &d : out)
            for (const WireSegment &s : walkSegments(d.data(), d.size()).segments)
                if (s.header.cmd == cmd)
                    v.push_back(s.header);
        return v;
    }
    // Times at which datagrams containing `cmd` were sent.
    std::vector<std::uint32_t> times(std::uint8_t cmd) const
    {
        std::vector<std::uint32_t> v;
        for (std::size_t i = 0; i < out.size(); ++i)
            for (const WireSegment &s : walkSegments(out[i].data(), out[i].size()).segments)
                if (s.header.cmd == cmd) {
                    v.push_back(when[i]);
                    break;
                }
        return v;
    }
    void deliverTo(KcpEngine &e, std::uint32_t now)
    {
        for (const Bytes &d : out)
            ASSERT_EQ(e.input(d.data(), d.size(), now), KcpInputResult::Ok);
        out.clear();
        when.clear();
    }
};

Bytes control(std::uint8_t cmd, std::uint16_t wnd, std::uint32_t una = 0)
{
    KcpSegmentHeader h;
    h.conv = kConv;
    h.cmd = cmd;
    h.wnd = wnd;
    h.una = una;
    Bytes d(24);
    encodeKcpHeader(h, d.data());
    return d;
}

Bytes payload(std::size_t n, std::uint64_t stream = 9)
{
    Bytes b(n);
    fillPayload(stream, 0, b.data(), n);
    return b;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// Settings

TEST(EngineSettings, DefaultsAreIkcps)
{
    KcpEngine e(kConv);
    EXPECT_EQ(e.conv(), kConv);
    EXPECT_EQ(e.mtu(), 1400u);
    EXPECT_EQ(e.mss(), 1376u);
    EXPECT_EQ(e.interval(), 100u);
    EXPECT_EQ(e.sendWindow(), 32u);
    EXPECT_EQ(e.receiveWindow(), 128u);
    EXPECT_EQ(e.remoteWindow(), 128u);
    EXPECT_EQ(e.noDelay(), 0);
    EXPECT_EQ(e.fastResend(), 0u);
    EXPECT_TRUE(e.congestionControl());
    EXPECT_EQ(e.minRto(), 100u);
    EXPECT_EQ(e.deadLinkLimit(), 20u);
    EXPECT_FALSE(e.streamMode());
    EXPECT_FALSE(e.ackNoDelay());
    EXPECT_FALSE(e.isDeadLink());
    EXPECT_TRUE(e.isIdle());
    EXPECT_EQ(e.waitSnd(), 0u);
    EXPECT_EQ(e.peekSize(), -1);
    const KcpEngineStats st = e.stats();
    EXPECT_EQ(st.rto, 200u); // ikcp's initial RTO
    EXPECT_EQ(st.srtt, 0u);
    EXPECT_EQ(st.datagramsSent, 0u);
    EXPECT_FALSE(st.deadLink);
}

TEST(EngineSettings, LimitsAndClamps)
{
    KcpEngine e(kConv);
    e.setNoDelay(1, 5, 2, true);
    EXPECT_EQ(e.noDelay(), 1);
    EXPECT_EQ(e.interval(), 10u);
    EXPECT_EQ(e.fastResend(), 2u);
    EXPECT_FALSE(e.congestionControl());
    EXPECT_EQ(e.minRto(), 30u);
    e.setNoDelay(0, 9000, 0, false);
    EXPECT_EQ(e.interval(), 5000u);
    EXPECT_EQ(e.minRto(), 100u);
    EXPECT_TRUE(e.congestionControl());
    e.setNoDelay(2, 40, 3, true);
    EXPECT_EQ(e.noDelay(), 2);
    EXPECT_EQ(e.minRto(), 30u);
    e.setInterval(1);
    EXPECT_EQ(e.interval(), 10u);
    e.setInterval(123);
    EXPECT_EQ(e.interval(), 123u);
    e.setMinRto(77);
    EXPECT_EQ(e.minRto(), 77u);
    e.setDeadLink(5);
    EXPECT_EQ(e.deadLinkLimit(), 5u);
    e.setAckNoDelay(true);
    EXPECT_TRUE(e.ackNoDelay());

    EXPECT_FALSE(e.setMtu(49));
    EXPECT_EQ(e.mtu(), 1400u);
    EXPECT_FALSE(e.setMtu(0));
    EXPECT_TRUE(e.setMtu(50));
    EXPECT_EQ(e.mss(), 26u);
    EXPECT_TRUE(e.setMtu(1500));
    EXPECT_EQ(e.mss(), 1476u);

    e.setWindowSize(0, 0);
    EXPECT_EQ(e.sendWindow(), 32u);
    EXPECT_EQ(e.receiveWindow(), 128u);
    e.setWindowSize(3, 0);
    EXPECT_EQ(e.sendWindow(), 3u);
    EXPECT_EQ(e.receiveWindow(), 128u);
    e.setWindowSize(0, 5);
    EXPECT_EQ(e.sendWindow(), 3u);
    EXPECT_EQ(e.receiveWindow(), 5u);
    e.setWindowSize(100000, 70000);
    EXPECT_EQ(e.sendWindow(), KcpEngine::kMaxWindow);
    EXPECT_EQ(e.receiveWindow(), KcpEngine::kMaxWindow);
    e.setWindowSize(1, 1);
    EXPECT_EQ(e.sendWindow(), 1u);
    EXPECT_EQ(e.receiveWindow(), 1u);
}

// ---------------------------------------------------------------------------------------------------------
// send() / recv()

TEST(EngineSend, ReturnValuesAndMessageSizeLimit)
{
    KcpEngine e(kConv);
    const Bytes one = payload(1);
    EXPECT_EQ(e.send(one.data(), -1), -1);
    EXPECT_EQ(e.send(one.data(), -1000), -1);
    EXPECT_EQ(e.waitSnd(), 0u);

    const std::uint32_t max = e.maxMessageSize();
    EXPECT_GE(max, e.mss());
    EXPECT_LE(max, (KcpEngine::kMaxFragments + 1) * e.mss()) << "frg is 8 bits";
    const Bytes big = payload(max + 1);
    EXPECT_EQ(e.send(big.data(), static_cast<int>(max + 1)), -2);
    EXPECT_EQ(e.waitSnd(), 0u) << "a rejected message must not be queued in part";
    ASSERT_EQ(e.send(big.data(), static_cast<int>(max)), static_cast<int>(max));
    EXPECT_EQ(e.waitSnd(), (max + e.mss() - 1) / e.mss());
    const std::uint32_t before = e.waitSnd();
    EXPECT_EQ(e.send(big.data(), 0), 0);
    EXPECT_EQ(e.waitSnd(), before + 1) << "an empty message is one empty segment";

    // After an MTU change the limit follows the new MSS.
    ASSERT_TRUE(e.setMtu(576));
    const std::uint32_t max2 = e.maxMessageSize();
    EXPECT_GE(max2, e.mss());
    const Bytes big2 = payload(max2 + 1);
    EXPECT_EQ(e.send(big2.data(), static_cast<int>(max2)), static_cast<int>(max2));
    EXPECT_EQ(e.send(big2.data(), static_cast<int>(max2 + 1)), -2);
}

TEST(EngineSend, StreamModeTakesAnySize)
{
    KcpEngine e(kConv);
    e.setStreamMode(true);
    const Bytes data = payload(1 << 20);
    EXPECT_EQ(e.send(data.data(), 0), 0);
    EXPECT_EQ(e.waitSnd(), 0u) << "a zero-byte write is a no-op in stream mode";
    ASSERT_EQ(e.send(data.data(), 1 << 20), 1 << 20);
    EXPECT_EQ(e.waitSnd(), ((1u << 20) + e.mss() - 1) / e.mss());
    EXPECT_EQ(e.send(data.data(), -1), -1);
}

TEST(EngineRecv, StreamModePartialReadsOneByteAtATime)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    KcpEngine b(kConv);
    a.setStreamMode(true);
    b.setStreamMode(true);
    a.setNoDelay(0, 100, 0, true);
    const Bytes data = payload(5000);
    ASSERT_EQ(a.send(data.data(), 3000), 3000);
    ASSERT_EQ(a.send(data.data() + 3000, 2000), 2000);
    a.flush(10);
    cap.deliverTo(b, 20);
    ASSERT_EQ(b.peekSize(), 5000);

    Bytes got;
    std::uint8_t byte = 0;
    for (int i = 0; i < 2500; ++i) {
        ASSERT_EQ(b.recv(&byte, 1), 1) << "at byte " << i;
        got.push_back(byte);
        ASSERT_EQ(b.peekSize(), 5000 - i - 1);
    }
    // The rest in uneven chunks.
    Bytes buf(777);
    for (int guard = 0; guard < 100 && b.peekSize() > 0; ++guard) {
        const int before = b.peekSize();
        const int n = b.recv(buf.data(), static_cast<int>(buf.size()));
        ASSERT_GT(n, 0);
        ASSERT_LE(n, 777);
        EXPECT_EQ(b.peekSize() > 0 ? b.peekSize() : 0, before - n);
        got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    EXPECT_EQ(b.peekSize(), -1);
    EXPECT_EQ(b.recv(buf.data(), 10), -1);
    EXPECT_EQ(got, data);
    EXPECT_EQ(b.stats().bytesDelivered, 5000u);
}

TEST(EngineRecv, MessageModeBufferTooSmallReturnsMinus3AndKeepsTheMessage)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    KcpEngine b(kConv);
    a.setNoDelay(0, 100, 0, true);
    const Bytes msg = payload(3000);
    ASSERT_EQ(a.send(msg.data(), 3000), 3000);
    ASSERT_EQ(a.send(msg.data(), 0), 0);
    a.flush(10);
    ASSERT_EQ(cap.out.size(), 3u); // 1376 + 1376 + (248 and the empty message together)

    // Two of three fragments: nothing is readable yet.
    ASSERT_EQ(b.input(cap.out[0].data(), cap.out[0].size(), 20), KcpInputResult::Ok);
    ASSERT_EQ(b.input(cap.out[1].data(), cap.out[1].size(), 20), KcpInputResult::Ok);
    Bytes buf(4000);
    EXPECT_EQ(b.peekSize(), -1);
    EXPECT_EQ(b.recv(buf.data(), 4000), -1);
    ASSERT_EQ(b.input(cap.out[2].data(), cap.out[2].size(), 20), KcpInputResult::Ok);

    ASSERT_EQ(b.peekSize(), 3000);
    EXPECT_EQ(b.recv(buf.data(), 2999), -3);
    EXPECT_EQ(b.recv(buf.data(), 1), -3);
    EXPECT_EQ(b.peekSize(), 3000) << "the message must stay after -3";
    EXPECT_EQ(b.stats().bytesDelivered, 0u);
    ASSERT_EQ(b.recv(buf.data(), 3000), 3000);
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + 3000), msg);

    // The empty message.
    EXPECT_EQ(b.peekSize(), 0);
    EXPECT_EQ(b.recv(buf.data(), 0), 0);
    EXPECT_EQ(b.peekSize(), -1);
    EXPECT_EQ(b.recv(buf.data(), 10), -1);
}

TEST(EngineRecv, ReadingFromAFullQueueTellsThePeerTheWindowReopened)
{
    Capture capA, capB;
    KcpEngine a(kConv, capA.sink());
    KcpEngine b(kConv, capB.sink());
    a.setNoDelay(0, 100, 0, true);
    b.setWindowSize(0, 4);
    const Bytes m = payload(10);
    for (int i = 0; i < 4; ++i)
        ASSERT_EQ(a.send(m.data(), 10), 10);
    a.flush(0);
    capA.deliverTo(b, 5);
    b.flush(5);
    ASSERT_FALSE(capB.segments(ACK).empty());
    EXPECT_EQ(capB.segments(ACK).back().wnd, 0u) << "4 unread messages fill a 4-segment window";
    capB.out.clear();

    Bytes buf(16);
    ASSERT_EQ(b.recv(buf.data(), 16), 10);
    EXPECT_LE(kcpDiff(b.check(6), 6), static_cast<std::int32_t>(b.interval()));
    b.flush(6);
    const std::vector<KcpSegmentHeader> wins = capB.segments(WINS);
    ASSERT_EQ(wins.size(), 1u) << "ikcp tells the peer at once when reading reopens a closed window";
    EXPECT_EQ(wins[0].wnd, 1u);
}

// ---------------------------------------------------------------------------------------------------------
// Zero-window probing

TEST(EngineProbe, ZeroWindowIsProbedAfterSevenSecondsWithGrowingIntervals)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    a.setNoDelay(0, 100, 0, true);
    const std::uint32_t t0 = 0xFFFFF000u; // wraps during the test
    const Bytes wins0 = control(WINS, 0);
    ASSERT_EQ(a.input(wins0.data(), wins0.size(), t0), KcpInputResult::Ok);
    EXPECT_EQ(a.remoteWindow(), 0u);
    const Bytes data = payload(3000);
    ASSERT_EQ(a.send(data.data(), 3000), 3000);

    std::uint32_t now = t0;
    for (int iter = 0; iter < 100000 && kcpDiff(now, t0) < 30000; ++iter) {
        cap.now = now;
        if (kcpDiff(a.check(now), now) <= 0)
            a.update(now);
        const std::int32_t d = kcpDiff(a.check(now), now);
        ASSERT_GE(d, 0);
        ASSERT_LT(d, static_cast<std::int32_t>(KcpEngine::kIdleDelay)) << "probing a zero window is not idle";
        ASSERT_FALSE(a.isIdle());
        now += static_cast<std::uint32_t>(std::max(d, 1));
    }
    EXPECT_TRUE(cap.segments(PUSH).empty()) << "data was sent into a zero window";
    const std::vector<std::uint32_t> t = cap.times(WASK);
    ASSERT_GE(t.size(), 2u) << "no window probe in 30 s";
    // ikcp: first probe 7 s after the zero window was seen, then the wait grows by half: 10.5 s, 15.75 s...
    EXPECT_GE(kcpDiff(t[0], t0), 7000);
    EXPECT_LE(kcpDiff(t[0], t0), 7000 + 100);
    EXPECT_GE(kcpDiff(t[1], t[0]), 10500 - 100);
    EXPECT_LE(kcpDiff(t[1], t[0]), 10500 + 100);
    EXPECT_EQ(a.stats().windowProbesSent, t.size());

    // The window reopens: data flows at the next flush.
    cap.out.clear();
    cap.when.clear();
    const Bytes wins128 = control(WINS, 128);
    ASSERT_EQ(a.input(wins128.data(), wins128.size(), now), KcpInputResult::Ok);
    for (int iter = 0; iter < 100 && cap.segments(PUSH).empty(); ++iter) {
        cap.now = now;
        if (kcpDiff(a.check(now), now) <= 0)
            a.update(now);
        now += static_cast<std::uint32_t>(std::max(kcpDiff(a.check(now), now), 1));
    }
    EXPECT_EQ(cap.segments(PUSH).size(), 3u);
}

// ---------------------------------------------------------------------------------------------------------
// Dead link

class EngineDeadLink : public ::testing::TestWithParam<std::uint32_t>
{
};

TEST_P(EngineDeadLink, PeerVanishesAfterLimitTransmissions)
{
    const std::uint32_t limit = GetParam();
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    a.setNoDelay(1, 100, 0, false);
    if (limit != KcpEngine::kDefaultDeadLink)
        a.setDeadLink(limit);
    ASSERT_EQ(a.deadLinkLimit(), limit);
    const Bytes m = payload(100);
    ASSERT_EQ(a.send(m.data(), 100), 100);

    std::uint32_t now = 0xFFFFFF00u;
    std::size_t pushes = 0;
    for (int iter = 0; iter < 200000 && pushes < limit; ++iter) {
        cap.now = now;
        if (kcpDiff(a.check(now), now) <= 0)
            a.update(now);
        pushes = cap.segments(PUSH).size(); // nothing ever comes back
        if (pushes < limit) {
            ASSERT_FALSE(a.isDeadLink()) << "dead after only " << pushes << " transmissions";
            ASSERT_FALSE(a.stats().deadLink);
        }
        const std::int32_t d = kcpDiff(a.check(now), now);
        ASSERT_GE(d, 0);
        ASSERT_LT(d, static_cast<std::int32_t>(KcpEngine::kIdleDelay)) << "an unacknowledged segment is not idle";
        now += static_cast<std::uint32_t>(std::max(d, 1));
    }
    ASSERT_EQ(pushes, limit);
    EXPECT_TRUE(a.isDeadLink());
    EXPECT_TRUE(a.stats().deadLink);
    EXPECT_EQ(a.stats().segmentsSent, limit);
    EXPECT_EQ(a.stats().retransmitsTimeout, limit - 1);
    for (const KcpSegmentHeader &h : cap.segments(PUSH))
        EXPECT_EQ(h.sn, 0u);
}

INSTANTIATE_TEST_SUITE_P(Limits, EngineDeadLink, ::testing::Values(KcpEngine::kDefaultDeadLink, 5u, 1u));

TEST(EngineDeadLinkSim, PeerStopsAnsweringMidTransfer)
{
    SimConfig cfg;
    cfg.a = cfg.b = EndpointConfig::fast();
    cfg.a.deadLink = 8;
    cfg.bytesAtoB = 1 << 20;
    cfg.ab.delayMs = cfg.ba.delayMs = 10;
    cfg.maxVirtualMs = 600000;
    Simulation sim(cfg);
    sim.at(300, [](Simulation &s) {
        Impairment gone;
        gone.lossPct = 100;
        s.link().setImpairment(0, gone);
        s.link().setImpairment(1, gone);
    });
    const Outcome o = sim.runUntil(120000);
    ASSERT_TRUE(o.finished) << o.why;
    EXPECT_LT(sim.bytesRead(1), sim.bytesTotal(0));
    EXPECT_TRUE(sim.a().isDeadLink());
    EXPECT_TRUE(sim.a().stats().deadLink);
    EXPECT_FALSE(sim.b().isDeadLink()) << "B sent nothing unacknowledged";
}

// ---------------------------------------------------------------------------------------------------------
// Idleness and memory

TEST(EngineIdle, FreshEngineIsIdleAndSmall)
{
    KcpEngine e(kConv);
    EXPECT_TRUE(e.isIdle());
    for (std::uint32_t now : {0u, 1u, 0x7FFFFFFFu, 0xFFFFFFFFu, 0xC0000000u})
        EXPECT_EQ(e.check(now), now + KcpEngine::kIdleDelay);
    EXPECT_GE(e.memoryUsage(), sizeof(KcpEngine));
    EXPECT_LT(e.memoryUsage(), 2048u);
    e.compact();
    EXPECT_LT(e.memoryUsage(), 2048u);
}

TEST(EngineIdle, AfterATransferBothEnginesAreIdleAndCompactBelow2KB)
{
    SimConfig cfg;
    cfg.a = cfg.b = EndpointConfig::normal();
    cfg.a.windows(256, 256);
    cfg.b.windows(256, 256);
    cfg.bytesAtoB = 512 * 1024;
    cfg.bytesBtoA = 128 * 1024;
    cfg.ab.lossPct = cfg.ba.lossPct = 3;
    cfg.startClock = 0xFFFFFFFFu - 2000;
    cfg.maxVirtualMs = 300000;
    Simulation sim(cfg);
    Outcome o = sim.run();
    ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();
    o = sim.runUntilIdle();
    ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();

    for (int i = 0; i < 2; ++i) {
        SCOPED_TRACE(i ? "B" : "A");
        KcpEngine &e = sim.engine(i);
        const std::uint32_t now = sim.clock();
        EXPECT_TRUE(e.isIdle());
        EXPECT_EQ(e.check(now), now + KcpEngine::kIdleDelay);
        EXPECT_EQ(e.check(now + 12345), now + 12345 + KcpEngine::kIdleDelay);
        const KcpEngineStats st = e.stats();
        EXPECT_EQ(st.pendingAcks, 0u);
        EXPECT_EQ(st.inFlight, 0u);
        EXPECT_EQ(e.waitSnd(), 0u);
        const std::size_t before = e.memoryUsage();
        e.compact();
        EXPECT_LE(e.memoryUsage(), before);
        EXPECT_LT(e.memoryUsage(), 2048u) << "was " << before << " before compact()";
        EXPECT_GE(e.memoryUsage(), sizeof(KcpEngine));
        EXPECT_TRUE(e.isIdle());
    }
    EXPECT_EQ(sim.checkViolations(), 0u) << sim.firstCheckViolation();

    // Compacted engines keep working, also when compact() is called in the middle of a transfer.
    sim.extend(0, 256 * 1024);
    sim.extend(1, 64 * 1024);
    for (std::uint64_t t = 50; t < 2000; t += 97)
        sim.at(sim.now() + t, [](Simulation &s) {
            s.a().compact();
            s.b().compact();
        });
    o = sim.run();
    ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();
    EXPECT_EQ(sim.dataErrors(0) + sim.dataErrors(1), 0u);
}

// ---------------------------------------------------------------------------------------------------------
// RTT estimation

struct RttCase {
    std::uint32_t delay;
    bool ackNoDelay;
};

void PrintTo(const RttCase &c, std::ostream *os)
{
    *os << "delay " << c.delay << (c.ackNoDelay ? " ackNoDelay" : " ACK on tick");
}

class EngineRtt : public ::testing::TestWithParam<RttCase>
{
};

TEST_P(EngineRtt, ConvergesToTwiceTheOneWayDelay)
{
    const RttCase rc = GetParam();
    SimConfig cfg;
    cfg.a = cfg.b = EndpointConfig::normal(); // interval 40
    cfg.a.ackNoDelay = cfg.b.ackNoDelay = rc.ackNoDelay;
    cfg.bytesAtoB = 300 * 1024;
    cfg.bytesBtoA = 30 * 1024;
    cfg.ab.delayMs = cfg.ba.delayMs = rc.delay;
    cfg.startClock = 0xFFFFFFFFu - 3000;
    cfg.maxVirtualMs = 120000;
    Simulation sim(cfg);
    const Outcome o = sim.run();
    ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();
    const std::uint32_t rtt = 2 * rc.delay;
    for (int i = 0; i < 2; ++i) {
        SCOPED_TRACE(i ? "B" : "A");
        const KcpEngine &e = sim.engine(i);
        const KcpEngineStats st = e.stats();
        EXPECT_GT(st.rttSamples, 10u);
        EXPECT_GE(st.srtt, rtt);
        // With ackNoDelay the ACK leaves at the receiver's next update(), which check() must schedule at once;
        // without it the ACK waits for the next interval tick.
        EXPECT_LE(st.srtt, rtt + (rc.ackNoDelay ? 1 : e.interval()));
        EXPECT_GE(st.rto, e.minRto());
        EXPECT_EQ(st.rto, std::min(60000u, std::max(e.minRto(), st.srtt + std::max(e.interval(), 4 * st.rttvar))));
    }
}

INSTANTIATE_TEST_SUITE_P(Delays, EngineRtt,
                         ::testing::Values(RttCase{5, true}, RttCase{50, true}, RttCase{200, true}, RttCase{50, false},
                                           RttCase{200, false}),
                         [](const ::testing::TestParamInfo<RttCase> &info) {
                             return "delay" + std::to_string(info.param.delay)
                                 + (info.param.ackNoDelay ? "_ackNoDelay" : "_ackOnTick");
                         });

// ---------------------------------------------------------------------------------------------------------
// check()

TEST(EngineCheck, AckNoDelayMakesCheckReturnNowAfterInput)
{
    const Bytes m = payload(10);
    for (bool ackNoDelay : {false, true}) {
        SCOPED_TRACE(ackNoDelay ? "ackNoDelay on" : "ackNoDelay off");
        Capture capA, capB;
        KcpEngine a(kConv, capA.sink());
        KcpEngine b(kConv, capB.sink());
        a.setNoDelay(0, 100, 0, true);
        b.setAckNoDelay(ackNoDelay);
        b.flush(1000); // restarts b's flush interval: next tick at 1100
        EXPECT_TRUE(b.isIdle());
        ASSERT_EQ(a.send(m.data(), 10), 10);
        a.flush(1000);
        capA.deliverTo(b, 1010);
        EXPECT_FALSE(b.isIdle()) << "an ACK is pending";
        const std::int32_t d = kcpDiff(b.check(1010), 1010);
        if (ackNoDelay) {
            EXPECT_EQ(d, 0);
        } else {
            EXPECT_GT(d, 0) << "without ackNoDelay the ACK waits for the next interval tick";
            EXPECT_LE(d, 90) << "the next tick is at 1100";
        }
        capB.now = 1010 + static_cast<std::uint32_t>(d);
        b.update(1010 + static_cast<std::uint32_t>(d));
        ASSERT_EQ(capB.segments(ACK).size(), 1u);
        EXPECT_TRUE(b.isIdle());
    }
}

TEST(EngineCheck, BusyEngineNeverReportsThePastOrIdle)
{
    KcpEngine e(kConv, [](const std::uint8_t *, std::size_t) {});
    const Bytes m = payload(5000);
    ASSERT_EQ(e.send(m.data(), 5000), 5000);
    EXPECT_FALSE(e.isIdle());
    std::uint32_t now = 0xFFFFFFF0u;
    for (int i = 0; i < 3000; ++i) {
        const std::int32_t d = kcpDiff(e.check(now), now);
        ASSERT_GE(d, 0);
        ASSERT_LT(d, static_cast<std::int32_t>(KcpEngine::kIdleDelay)) << "unacknowledged data is not idle";
        if (d == 0)
            e.update(now);
        now += static_cast<std::uint32_t>(std::max(d, 1));
    }
    EXPECT_FALSE(e.isIdle());
}

// ---------------------------------------------------------------------------------------------------------
// Fast retransmission

namespace {

Bytes ackOf(std::uint32_t sn, std::uint32_t ts, std::uint32_t una = 0)
{
    KcpSegmentHeader h;
    h.conv = kConv;
    h.cmd = ACK;
    h.wnd = 128;
    h.ts = ts;
    h.sn = sn;
    h.una = una;
    Bytes d(24);
    encodeKcpHeader(h, d.data());
    return d;
}

std::size_t pushesOf(const Capture &cap, std::uint32_t sn)
{
    std::size_t n = 0;
    for (const KcpSegmentHeader &h : cap.segments(PUSH))
        n += h.sn == sn ? 1 : 0;
    return n;
}

} // namespace

TEST(EngineFastResend, SkippedTwiceIsResentAtTheNextFlushWithinTheLimit)
{
    for (std::uint32_t limit : {0u, 1u}) {
        SCOPED_TRACE("fast resend limit " + std::to_string(limit));
        Capture cap;
        KcpEngine a(kConv, cap.sink());
        a.setNoDelay(1, 10, 2, true);
        a.setFastResendLimit(limit);
        const Bytes m = payload(10);
        for (int i = 0; i < 6; ++i)
            ASSERT_EQ(a.send(m.data(), 10), 10);
        a.flush(1000); // sn 0..5, ts 1000, RTO 200: no timeout before 1200
        ASSERT_EQ(pushesOf(cap, 0), 1u);

        // sn 1 and sn 2 acknowledged in two datagrams: sn 0 was skipped twice.
        Bytes d = ackOf(1, 1000);
        ASSERT_EQ(a.input(d.data(), d.size(), 1040), KcpInputResult::Ok);
        a.flush(1041);
        EXPECT_EQ(pushesOf(cap, 0), 1u) << "skipped once is not enough with fastResend 2";
        d = ackOf(2, 1000);
        ASSERT_EQ(a.input(d.data(), d.size(), 1042), KcpInputResult::Ok);
        EXPECT_LE(kcpDiff(a.check(1042), 1042), static_cast<std::int32_t>(a.interval()));
        a.flush(1043);
        EXPECT_EQ(pushesOf(cap, 0), 2u) << "sn 0 skipped twice must be resent at once";
        EXPECT_EQ(a.stats().retransmitsFast, 1u);
        EXPECT_EQ(a.stats().retransmitsTimeout, 0u);

        // New data sent after the retransmission is acknowledged twice more: sn 0 (now transmitted twice)
        // may be fast-resent again only without a limit; sn 3, 4, 5 (skipped twice, transmitted once) are
        // fast-resent either way.
        for (int i = 0; i < 2; ++i)
            ASSERT_EQ(a.send(m.data(), 10), 10);
        a.flush(1050); // sn 6, 7 with ts 1050
        d = ackOf(6, 1050);
        ASSERT_EQ(a.input(d.data(), d.size(), 1090), KcpInputResult::Ok);
        d = ackOf(7, 1050);
        ASSERT_EQ(a.input(d.data(), d.size(), 1091), KcpInputResult::Ok);
        a.flush(1092);
        EXPECT_EQ(pushesOf(cap, 0), limit == 0 ? 3u : 2u);
        for (std::uint32_t sn = 3; sn <= 5; ++sn)
            EXPECT_EQ(pushesOf(cap, sn), 2u) << "sn " << sn;
        EXPECT_EQ(pushesOf(cap, 1), 1u);
        EXPECT_EQ(a.stats().retransmitsFast, (limit == 0 ? 2u : 1u) + 3u);
    }
}

TEST(EngineFastResend, OffMeansOnlyTimeouts)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    a.setNoDelay(1, 10, 0, true);
    const Bytes m = payload(10);
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(a.send(m.data(), 10), 10);
    a.flush(1000);
    for (std::uint32_t sn = 1; sn < 6; ++sn) {
        const Bytes d = ackOf(sn, 1000);
        ASSERT_EQ(a.input(d.data(), d.size(), 1040 + sn), KcpInputResult::Ok);
        a.flush(1040 + sn);
    }
    EXPECT_EQ(pushesOf(cap, 0), 1u);
    EXPECT_EQ(a.stats().retransmitsFast, 0u);
    EXPECT_EQ(a.waitSnd(), 1u);
}
