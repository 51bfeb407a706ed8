// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// End to end over real UDP on 127.0.0.1: our KcpEngine behind a KcpGoPacketPipe (FEC 10/3 + each cipher) against
// tests/interop's kcpgo-peer (a kcp-go Listener with the same --crypt/--key-hex/--datashard/--parityshard), both
// ways at once in stream mode, SHA-256 compared at both ends. The lossy cases drop 10 % of the datagrams this
// driver receives (and of those it sends), so both FEC decoders must repair some losses before the ARQs do.
// A wrong key on the peer's side shows up here as CRC failures and nothing else.
//
// POSIX sockets and poll(); the engine clock is steady_clock; each case is bounded by 45 s of wall clock.
#include "compat_support.h"
#include "kcpengine.h"
#include "kcpgopacketpipe.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cctype>
#include <cinttypes>

using namespace kcpnet;
using namespace std::chrono_literals;
using compat_test::Bytes;
using compat_test::Clock;
using kcp_interop::nowMs;
using kcp_interop::PeerReport;
using kcp_interop::UdpPeerDriver;
using kcp_interop::UdpSocket;

namespace {

constexpr auto kCaseBudget = 45s;
constexpr std::uint64_t kSeedToPeer = 1;
constexpr std::uint64_t kSeedFromPeer = 2;
constexpr std::uint32_t kUdpMtu = 1400;

Bytes testKey()
{
    return compat_test::Pattern(0x5EC12E7).take(32);
}

struct Case {
    std::string cipher;
    std::uint64_t bytes;  // each way
    unsigned lossPercent; // of the datagrams received (and of those sent) by this driver
};

struct Result {
    double seconds = 0;
    std::uint64_t droppedIn = 0, droppedOut = 0;
    std::uint64_t recovered = 0, unrecoverable = 0, badChecksum = 0;
    long long peerRecovered = -1, peerCsumErrors = -1, peerKcpInErrors = -1, peerRetransmits = -1;
    std::uint64_t retransmits = 0;
};

std::vector<std::string> peerArgs(const Case &c, const Bytes &key)
{
    return {"serve",
            "--listen",
            "127.0.0.1:0",
            "--sessions",
            "1",
            "--mode",
            "stream",
            "--role",
            "both",
            "--bytes",
            std::to_string(c.bytes),
            "--send-seed",
            std::to_string(kSeedFromPeer),
            "--recv-seed",
            std::to_string(kSeedToPeer),
            "--nodelay",
            "1",
            "--interval",
            "10",
            "--resend",
            "2",
            "--nc",
            "1",
            "--sndwnd",
            "512",
            "--rcvwnd",
            "512",
            "--mtu",
            std::to_string(kUdpMtu),
            "--timeout",
            "60s",
            "--crypt",
            c.cipher,
            "--key-hex",
            compat_test::toHex(key),
            "--datashard",
            "10",
            "--parityshard",
            "3"};
}

// Moves c.bytes each way between our engine (+ pipe) and the kcp-go peer. Returns "" on success.
std::string runTransfer(const Case &c, Result *result)
{
    const std::uint32_t conv = 0x4B470000u + static_cast<std::uint32_t>(c.cipher.size() * 16 + c.lossPercent);
    compat_test::SplitMix64 lossRng(conv);
    const auto lose = [&] { return c.lossPercent > 0 && lossRng.next() % 100 < c.lossPercent; };
    const auto start = Clock::now();
    const auto deadline = start + kCaseBudget;
    const Bytes key = testKey();

    UdpPeerDriver driver;
    if (!driver.socket().isValid())
        return std::string("cannot bind UDP on 127.0.0.1: ") + std::strerror(errno);
    KcpGoPipeConfig cfg;
    cfg.dataShards = 10;
    cfg.parityShards = 3;
    cfg.cipher = c.cipher;
    cfg.key = key;
    std::string error;
    auto pipe = KcpGoPacketPipe::create(cfg, &error);
    if (!pipe)
        return "pipe: " + error;

    KcpEngine engine(conv, [&](const std::uint8_t *data, std::size_t size) {
        pipe->outgoing(data, size, nowMs(), [&](const std::uint8_t *d, std::size_t n) {
            if (lose()) {
                ++result->droppedOut;
                return;
            }
            driver.sendToPeer(d, n);
        });
    });
    engine.setNoDelay(1, 10, 2, true);
    engine.setWindowSize(512, 512);
    engine.setMtu(pipe->engineMtu(kUdpMtu)); // kcp-go reserves the same headroom inside its MTU
    engine.setStreamMode(true);

    compat_test::ChildProcess peer;
    if (!peer.start(compat_test::peerPath(), peerArgs(c, key), &error))
        return error;
    PeerReport report;
    compat_test::Pattern outData(kSeedToPeer), inExpected(kSeedFromPeer);
    compat_test::Sha256 outHash, inHash;
    Bytes sendBuf(16 * 1024), recvBuf(64 * 1024), want(64 * 1024);
    std::uint64_t sent = 0, received = 0;
    const std::uint64_t total = c.bytes;
    const auto describe = [&] {
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "%s loss %u%%: sent %" PRIu64 "/%" PRIu64 ", received %" PRIu64 "/%" PRIu64
                      ", waitSnd %u, peer received=%d sent=%d ok=%d",
                      c.cipher.c_str(), c.lossPercent, sent, total, received, total, engine.waitSnd(), report.received,
                      report.sent, report.sessionOk);
        return std::string(buf) + "\npeer: " + peer.commandLine() + "\n" + peer.transcript();
    };
    // The peer's lines: it listens on 127.0.0.1 and we dial it.
    const auto onLine = [&](const std::string &line) -> std::string {
        report.parse(line);
        if (!report.failure.empty())
            return "the peer failed: " + report.failure + "\n" + describe();
        if (report.listenPort && !driver.peerKnown())
            driver.setLoopbackPeer(report.listenPort);
        return {};
    };
    // Its datagrams, through the pipe (FEC, decryption) into the engine; a lost one never reaches the pipe.
    const auto onDatagram = [&](const std::uint8_t *data, std::size_t size, const sockaddr_in &from) -> std::string {
        if (!driver.peerKnown() || from.sin_port != driver.peerAddress().sin_port)
            return {};
        if (lose()) {
            ++result->droppedIn;
            return {};
        }
        const std::uint32_t now = nowMs();
        pipe->incoming(data, size, now, [&](const std::uint8_t *d, std::size_t len) { engine.input(d, len, now); });
        return {};
    };

    for (long iteration = 0;; ++iteration) {
        if (Clock::now() > deadline || iteration > 50'000'000)
            return "timeout: " + describe();
        const auto moreToQueue = [&] { return sent < total && engine.waitSnd() < 2 * engine.sendWindow(); };
        if (driver.peerKnown()) {
            while (moreToQueue()) {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sendBuf.size(), total - sent));
                outData.fill(sendBuf.data(), n);
                outHash.update(sendBuf.data(), n);
                engine.send(sendBuf.data(), static_cast<int>(n));
                sent += n;
            }
            engine.update(nowMs());
        }
        for (int n; (n = engine.recv(recvBuf.data(), static_cast<int>(recvBuf.size()))) > 0;) {
            if (static_cast<std::uint64_t>(n) > total - received)
                return "received more than sent: " + describe();
            inExpected.fill(want.data(), static_cast<std::size_t>(n));
            if (std::memcmp(recvBuf.data(), want.data(), static_cast<std::size_t>(n)) != 0)
                return "received data differs near byte " + std::to_string(received) + ": " + describe();
            inHash.update(recvBuf.data(), static_cast<std::size_t>(n));
            received += static_cast<std::uint64_t>(n);
        }
        if (sent == total && received == total && report.received && report.sent && report.sessionOk)
            break;

        const int timeoutMs = driver.peerKnown() ? kcp_interop::engineWaitMs(engine, nowMs(), moreToQueue()) : 100;
        bool peerOpen = true;
        error = driver.wakeUp(peer, std::min(timeoutMs, compat_test::msUntil(deadline)), &peerOpen, onLine, onDatagram);
        if (!error.empty())
            return error;
        if (!peerOpen)
            return "the peer exited early: " + describe();
    }
    result->seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (report.receivedBytes != total || report.receivedHex != outHash.hex())
        return "the peer's SHA-256 of what it received differs from ours of what we sent: " + describe();
    if (report.sentBytes != total || report.sentHex != inHash.hex())
        return "our SHA-256 of what we received differs from the peer's of what it sent: " + describe();
    std::vector<std::string> lines;
    const int status = peer.finish(Clock::now() + 10s, &lines);
    for (const std::string &line : lines)
        report.parse(line);
    if (!kcp_interop::exitedCleanly(status))
        return "the peer did not exit cleanly: " + describe();
    const auto &fec = pipe->fecDecoder()->stats();
    result->recovered = fec.recovered;
    result->unrecoverable = fec.unrecoverableGroups;
    result->badChecksum = pipe->stats().badChecksum;
    result->retransmits = engine.stats().retransmitsTimeout + engine.stats().retransmitsFast;
    result->peerRecovered = report.counter("FECRecovered");
    result->peerCsumErrors = report.counter("InCsumErrors");
    result->peerKcpInErrors = report.counter("KCPInErrors");
    result->peerRetransmits = report.counter("RetransSegs");
    return {};
}

void runCase(const Case &c)
{
    if (compat_test::peerPath().empty())
        GTEST_SKIP() << "kcpgo-peer not built (needs Go and Debian's golang-github-xtaci-kcp-dev)";
    Result r;
    const std::string error = runTransfer(c, &r);
    ASSERT_TRUE(error.empty()) << error;
    const double mb = static_cast<double>(c.bytes) / 1e6;
    std::printf("[compat] %-8s FEC 10/3 loss %2u%%: %.1f MB each way in %.3f s (%.1f MB/s each way); dropped in/out "
                "%" PRIu64 "/%" PRIu64 "; FEC recovered here %" PRIu64 ", by kcp-go %lld; unrecoverable groups %" PRIu64
                "; retransmits here %" PRIu64 ", kcp-go %lld\n",
                c.cipher.c_str(), c.lossPercent, mb, r.seconds, mb / r.seconds, r.droppedIn, r.droppedOut, r.recovered,
                r.peerRecovered, r.unrecoverable, r.retransmits, r.peerRetransmits);
    EXPECT_EQ(r.badChecksum, 0u);
    EXPECT_EQ(r.peerCsumErrors, 0);
    EXPECT_EQ(r.peerKcpInErrors, 0);
    if (c.lossPercent > 0) {
        EXPECT_GT(r.recovered, 0u) << "our decoder repaired no loss";
        EXPECT_GT(r.peerRecovered, 0) << "kcp-go repaired no loss from our parity";
    }
}

class CompatInterop : public ::testing::TestWithParam<std::string>
{};

} // namespace

TEST_P(CompatInterop, Lossless)
{
    runCase({GetParam(), 3'000'000, 0});
}

TEST_P(CompatInterop, Loss10Percent)
{
    runCase({GetParam(), 1'000'000, 10});
}

INSTANTIATE_TEST_SUITE_P(Ciphers, CompatInterop,
                         ::testing::Values("none", "null", "xor", "aes", "aes-128", "aes-192", "3des", "salsa20"),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                             std::string name;
                             for (char ch : info.param)
                                 name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return name;
                         });

// The peer dials us with another key: all we see are CRC failures; nothing reaches the engine.
TEST(CompatInteropWrongKey, PeerWithOtherKeyIsRejected)
{
    if (compat_test::peerPath().empty())
        GTEST_SKIP() << "kcpgo-peer not built";
    UdpSocket sock;
    ASSERT_GE(sock.fd(), 0);
    KcpGoPipeConfig cfg;
    cfg.dataShards = 10;
    cfg.parityShards = 3;
    cfg.cipher = "aes";
    cfg.key = testKey();
    auto pipe = KcpGoPacketPipe::create(cfg);
    ASSERT_NE(pipe, nullptr);
    compat_test::ChildProcess peer;
    std::string error;
    const Bytes otherKey = compat_test::Pattern(1).take(32);
    ASSERT_TRUE(peer.start(compat_test::peerPath(),
                           {"dial",        "--connect", "127.0.0.1:" + std::to_string(sock.port()),
                            "--conv",      "99",        "--mode",
                            "stream",      "--role",    "source",
                            "--bytes",     "100000",    "--crypt",
                            "aes",         "--key-hex", compat_test::toHex(otherKey),
                            "--datashard", "10",        "--parityshard",
                            "3",           "--timeout", "30s"},
                           &error))
        << error;
    const auto deadline = Clock::now() + 20s;
    Bytes datagram(65536);
    std::size_t delivered = 0;
    std::vector<std::string> lines;
    while (pipe->stats().badChecksum < 20 && Clock::now() < deadline) {
        pollfd p{sock.fd(), POLLIN, 0};
        if (::poll(&p, 1, compat_test::msUntil(deadline)) <= 0)
            continue;
        for (int i = 0; i < 64; ++i) {
            const ssize_t n = ::recv(sock.fd(), datagram.data(), datagram.size(), 0);
            if (n < 0)
                break;
            pipe->incoming(datagram.data(), static_cast<std::size_t>(n), nowMs(),
                           [&](const std::uint8_t *, std::size_t) { ++delivered; });
        }
        peer.readLines(&lines);
    }
    EXPECT_GE(pipe->stats().badChecksum, 20u);
    EXPECT_EQ(delivered, 0u);
    EXPECT_EQ(pipe->stats().kcpIn, 0u);
    EXPECT_EQ(pipe->fecDecoder()->stats().dataShards + pipe->fecDecoder()->stats().parityShards, 0u);
    std::printf("[compat] kcp-go with another key: %llu datagrams, all CRC failures, nothing delivered\n",
                static_cast<unsigned long long>(pipe->stats().badChecksum));
    peer.kill();
}
