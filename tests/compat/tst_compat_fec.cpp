// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcp-go's FEC framing (kcpnet/compat/kcpfec.h): the encoder's datagrams byte for byte against what a real kcp-go
// session sends (captured by kcpgo-vectors through an in-memory PacketConn), the decoder on kcp-go's shards with
// losses, and the decoder's bookkeeping (duplicates, late shards, bounded buffer, expiry, pass-through).
#include "compat_support.h"
#include "kcpfec.h"

#include <algorithm>
#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace kcpnet;
using compat_test::Bytes;

namespace {

std::uint32_t u32(const Bytes &b, std::size_t at)
{
    return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8)
        | (static_cast<std::uint32_t>(b[at + 2]) << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

std::uint16_t u16(const Bytes &b, std::size_t at)
{
    return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}

// kcp-go datagrams captured from a session with FEC d/p (no cipher).
std::vector<Bytes> captureKcpGo(int d, int p, int count, int mtu, std::uint64_t seed, std::string *error)
{
    const auto r = compat_test::runTool(compat_test::vectorsPath(),
                                        {"capture", "--datashard", std::to_string(d), "--parityshard",
                                         std::to_string(p), "--count", std::to_string(count), "--mtu",
                                         std::to_string(mtu), "--seed", std::to_string(seed), "--conv", "77"},
                                        "");
    std::vector<Bytes> out;
    *error = r.error;
    for (const std::string &h : compat_test::vectorsLines(r, "DGRAM"))
        out.push_back(compat_test::fromHex(h));
    if (error->empty() && out.size() != static_cast<std::size_t>(count))
        *error = "captured " + std::to_string(out.size()) + " datagrams, wanted " + std::to_string(count);
    return out;
}

Bytes packet(compat_test::Pattern &pattern, std::size_t size)
{
    return pattern.take(size);
}

} // namespace

TEST(CompatFec, EncoderFraming)
{
    KcpFecEncoder enc(3, 2);
    compat_test::Pattern pattern(5);
    const Bytes a = packet(pattern, 30), b = packet(pattern, 100), c = packet(pattern, 50);
    auto out = enc.encode(a.data(), a.size());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(u32(out[0], 0), 0u);
    EXPECT_EQ(u16(out[0], 4), kKcpFecTypeData);
    EXPECT_EQ(u16(out[0], 6), 32u) << "size counts its own 2 bytes";
    EXPECT_EQ(Bytes(out[0].begin() + 8, out[0].end()), a);
    out = enc.encode(b.data(), b.size());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(u32(out[0], 0), 1u);
    out = enc.encode(c.data(), c.size());
    ASSERT_EQ(out.size(), 3u) << "the third data shard completes the group: + 2 parity";
    EXPECT_EQ(u32(out[0], 0), 2u);
    for (int i = 1; i < 3; ++i) {
        EXPECT_EQ(u32(out[static_cast<std::size_t>(i)], 0), static_cast<std::uint32_t>(2 + i));
        EXPECT_EQ(u16(out[static_cast<std::size_t>(i)], 4), kKcpFecTypeParity);
        EXPECT_EQ(out[static_cast<std::size_t>(i)].size(), 6u + 102u) << "parity = longest data shard (+2)";
    }
    EXPECT_EQ(enc.nextSeqid(), 5u);
    EXPECT_EQ(enc.stats().groups, 1u);
    EXPECT_EQ(enc.stats().parityShards, 2u);
    // Refused: empty, and more than the 16-bit size field can carry.
    Bytes huge(KcpFecEncoder::kMaxPacket + 1);
    EXPECT_FALSE(enc.encode(huge.data(), huge.size(), nullptr));
    EXPECT_FALSE(enc.encode(a.data(), 0, nullptr));
    EXPECT_EQ(enc.stats().rejected, 2u);
}

TEST(CompatFec, SeqidWrapsAtPaws)
{
    KcpFecEncoder enc(10, 3);
    EXPECT_EQ(enc.wrapLimit(), 0xFFFFFFFFu / 13 * 13);
    EXPECT_FALSE(enc.setNextSeqid(5)) << "not a group start";
    ASSERT_TRUE(enc.setNextSeqid(enc.wrapLimit() - 13));
    KcpFecDecoder dec(10, 3);
    dec.setVerifyParameters(false); // kcp-go's raw recovery: rebuild from any `data` shards
    compat_test::Pattern pattern(9);
    std::vector<Bytes> sent, got;
    const KcpFecDecoder::Sink collect = [&](const std::uint8_t *d, std::size_t n) { got.emplace_back(d, d + n); };
    for (int g = 0; g < 2; ++g) {
        std::vector<Bytes> wire;
        for (int i = 0; i < 10; ++i) {
            sent.push_back(packet(pattern, 40 + static_cast<std::size_t>(i)));
            for (Bytes &w : enc.encode(sent.back().data(), sent.back().size()))
                wire.push_back(std::move(w));
        }
        ASSERT_EQ(wire.size(), 13u);
        if (g == 0)
            EXPECT_EQ(u32(wire.back(), 0), enc.wrapLimit() - 1);
        else
            EXPECT_EQ(u32(wire.front(), 0), 0u) << "the group after the wrap starts at 0";
        // Lose data shards 0..2 of each group; parity repairs them across the wrap.
        for (std::size_t i = 3; i < wire.size(); ++i)
            dec.decode(wire[i].data(), wire[i].size(), 0, collect);
    }
    EXPECT_EQ(dec.stats().recovered, 6u);
    std::multiset<Bytes> want(sent.begin(), sent.end()), have(got.begin(), got.end());
    EXPECT_EQ(want, have);
}

TEST(CompatFec, EncoderMatchesKcpGoByteForByte)
{
    COMPAT_REQUIRE_VECTORS();
    struct Shape {
        int d, p, count, mtu;
    };
    for (const Shape s :
         {Shape{10, 3, 13 * 8, 1400}, Shape{4, 2, 6 * 12, 300}, Shape{1, 1, 20, 200}, Shape{3, 5, 8 * 5, 700}}) {
        std::string error;
        const std::vector<Bytes> wire = captureKcpGo(s.d, s.p, s.count, s.mtu, 11, &error);
        ASSERT_TRUE(error.empty()) << error;
        // The KCP datagrams kcp-go framed are in its data shards; framing them again must give the same bytes.
        KcpFecEncoder enc(s.d, s.p);
        std::vector<Bytes> ours;
        std::size_t dataShards = 0;
        for (const Bytes &w : wire) {
            ASSERT_GE(w.size(), 8u);
            if (u16(w, 4) != kKcpFecTypeData)
                continue;
            ++dataShards;
            EXPECT_EQ(u16(w, 6), w.size() - 6) << "size field = 2 + KCP datagram";
            for (Bytes &o : enc.encode(w.data() + 8, w.size() - 8))
                ours.push_back(std::move(o));
        }
        ASSERT_EQ(ours.size(), wire.size()) << s.d << "/" << s.p;
        for (std::size_t i = 0; i < wire.size(); ++i)
            ASSERT_EQ(compat_test::toHex(ours[i]), compat_test::toHex(wire[i]))
                << s.d << "/" << s.p << " datagram " << i;
        std::printf("[compat] FEC %d/%d: %zu kcp-go datagrams (%zu data shards) reproduced byte for byte\n", s.d, s.p,
                    wire.size(), dataShards);
    }
}

TEST(CompatFec, DecoderRecoversKcpGoShards)
{
    COMPAT_REQUIRE_VECTORS();
    std::string error;
    const int d = 10, p = 3, groups = 9;
    const std::vector<Bytes> wire = captureKcpGo(d, p, 13 * groups, 1400, 23, &error);
    ASSERT_TRUE(error.empty()) << error;

    // Group g loses g % 4 shards (data shards first, from a rotating position); g % 4 == 3 also loses a parity
    // shard, so that group has 4 losses > 3 parity: unrecoverable. Everything else must come back.
    std::set<std::size_t> dropped;
    std::size_t expectRecovered = 0;
    std::vector<Bytes> expected; // KCP datagrams that must be emitted
    for (int g = 0; g < groups; ++g) {
        const int losses = g % 4;
        std::vector<std::size_t> lost;
        for (int k = 0; k < losses; ++k)
            lost.push_back(static_cast<std::size_t>(g * 13 + (g + 3 * k) % d));
        if (losses == 3)
            lost.push_back(static_cast<std::size_t>(g * 13 + d + 1));
        dropped.insert(lost.begin(), lost.end());
        const bool recoverable = lost.size() <= static_cast<std::size_t>(p);
        for (int i = 0; i < d; ++i) {
            const std::size_t at = static_cast<std::size_t>(g * 13 + i);
            const bool isLost = dropped.count(at) != 0;
            if (!isLost || recoverable)
                expected.emplace_back(wire[at].begin() + 8, wire[at].end());
            if (isLost && recoverable)
                ++expectRecovered;
        }
    }
    KcpFecDecoder dec(d, p);
    std::vector<Bytes> got;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (dropped.count(i))
            continue;
        dec.decode(wire[i].data(), wire[i].size(), 1000,
                   [&](const std::uint8_t *x, std::size_t n) { got.emplace_back(x, x + n); });
        ASSERT_LE(dec.bufferedShards(), dec.rxLimit());
    }
    EXPECT_EQ(dec.stats().recovered, expectRecovered);
    EXPECT_EQ(dec.stats().recoveryErrors, 0u);
    EXPECT_EQ(std::multiset<Bytes>(got.begin(), got.end()), std::multiset<Bytes>(expected.begin(), expected.end()));
    // The unrecoverable groups are still buffered (or were evicted); expiry clears the rest.
    dec.expire(1000 + kKcpFecExpireMs + 1);
    EXPECT_EQ(dec.bufferedShards(), 0u);
    EXPECT_EQ(dec.stats().unrecoverableGroups, 2u) << "groups 3 and 7";
    std::printf("[compat] decoder: %zu of kcp-go's lost data shards recovered, 2 groups beyond repair\n",
                expectRecovered);
}

TEST(CompatFec, DecoderBookkeeping)
{
    KcpFecEncoder enc(4, 2);
    KcpFecDecoder dec(4, 2);
    dec.setVerifyParameters(false); // kcp-go's raw recovery: rebuild from any `data` shards
    EXPECT_EQ(dec.rxLimit(), 18u);
    compat_test::Pattern pattern(3);
    std::vector<Bytes> wire;
    for (int i = 0; i < 4 * 6; ++i) {
        const Bytes pk = packet(pattern, 30 + static_cast<std::size_t>(i) * 7);
        for (Bytes &w : enc.encode(pk.data(), pk.size()))
            wire.push_back(std::move(w));
    }
    ASSERT_EQ(wire.size(), 36u);
    std::vector<Bytes> got;
    const KcpFecDecoder::Sink collect = [&](const std::uint8_t *x, std::size_t n) { got.emplace_back(x, x + n); };

    // Not FEC: passed through unchanged.
    Bytes kcp(24, 0);
    kcp[4] = 81;
    EXPECT_EQ(dec.decode(kcp.data(), kcp.size(), 0, collect), KcpFecDecoder::Result::NotFec);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], kcp);
    got.clear();
    // FEC type but too short.
    Bytes shortOne = {0, 0, 0, 0, 0xf1, 0, 2};
    EXPECT_EQ(dec.decode(shortOne.data(), shortOne.size(), 0, collect), KcpFecDecoder::Result::Malformed);
    EXPECT_EQ(dec.stats().malformed, 1u);

    // Group 0: data 0 twice (duplicate: still handed to KCP, as kcp-go does, but buffered once).
    dec.decode(wire[0].data(), wire[0].size(), 0, collect);
    dec.decode(wire[0].data(), wire[0].size(), 0, collect);
    EXPECT_EQ(dec.stats().duplicates, 1u);
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(dec.bufferedShards(), 1u);
    // Lose data 1; data 2, 3 and parity 4 complete it: data 1 recovered, the group retired.
    for (std::size_t i : {2u, 3u, 4u})
        dec.decode(wire[i].data(), wire[i].size(), 0, collect);
    EXPECT_EQ(dec.stats().recovered, 1u);
    EXPECT_EQ(got.back(), Bytes(wire[1].begin() + 8, wire[1].end()));
    EXPECT_EQ(dec.bufferedShards(), 0u);
    // Late shards of the retired group: not buffered again (data still handed on).
    const std::size_t before = got.size();
    dec.decode(wire[5].data(), wire[5].size(), 0, collect);
    dec.decode(wire[1].data(), wire[1].size(), 0, collect);
    EXPECT_EQ(dec.stats().late, 2u);
    EXPECT_EQ(got.size(), before + 1);
    EXPECT_EQ(dec.bufferedShards(), 0u);

    // A shard whose type disagrees with its place (the peer uses other parameters): data passes, nothing buffered.
    Bytes odd = wire[6];
    odd[4] = 0xf2; // seqid 6 = group 1 position 0 must be data
    dec.decode(odd.data(), odd.size(), 0, collect);
    EXPECT_EQ(dec.stats().mismatched, 1u);
    EXPECT_EQ(dec.bufferedShards(), 0u);

    // Groups 1..5 each get only 3 of 6 shards (data 1, 2 and parity 4 = seqid +5): never enough. The buffer stays
    // within 18 shards by evicting the oldest groups, which count as unrecoverable.
    for (int g = 1; g < 6; ++g) {
        for (int k : {1, 2, 5}) {
            const Bytes &w = wire[static_cast<std::size_t>(g * 6 + k)];
            dec.decode(w.data(), w.size(), 100, collect);
            EXPECT_LE(dec.bufferedShards(), dec.rxLimit());
        }
    }
    EXPECT_EQ(dec.bufferedShards(), 15u);
    EXPECT_EQ(dec.stats().unrecoverableGroups, 0u);
    // Three more incomplete groups (2 shards each) of another range: at 19 shards the oldest group goes.
    KcpFecEncoder enc2(4, 2);
    ASSERT_TRUE(enc2.setNextSeqid(600));
    for (int i = 0; i < 12; ++i) {
        const Bytes pk = packet(pattern, 40);
        auto out = enc2.encode(pk.data(), pk.size());
        if (i % 4 == 0 || i % 4 == 1)
            dec.decode(out[0].data(), out[0].size(), 200, collect);
    }
    EXPECT_LE(dec.bufferedShards(), dec.rxLimit());
    EXPECT_EQ(dec.stats().unrecoverableGroups, 1u);
    EXPECT_EQ(dec.bufferedGroups(), 7u);
    // Expiry: 60 s after their first shard the rest go too.
    dec.expire(100 + kKcpFecExpireMs);
    EXPECT_EQ(dec.stats().expiredGroups, 0u) << "not before 60 s have passed";
    dec.expire(201 + kKcpFecExpireMs);
    EXPECT_EQ(dec.bufferedShards(), 0u);
    EXPECT_EQ(dec.stats().expiredGroups, 7u);
    EXPECT_EQ(dec.stats().unrecoverableGroups, 8u);
}

TEST(CompatFec, RecoveredSizeFieldIsChecked)
{
    // A parity shard forged so that the rebuilt shard's size field is impossible: counted, nothing emitted.
    KcpFecEncoder enc(2, 1);
    compat_test::Pattern pattern(1);
    const Bytes a = packet(pattern, 40), b = packet(pattern, 40);
    auto w0 = enc.encode(a.data(), a.size());
    auto w1 = enc.encode(b.data(), b.size());
    ASSERT_EQ(w1.size(), 2u);
    Bytes parity = w1[1];
    parity[6] ^= 0xFF; // garbles the rebuilt size field of data shard 1 (parity of 2/1 is a plain XOR here)
    parity[7] ^= 0xFF;
    KcpFecDecoder dec(2, 1);
    dec.setVerifyParameters(false); // kcp-go's raw recovery: rebuild from any `data` shards
    std::vector<Bytes> got;
    const KcpFecDecoder::Sink collect = [&](const std::uint8_t *x, std::size_t n) { got.emplace_back(x, x + n); };
    dec.decode(w0[0].data(), w0[0].size(), 0, collect);
    dec.decode(parity.data(), parity.size(), 0, collect);
    EXPECT_EQ(dec.stats().recoveryErrors, 1u);
    EXPECT_EQ(dec.stats().recovered, 0u);
    EXPECT_EQ(got.size(), 1u);
}

TEST(CompatFec, OtherParametersNeverRebuildGarbage)
{
    // The peer encodes 4/2; we decode as 10/3 (both ends must agree, but a misconfiguration must not corrupt data).
    // Data shards pass through; nothing is rebuilt from parity computed with another matrix.
    KcpFecEncoder enc(4, 2);
    KcpFecDecoder dec(10, 3);
    compat_test::Pattern pattern(11);
    std::vector<Bytes> wire;
    std::vector<Bytes> sent;
    for (int i = 0; i < 40; ++i) {
        const Bytes pk = packet(pattern, 40 + static_cast<std::size_t>(i) * 13);
        sent.push_back(pk);
        for (Bytes &w : enc.encode(pk.data(), pk.size()))
            wire.push_back(std::move(w));
    }
    std::vector<Bytes> got;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (i % 7 == 3)
            continue; // losses, so that a trusting decoder would try to rebuild
        dec.decode(wire[i].data(), wire[i].size(), 0,
                   [&](const std::uint8_t *x, std::size_t n) { got.emplace_back(x, x + n); });
    }
    EXPECT_EQ(dec.stats().recovered, 0u);
    EXPECT_GT(dec.stats().mismatched, 0u);
    for (const Bytes &g : got)
        EXPECT_NE(std::find(sent.begin(), sent.end(), g), sent.end()) << "a datagram the peer never sent";
}

TEST(CompatFec, SameParametersRecoverAfterProof)
{
    // With equal parameters recovery starts with the first group holding a spare shard, and then rebuilds losses.
    KcpFecEncoder enc(10, 3);
    KcpFecDecoder dec(10, 3);
    compat_test::Pattern pattern(12);
    std::vector<Bytes> wire;
    std::vector<Bytes> sent;
    for (int i = 0; i < 100; ++i) {
        const Bytes pk = packet(pattern, 50 + static_cast<std::size_t>(i) * 11);
        sent.push_back(pk);
        for (Bytes &w : enc.encode(pk.data(), pk.size()))
            wire.push_back(std::move(w));
    }
    std::vector<Bytes> got;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (i % 13 == 5)
            continue; // one data shard of every group
        dec.decode(wire[i].data(), wire[i].size(), 0,
                   [&](const std::uint8_t *x, std::size_t n) { got.emplace_back(x, x + n); });
    }
    EXPECT_EQ(dec.stats().mismatched, 0u);
    EXPECT_EQ(dec.stats().recovered, 10u); // every group lost one data shard and had three parity shards
    for (const Bytes &s : sent)
        EXPECT_NE(std::find(got.begin(), got.end(), s), got.end());
}

