// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Session datagrams (kcpsessionpacket.h): round trips of every type, exact sizes, golden bytes written by hand
// from the documented layout, the CRC32C trailer catching every flipped bit, strict decoders, and answers that are
// never larger than the datagram that caused them.
#include "kcpsegment.h"
#include "kcpsessionpacket.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <random>
#include <vector>

using namespace kcpnet;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Bit-at-a-time CRC32C, independent of the library's.
std::uint32_t bitwiseCrc32c(const std::uint8_t *data, std::size_t size)
{
    std::uint32_t reg = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
        reg ^= data[i];
        for (int bit = 0; bit < 8; ++bit)
            reg = (reg & 1u) ? (reg >> 1) ^ 0x82F63B78u : reg >> 1;
    }
    return ~reg;
}

// Appends the little-endian CRC32C of everything so far.
Bytes withTrailer(Bytes body)
{
    const std::uint32_t crc = bitwiseCrc32c(body.data(), body.size());
    for (int i = 0; i < 4; ++i)
        body.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
    return body;
}

template <typename F>
Bytes encodeWith(F f)
{
    std::uint8_t buf[kSessionMaxControlSize + 16];
    std::memset(buf, 0xEE, sizeof buf); // anything the encoder does not write stays visible
    const std::size_t n = f(buf);
    EXPECT_LE(n, kSessionMaxControlSize);
    for (std::size_t i = n; i < sizeof buf; ++i)
        EXPECT_EQ(buf[i], 0xEE) << "encoder wrote past its size at " << i;
    return Bytes(buf, buf + n);
}

SessionHello sampleHello()
{
    SessionHello h;
    h.version = kSessionVersion;
    h.flags = kSessionFlagStream;
    h.nonce = 0x0123456789ABCDEFull;
    return h;
}

SessionAccept sampleAccept()
{
    SessionAccept a;
    a.conv = 0x11223344u;
    a.version = kSessionVersion;
    a.flags = kSessionFlagStream;
    a.nonce = 0x0123456789ABCDEFull;
    a.issued = 0xA1B2C3D4u;
    a.cookie = 0xFEDCBA9876543210ull;
    a.peerTimeoutMs = 10000;
    a.keepaliveMs = 5000;
    return a;
}

SessionConfirm sampleConfirm()
{
    SessionConfirm c;
    c.conv = 0x11223344u;
    c.nonce = 0x0123456789ABCDEFull;
    c.issued = 0xA1B2C3D4u;
    c.cookie = 0xFEDCBA9876543210ull;
    return c;
}

SessionReject sampleReject()
{
    SessionReject r;
    r.reason = static_cast<std::uint8_t>(SessionRejectReason::Mode);
    r.version = kSessionVersion;
    r.nonce = 0x0123456789ABCDEFull;
    return r;
}

// One encoded sample of every session datagram type.
std::vector<Bytes> allSamples()
{
    std::vector<Bytes> v;
    v.push_back(encodeWith([](std::uint8_t *o) { return encodeHello(sampleHello(), o); }));
    v.push_back(encodeWith([](std::uint8_t *o) { return encodeAccept(sampleAccept(), o); }));
    v.push_back(encodeWith([](std::uint8_t *o) { return encodeConfirm(sampleConfirm(), o); }));
    v.push_back(encodeWith([](std::uint8_t *o) { return encodeReject(sampleReject(), o); }));
    for (SessionPacketType t : {SessionPacketType::Confirmed, SessionPacketType::Fin, SessionPacketType::FinAck})
        v.push_back(encodeWith([t](std::uint8_t *o) { return encodeBare(0x11223344u, t, o); }));
    for (SessionPacketType t : {SessionPacketType::Ping, SessionPacketType::Pong})
        v.push_back(encodeWith([t](std::uint8_t *o) { return encodePing(0x11223344u, t, 0xCAFEF00Du, o); }));
    v.push_back(encodeWith([](std::uint8_t *o) { return encodeReset(0x11223344u, SessionResetReason::Abort, o); }));
    return v;
}

} // namespace

TEST(SessionPacket, SizesAreExact)
{
    EXPECT_EQ(kSessionHelloSize, 64u);
    EXPECT_EQ(kSessionAcceptSize, 41u);
    EXPECT_EQ(kSessionConfirmSize, 32u);
    EXPECT_EQ(kSessionRejectSize, 19u);
    EXPECT_EQ(kSessionBareSize, 9u);
    EXPECT_EQ(kSessionPingSize, 13u);
    EXPECT_EQ(kSessionResetSize, 10u);

    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeHello(sampleHello(), o); }).size(), 64u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeAccept(sampleAccept(), o); }).size(), 41u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeConfirm(sampleConfirm(), o); }).size(), 32u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeReject(sampleReject(), o); }).size(), 19u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeBare(1, SessionPacketType::Fin, o); }).size(), 9u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodePing(1, SessionPacketType::Ping, 0, o); }).size(), 13u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeReset(1, SessionResetReason::Abort, o); }).size(), 10u);
}

TEST(SessionPacket, HelloGoldenBytes)
{
    Bytes body = {0x00, 0x00, 0x00, 0x00, // conv 0
                  0xA1,                   // HELLO
                  0x4B, 0x43, 0x50, 0x4E, // magic "KCPN"
                  0x01,                   // version 1
                  0x01,                   // flags: stream
                  0x00, 0x00,             // reserved
                  0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01}; // nonce 0x0123456789ABCDEF
    body.resize(60, 0x00);                                           // padding up to the trailer
    const Bytes expected = withTrailer(body);
    ASSERT_EQ(expected.size(), 64u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeHello(sampleHello(), o); }), expected);
}

TEST(SessionPacket, AcceptGoldenBytes)
{
    const Bytes body = {0x44, 0x33, 0x22, 0x11,                         // conv 0x11223344
                        0xA2,                                           // ACCEPT
                        0x01,                                           // version
                        0x01,                                           // flags
                        0x00, 0x00,                                     // reserved
                        0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01, // nonce
                        0xD4, 0xC3, 0xB2, 0xA1,                         // issued
                        0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, // cookie
                        0x10, 0x27, 0x00, 0x00,                         // peer timeout 10000
                        0x88, 0x13, 0x00, 0x00};                        // keepalive 5000
    const Bytes expected = withTrailer(body);
    ASSERT_EQ(expected.size(), 41u);
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeAccept(sampleAccept(), o); }), expected);
}

TEST(SessionPacket, OtherGoldenBytes)
{
    const Bytes confirm = withTrailer({0x44, 0x33, 0x22, 0x11, 0xA3, 0x00, 0x00, 0x00,         // conv, type, 3 zero
                                       0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01,         // nonce
                                       0xD4, 0xC3, 0xB2, 0xA1,                                 // issued
                                       0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE});       // cookie
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeConfirm(sampleConfirm(), o); }), confirm);

    const Bytes reject = withTrailer({0x00, 0x00, 0x00, 0x00, 0xA5, 0x02, 0x01,               // conv 0, Mode, v1
                                      0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01});        // nonce
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeReject(sampleReject(), o); }), reject);

    const Bytes fin = withTrailer({0x44, 0x33, 0x22, 0x11, 0xC1});
    EXPECT_EQ(encodeWith([](std::uint8_t *o) { return encodeBare(0x11223344u, SessionPacketType::Fin, o); }), fin);

    const Bytes ping = withTrailer({0x44, 0x33, 0x22, 0x11, 0xB1, 0x0D, 0xF0, 0xFE, 0xCA});
    EXPECT_EQ(encodeWith([](std::uint8_t *o) {
                  return encodePing(0x11223344u, SessionPacketType::Ping, 0xCAFEF00Du, o);
              }),
              ping);

    const Bytes reset = withTrailer({0x44, 0x33, 0x22, 0x11, 0xC3, 0x02});
    EXPECT_EQ(encodeWith([](std::uint8_t *o) {
                  return encodeReset(0x11223344u, SessionResetReason::UnknownConv, o);
              }),
              reset);
}

// Packet numbers (sealed datagrams, the secure RESET) are 48-bit little-endian.
TEST(SessionPacket, U48FieldsAreLittleEndian)
{
    std::uint8_t b[8];
    std::memset(b, 0xEE, sizeof b);
    kcpPutU48(b + 1, 0xFFFFA1B2C3D4E5F6ull); // bits above 48 are not written
    const Bytes expected = {0xEE, 0xF6, 0xE5, 0xD4, 0xC3, 0xB2, 0xA1, 0xEE};
    EXPECT_EQ(Bytes(b, b + sizeof b), expected);
    EXPECT_EQ(kcpGetU48(b + 1), 0xA1B2C3D4E5F6ull);
    for (std::uint64_t v : {0ull, 1ull, 0xFFull, 0x100ull, 0xFFFFFFFFull, 0x100000000ull, 0x800000000000ull,
                            0xFFFFFFFFFFFFull}) {
        kcpPutU48(b, v);
        EXPECT_EQ(kcpGetU48(b), v) << v;
    }

    // The stateless server's secure RESET: reason, then the packet number it answers, then the MAC.
    const std::uint8_t macKey[32] = {1, 2, 3};
    std::uint8_t out[kSessionMaxControlSize];
    const std::size_t size = encodeSecureReset(0x11223344u, 0x0000A1B2C3D4E5F6ull, macKey, out);
    ASSERT_EQ(size, kSessionSecureResetSize);
    const Bytes head = {0x44, 0x33, 0x22, 0x11, 0xC3, 0x02, 0xF6, 0xE5, 0xD4, 0xC3, 0xB2, 0xA1};
    EXPECT_EQ(Bytes(out, out + head.size()), head);
    const std::size_t n = sessionVerify(out, size);
    std::uint64_t pn = 0;
    ASSERT_TRUE(decodeSecureReset(out, n, pn));
    EXPECT_EQ(pn, 0xA1B2C3D4E5F6ull);
    EXPECT_TRUE(sessionMacValid(out, n, macKey));
}

TEST(SessionPacket, HelloRoundTrip)
{
    for (std::uint8_t flags : {std::uint8_t(0), kSessionFlagStream, std::uint8_t(0xFF)}) {
        for (std::uint64_t nonce : {1ull, 0x0123456789ABCDEFull, ~0ull}) {
            SessionHello in;
            in.version = kSessionVersion;
            in.flags = flags;
            in.nonce = nonce;
            const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeHello(in, o); });
            const std::size_t n = sessionVerify(d.data(), d.size());
            ASSERT_EQ(n, d.size() - kSessionTrailerSize);
            SessionHello out;
            ASSERT_TRUE(decodeHello(d.data(), n, out));
            EXPECT_EQ(out.version, in.version);
            EXPECT_EQ(out.flags, in.flags);
            EXPECT_EQ(out.nonce, in.nonce);
        }
    }
    // Any version number survives the codec (the responder decides what to do with it).
    SessionHello v2;
    v2.version = 2;
    const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeHello(v2, o); });
    SessionHello out;
    ASSERT_TRUE(decodeHello(d.data(), sessionVerify(d.data(), d.size()), out));
    EXPECT_EQ(out.version, 2);
}

TEST(SessionPacket, AcceptRoundTrip)
{
    SessionAccept all;
    all.conv = ~0u;
    all.version = 0xFF;
    all.flags = 0xFF;
    all.nonce = ~0ull;
    all.issued = ~0u;
    all.cookie = ~0ull;
    all.peerTimeoutMs = ~0u;
    all.keepaliveMs = ~0u;
    for (const SessionAccept &in : {sampleAccept(), all}) {
        const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeAccept(in, o); });
        const std::size_t n = sessionVerify(d.data(), d.size());
        ASSERT_EQ(n, d.size() - kSessionTrailerSize);
        SessionAccept out;
        ASSERT_TRUE(decodeAccept(d.data(), n, out));
        EXPECT_EQ(out.conv, in.conv);
        EXPECT_EQ(out.version, in.version);
        EXPECT_EQ(out.flags, in.flags);
        EXPECT_EQ(out.nonce, in.nonce);
        EXPECT_EQ(out.issued, in.issued);
        EXPECT_EQ(out.cookie, in.cookie);
        EXPECT_EQ(out.peerTimeoutMs, in.peerTimeoutMs);
        EXPECT_EQ(out.keepaliveMs, in.keepaliveMs);
    }
}

TEST(SessionPacket, ConfirmRoundTrip)
{
    SessionConfirm all;
    all.conv = ~0u;
    all.nonce = ~0ull;
    all.issued = ~0u;
    all.cookie = ~0ull;
    for (const SessionConfirm &in : {sampleConfirm(), all}) {
        const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeConfirm(in, o); });
        const std::size_t n = sessionVerify(d.data(), d.size());
        ASSERT_EQ(n, d.size() - kSessionTrailerSize);
        SessionConfirm out;
        ASSERT_TRUE(decodeConfirm(d.data(), n, out));
        EXPECT_EQ(out.conv, in.conv);
        EXPECT_EQ(out.nonce, in.nonce);
        EXPECT_EQ(out.issued, in.issued);
        EXPECT_EQ(out.cookie, in.cookie);
    }
}

TEST(SessionPacket, RejectRoundTrip)
{
    for (SessionRejectReason reason :
         {SessionRejectReason::Version, SessionRejectReason::Mode, SessionRejectReason::Refused}) {
        SessionReject in;
        in.reason = static_cast<std::uint8_t>(reason);
        in.version = 7;
        in.nonce = 0x8000000000000001ull;
        const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeReject(in, o); });
        const std::size_t n = sessionVerify(d.data(), d.size());
        ASSERT_EQ(n, d.size() - kSessionTrailerSize);
        SessionReject out;
        ASSERT_TRUE(decodeReject(d.data(), n, out));
        EXPECT_EQ(out.reason, in.reason);
        EXPECT_EQ(out.version, in.version);
        EXPECT_EQ(out.nonce, in.nonce);
    }
}

TEST(SessionPacket, BarePingAndResetRoundTrip)
{
    for (SessionPacketType t : {SessionPacketType::Confirmed, SessionPacketType::Fin, SessionPacketType::FinAck}) {
        const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeBare(0xDEADBEEFu, t, o); });
        ASSERT_EQ(sessionVerify(d.data(), d.size()), 5u);
        EXPECT_EQ(d[4], static_cast<std::uint8_t>(t));
        EXPECT_EQ(d[0] | d[1] << 8 | d[2] << 16 | static_cast<std::uint32_t>(d[3]) << 24, 0xDEADBEEFu);
    }
    for (SessionPacketType t : {SessionPacketType::Ping, SessionPacketType::Pong}) {
        for (std::uint32_t clock : {0u, 1u, 0x80000000u, ~0u}) {
            const Bytes d = encodeWith([&](std::uint8_t *o) { return encodePing(42, t, clock, o); });
            const std::size_t n = sessionVerify(d.data(), d.size());
            ASSERT_EQ(n, 9u);
            EXPECT_EQ(d[4], static_cast<std::uint8_t>(t));
            std::uint32_t out = 0;
            ASSERT_TRUE(decodePing(d.data(), n, out));
            EXPECT_EQ(out, clock);
        }
    }
    for (SessionResetReason reason : {SessionResetReason::Abort, SessionResetReason::UnknownConv,
                                      SessionResetReason::Timeout, SessionResetReason::Protocol,
                                      SessionResetReason::Replaced}) {
        const Bytes d = encodeWith([&](std::uint8_t *o) { return encodeReset(42, reason, o); });
        const std::size_t n = sessionVerify(d.data(), d.size());
        ASSERT_EQ(n, 6u);
        SessionResetReason out {};
        ASSERT_TRUE(decodeReset(d.data(), n, out));
        EXPECT_EQ(out, reason);
    }
}

TEST(SessionPacket, SealAndVerify)
{
    std::uint8_t buf[32] = {1, 2, 3, 4, 0xB1, 9, 9, 9, 9};
    EXPECT_EQ(sessionSeal(buf, 9), 13u);
    EXPECT_EQ(sessionVerify(buf, 13), 9u);
    const std::uint32_t crc = bitwiseCrc32c(buf, 9);
    EXPECT_EQ(buf[9] | buf[10] << 8 | buf[11] << 16 | static_cast<std::uint32_t>(buf[12]) << 24, crc);

    // The shortest datagram is conv + type + trailer.
    EXPECT_EQ(sessionSeal(buf, 5), 9u);
    EXPECT_EQ(sessionVerify(buf, 9), 5u);
    for (std::size_t n = 0; n < 9; ++n) {
        std::uint8_t small[16] = {};
        if (n >= 4)
            sessionSeal(small, n - 4); // even a "valid" CRC over fewer than 5 bytes is too short
        EXPECT_EQ(sessionVerify(small, n), 0u) << n;
    }
    EXPECT_EQ(sessionVerify(nullptr, 0), 0u);
    EXPECT_EQ(sessionVerify(nullptr, 64), 0u);
}

TEST(SessionPacket, EveryFlippedBitFailsVerification)
{
    for (Bytes d : allSamples()) {
        ASSERT_GT(sessionVerify(d.data(), d.size()), 0u);
        const char *name = sessionPacketTypeName(d[4]);
        for (std::size_t bit = 0; bit < d.size() * 8; ++bit) {
            d[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            EXPECT_EQ(sessionVerify(d.data(), d.size()), 0u) << name << " bit " << bit;
            d[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        }
        EXPECT_GT(sessionVerify(d.data(), d.size()), 0u);
    }
}

TEST(SessionPacket, TruncatedOrExtendedDatagramsFailVerification)
{
    for (const Bytes &d : allSamples()) {
        for (std::size_t len = 0; len < d.size(); ++len)
            EXPECT_EQ(sessionVerify(d.data(), len), 0u) << sessionPacketTypeName(d[4]) << " cut to " << len;
        Bytes longer = d;
        longer.push_back(0);
        EXPECT_EQ(sessionVerify(longer.data(), longer.size()), 0u) << sessionPacketTypeName(d[4]);
    }
}

namespace {

// A payload (trailer stripped) of `size` bytes, with conv and type set; other bytes copied from `model`.
Bytes payload(const Bytes &model, std::size_t size)
{
    Bytes p(size, 0);
    std::memcpy(p.data(), model.data(), std::min(size, model.size() - kSessionTrailerSize));
    return p;
}

} // namespace

TEST(SessionPacket, DecodersRejectWrongLengths)
{
    const Bytes hello = encodeWith([](std::uint8_t *o) { return encodeHello(sampleHello(), o); });
    const Bytes accept = encodeWith([](std::uint8_t *o) { return encodeAccept(sampleAccept(), o); });
    const Bytes confirm = encodeWith([](std::uint8_t *o) { return encodeConfirm(sampleConfirm(), o); });
    const Bytes reject = encodeWith([](std::uint8_t *o) { return encodeReject(sampleReject(), o); });
    const Bytes ping = encodeWith([](std::uint8_t *o) { return encodePing(5, SessionPacketType::Ping, 9, o); });
    const Bytes reset = encodeWith([](std::uint8_t *o) { return encodeReset(5, SessionResetReason::Abort, o); });

    for (std::size_t n = 5; n <= 80; ++n) {
        SessionHello h;
        SessionAccept a;
        SessionConfirm c;
        SessionReject r;
        std::uint32_t clock;
        SessionResetReason why;
        Bytes p = payload(hello, n);
        EXPECT_EQ(decodeHello(p.data(), n, h), n == 60) << n;
        p = payload(accept, n);
        EXPECT_EQ(decodeAccept(p.data(), n, a), n == 37) << n;
        p = payload(confirm, n);
        EXPECT_EQ(decodeConfirm(p.data(), n, c), n == 28) << n;
        p = payload(reject, n);
        EXPECT_EQ(decodeReject(p.data(), n, r), n == 15) << n;
        p = payload(ping, n);
        EXPECT_EQ(decodePing(p.data(), n, clock), n == 9) << n;
        p = payload(reset, n);
        EXPECT_EQ(decodeReset(p.data(), n, why), n == 6) << n;
    }
}

TEST(SessionPacket, DecodersRejectWrongTypes)
{
    const Bytes hello = encodeWith([](std::uint8_t *o) { return encodeHello(sampleHello(), o); });
    const Bytes accept = encodeWith([](std::uint8_t *o) { return encodeAccept(sampleAccept(), o); });
    const Bytes confirm = encodeWith([](std::uint8_t *o) { return encodeConfirm(sampleConfirm(), o); });
    const Bytes reject = encodeWith([](std::uint8_t *o) { return encodeReject(sampleReject(), o); });
    const Bytes ping = encodeWith([](std::uint8_t *o) { return encodePing(5, SessionPacketType::Ping, 9, o); });
    const Bytes reset = encodeWith([](std::uint8_t *o) { return encodeReset(5, SessionResetReason::Abort, o); });
    for (int type = 0; type < 256; ++type) {
        const auto t = static_cast<std::uint8_t>(type);
        auto retyped = [t](Bytes d) {
            d.resize(d.size() - kSessionTrailerSize);
            d[4] = t;
            return d;
        };
        SessionHello h;
        SessionAccept a;
        SessionConfirm c;
        SessionReject r;
        std::uint32_t clock;
        SessionResetReason why;
        Bytes p = retyped(hello);
        EXPECT_EQ(decodeHello(p.data(), p.size(), h), t == 0xA1) << type;
        p = retyped(accept);
        EXPECT_EQ(decodeAccept(p.data(), p.size(), a), t == 0xA2) << type;
        p = retyped(confirm);
        EXPECT_EQ(decodeConfirm(p.data(), p.size(), c), t == 0xA3) << type;
        p = retyped(reject);
        EXPECT_EQ(decodeReject(p.data(), p.size(), r), t == 0xA5) << type;
        p = retyped(ping);
        EXPECT_EQ(decodePing(p.data(), p.size(), clock), t == 0xB1 || t == 0xB2) << type;
        p = retyped(reset);
        EXPECT_EQ(decodeReset(p.data(), p.size(), why), t == 0xC3) << type;
    }
}

TEST(SessionPacket, DecodersCheckConvAndMagic)
{
    Bytes hello = encodeWith([](std::uint8_t *o) { return encodeHello(sampleHello(), o); });
    hello.resize(60);
    SessionHello h;
    ASSERT_TRUE(decodeHello(hello.data(), hello.size(), h));
    Bytes bad = hello;
    bad[0] = 1; // HELLO must carry conv 0
    EXPECT_FALSE(decodeHello(bad.data(), bad.size(), h));
    for (int i = 5; i < 9; ++i) {
        bad = hello;
        bad[i] ^= 0x20; // "kCPN", "KcPN", ...
        EXPECT_FALSE(decodeHello(bad.data(), bad.size(), h)) << "magic byte " << i;
    }

    SessionAccept zeroAccept = sampleAccept();
    zeroAccept.conv = 0; // conv 0 is never assigned
    Bytes d = encodeWith([&](std::uint8_t *o) { return encodeAccept(zeroAccept, o); });
    SessionAccept a;
    EXPECT_FALSE(decodeAccept(d.data(), sessionVerify(d.data(), d.size()), a));

    SessionConfirm zeroConfirm = sampleConfirm();
    zeroConfirm.conv = 0;
    d = encodeWith([&](std::uint8_t *o) { return encodeConfirm(zeroConfirm, o); });
    SessionConfirm c;
    EXPECT_FALSE(decodeConfirm(d.data(), sessionVerify(d.data(), d.size()), c));
}

// Amplification: whatever a server sends in answer to a datagram must not be larger than that datagram.
TEST(SessionPacket, AnswersAreNeverLargerThanTheirCause)
{
    static_assert(kSessionAcceptSize <= kSessionHelloSize, "ACCEPT answers HELLO");
    static_assert(kSessionRejectSize <= kSessionHelloSize, "REJECT answers HELLO");
    static_assert(kSessionRejectSize <= kSessionConfirmSize, "REJECT(Refused) answers CONFIRM");
    static_assert(kSessionBareSize <= kSessionConfirmSize, "CONFIRMED answers CONFIRM");
    static_assert(kSessionBareSize <= kSessionBareSize, "FIN_ACK answers FIN");
    static_assert(kSessionPingSize <= kSessionPingSize, "PONG answers PING");
    static_assert(kSessionResetSize <= kSessionPingSize, "RESET answers PING");
    static_assert(kSessionResetSize <= 24 + kSessionTrailerSize, "RESET answers a KCP segment");
    static_assert(kSessionSecureAcceptSize <= kSessionSecureHelloSize, "secure ACCEPT answers secure HELLO");
    static_assert(kSessionRejectSize <= kSessionSecureHelloSize, "REJECT answers secure HELLO");
    static_assert(kSessionSecureResetSize <= kSessionSecureResetSize, "a secure RESET needs a sealed datagram this large");
    EXPECT_LE(kSessionMaxControlSize, kSessionSecureHelloSize);
}

TEST(SessionPacket, KcpTypesAndNames)
{
    for (int t = 0; t < 256; ++t)
        EXPECT_EQ(isKcpType(static_cast<std::uint8_t>(t)), t >= 81 && t <= 84) << t;
    EXPECT_STREQ(sessionPacketTypeName(0xA1), "HELLO");
    EXPECT_STREQ(sessionPacketTypeName(0xA2), "ACCEPT");
    EXPECT_STREQ(sessionPacketTypeName(0xC2), "FIN_ACK");
    EXPECT_STREQ(sessionPacketTypeName(81), "PUSH");
    EXPECT_STREQ(sessionPacketTypeName(0x00), "unknown");
    // Session types never collide with KCP commands.
    for (std::uint8_t t : {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xB1, 0xB2, 0xC1, 0xC2, 0xC3})
        EXPECT_FALSE(isKcpType(t));
}
