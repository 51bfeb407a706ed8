// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpGoPacketPipe (kcpnet/compat/kcpgopacketpipe.h): headroom, drops by reason, two engines talking through two
// pipes over a lossy in-memory link (virtual clock), and both directions against kcp-go sessions run by
// kcpgo-vectors: our engine + pipe -> kcp-go (with data shards lost: kcp-go must repair them from our parity),
// and kcp-go -> pipe + our engine (with losses repaired by our decoder), for every cipher with FEC 10/3.
#include "compat_support.h"
#include "kcpengine.h"
#include "kcpgopacketpipe.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <tuple>

using namespace kcpnet;
using compat_test::Bytes;

namespace {

const char *const kCiphers[] = {"none", "null", "xor", "aes", "aes-128", "aes-192", "3des", "salsa20"};

Bytes testKey()
{
    return compat_test::Pattern(0xBEEF).take(32);
}

std::unique_ptr<KcpGoPacketPipe> makePipe(int d, int p, const std::string &cipher, const Bytes &key = testKey())
{
    KcpGoPipeConfig cfg;
    cfg.dataShards = d;
    cfg.parityShards = p;
    cfg.cipher = cipher;
    cfg.key = key;
    std::string error;
    auto pipe = KcpGoPacketPipe::create(cfg, &error);
    EXPECT_NE(pipe, nullptr) << error;
    return pipe;
}

std::uint32_t le32(const std::uint8_t *p)
{
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8)
        | (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

// sn of every PUSH segment in a KCP datagram.
void pushSns(const std::uint8_t *d, std::size_t n, std::set<std::uint32_t> *sns)
{
    for (std::size_t off = 0; off + 24 <= n;) {
        const std::uint32_t len = le32(d + off + 20);
        if (d[off + 4] == 81)
            sns->insert(le32(d + off + 12));
        off += 24 + len;
    }
}

} // namespace

TEST(CompatPipe, HeadroomAndConfigErrors)
{
    EXPECT_EQ(makePipe(0, 0, "none")->overhead(), 0u);
    EXPECT_EQ(makePipe(10, 3, "none")->overhead(), 8u);
    EXPECT_EQ(makePipe(0, 0, "aes")->overhead(), 20u);
    auto both = makePipe(10, 3, "salsa20");
    EXPECT_EQ(both->overhead(), 28u);
    EXPECT_EQ(both->engineMtu(1400), 1372u);
    std::string error;
    KcpGoPipeConfig cfg;
    cfg.dataShards = 10;
    EXPECT_EQ(KcpGoPacketPipe::create(cfg, &error), nullptr) << "parity 0 with data 10";
    EXPECT_FALSE(error.empty());
    cfg = {};
    cfg.cipher = "aes-192";
    cfg.key = Bytes(16, 0);
    EXPECT_EQ(KcpGoPacketPipe::create(cfg, &error), nullptr);
    EXPECT_NE(error.find("24"), std::string::npos) << error;
    cfg = {};
    cfg.cipher = "aes";
    cfg.key = testKey();
    cfg.dataShards = 10;
    cfg.parityShards = 3;
    cfg.maxDatagram = 50;
    EXPECT_EQ(KcpGoPacketPipe::create(cfg, &error), nullptr) << "no room for a KCP header";
}

TEST(CompatPipe, DropsByReason)
{
    auto pipe = makePipe(10, 3, "aes");
    const Bytes big(1473, 1); // + 28 > 1500
    EXPECT_TRUE(pipe->outgoing(big.data(), big.size()).empty());
    EXPECT_EQ(pipe->stats().oversizeOut, 1u);
    const Bytes fits(1472, 1);
    EXPECT_EQ(pipe->outgoing(fits.data(), fits.size()).at(0).size(), 1500u);

    EXPECT_TRUE(pipe->incoming(Bytes(1501, 0).data(), 1501, 0).empty());
    EXPECT_EQ(pipe->stats().oversizeIn, 1u);
    EXPECT_FALSE(pipe->incoming(Bytes(19, 0).data(), 19, 0, [](const std::uint8_t *, std::size_t) {}));
    EXPECT_EQ(pipe->stats().tooShortCrypt, 1u);
    EXPECT_TRUE(pipe->incoming(Bytes(100, 0).data(), 100, 0).empty());
    EXPECT_EQ(pipe->stats().badChecksum, 1u);
    // A valid datagram too short for KCP after the crypt layer.
    auto crypt = KcpGoCrypt::create("aes", testKey());
    const Bytes tiny = crypt->seal(Bytes(10, 0));
    EXPECT_TRUE(pipe->incoming(tiny.data(), tiny.size(), 0).empty());
    EXPECT_EQ(pipe->stats().tooShortKcp, 1u);
    EXPECT_EQ(pipe->stats().kcpIn, 0u);
}

TEST(CompatPipe, WithoutFecDataShardsAreUnwrapped)
{
    // kcp-go hands FEC data shards to KCP even when it runs without FEC; parity shards are ignored.
    auto sender = makePipe(2, 1, "null");
    auto receiver = makePipe(0, 0, "null");
    const Bytes a(40, 0xA), b(60, 0xB);
    std::vector<Bytes> got;
    for (const Bytes *pkt : {&a, &b}) {
        for (const Bytes &w : sender->outgoing(pkt->data(), pkt->size())) {
            for (Bytes &k : receiver->incoming(w.data(), w.size(), 0))
                got.push_back(std::move(k));
        }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], a);
    EXPECT_EQ(got[1], b);
    EXPECT_EQ(receiver->stats().parityIgnored, 1u);
}

// Two engines, two pipes (FEC 10/3 + aes), 10 % loss each way on a virtual clock: all data arrives, and FEC
// repairs some losses before the ARQ has to.
TEST(CompatPipe, EnginePairOverLossyLink)
{
    const std::uint32_t conv = 0x600D;
    auto pipeA = makePipe(10, 3, "aes");
    auto pipeB = makePipe(10, 3, "aes");
    std::deque<Bytes> toA, toB;
    compat_test::SplitMix64 loss(7);
    std::uint32_t now = 1;
    KcpEngine a(conv, [&](const std::uint8_t *d, std::size_t n) {
        pipeA->outgoing(d, n, now, [&](const std::uint8_t *w, std::size_t m) {
            if (loss.next() % 100 >= 10)
                toB.emplace_back(w, w + m);
        });
    });
    KcpEngine b(conv, [&](const std::uint8_t *d, std::size_t n) {
        pipeB->outgoing(d, n, now, [&](const std::uint8_t *w, std::size_t m) {
            if (loss.next() % 100 >= 10)
                toA.emplace_back(w, w + m);
        });
    });
    for (KcpEngine *e : {&a, &b}) {
        e->setNoDelay(1, 10, 2, true);
        e->setWindowSize(256, 256);
        e->setMtu(pipeA->engineMtu(1400));
        e->setStreamMode(true);
    }
    const std::size_t total = 1u << 20;
    compat_test::Pattern outA(1), outB(2), wantAtB(1), wantAtA(2);
    std::size_t sentA = 0, sentB = 0, gotA = 0, gotB = 0;
    Bytes buf(64 * 1024), want(64 * 1024);
    for (int step = 0; step < 200000 && (gotA < total || gotB < total); ++step) {
        for (auto [e, out, sent] : {std::tuple(&a, &outA, &sentA), std::tuple(&b, &outB, &sentB)}) {
            while (*sent < total && e->waitSnd() < 512) {
                const std::size_t n = std::min<std::size_t>(8192, total - *sent);
                out->fill(buf.data(), n);
                e->send(buf.data(), static_cast<int>(n));
                *sent += n;
            }
            e->update(now);
        }
        for (auto [queue, pipe, e] : {std::tuple(&toA, pipeA.get(), &a), std::tuple(&toB, pipeB.get(), &b)}) {
            while (!queue->empty()) {
                const Bytes w = std::move(queue->front());
                queue->pop_front();
                pipe->incoming(w.data(), w.size(), now, [&](const std::uint8_t *k, std::size_t m) {
                    ASSERT_EQ(e->input(k, m, now), KcpInputResult::Ok);
                });
            }
        }
        for (auto [e, want_, got] : {std::tuple(&a, &wantAtA, &gotA), std::tuple(&b, &wantAtB, &gotB)}) {
            for (int n; (n = e->recv(buf.data(), static_cast<int>(buf.size()))) > 0;) {
                want_->fill(want.data(), static_cast<std::size_t>(n));
                ASSERT_TRUE(std::equal(buf.begin(), buf.begin() + n, want.begin())) << "at byte " << *got;
                *got += static_cast<std::size_t>(n);
            }
        }
        now += 5;
    }
    EXPECT_EQ(gotA, total);
    EXPECT_EQ(gotB, total);
    const auto &da = *pipeA->fecDecoder(), &db = *pipeB->fecDecoder();
    std::printf("[compat] engine pair, FEC 10/3 + aes, 10%% loss: %u ms virtual; recovered by FEC %llu / %llu, "
                "unrecoverable groups %llu / %llu, retransmits %llu / %llu\n",
                now, static_cast<unsigned long long>(da.stats().recovered),
                static_cast<unsigned long long>(db.stats().recovered),
                static_cast<unsigned long long>(da.stats().unrecoverableGroups),
                static_cast<unsigned long long>(db.stats().unrecoverableGroups),
                static_cast<unsigned long long>(a.stats().retransmitsTimeout + a.stats().retransmitsFast),
                static_cast<unsigned long long>(b.stats().retransmitsTimeout + b.stats().retransmitsFast));
    EXPECT_GT(da.stats().recovered, 0u);
    EXPECT_GT(db.stats().recovered, 0u);
    EXPECT_EQ(pipeA->stats().badChecksum + pipeB->stats().badChecksum, 0u);
}

TEST(CompatPipe, WrongKeyDeliversNothing)
{
    auto sender = makePipe(10, 3, "aes", testKey());
    auto receiver = makePipe(10, 3, "aes", compat_test::Pattern(1).take(32));
    std::size_t delivered = 0;
    const Bytes pkt(200, 3);
    for (int i = 0; i < 30; ++i) {
        for (const Bytes &w : sender->outgoing(pkt.data(), pkt.size()))
            delivered += receiver->incoming(w.data(), w.size(), 0).size();
    }
    EXPECT_EQ(delivered, 0u);
    EXPECT_EQ(receiver->stats().badChecksum, 39u); // 30 data + 9 parity
    EXPECT_EQ(receiver->fecDecoder()->stats().dataShards, 0u);
}

// Our engine + pipe -> a kcp-go session (in memory, kcpgo-vectors inject). One data shard in every group of 13 is
// lost, two in every third group: kcp-go must rebuild them from our parity shards, as no ACK ever comes back to
// make our engine retransmit.
TEST(CompatPipe, KcpGoRecoversFromOurParity)
{
    COMPAT_REQUIRE_VECTORS();
    const Bytes key = testKey();
    for (const char *cipher : kCiphers) {
        auto pipe = makePipe(10, 3, cipher);
        const std::uint32_t conv = 0x1234;
        std::vector<Bytes> wire;
        KcpEngine engine(conv, [&](const std::uint8_t *d, std::size_t n) {
            pipe->outgoing(d, n, 0, [&](const std::uint8_t *w, std::size_t m) { wire.emplace_back(w, w + m); });
        });
        engine.setNoDelay(1, 10, 2, true);
        engine.setWindowSize(1024, 1024);
        engine.setMtu(pipe->engineMtu(1400));
        compat_test::Pattern data(3);
        compat_test::SplitMix64 sizes(11);
        compat_test::Sha256 hash;
        std::size_t total = 0;
        for (int i = 0; i < 110; ++i) { // one segment each: within kcp-go's initial window of 128
            const std::size_t n = 1 + sizes.next() % engine.mss();
            const Bytes msg = data.take(n);
            ASSERT_EQ(engine.send(msg.data(), static_cast<int>(n)), static_cast<int>(n));
            hash.update(msg.data(), n);
            total += n;
        }
        engine.flush(1);
        const std::size_t groups = wire.size() / 13;
        ASSERT_GE(groups, 3u) << cipher;
        std::string input;
        std::size_t dropped = 0;
        for (std::size_t i = 0; i < wire.size(); ++i) {
            const std::size_t g = i / 13, pos = i % 13;
            const bool lose = g < groups && (pos == g % 10 || (g % 3 == 0 && pos == (g + 5) % 10));
            if (lose) {
                ++dropped;
                continue;
            }
            input += "DGRAM " + compat_test::toHex(wire[i]) + "\n";
        }
        input += "END\n";
        const auto r = compat_test::runTool(compat_test::vectorsPath(),
                                            {"inject", "--crypt", cipher, "--key-hex", compat_test::toHex(key),
                                             "--datashard", "10", "--parityshard", "3", "--conv", std::to_string(conv),
                                             "--expect-bytes", std::to_string(total)},
                                            input);
        ASSERT_TRUE(r.error.empty()) << cipher << ": " << r.error;
        const auto received = compat_test::splitWords(compat_test::vectorsLines(r, "RECEIVED").at(0));
        const auto snmp = compat_test::splitWords(compat_test::vectorsLines(r, "SNMP").at(0));
        EXPECT_EQ(compat_test::wordValue(received, "bytes"), std::to_string(total)) << cipher;
        EXPECT_EQ(compat_test::wordValue(received, "sha256"), hash.hex()) << cipher;
        EXPECT_EQ(compat_test::wordValue(received, "messages"), "110") << cipher;
        EXPECT_EQ(compat_test::wordValue(snmp, "FECRecovered"), std::to_string(dropped)) << cipher;
        EXPECT_EQ(compat_test::wordValue(snmp, "InCsumErrors"), "0") << cipher;
        EXPECT_EQ(compat_test::wordValue(snmp, "KCPInErrors"), "0") << cipher;
        EXPECT_EQ(compat_test::wordValue(snmp, "FECErrs"), "0") << cipher;
        std::printf("[compat] %s + FEC 10/3 -> kcp-go: %zu datagrams, %zu lost, kcp-go recovered %s, %zu bytes "
                    "intact\n",
                    cipher, wire.size(), dropped, compat_test::wordValue(snmp, "FECRecovered").c_str(), total);
    }
}

// A kcp-go session -> our pipe + engine, with losses our decoder must repair.
TEST(CompatPipe, WeRecoverKcpGoShards)
{
    COMPAT_REQUIRE_VECTORS();
    const Bytes key = testKey();
    const std::uint64_t seed = 5;
    const int groups = 8;
    for (const char *cipher : kCiphers) {
        const auto r = compat_test::runTool(compat_test::vectorsPath(),
                                            {"capture", "--crypt", cipher, "--key-hex", compat_test::toHex(key),
                                             "--datashard", "10", "--parityshard", "3", "--conv", "77", "--count",
                                             std::to_string(13 * groups), "--seed", std::to_string(seed)},
                                            "");
        ASSERT_TRUE(r.error.empty()) << r.error;
        std::vector<Bytes> wire;
        for (const std::string &h : compat_test::vectorsLines(r, "DGRAM"))
            wire.push_back(compat_test::fromHex(h));
        ASSERT_EQ(wire.size(), static_cast<std::size_t>(13 * groups));

        // What kcp-go sent: every PUSH sn in its data shards (read through a second pipe, no losses).
        auto reader = makePipe(10, 3, cipher);
        std::set<std::uint32_t> sns;
        for (const Bytes &w : wire)
            reader->incoming(w.data(), w.size(), 0, [&](const std::uint8_t *d, std::size_t n) { pushSns(d, n, &sns); });
        std::uint32_t prefix = 0;
        while (sns.count(prefix))
            ++prefix;

        auto pipe = makePipe(10, 3, cipher);
        KcpEngine engine(77, [](const std::uint8_t *, std::size_t) {});
        engine.setNoDelay(1, 10, 2, true);
        engine.setWindowSize(1024, 1024);
        engine.setMtu(pipe->engineMtu(1400));
        std::size_t dropped = 0;
        for (std::size_t i = 0; i < wire.size(); ++i) {
            const std::size_t g = i / 13, pos = i % 13;
            if (pos == (g * 3) % 10 || (g % 2 == 1 && pos == (g * 3 + 4) % 10) || (g % 4 == 2 && pos == 11)) {
                ++dropped;
                continue;
            }
            pipe->incoming(wire[i].data(), wire[i].size(), 0, [&](const std::uint8_t *d, std::size_t n) {
                ASSERT_EQ(engine.input(d, n, 0), KcpInputResult::Ok) << cipher;
            });
        }
        // The messages kcpgo-vectors wrote: sizes 1..MSS from splitmix64(seed ^ A5..), every 7th (i % 7 == 3) a
        // full MSS; bytes from the pattern of `seed`.
        const std::size_t mss = 1400 - 24 - 8 - (std::string(cipher) == "none" ? 0 : 20);
        compat_test::SplitMix64 sizeGen(seed ^ 0xA5A5A5A5A5A5A5A5ull);
        compat_test::Pattern bytes(seed);
        Bytes buf(2048);
        std::uint32_t delivered = 0;
        for (int n; (n = engine.recv(buf.data(), static_cast<int>(buf.size()))) > 0; ++delivered) {
            std::size_t want = 1 + sizeGen.next() % mss;
            if (delivered % 7 == 3)
                want = mss;
            ASSERT_EQ(static_cast<std::size_t>(n), want) << cipher << " message " << delivered;
            ASSERT_EQ(Bytes(buf.begin(), buf.begin() + n), bytes.take(want)) << cipher << " message " << delivered;
        }
        const auto &st = pipe->fecDecoder()->stats();
        EXPECT_EQ(delivered, prefix) << cipher << ": every message kcp-go sent in these groups";
        std::size_t lostData = 0;
        for (std::size_t g = 0; g < static_cast<std::size_t>(groups); ++g)
            lostData += 1 + (g % 2 == 1 ? 1 : 0);
        EXPECT_EQ(st.recovered, lostData) << cipher;
        EXPECT_EQ(st.recoveryErrors + st.unrecoverableGroups + st.mismatched, 0u) << cipher;
        EXPECT_EQ(pipe->stats().badChecksum, 0u) << cipher;
        std::printf("[compat] kcp-go %s + FEC 10/3 -> us: %zu datagrams, %zu lost, %llu recovered, %u messages\n",
                    cipher, wire.size(), dropped, static_cast<unsigned long long>(st.recovered), delivered);
    }
}
