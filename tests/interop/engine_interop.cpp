// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Interop tests: kcpnet::KcpEngine against kcp-go, over real UDP sockets on 127.0.0.1.
//
// The kcp-go side is tests/interop/kcpgo-peer (see the comment at the top of its main.go for its command line,
// the data it exchanges and the lines it prints). Each transfer test moves 10 MiB each way at the same time,
// in stream mode or in message mode, with our engine as the client of a kcp-go Listener or as the server a
// kcp-go client dials. Both ends check every byte (and in message mode every message's size) against the same
// deterministic pattern, and compare SHA-256 digests of what was sent with what arrived.
//
// This driver is deliberately Qt-free: POSIX sockets, poll(), std::chrono::steady_clock as the engine clock,
// OpenSSL's EVP for SHA-256. The peer's path comes from CMake (KCPNET_KCPGO_PEER_PATH) or the environment
// variable KCPNET_KCPGO_PEER. The generic parts (data, SHA-256, the child process, the UDP side of the loop) live
// in tests/common/kcpinteropdriver.h, shared with tests/compat.
#include "../common/kcpinteropdriver.h"
#include "kcpengine.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kcp_interop::ChildProcess;
using kcp_interop::Clock;
using kcp_interop::msUntil;
using kcp_interop::nowMs;
using kcp_interop::Pattern;
using kcp_interop::peerPath;
using kcp_interop::PeerReport;
using kcp_interop::Sha256;
using kcp_interop::splitWords;
using kcp_interop::UdpPeerDriver;
using kcp_interop::wordValue;
using kcpnet::KcpEngine;
using kcpnet::KcpInputResult;

constexpr std::uint64_t kTransferBytes = 10u << 20; // each way
constexpr auto kTestBudget = 60s;                    // wall clock per test
constexpr std::uint64_t kSeedToPeer = 1;             // data the driver sends (the peer's --recv-seed)
constexpr std::uint64_t kSeedFromPeer = 2;           // data the peer sends (the peer's --send-seed)
constexpr std::uint32_t kWindow = 512;
constexpr std::uint32_t kMtu = 1400;

// ---- Deterministic data: must match kcpgo-peer/main.go (pattern, messageSizes) ----

// Message sizes of one direction: tiny ones, ones up to a segment, ones right at segment boundaries and ones up
// to the largest allowed, so that fragmentation and reassembly are exercised at their edges.
class MessageSizes
{
public:
    MessageSizes(std::uint64_t seed, std::uint64_t unit, std::uint64_t max)
        : m_gen(seed ^ 0xA5A5A5A5A5A5A5A5ull), m_unit(unit), m_max(max)
    {
    }
    std::size_t next(std::uint64_t remaining)
    {
        const std::uint64_t r = m_gen.next();
        const std::uint64_t k = r >> 8;
        std::uint64_t n = 0;
        switch (r % 8) {
        case 0:
        case 1:
            n = 1 + k % 16;
            break;
        case 2:
        case 3:
            n = 1 + k % m_unit;
            break;
        case 4: {
            const std::uint64_t u = m_unit;
            const std::uint64_t edges[6] = {u - 1, u, u + 1, 2 * u - 1, 2 * u, 2 * u + 1};
            n = edges[k % 6];
            break;
        }
        default:
            n = 1 + k % m_max;
            break;
        }
        n = std::clamp<std::uint64_t>(n, 1, m_max);
        return static_cast<std::size_t>(std::min(n, remaining));
    }

private:
    SplitMix64 m_gen;
    std::uint64_t m_unit;
    std::uint64_t m_max;
};

// ---- Optional wire trace ----
//
// With KCPNET_INTEROP_TRACE=<file> every segment this driver sends or receives (and every one it drops) is
// logged, one line each: "<ms> <out|in|drop-out|drop-in> cmd=<c> frg wnd ts sn una len".
class WireTrace
{
public:
    WireTrace()
    {
        if (const char *path = std::getenv("KCPNET_INTEROP_TRACE"); path && *path)
            m_file = std::fopen(path, "a");
    }
    ~WireTrace()
    {
        if (m_file)
            std::fclose(m_file);
    }
    WireTrace(const WireTrace &) = delete;
    WireTrace &operator=(const WireTrace &) = delete;

    void log(const char *direction, const std::uint8_t *data, std::size_t size)
    {
        if (!m_file)
            return;
        const std::uint32_t now = nowMs();
        for (std::size_t off = 0; off + kcpnet::kKcpHeaderSize <= size;) {
            const kcpnet::KcpSegmentHeader h = kcpnet::decodeKcpHeader(data + off);
            std::fprintf(m_file, "%u %s cmd=%u frg=%u wnd=%u ts=%u sn=%u una=%u len=%u\n", now, direction, h.cmd,
                         h.frg, h.wnd, h.ts, h.sn, h.una, h.len);
            off += kcpnet::kKcpHeaderSize + h.len;
        }
    }

private:
    std::FILE *m_file = nullptr;
};

// ---- The kcp-go peer as a child process ----
//
// The peer exits when it reads QUIT or EOF on stdin; ChildProcess kills it outright on every other path.
class PeerProcess : public ChildProcess
{
public:
    bool start(const std::vector<std::string> &args, std::string *error)
    {
        const std::string path = peerPath();
        if (::access(path.c_str(), X_OK) != 0) {
            *error = "kcp-go peer not found or not executable: " + path + " (build target kcpgo_peer)";
            return false;
        }
        return ChildProcess::start(path, args, error);
    }

    // Asks the peer to exit, waits (bounded) until it has, and returns its wait status, or -1 if it had to be
    // killed. Lines printed meanwhile are appended to `lines`.
    int quit(Clock::time_point deadline, std::vector<std::string> *lines)
    {
        if (!running())
            return -1;
        if (stdinFd() >= 0)
            writeText("QUIT\n");
        return finish(deadline, lines);
    }
};

// Runs the peer to completion (bounded) and returns its output lines; `status` gets its wait status.
std::vector<std::string> runPeer(const std::vector<std::string> &args, Clock::duration budget, int *status,
                                 std::string *error)
{
    std::vector<std::string> lines;
    PeerProcess peer;
    *status = -1;
    if (!peer.start(args, error))
        return lines;
    const auto deadline = Clock::now() + budget;
    if (!peer.readToEnd(deadline, &lines)) {
        *error = "the peer did not finish in time: " + peer.commandLine();
        return lines;
    }
    *status = peer.quit(deadline, &lines);
    return lines;
}

// ---- One transfer ----

struct TransferCase {
    const char *name;
    bool stream;
    bool engineIsServer; // false: our engine dials a kcp-go Listener; true: a kcp-go client dials our engine
    std::uint32_t conv;
    std::uint64_t bytes = kTransferBytes; // each way
    // Datagrams this driver drops, in each direction (before sendto() and after recvfrom()), from a
    // deterministic PRNG: makes both ARQs retransmit, fast-resend and fill gaps with the other's segments.
    unsigned lossPercent = 0;
    // Settings, the same on both sides.
    std::uint32_t sendWindow = kWindow;
    std::uint32_t receiveWindow = kWindow;
    std::uint32_t mtu = kMtu;
    bool ackNoDelay = false;
    // A slow reader: each time another `pauseEvery` bytes have been read, stop calling recv() for `pauseMs`.
    // The receive window fills up and the sender stalls until our window reopens.
    std::uint64_t pauseEvery = 0;
    int pauseMs = 0;
    // Added to the engine's clock: with 2^32 - N the clock wraps N ms into the test, while segments are in
    // flight and timers are armed.
    std::uint32_t clockOffset = 0;
    // Largest message we send in message mode, in MSS units (kcp-go reassembles up to its receive window).
    std::uint32_t maxMessageSegments = 8;
    // Stream mode: read with a buffer this small (0 = 64 KiB), so that recv() ends inside segments.
    std::size_t readChunk = 0;
    // The peer as a slow reader: it pauses `peerPauseMs` after each `peerPauseEvery` bytes it read.
    std::uint64_t peerPauseEvery = 0;
    int peerPauseMs = 0;
};

struct TransferResult {
    double seconds = 0;
    long long peerRetransmits = -1; // kcp-go's RetransSegs
    long long peerRepeats = -1;     // kcp-go's RepeatSegs: duplicates of segments it already had
    long long peerInputErrors = -1; // kcp-go's KCPInErrors: our datagrams its Input() rejected
    std::uint64_t droppedOut = 0;
    std::uint64_t droppedIn = 0;
    std::uint64_t messagesOut = 0; // send() calls (in message mode, messages)
    std::uint64_t messagesIn = 0;  // recv() calls (in message mode, messages)
    std::uint64_t foreignDatagrams = 0;
    std::uint64_t sendErrors = 0;
    kcpnet::KcpEngineStats stats;
};

std::string describe(const TransferCase &tc, std::uint64_t sent, std::uint64_t received, const KcpEngine &engine,
                     const PeerReport &report, const ChildProcess &peer)
{
    const std::uint64_t total = tc.bytes;
    const auto st = engine.stats();
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "%s: queued %" PRIu64 "/%" PRIu64 " B, received %" PRIu64 "/%" PRIu64
                  " B; waitSnd %u, sendQueue %u, sendBuffer %u, receiveQueue %u, receiveBuffer %u, remoteWindow %u,"
                  " rto %u, timeout/fast retransmits %" PRIu64 "/%" PRIu64 ", datagrams out/in %" PRIu64 "/%" PRIu64
                  "; peer reported received=%d sent=%d",
                  tc.name, sent, total, received, total, engine.waitSnd(), st.sendQueue,
                  st.sendBuffer, st.receiveQueue, st.receiveBuffer, st.remoteWindow, st.rto, st.retransmitsTimeout,
                  st.retransmitsFast, st.datagramsSent, st.datagramsReceived, report.received, report.sent);
    return std::string(buf) + "\npeer: " + peer.commandLine() + "\npeer output:\n" + peer.transcript();
}

// Moves tc.bytes each way between our engine and the kcp-go peer at the same time. Returns "" on success,
// else what went wrong.
std::string runTransfer(const TransferCase &tc, TransferResult *result)
{
    const std::uint64_t total = tc.bytes;
    SplitMix64 lossRng(tc.conv);
    const auto lose = [&] { return tc.lossPercent > 0 && lossRng.next() % 100 < tc.lossPercent; };
    const auto engineNow = [&] { return nowMs() + tc.clockOffset; };
    const auto start = Clock::now();
    const auto deadline = start + kTestBudget;

    UdpPeerDriver driver;
    if (!driver.socket().isValid())
        return std::string("cannot bind a UDP socket on 127.0.0.1: ") + std::strerror(errno);

    // Both sides get the same settings: nodelay(1, 10, 2, 1) and the case's windows and MTU (by default 512/512
    // and 1400).
    std::uint64_t sendErrors = 0;
    WireTrace trace;
    KcpEngine engine(tc.conv, [&](const std::uint8_t *data, std::size_t size) {
        if (lose()) {
            ++result->droppedOut;
            trace.log("drop-out", data, size);
            return;
        }
        trace.log("out", data, size);
        if (!driver.sendToPeer(data, size))
            ++sendErrors; // e.g. EAGAIN with a full socket buffer: a loss, KCP retransmits
    });
    engine.setNoDelay(1, 10, 2, true);
    engine.setWindowSize(tc.sendWindow, tc.receiveWindow);
    engine.setMtu(tc.mtu);
    engine.setStreamMode(tc.stream);
    engine.setAckNoDelay(tc.ackNoDelay);

    // kcp-go sends messages of at most one MSS (see main.go); we send messages of up to 8 MSS (by default).
    const std::uint32_t unit = engine.mss();
    const std::uint32_t maxOut = tc.maxMessageSegments * unit;
    const std::uint32_t maxIn = unit;
    if (!tc.stream && engine.maxMessageSize() < maxOut)
        return "engine.maxMessageSize() " + std::to_string(engine.maxMessageSize()) + " < " + std::to_string(maxOut);

    std::vector<std::string> args;
    if (tc.engineIsServer) {
        const std::string ourEndpoint = "127.0.0.1:" + std::to_string(driver.socket().port());
        args = {"dial", "--connect", ourEndpoint, "--conv", std::to_string(tc.conv)};
    } else {
        args = {"serve", "--listen", "127.0.0.1:0", "--sessions", "1"};
    }
    const std::vector<std::string> common = {
        "--mode", tc.stream ? "stream" : "message", "--role", "both", "--bytes", std::to_string(total),
        "--send-seed", std::to_string(kSeedFromPeer), "--recv-seed", std::to_string(kSeedToPeer),
        "--send-max-msg", std::to_string(maxIn), "--recv-max-msg", std::to_string(maxOut), "--msg-unit",
        std::to_string(unit), "--nodelay", "1", "--interval", "10", "--resend", "2", "--nc", "1", "--sndwnd",
        std::to_string(tc.sendWindow), "--rcvwnd", std::to_string(tc.receiveWindow), "--mtu", std::to_string(tc.mtu),
        "--timeout", "75s"};
    args.insert(args.end(), common.begin(), common.end());
    if (tc.peerPauseEvery > 0) {
        args.insert(args.end(), {"--read-pause-every", std::to_string(tc.peerPauseEvery), "--read-pause",
                                 std::to_string(tc.peerPauseMs) + "ms"});
    }
    if (tc.ackNoDelay)
        args.push_back("--acknodelay");

    PeerProcess peer;
    std::string error;
    if (!peer.start(args, &error))
        return error;

    PeerReport report;
    Pattern outData(kSeedToPeer), inExpected(kSeedFromPeer);
    MessageSizes outSizes(kSeedToPeer, unit, maxOut), inSizes(kSeedFromPeer, unit, maxIn);
    Sha256 outHash, inHash;
    std::vector<std::uint8_t> sendBuf(std::max<std::size_t>(maxOut, 16 * 1024));
    std::vector<std::uint8_t> recvBuf(std::max<std::size_t>(maxIn, 64 * 1024));
    std::vector<std::uint8_t> want(recvBuf.size());
    std::uint64_t sent = 0, received = 0;
    std::uint64_t nextPauseAt = tc.pauseEvery;
    Clock::time_point readingResumes = start;
    // Flow control: hand the engine no more than twice its send window of unacknowledged segments.
    const std::uint32_t sendLimit = 2 * engine.sendWindow();
    const auto moreToQueue = [&] { return sent < total && engine.waitSnd() < sendLimit; };

    // The peer's lines: where it listens (our engine dials it) or where it dialed from (it dials our engine).
    const auto onLine = [&](const std::string &line) -> std::string {
        report.parse(line);
        if (!report.failure.empty())
            return "the peer failed: " + report.failure + "\n" + describe(tc, sent, received, engine, report, peer);
        if (report.listening && !driver.peerKnown() && !tc.engineIsServer)
            driver.setLoopbackPeer(report.listenPort);
        if (report.dialed && !driver.peerKnown() && tc.engineIsServer)
            driver.setPeerAddress(report.dialedFrom);
        if (report.haveConv && report.conv != tc.conv)
            return "the peer's session has conv " + std::to_string(report.conv) + ", expected "
                + std::to_string(tc.conv);
        return {};
    };
    // Its datagrams, into the engine (those from elsewhere are counted, the lost ones dropped).
    const auto onDatagram = [&](const std::uint8_t *data, std::size_t size, const sockaddr_in &from) -> std::string {
        if (!driver.peerKnown() && tc.engineIsServer) // the first datagram tells us who dialed
            driver.setPeerAddress(from);
        if (!driver.peerKnown() || !kcp_interop::sameEndpoint(from, driver.peerAddress())) {
            ++result->foreignDatagrams;
            return {};
        }
        if (lose()) {
            ++result->droppedIn;
            trace.log("drop-in", data, size);
            return {};
        }
        trace.log("in", data, size);
        const KcpInputResult r = engine.input(data, size, engineNow());
        if (r != KcpInputResult::Ok)
            return std::string("engine.input() rejected a kcp-go datagram of ") + std::to_string(size) + " bytes: "
                + kcpnet::kcpInputResultName(r);
        return {};
    };

    constexpr long kMaxIterations = 50'000'000; // a backstop; the deadline ends the loop long before
    for (long iteration = 0;; ++iteration) {
        if (Clock::now() > deadline || iteration > kMaxIterations)
            return "timeout after " + std::to_string(kTestBudget.count()) + " s: "
                + describe(tc, sent, received, engine, report, peer);

        if (driver.peerKnown()) {
            while (moreToQueue()) {
                const std::size_t n = tc.stream
                    ? static_cast<std::size_t>(std::min<std::uint64_t>(16 * 1024, total - sent))
                    : outSizes.next(total - sent);
                outData.fill(sendBuf.data(), n);
                outHash.update(sendBuf.data(), n);
                const int rc = engine.send(sendBuf.data(), static_cast<int>(n));
                if (rc != static_cast<int>(n))
                    return "engine.send(" + std::to_string(n) + ") returned " + std::to_string(rc);
                sent += n;
                ++result->messagesOut;
            }
            engine.update(engineNow());
        }

        // Deliver what arrived, checking each message's size (message mode) and every byte.
        if (tc.pauseEvery > 0 && received >= nextPauseAt) {
            nextPauseAt += tc.pauseEvery;
            readingResumes = Clock::now() + std::chrono::milliseconds(tc.pauseMs);
        }
        const bool reading = Clock::now() >= readingResumes;
        for (int size; reading && (size = engine.peekSize()) >= 0;) {
            // Message mode: the size of the next message; stream mode: all bytes readable now (recv() takes
            // what fits).
            if (!tc.stream && static_cast<std::size_t>(size) > recvBuf.size())
                return "peekSize() " + std::to_string(size) + " exceeds the largest message the peer sends";
            const std::size_t room = tc.stream && tc.readChunk > 0 ? std::min(tc.readChunk, recvBuf.size())
                                                                   : recvBuf.size();
            const int n = engine.recv(recvBuf.data(), static_cast<int>(room));
            if (n <= 0 || (!tc.stream && n != size))
                return "recv() returned " + std::to_string(n) + " after peekSize() " + std::to_string(size);
            if (static_cast<std::uint64_t>(n) > total - received)
                return "received " + std::to_string(n - (total - received)) + " bytes more than sent";
            if (!tc.stream) {
                const std::size_t expected = inSizes.next(total - received);
                if (static_cast<std::size_t>(n) != expected)
                    return "message " + std::to_string(result->messagesIn) + " at byte " + std::to_string(received)
                        + " has " + std::to_string(n) + " bytes, expected " + std::to_string(expected)
                        + " (a message boundary was lost)";
            }
            inExpected.fill(want.data(), static_cast<std::size_t>(n));
            if (std::memcmp(recvBuf.data(), want.data(), static_cast<std::size_t>(n)) != 0) {
                std::size_t at = 0;
                while (recvBuf[at] == want[at])
                    ++at;
                return "received data differs at byte " + std::to_string(received + at);
            }
            inHash.update(recvBuf.data(), static_cast<std::size_t>(n));
            received += static_cast<std::uint64_t>(n);
            ++result->messagesIn;
        }

        // Done when both directions are through and the peer has closed its books on the session (SESSION
        // comes after its SHA256 lines and kcp-go's counters).
        if (sent == total && received == total && report.received && report.sent && report.sessionOk)
            break;

        // Sleep in poll() until a datagram, a line from the peer, or the engine's next timer.
        int timeoutMs = driver.peerKnown() ? kcp_interop::engineWaitMs(engine, engineNow(), moreToQueue()) : 100;
        if (!reading)
            timeoutMs = std::min(timeoutMs, msUntil(readingResumes));
        timeoutMs = std::min(timeoutMs, msUntil(deadline));
        bool peerOpen = true;
        error = driver.wakeUp(peer, timeoutMs, &peerOpen, onLine, onDatagram);
        if (!error.empty())
            return error;
        if (!peerOpen)
            return "the peer exited before the transfer finished\n"
                + describe(tc, sent, received, engine, report, peer);
    }

    result->seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result->stats = engine.stats();
    result->sendErrors = sendErrors;

    // Both sides' digests must agree: what we sent is what the peer verified, and the other way round.
    const std::string outHex = outHash.hex();
    const std::string inHex = inHash.hex();
    if (report.receivedBytes != total || report.receivedHex != outHex)
        return "the peer received " + std::to_string(report.receivedBytes) + " bytes with SHA-256 "
            + report.receivedHex + ", we sent " + std::to_string(total) + " with " + outHex;
    if (report.sentBytes != total || report.sentHex != inHex)
        return "the peer sent " + std::to_string(report.sentBytes) + " bytes with SHA-256 " + report.sentHex
            + ", we received " + std::to_string(received) + " with " + inHex;

    // Done: tell the peer to exit and check that it does so cleanly.
    std::vector<std::string> lines;
    const int status = peer.quit(Clock::now() + 10s, &lines);
    for (const std::string &line : lines)
        report.parse(line);
    if (!report.failure.empty())
        return "the peer failed: " + report.failure;
    if (!kcp_interop::exitedCleanly(status))
        return "the peer did not exit cleanly (wait status " + std::to_string(status) + ")\n" + peer.transcript();
    result->peerRetransmits = report.counter("RetransSegs");
    result->peerRepeats = report.counter("RepeatSegs");
    result->peerInputErrors = report.counter("KCPInErrors");
    return {};
}

void runAndReport(const TransferCase &tc)
{
    TransferResult r;
    const std::string error = runTransfer(tc, &r);
    ASSERT_TRUE(error.empty()) << error;
    const auto &st = r.stats;
    const double mb = static_cast<double>(tc.bytes) / 1e6;
    std::printf("[interop] %s: %.1f MB each way in %.3f s (%.1f MB/s each way); send()/recv() calls %" PRIu64
                "/%" PRIu64 "; engine datagrams out/in %" PRIu64 "/%" PRIu64 ", retransmits timeout/fast %" PRIu64
                "/%" PRIu64 ", srtt %u ms, rto %u ms; dropped out/in %" PRIu64 "/%" PRIu64 ", send errors %" PRIu64
                ", foreign datagrams %" PRIu64 "; kcp-go retransmits %lld, duplicates received %lld\n",
                tc.name, mb, r.seconds, mb / r.seconds, r.messagesOut, r.messagesIn, st.datagramsSent,
                st.datagramsReceived, st.retransmitsTimeout, st.retransmitsFast, st.srtt, st.rto, r.droppedOut,
                r.droppedIn, r.sendErrors, r.foreignDatagrams, r.peerRetransmits, r.peerRepeats);
    ::testing::Test::RecordProperty("seconds", std::to_string(r.seconds));
    EXPECT_EQ(st.malformedDatagrams, 0u);
    EXPECT_EQ(st.wrongConvDatagrams, 0u);
    EXPECT_EQ(r.foreignDatagrams, 0u);
    EXPECT_EQ(r.peerInputErrors, 0) << "kcp-go's Input() rejected datagrams of our engine (or sent no SNMP line)";
}

} // namespace

// Our engine dials a kcp-go Listener (which creates its session from our first datagram).
TEST(Interop, EngineToKcpGoStream)
{
    runAndReport({"EngineToKcpGoStream", true, false, 0x4B430001});
}

TEST(Interop, EngineToKcpGoMessage)
{
    runAndReport({"EngineToKcpGoMessage", false, false, 0x4B430002});
}

// A kcp-go client (NewConn3 with the conv we chose) dials our engine.
TEST(Interop, KcpGoToEngineStream)
{
    runAndReport({"KcpGoToEngineStream", true, true, 0x4B430003});
}

TEST(Interop, KcpGoToEngineMessage)
{
    runAndReport({"KcpGoToEngineMessage", false, true, 0x4B430004});
}

// 10 % of the datagrams lost each way (dropped by this driver): both ARQs must retransmit into each other.
TEST(Interop, EngineToKcpGoLossyMessage)
{
    TransferCase tc {"EngineToKcpGoLossyMessage", false, false, 0x4B430005};
    tc.lossPercent = 10;
    runAndReport(tc);
}

TEST(Interop, KcpGoToEngineLossyStream)
{
    TransferCase tc {"KcpGoToEngineLossyStream", true, true, 0x4B430006};
    tc.lossPercent = 10;
    runAndReport(tc);
}

// The engine's clock wraps from 2^32 - 1 to 0 a quarter second into the transfer, with losses, so that RTO and
// flush timers and RTT samples straddle the wrap (the peer's clock does not wrap: the timestamps the engine
// gets echoed back are its own).
TEST(Interop, EngineClockWrapLossyMessage)
{
    TransferCase tc {"EngineClockWrapLossyMessage", false, false, 0x4B430007};
    tc.lossPercent = 10;
    tc.clockOffset = 0u - 250u - nowMs();
    runAndReport(tc);
}

// The data generators here and in the Go peer agree (bytes and message sizes), so a transfer failure is never
// a generator mismatch.
TEST(Interop, PatternMatchesPeer)
{
    struct Params {
        std::uint64_t seed, bytes, unit, max;
    };
    for (const Params p : {Params {7, 1000003, 1376, 8 * 1376}, Params {kSeedFromPeer, 300000, 1376, 1376},
                           Params {3, 4096, 100, 1000}}) {
        int status = -1;
        std::string error;
        const auto lines = runPeer({"pattern", "--seed", std::to_string(p.seed), "--bytes", std::to_string(p.bytes),
                                    "--msg-unit", std::to_string(p.unit), "--max-msg", std::to_string(p.max)},
                                   20s, &status, &error);
        ASSERT_TRUE(error.empty()) << error;
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

        Pattern pattern(p.seed);
        Sha256 bytesHash;
        std::vector<std::uint8_t> buf(4093); // odd size: exercises words split across calls
        for (std::uint64_t left = p.bytes; left > 0;) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left));
            pattern.fill(buf.data(), n);
            bytesHash.update(buf.data(), n);
            left -= n;
        }
        MessageSizes sizes(p.seed, p.unit, p.max);
        Sha256 sizesHash;
        std::uint64_t count = 0;
        for (std::uint64_t left = p.bytes; left > 0; ++count) {
            const std::size_t n = sizes.next(left);
            std::uint8_t le[4];
            kcpnet::kcpPutU32(le, static_cast<std::uint32_t>(n));
            sizesHash.update(le, 4);
            left -= n;
        }
        const std::string wantPattern = "PATTERN seed=" + std::to_string(p.seed) + " bytes=" + std::to_string(p.bytes)
            + " sha256=" + bytesHash.hex();
        const std::string wantSizes = "SIZES seed=" + std::to_string(p.seed) + " count=" + std::to_string(count)
            + " sha256=" + sizesHash.hex();
        ASSERT_EQ(lines.size(), 2u);
        EXPECT_EQ(lines[0], wantPattern);
        EXPECT_EQ(lines[1], wantSizes);
    }
}

// The peer's bench mode prints the BENCH lines benchmarks/engine parses (format documented in main.go).
TEST(Interop, KcpGoBenchFormat)
{
    int status = -1;
    std::string error;
    const auto lines = runPeer({"bench", "--bytes", "2000000", "--lossy-bytes", "1000000", "--loss", "0,10",
                                "--timeout", "40s"},
                               50s, &status, &error);
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    const std::vector<std::string> keys = {"MB", "MBps", "MBps_virtual", "MBps_cpu", "cpu_ms_per_MB", "bytes",
                                           "seconds", "cpu_ms", "loss_pct", "delay_ms", "acknodelay", "nodelay",
                                           "interval", "resend", "nc", "sndwnd", "rcvwnd", "mtu", "datagrams",
                                           "dropped", "retransmits", "verified"};
    ASSERT_EQ(lines.size(), 2u);
    const char *cases[] = {"lossless", "loss10"};
    for (std::size_t i = 0; i < 2; ++i) {
        const auto w = splitWords(lines[i]);
        ASSERT_EQ(w.size(), 3 + keys.size()) << lines[i];
        EXPECT_EQ(w[0], "BENCH");
        EXPECT_EQ(w[1], "kcpgo");
        EXPECT_EQ(w[2], cases[i]);
        for (std::size_t k = 0; k < keys.size(); ++k)
            EXPECT_EQ(w[3 + k].substr(0, keys[k].size() + 1), keys[k] + "=") << lines[i];
        EXPECT_GT(std::atof(wordValue(w, "MBps").c_str()), 0.0);
        EXPECT_EQ(wordValue(w, "verified"), "1");
        EXPECT_EQ(wordValue(w, "bytes"), i == 0 ? "2000000" : "1000000");
        std::printf("[interop] %s\n", lines[i].c_str());
    }
}
