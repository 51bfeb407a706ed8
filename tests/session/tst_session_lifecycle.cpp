// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The life of an established session over the simulated link (sessionharness.h): graceful close from either side
// (with lost FIN_ACKs, repeated FINs, both sides at once), abort, keepalive and peer timeout, dead link, idle
// timeout, and corrupted datagrams.
#include "sessionharness.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>

using namespace kcpnet;
using namespace kcpnet::sessiontest;

namespace {

std::size_t pushesAfter(const Net &net, Dir dir, std::uint64_t t)
{
    std::size_t n = 0;
    for (const Net::Record &r : net.sent)
        if (r.dir == dir && r.t > t && r.type == 81)
            ++n;
    return n;
}

} // namespace

// ---- Graceful close ----

TEST(SessionLifecycle, CloseByClientDeliversEverythingBeforePeerClosed)
{
    Net net(makeScenario(10));
    const Bytes up = patternBytes(1 << 20, 61);
    net.client.outbox = chunked(up, 65536);
    net.client.closeWhenWritten = true;
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    Peer &server = *net.server();
    EXPECT_EQ(server.closeReason, KcpCloseReason::PeerClosed);
    EXPECT_EQ(server.receivedAtClose, up.size()) << "PeerClosed came before all data was received";
    EXPECT_TRUE(sameBytes(up, server.stream));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.client.closedCalls, 1);
    EXPECT_EQ(server.closedCalls, 1);

    const Net::Record *fin = net.firstSent(Dir::ToServer, SessionPacketType::Fin);
    ASSERT_NE(fin, nullptr);
    EXPECT_EQ(pushesAfter(net, Dir::ToServer, fin->t), 0u) << "data after FIN";
    EXPECT_EQ(server.closedAt, fin->t + 10);
    EXPECT_EQ(net.client.closedAt, server.closedAt + 10) << "the FIN_ACK completes the close";
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Fin), 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::FinAck), 1u);
    const std::uint8_t byte = 0;
    EXPECT_EQ(net.client.session.send(&byte, 1), -4);
}

TEST(SessionLifecycle, CloseByServerDeliversEverythingBeforePeerClosed)
{
    Net net(makeScenario(15));
    const Bytes down = patternBytes(1 << 20, 62);
    net.onServerSession = [&](Peer &p) {
        p.outbox = chunked(down, 65536);
        p.closeWhenWritten = true;
    };
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerClosed);
    EXPECT_EQ(net.client.receivedAtClose, down.size()) << "PeerClosed came before all data was received";
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::LocalClose);
    const Net::Record *fin = net.firstSent(Dir::ToClient, SessionPacketType::Fin);
    ASSERT_NE(fin, nullptr);
    EXPECT_EQ(pushesAfter(net, Dir::ToClient, fin->t), 0u);
    EXPECT_EQ(net.client.closedAt, fin->t + 15);
    EXPECT_EQ(net.server()->closedAt, fin->t + 30);
}

TEST(SessionLifecycle, CloseWaitsForUnreadDataToBeAcknowledged)
{
    // The receiver does not read: the data sits in its receive queue, acknowledged; close still completes.
    Net net(makeScenario(10));
    const Bytes up = patternBytes(200000, 63);
    net.client.outbox = chunked(up, 65536);
    net.client.closeWhenWritten = true;
    net.onServerSession = [&](Peer &p) { p.reading = false; };
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    Peer &server = *net.server();
    EXPECT_EQ(server.closeReason, KcpCloseReason::PeerClosed);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    server.drain(); // still readable after the close
    EXPECT_TRUE(sameBytes(up, server.stream));
}

TEST(SessionLifecycle, LostFinAckEndsLocalCloseAfterCloseTimeout)
{
    Scenario s = makeScenario(10);
    s.client.closeTimeout = 2500;
    Net net(s);
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        v.drop = typeOf(d) == typeByte(SessionPacketType::FinAck);
        return v;
    };
    const Bytes up = patternBytes(100000, 64);
    net.client.outbox = chunked(up, 65536);
    net.client.closeWhenWritten = true;
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    const Net::Record *fin = net.firstSent(Dir::ToServer, SessionPacketType::Fin);
    ASSERT_NE(fin, nullptr);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.client.closedAt, fin->t + 2500);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerClosed);
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    // The client repeated its FIN; the closed server answered every copy.
    const std::size_t finsDelivered = net.countDelivered(Dir::ToServer, SessionPacketType::Fin);
    EXPECT_GE(finsDelivered, 2u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::FinAck), finsDelivered);
    EXPECT_LE(net.countSent(Dir::ToServer, SessionPacketType::Fin), 2500u / 100u + 1u) << "FIN retried too often";
    // Nothing more once closed.
    const std::size_t sentBefore = net.sent.size();
    net.run(60000);
    EXPECT_EQ(net.sent.size(), sentBefore);
}

TEST(SessionLifecycle, RepeatedFinAfterCloseGetsFinAck)
{
    Net net(makeScenario(10));
    net.client.closeWhenWritten = true;
    net.connect();
    ASSERT_TRUE(net.run(10000, [&] { return net.bothClosed(); }));
    const std::uint32_t conv = net.client.session.conv();
    std::uint8_t buf[kSessionMaxControlSize];
    const Bytes fin(buf, buf + encodeBare(conv, SessionPacketType::Fin, buf));

    // The closed server session still answers.
    const std::size_t finAcks = net.countSent(Dir::ToClient, SessionPacketType::FinAck);
    const std::uint64_t clientUnexpected = net.client.session.drops().unexpected;
    net.inject(Dir::ToServer, fin);
    net.run(100);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::FinAck), finAcks + 1);
    EXPECT_EQ(net.client.session.drops().unexpected, clientUnexpected + 1) << "a stray FIN_ACK is ignored";
    EXPECT_EQ(net.client.closedCalls, 1);

    // Once the server forgot the session, the responder answers for it.
    net.forgetClosedServerSessions = true;
    net.run(1);
    ASSERT_TRUE(net.serverSessions.empty());
    net.inject(Dir::ToServer, fin);
    net.run(100);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::FinAck), finAcks + 2);
    EXPECT_EQ(net.responder.counters().unknownConv, 1u);
}

// Both sides close at about the same time with data still in flight: each side's data must reach the other
// before its close completes as LocalClose.
TEST(SessionLifecycle, SimultaneousCloseDeliversBothDirections)
{
    Net net(makeScenario(10));
    const Bytes up = patternBytes(8 << 20, 65); // takes several round trips
    const Bytes down = patternBytes(20000, 66); // acknowledged at once: this side's FIN goes out early
    net.client.outbox = chunked(up, 65536);
    net.client.writeBudget = 0xFFFFFFFFu; // hand everything to send() at once, then close()
    net.client.closeWhenWritten = true;
    net.onServerSession = [&](Peer &p) {
        p.outbox = chunked(down, 65536);
        p.closeWhenWritten = true;
    };
    net.connect();
    ASSERT_TRUE(net.run(1000, [&] { return net.client.closeCalled; }));
    ASSERT_EQ(net.client.session.state(), KcpSessionState::Closing);
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    EXPECT_TRUE(sameBytes(down, net.client.stream)) << "server to client";
    EXPECT_TRUE(sameBytes(up, net.server()->stream)) << "client to server";
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::LocalClose);
}

// close() right after connecting: the FIN goes out while the CONFIRM is still unanswered. A lost FIN must be
// repeated even though the CONFIRM is being repeated too (they must not share one retry slot).
TEST(SessionLifecycle, FinIsRetransmittedWhileTheConfirmIsPending)
{
    Net net(makeScenario(10));
    bool finDropped = false;
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        if (typeOf(d) == typeByte(SessionPacketType::Confirmed))
            v.drop = true; // the client stays unconfirmed
        if (typeOf(d) == typeByte(SessionPacketType::Fin) && !finDropped) {
            finDropped = true;
            v.drop = true;
        }
        return v;
    };
    net.connect();
    ASSERT_TRUE(net.run(1000, [&] { return net.client.connectedCalls == 1; }));
    net.client.session.close(net.now());
    ASSERT_TRUE(finDropped);
    ASSERT_TRUE(net.run(30000, [&] { return net.bothClosed(); }));
    EXPECT_GE(net.countSent(Dir::ToServer, SessionPacketType::Fin), 2u) << "the lost FIN was never repeated";
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerClosed)
        << "after " << (net.server()->closedAt - net.server()->createdAt) << " ms";
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_LT(net.client.closedAt - net.client.connectedAt, std::uint64_t(net.client.session.config().closeTimeout))
        << "the close completed only by closeTimeout";
}

TEST(SessionLifecycle, CloseWhileConnectingEndsAtOnce)
{
    Net net(makeScenario(10));
    net.connect();
    net.run(5);
    net.client.session.close(net.now());
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.client.closedAt, 5u);
    net.run(5000);
    EXPECT_EQ(net.client.connectedCalls, 0) << "a late ACCEPT must not revive the session";
    EXPECT_EQ(net.client.closedCalls, 1);
    EXPECT_EQ(net.sessionsCreated, 0u);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Confirm), 0u);
}

TEST(SessionLifecycle, CloseTwiceAndFailAreHarmless)
{
    Net net(makeScenario(10));
    establish(net);
    net.client.session.close(net.now());
    net.client.session.close(net.now());
    ASSERT_TRUE(net.run(5000, [&] { return net.bothClosed(); }));
    net.client.session.close(net.now());
    net.client.session.abort(net.now());
    net.client.session.fail(KcpCloseReason::Refused);
    EXPECT_EQ(net.client.closedCalls, 1);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Reset), 0u);

    Net other(makeScenario(10));
    establish(other);
    other.client.session.fail(KcpCloseReason::Refused); // e.g. ICMP port unreachable
    EXPECT_EQ(other.client.closeReason, KcpCloseReason::Refused);
    const std::size_t sentBefore = other.sent.size();
    other.run(100);
    EXPECT_EQ(other.countSent(Dir::ToServer, SessionPacketType::Reset), 0u);
    EXPECT_EQ(other.sent.size(), sentBefore);
}

// ---- Abort ----

TEST(SessionLifecycle, AbortGivesPeerReset)
{
    Net net(makeScenario(10));
    establish(net);
    const std::uint64_t t = net.t;
    net.client.session.abort(net.now());
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalAbort);
    EXPECT_EQ(net.client.closedAt, t);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Reset), 2u) << "RESET is sent twice";
    net.run(1000);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerReset);
    EXPECT_EQ(net.server()->closedAt, t + 10);
    EXPECT_EQ(net.server()->closedCalls, 1);
}

TEST(SessionLifecycle, AbortSurvivesOneLostReset)
{
    Net net(makeScenario(10));
    establish(net);
    bool droppedOne = false;
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        if (typeOf(d) == typeByte(SessionPacketType::Reset) && !droppedOne) {
            droppedOne = true;
            v.drop = true;
        }
        return v;
    };
    net.server()->session.abort(net.now());
    net.run(1000);
    EXPECT_TRUE(droppedOne);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::LocalAbort);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerReset);
}

TEST(SessionLifecycle, AbortWhileDataIsInFlight)
{
    Net net(makeScenario(10));
    const Bytes up = patternBytes(4 << 20, 67);
    net.client.outbox = chunked(up, 65536);
    establish(net);
    net.run(30);
    ASSERT_GT(net.server()->stream.size(), 0u);
    ASSERT_LT(net.server()->stream.size(), up.size());
    const std::uint64_t t = net.t;
    net.client.session.abort(net.now());
    net.run(5000);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerReset);
    EXPECT_EQ(pushesAfter(net, Dir::ToServer, t), 0u) << "an aborted session sends nothing more";
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalAbort);
    // What did arrive is a prefix of what was sent.
    const Bytes &got = net.server()->stream;
    EXPECT_TRUE(sameBytes(Bytes(up.begin(), up.begin() + static_cast<std::ptrdiff_t>(got.size())), got));
}

// ---- Liveness ----

// The server restarted: it knows neither the conv nor the old key. The client learns it from the first RESET.
TEST(SessionLifecycle, ServerRestartResetsTheClient)
{
    for (bool idle : {true, false}) {
        SCOPED_TRACE(idle ? "idle client (learns it from its next PING)" : "client sending data");
        Net net(makeScenario(10));
        establish(net);
        net.run(1000);
        net.serverSessions.clear();
        const std::uint8_t otherKey[16] = {9, 9, 9};
        net.responder = KcpHandshakeResponder(net.responder.settings(), otherKey);
        const std::uint64_t restart = net.t;
        if (!idle)
            net.client.outbox = chunked(patternBytes(10000, 75), 10000);
        ASSERT_TRUE(net.run(30000, [&] { return net.client.isClosed(); }));
        EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerReset);
        const std::uint64_t bound = idle ? net.client.session.effectiveKeepalive() + 100u : 100u;
        EXPECT_LE(net.client.closedAt - restart, bound);
        EXPECT_EQ(net.sessionsCreated, 1u);
    }
}

TEST(SessionLifecycle, LinkCutGivesPeerTimeoutOnBothSides)
{
    Scenario s = makeScenario(10);
    s.client.peerTimeout = 8000;
    s.server.peerTimeout = 12000;
    s.responder = responderFor(s.server);
    Net net(s);
    net.client.outbox = chunked(patternBytes(10000, 68), 10000);
    establish(net);
    net.run(7000); // some keepalive rounds
    const std::uint64_t cut = net.t;
    net.cut();
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    const std::uint64_t keepalive = net.client.session.effectiveKeepalive();
    EXPECT_EQ(keepalive, 4000u);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerTimeout);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerTimeout);
    // Each side times out peerTimeout after the last thing it heard, which was at most one keepalive round
    // before the cut.
    EXPECT_LE(net.client.closedAt, cut + 8000);
    EXPECT_GE(net.client.closedAt + keepalive + 20, cut + 8000);
    EXPECT_LE(net.server()->closedAt, cut + 12000);
    EXPECT_GE(net.server()->closedAt + keepalive + 20, cut + 12000);
}

TEST(SessionLifecycle, IdleSessionStaysAliveWithSparseWakeups)
{
    Scenario s = makeScenario(10);
    Net net(s);
    net.client.outbox = chunked(patternBytes(5000, 69), 5000);
    establish(net);
    net.run(2000);
    ASSERT_EQ(net.server()->stream.size(), 5000u);
    ASSERT_TRUE(net.client.session.engine()->isIdle());
    ASSERT_TRUE(net.server()->session.engine()->isIdle());

    const std::uint64_t idle = 10ull * s.client.peerTimeout;
    const std::uint64_t pings0 = net.client.session.pingsSent();
    const std::size_t received0 = net.countDelivered(Dir::ToServer, SessionPacketType::Ping);
    const std::size_t pongs0 = net.countDelivered(Dir::ToClient, SessionPacketType::Pong);
    const std::uint64_t clientUpdates0 = net.client.updates;
    const std::uint64_t serverUpdates0 = net.server()->updates;
    net.run(idle);

    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.closedCalls + net.server()->closedCalls, 0);
    const std::uint64_t keepalive = net.client.session.effectiveKeepalive();
    EXPECT_EQ(keepalive, 5000u);
    const std::uint64_t pings = net.client.session.pingsSent() - pings0;
    // One ping per keepalive interval after the last thing heard (the PONG, one round trip after the PING).
    EXPECT_GE(pings, idle / (keepalive + 20) - 1);
    EXPECT_LE(pings, idle / keepalive + 1);
    EXPECT_EQ(net.countDelivered(Dir::ToServer, SessionPacketType::Ping) - received0, pings)
        << "the server received every ping";
    EXPECT_EQ(net.countDelivered(Dir::ToClient, SessionPacketType::Pong) - pongs0, pings);
    EXPECT_EQ(net.client.session.keepaliveRtt(), 20u);
    // Wake-ups: about one per keepalive on the client, none on the server (pings arrive as input);
    // a per-tick timer would have woken idle / interval = 5000 times.
    const std::uint64_t clientWakeups = net.client.updates - clientUpdates0;
    const std::uint64_t serverWakeups = net.server()->updates - serverUpdates0;
    EXPECT_LE(clientWakeups, pings + 2) << "the idle client wakes up more than once per keepalive";
    EXPECT_LE(serverWakeups, 2u) << "the idle server wakes up without reason";
    EXPECT_LT(clientWakeups, idle / s.client.interval / 100);
}

class SessionLifecycleLossyIdle : public ::testing::TestWithParam<int>
{
};

TEST_P(SessionLifecycleLossyIdle, IdleSessionSurvivesThirtyPercentLoss)
{
    Scenario s = makeScenario(20);
    s.seed = static_cast<std::uint64_t>(GetParam());
    s.client.connectTimeout = 60000;
    Net net(s);
    establish(net, 60000);
    net.linkTo(Dir::ToServer).loss = 0.3;
    net.linkTo(Dir::ToClient).loss = 0.3;
    net.run(10ull * s.client.peerTimeout);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected) << kcpCloseReasonName(net.client.closeReason);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected)
        << kcpCloseReasonName(net.server()->closeReason);
    EXPECT_GT(net.client.session.pingsSent(), 20u);
}

INSTANTIATE_TEST_SUITE_P(SessionLifecycle, SessionLifecycleLossyIdle, ::testing::Range(1, 6));

TEST(SessionLifecycle, DeadLinkWhenTheLinkDiesUnderData)
{
    Scenario s = makeScenario(10);
    s.client.peerTimeout = 0; // no peer timeout anywhere: only KCP's dead-link detection is left
    s.server.peerTimeout = 0;
    s.responder = responderFor(s.server);
    s.client.deadLink = 5;
    Net net(s);
    net.client.outbox = chunked(patternBytes(8 << 20, 70), 65536);
    establish(net);
    net.run(100);
    ASSERT_GT(net.client.session.engine()->waitSnd(), 0u);
    const std::uint64_t cut = net.t;
    net.cut();
    ASSERT_TRUE(net.run(120000, [&] { return net.client.isClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::DeadLink);
    EXPECT_TRUE(net.client.session.engine()->isDeadLink());
    EXPECT_LT(net.client.closedAt - cut, 10000u);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected) << "the server has no timer left";
}

TEST(SessionLifecycle, DeadLinkBeatsALongPeerTimeout)
{
    Scenario s = makeScenario(10);
    s.client.peerTimeout = 600000;
    s.server.peerTimeout = 600000;
    s.responder = responderFor(s.server);
    s.client.deadLink = 6;
    Net net(s);
    net.client.outbox = chunked(patternBytes(8 << 20, 71), 65536);
    establish(net);
    net.run(100);
    net.cut();
    ASSERT_TRUE(net.run(120000, [&] { return net.client.isClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::DeadLink);
}

TEST(SessionLifecycle, IdleTimeoutIsReportedAfterTheFinExchange)
{
    Scenario s = makeScenario(10);
    s.client.idleTimeout = 2000;
    s.client.keepaliveInterval = 500; // pings are not activity
    Net net(s);
    net.client.outbox = chunked(patternBytes(1000, 72), 1000);
    net.connect();
    ASSERT_TRUE(net.run(20000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::IdleTimeout);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerClosed);
    EXPECT_EQ(net.server()->stream.size(), 1000u);
    const Net::Record *fin = net.firstSent(Dir::ToServer, SessionPacketType::Fin);
    const Net::Record *finAck = net.firstDelivered(Dir::ToClient, SessionPacketType::FinAck);
    ASSERT_NE(fin, nullptr);
    ASSERT_NE(finAck, nullptr);
    EXPECT_EQ(fin->t, 20u + 2000u) << "FIN goes out idleTimeout after the last data (sent at t=20)";
    EXPECT_EQ(net.client.closedAt, finAck->t) << "IdleTimeout is reported when the close completes";
    EXPECT_GE(net.client.session.pingsSent(), 3u);
}

TEST(SessionLifecycle, IdleTimeoutWithLostFinAckStillReportsIdleTimeout)
{
    Scenario s = makeScenario(10);
    s.client.idleTimeout = 1000;
    s.client.closeTimeout = 700;
    Net net(s);
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        v.drop = typeOf(d) == typeByte(SessionPacketType::FinAck);
        return v;
    };
    net.connect();
    ASSERT_TRUE(net.run(20000, [&] { return net.client.isClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::IdleTimeout);
    const Net::Record *fin = net.firstSent(Dir::ToServer, SessionPacketType::Fin);
    ASSERT_NE(fin, nullptr);
    EXPECT_EQ(net.client.closedAt, fin->t + 700);
}

TEST(SessionLifecycle, ActivityPostponesTheIdleTimeout)
{
    Scenario s = makeScenario(10);
    s.client.idleTimeout = 2000;
    Net net(s);
    establish(net);
    // Data in one direction or the other every 1.5 s keeps the session open.
    const std::uint8_t chunk[100] = {};
    for (int i = 0; i < 12; ++i) {
        if (i % 2 == 0)
            ASSERT_EQ(net.client.session.send(chunk, sizeof chunk), 100);
        else
            ASSERT_EQ(net.server()->session.send(chunk, sizeof chunk), 100);
        net.run(1500);
        ASSERT_EQ(net.client.session.state(), KcpSessionState::Connected) << "closed after round " << i;
    }
    EXPECT_EQ(net.server()->stream.size() + net.client.stream.size(), 1200u);
    const std::uint64_t lastData = net.t - 1500;
    ASSERT_TRUE(net.run(20000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::IdleTimeout);
    const Net::Record *fin = net.firstSent(Dir::ToServer, SessionPacketType::Fin);
    ASSERT_NE(fin, nullptr);
    // The last data reached the client at lastData + 10 (it was the server's turn).
    EXPECT_EQ(fin->t, lastData + 10 + 2000);
}

TEST(SessionLifecycle, ServerIdleTimeout)
{
    Scenario s = makeScenario(10);
    s.server.idleTimeout = 3000;
    Net net(s);
    establish(net);
    ASSERT_TRUE(net.run(20000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::IdleTimeout);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerClosed);
}

// ---- Corruption ----

TEST(SessionLifecycle, CorruptedDatagramsAreDroppedAndCounted)
{
    Scenario s = makeScenario(10);
    s.seed = 77;
    s.toServer.corrupt = 0.1;
    s.toClient.corrupt = 0.1;
    s.client.connectTimeout = 60000;
    Net net(s);
    const Bytes up = patternBytes(512 * 1024, 73);
    const Bytes down = patternBytes(512 * 1024, 74);
    net.client.outbox = chunked(up, 65536);
    net.onServerSession = [&](Peer &p) { p.outbox = chunked(down, 65536); };
    net.connect();
    ASSERT_TRUE(net.run(120000, [&] {
        return net.server() && net.server()->stream.size() == up.size() && net.client.stream.size() == down.size();
    }));
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    EXPECT_EQ(net.sessionsCreated, 1u);
    // Every corrupted datagram was caught by the CRC32C trailer, by whoever received it.
    const std::uint64_t corruptToClient = net.corruptedDelivered[static_cast<int>(Dir::ToClient)];
    const std::uint64_t corruptToServer = net.corruptedDelivered[static_cast<int>(Dir::ToServer)];
    EXPECT_GT(corruptToClient, 10u);
    EXPECT_GT(corruptToServer, 10u);
    EXPECT_EQ(net.client.session.drops().checksum, corruptToClient);
    EXPECT_EQ(net.server()->session.drops().checksum + net.responder.counters().checksum, corruptToServer);
    EXPECT_EQ(net.client.session.drops().malformed, 0u);
    EXPECT_EQ(net.server()->session.drops().malformed, 0u);
}

// ---- Everything at once ----

// (seed, whether the applications start writing at once or only once the client is confirmed)
using SoakParam = std::tuple<int, bool>;

class SessionLifecycleSoak : public ::testing::TestWithParam<SoakParam>
{
};

TEST_P(SessionLifecycleSoak, LossReorderDuplicationAndCorruption)
{
    const int seed = std::get<0>(GetParam());
    const bool writeAtOnce = std::get<1>(GetParam());
    Scenario s = makeScenario(20);
    s.seed = 1000 + static_cast<std::uint64_t>(seed);
    for (LinkConfig *l : {&s.toServer, &s.toClient}) {
        l->loss = 0.1;
        l->jitter = 30;
        l->duplicate = 0.03;
        l->corrupt = 0.02;
    }
    s.client.connectTimeout = 60000;
    s.client.deadLink = 60;
    s.server.deadLink = 60;
    Net net(s);
    const Bytes up = patternBytes(256 * 1024, 80 + static_cast<std::uint64_t>(seed));
    const Bytes down = patternBytes(256 * 1024, 90 + static_cast<std::uint64_t>(seed));
    if (writeAtOnce) {
        net.client.outbox = chunked(up, 10000);
        net.onServerSession = [&](Peer &p) { p.outbox = chunked(down, 10000); };
    }
    net.connect();
    if (!writeAtOnce) {
        ASSERT_TRUE(net.run(120000, [&] {
            return net.client.isClosed() || (net.client.session.isConfirmed() && net.server() != nullptr);
        }));
        net.client.outbox = chunked(up, 10000);
        if (net.server())
            net.server()->outbox = chunked(down, 10000);
    }
    ASSERT_TRUE(net.run(300000, [&] {
        return net.client.isClosed()
            || (net.server() && net.server()->stream.size() == up.size() && net.client.stream.size() == down.size());
    }));
    ASSERT_FALSE(net.client.isClosed()) << "client closed: " << kcpCloseReasonName(net.client.closeReason)
                                        << " at t=" << net.client.closedAt << " ("
                                        << net.countDelivered(Dir::ToClient, SessionPacketType::Reset)
                                        << " RESETs delivered to the client, all from the responder: "
                                        << net.responder.counters().resetsSent << ")";
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    net.client.session.close(net.now());
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerClosed);
}

INSTANTIATE_TEST_SUITE_P(SessionLifecycle, SessionLifecycleSoak,
                         ::testing::Combine(::testing::Range(1, 9), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<SoakParam> &info) {
                             return "seed" + std::to_string(std::get<0>(info.param))
                                 + (std::get<1>(info.param) ? "_data_from_the_start" : "_data_after_confirm");
                         });
