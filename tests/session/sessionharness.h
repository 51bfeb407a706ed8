// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// A deterministic simulated network for session tests: one client KcpSession and a server made of a
// KcpHandshakeResponder plus the KcpSessions it creates on verified CONFIRMs, joined by a link with per-direction
// delay, jitter (reordering), loss, duplication, corruption and a filter hook. Time is virtual (64-bit ms
// internally, a wrapping 32-bit clock for the sessions), and the loop is event driven: it jumps straight to the
// next datagram arrival or the earliest session check(), so an idle session costs nothing to simulate.
#pragma once

#include "kcphandshake.h"
#include "kcpsession.h"
#include "kcpsessionpacket.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <utility>
#include <vector>

namespace kcpnet::sessiontest {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

enum class Dir : std::uint8_t { ToServer = 0, ToClient = 1 };

inline const char *dirName(Dir d)
{
    return d == Dir::ToServer ? "client->server" : "server->client";
}

inline std::uint8_t typeByte(SessionPacketType t)
{
    return static_cast<std::uint8_t>(t);
}

inline std::uint8_t typeOf(const Bytes &d)
{
    return d.size() >= 5 ? d[4] : 0;
}

inline std::uint32_t convOf(const Bytes &d)
{
    return d.size() >= 4 ? kcpGetU32(d.data()) : 0;
}

struct LinkConfig {
    std::uint32_t delay = 10; // one-way, ms
    std::uint32_t jitter = 0; // extra delay drawn uniformly from [0, jitter] ms: reorders datagrams
    double loss = 0.0;
    double duplicate = 0.0; // probability that a datagram arrives twice (the copy gets its own delay)
    double corrupt = 0.0;   // probability that 1..3 bits of a delivered copy are flipped
    bool up = true;         // false: everything sent is lost
};

// What a filter decides for one datagram. It may also rewrite the bytes.
struct Verdict {
    bool drop = false;
    std::uint32_t extraDelay = 0;
};
using Filter = std::function<Verdict(Dir, Bytes &datagram, std::uint64_t t)>;

struct Scenario {
    KcpSessionConfig client;
    KcpSessionConfig server;
    KcpHandshakeResponder::Settings responder;
    LinkConfig toServer;
    LinkConfig toClient;
    std::uint64_t seed = 1;
    std::uint32_t clockBase = 1000000; // the sessions' clock at virtual time 0
};

// Responder settings that match a server session configuration.
inline KcpHandshakeResponder::Settings responderFor(const KcpSessionConfig &server)
{
    KcpHandshakeResponder::Settings s;
    s.streamMode = server.streamMode;
    s.peerTimeoutMs = server.peerTimeout;
    s.keepaliveMs = server.keepaliveInterval;
    return s;
}

inline Scenario makeScenario(std::uint32_t oneWayDelay = 10, bool streamMode = true)
{
    Scenario s;
    s.client.streamMode = streamMode;
    s.server.streamMode = streamMode;
    s.responder = responderFor(s.server);
    s.toServer.delay = oneWayDelay;
    s.toClient.delay = oneWayDelay;
    return s;
}

// Deterministic test data.
inline Bytes patternBytes(std::size_t n, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    Bytes b(n);
    std::size_t i = 0;
    while (i < n) {
        std::uint64_t v = rng();
        for (int k = 0; k < 8 && i < n; ++k, v >>= 8)
            b[i++] = static_cast<std::uint8_t>(v);
    }
    return b;
}

inline std::deque<Bytes> chunked(const Bytes &data, std::size_t chunk)
{
    std::deque<Bytes> out;
    for (std::size_t i = 0; i < data.size(); i += chunk)
        out.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(i),
                         data.begin() + static_cast<std::ptrdiff_t>(std::min(data.size(), i + chunk)));
    return out;
}

inline ::testing::AssertionResult sameBytes(const Bytes &expected, const Bytes &actual)
{
    const std::size_t common = std::min(expected.size(), actual.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (expected[i] != actual[i])
            return ::testing::AssertionFailure() << "first difference at byte " << i << " of " << expected.size();
    }
    if (expected.size() != actual.size())
        return ::testing::AssertionFailure() << "expected " << expected.size() << " bytes, got " << actual.size();
    return ::testing::AssertionSuccess();
}

class Net;

// One end of a session plus a tiny application: it writes its outbox as fast as the send window allows,
// reads everything as soon as it is readable, and optionally closes once everything was written.
class Peer : public KcpSessionHandler
{
public:
    Peer(Net &net, Dir out, KcpSession::Role role, const KcpSessionConfig &config)
        : session(role, config, this)
        , m_net(net)
        , m_out(out)
    {
    }

    KcpSession session;

    // Application behaviour.
    std::deque<Bytes> outbox;      // stream mode: byte chunks; message mode: one message each
    bool closeWhenWritten = false; // close() once the outbox has gone into send()
    bool closeCalled = false;
    bool reading = true;           // drain the engine on sessionReadable()
    std::uint32_t writeBudget = 0; // write while waitSnd() is below this (segments); 0 = twice the send window

    // What happened, in virtual ms.
    std::uint64_t createdAt = 0;
    std::uint64_t connectedAt = kNever;
    std::uint64_t closedAt = kNever;
    int connectedCalls = 0;
    int closedCalls = 0;
    KcpCloseReason closeReason = KcpCloseReason::None;
    Bytes stream;                 // stream mode: everything received
    std::vector<Bytes> messages;  // message mode: everything received
    std::size_t receivedAtClose = 0; // bytes (stream) or messages received when sessionClosed() came
    std::uint64_t written = 0;    // bytes accepted by send()
    std::uint64_t bytesSentReported = 0;
    std::uint64_t updates = 0;    // update() calls the loop made because check() said so
    int readableCalls = 0;

    bool isClosed() const { return session.state() == KcpSessionState::Closed; }
    std::size_t receivedBytes() const
    {
        if (session.config().streamMode)
            return stream.size();
        std::size_t n = 0;
        for (const Bytes &m : messages)
            n += m.size();
        return n;
    }

    void drain()
    {
        KcpEngine *e = session.engine();
        if (!e)
            return;
        if (session.config().streamMode) {
            m_buffer.resize(64 * 1024);
            for (;;) {
                const int n = e->recv(m_buffer.data(), static_cast<int>(m_buffer.size()));
                if (n <= 0)
                    break;
                stream.insert(stream.end(), m_buffer.begin(), m_buffer.begin() + n);
            }
        } else {
            for (;;) {
                const int size = e->peekSize();
                if (size < 0)
                    break;
                Bytes m(static_cast<std::size_t>(size) + 1); // +1: never a null buffer, even for empty messages
                const int n = e->recv(m.data(), size);
                if (n != size) {
                    ADD_FAILURE() << "recv returned " << n << " for a message of " << size;
                    break;
                }
                m.resize(static_cast<std::size_t>(size));
                messages.push_back(std::move(m));
            }
        }
    }

    // KcpSessionHandler
    void sessionSend(const std::uint8_t *data, std::size_t size) override;
    void sessionConnected() override;
    void sessionReadable() override
    {
        ++readableCalls;
        if (reading)
            drain();
    }
    void sessionBytesSent(std::uint64_t bytes) override { bytesSentReported += bytes; }
    void sessionClosed(KcpCloseReason reason) override;

private:
    Net &m_net;
    Dir m_out;
    Bytes m_buffer;
};

class Net
{
public:
    explicit Net(const Scenario &s)
        : client(*this, Dir::ToServer, KcpSession::Role::Client, s.client)
        , responder(s.responder, kResponderKey)
        , serverConfig(s.server)
        , m_base(s.clockBase)
        , m_rng(s.seed)
    {
        link[0] = s.toServer;
        link[1] = s.toClient;
        clientAddress.ip[10] = 0xFF;
        clientAddress.ip[11] = 0xFF;
        clientAddress.ip[12] = 198;
        clientAddress.ip[13] = 51;
        clientAddress.ip[14] = 100;
        clientAddress.ip[15] = 7;
        clientAddress.port = 50123;
    }
    Net(const Net &) = delete;
    Net &operator=(const Net &) = delete;

    // ---- Clock ----
    std::uint64_t t = 0; // virtual ms since the start
    std::uint32_t now() const { return m_base + static_cast<std::uint32_t>(t); }

    // ---- Link ----
    LinkConfig link[2];
    Filter filter;
    KcpPeerAddress clientAddress;

    LinkConfig &linkTo(Dir d) { return link[static_cast<int>(d)]; }
    void cut()
    {
        link[0].up = false;
        link[1].up = false;
    }

    // ---- Endpoints ----
    Peer client;
    KcpHandshakeResponder responder;
    KcpSessionConfig serverConfig;
    std::map<std::uint32_t, std::unique_ptr<Peer>> serverSessions;
    std::function<void(Peer &)> onServerSession; // sets up the application of a new server session
    bool refuseConfirms = false;                 // answer verified CONFIRMs with REJECT(Refused)
    bool forgetClosedServerSessions = false;     // drop server sessions once Closed (else they linger)
    std::uint64_t sessionsCreated = 0;
    std::vector<std::uint32_t> createdConvs;

    // The server session, when there is exactly one.
    Peer *server()
    {
        return serverSessions.size() == 1 ? serverSessions.begin()->second.get() : nullptr;
    }

    // ---- Trace ----
    struct Record {
        std::uint64_t t;
        Dir dir;
        std::uint8_t type;
        std::uint32_t conv;
        std::size_t size;
        bool lost;   // sent only: the link (or the filter) dropped it
        Bytes head;  // the first bytes (whole control packets, KCP headers)
    };
    std::vector<Record> sent;      // handed to the link, lost or not
    std::vector<Record> delivered; // came out of the link (copies and corrupted ones included)
    std::uint64_t corruptedDelivered[2] = {0, 0};

    std::size_t countSent(Dir d, std::uint8_t type) const { return count(sent, d, type); }
    std::size_t countSent(Dir d, SessionPacketType type) const { return count(sent, d, typeByte(type)); }
    std::size_t countDelivered(Dir d, std::uint8_t type) const { return count(delivered, d, type); }
    std::size_t countDelivered(Dir d, SessionPacketType type) const { return count(delivered, d, typeByte(type)); }
    const Record *firstSent(Dir d, SessionPacketType type) const
    {
        for (const Record &r : sent)
            if (r.dir == d && r.type == typeByte(type))
                return &r;
        return nullptr;
    }
    const Record *firstDelivered(Dir d, SessionPacketType type) const
    {
        for (const Record &r : delivered)
            if (r.dir == d && r.type == typeByte(type))
                return &r;
        return nullptr;
    }

    // ---- Driving ----
    void connect() { client.session.connect(now()); }

    // Puts a datagram on the wire as if `dir`'s sender sent it, bypassing loss and filter.
    // (By value: `d` may be a copy of a trace record, which record() can move.)
    void inject(Dir dir, Bytes d, std::uint32_t delay = 0)
    {
        record(sent, dir, d, false);
        m_queue.push(InFlight {t + delay, m_seq++, dir, std::move(d), false});
    }

    // Runs the simulation for `duration` virtual ms, or until `until` returns true (checked between events).
    // Returns whether `until` became true.
    bool run(std::uint64_t duration, const std::function<bool()> &until = {})
    {
        const std::uint64_t end = t + duration;
        for (std::uint64_t step = 0; step < kStepLimit; ++step) {
            if (forgetClosedServerSessions) {
                for (auto it = serverSessions.begin(); it != serverSessions.end();)
                    it = it->second->isClosed() ? serverSessions.erase(it) : std::next(it);
            }
            pumpApplications();
            if (until && until())
                return true;
            std::uint64_t next = kNever;
            if (!m_queue.empty())
                next = m_queue.top().at;
            forEachPeer([&](Peer &p) { next = std::min(next, wakeTime(p)); });
            if (next > end) {
                t = end;
                return until ? until() : false;
            }
            t = std::max(t, next);
            while (!m_queue.empty() && m_queue.top().at <= t) {
                InFlight f = m_queue.top();
                m_queue.pop();
                deliver(f);
            }
            forEachPeer([&](Peer &p) {
                if (wakeTime(p) <= t) {
                    ++p.updates;
                    p.session.update(now());
                }
            });
        }
        ADD_FAILURE() << "simulation step limit reached at t=" << t;
        return false;
    }

    bool bothClosed()
    {
        Peer *s = server();
        return client.isClosed() && s && s->isClosed();
    }

    // Called by Peer.
    void transmit(Dir dir, const std::uint8_t *data, std::size_t size)
    {
        Bytes d(data, data + size);
        Verdict v;
        if (filter)
            v = filter(dir, d, t);
        const LinkConfig &l = linkTo(dir);
        const bool lost = v.drop || !l.up || chance(l.loss);
        record(sent, dir, d, lost);
        if (lost)
            return;
        const int copies = chance(l.duplicate) ? 2 : 1;
        for (int c = 0; c < copies; ++c) {
            InFlight f {t + l.delay + v.extraDelay + below(l.jitter + 1), m_seq++, dir, d, false};
            if (chance(l.corrupt)) {
                const int flips = 1 + static_cast<int>(below(3));
                for (int k = 0; k < flips; ++k) {
                    const std::size_t bit = below(static_cast<std::uint32_t>(f.bytes.size() * 8));
                    f.bytes[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
                }
                f.corrupted = true;
            }
            m_queue.push(std::move(f));
        }
    }

private:
    static constexpr std::uint64_t kStepLimit = 20000000;
    static constexpr std::uint8_t kResponderKey[16] = {0x6B, 0x63, 0x70, 0x6E, 0x65, 0x74, 0x2D, 0x74,
                                                       0x65, 0x73, 0x74, 0x2D, 0x6B, 0x65, 0x79, 0x21};

    struct InFlight {
        std::uint64_t at;
        std::uint64_t seq;
        Dir dir;
        Bytes bytes;
        bool corrupted;
    };
    struct Later {
        bool operator()(const InFlight &a, const InFlight &b) const
        {
            return a.at != b.at ? a.at > b.at : a.seq > b.seq;
        }
    };

    static std::size_t count(const std::vector<Record> &log, Dir d, std::uint8_t type)
    {
        return static_cast<std::size_t>(
            std::count_if(log.begin(), log.end(), [&](const Record &r) { return r.dir == d && r.type == type; }));
    }

    void record(std::vector<Record> &log, Dir dir, const Bytes &d, bool lost)
    {
        const std::size_t keep = std::min<std::size_t>(d.size(), 64);
        log.push_back(Record {t, dir, typeOf(d), convOf(d), d.size(), lost, Bytes(d.begin(), d.begin() + keep)});
    }

    bool chance(double p)
    {
        if (p <= 0.0)
            return false;
        return static_cast<double>(m_rng() >> 11) * (1.0 / 9007199254740992.0) < p;
    }
    std::uint32_t below(std::uint32_t n) { return n <= 1 ? 0 : static_cast<std::uint32_t>(m_rng() % n); }

    template <typename F>
    void forEachPeer(F f)
    {
        f(client);
        for (auto &entry : serverSessions)
            f(*entry.second);
    }

    std::uint64_t wakeTime(const Peer &p) const
    {
        const KcpSessionState s = p.session.state();
        if (s == KcpSessionState::Unconnected || s == KcpSessionState::Closed)
            return kNever;
        const std::int32_t d = kcpDiff(p.session.check(now()), now());
        return t + static_cast<std::uint64_t>(std::max<std::int32_t>(d, 0));
    }

    void pumpApplications()
    {
        forEachPeer([&](Peer &p) { pump(p); });
    }

    void pump(Peer &p)
    {
        if (p.session.state() != KcpSessionState::Connected)
            return;
        const KcpEngine *e = p.session.engine();
        const std::uint32_t budget = p.writeBudget ? p.writeBudget : 2 * e->sendWindow();
        while (!p.outbox.empty() && e->waitSnd() < budget) {
            Bytes &chunk = p.outbox.front();
            const int n = p.session.send(chunk.data(), static_cast<int>(chunk.size()));
            if (n != static_cast<int>(chunk.size())) {
                ADD_FAILURE() << "send() of " << chunk.size() << " bytes returned " << n;
                p.outbox.clear();
                break;
            }
            p.written += chunk.size();
            p.outbox.pop_front();
        }
        if (p.outbox.empty() && p.closeWhenWritten && !p.closeCalled) {
            p.closeCalled = true;
            p.session.close(now());
        }
    }

    void deliver(InFlight &f)
    {
        record(delivered, f.dir, f.bytes, false);
        if (f.corrupted)
            ++corruptedDelivered[static_cast<int>(f.dir)];
        if (f.dir == Dir::ToClient) {
            client.session.input(f.bytes.data(), f.bytes.size(), now());
            return;
        }
        const std::uint32_t conv = convOf(f.bytes);
        auto it = conv ? serverSessions.find(conv) : serverSessions.end();
        if (it != serverSessions.end()) {
            it->second->session.input(f.bytes.data(), f.bytes.size(), now());
            return;
        }
        const KcpHandshakeResponder::Outcome o = responder.handle(f.bytes.data(), f.bytes.size(), clientAddress, now());
        if (o.action == KcpHandshakeResponder::Action::Reply) {
            transmit(Dir::ToClient, o.reply, o.replySize);
        } else if (o.action == KcpHandshakeResponder::Action::Accept) {
            if (refuseConfirms) {
                std::uint8_t buf[kSessionMaxControlSize];
                transmit(Dir::ToClient, buf, KcpHandshakeResponder::encodeRefusal(o.nonce, buf));
                return;
            }
            auto peer = std::make_unique<Peer>(*this, Dir::ToClient, KcpSession::Role::Server, serverConfig);
            Peer &p = *peer;
            p.createdAt = t;
            serverSessions.emplace(o.conv, std::move(peer));
            ++sessionsCreated;
            createdConvs.push_back(o.conv);
            if (onServerSession)
                onServerSession(p);
            p.session.acceptConfirmed(o.conv, now(), o.secure ? &o.secrets : nullptr);
        }
    }

    std::uint32_t m_base;
    std::mt19937_64 m_rng;
    std::uint64_t m_seq = 0;
    std::priority_queue<InFlight, std::vector<InFlight>, Later> m_queue;
};

// Handshake on the scenario's link; returns once the client is confirmed and the server session exists. A failed
// handshake is recorded as a fatal failure (wrap the call in ASSERT_NO_FATAL_FAILURE to stop the test there).
inline void establish(Net &net, std::uint64_t within = 30000)
{
    net.connect();
    ASSERT_TRUE(net.run(within, [&] {
        return net.client.session.state() == KcpSessionState::Connected && net.client.session.isConfirmed()
            && net.server() != nullptr;
    })) << "no handshake: client " << kcpCloseReasonName(net.client.closeReason);
}

inline void Peer::sessionSend(const std::uint8_t *data, std::size_t size)
{
    m_net.transmit(m_out, data, size);
}

inline void Peer::sessionConnected()
{
    ++connectedCalls;
    connectedAt = m_net.t;
}

inline void Peer::sessionClosed(KcpCloseReason reason)
{
    ++closedCalls;
    closedAt = m_net.t;
    closeReason = reason;
    if (reading)
        drain(); // data already received stays readable after the close
    receivedAtClose = session.config().streamMode ? stream.size() : messages.size();
}

} // namespace kcpnet::sessiontest
