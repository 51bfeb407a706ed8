// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Codec speeds on this machine (printed, not asserted beyond sanity): GF(2^8) kernels, Reed-Solomon 10/3, the FEC
// encoder and decoder (with and without losses), seal/open for each cipher, and the whole pipe (FEC 10/3 + aes).
// Each measurement runs for about 150 ms of wall clock; MB = 10^6 bytes of KCP payload (or shard bytes for RS).
#include "compat_support.h"
#include "kcpfec.h"
#include "kcpgf256.h"
#include "kcpgocrypt.h"
#include "kcpgopacketpipe.h"

#include <gtest/gtest.h>

using namespace kcpnet;
using compat_test::Bytes;
using compat_test::Clock;

namespace {

// Calls `batch` (which processes `bytesPerBatch`) until ~150 ms have passed; returns MB/s.
template <typename F>
double measure(std::size_t bytesPerBatch, F batch)
{
    batch(); // warm-up
    const auto start = Clock::now();
    std::uint64_t bytes = 0;
    double seconds = 0;
    for (int i = 0; i < 10'000'000; ++i) {
        batch();
        bytes += bytesPerBatch;
        if ((i & 15) == 15) {
            seconds = std::chrono::duration<double>(Clock::now() - start).count();
            if (seconds > 0.15)
                break;
        }
    }
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return static_cast<double>(bytes) / 1e6 / seconds;
}

void report(const char *what, double mbps)
{
    std::printf("[speed] %-44s %9.1f MB/s\n", what, mbps);
    ::testing::Test::RecordProperty(what, std::to_string(mbps));
    EXPECT_GT(mbps, 0.0);
}

} // namespace

TEST(CompatSpeed, Gf256Kernels)
{
    Bytes src = compat_test::Pattern(1).take(1400), dst(1400);
    for (auto k : {gf256::Kernel::Scalar, gf256::Kernel::Ssse3, gf256::Kernel::Avx2}) {
        if (!gf256::kernelSupported(k))
            continue;
        const std::string name = std::string("gf256 mulAdd 1400 B, ") + gf256::kernelName(k);
        report(name.c_str(), measure(1400 * 64, [&] {
                   for (int i = 0; i < 64; ++i)
                       gf256::mulAddWith(k, dst.data(), src.data(), static_cast<std::uint8_t>(i + 2), 1400);
               }));
    }
}

TEST(CompatSpeed, ReedSolomon)
{
    KcpReedSolomon rs(10, 3);
    std::vector<Bytes> shards(13, Bytes(1400));
    compat_test::Pattern p(2);
    std::vector<const std::uint8_t *> in;
    std::vector<std::uint8_t *> out, all;
    for (int i = 0; i < 13; ++i) {
        if (i < 10) {
            p.fill(shards[static_cast<std::size_t>(i)].data(), 1400);
            in.push_back(shards[static_cast<std::size_t>(i)].data());
        } else {
            out.push_back(shards[static_cast<std::size_t>(i)].data());
        }
        all.push_back(shards[static_cast<std::size_t>(i)].data());
    }
    report("RS 10/3 encode (data bytes)", measure(14000, [&] { rs.encode(in.data(), out.data(), 1400); }));
    bool present[13];
    for (int i = 0; i < 13; ++i)
        present[i] = !(i == 1 || i == 4 || i == 8);
    report("RS 10/3 rebuild 3 data shards (group bytes)",
           measure(14000, [&] { ASSERT_TRUE(rs.reconstructData(all.data(), present, 1400)); }));
}

TEST(CompatSpeed, FecFraming)
{
    const std::size_t size = 1372 - 8;
    const Bytes pkt = compat_test::Pattern(3).take(size);
    KcpFecEncoder enc(10, 3);
    std::size_t emitted = 0;
    const KcpFecEncoder::Sink count = [&](const std::uint8_t *, std::size_t) { ++emitted; };
    report("FEC 10/3 encode (1364 B KCP datagrams)", measure(size * 10, [&] {
               for (int i = 0; i < 10; ++i)
                   enc.encode(pkt.data(), pkt.size(), count);
           }));
    // 100 groups of wire datagrams, decoded again and again (fresh decoders, since a group is only used once).
    std::vector<Bytes> wire;
    KcpFecEncoder enc2(10, 3);
    for (int i = 0; i < 1000; ++i) {
        for (Bytes &w : enc2.encode(pkt.data(), pkt.size()))
            wire.push_back(std::move(w));
    }
    std::size_t got = 0;
    const KcpFecDecoder::Sink collect = [&](const std::uint8_t *, std::size_t) { ++got; };
    report("FEC 10/3 decode, no loss", measure(size * 1000, [&] {
               KcpFecDecoder dec(10, 3);
               dec.setVerifyParameters(false);
               for (std::size_t i = 0; i < wire.size(); ++i) {
                   if (i % 13 < 10)
                       dec.decode(wire[i].data(), wire[i].size(), 0, collect);
               }
           }));
    report("FEC 10/3 decode, 3 of 10 data shards lost", measure(size * 1000, [&] {
               KcpFecDecoder dec(10, 3);
               dec.setVerifyParameters(false);
               for (std::size_t i = 0; i < wire.size(); ++i) {
                   const std::size_t pos = i % 13;
                   if (pos != 2 && pos != 5 && pos != 7)
                       dec.decode(wire[i].data(), wire[i].size(), 0, collect);
               }
               ASSERT_EQ(dec.stats().recovered, 300u);
           }));
}

TEST(CompatSpeed, Ciphers)
{
    const Bytes key = compat_test::Pattern(4).take(32);
    const std::size_t size = 1380;
    const Bytes payload = compat_test::Pattern(5).take(size);
    for (const char *c : {"null", "xor", "aes", "aes-128", "aes-192", "3des", "salsa20"}) {
        auto crypt = KcpGoCrypt::create(c, key);
        ASSERT_NE(crypt, nullptr);
        Bytes sealed(size + 20), opened(size + 20);
        report((std::string(c) + " seal 1380 B").c_str(), measure(size * 16, [&] {
                   for (int i = 0; i < 16; ++i)
                       crypt->seal(payload.data(), size, sealed.data());
               }));
        std::size_t n = 0;
        report((std::string(c) + " open 1400 B").c_str(), measure(size * 16, [&] {
                   for (int i = 0; i < 16; ++i)
                       crypt->open(sealed.data(), sealed.size(), opened.data(), &n);
               }));
        ASSERT_EQ(n, size);
    }
}

TEST(CompatSpeed, PipeFecAes)
{
    KcpGoPipeConfig cfg;
    cfg.dataShards = 10;
    cfg.parityShards = 3;
    cfg.cipher = "aes";
    cfg.key = compat_test::Pattern(6).take(32);
    auto tx = KcpGoPacketPipe::create(cfg), rx = KcpGoPacketPipe::create(cfg);
    const std::size_t size = tx->engineMtu(1400);
    const Bytes pkt = compat_test::Pattern(7).take(size);
    std::vector<Bytes> wire;
    report("pipe FEC 10/3 + aes outgoing (KCP bytes)", measure(size * 10, [&] {
               for (int i = 0; i < 10; ++i)
                   tx->outgoing(pkt.data(), pkt.size(), 0, [&](const std::uint8_t *, std::size_t) {});
           }));
    for (int i = 0; i < 1000; ++i)
        tx->outgoing(pkt.data(), pkt.size(), 0,
                     [&](const std::uint8_t *d, std::size_t n) { wire.emplace_back(d, d + n); });
    report("pipe FEC 10/3 + aes incoming, 10% loss", measure(size * 1000, [&] {
               auto fresh = KcpGoPacketPipe::create(cfg);
               for (std::size_t i = 0; i < wire.size(); ++i) {
                   if (i % 10 != 3)
                       fresh->incoming(wire[i].data(), wire[i].size(), 0, [](const std::uint8_t *, std::size_t) {});
               }
           }));
}
