// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Client/server session pairs over the simulated link (sessionharness.h): handshake timing, bulk data in stream
// and message mode, the handshake under targeted and random loss, data that overtakes the CONFIRM, connect
// timeouts and rejections.
#include "sessionharness.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

using namespace kcpnet;
using namespace kcpnet::sessiontest;

namespace {

// A handshake on a lossless link, ending with both sides connected and the client confirmed.
void connectPair(Net &net, std::uint64_t within = 5000)
{
    net.connect();
    ASSERT_TRUE(net.run(within, [&] {
        return net.client.session.isConfirmed() && net.client.session.state() == KcpSessionState::Connected
            && net.server() != nullptr;
    })) << "no handshake";
}

} // namespace

TEST(SessionPair, HandshakeTakesOneRoundTrip)
{
    const std::uint32_t d = 25;
    Net net(makeScenario(d));
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Unconnected);
    EXPECT_EQ(net.client.session.engine(), nullptr);
    net.connect();
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connecting);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Hello), 1u);

    net.run(2 * d - 1);
    EXPECT_EQ(net.client.connectedCalls, 0);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connecting);
    net.run(1);
    ASSERT_EQ(net.client.connectedCalls, 1);
    EXPECT_EQ(net.client.connectedAt, 2u * d); // one round trip
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.session.handshakeRtt(), 2 * d);
    EXPECT_NE(net.client.session.conv(), 0u);
    ASSERT_NE(net.client.session.engine(), nullptr);
    EXPECT_EQ(net.client.session.engine()->conv(), net.client.session.conv());
    EXPECT_FALSE(net.client.session.isConfirmed());
    EXPECT_EQ(net.serverSessions.size(), 0u) << "the server must keep nothing before the CONFIRM";

    net.run(d - 1);
    EXPECT_EQ(net.serverSessions.size(), 0u);
    net.run(1);
    Peer *server = net.server();
    ASSERT_NE(server, nullptr) << "the server session exists after 1.5 round trips";
    EXPECT_EQ(server->createdAt, 3u * d);
    EXPECT_EQ(server->session.state(), KcpSessionState::Connected);
    EXPECT_EQ(server->session.role(), KcpSession::Role::Server);
    EXPECT_EQ(server->session.conv(), net.client.session.conv());
    EXPECT_EQ(server->connectedCalls, 0) << "sessionConnected is the client's event";

    net.run(d);
    EXPECT_TRUE(net.client.session.isConfirmed()) << "CONFIRMED arrives after two round trips";
    net.run(5000);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Hello), 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Accept), 1u);
    EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Confirm), 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Confirmed), 1u);
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.responder.counters().hellos, 1u);
    EXPECT_EQ(net.responder.counters().confirms, 1u);
}

TEST(SessionPair, HandshakeRttAndServerTimersReachTheClient)
{
    Scenario s = makeScenario(40);
    s.server.peerTimeout = 6000; // the client must ping often enough for the server's (stricter) timeout
    s.responder = responderFor(s.server);
    s.client.keepaliveInterval = 5000;
    s.client.peerTimeout = 20000;
    Net net(s);
    connectPair(net);
    EXPECT_EQ(net.client.session.handshakeRtt(), 80u);
    EXPECT_EQ(net.client.session.effectiveKeepalive(), 3000u);
}

namespace {

void runBulk(bool streamMode, std::size_t bytesEachWay, std::uint32_t delay)
{
    Scenario s = makeScenario(delay, streamMode);
    Net net(s);
    const Bytes up = patternBytes(bytesEachWay, 1);
    const Bytes down = patternBytes(bytesEachWay, 2);
    std::vector<Bytes> upMessages;
    std::vector<Bytes> downMessages;
    if (streamMode) {
        net.client.outbox = chunked(up, 50000);
        net.onServerSession = [&](Peer &p) { p.outbox = chunked(down, 70001); };
    } else {
        // Messages of very different sizes, the empty message included, up to many fragments.
        std::mt19937_64 rng(3);
        auto cut = [&](const Bytes &all, std::vector<Bytes> &into) {
            std::size_t i = 0;
            while (i < all.size()) {
                std::size_t n;
                switch (rng() % 8) {
                case 0:
                    n = 0;
                    break;
                case 1:
                    n = 1 + rng() % 100000;
                    break;
                default:
                    n = 1 + rng() % 3000;
                    break;
                }
                n = std::min(n, all.size() - i);
                into.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i),
                                  all.begin() + static_cast<std::ptrdiff_t>(i + n));
                i += n;
            }
        };
        cut(up, upMessages);
        cut(down, downMessages);
        net.client.outbox.assign(upMessages.begin(), upMessages.end());
        net.onServerSession = [&](Peer &p) { p.outbox.assign(downMessages.begin(), downMessages.end()); };
    }
    net.connect();
    ASSERT_TRUE(net.run(600000, [&] {
        Peer *server = net.server();
        return server && net.client.receivedBytes() == bytesEachWay && server->receivedBytes() == bytesEachWay
            && net.client.session.engine()->waitSnd() == 0 && server->session.engine()->waitSnd() == 0;
    })) << "transfer incomplete: client received " << net.client.receivedBytes() << ", server received "
        << (net.server() ? net.server()->receivedBytes() : 0);
    Peer &server = *net.server();
    if (streamMode) {
        EXPECT_TRUE(sameBytes(up, server.stream));
        EXPECT_TRUE(sameBytes(down, net.client.stream));
    } else {
        ASSERT_EQ(server.messages.size(), upMessages.size());
        ASSERT_EQ(net.client.messages.size(), downMessages.size());
        for (std::size_t i = 0; i < upMessages.size(); ++i)
            ASSERT_TRUE(sameBytes(upMessages[i], server.messages[i])) << "message " << i << " upwards";
        for (std::size_t i = 0; i < downMessages.size(); ++i)
            ASSERT_TRUE(sameBytes(downMessages[i], net.client.messages[i])) << "message " << i << " downwards";
    }
    EXPECT_EQ(net.client.written, bytesEachWay);
    EXPECT_EQ(net.client.bytesSentReported, bytesEachWay);
    EXPECT_EQ(server.bytesSentReported, bytesEachWay);
    EXPECT_EQ(net.client.session.drops().checksum, 0u);
    EXPECT_EQ(server.session.drops().checksum, 0u);
    EXPECT_EQ(server.session.drops().malformed, 0u);
    EXPECT_EQ(net.client.session.drops().malformed, 0u);

    // And a clean close.
    net.client.session.close(net.now());
    ASSERT_TRUE(net.run(10000, [&] { return net.bothClosed(); }));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(server.closeReason, KcpCloseReason::PeerClosed);
    EXPECT_EQ(net.sessionsCreated, 1u);
}

} // namespace

TEST(SessionPair, BulkDataBothWaysStreamMode)
{
    runBulk(true, 3 * 1024 * 1024, 10);
}

TEST(SessionPair, BulkDataBothWaysMessageMode)
{
    runBulk(false, 2 * 1024 * 1024, 15);
}

// ---- Handshake under loss ----

// (type of the handshake packet to lose, how many of them, whether both sides send data from the start)
using TargetedLossParam = std::tuple<SessionPacketType, int, bool>;

class SessionPairTargetedLoss : public ::testing::TestWithParam<TargetedLossParam>
{
};

TEST_P(SessionPairTargetedLoss, HandshakeCompletesWithOneServerSession)
{
    const SessionPacketType type = std::get<0>(GetParam());
    const int drops = std::get<1>(GetParam());
    const bool withData = std::get<2>(GetParam());
    Net net(makeScenario(20));
    int dropped = 0;
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        if (typeOf(d) == typeByte(type) && dropped < drops) {
            ++dropped;
            v.drop = true;
        }
        return v;
    };
    const Bytes up = withData ? patternBytes(100000, 11) : Bytes {};
    const Bytes down = withData ? patternBytes(100000, 12) : Bytes {};
    net.client.outbox = chunked(up, 4096);
    net.onServerSession = [&](Peer &p) { p.outbox = chunked(down, 4096); };
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] {
        Peer *s = net.server();
        return s && net.client.stream.size() == down.size() && s->stream.size() == up.size()
            && net.client.session.isConfirmed();
    })) << "stuck: client state " << int(net.client.session.state()) << ", sessions " << net.serverSessions.size();
    if (withData && type == SessionPacketType::Confirmed) {
        // The server's first KCP datagram confirms the session as well: no CONFIRMED needs repeating.
        EXPECT_GE(dropped, 1);
    } else {
        EXPECT_EQ(dropped, drops);
    }
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_EQ(net.server()->session.conv(), net.client.session.conv());
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    EXPECT_EQ(net.client.connectedCalls, 1);
    // Every HELLO that got through was answered with its own conv; only the confirmed one became a session.
    std::set<std::uint32_t> acceptConvs;
    for (const Net::Record &r : net.sent)
        if (r.dir == Dir::ToClient && r.type == typeByte(SessionPacketType::Accept))
            acceptConvs.insert(r.conv);
    EXPECT_EQ(acceptConvs.size(), net.countSent(Dir::ToClient, SessionPacketType::Accept));
    EXPECT_EQ(acceptConvs.count(net.client.session.conv()), 1u);
    if (type == SessionPacketType::Hello || type == SessionPacketType::Accept) {
        EXPECT_EQ(net.client.session.handshakeRtt(), 0u) << "no RTT sample from a retransmitted HELLO";
    }
    if (!withData && (type == SessionPacketType::Confirm || type == SessionPacketType::Confirmed)) {
        // Silent session: only CONFIRM retransmissions can finish the handshake.
        EXPECT_EQ(net.countSent(Dir::ToServer, SessionPacketType::Confirm), std::size_t(drops) + 1);
    }
    net.run(30000);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.sessionsCreated, 1u);
}

INSTANTIATE_TEST_SUITE_P(SessionPair, SessionPairTargetedLoss,
                         ::testing::Combine(::testing::Values(SessionPacketType::Hello, SessionPacketType::Accept,
                                                              SessionPacketType::Confirm,
                                                              SessionPacketType::Confirmed),
                                            ::testing::Values(1, 2, 4), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<TargetedLossParam> &info) {
                             return std::string(sessionPacketTypeName(typeByte(std::get<0>(info.param))))
                                 + "_lost_" + std::to_string(std::get<1>(info.param)) + "x"
                                 + (std::get<2>(info.param) ? "_with_data" : "_silent");
                         });

class SessionPairRandomLoss : public ::testing::TestWithParam<int>
{
};

TEST_P(SessionPairRandomLoss, HandshakeAndDataSurviveThirtyPercentLoss)
{
    Scenario s = makeScenario(15);
    s.seed = static_cast<std::uint64_t>(GetParam());
    s.toServer.loss = 0.3;
    s.toClient.loss = 0.3;
    s.toServer.duplicate = 0.05;
    s.toClient.duplicate = 0.05;
    s.client.connectTimeout = 60000; // 30 % loss both ways: give the HELLO enough tries
    s.client.deadLink = 100;
    s.server.deadLink = 100;
    Net net(s);
    const Bytes up = patternBytes(64 * 1024, 21);
    const Bytes down = patternBytes(64 * 1024, 22);
    net.client.outbox = chunked(up, 1000);
    net.onServerSession = [&](Peer &p) { p.outbox = chunked(down, 1000); };
    net.connect();
    ASSERT_TRUE(net.run(300000, [&] {
        Peer *srv = net.server();
        return srv && net.client.stream.size() == down.size() && srv->stream.size() == up.size()
            && net.client.session.isConfirmed();
    })) << "client state " << int(net.client.session.state()) << " reason "
        << kcpCloseReasonName(net.client.closeReason) << ", server sessions " << net.serverSessions.size();
    EXPECT_EQ(net.sessionsCreated, 1u) << "retransmitted HELLOs must not leave extra sessions";
    EXPECT_EQ(net.server()->session.conv(), net.client.session.conv());
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    std::set<std::uint32_t> acceptConvs;
    for (const Net::Record &r : net.sent)
        if (r.dir == Dir::ToClient && r.type == typeByte(SessionPacketType::Accept))
            acceptConvs.insert(r.conv);
    EXPECT_EQ(acceptConvs.size(), net.countSent(Dir::ToClient, SessionPacketType::Accept))
        << "each HELLO gets its own conv";
    EXPECT_EQ(net.client.connectedCalls, 1);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
}

INSTANTIATE_TEST_SUITE_P(SessionPair, SessionPairRandomLoss, ::testing::Range(1, 21));

// ---- Data that overtakes the CONFIRM ----

TEST(SessionPair, DataSentBeforeConfirmArrivesIsDeliveredAfterRecovery)
{
    Net net(makeScenario(10));
    bool delayed = false;
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        if (typeOf(d) == typeByte(SessionPacketType::Confirm) && !delayed) {
            delayed = true;
            v.extraDelay = 120; // the first data segments reach the server long before the session exists
        }
        return v;
    };
    const Bytes up = patternBytes(20000, 31);
    net.client.outbox = chunked(up, 20000);
    net.connect();
    ASSERT_TRUE(net.run(30000, [&] { return net.server() && net.server()->stream.size() == up.size(); }))
        << "client state " << int(net.client.session.state()) << " " << kcpCloseReasonName(net.client.closeReason);
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_GE(net.countSent(Dir::ToClient, SessionPacketType::Reset), 1u) << "the early data met no session";
    EXPECT_GE(net.client.session.drops().unexpected, 1u) << "the RESET(UnknownConv) was ignored";
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.closedCalls, 0);
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_GE(net.responder.counters().unknownConv, 1u);
}

TEST(SessionPair, UnknownConvResetDuringConfirmPhaseIsNotFatal)
{
    Net net(makeScenario(10));
    net.filter = [&](Dir, Bytes &d, std::uint64_t) {
        Verdict v;
        v.drop = typeOf(d) == typeByte(SessionPacketType::Confirm); // the confirm phase lasts
        return v;
    };
    net.connect();
    ASSERT_TRUE(net.run(1000, [&] { return net.client.connectedCalls == 1; }));
    ASSERT_FALSE(net.client.session.isConfirmed());
    std::uint8_t buf[kSessionMaxControlSize];
    const std::size_t n = encodeReset(net.client.session.conv(), SessionResetReason::UnknownConv, buf);
    for (int i = 0; i < 3; ++i)
        net.inject(Dir::ToClient, Bytes(buf, buf + n), 5 * i);
    net.run(100);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.closedCalls, 0);
    EXPECT_EQ(net.client.session.drops().unexpected, 3u);

    // Any other RESET is fatal, confirmed or not.
    const std::size_t m = encodeReset(net.client.session.conv(), SessionResetReason::Abort, buf);
    net.inject(Dir::ToClient, Bytes(buf, buf + m));
    net.run(10);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Closed);
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::PeerReset);
}

// A RESET(UnknownConv) that the server sent during the confirm phase (the client's first data overtook its
// CONFIRM) but that the network delivers after the CONFIRMED must not kill the now-established session either:
// it says nothing about the session that exists now.
TEST(SessionPair, LateUnknownConvResetFromTheConfirmPhaseIsNotFatal)
{
    Net net(makeScenario(10));
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        Verdict v;
        if (dir == Dir::ToServer && typeOf(d) == typeByte(SessionPacketType::Confirm))
            v.extraDelay = 3; // reordered behind the first data segment
        if (dir == Dir::ToClient && typeOf(d) == typeByte(SessionPacketType::Reset))
            v.extraDelay = 5; // and the answers reordered on the way back
        return v;
    };
    const Bytes up = patternBytes(50000, 41);
    net.client.outbox = chunked(up, 50000);
    net.connect();
    net.run(20000, [&] { return net.server() && net.server()->stream.size() == up.size(); });
    ASSERT_GE(net.countSent(Dir::ToClient, SessionPacketType::Reset), 1u) << "scenario did not happen";
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected)
        << "client closed: " << kcpCloseReasonName(net.client.closeReason) << " at t=" << net.client.closedAt;
    ASSERT_NE(net.server(), nullptr);
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
}

// A client whose CONFIRM the server never honours (it stopped accepting between ACCEPT and CONFIRM) is only
// answered with RESET(UnknownConv), which it ignores during the confirm phase. It must still give up in bounded
// time instead of counting those RESETs as signs of life.
TEST(SessionPair, ClientWhoseConfirmIsNeverHonouredGivesUp)
{
    Scenario s = makeScenario(10);
    Net net(s);
    net.connect();
    ASSERT_TRUE(net.run(1000, [&] { return net.client.connectedCalls == 1; }));
    net.responder.setAccepting(false);
    const std::uint64_t connectedAt = net.client.connectedAt;
    net.run(s.client.peerTimeout + s.client.connectTimeout + 1000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.sessionsCreated, 0u);
    EXPECT_GT(net.responder.counters().notAccepting, 0u);
    EXPECT_TRUE(net.client.isClosed()) << "still " << (net.client.session.isConfirmed() ? "confirmed" : "unconfirmed")
                                       << " after " << (net.t - connectedAt) << " ms; pings sent "
                                       << net.client.session.pingsSent() << ", RESETs received "
                                       << net.countDelivered(Dir::ToClient, SessionPacketType::Reset);
    if (net.client.isClosed()) {
        EXPECT_LE(net.client.closedAt - connectedAt, std::uint64_t(s.client.peerTimeout) + 100);
    }
}

TEST(SessionPair, RepeatedConfirmGetsConfirmedWithoutASecondSession)
{
    Net net(makeScenario(10));
    connectPair(net);
    const Net::Record *confirm = net.firstSent(Dir::ToServer, SessionPacketType::Confirm);
    ASSERT_NE(confirm, nullptr);
    ASSERT_EQ(confirm->head.size(), kSessionConfirmSize);
    const std::size_t confirmed = net.countSent(Dir::ToClient, SessionPacketType::Confirmed);
    net.inject(Dir::ToServer, confirm->head); // a late duplicate, or a retransmission that crossed CONFIRMED
    net.run(100);
    EXPECT_EQ(net.sessionsCreated, 1u);
    EXPECT_EQ(net.countSent(Dir::ToClient, SessionPacketType::Confirmed), confirmed + 1);
    EXPECT_EQ(net.server()->session.state(), KcpSessionState::Connected);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
}

// ---- Connect failures ----

TEST(SessionPair, ConnectToNothingTimesOut)
{
    Scenario s = makeScenario(10);
    s.toServer.up = false;
    Net net(s);
    net.connect();
    EXPECT_EQ(net.client.session.send(reinterpret_cast<const std::uint8_t *>("x"), 1), -4);
    net.run(60000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::ConnectTimeout);
    EXPECT_EQ(net.client.closedAt, s.client.connectTimeout);
    EXPECT_EQ(net.client.closedCalls, 1);
    EXPECT_EQ(net.client.connectedCalls, 0);
    EXPECT_EQ(net.client.session.engine(), nullptr);
    // HELLO at 0, then after 250, 500, 1000, 2000, 2000, ... ms.
    std::vector<std::uint64_t> times;
    for (const Net::Record &r : net.sent)
        times.push_back(r.t);
    const std::vector<std::uint64_t> expected = {0, 250, 750, 1750, 3750, 5750, 7750, 9750};
    EXPECT_EQ(times, expected);
    for (const Net::Record &r : net.sent)
        EXPECT_EQ(r.type, typeByte(SessionPacketType::Hello));
    // Closed for good: nothing more is sent, and check() no longer asks for wake-ups.
    const std::size_t before = net.sent.size();
    net.run(100000);
    EXPECT_EQ(net.sent.size(), before);
    EXPECT_EQ(net.client.closedCalls, 1);
    EXPECT_EQ(net.client.session.check(net.now()), net.now() + KcpEngine::kIdleDelay);
    EXPECT_EQ(net.client.session.send(reinterpret_cast<const std::uint8_t *>("x"), 1), -4);
}

TEST(SessionPair, ConnectTimeoutIsConfigurable)
{
    Scenario s = makeScenario(10);
    s.toClient.up = false; // the server answers, the answers are lost
    s.client.connectTimeout = 1234;
    Net net(s);
    net.connect();
    net.run(10000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::ConnectTimeout);
    EXPECT_EQ(net.client.closedAt, 1234u);
    EXPECT_EQ(net.sessionsCreated, 0u);
    EXPECT_EQ(net.responder.counters().hellos, 3u); // at 0, 250 and 750 ms
}

TEST(SessionPair, ModeMismatchIsRejected)
{
    Scenario s = makeScenario(10, true);
    s.server.streamMode = false;
    s.responder = responderFor(s.server);
    Net net(s);
    net.connect();
    net.run(5000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Mode);
    EXPECT_EQ(net.client.closedAt, 20u);
    EXPECT_EQ(net.client.connectedCalls, 0);
    EXPECT_EQ(net.sessionsCreated, 0u);
    EXPECT_EQ(net.responder.counters().rejects, 1u);
}

TEST(SessionPair, VersionMismatchIsRejected)
{
    Net net(makeScenario(10));
    // A client that speaks version 2: rewrite its HELLO on the wire.
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        if (dir == Dir::ToServer && typeOf(d) == typeByte(SessionPacketType::Hello)) {
            d[9] = 2;
            sessionSeal(d.data(), d.size() - kSessionTrailerSize);
        }
        return Verdict {};
    };
    net.connect();
    net.run(5000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Version);
    EXPECT_EQ(net.client.closedAt, 20u);
    EXPECT_EQ(net.sessionsCreated, 0u);
}

TEST(SessionPair, RefusedConfirmIsRejected)
{
    Net net(makeScenario(10));
    net.refuseConfirms = true; // e.g. the accept backlog is full
    net.connect();
    net.run(5000, [&] { return net.client.isClosed(); });
    EXPECT_EQ(net.client.connectedCalls, 1) << "the client is connected after one round trip";
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::Rejected);
    EXPECT_EQ(net.client.session.rejectReason(), SessionRejectReason::Refused);
    EXPECT_EQ(net.client.closedAt, 40u);
    EXPECT_EQ(net.sessionsCreated, 0u);
}

TEST(SessionPair, ForgedRejectAndAcceptWithAnotherNonceAreIgnored)
{
    Net net(makeScenario(10));
    std::uint64_t nonce = 0;
    net.filter = [&](Dir dir, Bytes &d, std::uint64_t) {
        SessionHello h;
        if (dir == Dir::ToServer && typeOf(d) == typeByte(SessionPacketType::Hello)
            && decodeHello(d.data(), sessionVerify(d.data(), d.size()), h))
            nonce = h.nonce;
        return Verdict {};
    };
    net.connect();
    ASSERT_NE(nonce, 0u);
    std::uint8_t buf[kSessionMaxControlSize];
    SessionReject r;
    r.reason = static_cast<std::uint8_t>(SessionRejectReason::Refused);
    r.nonce = nonce ^ 1;
    net.inject(Dir::ToClient, Bytes(buf, buf + encodeReject(r, buf)), 5);
    SessionAccept a;
    a.conv = 0xBAD;
    a.nonce = nonce ^ 2;
    net.inject(Dir::ToClient, Bytes(buf, buf + encodeAccept(a, buf)), 6);
    net.run(8);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connecting);
    EXPECT_EQ(net.client.session.drops().unexpected, 2u);
    net.run(5000, [&] { return net.server() != nullptr && net.client.session.isConfirmed(); });
    EXPECT_EQ(net.client.connectedAt, 20u);
    EXPECT_NE(net.client.session.conv(), 0xBADu);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);

    // Once connected, a REJECT for the right nonce is stale and ignored too.
    r.nonce = nonce;
    net.inject(Dir::ToClient, Bytes(buf, buf + encodeReject(r, buf)));
    net.run(5);
    EXPECT_EQ(net.client.session.state(), KcpSessionState::Connected);
}

TEST(SessionPair, SendIsRefusedUntilConnected)
{
    Net net(makeScenario(10));
    const std::uint8_t byte = 1;
    EXPECT_EQ(net.client.session.send(&byte, 1), -4);
    net.connect();
    EXPECT_EQ(net.client.session.send(&byte, 1), -4);
    net.run(20);
    EXPECT_EQ(net.client.session.send(&byte, 1), 1);
    net.run(1000);
    ASSERT_NE(net.server(), nullptr);
    EXPECT_EQ(net.server()->stream, Bytes {1});
}

TEST(SessionPair, ClockWrapsDuringTheSession)
{
    Scenario s = makeScenario(10);
    s.clockBase = 0xFFFFFFFFu - 700; // the 32-bit clock wraps during the transfer
    Net net(s);
    const Bytes up = patternBytes(1 << 20, 51);
    const Bytes down = patternBytes(1 << 20, 52);
    net.client.outbox = chunked(up, 65536);
    net.onServerSession = [&](Peer &p) { p.outbox = chunked(down, 65536); };
    net.connect();
    ASSERT_TRUE(net.run(60000, [&] {
        return net.server() && net.server()->stream.size() == up.size() && net.client.stream.size() == down.size();
    }));
    net.client.session.close(net.now());
    ASSERT_TRUE(net.run(60000, [&] { return net.bothClosed(); }));
    EXPECT_TRUE(sameBytes(up, net.server()->stream));
    EXPECT_TRUE(sameBytes(down, net.client.stream));
    EXPECT_EQ(net.client.closeReason, KcpCloseReason::LocalClose);
    EXPECT_EQ(net.server()->closeReason, KcpCloseReason::PeerClosed);
    EXPECT_EQ(net.client.session.handshakeRtt(), 20u);
}
