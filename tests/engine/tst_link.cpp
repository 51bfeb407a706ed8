// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Two engines over a simulated link (simlink.h), driven only by their check() times on a virtual clock.
// Data flows both ways at once (so ACKs and data share datagrams); each side writes a deterministic byte
// stream or message sequence and verifies what it reads: every byte exactly once and in order, message
// boundaries kept, completion within a bounded virtual time, and counters that add up with what the link saw.
#include "kcpengine.h"
#include "simlink.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

using namespace kcptest;

namespace {

constexpr std::uint32_t kStartNearWrap = 0xFFFFFFFFu - 5000 + 1; // the 32-bit clock wraps 5 s in
constexpr std::uint32_t kStartNearSignFlip = 0x7FFFFFFFu - 3000;  // int32 differences change sign 3 s in
constexpr std::uint32_t kStarts[3] = {0, kStartNearWrap, kStartNearSignFlip};

struct Scenario {
    std::string name;
    SimConfig cfg;
    std::function<void(Simulation &)> setup; // schedules run-time changes
    bool expectFastRetransmit = false;       // A -> B carries enough data that fast resend must have fired
    bool expectProbes[2] = {false, false};   // side i must have sent WASK (its peer stopped reading)
    bool windowChurn = false;                // run-time window changes: duplicates cannot be inferred
    std::vector<std::pair<int, std::uint32_t>> expectPushLengths; // (side, payload length) seen on the wire
};

void PrintTo(const Scenario &s, std::ostream *os) { *os << s.name; }

std::string pct(double v) { return std::to_string(static_cast<int>(v)); }

SimConfig base(const EndpointConfig &ep, bool stream, std::uint64_t seed)
{
    SimConfig c;
    c.a = ep;
    c.b = ep;
    c.a.stream = c.b.stream = stream;
    c.seed = seed;
    c.bytesAtoB = 2 * 1024 * 1024;
    c.bytesBtoA = 512 * 1024;
    c.ab.delayMs = c.ba.delayMs = 20;
    return c;
}

struct Preset {
    const char *name;
    EndpointConfig cfg;
};

// The grid runs ikcp's defaults as they are, and the tuned presets with 128-segment windows as kcptun-style
// deployments do. (With a 32-segment window the whole window leaves in one burst and its ACKs come back in one
// datagram, so a skipped segment is rarely counted twice before its RTO: fast retransmission then seldom fires,
// which is correct KCP behaviour, not something to assert.)
const Preset kPresets[] = {
    {"ikcp", EndpointConfig::ikcpDefault()},
    {"normal", EndpointConfig::normal().windows(128, 128)},
    {"fast", EndpointConfig::fast().windows(128, 128)},
    {"turbo", EndpointConfig::turbo().windows(128, 128)},
};
constexpr std::size_t kPresetCount = sizeof kPresets / sizeof kPresets[0];

// Virtual-time budget: generous (several times what a healthy engine needs), so that only a stall fails it.
std::uint64_t budgetMs(const EndpointConfig &ep, double loss)
{
    const bool slow = ep.interval >= 100 && !ep.noCongestionControl; // ikcp defaults: RTO doubling, cwnd collapse
    if (loss == 0)
        return slow ? 60000 : 30000;
    if (loss <= 5)
        return slow ? 300000 : 60000;
    if (loss <= 10)
        return slow ? 600000 : 120000;
    return slow ? 3600000 : 600000;
}

std::vector<Scenario> scenarios()
{
    std::vector<Scenario> v;
    std::uint64_t seed = 1000;

    // Loss grid: every preset, both modes; clocks starting at 0, near the 32-bit wrap and near 2^31.
    const double losses[] = {0, 1, 5, 10, 20, 30};
    for (std::size_t li = 0; li < 6; ++li)
        for (std::size_t pi = 0; pi < kPresetCount; ++pi)
            for (bool stream : {false, true}) {
                Scenario s;
                const double loss = losses[li];
                s.name = "loss" + pct(loss) + "_" + kPresets[pi].name + (stream ? "_stream" : "_msg");
                s.cfg = base(kPresets[pi].cfg, stream, ++seed);
                s.cfg.ab.lossPct = s.cfg.ba.lossPct = loss;
                s.cfg.startClock = kStarts[(li + pi + (stream ? 1 : 0)) % 3];
                s.cfg.maxVirtualMs = budgetMs(kPresets[pi].cfg, loss);
                s.expectFastRetransmit = kPresets[pi].cfg.fastResend > 0 && loss >= 5;
                v.push_back(s);
            }

    // Reordering (jitter larger than the spacing of datagrams) and duplication.
    for (bool stream : {false, true}) {
        const std::string m = stream ? "_stream" : "_msg";
        Scenario s;
        s.name = "jitter_reorder_fast" + m;
        s.cfg = base(EndpointConfig::fast(), stream, ++seed);
        s.cfg.ab.jitterMs = s.cfg.ba.jitterMs = 40;
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 2;
        s.cfg.startClock = kStartNearWrap;
        s.cfg.maxVirtualMs = 120000;
        v.push_back(s);

        s = Scenario();
        s.name = "jitter_reorder_ikcp" + m;
        s.cfg = base(EndpointConfig::ikcpDefault(), stream, ++seed);
        s.cfg.ab.delayMs = s.cfg.ba.delayMs = 10;
        s.cfg.ab.jitterMs = s.cfg.ba.jitterMs = 100;
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 1;
        s.cfg.maxVirtualMs = 300000;
        v.push_back(s);

        s = Scenario();
        s.name = "duplicate20_fast" + m;
        s.cfg = base(EndpointConfig::fast(), stream, ++seed);
        s.cfg.ab.duplicatePct = s.cfg.ba.duplicatePct = 20;
        s.cfg.ab.jitterMs = s.cfg.ba.jitterMs = 15;
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 3;
        s.cfg.startClock = kStartNearSignFlip;
        s.cfg.maxVirtualMs = 120000;
        v.push_back(s);

        s = Scenario();
        s.name = "duplicate30_ikcp" + m;
        s.cfg = base(EndpointConfig::ikcpDefault(), stream, ++seed);
        s.cfg.ab.duplicatePct = s.cfg.ba.duplicatePct = 30;
        s.cfg.maxVirtualMs = 120000;
        v.push_back(s);

        // Corruption anywhere in the datagram, caught by the link's CRC32 (as a session layer would).
        s = Scenario();
        s.name = "corrupt10_crc_fast" + m;
        s.cfg = base(EndpointConfig::fast(), stream, ++seed);
        for (Impairment *imp : {&s.cfg.ab, &s.cfg.ba}) {
            imp->corruptPct = 10;
            imp->checksum = true;
            imp->lossPct = 2;
        }
        s.cfg.startClock = kStartNearWrap;
        s.cfg.maxVirtualMs = 120000;
        s.expectFastRetransmit = true;
        v.push_back(s);

        s = Scenario();
        s.name = "corrupt20_crc_normal" + m;
        s.cfg = base(EndpointConfig::normal(), stream, ++seed);
        for (Impairment *imp : {&s.cfg.ab, &s.cfg.ba}) {
            imp->corruptPct = 20;
            imp->checksum = true;
        }
        s.cfg.maxVirtualMs = 300000;
        s.expectFastRetransmit = true;
        v.push_back(s);

        // Everything at once.
        s = Scenario();
        s.name = "mixed_normal" + m;
        s.cfg = base(EndpointConfig::normal(), stream, ++seed);
        for (Impairment *imp : {&s.cfg.ab, &s.cfg.ba}) {
            imp->lossPct = 10;
            imp->duplicatePct = 10;
            imp->jitterMs = 30;
            imp->corruptPct = 5;
            imp->checksum = true;
        }
        s.cfg.startClock = kStartNearWrap;
        s.cfg.maxVirtualMs = 300000;
        s.expectFastRetransmit = true;
        v.push_back(s);

        // Only the ACK direction is lossy.
        s = Scenario();
        s.name = "ack_loss30_fast" + m;
        s.cfg = base(EndpointConfig::fast(), stream, ++seed);
        s.cfg.bytesBtoA = 0;
        s.cfg.ba.lossPct = 30;
        s.cfg.maxVirtualMs = 120000;
        v.push_back(s);

        // Asymmetric delay.
        s = Scenario();
        s.name = "asymmetric_delay_normal" + m;
        s.cfg = base(EndpointConfig::normal(), stream, ++seed);
        s.cfg.ab.delayMs = 150;
        s.cfg.ba.delayMs = 5;
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 5;
        s.cfg.startClock = kStartNearSignFlip;
        s.cfg.maxVirtualMs = 300000;
        v.push_back(s);
    }

    // Tiny windows; each application stops reading for longer than the 7 s probe delay, so the peer sees a
    // zero window and must probe it (WASK) and hear back (WINS).
    const std::uint32_t tiny[][2] = {{1, 4}, {2, 6}, {4, 8}};
    for (const auto &w : tiny)
        for (double loss : {0.0, 5.0})
            for (bool stream : {false, true}) {
                Scenario s;
                s.name = "tiny_snd" + std::to_string(w[0]) + "_rcv" + std::to_string(w[1]) + "_loss" + pct(loss)
                    + (stream ? "_stream" : "_msg");
                s.cfg = base(EndpointConfig::fast().windows(w[0], w[1]), stream, ++seed);
                s.cfg.ab.lossPct = s.cfg.ba.lossPct = loss;
                s.cfg.bytesAtoB = 128 * 1024;
                s.cfg.bytesBtoA = 64 * 1024;
                s.cfg.pauses[0] = {{200, 15200}};
                s.cfg.pauses[1] = {{300, 20300}};
                s.cfg.startClock = loss > 0 ? kStartNearWrap : 0;
                s.cfg.maxVirtualMs = 600000;
                s.expectProbes[0] = true; // A had data queued while B did not read
                s.expectProbes[1] = loss == 0;
                v.push_back(s);
            }
    {
        Scenario s; // ikcp-default timing with a tiny window
        s.name = "tiny_snd2_rcv4_ikcp_msg";
        s.cfg = base(EndpointConfig::ikcpDefault().windows(2, 4), false, ++seed);
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 2;
        s.cfg.bytesAtoB = 64 * 1024;
        s.cfg.bytesBtoA = 16 * 1024;
        s.cfg.pauses[1] = {{100, 10100}};
        s.cfg.maxVirtualMs = 600000;
        s.expectProbes[0] = true;
        v.push_back(s);
    }

    // Huge windows.
    for (double loss : {0.0, 5.0})
        for (bool stream : {false, true}) {
            Scenario s;
            s.name = std::string("huge_snd1024_rcv4096_fast_loss") + pct(loss) + (stream ? "_stream" : "_msg");
            s.cfg = base(EndpointConfig::fast().windows(1024, 4096), stream, ++seed);
            s.cfg.ab.lossPct = s.cfg.ba.lossPct = loss;
            s.cfg.bytesAtoB = 2 * 1024 * 1024;
            s.cfg.bytesBtoA = 256 * 1024;
            s.cfg.startClock = kStartNearWrap;
            s.cfg.maxVirtualMs = 120000;
            s.expectFastRetransmit = loss > 0;
            v.push_back(s);
        }
    {
        Scenario s;
        s.name = "huge_snd2048_rcv2048_normal_loss1_msg";
        s.cfg = base(EndpointConfig::normal().windows(2048, 2048), false, ++seed);
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 1;
        s.cfg.bytesAtoB = 1024 * 1024;
        s.cfg.maxVirtualMs = 120000;
        v.push_back(s);
    }

    // MTU changes in the middle of the transfer: on the sender (by progress) and on the receiver (by time).
    for (bool stream : {false, true}) {
        const std::string m = stream ? "_stream" : "_msg";
        Scenario s;
        s.name = "mtu_sender_1400_576_1200" + m;
        s.cfg = base(EndpointConfig::fast(), stream, ++seed);
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 5;
        s.cfg.bytesAtoB = 300 * 1024;
        s.cfg.startClock = kStartNearWrap;
        s.cfg.maxVirtualMs = 120000;
        s.setup = [](Simulation &sim) {
            sim.whenQueued(0, 100 * 1024, [](Simulation &x) { x.setMtu(0, 576); });
            sim.whenQueued(0, 200 * 1024, [](Simulation &x) { x.setMtu(0, 1200); });
        };
        if (stream) // stream segments are filled to the MSS of the moment
            s.expectPushLengths = {{0, 1376}, {0, 552}, {0, 1176}};
        v.push_back(s);

        s = Scenario();
        s.name = "mtu_receiver_1400_576_1200" + m; // B receives A's bulk data and sends its own
        s.cfg = base(EndpointConfig::fast(), stream, ++seed);
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 5;
        s.cfg.bytesAtoB = 300 * 1024;
        s.cfg.bytesBtoA = 300 * 1024;
        s.cfg.maxVirtualMs = 120000;
        s.setup = [](Simulation &sim) {
            sim.whenQueued(1, 100 * 1024, [](Simulation &x) { x.setMtu(1, 576); });
            sim.whenQueued(1, 200 * 1024, [](Simulation &x) { x.setMtu(1, 1200); });
        };
        if (stream)
            s.expectPushLengths = {{1, 1376}, {1, 552}, {1, 1176}};
        v.push_back(s);

        s = Scenario();
        s.name = "mtu_both_small_ikcp" + m;
        s.cfg = base(EndpointConfig::ikcpDefault(), stream, ++seed);
        s.cfg.ab.lossPct = s.cfg.ba.lossPct = 2;
        s.cfg.a.mtu = 576;
        s.cfg.b.mtu = 300;
        s.cfg.bytesAtoB = 100 * 1024;
        s.cfg.bytesBtoA = 30 * 1024;
        s.cfg.maxVirtualMs = 300000;
        s.setup = [](Simulation &sim) { sim.at(1500, [](Simulation &x) { x.setMtu(0, 1400); }); };
        v.push_back(s);
    }

    // Window sizes changed while data flows (shrinking the receive window drops what lies beyond it).
    for (bool stream : {false, true}) {
        for (const Preset &p : {kPresets[1], kPresets[2]}) {
            Scenario s;
            s.name = std::string("window_changes_") + p.name + (stream ? "_stream" : "_msg");
            s.cfg = base(p.cfg, stream, ++seed);
            for (Impairment *imp : {&s.cfg.ab, &s.cfg.ba}) {
                imp->lossPct = 5;
                imp->jitterMs = 10;
            }
            s.cfg.bytesAtoB = 400 * 1024;
            s.cfg.bytesBtoA = 100 * 1024;
            s.cfg.messageFragmentCap = 8; // every message must fit the smallest receive window below
            s.cfg.maxVirtualMs = 300000;
            s.windowChurn = true;
            s.setup = [](Simulation &sim) {
                auto both = [](std::uint32_t snd, std::uint32_t rcv) {
                    return [snd, rcv](Simulation &x) {
                        x.a().setWindowSize(snd, rcv);
                        x.b().setWindowSize(snd, rcv);
                    };
                };
                sim.at(200, both(4, 16));
                sim.at(800, both(256, 512));
                sim.at(1200, both(8, 8));
                sim.at(2000, both(64, 0));   // 0 leaves the receive window as it is
                sim.at(2600, both(0, 128));  // 0 leaves the send window
                sim.at(3000, both(1, 8));
                sim.at(3500, both(32, 128));
            };
            v.push_back(s);
        }
    }
    return v;
}

// The common end-of-transfer checks.
void checkFinished(Simulation &sim, const Scenario &sc)
{
    EXPECT_EQ(sim.checkViolations(), 0u) << sim.firstCheckViolation();
    for (int i = 0; i < 2; ++i) {
        const int j = 1 - i;
        SCOPED_TRACE(i == 0 ? "side A (sending A->B)" : "side B (sending B->A)");
        KcpEngine &e = sim.engine(i);
        const KcpEngineStats st = e.stats();
        const WireTally &w = sim.wire(i);
        const LinkDirectionStats &out = sim.link().stats(i);  // what i sent
        const LinkDirectionStats &in = sim.link().stats(j);   // what i received
        const std::uint64_t total = sim.bytesTotal(i);

        // Application view.
        EXPECT_EQ(sim.dataErrors(j), 0u) << sim.firstDataError(j);
        EXPECT_EQ(sim.bytesRead(j), total);
        if (!e.streamMode()) {
            EXPECT_EQ(sim.messagesRead(j), sim.messagesQueued(i)) << "message boundaries";
        }
        EXPECT_EQ(e.waitSnd(), 0u);
        EXPECT_EQ(e.peekSize(), -1);

        // Gauges at rest.
        EXPECT_EQ(st.inFlight, 0u);
        EXPECT_EQ(st.sendQueue, 0u);
        EXPECT_EQ(st.sendBuffer, 0u);
        EXPECT_EQ(st.receiveQueue, 0u);
        EXPECT_EQ(st.receiveBuffer, 0u);
        EXPECT_GE(st.rto, e.minRto());
        EXPECT_LE(st.rto, 60000u);
        EXPECT_LE(st.cwnd, e.sendWindow()) << "cwnd is the effective window, never above the send window";

        // Byte counters.
        EXPECT_EQ(st.bytesSent, total);
        EXPECT_EQ(st.bytesReceived, sim.bytesTotal(j));
        EXPECT_EQ(st.bytesDelivered, sim.bytesTotal(j));

        // Transmit counters agree with what was seen on the wire.
        EXPECT_EQ(st.datagramsSent, w.datagrams);
        EXPECT_EQ(st.wireBytesSent, w.bytes);
        EXPECT_EQ(st.segmentsSent, w.push);
        EXPECT_EQ(st.acksSent, w.ack);
        EXPECT_EQ(st.windowProbesSent, w.wask);
        EXPECT_EQ(st.windowUpdatesSent, w.wins);
        EXPECT_EQ(w.unparsable, 0u) << "a datagram is not a whole number of segments";
        EXPECT_EQ(w.emptyDatagrams, 0u) << "the output callback was called with nothing";
        EXPECT_EQ(w.mtuViolations, 0u) << w.firstViolation;
        EXPECT_EQ(st.segmentsSent, w.distinctSn + st.retransmitsTimeout + st.retransmitsFast)
            << "every PUSH on the wire is a first transmission, a timeout or a fast retransmission";

        // Receive counters agree with what the link delivered (every delivered datagram is genuine here).
        EXPECT_EQ(sim.inputRejected(i), 0u) << sim.firstReject(i);
        EXPECT_EQ(st.malformedDatagrams, 0u);
        EXPECT_EQ(st.wrongConvDatagrams, 0u);
        EXPECT_EQ(st.datagramsReceived, in.delivered);
        EXPECT_EQ(st.wireBytesReceived, in.deliveredBytes);
        EXPECT_EQ(st.segmentsReceived, in.deliveredPush);
        EXPECT_EQ(st.acksReceived, in.deliveredAck);
        EXPECT_LE(st.duplicateSegments + st.outOfWindowSegments, st.segmentsReceived);

        // Cause and effect.
        if (out.lostWithPush + out.checksumDropsWithPush > 0) {
            EXPECT_GT(st.retransmitsTimeout + st.retransmitsFast, 0u) << "data was lost but never retransmitted";
        }
        if (in.pushDeliveredTwice > 0 && !sc.windowChurn) {
            EXPECT_GT(st.duplicateSegments, 0u) << in.pushDeliveredTwice << " PUSH datagrams arrived twice";
        }
        if (total > 0) {
            EXPECT_GT(st.rttSamples, 0u);
            EXPECT_GT(st.srtt, 0u);
        }
        if (i == 0 && sc.expectFastRetransmit) {
            EXPECT_GT(st.retransmitsFast, 0u) << "fast resend is on and data was lost";
        }
        if (e.fastResend() == 0) {
            EXPECT_EQ(st.retransmitsFast, 0u) << "fast resend is off";
        }
        if (sc.expectProbes[i]) {
            EXPECT_GT(st.windowProbesSent, 0u) << "the peer's window was closed for longer than the probe delay";
            EXPECT_GT(sim.engine(j).stats().windowUpdatesSent, 0u);
        }
        if (sim.config().ab.lossPct <= 10 && sim.config().ba.lossPct <= 10) {
            EXPECT_FALSE(e.isDeadLink());
        }
        EXPECT_EQ(e.isDeadLink(), st.deadLink);
    }
    for (const auto &pl : sc.expectPushLengths)
        EXPECT_EQ(sim.wire(pl.first).pushLengths.count(pl.second), 1u)
            << "no PUSH of " << pl.second << " bytes from side " << pl.first << " (MTU change not applied?)";
}

class EngineLink : public ::testing::TestWithParam<Scenario>
{
};

} // namespace

// Each scenario runs with three seeds (different loss/jitter patterns and message sizes).
TEST_P(EngineLink, EveryByteOnceInOrderWithinBoundedTime)
{
    const Scenario &sc = GetParam();
    for (std::uint64_t run = 0; run < 3; ++run) {
        SCOPED_TRACE("run " + std::to_string(run));
        SimConfig cfg = sc.cfg;
        cfg.seed = sc.cfg.seed * 7919 + run;
        Simulation sim(cfg);
        if (sc.setup)
            sc.setup(sim);
        const Outcome o = sim.run();
        std::printf("[   sim    ] %s/%llu: %s after %llu ms virtual, %llu iterations\n", sc.name.c_str(),
                    static_cast<unsigned long long>(run), o.finished ? "done" : "NOT done",
                    static_cast<unsigned long long>(o.virtualMs), static_cast<unsigned long long>(o.iterations));
        RecordProperty("virtual_ms_" + std::to_string(run), std::to_string(o.virtualMs));
        ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();
        checkFinished(sim, sc);
        if (HasFailure())
            return;
    }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, EngineLink, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario> &info) { return info.param.name; });

// Disabled: documents a hazard for the lead to decide on, not a violation of the documented contract.
// Both receive windows shrink from 128 to 16 while 100-fragment messages are in flight. The engines keep
// what they already queued (over 16 segments of an incomplete message, which can now never complete because
// nothing more moves into a queue that is already at the window), and every later datagram of the peer that
// carries a fragment with frg >= 16 is rejected whole as BadFragment, its ACKs included, so the other
// direction stalls as well and the sender ends up dead-linked. setWindowSize() says settings may change at run
// time; maxMessageSize() says the peer's window must hold the fragments (it did when they were sent).
TEST(EngineLinkHazard, DISABLED_ReceiveWindowShrinkBelowInFlightMessageSize)
{
    SimConfig cfg = base(EndpointConfig::fast(), false, 5);
    cfg.bytesAtoB = 4 * 1024 * 1024;
    cfg.bytesBtoA = 1024 * 1024;
    cfg.maxVirtualMs = 300000;
    Simulation sim(cfg);
    sim.at(300, [](Simulation &s) {
        s.a().setWindowSize(0, 16);
        s.b().setWindowSize(0, 16);
    });
    const Outcome o = sim.run();
    EXPECT_TRUE(o.finished) << o.why << "\n" << sim.describe() << "B rejected " << sim.rejectedGenuine(1)
                            << " genuine datagrams, first: " << sim.firstReject(1);
}

// ---------------------------------------------------------------------------------------------------------
// Corruption without a checksum.
//
// KCP has no checksum: a bit flipped in sn, una, frg, ts or wnd can produce a header that is valid in every
// respect and is simply believed (a forged una even acknowledges data the peer never got, after which the
// transfer cannot complete). So this test does not ask for integrity or completion. It asks that the engine
// never crashes or spins, that check() stays sane, that every rejection is counted under the right counter,
// and that a good share of the corrupted datagrams is recognised (wrong conv, bad cmd/len/una/frg).

struct CorruptCase {
    const char *name;
    EndpointConfig ep;
    bool stream;
};

class EngineLinkHeaderCorruption : public ::testing::TestWithParam<CorruptCase>
{
};

void PrintTo(const CorruptCase &c, std::ostream *os) { *os << c.name; }

TEST_P(EngineLinkHeaderCorruption, NeverCrashesOrSpinsAndCountsWhatItRejects)
{
    const CorruptCase &cc = GetParam();
    std::uint64_t corrupted = 0, rejected = 0, acceptedCorrupted = 0, completed = 0, withDataErrors = 0;
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        SimConfig cfg;
        cfg.a = cfg.b = cc.ep;
        cfg.a.stream = cfg.b.stream = cc.stream;
        cfg.bytesAtoB = 256 * 1024;
        cfg.bytesBtoA = 64 * 1024;
        for (Impairment *imp : {&cfg.ab, &cfg.ba}) {
            imp->delayMs = 20;
            imp->jitterMs = 5;
            imp->corruptPct = 10;
            imp->corruptHeadersOnly = true;
        }
        cfg.startClock = kStarts[seed % 3];
        cfg.strictData = false;
        cfg.maxVirtualMs = 120000;
        cfg.seed = 4242 + seed;
        Simulation sim(cfg);
        const Outcome o = sim.run();
        // Completion is not required (see above), but the loop must end by completing, by both engines going
        // idle, or by the virtual-time budget, never by the engine spinning or the iteration bound.
        EXPECT_TRUE(o.finished || o.why.rfind("stalled", 0) == 0 || o.why.rfind("virtual time limit", 0) == 0)
            << o.why;
        EXPECT_EQ(sim.checkViolations(), 0u) << sim.firstCheckViolation();
        for (int i = 0; i < 2; ++i) {
            const KcpEngineStats st = sim.engine(i).stats();
            const std::uint64_t wrongConv = sim.inputResults(i, KcpInputResult::WrongConv);
            EXPECT_EQ(st.datagramsReceived, sim.inputResults(i, KcpInputResult::Ok));
            EXPECT_EQ(st.wrongConvDatagrams, wrongConv);
            EXPECT_EQ(st.malformedDatagrams, sim.inputRejected(i) - wrongConv);
            EXPECT_LE(st.bytesDelivered, st.bytesReceived);
            EXPECT_LE(st.duplicateSegments + st.outOfWindowSegments, st.segmentsReceived);
            EXPECT_GE(st.rto, sim.engine(i).minRto());
            EXPECT_LE(st.rto, 60000u);
            rejected += sim.inputRejected(i);
            acceptedCorrupted += sim.acceptedCorrupted(i);
            withDataErrors += sim.dataErrors(i) ? 1 : 0;
        }
        corrupted += sim.link().stats(0).corrupted + sim.link().stats(1).corrupted;
        completed += o.finished ? 1 : 0;
    }
    std::printf("[   sim    ] header corruption %s: %llu corrupted datagrams, %llu rejected, %llu accepted as valid; "
                "%llu of 8 runs completed, %llu sides saw wrong data\n",
                cc.name, static_cast<unsigned long long>(corrupted), static_cast<unsigned long long>(rejected),
                static_cast<unsigned long long>(acceptedCorrupted), static_cast<unsigned long long>(completed),
                static_cast<unsigned long long>(withDataErrors));
    ASSERT_GT(corrupted, 100u);
    // Most single-bit header flips break conv, cmd, len, una or frg validation.
    EXPECT_GT(rejected, corrupted / 4);
}

INSTANTIATE_TEST_SUITE_P(Presets, EngineLinkHeaderCorruption,
                         ::testing::Values(CorruptCase{"fast_msg", EndpointConfig::fast(), false},
                                           CorruptCase{"fast_stream", EndpointConfig::fast(), true},
                                           CorruptCase{"ikcp_msg", EndpointConfig::ikcpDefault(), false},
                                           CorruptCase{"normal_stream", EndpointConfig::normal(), true}),
                         [](const ::testing::TestParamInfo<CorruptCase> &info) { return std::string(info.param.name); });
