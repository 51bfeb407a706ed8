// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpHandshakeResponder (kcphandshake.h): the server's stateless answer to datagrams of no session.
// Cookies bound to address, port, conv, nonce and time; version and mode checks; rate-limited RESETs;
// robustness against garbage; and no per-client memory (checked with a counting global operator new).
#include "kcphandshake.h"
#include "kcpsessionpacket.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <set>
#include <vector>

// ---- Allocation counter: every operator new in this test program goes through here. ----
namespace {
std::size_t g_allocations = 0;
}

// noinline: once inlined into a caller, GCC 12 pairs the caller's `new` with our free() and warns
// (-Wmismatched-new-delete) although they match.
__attribute__((noinline)) void *operator new(std::size_t size)
{
    ++g_allocations;
    if (void *p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}

__attribute__((noinline)) void *operator new[](std::size_t size)
{
    ++g_allocations;
    if (void *p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}

__attribute__((noinline)) void operator delete(void *p) noexcept
{
    std::free(p);
}

__attribute__((noinline)) void operator delete[](void *p) noexcept
{
    std::free(p);
}

__attribute__((noinline)) void operator delete(void *p, std::size_t) noexcept
{
    std::free(p);
}

__attribute__((noinline)) void operator delete[](void *p, std::size_t) noexcept
{
    std::free(p);
}

using namespace kcpnet;

namespace {

using Bytes = std::vector<std::uint8_t>;
using Action = KcpHandshakeResponder::Action;
using Outcome = KcpHandshakeResponder::Outcome;

const std::uint8_t kKey[16] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
                               0x98, 0xA9, 0xBA, 0xCB, 0xDC, 0xED, 0xFE, 0x0F};

KcpPeerAddress ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port)
{
    KcpPeerAddress addr;
    addr.ip[10] = 0xFF;
    addr.ip[11] = 0xFF;
    addr.ip[12] = a;
    addr.ip[13] = b;
    addr.ip[14] = c;
    addr.ip[15] = d;
    addr.port = port;
    return addr;
}

Bytes helloDatagram(std::uint64_t nonce, std::uint8_t flags = kSessionFlagStream,
                    std::uint8_t version = kSessionVersion)
{
    SessionHello h;
    h.version = version;
    h.flags = flags;
    h.nonce = nonce;
    std::uint8_t buf[kSessionMaxControlSize];
    const std::size_t n = encodeHello(h, buf);
    return Bytes(buf, buf + n);
}

Bytes confirmDatagram(const SessionConfirm &c)
{
    std::uint8_t buf[kSessionMaxControlSize];
    const std::size_t n = encodeConfirm(c, buf);
    return Bytes(buf, buf + n);
}

Bytes sealed(Bytes body)
{
    body.resize(body.size() + kSessionTrailerSize);
    sessionSeal(body.data(), body.size() - kSessionTrailerSize);
    return body;
}

// A plain KCP segment (24-byte header, optional payload) for `conv`, sealed.
Bytes kcpDatagram(std::uint32_t conv, std::uint8_t cmd, std::size_t payload = 0)
{
    Bytes d(24 + payload, 0);
    d[0] = static_cast<std::uint8_t>(conv);
    d[1] = static_cast<std::uint8_t>(conv >> 8);
    d[2] = static_cast<std::uint8_t>(conv >> 16);
    d[3] = static_cast<std::uint8_t>(conv >> 24);
    d[4] = cmd;
    d[6] = 0x00;
    d[7] = 0x01; // wnd 256
    d[20] = static_cast<std::uint8_t>(payload);
    d[21] = static_cast<std::uint8_t>(payload >> 8);
    return sealed(d);
}

std::uint64_t sumOfOutcomeCounters(const KcpHandshakeCounters &c)
{
    // Every handled datagram lands in exactly one of these.
    return c.hellos + c.confirms + c.badCookies + c.rejects + c.notAccepting + c.checksum + c.malformed
        + c.unknownConv + c.ignored + c.authFailures + c.replayedConfirms;
}

class SessionResponder : public ::testing::Test
{
protected:
    static KcpHandshakeResponder::Settings defaults()
    {
        KcpHandshakeResponder::Settings s;
        s.streamMode = true;
        s.peerTimeoutMs = 12000;
        s.keepaliveMs = 4000;
        s.cookieLifetimeMs = 30000;
        s.resetsPerSecond = 100;
        return s;
    }

    Outcome handle(const Bytes &d, const KcpPeerAddress &from, std::uint32_t now)
    {
        return responder.handle(d.data(), d.size(), from, now);
    }

    // HELLO from `from` at `now`; returns the decoded ACCEPT (the test fails if there is none).
    SessionAccept acceptFor(std::uint64_t nonce, const KcpPeerAddress &from, std::uint32_t now)
    {
        const Outcome o = handle(helloDatagram(nonce), from, now);
        SessionAccept a;
        EXPECT_EQ(o.action, Action::Reply);
        const std::size_t n = sessionVerify(o.reply, o.replySize);
        EXPECT_EQ(n, kSessionAcceptSize - kSessionTrailerSize);
        EXPECT_TRUE(decodeAccept(o.reply, n, a));
        return a;
    }

    static SessionConfirm confirmOf(const SessionAccept &a)
    {
        SessionConfirm c;
        c.conv = a.conv;
        c.nonce = a.nonce;
        c.issued = a.issued;
        c.cookie = a.cookie;
        return c;
    }

    KcpHandshakeResponder responder {defaults(), kKey};
    const KcpPeerAddress alice = ipv4(192, 0, 2, 1, 40000);
    const std::uint32_t t0 = 500000;
};

} // namespace

TEST_F(SessionResponder, HelloGetsAcceptEchoingTheNonce)
{
    const Outcome o = handle(helloDatagram(0x1122334455667788ull), alice, t0);
    ASSERT_EQ(o.action, Action::Reply);
    ASSERT_EQ(o.replySize, kSessionAcceptSize);
    const std::size_t n = sessionVerify(o.reply, o.replySize);
    ASSERT_EQ(n, kSessionAcceptSize - kSessionTrailerSize);
    SessionAccept a;
    ASSERT_TRUE(decodeAccept(o.reply, n, a));
    EXPECT_NE(a.conv, 0u);
    EXPECT_EQ(a.nonce, 0x1122334455667788ull);
    EXPECT_EQ(a.version, kSessionVersion);
    EXPECT_EQ(a.flags, kSessionFlagStream);
    EXPECT_EQ(a.issued, t0);
    EXPECT_EQ(a.peerTimeoutMs, 12000u);
    EXPECT_EQ(a.keepaliveMs, 4000u);
    EXPECT_EQ(responder.counters().hellos, 1u);
    EXPECT_EQ(sumOfOutcomeCounters(responder.counters()), 1u);
}

TEST_F(SessionResponder, EveryHelloGetsAFreshConv)
{
    std::set<std::uint32_t> convs;
    for (int i = 0; i < 1000; ++i) {
        const SessionAccept a = acceptFor(7, alice, t0); // the same HELLO retransmitted
        EXPECT_NE(a.conv, 0u);
        convs.insert(a.conv);
    }
    EXPECT_EQ(convs.size(), 1000u);
}

TEST_F(SessionResponder, ConfirmFromTheAcceptIsAccepted)
{
    const SessionAccept a = acceptFor(99, alice, t0);
    const Outcome o = handle(confirmDatagram(confirmOf(a)), alice, t0 + 40);
    EXPECT_EQ(o.action, Action::Accept);
    EXPECT_EQ(o.conv, a.conv);
    EXPECT_EQ(o.nonce, 99u);
    EXPECT_EQ(o.replySize, 0u);
    EXPECT_EQ(responder.counters().confirms, 1u);
    EXPECT_EQ(responder.counters().badCookies, 0u);
    // A session is created once per HELLO: the same CONFIRM again (a replay after the session ended; while it
    // lives, the caller routes its retransmissions to it) is dropped and counted.
    EXPECT_EQ(handle(confirmDatagram(confirmOf(a)), alice, t0 + 80).action, Action::Drop);
    EXPECT_EQ(responder.counters().replayedConfirms, 1u);
}

TEST_F(SessionResponder, ConfirmFromAnotherAddressOrPortIsDropped)
{
    const SessionAccept a = acceptFor(99, alice, t0);
    const Bytes confirm = confirmDatagram(confirmOf(a));
    KcpPeerAddress otherPort = alice;
    otherPort.port = static_cast<std::uint16_t>(alice.port + 1);
    const KcpPeerAddress otherIp = ipv4(192, 0, 2, 2, alice.port);
    KcpPeerAddress ipv6 = alice;
    ipv6.ip[10] = 0; // same low 32 bits, not a v4-mapped address any more
    ipv6.ip[0] = 0x20;
    for (const KcpPeerAddress &from : {otherPort, otherIp, ipv6}) {
        const Outcome o = handle(confirm, from, t0 + 40);
        EXPECT_EQ(o.action, Action::Drop);
        EXPECT_EQ(o.replySize, 0u);
    }
    EXPECT_EQ(responder.counters().badCookies, 3u);
    EXPECT_EQ(responder.counters().confirms, 0u);
    EXPECT_EQ(handle(confirm, alice, t0 + 40).action, Action::Accept);
}

TEST_F(SessionResponder, AlteredConfirmIsDropped)
{
    const SessionAccept a = acceptFor(0xABCDEFull, alice, t0);
    const SessionConfirm good = confirmOf(a);
    std::vector<SessionConfirm> forged;
    SessionConfirm c = good;
    c.conv ^= 1;
    forged.push_back(c);
    c = good;
    c.conv ^= 0x80000000u;
    forged.push_back(c);
    c = good;
    c.nonce ^= 1;
    forged.push_back(c);
    c = good;
    c.issued -= 1; // older, still within the lifetime
    forged.push_back(c);
    c = good;
    c.issued += 1;
    forged.push_back(c);
    c = good;
    c.cookie ^= 1;
    forged.push_back(c);
    c = good;
    c.cookie ^= 0x8000000000000000ull;
    forged.push_back(c);
    for (const SessionConfirm &f : forged) {
        const Outcome o = handle(confirmDatagram(f), alice, t0 + 100);
        EXPECT_EQ(o.action, Action::Drop);
        EXPECT_EQ(o.replySize, 0u);
    }
    EXPECT_EQ(responder.counters().badCookies, forged.size());
    EXPECT_EQ(responder.counters().confirms, 0u);
}

TEST_F(SessionResponder, CookieFromAnotherServerKeyIsDropped)
{
    // A server restart (new key) invalidates cookies in flight.
    std::uint8_t otherKey[16];
    std::memcpy(otherKey, kKey, sizeof otherKey);
    otherKey[15] ^= 1;
    KcpHandshakeResponder other(defaults(), otherKey);
    const Outcome o = other.handle(helloDatagram(5).data(), kSessionHelloSize, alice, t0);
    SessionAccept a;
    ASSERT_TRUE(decodeAccept(o.reply, sessionVerify(o.reply, o.replySize), a));
    EXPECT_EQ(handle(confirmDatagram(confirmOf(a)), alice, t0 + 10).action, Action::Drop);
    EXPECT_EQ(responder.counters().badCookies, 1u);
}

TEST_F(SessionResponder, CookieExpires)
{
    const std::uint32_t lifetime = defaults().cookieLifetimeMs;
    const SessionAccept a = acceptFor(1, alice, t0);
    const Bytes confirm = confirmDatagram(confirmOf(a));
    EXPECT_EQ(handle(confirm, alice, t0 + lifetime).action, Action::Accept); // exactly at the limit: still valid
    EXPECT_EQ(handle(confirm, alice, t0 + lifetime + 1).action, Action::Drop);
    EXPECT_EQ(handle(confirm, alice, t0 + 10 * lifetime).action, Action::Drop);
    EXPECT_EQ(handle(confirm, alice, t0 - 1).action, Action::Drop); // issued "in the future"
    EXPECT_EQ(responder.counters().badCookies, 3u);
    EXPECT_EQ(responder.counters().confirms, 1u);
}

TEST_F(SessionResponder, CookieLifetimeAcrossClockWrap)
{
    const std::uint32_t start = 0xFFFFFF00u;
    const SessionAccept a = acceptFor(1, alice, start);
    const Bytes confirm = confirmDatagram(confirmOf(a));
    EXPECT_EQ(handle(confirm, alice, start + 1000u).action, Action::Accept); // now has wrapped past 0
    EXPECT_EQ(handle(confirm, alice, start + defaults().cookieLifetimeMs + 1u).action, Action::Drop);
}

TEST_F(SessionResponder, WrongVersionIsRejected)
{
    for (std::uint8_t version : {std::uint8_t(0), std::uint8_t(2), std::uint8_t(255)}) {
        const Outcome o = handle(helloDatagram(77, kSessionFlagStream, version), alice, t0);
        ASSERT_EQ(o.action, Action::Reply);
        ASSERT_EQ(o.replySize, kSessionRejectSize);
        SessionReject r;
        ASSERT_TRUE(decodeReject(o.reply, sessionVerify(o.reply, o.replySize), r));
        EXPECT_EQ(r.reason, static_cast<std::uint8_t>(SessionRejectReason::Version));
        EXPECT_EQ(r.version, kSessionVersion);
        EXPECT_EQ(r.nonce, 77u);
    }
    EXPECT_EQ(responder.counters().rejects, 3u);
    EXPECT_EQ(responder.counters().hellos, 0u);
}

TEST_F(SessionResponder, ModeMismatchIsRejected)
{
    Outcome o = handle(helloDatagram(78, 0 /* message mode */), alice, t0);
    ASSERT_EQ(o.action, Action::Reply);
    SessionReject r;
    ASSERT_TRUE(decodeReject(o.reply, sessionVerify(o.reply, o.replySize), r));
    EXPECT_EQ(r.reason, static_cast<std::uint8_t>(SessionRejectReason::Mode));
    EXPECT_EQ(r.nonce, 78u);

    KcpHandshakeResponder::Settings s = defaults();
    s.streamMode = false;
    responder.setSettings(s);
    o = handle(helloDatagram(79, kSessionFlagStream), alice, t0);
    ASSERT_TRUE(decodeReject(o.reply, sessionVerify(o.reply, o.replySize), r));
    EXPECT_EQ(r.reason, static_cast<std::uint8_t>(SessionRejectReason::Mode));
    // A message-mode HELLO is now welcome, and the ACCEPT says message mode.
    o = handle(helloDatagram(81, 0), alice, t0);
    SessionAccept m;
    ASSERT_TRUE(decodeAccept(o.reply, sessionVerify(o.reply, o.replySize), m));
    EXPECT_EQ(m.flags & kSessionFlagStream, 0);
}

TEST_F(SessionResponder, NotAcceptingDropsHelloAndConfirmSilently)
{
    const SessionAccept a = acceptFor(3, alice, t0);
    responder.setAccepting(false);
    EXPECT_FALSE(responder.isAccepting());
    Outcome o = handle(helloDatagram(4), alice, t0 + 10);
    EXPECT_EQ(o.action, Action::Drop);
    EXPECT_EQ(o.replySize, 0u);
    o = handle(confirmDatagram(confirmOf(a)), alice, t0 + 10);
    EXPECT_EQ(o.action, Action::Drop);
    EXPECT_EQ(responder.counters().notAccepting, 2u);
    EXPECT_EQ(responder.counters().confirms, 0u);
    responder.setAccepting(true);
    EXPECT_EQ(handle(confirmDatagram(confirmOf(a)), alice, t0 + 20).action, Action::Accept);
}

TEST_F(SessionResponder, UnknownConvDataGetsReset)
{
    for (std::uint8_t cmd : {81, 82, 83, 84}) {
        const Outcome o = handle(kcpDatagram(0x5EED0000u + cmd, cmd, cmd == 81 ? 100 : 0), alice, t0);
        ASSERT_EQ(o.action, Action::Reply) << int(cmd);
        const std::size_t n = sessionVerify(o.reply, o.replySize);
        ASSERT_EQ(n, kSessionResetSize - kSessionTrailerSize);
        SessionResetReason why {};
        ASSERT_TRUE(decodeReset(o.reply, n, why));
        EXPECT_EQ(why, SessionResetReason::UnknownConv);
        EXPECT_EQ(o.reply[0] | o.reply[1] << 8 | o.reply[2] << 16 | static_cast<std::uint32_t>(o.reply[3]) << 24,
                  0x5EED0000u + cmd);
    }
    std::uint8_t ping[kSessionMaxControlSize];
    const std::size_t pn = encodePing(0x1234u, SessionPacketType::Ping, 55, ping);
    const Outcome o = responder.handle(ping, pn, alice, t0);
    ASSERT_EQ(o.action, Action::Reply);
    SessionResetReason why {};
    ASSERT_TRUE(decodeReset(o.reply, sessionVerify(o.reply, o.replySize), why));
    EXPECT_EQ(why, SessionResetReason::UnknownConv);
    EXPECT_EQ(responder.counters().unknownConv, 5u);
    EXPECT_EQ(responder.counters().resetsSent, 5u);
    // conv 0 is never a session: no answer.
    EXPECT_EQ(handle(kcpDatagram(0, 81, 10), alice, t0).action, Action::Drop);
    EXPECT_EQ(responder.counters().malformed, 1u);
}

TEST_F(SessionResponder, ResetsAreRateLimitedPerSecond)
{
    KcpHandshakeResponder::Settings s = defaults();
    s.resetsPerSecond = 7;
    responder.setSettings(s);
    auto burst = [&](std::uint32_t now, int count) {
        int replies = 0;
        for (int i = 0; i < count; ++i)
            replies += handle(kcpDatagram(1000u + i, 81, 8), alice, now).action == Action::Reply;
        return replies;
    };
    EXPECT_EQ(burst(t0, 20), 7);
    EXPECT_EQ(responder.counters().resetsSent, 7u);
    EXPECT_EQ(responder.counters().resetsLimited, 13u);
    EXPECT_EQ(burst(t0 + 500, 5), 0);
    EXPECT_EQ(burst(t0 + 999, 5), 0);
    EXPECT_EQ(burst(t0 + 1000, 20), 7); // a new window
    EXPECT_EQ(burst(t0 + 1999, 3), 0);
    EXPECT_EQ(burst(t0 + 5000, 3), 3);
    EXPECT_EQ(responder.counters().resetsSent, 17u);
    EXPECT_EQ(responder.counters().resetsLimited, 13u + 5u + 5u + 13u + 3u);
    EXPECT_EQ(responder.counters().unknownConv, 17u + 13u + 5u + 5u + 13u + 3u);

    // Over a long run at a steady rate, never more than resetsPerSecond in any window the responder opened.
    int sent = 0;
    for (std::uint32_t ms = 0; ms < 10000; ms += 10)
        sent += burst(t0 + 10000 + ms, 1);
    EXPECT_EQ(sent, 70);

    s.resetsPerSecond = 0;
    responder.setSettings(s);
    EXPECT_EQ(burst(t0 + 60000, 5), 0);
}

TEST_F(SessionResponder, FinForUnknownConvGetsFinAck)
{
    std::uint8_t fin[kSessionMaxControlSize];
    const std::size_t n = encodeBare(0xFEEDu, SessionPacketType::Fin, fin);
    for (int i = 0; i < 300; ++i) { // not rate limited: the answer is no larger than the FIN
        const Outcome o = responder.handle(fin, n, alice, t0);
        ASSERT_EQ(o.action, Action::Reply);
        ASSERT_EQ(o.replySize, kSessionBareSize);
        ASSERT_EQ(sessionVerify(o.reply, o.replySize), 5u);
        EXPECT_EQ(o.reply[4], static_cast<std::uint8_t>(SessionPacketType::FinAck));
        EXPECT_EQ(o.reply[0] | o.reply[1] << 8, 0xFEED);
    }
    EXPECT_EQ(responder.counters().resetsSent, 0u);
}

TEST_F(SessionResponder, StrayControlPacketsAreIgnored)
{
    // No answer to answers: never RESET a RESET, never reply to ACCEPT/REJECT/PONG/FIN_ACK/CONFIRMED.
    std::uint8_t buf[kSessionMaxControlSize];
    std::vector<Bytes> strays;
    std::size_t n = encodeReset(9, SessionResetReason::Abort, buf);
    strays.emplace_back(buf, buf + n);
    n = encodePing(9, SessionPacketType::Pong, 1, buf);
    strays.emplace_back(buf, buf + n);
    n = encodeBare(9, SessionPacketType::FinAck, buf);
    strays.emplace_back(buf, buf + n);
    n = encodeBare(9, SessionPacketType::Confirmed, buf);
    strays.emplace_back(buf, buf + n);
    SessionAccept a;
    a.conv = 9;
    n = encodeAccept(a, buf);
    strays.emplace_back(buf, buf + n);
    strays.push_back(sealed({9, 0, 0, 0, 0x7F, 1, 2, 3}));
    for (const Bytes &d : strays) {
        const Outcome o = handle(d, alice, t0);
        EXPECT_EQ(o.action, Action::Drop) << sessionPacketTypeName(d[4]);
        EXPECT_EQ(o.replySize, 0u);
    }
    EXPECT_EQ(responder.counters().ignored, strays.size());
    // A REJECT is a server's packet: conv 0, so it is malformed here, and not answered either.
    n = encodeReject(SessionReject {}, buf);
    EXPECT_EQ(responder.handle(buf, n, alice, t0).action, Action::Drop);
}

TEST_F(SessionResponder, GarbageShortAndBadChecksumAreDroppedAndCounted)
{
    Bytes hello = helloDatagram(1);
    hello[20] ^= 0x04; // bad CRC
    EXPECT_EQ(handle(hello, alice, t0).action, Action::Drop);
    for (std::size_t len = 0; len < kSessionBareSize; ++len) {
        const Bytes shortOne(len, 0xA1);
        EXPECT_EQ(responder.handle(len ? shortOne.data() : nullptr, len, alice, t0).action, Action::Drop);
    }
    EXPECT_EQ(responder.counters().checksum, 1u + kSessionBareSize);

    // Well sealed, but not a valid HELLO / CONFIRM.
    const Bytes hello64 = helloDatagram(1);
    const Bytes shortHello = sealed(Bytes(hello64.begin(), hello64.begin() + 36));
    EXPECT_EQ(handle(shortHello, alice, t0).action, Action::Drop);
    Bytes badMagic = helloDatagram(1);
    badMagic.resize(60);
    badMagic[6] = 'X';
    EXPECT_EQ(handle(sealed(badMagic), alice, t0).action, Action::Drop);
    SessionConfirm zero;
    EXPECT_EQ(handle(confirmDatagram(zero), alice, t0).action, Action::Drop); // conv 0
    EXPECT_EQ(responder.counters().malformed, 3u);
    EXPECT_EQ(responder.counters().hellos, 0u);
    EXPECT_EQ(sumOfOutcomeCounters(responder.counters()), 1u + kSessionBareSize + 3u);
}

TEST_F(SessionResponder, RefusalIsARejectNoLargerThanTheConfirm)
{
    std::uint8_t buf[kSessionMaxControlSize];
    const std::size_t n = KcpHandshakeResponder::encodeRefusal(0x77ull, buf);
    EXPECT_EQ(n, kSessionRejectSize);
    EXPECT_LE(n, kSessionConfirmSize);
    SessionReject r;
    ASSERT_TRUE(decodeReject(buf, sessionVerify(buf, n), r));
    EXPECT_EQ(r.reason, static_cast<std::uint8_t>(SessionRejectReason::Refused));
    EXPECT_EQ(r.nonce, 0x77ull);
}

// Amplification: for every type byte and every datagram size the responder sees, its answer is no larger.
TEST_F(SessionResponder, NoReplyIsLargerThanItsDatagram)
{
    KcpHandshakeResponder::Settings s = defaults();
    s.resetsPerSecond = 1000000; // never limited, so every RESET shows
    responder.setSettings(s);
    for (int type = 0; type < 256; ++type) {
        for (std::size_t size = kSessionBareSize; size <= 80; ++size) {
            for (std::uint32_t conv : {0u, 0x01020304u}) {
                Bytes body(size - kSessionTrailerSize, 0);
                body[0] = static_cast<std::uint8_t>(conv);
                body[1] = static_cast<std::uint8_t>(conv >> 8);
                body[2] = static_cast<std::uint8_t>(conv >> 16);
                body[3] = static_cast<std::uint8_t>(conv >> 24);
                body[4] = static_cast<std::uint8_t>(type);
                if (type == 0xA1 && body.size() >= 9) { // magic, version, stream flag: a HELLO if the size fits
                    body[5] = 0x4B;
                    body[6] = 0x43;
                    body[7] = 0x50;
                    body[8] = 0x4E;
                    if (body.size() > 10) {
                        body[9] = 1;
                        body[10] = 1;
                    }
                }
                const Bytes d = sealed(body);
                const Outcome o = handle(d, alice, t0);
                EXPECT_LE(o.replySize, d.size())
                    << "a " << d.size() << "-byte datagram of type " << type << " (" << sessionPacketTypeName(type)
                    << "), conv " << conv << ", got a " << o.replySize << "-byte "
                    << (o.replySize >= 5 ? sessionPacketTypeName(o.reply[4]) : "?");
            }
        }
    }
}

TEST_F(SessionResponder, RandomDatagramsNeverCrash)
{
    std::mt19937_64 rng(424242);
    const SessionAccept a = acceptFor(31, alice, t0);
    const Bytes goodHello = helloDatagram(32);
    const Bytes goodConfirm = confirmDatagram(confirmOf(a));
    const std::uint8_t types[] = {81, 82, 83, 84, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xB1, 0xB2, 0xC1, 0xC2, 0xC3, 0x00};
    const std::uint64_t before = sumOfOutcomeCounters(responder.counters());
    const int rounds = 10000;
    for (int i = 0; i < rounds; ++i) {
        Bytes d;
        switch (rng() % 4) {
        case 0: { // raw noise
            d.resize(rng() % 1500);
            for (auto &b : d)
                b = static_cast<std::uint8_t>(rng());
            break;
        }
        case 1: { // noise with a valid trailer and an interesting type byte
            Bytes body(5 + rng() % 100);
            for (auto &b : body)
                b = static_cast<std::uint8_t>(rng());
            body[4] = types[rng() % sizeof types];
            d = sealed(body);
            break;
        }
        default: { // a real HELLO / CONFIRM with a few bytes changed, resealed half of the time
            d = (rng() & 1) ? goodHello : goodConfirm;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits; ++e)
                d[rng() % (d.size() - kSessionTrailerSize)] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            if (rng() & 1)
                sessionSeal(d.data(), d.size() - kSessionTrailerSize);
            break;
        }
        }
        KcpPeerAddress from = alice;
        if (rng() % 4 == 0)
            from.port = static_cast<std::uint16_t>(rng());
        const Outcome o = responder.handle(d.empty() ? nullptr : d.data(), d.size(), from,
                                           t0 + static_cast<std::uint32_t>(i));
        ASSERT_LE(o.replySize, sizeof o.reply);
        if (o.action == Action::Reply) {
            ASSERT_GT(sessionVerify(o.reply, o.replySize), 0u) << "round " << i;
        } else {
            ASSERT_EQ(o.replySize, 0u) << "round " << i;
        }
        if (o.action == Action::Accept) {
            ASSERT_NE(o.conv, 0u);
        }
    }
    EXPECT_EQ(sumOfOutcomeCounters(responder.counters()) - before, static_cast<std::uint64_t>(rounds));
    EXPECT_GT(responder.counters().checksum, 0u);
    EXPECT_GT(responder.counters().malformed + responder.counters().badCookies, 0u);
}

// The responder keeps nothing per client: a flood of HELLOs from spoofed addresses allocates no memory and
// leaves the object as it was (only counters and the conv generator move).
TEST_F(SessionResponder, HelloFloodFromSpoofedAddressesKeepsNoState)
{
    static_assert(sizeof(Outcome) <= 256, "an outcome is a small fixed-size value");
    const std::size_t objectSize = sizeof(KcpHandshakeResponder);
    const Bytes hello = helloDatagram(0x5555);
    const Bytes data = kcpDatagram(0xABCDu, 81, 32);
    std::size_t replies = 0;
    std::size_t replyBytes = 0;
    std::size_t requestBytes = 0;

    const std::size_t allocationsBefore = g_allocations;
    for (std::uint32_t i = 0; i < 100000; ++i) {
        const KcpPeerAddress from = ipv4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                                         static_cast<std::uint8_t>(i), static_cast<std::uint16_t>(1024 + i % 60000));
        const Bytes &d = (i % 10 == 9) ? data : hello;
        const Outcome o = responder.handle(d.data(), d.size(), from, t0 + i / 100);
        replies += o.action == Action::Reply;
        replyBytes += o.replySize;
        requestBytes += d.size();
    }
    const std::size_t allocations = g_allocations - allocationsBefore;

    EXPECT_EQ(allocations, 0u) << "the responder allocated while answering a HELLO flood";
    EXPECT_EQ(sizeof(KcpHandshakeResponder), objectSize);
    EXPECT_EQ(responder.counters().hellos, 90000u);
    EXPECT_EQ(responder.counters().unknownConv, 10000u);
    EXPECT_LE(responder.counters().resetsSent, 100u); // the whole flood fits in one rate-limit window
    EXPECT_GE(replies, 90000u);
    EXPECT_LE(replyBytes, requestBytes);
}
