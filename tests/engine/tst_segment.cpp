// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Golden vectors: the segment header codec and what a real engine puts on the wire, byte for byte.
// Every expected byte below is written by hand from the little-endian layout
//   conv u32 | cmd u8 | frg u8 | wnd u16 | ts u32 | sn u32 | una u32 | len u32
// so a change of byte order, field order or segment packing shows up here first.
#include "kcpengine.h"
#include "kcpsegment.h"
#include "simlink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

using namespace kcpnet;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::uint32_t kConv = 0x01020304; // on the wire: 04 03 02 01

// "04030201 51 02" -> bytes; spaces are ignored.
Bytes hex(const std::string &s)
{
    Bytes out;
    int hi = -1;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c)))
            continue;
        const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
            hi = -1;
        }
    }
    EXPECT_EQ(hi, -1) << "odd number of hex digits in " << s;
    return out;
}

std::string toHex(const Bytes &b, std::size_t max = 64)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < b.size() && i < max; ++i) {
        if (i && i % 4 == 0)
            s += ' ';
        s += digits[b[i] >> 4];
        s += digits[b[i] & 15];
    }
    if (b.size() > max)
        s += " ...";
    return s;
}

Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const Bytes &p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes slice(const Bytes &b, std::size_t from, std::size_t n)
{
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(from + n));
}

struct Capture {
    std::vector<Bytes> out;
    KcpEngine::Output sink()
    {
        return [this](const std::uint8_t *d, std::size_t n) { out.emplace_back(d, d + n); };
    }
};

Bytes pattern(std::size_t n, unsigned mul, unsigned add)
{
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(i * mul + add);
    return b;
}

// A sender with congestion control off (so the first flush may send a whole window) and MTU 100 (MSS 76).
void makeSmallMtuSender(KcpEngine &e)
{
    e.setNoDelay(0, 100, 0, true);
    ASSERT_TRUE(e.setMtu(100));
    ASSERT_EQ(e.mss(), 76u);
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// Codec

TEST(EngineSegment, EncodeKnownHeaderByteForByte)
{
    KcpSegmentHeader h;
    h.conv = 0x04030201;
    h.cmd = 81;
    h.frg = 0x7F;
    h.wnd = 0xABCD;
    h.ts = 0x11223344;
    h.sn = 0xDEADBEEF;
    h.una = 0x00000001;
    h.len = 0x00000400;
    std::uint8_t buf[32];
    std::memset(buf, 0xEE, sizeof buf);
    EXPECT_EQ(encodeKcpHeader(h, buf), 24u);
    EXPECT_EQ(Bytes(buf, buf + 24), hex("01020304 51 7f cdab 44332211 efbeadde 01000000 00040000"));
    for (std::size_t i = 24; i < sizeof buf; ++i)
        EXPECT_EQ(buf[i], 0xEE) << "encode wrote past the header at " << i;
}

TEST(EngineSegment, DecodeKnownHeader)
{
    // An ACK: conv 0xCAFEBABE, frg 0, wnd 300, ts 4000000000, sn 65536, una 65537, len 0.
    const Bytes b = hex("bebafeca 52 00 2c01 00286bee 00000100 01000100 00000000");
    ASSERT_EQ(b.size(), 24u);
    const KcpSegmentHeader h = decodeKcpHeader(b.data());
    EXPECT_EQ(h.conv, 0xCAFEBABEu);
    EXPECT_EQ(h.cmd, static_cast<std::uint8_t>(KcpCommand::Ack));
    EXPECT_EQ(h.frg, 0u);
    EXPECT_EQ(h.wnd, 300u);
    EXPECT_EQ(h.ts, 4000000000u);
    EXPECT_EQ(h.sn, 65536u);
    EXPECT_EQ(h.una, 65537u);
    EXPECT_EQ(h.len, 0u);
    EXPECT_EQ(kcpConvOf(b.data(), b.size()), 0xCAFEBABEu);
    EXPECT_EQ(kcpConvOf(b.data(), 3), 0u);
}

TEST(EngineSegment, RoundTripRandomHeaders)
{
    kcptest::Rng rng(20260101);
    for (int i = 0; i < 2000; ++i) {
        KcpSegmentHeader h;
        h.conv = static_cast<std::uint32_t>(rng.next());
        h.cmd = rng.byte();
        h.frg = rng.byte();
        h.wnd = static_cast<std::uint16_t>(rng.next());
        h.ts = static_cast<std::uint32_t>(rng.next());
        h.sn = static_cast<std::uint32_t>(rng.next());
        h.una = static_cast<std::uint32_t>(rng.next());
        h.len = static_cast<std::uint32_t>(rng.next());
        std::uint8_t buf[24];
        encodeKcpHeader(h, buf);
        // Independent little-endian check of two fields.
        EXPECT_EQ(buf[6] | (buf[7] << 8), h.wnd);
        EXPECT_EQ(static_cast<std::uint32_t>(buf[20]) | (static_cast<std::uint32_t>(buf[23]) << 24),
                  (h.len & 0xFFu) | (h.len & 0xFF000000u));
        const KcpSegmentHeader d = decodeKcpHeader(buf);
        ASSERT_EQ(d.conv, h.conv);
        ASSERT_EQ(d.cmd, h.cmd);
        ASSERT_EQ(d.frg, h.frg);
        ASSERT_EQ(d.wnd, h.wnd);
        ASSERT_EQ(d.ts, h.ts);
        ASSERT_EQ(d.sn, h.sn);
        ASSERT_EQ(d.una, h.una);
        ASSERT_EQ(d.len, h.len);
    }
}

TEST(EngineSegment, ConstantsAndWrappingArithmetic)
{
    EXPECT_EQ(kKcpHeaderSize, 24u);
    EXPECT_EQ(static_cast<int>(KcpCommand::Push), 81);
    EXPECT_EQ(static_cast<int>(KcpCommand::Ack), 82);
    EXPECT_EQ(static_cast<int>(KcpCommand::WindowAsk), 83);
    EXPECT_EQ(static_cast<int>(KcpCommand::WindowTell), 84);
    EXPECT_EQ(kcpDiff(0, 0xFFFFFFFFu), 1);
    EXPECT_EQ(kcpDiff(0xFFFFFFFFu, 0), -1);
    EXPECT_EQ(kcpDiff(5, 0xFFFFFFF0u), 21);
    EXPECT_EQ(kcpDiff(0x80000000u, 0), INT32_MIN);
    EXPECT_EQ(kcpDiff(0x7FFFFFFFu, 0), INT32_MAX);
    std::uint8_t b[4];
    kcpPutU16(b, 0x1234);
    EXPECT_EQ(b[0], 0x34);
    EXPECT_EQ(b[1], 0x12);
    EXPECT_EQ(kcpGetU16(b), 0x1234);
    kcpPutU32(b, 0x89ABCDEFu);
    EXPECT_EQ(Bytes(b, b + 4), hex("efcdab89"));
    EXPECT_EQ(kcpGetU32(b), 0x89ABCDEFu);
}

TEST(EngineSegment, TestSupportChecksumAndWalker)
{
    const std::string check = "123456789";
    EXPECT_EQ(kcptest::crc32(reinterpret_cast<const std::uint8_t *>(check.data()), check.size()), 0xCBF43926u);
    const Bytes two = concat({hex("04030201 52 00 8000 00000000 05000000 00000000 00000000"),
                              hex("04030201 51 00 8000 00000000 00000000 00000000 02000000 aabb")});
    const kcptest::Walk w = kcptest::walkSegments(two.data(), two.size());
    ASSERT_TRUE(w.complete);
    ASSERT_EQ(w.segments.size(), 2u);
    EXPECT_EQ(w.segments[0].header.sn, 5u);
    EXPECT_EQ(w.segments[1].offset, 24u);
    EXPECT_EQ(w.segments[1].header.len, 2u);
    EXPECT_FALSE(kcptest::walkSegments(two.data(), two.size() - 1).complete);
}

// ---------------------------------------------------------------------------------------------------------
// The engine on the wire

TEST(EngineGolden, MessageFragmentsCountDownOnTheWire)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    makeSmallMtuSender(a);
    const Bytes msg = pattern(200, 7, 3); // 200 bytes = 76 + 76 + 48 with MSS 76
    ASSERT_EQ(a.send(msg.data(), 200), 200);
    EXPECT_EQ(a.waitSnd(), 3u);
    a.flush(0x00012345);

    // Each segment is 24 + 76 = 100 bytes = the MTU, so each travels alone; the last is 24 + 48 = 72.
    ASSERT_EQ(cap.out.size(), 3u);
    const Bytes expected[3] = {
        concat({hex("04030201 51 02 8000 45230100 00000000 00000000 4c000000"), slice(msg, 0, 76)}),
        concat({hex("04030201 51 01 8000 45230100 01000000 00000000 4c000000"), slice(msg, 76, 76)}),
        concat({hex("04030201 51 00 8000 45230100 02000000 00000000 30000000"), slice(msg, 152, 48)}),
    };
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(cap.out[i], expected[i]) << "datagram " << i << ": got " << toHex(cap.out[i]) << "\nexpected "
                                           << toHex(expected[i]);

    const KcpEngineStats st = a.stats();
    EXPECT_EQ(st.datagramsSent, 3u);
    EXPECT_EQ(st.wireBytesSent, 272u);
    EXPECT_EQ(st.segmentsSent, 3u);
    EXPECT_EQ(st.bytesSent, 200u);
    EXPECT_EQ(st.inFlight, 3u);
    EXPECT_EQ(st.sendBuffer, 3u);
    EXPECT_EQ(st.sendQueue, 0u);
    EXPECT_EQ(a.waitSnd(), 3u); // sent but unacknowledged
}

TEST(EngineGolden, SingleMssMessageIsOneSegmentAndEmptyMessageIsOneEmptySegment)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    makeSmallMtuSender(a);
    const Bytes msg = pattern(76, 3, 1);
    ASSERT_EQ(a.send(msg.data(), 76), 76);
    ASSERT_EQ(a.send(msg.data(), 0), 0);
    EXPECT_EQ(a.waitSnd(), 2u);
    a.flush(7);
    ASSERT_EQ(cap.out.size(), 2u); // 100 bytes fill the MTU; the 24-byte empty segment goes next
    EXPECT_EQ(cap.out[0], concat({hex("04030201 51 00 8000 07000000 00000000 00000000 4c000000"), msg}));
    EXPECT_EQ(cap.out[1], hex("04030201 51 00 8000 07000000 01000000 00000000 00000000"));
}

TEST(EngineGolden, SmallSegmentsCoalesceUpToTheMtu)
{
    const Bytes m1 = pattern(10, 1, 0x10), m2 = pattern(10, 1, 0x20), m3 = pattern(10, 1, 0x30);
    const Bytes s1 = concat({hex("04030201 51 00 8000 88130000 00000000 00000000 0a000000"), m1});
    const Bytes s2 = concat({hex("04030201 51 00 8000 88130000 01000000 00000000 0a000000"), m2});
    const Bytes s3 = concat({hex("04030201 51 00 8000 88130000 02000000 00000000 0a000000"), m3});
    {
        // MTU 100: 34 + 34 = 68 fits, a third 34 would make 102 > 100.
        Capture cap;
        KcpEngine a(kConv, cap.sink());
        makeSmallMtuSender(a);
        ASSERT_EQ(a.send(m1.data(), 10), 10);
        ASSERT_EQ(a.send(m2.data(), 10), 10);
        ASSERT_EQ(a.send(m3.data(), 10), 10);
        a.flush(5000);
        ASSERT_EQ(cap.out.size(), 2u);
        EXPECT_EQ(cap.out[0], concat({s1, s2})) << toHex(cap.out[0]);
        EXPECT_EQ(cap.out[1], s3) << toHex(cap.out[1]);
    }
    {
        // MTU 102: exactly three segments.
        Capture cap;
        KcpEngine a(kConv, cap.sink());
        a.setNoDelay(0, 100, 0, true);
        ASSERT_TRUE(a.setMtu(102));
        ASSERT_EQ(a.send(m1.data(), 10), 10);
        ASSERT_EQ(a.send(m2.data(), 10), 10);
        ASSERT_EQ(a.send(m3.data(), 10), 10);
        a.flush(5000);
        ASSERT_EQ(cap.out.size(), 1u);
        EXPECT_EQ(cap.out[0], concat({s1, s2, s3}));
    }
}

TEST(EngineGolden, StreamModeFillsSegmentsToMssWithFrgZero)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    a.setStreamMode(true);
    makeSmallMtuSender(a);
    const Bytes data = pattern(200, 13, 5);
    ASSERT_EQ(a.send(data.data(), 100), 100);
    ASSERT_EQ(a.send(data.data() + 100, 100), 100);
    EXPECT_EQ(a.waitSnd(), 3u); // 76 + 76 + 48: the second write tops up the 24-byte tail
    a.flush(0xFFFFFFFFu);
    ASSERT_EQ(cap.out.size(), 3u);
    EXPECT_EQ(cap.out[0], concat({hex("04030201 51 00 8000 ffffffff 00000000 00000000 4c000000"), slice(data, 0, 76)}));
    EXPECT_EQ(cap.out[1], concat({hex("04030201 51 00 8000 ffffffff 01000000 00000000 4c000000"), slice(data, 76, 76)}));
    EXPECT_EQ(cap.out[2], concat({hex("04030201 51 00 8000 ffffffff 02000000 00000000 30000000"), slice(data, 152, 48)}));
}

namespace {

// A sends a 200-byte message in three fragments at t = 0x12345; returns the datagrams and the message.
std::vector<Bytes> threeFragments(Bytes &msg)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    makeSmallMtuSender(a);
    msg = pattern(200, 7, 3);
    EXPECT_EQ(a.send(msg.data(), 200), 200);
    a.flush(0x00012345);
    EXPECT_EQ(cap.out.size(), 3u);
    return cap.out;
}

} // namespace

TEST(EngineGolden, AckEchoesSnAndTsAndCarriesUnaAndWindow)
{
    Capture capA, capB;
    KcpEngine a(kConv, capA.sink());
    makeSmallMtuSender(a);
    KcpEngine b(kConv, capB.sink());
    b.setNoDelay(0, 100, 0, true);
    const Bytes msg = pattern(200, 7, 3);
    ASSERT_EQ(a.send(msg.data(), 200), 200);
    a.flush(0x00012345);
    ASSERT_EQ(capA.out.size(), 3u);

    for (const Bytes &d : capA.out)
        ASSERT_EQ(b.input(d.data(), d.size(), 0x00012350), KcpInputResult::Ok);
    EXPECT_EQ(b.stats().pendingAcks, 3u);
    EXPECT_EQ(b.stats().segmentsReceived, 3u);
    EXPECT_EQ(b.stats().bytesReceived, 200u);
    EXPECT_EQ(b.stats().datagramsReceived, 3u);
    EXPECT_EQ(b.stats().wireBytesReceived, 272u);
    b.flush(0x00012350);

    // Three ACKs in one datagram: ts and sn echo each PUSH, una = rcv_nxt = 3,
    // wnd = 128 - 3 (the message waits in the receive queue, unread).
    ASSERT_EQ(capB.out.size(), 1u);
    const Bytes expected = concat({hex("04030201 52 00 7d00 45230100 00000000 03000000 00000000"),
                                   hex("04030201 52 00 7d00 45230100 01000000 03000000 00000000"),
                                   hex("04030201 52 00 7d00 45230100 02000000 03000000 00000000")});
    EXPECT_EQ(capB.out[0], expected) << "got " << toHex(capB.out[0], 72) << "\nexpected " << toHex(expected, 72);
    EXPECT_EQ(b.stats().acksSent, 3u);
    EXPECT_EQ(b.stats().pendingAcks, 0u);

    Bytes got(300);
    EXPECT_EQ(b.peekSize(), 200);
    ASSERT_EQ(b.recv(got.data(), 300), 200);
    got.resize(200);
    EXPECT_EQ(got, msg);

    // The ACKs close the sender's window; each one is an RTT sample of 0x12350 - 0x12345 = 11 ms.
    ASSERT_EQ(a.input(capB.out[0].data(), capB.out[0].size(), 0x00012350), KcpInputResult::Ok);
    EXPECT_EQ(a.waitSnd(), 0u);
    const KcpEngineStats st = a.stats();
    EXPECT_EQ(st.acksReceived, 3u);
    EXPECT_EQ(st.rttSamples, 3u);
    EXPECT_EQ(st.srtt, 11u);
    EXPECT_EQ(st.inFlight, 0u);
    EXPECT_EQ(st.remoteWindow, 125u);
    EXPECT_EQ(st.rto, std::max(a.minRto(), st.srtt + std::max(a.interval(), 4 * st.rttvar)));
}

TEST(EngineGolden, AcksCoalesceUpToTheMtu)
{
    Bytes msg;
    const std::vector<Bytes> dgrams = threeFragments(msg);
    Capture capB;
    KcpEngine b(kConv, capB.sink());
    ASSERT_TRUE(b.setMtu(50)); // two ACKs (48 bytes) fit, a third would need 72
    for (const Bytes &d : dgrams)
        ASSERT_EQ(b.input(d.data(), d.size(), 0x00012350), KcpInputResult::Ok);
    b.flush(0x00012350);
    ASSERT_EQ(capB.out.size(), 2u);
    EXPECT_EQ(capB.out[0], concat({hex("04030201 52 00 7d00 45230100 00000000 03000000 00000000"),
                                   hex("04030201 52 00 7d00 45230100 01000000 03000000 00000000")}));
    EXPECT_EQ(capB.out[1], hex("04030201 52 00 7d00 45230100 02000000 03000000 00000000"));
}

TEST(EngineGolden, AcksAndPushShareOneDatagram)
{
    Bytes msg;
    const std::vector<Bytes> dgrams = threeFragments(msg);
    const Bytes reply = pattern(10, 5, 9);
    const Bytes acks = concat({hex("04030201 52 00 7d00 45230100 00000000 03000000 00000000"),
                               hex("04030201 52 00 7d00 45230100 01000000 03000000 00000000"),
                               hex("04030201 52 00 7d00 45230100 02000000 03000000 00000000")});
    // B's own PUSH: sn 0, una 3 (what B received), wnd 125, ts = B's flush time 0x00012360.
    const Bytes push = concat({hex("04030201 51 00 7d00 60230100 00000000 03000000 0a000000"), reply});
    for (std::uint32_t mtu : {1400u, 106u, 105u}) {
        SCOPED_TRACE("B's MTU " + std::to_string(mtu));
        Capture capB;
        KcpEngine b(kConv, capB.sink());
        b.setNoDelay(0, 100, 0, true);
        ASSERT_TRUE(b.setMtu(mtu));
        for (const Bytes &d : dgrams)
            ASSERT_EQ(b.input(d.data(), d.size(), 0x00012350), KcpInputResult::Ok);
        ASSERT_EQ(b.send(reply.data(), 10), 10);
        b.flush(0x00012360);
        if (mtu >= 106) { // 72 + 34 = 106
            ASSERT_EQ(capB.out.size(), 1u);
            EXPECT_EQ(capB.out[0], concat({acks, push})) << toHex(capB.out[0], 110);
        } else {
            ASSERT_EQ(capB.out.size(), 2u);
            EXPECT_EQ(capB.out[0], acks);
            EXPECT_EQ(capB.out[1], push);
        }
    }
}

TEST(EngineGolden, RetransmissionCarriesFreshTsUnaAndWindow)
{
    Capture cap;
    KcpEngine a(kConv, cap.sink());
    a.setNoDelay(0, 100, 0, true);
    const Bytes msg = pattern(5, 1, 0x41);
    ASSERT_EQ(a.send(msg.data(), 5), 5);
    a.flush(0);
    ASSERT_EQ(cap.out.size(), 1u);
    EXPECT_EQ(cap.out[0], concat({hex("04030201 51 00 8000 00000000 00000000 00000000 05000000"), msg}));

    // The peer's first PUSH arrives (sn 0, 3 bytes): A's rcv_nxt becomes 1 and its window 127.
    const Bytes peer = concat({hex("04030201 51 00 8000 32000000 00000000 00000000 03000000"), pattern(3, 1, 0x61)});
    ASSERT_EQ(a.input(peer.data(), peer.size(), 100), KcpInputResult::Ok);
    a.flush(100);
    ASSERT_EQ(cap.out.size(), 2u);
    EXPECT_EQ(cap.out[1], hex("04030201 52 00 7f00 32000000 00000000 01000000 00000000")) << toHex(cap.out[1]);

    a.flush(199); // the initial RTO is 200 ms: nothing is due yet
    ASSERT_EQ(cap.out.size(), 2u);

    // The retransmission: same sn, frg, len and payload; ts = now (300 = 0x12c), una and wnd of the moment.
    a.flush(300);
    ASSERT_EQ(cap.out.size(), 3u);
    EXPECT_EQ(cap.out[2], concat({hex("04030201 51 00 7f00 2c010000 00000000 01000000 05000000"), msg}))
        << toHex(cap.out[2]);
    EXPECT_EQ(a.stats().retransmitsTimeout, 1u);
    EXPECT_EQ(a.stats().segmentsSent, 2u);
    EXPECT_EQ(a.stats().bytesSent, 5u) << "bytesSent counts first transmissions only";
}

TEST(EngineGolden, WindowAskIsAnsweredWithWindowTell)
{
    Capture cap;
    KcpEngine b(kConv, cap.sink());
    // WASK from the peer, announcing its own window of 32.
    const Bytes wask = hex("04030201 53 00 2000 00000000 00000000 00000000 00000000");
    ASSERT_EQ(b.input(wask.data(), wask.size(), 1000), KcpInputResult::Ok);
    EXPECT_EQ(b.remoteWindow(), 32u);
    b.flush(1000);
    ASSERT_EQ(cap.out.size(), 1u);
    ASSERT_EQ(cap.out[0].size(), 24u);
    // ts and sn of a WINS carry no meaning (ikcp leaves whatever its ACK loop wrote there): not compared.
    Bytes got = cap.out[0];
    std::fill(got.begin() + 8, got.begin() + 16, 0);
    EXPECT_EQ(got, hex("04030201 54 00 8000 00000000 00000000 00000000 00000000")) << toHex(cap.out[0]);
    EXPECT_EQ(b.stats().windowUpdatesSent, 1u);
    EXPECT_EQ(b.stats().windowProbesSent, 0u);
}
