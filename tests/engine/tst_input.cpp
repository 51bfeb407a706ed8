// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// input(): malformed datagrams, the documented KcpInputResult for each, the counters they bump, and the
// promise that a rejected datagram leaves no trace, not even of the valid segments in front of the bad one.
// Then duplicates and out-of-window data, and a fuzz run of 20k random and mutated datagrams after which the
// session must still carry a transfer.
#include "kcpengine.h"
#include "kcpsegment.h"
#include "simlink.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace kcpnet;
using kcptest::Rng;
using kcptest::statsDiff;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::uint32_t kConv = 0xA1B2C3D4;
constexpr std::uint8_t PUSH = 81, ACK = 82, WASK = 83, WINS = 84;

struct Seg {
    std::uint32_t conv = kConv;
    std::uint8_t cmd = PUSH;
    std::uint8_t frg = 0;
    std::uint16_t wnd = 128;
    std::uint32_t ts = 0;
    std::uint32_t sn = 0;
    std::uint32_t una = 0;
    Bytes payload;
    std::int64_t len = -1; // -1: payload.size()

    Seg &c(std::uint8_t v) { cmd = v; return *this; }
    Seg &f(std::uint8_t v) { frg = v; return *this; }
    Seg &s(std::uint32_t v) { sn = v; return *this; }
    Seg &u(std::uint32_t v) { una = v; return *this; }
    Seg &t(std::uint32_t v) { ts = v; return *this; }
    Seg &w(std::uint16_t v) { wnd = v; return *this; }
    Seg &id(std::uint32_t v) { conv = v; return *this; }
    Seg &p(std::size_t n, std::uint8_t fill = 0x5A) { payload.assign(n, fill); return *this; }
    Seg &l(std::int64_t v) { len = v; return *this; }
};

void append(Bytes &d, const Seg &s)
{
    KcpSegmentHeader h;
    h.conv = s.conv;
    h.cmd = s.cmd;
    h.frg = s.frg;
    h.wnd = s.wnd;
    h.ts = s.ts;
    h.sn = s.sn;
    h.una = s.una;
    h.len = s.len < 0 ? static_cast<std::uint32_t>(s.payload.size()) : static_cast<std::uint32_t>(s.len);
    std::uint8_t hdr[24];
    encodeKcpHeader(h, hdr);
    d.insert(d.end(), hdr, hdr + 24);
    d.insert(d.end(), s.payload.begin(), s.payload.end());
}

Bytes dgram(std::initializer_list<Seg> segs)
{
    Bytes d;
    for (const Seg &s : segs)
        append(d, s);
    return d;
}

Seg push(std::uint32_t sn, std::size_t n = 5) { return Seg().s(sn).p(n, static_cast<std::uint8_t>(sn + 1)); }

struct Capture {
    std::vector<Bytes> out;
    KcpEngine::Output sink()
    {
        return [this](const std::uint8_t *d, std::size_t n) { out.emplace_back(d, d + n); };
    }
    std::size_t segments(std::uint8_t cmd, std::uint32_t sn = ~0u) const
    {
        std::size_t n = 0;
        for (const Bytes &d : out)
            for (const kcptest::WireSegment &s : kcptest::walkSegments(d.data(), d.size()).segments)
                if (s.header.cmd == cmd && (sn == ~0u || s.header.sn == sn))
                    ++n;
        return n;
    }
};

std::string name(KcpInputResult r) { return kcpInputResultName(r); }

// Feeds `d`, expects `expected`, and checks that only the matching rejection counter moved.
void expectRejected(KcpEngine &e, const Bytes &d, KcpInputResult expected, std::uint32_t now, const std::string &what)
{
    SCOPED_TRACE(what);
    const KcpEngineStats before = e.stats();
    const int peek = e.peekSize();
    const std::uint32_t wait = e.waitSnd();
    const std::uint32_t chk = e.check(now);
    const bool idle = e.isIdle();
    const std::uint32_t rmt = e.remoteWindow();

    const KcpInputResult r = e.input(d.data(), d.size(), now);
    EXPECT_EQ(r, expected) << "got " << name(r) << ", expected " << name(expected);

    KcpEngineStats after = e.stats();
    if (expected == KcpInputResult::WrongConv) {
        EXPECT_EQ(after.wrongConvDatagrams, before.wrongConvDatagrams + 1);
        after.wrongConvDatagrams = before.wrongConvDatagrams;
    } else {
        EXPECT_EQ(after.malformedDatagrams, before.malformedDatagrams + 1);
        after.malformedDatagrams = before.malformedDatagrams;
    }
    EXPECT_EQ(statsDiff(before, after), "") << "state changed by a rejected datagram";
    EXPECT_EQ(e.peekSize(), peek);
    EXPECT_EQ(e.waitSnd(), wait);
    EXPECT_EQ(e.check(now), chk);
    EXPECT_EQ(e.isIdle(), idle);
    EXPECT_EQ(e.remoteWindow(), rmt);
}

// A sender that has transmitted three segments (sn 0, 1, 2), none acknowledged yet.
struct SenderFixture {
    Capture cap;
    KcpEngine e{kConv, cap.sink()};
    SenderFixture()
    {
        e.setNoDelay(0, 100, 0, true);
        const Bytes data(30, 0x11);
        for (int i = 0; i < 3; ++i)
            EXPECT_EQ(e.send(data.data(), 10), 10);
        e.flush(1000);
        EXPECT_EQ(cap.segments(PUSH), 3u);
        EXPECT_EQ(e.waitSnd(), 3u);
        cap.out.clear();
    }
};

} // namespace

TEST(EngineInput, EmptyAndShortDatagramsAreTooShort)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    const Bytes good = dgram({push(0)});
    for (std::size_t n = 0; n < 24; ++n)
        expectRejected(e, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)),
                       KcpInputResult::TooShort, 100, "size " + std::to_string(n));
    EXPECT_EQ(e.stats().malformedDatagrams, 24u);
    // Still works.
    ASSERT_EQ(e.input(good.data(), good.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.peekSize(), 5);
}

TEST(EngineInput, TrailingBytesShorterThanAHeaderAreTooShortAndNothingIsApplied)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    const Bytes good = dgram({push(0)});
    for (std::size_t extra = 1; extra < 24; ++extra) {
        Bytes d = good;
        for (std::size_t i = 0; i < extra; ++i)
            d.push_back(static_cast<std::uint8_t>(0x51 + i)); // looks like a header start
        expectRejected(e, d, KcpInputResult::TooShort, 100, "trailing " + std::to_string(extra));
    }
    EXPECT_EQ(e.peekSize(), -1);
    EXPECT_EQ(e.stats().pendingAcks, 0u);
    e.flush(100);
    EXPECT_EQ(cap.segments(ACK), 0u) << "a segment of a rejected datagram was acknowledged";
    ASSERT_EQ(e.input(good.data(), good.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.peekSize(), 5);
}

TEST(EngineInput, LengthPastTheEndIsBadLength)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    const Bytes good = dgram({push(0)});
    {
        Bytes d = dgram({push(0), push(1, 10)});
        d.pop_back(); // len says 10, 9 bytes follow
        expectRejected(e, d, KcpInputResult::BadLength, 100, "one byte short");
    }
    for (std::uint32_t len : {1u, 24u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
        expectRejected(e, dgram({push(0), Seg().s(1).l(len)}), KcpInputResult::BadLength, 100,
                       "len " + std::to_string(len) + " after a valid segment");
        expectRejected(e, dgram({Seg().s(0).l(len)}), KcpInputResult::BadLength, 100,
                       "len " + std::to_string(len) + " alone");
    }
    EXPECT_EQ(e.peekSize(), -1);
    e.flush(100);
    EXPECT_EQ(cap.segments(ACK), 0u);
    ASSERT_EQ(e.input(good.data(), good.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.peekSize(), 5);
}

TEST(EngineInput, UnknownCommandIsBadCommand)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    for (int cmd : {0, 1, 80, 85, 86, 127, 255}) {
        expectRejected(e, dgram({push(0), Seg().c(static_cast<std::uint8_t>(cmd)).s(1)}), KcpInputResult::BadCommand,
                       100, "cmd " + std::to_string(cmd) + " after a valid segment");
        expectRejected(e, dgram({Seg().c(static_cast<std::uint8_t>(cmd)), push(0)}), KcpInputResult::BadCommand,
                       100, "cmd " + std::to_string(cmd) + " first");
    }
    EXPECT_EQ(e.stats().malformedDatagrams, 14u);
    EXPECT_EQ(e.stats().wrongConvDatagrams, 0u);
    EXPECT_EQ(e.peekSize(), -1);
    const Bytes good = dgram({push(0)});
    ASSERT_EQ(e.input(good.data(), good.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.peekSize(), 5);
}

TEST(EngineInput, WrongConvIsCountedSeparately)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    expectRejected(e, dgram({push(0).id(kConv + 1)}), KcpInputResult::WrongConv, 100, "conv + 1");
    expectRejected(e, dgram({push(0).id(0)}), KcpInputResult::WrongConv, 100, "conv 0");
    expectRejected(e, dgram({push(0).id(0xD4C3B2A1)}), KcpInputResult::WrongConv, 100, "byte-swapped conv");
    expectRejected(e, dgram({push(0), push(1).id(kConv ^ 0x100)}), KcpInputResult::WrongConv, 100,
                   "second segment of another conversation");
    EXPECT_EQ(e.stats().wrongConvDatagrams, 4u);
    EXPECT_EQ(e.stats().malformedDatagrams, 0u);
    EXPECT_EQ(e.peekSize(), -1);
    const Bytes good = dgram({push(0), push(1)});
    ASSERT_EQ(e.input(good.data(), good.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.stats().receiveQueue, 2u);
}

TEST(EngineInput, ControlSegmentWithPayloadIsBadLength)
{
    SenderFixture f; // so that an ACK of sn 0 would otherwise be valid
    for (std::uint8_t cmd : {ACK, WASK, WINS})
        for (std::size_t n : {1u, 4u, 100u}) {
            const std::string what = "cmd " + std::to_string(cmd) + " with " + std::to_string(n) + " payload bytes";
            expectRejected(f.e, dgram({Seg().c(cmd).s(0).p(n)}), KcpInputResult::BadLength, 1010, what);
            expectRejected(f.e, dgram({Seg().c(ACK).s(0), Seg().c(cmd).s(0).p(n)}), KcpInputResult::BadLength, 1010,
                           what + " after a valid ACK");
        }
    EXPECT_EQ(f.e.waitSnd(), 3u);
    EXPECT_EQ(f.e.stats().acksReceived, 0u);
}

TEST(EngineInput, UnaBeyondWhatWasSentIsBadAck)
{
    {
        // A fresh engine sent nothing: una must be 0.
        Capture cap;
        KcpEngine e(kConv, cap.sink());
        expectRejected(e, dgram({push(0).u(1)}), KcpInputResult::BadAck, 100, "fresh engine, una 1");
        expectRejected(e, dgram({push(0), push(1).u(7)}), KcpInputResult::BadAck, 100, "fresh engine, second una 7");
        EXPECT_EQ(e.peekSize(), -1);
        const Bytes good = dgram({push(0).u(0)});
        ASSERT_EQ(e.input(good.data(), good.size(), 100), KcpInputResult::Ok);
        EXPECT_EQ(e.peekSize(), 5);
    }
    {
        SenderFixture f; // sent sn 0..2: una may be 0..3
        expectRejected(f.e, dgram({Seg().c(ACK).s(0).u(4)}), KcpInputResult::BadAck, 1010, "una 4");
        expectRejected(f.e, dgram({Seg().c(WINS).u(1), Seg().c(WINS).u(0x40000000u)}), KcpInputResult::BadAck, 1010,
                       "una 2^30 after a valid una 1");
        expectRejected(f.e, dgram({Seg().c(ACK).s(0).u(3), push(0).u(4)}), KcpInputResult::BadAck, 1010,
                       "una 4 after a valid una 3");
        EXPECT_EQ(f.e.waitSnd(), 3u);
        const Bytes good = dgram({Seg().c(WINS).u(3)});
        ASSERT_EQ(f.e.input(good.data(), good.size(), 1010), KcpInputResult::Ok);
        EXPECT_EQ(f.e.waitSnd(), 0u);
    }
}

TEST(EngineInput, AckForNeverSentSnIsBadAck)
{
    {
        Capture cap;
        KcpEngine e(kConv, cap.sink());
        expectRejected(e, dgram({Seg().c(ACK).s(0)}), KcpInputResult::BadAck, 100, "fresh engine, ACK sn 0");
    }
    SenderFixture f;
    expectRejected(f.e, dgram({Seg().c(ACK).s(3)}), KcpInputResult::BadAck, 1010, "ACK sn 3 = snd_nxt");
    expectRejected(f.e, dgram({Seg().c(ACK).s(0), Seg().c(ACK).s(3)}), KcpInputResult::BadAck, 1010,
                   "valid ACK sn 0, then sn 3");
    expectRejected(f.e, dgram({Seg().c(ACK).s(1), Seg().c(ACK).s(1000000)}), KcpInputResult::BadAck, 1010,
                   "valid ACK sn 1, then sn 1000000");
    EXPECT_EQ(f.e.waitSnd(), 3u);
    EXPECT_EQ(f.e.stats().acksReceived, 0u);
    EXPECT_EQ(f.e.stats().rttSamples, 0u);
    // Selective ACK of the last one, then the rest.
    Bytes d = dgram({Seg().c(ACK).s(2).t(1000)});
    ASSERT_EQ(f.e.input(d.data(), d.size(), 1010), KcpInputResult::Ok);
    EXPECT_EQ(f.e.waitSnd(), 2u);
    d = dgram({Seg().c(ACK).s(0).t(1000), Seg().c(ACK).s(1).t(1000).u(2)});
    ASSERT_EQ(f.e.input(d.data(), d.size(), 1010), KcpInputResult::Ok);
    EXPECT_EQ(f.e.waitSnd(), 0u);
    EXPECT_EQ(f.e.stats().acksReceived, 3u);
    // A late duplicate ACK of data acknowledged long ago is fine.
    d = dgram({Seg().c(ACK).s(1).t(1000).u(3)});
    EXPECT_EQ(f.e.input(d.data(), d.size(), 1020), KcpInputResult::Ok);
}

TEST(EngineInput, FragmentCountBeyondReceiveWindowIsBadFragment)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    ASSERT_EQ(e.receiveWindow(), 128u);
    // frg = 128 means 129 fragments: more than a 128-segment window can ever hold.
    expectRejected(e, dgram({push(0).f(128)}), KcpInputResult::BadFragment, 100, "frg 128, window 128");
    expectRejected(e, dgram({push(0).f(255)}), KcpInputResult::BadFragment, 100, "frg 255, window 128");
    expectRejected(e, dgram({push(0).f(1), push(1).f(200)}), KcpInputResult::BadFragment, 100,
                   "valid frg 1, then frg 200");
    EXPECT_EQ(e.peekSize(), -1);
    Bytes d = dgram({push(0).f(127)}); // 128 fragments fit exactly
    ASSERT_EQ(e.input(d.data(), d.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.peekSize(), -1); // incomplete message

    KcpEngine small(kConv, cap.sink());
    small.setWindowSize(0, 16);
    ASSERT_EQ(small.receiveWindow(), 16u);
    expectRejected(small, dgram({push(0).f(16)}), KcpInputResult::BadFragment, 100, "frg 16, window 16");
    d = dgram({push(0).f(15)});
    EXPECT_EQ(small.input(d.data(), d.size(), 100), KcpInputResult::Ok);
}

TEST(EngineInput, DuplicatePushIsCountedAndAckedAgain)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    const Bytes p0 = dgram({push(0).t(50)});
    ASSERT_EQ(e.input(p0.data(), p0.size(), 100), KcpInputResult::Ok);
    e.flush(100);
    EXPECT_EQ(cap.segments(ACK, 0), 1u);

    // Again while it waits in the receive queue.
    ASSERT_EQ(e.input(p0.data(), p0.size(), 110), KcpInputResult::Ok);
    KcpEngineStats st = e.stats();
    EXPECT_EQ(st.duplicateSegments, 1u);
    EXPECT_EQ(st.segmentsReceived, 2u);
    EXPECT_EQ(st.bytesReceived, 5u);
    EXPECT_EQ(st.pendingAcks, 1u);
    e.flush(110);
    EXPECT_EQ(cap.segments(ACK, 0), 2u) << "a duplicate must be acknowledged again (its ACK may have been lost)";

    // Again after the application read it (sn < rcv_nxt).
    std::uint8_t buf[16];
    ASSERT_EQ(e.recv(buf, sizeof buf), 5);
    ASSERT_EQ(e.input(p0.data(), p0.size(), 120), KcpInputResult::Ok);
    e.flush(120);
    EXPECT_EQ(cap.segments(ACK, 0), 3u);
    EXPECT_EQ(e.stats().duplicateSegments, 2u);
    EXPECT_EQ(e.peekSize(), -1) << "a duplicate was delivered twice";

    // Out of order, waiting in the receive buffer.
    const Bytes p3 = dgram({push(3).t(60)});
    ASSERT_EQ(e.input(p3.data(), p3.size(), 130), KcpInputResult::Ok);
    ASSERT_EQ(e.input(p3.data(), p3.size(), 130), KcpInputResult::Ok);
    st = e.stats();
    EXPECT_EQ(st.duplicateSegments, 3u);
    EXPECT_EQ(st.receiveBuffer, 1u);
    EXPECT_EQ(st.bytesReceived, 10u);
    e.flush(130);
    EXPECT_EQ(cap.segments(ACK, 3), 2u);

    // Two copies in one datagram.
    const Bytes twice = dgram({push(1), push(1)});
    ASSERT_EQ(e.input(twice.data(), twice.size(), 140), KcpInputResult::Ok);
    EXPECT_EQ(e.stats().duplicateSegments, 4u);
    EXPECT_EQ(e.peekSize(), 5);
}

TEST(EngineInput, PushBeyondTheWindowIsCountedAndNotAcked)
{
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    const Bytes beyond = dgram({push(128)}); // window [0, 128)
    ASSERT_EQ(e.input(beyond.data(), beyond.size(), 100), KcpInputResult::Ok);
    KcpEngineStats st = e.stats();
    EXPECT_EQ(st.outOfWindowSegments, 1u);
    EXPECT_EQ(st.segmentsReceived, 1u);
    EXPECT_EQ(st.bytesReceived, 0u);
    EXPECT_EQ(st.pendingAcks, 0u);
    EXPECT_EQ(st.receiveBuffer, 0u);
    const Bytes far = dgram({push(5000)});
    ASSERT_EQ(e.input(far.data(), far.size(), 100), KcpInputResult::Ok);
    EXPECT_EQ(e.stats().outOfWindowSegments, 2u);
    e.flush(100);
    EXPECT_EQ(cap.segments(ACK, 128), 0u);
    EXPECT_EQ(cap.segments(ACK, 5000), 0u);

    const Bytes last = dgram({push(127)}); // the last sn inside the window
    ASSERT_EQ(e.input(last.data(), last.size(), 110), KcpInputResult::Ok);
    EXPECT_EQ(e.stats().receiveBuffer, 1u);
    e.flush(110);
    EXPECT_EQ(cap.segments(ACK, 127), 1u);

    // Once sn 0 arrives the window slides to [1, 129) and 128 fits.
    const Bytes first = dgram({push(0)});
    ASSERT_EQ(e.input(first.data(), first.size(), 120), KcpInputResult::Ok);
    ASSERT_EQ(e.input(beyond.data(), beyond.size(), 120), KcpInputResult::Ok);
    EXPECT_EQ(e.stats().outOfWindowSegments, 2u);
    EXPECT_EQ(e.stats().receiveBuffer, 2u);
    e.flush(120);
    EXPECT_EQ(cap.segments(ACK, 128), 1u);
}

// ---------------------------------------------------------------------------------------------------------
// Fuzzing

namespace {

// One datagram: random, or a mutation of a genuine one.
Bytes fuzzDatagram(Rng &rng, const std::vector<Bytes> &corpus, std::uint32_t conv, std::uint32_t snBase)
{
    auto pick = [&]() -> const Bytes & { return corpus[rng.below(static_cast<std::uint32_t>(corpus.size()))]; };
    Bytes d;
    switch (rng.below(9)) {
    case 0: // short random
        d.resize(rng.below(64));
        for (auto &b : d)
            b = rng.byte();
        break;
    case 1: // long random
        d.resize(rng.below(3000));
        for (auto &b : d)
            b = rng.byte();
        break;
    case 2: // right conv, random rest
        d.resize(4 + rng.below(200));
        for (auto &b : d)
            b = rng.byte();
        kcpPutU32(d.data(), conv);
        break;
    case 3: { // bit flips
        d = pick();
        const std::uint32_t flips = rng.range(1, 8);
        for (std::uint32_t i = 0; i < flips && !d.empty(); ++i)
            d[rng.below(static_cast<std::uint32_t>(d.size()))] ^= static_cast<std::uint8_t>(1u << rng.below(8));
        break;
    }
    case 4: { // one header field set to an edge value
        d = pick();
        const kcptest::Walk w = kcptest::walkSegments(d.data(), d.size());
        if (w.segments.empty())
            break;
        const std::size_t base = w.segments[rng.below(static_cast<std::uint32_t>(w.segments.size()))].offset;
        static const std::uint32_t edges[] = {0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000,
                                              0x7FFFFFFF, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu};
        const std::uint32_t v = rng.below(4) == 0 ? static_cast<std::uint32_t>(rng.next())
                                                  : edges[rng.below(sizeof edges / sizeof edges[0])];
        switch (rng.below(8)) {
        case 0: kcpPutU32(d.data() + base, v); break;                               // conv
        case 1: d[base + 4] = static_cast<std::uint8_t>(v); break;                  // cmd
        case 2: d[base + 5] = static_cast<std::uint8_t>(v); break;                  // frg
        case 3: kcpPutU16(d.data() + base + 6, static_cast<std::uint16_t>(v)); break; // wnd
        case 4: kcpPutU32(d.data() + base + 8, v); break;                           // ts
        case 5: kcpPutU32(d.data() + base + 12, v); break;                          // sn
        case 6: kcpPutU32(d.data() + base + 16, v); break;                          // una
        default: kcpPutU32(d.data() + base + 20, v); break;                         // len
        }
        break;
    }
    case 5: // truncated or extended
        d = pick();
        if (rng.below(2) && !d.empty()) {
            d.resize(rng.below(static_cast<std::uint32_t>(d.size())));
        } else {
            const std::uint32_t n = rng.range(1, 40);
            for (std::uint32_t i = 0; i < n; ++i)
                d.push_back(rng.byte());
        }
        break;
    case 6: { // several genuine datagrams glued together
        const std::uint32_t n = rng.range(2, 4);
        for (std::uint32_t i = 0; i < n; ++i) {
            const Bytes &p = pick();
            d.insert(d.end(), p.begin(), p.end());
        }
        if (rng.below(2) && !d.empty())
            d[rng.below(static_cast<std::uint32_t>(d.size()))] ^= static_cast<std::uint8_t>(1u << rng.below(8));
        break;
    }
    default: { // plausible synthetic segments
        const std::uint32_t n = rng.range(1, 4);
        for (std::uint32_t i = 0; i < n; ++i) {
            Seg s;
            static const std::uint8_t cmds[] = {PUSH, ACK, WASK, WINS, PUSH, ACK, 0, 85};
            s.cmd = cmds[rng.below(8)];
            s.frg = static_cast<std::uint8_t>(rng.below(4) == 0 ? rng.byte() : rng.below(3));
            s.wnd = static_cast<std::uint16_t>(rng.below(3) == 0 ? 0 : rng.below(300));
            s.ts = static_cast<std::uint32_t>(rng.next());
            s.sn = rng.below(2) ? snBase + rng.range(0, 600) - 300 : static_cast<std::uint32_t>(rng.next());
            s.una = rng.below(2) ? rng.below(snBase + 2) : static_cast<std::uint32_t>(rng.next());
            if (s.cmd == PUSH || rng.below(10) == 0)
                s.p(rng.below(100), rng.byte());
            if (rng.below(10) == 0)
                s.len = static_cast<std::int64_t>(s.payload.size()) + static_cast<std::int64_t>(rng.range(0, 4)) - 2;
            append(d, s);
        }
        break;
    }
    }
    return d;
}

// Moves every PUSH that would land inside the receive window [rcvNxt, rcvNxt + rcvWnd) just beyond it, so that
// the fuzz cannot inject fake data (KCP has no checksum: a forged in-window PUSH is indistinguishable from the
// real one and would corrupt the stream by design, not by a bug).
void defuse(Bytes &d, std::uint32_t rcvNxt, std::uint32_t rcvWnd)
{
    for (const kcptest::WireSegment &s : kcptest::walkSegments(d.data(), d.size()).segments) {
        if (s.header.cmd != PUSH)
            continue;
        if (kcpDiff(s.header.sn, rcvNxt) >= 0 && kcpDiff(s.header.sn, rcvNxt + rcvWnd) < 0)
            kcpPutU32(d.data() + s.offset + 12, s.header.sn + rcvWnd);
    }
}

// input() with the bookkeeping check: exactly one of the three counters moves, and a rejection changes nothing else.
KcpInputResult checkedInput(KcpEngine &e, const Bytes &d, std::uint32_t now, std::string &problem)
{
    const KcpEngineStats before = e.stats();
    const KcpInputResult r = e.input(d.data(), d.size(), now);
    KcpEngineStats after = e.stats();
    std::string why;
    if (r == KcpInputResult::Ok) {
        if (after.datagramsReceived != before.datagramsReceived + 1 || after.malformedDatagrams != before.malformedDatagrams
            || after.wrongConvDatagrams != before.wrongConvDatagrams)
            why = "Ok but counters moved wrongly";
    } else {
        if (r == KcpInputResult::WrongConv) {
            if (after.wrongConvDatagrams != before.wrongConvDatagrams + 1)
                why = "WrongConv not counted";
            after.wrongConvDatagrams = before.wrongConvDatagrams;
        } else {
            if (after.malformedDatagrams != before.malformedDatagrams + 1)
                why = std::string(kcpInputResultName(r)) + " not counted as malformed";
            after.malformedDatagrams = before.malformedDatagrams;
        }
        const std::string diff = statsDiff(before, after);
        if (!diff.empty())
            why += std::string(kcpInputResultName(r)) + " changed state:" + diff;
    }
    if (!why.empty() && problem.empty()) {
        static const char digits[] = "0123456789abcdef";
        std::string hexd;
        for (std::size_t i = 0; i < d.size() && i < 96; ++i) {
            hexd += digits[d[i] >> 4];
            hexd += digits[d[i] & 15];
        }
        problem = why + " (datagram " + std::to_string(d.size()) + " bytes: " + hexd + ")";
    }
    return r;
}

} // namespace

TEST(EngineFuzz, FreshEngineSurvivesRandomDatagrams)
{
    Rng rng(0xF00D);
    Capture cap;
    KcpEngine e(kConv, cap.sink());
    e.setWindowSize(8, 16);
    std::vector<Bytes> corpus = {dgram({push(0), push(1)}), dgram({Seg().c(ACK).s(0)}), dgram({Seg().c(WASK)}),
                                 dgram({push(2).f(1), push(3).f(0)})};
    std::string problem;
    std::uint32_t now = 0xFFFFFF00u; // crosses the 32-bit wrap
    std::uint64_t counts[7] = {};
    std::vector<std::uint8_t> buf(70000);
    for (int i = 0; i < 5000; ++i) {
        const Bytes d = fuzzDatagram(rng, corpus, kConv, 0);
        const int r = -static_cast<int>(checkedInput(e, d, now, problem));
        ASSERT_TRUE(r >= 0 && r <= 6) << "undocumented KcpInputResult " << -r;
        ++counts[r];
        if (i % 8 == 0) {
            now += 3;
            if (kcpDiff(e.check(now), now) <= 0)
                e.update(now);
            ASSERT_GE(kcpDiff(e.check(now), now), 0);
            for (int guard = 0; guard < 1000 && e.peekSize() >= 0; ++guard)
                ASSERT_GE(e.recv(buf.data(), static_cast<int>(buf.size())), 0);
            ASSERT_LT(e.peekSize(), 0);
            cap.out.clear();
        }
    }
    EXPECT_EQ(problem, "");
    const KcpEngineStats st = e.stats();
    EXPECT_EQ(st.datagramsReceived, counts[0]);
    EXPECT_EQ(st.wrongConvDatagrams, counts[2]);
    EXPECT_EQ(st.malformedDatagrams, 5000 - counts[0] - counts[2]);
    EXPECT_GT(counts[0], 0u);
    for (int r = 1; r <= 6; ++r)
        EXPECT_GT(counts[r], 0u) << "the fuzz never produced " << kcpInputResultName(static_cast<KcpInputResult>(-r));
}

TEST(EngineFuzz, TwentyThousandMutatedDatagramsThenTheSessionStillWorks)
{
    kcptest::SimConfig cfg;
    cfg.conv = kConv;
    cfg.a = kcptest::EndpointConfig::fast();
    cfg.b = kcptest::EndpointConfig::fast();
    cfg.ab.delayMs = cfg.ba.delayMs = 5;
    cfg.bytesAtoB = 64 * 1024;
    cfg.bytesBtoA = 16 * 1024;
    cfg.startClock = 0xFFFF0000u;
    cfg.maxVirtualMs = 4 * 3600 * 1000ull;
    cfg.seed = 77;
    kcptest::Simulation sim(cfg);
    std::vector<Bytes> corpus;
    sim.setTap([&](int, const std::uint8_t *d, std::size_t n) {
        if (corpus.size() < 4000)
            corpus.emplace_back(d, d + n);
    });
    kcptest::Outcome o = sim.run();
    ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();
    sim.setTap({});
    ASSERT_FALSE(corpus.empty());

    Rng rng(0xFA22);
    std::string problem;
    std::uint64_t accepted[2] = {0, 0};
    // Each engine's rcv_nxt: every segment the peer sent has been received.
    const std::uint32_t rcvNxt[2] = {static_cast<std::uint32_t>(sim.wire(1).distinctSn),
                                     static_cast<std::uint32_t>(sim.wire(0).distinctSn)};
    const int plan[2] = {5000, 20000}; // A gets 5k, B 20k
    for (int side = 0; side < 2; ++side) {
        KcpEngine &e = sim.engine(side);
        for (int i = 0; i < plan[side]; ++i) {
            Bytes d = fuzzDatagram(rng, corpus, kConv, rcvNxt[side]);
            defuse(d, rcvNxt[side], e.receiveWindow());
            if (checkedInput(e, d, sim.clock(), problem) == KcpInputResult::Ok)
                ++accepted[side];
            if (i % 16 == 15) {
                const kcptest::Outcome step = sim.runUntil(sim.now() + 1);
                ASSERT_TRUE(step.finished) << step.why << "\n" << sim.describe();
            }
        }
    }
    EXPECT_EQ(problem, "");
    std::printf("[   fuzz   ] accepted A:%llu/5000 B:%llu/20000; malformed A:%llu B:%llu, wrong conv A:%llu B:%llu\n",
                static_cast<unsigned long long>(accepted[0]), static_cast<unsigned long long>(accepted[1]),
                static_cast<unsigned long long>(sim.a().stats().malformedDatagrams),
                static_cast<unsigned long long>(sim.b().stats().malformedDatagrams),
                static_cast<unsigned long long>(sim.a().stats().wrongConvDatagrams),
                static_cast<unsigned long long>(sim.b().stats().wrongConvDatagrams));
    EXPECT_GT(accepted[0], 100u);
    EXPECT_GT(accepted[1], 500u);
    EXPECT_EQ(sim.dataErrors(0), 0u) << sim.firstDataError(0);
    EXPECT_EQ(sim.dataErrors(1), 0u) << sim.firstDataError(1);
    for (int side = 0; side < 2; ++side) {
        EXPECT_EQ(sim.engine(side).peekSize(), -1) << "fuzz data was delivered";
        EXPECT_EQ(sim.engine(side).stats().receiveBuffer, 0u) << "fuzz data was buffered";
    }

    // The session still carries data both ways, over a lossy link, byte-exact.
    kcptest::Impairment lossy;
    lossy.delayMs = 5;
    lossy.lossPct = 5;
    sim.link().setImpairment(0, lossy);
    sim.link().setImpairment(1, lossy);
    sim.extend(0, 64 * 1024);
    sim.extend(1, 16 * 1024);
    o = sim.run();
    ASSERT_TRUE(o.finished) << o.why << "\n" << sim.describe();
    EXPECT_EQ(sim.bytesRead(1), 128u * 1024);
    EXPECT_EQ(sim.bytesRead(0), 32u * 1024);
    EXPECT_EQ(sim.checkViolations(), 0u) << sim.firstCheckViolation();
}
