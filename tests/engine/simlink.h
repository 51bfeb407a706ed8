// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Test support for the KCP engine: a deterministic virtual network and a driver for a pair of engines.
//
//  - Rng: a small seeded generator (splitmix64), identical on every platform and standard library.
//  - crc32 / payloadByte: checksum for the link, deterministic payload bytes for end-to-end verification.
//  - walkSegments / WireTally: parse what an engine put on the wire and count it by command.
//  - VirtualLink: two directions with loss, delay, jitter (reordering), duplication and corruption. With
//    `checksum` on, the link appends a CRC32 and drops datagrams that fail it (as a real session layer
//    would); otherwise corrupted datagrams reach the engine.
//  - Simulation: two engines, the link, and an application on each side that writes a deterministic
//    stream (or message sequence) and verifies what it reads. Time is virtual: the loop jumps straight to
//    the next event, the earliest of the next link delivery, both engines' check() and the scheduled test
//    actions, so a transfer only completes if check() never sleeps past real work.
//
// Nothing here sleeps or reads a clock; every loop has an explicit bound.
#pragma once

#include "kcpengine.h"
#include "kcpsegment.h"
#include "../common/splitmix64.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace kcptest {

using kcpnet::KcpCommand;
using kcpnet::KcpEngine;
using kcpnet::KcpEngineStats;
using kcpnet::KcpInputResult;
using kcpnet::KcpSegmentHeader;
using kcpnet::kKcpHeaderSize;

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness and payloads

class Rng : public SplitMix64
{
public:
    using SplitMix64::SplitMix64;

    // Uniform in [0, n) (n > 0); the modulo bias is irrelevant for tests.
    std::uint32_t below(std::uint32_t n) { return n ? static_cast<std::uint32_t>(next() % n) : 0; }
    // Uniform in [lo, hi].
    std::uint32_t range(std::uint32_t lo, std::uint32_t hi)
    {
        return hi <= lo ? lo : lo + static_cast<std::uint32_t>(next() % (std::uint64_t(hi) - lo + 1));
    }
    // True with probability pct / 100.
    bool percent(double pct)
    {
        if (pct <= 0)
            return false;
        const double u = static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
        return u * 100.0 < pct;
    }
    std::uint8_t byte() { return static_cast<std::uint8_t>(next()); }
};

// CRC-32 (reflected polynomial 0xEDB88320, as used by zlib and Ethernet).
inline std::uint32_t crc32(const std::uint8_t *data, std::size_t size)
{
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : (c >> 1);
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i)
        c = table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// Byte `offset` of the deterministic stream `streamId`.
inline std::uint8_t payloadByte(std::uint64_t streamId, std::uint64_t offset)
{
    std::uint64_t x = (offset >> 3) * 0x9E3779B97F4A7C15ull ^ (streamId + 1) * 0xD1B54A32D192ED03ull;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return static_cast<std::uint8_t>(x >> ((offset & 7u) * 8u));
}

inline void fillPayload(std::uint64_t streamId, std::uint64_t offset, std::uint8_t *out, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        out[i] = payloadByte(streamId, offset + i);
}

// ---------------------------------------------------------------------------------------------------------
// Looking at the wire

struct WireSegment {
    KcpSegmentHeader header;
    std::size_t offset = 0; // of the header within the datagram
};

struct Walk {
    std::vector<WireSegment> segments; // the segments that parsed, in order
    bool complete = false;             // the datagram is exactly a sequence of whole segments
};

// Splits a datagram into segments the way a receiver walks it (header, then `len` bytes, repeat).
inline Walk walkSegments(const std::uint8_t *data, std::size_t size)
{
    Walk w;
    std::size_t off = 0;
    while (size - off >= kKcpHeaderSize) {
        WireSegment s;
        s.header = kcpnet::decodeKcpHeader(data + off);
        s.offset = off;
        if (s.header.len > size - off - kKcpHeaderSize)
            return w;
        w.segments.push_back(s);
        off += kKcpHeaderSize + s.header.len;
    }
    w.complete = off == size && !w.segments.empty();
    return w;
}

inline bool containsPush(const std::uint8_t *data, std::size_t size)
{
    for (const WireSegment &s : walkSegments(data, size).segments)
        if (s.header.cmd == static_cast<std::uint8_t>(KcpCommand::Push))
            return true;
    return false;
}

// Counts what one engine transmitted.
struct WireTally {
    std::uint64_t datagrams = 0;
    std::uint64_t bytes = 0;
    std::uint64_t push = 0;
    std::uint64_t ack = 0;
    std::uint64_t wask = 0;
    std::uint64_t wins = 0;
    std::uint64_t unparsable = 0; // datagrams that are not a whole number of valid segments
    std::uint64_t distinctSn = 0;
    std::uint64_t emptyDatagrams = 0;
    std::size_t maxDatagram = 0;
    std::set<std::uint32_t> pushLengths;
    std::uint64_t mtuViolations = 0;
    std::string firstViolation;
    std::vector<std::uint8_t> snSeen;

    // `mtu` is the engine's MTU now, `maxMtu` the largest it ever had (segments cut before an MTU
    // decrease keep their size, so such a segment may travel alone in a datagram above the new MTU).
    void record(const std::uint8_t *data, std::size_t size, std::uint32_t mtu, std::uint32_t maxMtu)
    {
        ++datagrams;
        bytes += size;
        maxDatagram = std::max(maxDatagram, size);
        if (size == 0)
            ++emptyDatagrams;
        const Walk w = walkSegments(data, size);
        if (!w.complete)
            ++unparsable;
        for (const WireSegment &s : w.segments) {
            switch (s.header.cmd) {
            case static_cast<std::uint8_t>(KcpCommand::Push):
                ++push;
                pushLengths.insert(s.header.len);
                if (s.header.sn < (1u << 24)) {
                    if (snSeen.size() <= s.header.sn)
                        snSeen.resize(std::max<std::size_t>(s.header.sn + 1, snSeen.size() * 2), 0);
                    if (!snSeen[s.header.sn]) {
                        snSeen[s.header.sn] = 1;
                        ++distinctSn;
                    }
                }
                break;
            case static_cast<std::uint8_t>(KcpCommand::Ack): ++ack; break;
            case static_cast<std::uint8_t>(KcpCommand::WindowAsk): ++wask; break;
            case static_cast<std::uint8_t>(KcpCommand::WindowTell): ++wins; break;
            default: break;
            }
        }
        const bool lonePush = w.segments.size() == 1
            && w.segments[0].header.cmd == static_cast<std::uint8_t>(KcpCommand::Push);
        if (size > mtu && !(lonePush && size <= maxMtu)) {
            if (mtuViolations++ == 0) {
                std::ostringstream os;
                os << "datagram of " << size << " bytes with " << w.segments.size()
                   << " segments, MTU " << mtu << " (largest ever " << maxMtu << ")";
                firstViolation = os.str();
            }
        }
    }
};

// ---------------------------------------------------------------------------------------------------------
// The virtual link

struct Impairment {
    double lossPct = 0;
    double duplicatePct = 0;
    double corruptPct = 0;
    std::uint32_t delayMs = 20;
    std::uint32_t jitterMs = 0; // extra uniform delay in [0, jitter]: reorders datagrams
    bool checksum = false;      // append a CRC32 and drop datagrams that fail it on delivery
    bool corruptHeadersOnly = false; // flip bits only inside segment headers
};

struct LinkDirectionStats {
    std::uint64_t offered = 0;        // datagrams handed to the link
    std::uint64_t lost = 0;
    std::uint64_t lostWithPush = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t corrupted = 0;      // copies that had a bit flipped
    std::uint64_t corruptedWithPush = 0;
    std::uint64_t checksumDrops = 0;  // corrupted copies the link's checksum caught
    std::uint64_t checksumDropsWithPush = 0;
    std::uint64_t delivered = 0;      // copies handed to the receiving engine
    std::uint64_t deliveredBytes = 0;
    std::uint64_t deliveredPush = 0;  // PUSH segments in delivered copies
    std::uint64_t deliveredAck = 0;
    std::uint64_t pushDeliveredTwice = 0; // datagrams with PUSH delivered a second time (duplication)
};

struct Packet {
    std::uint64_t at = 0;
    std::uint64_t order = 0; // tie-break: FIFO for equal delivery times
    std::uint64_t id = 0;    // same for a datagram and its duplicate
    int to = 0;
    bool corrupted = false;
    bool hasPush = false;
    std::vector<std::uint8_t> bytes;
};

class VirtualLink
{
public:
    VirtualLink(const Impairment &ab, const Impairment &ba, std::uint64_t seed) : m_rng(seed)
    {
        m_imp[0] = ab;
        m_imp[1] = ba;
    }

    const Impairment &impairment(int from) const { return m_imp[from]; }
    void setImpairment(int from, const Impairment &imp) { m_imp[from] = imp; }
    const LinkDirectionStats &stats(int from) const { return m_stats[from]; }

    // Datagram from side `from` (0 = A, 1 = B) at virtual time `now`.
    void transmit(int from, const std::uint8_t *data, std::size_t size, std::uint64_t now)
    {
        const Impairment &imp = m_imp[from];
        LinkDirectionStats &st = m_stats[from];
        ++st.offered;
        const bool push = containsPush(data, size);
        if (m_rng.percent(imp.lossPct)) {
            ++st.lost;
            if (push)
                ++st.lostWithPush;
            return;
        }
        const std::uint64_t id = ++m_ids;
        enqueue(from, data, size, now, id, push);
        if (m_rng.percent(imp.duplicatePct)) {
            ++st.duplicated;
            enqueue(from, data, size, now, id, push);
        }
    }

    bool empty() const { return m_queue.empty(); }
    std::size_t inFlight() const { return m_queue.size(); }
    std::uint64_t nextDelivery() const
    {
        return m_queue.empty() ? std::numeric_limits<std::uint64_t>::max() : m_queue.top().at;
    }

    // Removes the earliest datagram due at `now`; false when none is due. Datagrams that fail the
    // checksum are consumed and counted, and the next one is tried.
    bool popDue(std::uint64_t now, Packet &out)
    {
        while (!m_queue.empty() && m_queue.top().at <= now) {
            out = m_queue.top();
            m_queue.pop();
            const int from = 1 - out.to;
            LinkDirectionStats &st = m_stats[from];
            if (m_imp[from].checksum) {
                const std::size_t n = out.bytes.size();
                const std::uint32_t sum = kcpnet::kcpGetU32(out.bytes.data() + n - 4);
                out.bytes.resize(n - 4);
                if (crc32(out.bytes.data(), out.bytes.size()) != sum) {
                    ++st.checksumDrops;
                    if (out.hasPush)
                        ++st.checksumDropsWithPush;
                    continue;
                }
            }
            ++st.delivered;
            st.deliveredBytes += out.bytes.size();
            for (const WireSegment &s : walkSegments(out.bytes.data(), out.bytes.size()).segments) {
                if (s.header.cmd == static_cast<std::uint8_t>(KcpCommand::Push))
                    ++st.deliveredPush;
                else if (s.header.cmd == static_cast<std::uint8_t>(KcpCommand::Ack))
                    ++st.deliveredAck;
            }
            if (out.hasPush && !out.corrupted) {
                if (!m_deliveredIds[from].insert(out.id).second)
                    ++st.pushDeliveredTwice;
            }
            return true;
        }
        return false;
    }

private:
    struct Later {
        bool operator()(const Packet &a, const Packet &b) const
        {
            return a.at != b.at ? a.at > b.at : a.order > b.order;
        }
    };

    void enqueue(int from, const std::uint8_t *data, std::size_t size, std::uint64_t now, std::uint64_t id,
                 bool push)
    {
        const Impairment &imp = m_imp[from];
        Packet p;
        p.at = now + imp.delayMs + (imp.jitterMs ? m_rng.range(0, imp.jitterMs) : 0);
        p.order = ++m_order;
        p.id = id;
        p.to = 1 - from;
        p.hasPush = push;
        p.bytes.assign(data, data + size);
        if (imp.checksum) {
            std::uint8_t sum[4];
            kcpnet::kcpPutU32(sum, crc32(data, size));
            p.bytes.insert(p.bytes.end(), sum, sum + 4);
        }
        if (!p.bytes.empty() && m_rng.percent(imp.corruptPct)) {
            corrupt(p.bytes, imp.corruptHeadersOnly && !imp.checksum);
            p.corrupted = true;
            ++m_stats[from].corrupted;
            if (push)
                ++m_stats[from].corruptedWithPush;
        }
        m_queue.push(std::move(p));
    }

    void corrupt(std::vector<std::uint8_t> &bytes, bool headersOnly)
    {
        std::size_t pos = 0;
        if (headersOnly) {
            const Walk w = walkSegments(bytes.data(), bytes.size());
            const std::size_t base = w.segments.empty()
                ? 0
                : w.segments[m_rng.below(static_cast<std::uint32_t>(w.segments.size()))].offset;
            const std::size_t span = std::min<std::size_t>(kKcpHeaderSize, bytes.size() - base);
            pos = base + m_rng.below(static_cast<std::uint32_t>(span));
        } else {
            pos = m_rng.below(static_cast<std::uint32_t>(bytes.size()));
        }
        bytes[pos] ^= static_cast<std::uint8_t>(1u << m_rng.below(8));
    }

    Impairment m_imp[2];
    LinkDirectionStats m_stats[2];
    Rng m_rng;
    std::priority_queue<Packet, std::vector<Packet>, Later> m_queue;
    std::set<std::uint64_t> m_deliveredIds[2];
    std::uint64_t m_order = 0;
    std::uint64_t m_ids = 0;
};

// ---------------------------------------------------------------------------------------------------------
// Engine settings

struct EndpointConfig {
    int nodelay = 0;
    int interval = 100;
    int fastResend = 0;
    bool noCongestionControl = false;
    std::uint32_t sendWindow = 32;
    std::uint32_t receiveWindow = 128;
    std::uint32_t mtu = 1400;
    bool ackNoDelay = false;
    bool sendNoDelay = false;
    bool stream = false;
    std::uint32_t minRto = 0;   // 0: leave what setNoDelay chose
    std::uint32_t deadLink = 0; // 0: leave the default

    // ikcp as created: nodelay(0, 100, 0, 0), congestion control on.
    static EndpointConfig ikcpDefault() { return EndpointConfig{}; }
    // nodelay(0, 40, 2, 1)
    static EndpointConfig normal()
    {
        EndpointConfig c;
        c.interval = 40;
        c.fastResend = 2;
        c.noCongestionControl = true;
        return c;
    }
    // nodelay(1, 10, 2, 1), the "turbo" preset
    static EndpointConfig fast()
    {
        EndpointConfig c;
        c.nodelay = 1;
        c.interval = 10;
        c.fastResend = 2;
        c.noCongestionControl = true;
        return c;
    }
    // fast() plus ACKs and new data sent at the next update() instead of the next tick.
    static EndpointConfig turbo()
    {
        EndpointConfig c = fast();
        c.ackNoDelay = true;
        c.sendNoDelay = true;
        return c;
    }
    EndpointConfig &windows(std::uint32_t snd, std::uint32_t rcv)
    {
        sendWindow = snd;
        receiveWindow = rcv;
        return *this;
    }
    EndpointConfig &streamMode(bool on = true)
    {
        stream = on;
        return *this;
    }
};

inline void applyConfig(KcpEngine &e, const EndpointConfig &c)
{
    e.setStreamMode(c.stream);
    e.setNoDelay(c.nodelay, c.interval, c.fastResend, c.noCongestionControl);
    e.setWindowSize(c.sendWindow, c.receiveWindow);
    e.setMtu(c.mtu);
    e.setAckNoDelay(c.ackNoDelay);
    e.setSendNoDelay(c.sendNoDelay);
    if (c.minRto)
        e.setMinRto(c.minRto);
    if (c.deadLink)
        e.setDeadLink(c.deadLink);
}

// Field-by-field comparison of two statistics snapshots; names the fields that differ.
inline std::string statsDiff(const KcpEngineStats &a, const KcpEngineStats &b)
{
    std::ostringstream os;
#define KCPTEST_CMP(f)                                                                                       \
    if (a.f != b.f)                                                                                          \
        os << " " #f ":" << a.f << "->" << b.f;
    KCPTEST_CMP(srtt)
    KCPTEST_CMP(rttvar)
    KCPTEST_CMP(rto)
    KCPTEST_CMP(cwnd)
    KCPTEST_CMP(ssthresh)
    KCPTEST_CMP(remoteWindow)
    KCPTEST_CMP(inFlight)
    KCPTEST_CMP(sendQueue)
    KCPTEST_CMP(sendBuffer)
    KCPTEST_CMP(receiveQueue)
    KCPTEST_CMP(receiveBuffer)
    KCPTEST_CMP(pendingAcks)
    KCPTEST_CMP(datagramsSent)
    KCPTEST_CMP(datagramsReceived)
    KCPTEST_CMP(wireBytesSent)
    KCPTEST_CMP(wireBytesReceived)
    KCPTEST_CMP(segmentsSent)
    KCPTEST_CMP(segmentsReceived)
    KCPTEST_CMP(bytesSent)
    KCPTEST_CMP(bytesReceived)
    KCPTEST_CMP(bytesDelivered)
    KCPTEST_CMP(acksSent)
    KCPTEST_CMP(acksReceived)
    KCPTEST_CMP(retransmitsTimeout)
    KCPTEST_CMP(retransmitsFast)
    KCPTEST_CMP(duplicateSegments)
    KCPTEST_CMP(outOfWindowSegments)
    KCPTEST_CMP(malformedDatagrams)
    KCPTEST_CMP(wrongConvDatagrams)
    KCPTEST_CMP(windowProbesSent)
    KCPTEST_CMP(windowUpdatesSent)
    KCPTEST_CMP(rttSamples)
    KCPTEST_CMP(deadLink)
#undef KCPTEST_CMP
    return os.str();
}

inline std::string describeStats(const KcpEngineStats &s)
{
    std::ostringstream os;
    os << "srtt=" << s.srtt << " rttvar=" << s.rttvar << " rto=" << s.rto << " cwnd=" << s.cwnd
       << " ssthresh=" << s.ssthresh << " rmtWnd=" << s.remoteWindow << " inFlight=" << s.inFlight
       << " sndQ=" << s.sendQueue << " sndBuf=" << s.sendBuffer << " rcvQ=" << s.receiveQueue
       << " rcvBuf=" << s.receiveBuffer << " acks=" << s.pendingAcks << " | dgSent=" << s.datagramsSent
       << " dgRecv=" << s.datagramsReceived << " segSent=" << s.segmentsSent
       << " segRecv=" << s.segmentsReceived << " bytesSent=" << s.bytesSent << " bytesRecv=" << s.bytesReceived
       << " bytesDeliv=" << s.bytesDelivered << " acksSent=" << s.acksSent << " acksRecv=" << s.acksReceived
       << " rtxTimeout=" << s.retransmitsTimeout << " rtxFast=" << s.retransmitsFast
       << " dup=" << s.duplicateSegments << " oow=" << s.outOfWindowSegments
       << " malformed=" << s.malformedDatagrams << " wrongConv=" << s.wrongConvDatagrams
       << " wask=" << s.windowProbesSent << " wins=" << s.windowUpdatesSent << " rttSamples=" << s.rttSamples
       << " dead=" << s.deadLink;
    return os.str();
}

// ---------------------------------------------------------------------------------------------------------
// Two engines, a link and an application on each side

struct Pause {
    std::uint64_t from = 0;  // virtual ms since the start
    std::uint64_t until = 0; // the application reads nothing in [from, until)
};

struct SimConfig {
    std::uint32_t conv = 0x3150434Bu;
    EndpointConfig a;
    EndpointConfig b;
    Impairment ab; // A -> B
    Impairment ba; // B -> A
    std::uint64_t bytesAtoB = 0;
    std::uint64_t bytesBtoA = 0;
    std::uint32_t startClock = 0; // engine clock at virtual time 0 (wraps)
    std::uint64_t maxVirtualMs = 600000;
    std::uint64_t maxIterations = 3000000;
    std::uint64_t seed = 1;
    std::vector<Pause> pauses[2]; // reading pauses of A's and B's application
    // Message mode: largest message in fragments; 0 = what the receiver's current window can take.
    std::uint32_t messageFragmentCap = 0;
    // false: the application counts corrupted/misordered data but the run is not failed for it
    // (corruption without a checksum).
    bool strictData = true;
};

struct Outcome {
    bool finished = false;
    std::string why; // empty when finished
    std::uint64_t iterations = 0;
    std::uint64_t virtualMs = 0;
};

class Simulation
{
public:
    explicit Simulation(const SimConfig &cfg)
        : m_cfg(cfg), m_link(cfg.ab, cfg.ba, cfg.seed * 0x100000001B3ull + 7)
    {
        const EndpointConfig *ec[2] = {&m_cfg.a, &m_cfg.b};
        for (int i = 0; i < 2; ++i) {
            Side &s = m_side[i];
            s.engine = std::make_unique<KcpEngine>(cfg.conv);
            applyConfig(*s.engine, *ec[i]);
            s.mtu = s.maxMtu = s.engine->mtu();
            s.source.total = i == 0 ? cfg.bytesAtoB : cfg.bytesBtoA;
            s.source.rng = Rng(cfg.seed * 31 + 11 + i);
            s.sink.rng = Rng(cfg.seed * 37 + 5 + i);
            s.engine->setOutput([this, i](const std::uint8_t *data, std::size_t size) {
                Side &me = m_side[i];
                me.wire.record(data, size, me.mtu, me.maxMtu);
                if (m_tap)
                    m_tap(i, data, size);
                m_link.transmit(i, data, size, m_t);
            });
        }
    }

    Simulation(const Simulation &) = delete;
    Simulation &operator=(const Simulation &) = delete;

    KcpEngine &engine(int i) { return *m_side[i].engine; }
    KcpEngine &a() { return engine(0); }
    KcpEngine &b() { return engine(1); }
    VirtualLink &link() { return m_link; }
    const WireTally &wire(int i) const { return m_side[i].wire; }
    const SimConfig &config() const { return m_cfg; }
    std::uint64_t now() const { return m_t; }
    std::uint32_t clock() const { return m_cfg.startClock + static_cast<std::uint32_t>(m_t); }

    // Application progress
    std::uint64_t bytesQueued(int from) const { return m_side[from].source.queued; }
    std::uint64_t bytesTotal(int from) const { return m_side[from].source.total; }
    std::uint64_t messagesQueued(int from) const { return m_side[from].source.messages; }
    std::uint64_t bytesRead(int to) const { return m_side[to].sink.received; }
    std::uint64_t messagesRead(int to) const { return m_side[to].sink.messages; }
    std::uint64_t dataErrors(int to) const { return m_side[to].sink.errors; }
    const std::string &firstDataError(int to) const { return m_side[to].sink.firstError; }
    // input() results seen at side i, indexed by -result (0 = Ok ... 6 = BadFragment)
    std::uint64_t inputResults(int i, KcpInputResult r) const { return m_side[i].inputResults[-static_cast<int>(r)]; }
    std::uint64_t inputRejected(int i) const
    {
        std::uint64_t n = 0;
        for (std::size_t k = 1; k < m_side[i].inputResults.size(); ++k)
            n += m_side[i].inputResults[k];
        return n;
    }
    const std::string &firstReject(int i) const { return m_side[i].firstReject; }
    std::uint64_t acceptedCorrupted(int i) const { return m_side[i].acceptedCorrupted; }
    std::uint64_t rejectedGenuine(int i) const { return m_side[i].rejectedGenuine; }
    std::uint64_t checkViolations() const { return m_checkViolations; }
    const std::string &firstCheckViolation() const { return m_firstCheckViolation; }

    // Sees every datagram an engine transmits (before the link's impairments).
    void setTap(std::function<void(int from, const std::uint8_t *, std::size_t)> tap) { m_tap = std::move(tap); }

    // Adds `bytes` to what side `from` still has to send.
    void extend(int from, std::uint64_t bytes) { m_side[from].source.total += bytes; }

    // Runs `fn` when virtual time reaches `ms`.
    void at(std::uint64_t ms, std::function<void(Simulation &)> fn) { m_actions.push_back({ms, ~0ull, 0, std::move(fn)}); }
    // Runs `fn` as soon as side `from` has queued at least `bytes` bytes.
    void whenQueued(int from, std::uint64_t bytes, std::function<void(Simulation &)> fn)
    {
        m_actions.push_back({~0ull, bytes, from, std::move(fn)});
    }

    void setMtu(int side, std::uint32_t mtu)
    {
        ASSERT_TRUE(engine(side).setMtu(mtu)) << "setMtu(" << mtu << ")";
        m_side[side].mtu = mtu;
        m_side[side].maxMtu = std::max(m_side[side].maxMtu, mtu);
    }

    bool transferDone() const
    {
        for (int i = 0; i < 2; ++i) {
            const Side &s = m_side[i];
            if (s.source.queued < s.source.total || !s.source.pendingSizes.empty())
                return false;
            if (m_side[1 - i].sink.received < s.source.total)
                return false;
            if (s.engine->waitSnd() != 0)
                return false;
        }
        return true;
    }

    bool bothIdle() const { return m_side[0].engine->isIdle() && m_side[1].engine->isIdle() && m_link.empty(); }

    // Runs until both transfers are complete (every byte read, nothing waiting to be sent).
    Outcome run() { return loop([this] { return transferDone(); }); }
    // Runs until both engines are idle and nothing is on the link.
    Outcome runUntilIdle() { return loop([this] { return bothIdle(); }); }
    // Runs until virtual time `ms` (or the bounds), whatever the transfer does.
    Outcome runUntil(std::uint64_t ms)
    {
        return loop([this, ms] { return m_t >= ms; }, ms);
    }

    std::string describe() const
    {
        std::ostringstream os;
        os << "t=" << m_t << "ms clock=" << clock() << " link in flight=" << m_link.inFlight() << "\n";
        for (int i = 0; i < 2; ++i) {
            const Side &s = m_side[i];
            const std::uint32_t now = clock();
            os << (i ? "B" : "A") << ": queued " << s.source.queued << "/" << s.source.total << " (msgs "
               << s.source.messages << ", unread msgs " << s.source.pendingSizes.size() << "), peer read "
               << m_side[1 - i].sink.received << ", waitSnd " << s.engine->waitSnd() << ", idle "
               << s.engine->isIdle() << ", check-now " << kcpnet::kcpDiff(s.engine->check(now), now)
               << ", dead " << s.engine->isDeadLink() << "\n   " << describeStats(s.engine->stats()) << "\n";
        }
        return os.str();
    }

private:
    struct Source {
        std::uint64_t total = 0;
        std::uint64_t queued = 0;
        std::uint64_t messages = 0;
        std::deque<std::uint32_t> pendingSizes; // message mode: sizes not yet read by the peer
        Rng rng;
        std::vector<std::uint8_t> buf;
    };
    struct Sink {
        std::uint64_t received = 0;
        std::uint64_t messages = 0;
        std::uint64_t errors = 0;
        std::string firstError;
        Rng rng;
        std::vector<std::uint8_t> buf;
    };
    struct Side {
        std::unique_ptr<KcpEngine> engine;
        Source source;
        Sink sink;
        WireTally wire;
        std::uint32_t mtu = 0;
        std::uint32_t maxMtu = 0;
        std::array<std::uint64_t, 7> inputResults{};
        std::uint64_t acceptedCorrupted = 0; // corrupted datagrams input() took as valid
        std::uint64_t rejectedGenuine = 0;   // unmodified datagrams input() rejected
        std::string firstReject;
    };
    struct Action {
        std::uint64_t atMs;
        std::uint64_t afterBytes;
        int side;
        std::function<void(Simulation &)> fn;
    };

    bool paused(int i) const
    {
        for (const Pause &p : m_cfg.pauses[i])
            if (m_t >= p.from && m_t < p.until)
                return true;
        return false;
    }

    void dataError(int i, const std::string &what)
    {
        Sink &k = m_side[i].sink;
        if (k.errors++ == 0)
            k.firstError = what;
    }

    void feed(int i)
    {
        Side &s = m_side[i];
        KcpEngine &e = *s.engine;
        const std::uint32_t limit = 2 * e.sendWindow() + 16;
        for (int guard = 0; guard < 4096 && s.source.queued < s.source.total && e.waitSnd() < limit; ++guard) {
            const std::uint64_t remaining = s.source.total - s.source.queued;
            std::uint32_t n = 0;
            const std::uint32_t mss = e.mss();
            if (e.streamMode()) {
                const std::uint32_t r = s.source.rng.below(100);
                n = r < 10 ? s.source.rng.range(1, 16) : s.source.rng.range(1, 3 * mss);
            } else {
                const std::uint32_t frags = m_cfg.messageFragmentCap ? m_cfg.messageFragmentCap
                                                                     : m_side[1 - i].engine->receiveWindow();
                const std::uint32_t cap = static_cast<std::uint32_t>(
                    std::min<std::uint64_t>(e.maxMessageSize(), std::uint64_t(frags) * mss));
                const std::uint32_t r = s.source.rng.below(100);
                if (r < 8)
                    n = 0;
                else if (r < 45)
                    n = s.source.rng.range(1, std::min(200u, cap));
                else if (r < 80)
                    n = s.source.rng.range(1, std::min(3 * mss, cap));
                else if (r < 95)
                    n = s.source.rng.range(1, std::min(12 * mss, cap));
                else
                    n = cap;
            }
            n = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, remaining));
            s.source.buf.resize(std::max<std::size_t>(n, 1));
            fillPayload(i, s.source.queued, s.source.buf.data(), n);
            const int r = e.send(s.source.buf.data(), static_cast<int>(n));
            if (r != static_cast<int>(n)) {
                dataError(1 - i, "send(" + std::to_string(n) + ") returned " + std::to_string(r));
                return;
            }
            s.source.queued += n;
            ++s.source.messages;
            if (!e.streamMode())
                s.source.pendingSizes.push_back(n);
        }
    }

    void drain(int i)
    {
        Side &s = m_side[i];
        KcpEngine &e = *s.engine;
        Source &src = m_side[1 - i].source;
        for (int guard = 0; guard < 100000; ++guard) {
            const int peek = e.peekSize();
            if (e.streamMode() ? peek <= 0 : peek < 0)
                return;
            int want = peek;
            if (e.streamMode()) {
                const std::uint32_t r = s.sink.rng.below(100);
                want = r < 5 ? 1 : static_cast<int>(s.sink.rng.range(1, 8192));
            }
            s.sink.buf.resize(static_cast<std::size_t>(std::max(want, 1)));
            const int n = e.recv(s.sink.buf.data(), want);
            if (e.streamMode() ? (n <= 0 || n > want || n > peek) : n != peek) {
                dataError(i, "recv(" + std::to_string(want) + ") returned " + std::to_string(n) + " with peekSize "
                              + std::to_string(peek));
                return;
            }
            if (!e.streamMode()) {
                if (src.pendingSizes.empty()) {
                    dataError(i, "a message of " + std::to_string(n) + " bytes arrived that was never sent");
                    return;
                }
                if (src.pendingSizes.front() != static_cast<std::uint32_t>(n)) {
                    dataError(i, "message #" + std::to_string(s.sink.messages) + " has " + std::to_string(n)
                                  + " bytes, sent " + std::to_string(src.pendingSizes.front()));
                    return;
                }
                src.pendingSizes.pop_front();
            }
            if (s.sink.received + static_cast<std::uint64_t>(n) > src.queued) {
                dataError(i, "read beyond what the peer wrote");
                return;
            }
            for (int k = 0; k < n; ++k) {
                if (s.sink.buf[k] != payloadByte(1 - i, s.sink.received + k)) {
                    dataError(i, "byte " + std::to_string(s.sink.received + k) + " differs");
                    break;
                }
            }
            s.sink.received += static_cast<std::uint64_t>(n);
            ++s.sink.messages;
        }
    }

    void runActions()
    {
        for (std::size_t k = 0; k < m_actions.size();) {
            Action &a = m_actions[k];
            const bool due = (a.atMs != ~0ull && m_t >= a.atMs)
                || (a.afterBytes != ~0ull && m_side[a.side].source.queued >= a.afterBytes);
            if (due) {
                auto fn = std::move(a.fn);
                m_actions.erase(m_actions.begin() + static_cast<std::ptrdiff_t>(k));
                fn(*this);
            } else {
                ++k;
            }
        }
    }

    void checkViolation(const std::string &what)
    {
        if (m_checkViolations++ == 0)
            m_firstCheckViolation = what;
    }

    template <typename Done>
    Outcome loop(Done done, std::uint64_t horizon = ~0ull)
    {
        Outcome out;
        const std::uint64_t limit = std::min(m_cfg.maxVirtualMs, horizon);
        int sameTime = 0;
        for (std::uint64_t iter = 0;; ++iter) {
            out.iterations = iter;
            out.virtualMs = m_t;
            if (iter >= m_cfg.maxIterations) {
                out.why = "iteration bound reached";
                return out;
            }
            const std::uint32_t now = clock();
            runActions();
            Packet p;
            while (m_link.popDue(m_t, p)) {
                Side &s = m_side[p.to];
                const KcpInputResult r = s.engine->input(p.bytes.data(), p.bytes.size(), now);
                const int idx = -static_cast<int>(r);
                if (idx >= 0 && idx < static_cast<int>(s.inputResults.size()))
                    ++s.inputResults[static_cast<std::size_t>(idx)];
                if (r == KcpInputResult::Ok && p.corrupted)
                    ++s.acceptedCorrupted;
                if (r != KcpInputResult::Ok && !p.corrupted)
                    ++s.rejectedGenuine;
                if (r != KcpInputResult::Ok && s.firstReject.empty())
                    s.firstReject = std::string(kcpnet::kcpInputResultName(r)) + " at t=" + std::to_string(m_t)
                        + (p.corrupted ? " (corrupted datagram)" : " (genuine datagram)");
            }
            for (int i = 0; i < 2; ++i) {
                feed(i);
                if (!paused(i))
                    drain(i);
            }
            for (int i = 0; i < 2; ++i) {
                KcpEngine &e = *m_side[i].engine;
                if (kcpnet::kcpDiff(e.check(now), now) <= 0)
                    e.update(now);
            }
            if (m_cfg.strictData && (m_side[0].sink.errors || m_side[1].sink.errors)) {
                out.why = "data error: " + (m_side[0].sink.errors ? m_side[0].sink.firstError : m_side[1].sink.firstError);
                return out;
            }
            if (done()) {
                out.finished = true;
                return out;
            }

            // The next event.
            std::uint64_t next = m_link.nextDelivery();
            bool enginesIdle = true;
            for (int i = 0; i < 2; ++i) {
                const KcpEngine &e = *m_side[i].engine;
                const std::uint32_t c = e.check(now);
                const std::int32_t d = kcpnet::kcpDiff(c, now);
                if (d < 0)
                    checkViolation("check(" + std::to_string(now) + ") returned " + std::to_string(c) + ", in the past");
                if (e.isIdle() && c != now + KcpEngine::kIdleDelay)
                    checkViolation("isIdle() but check(now) - now = " + std::to_string(d));
                if (!e.isIdle() && d >= static_cast<std::int32_t>(KcpEngine::kIdleDelay))
                    checkViolation("not idle, yet check() schedules nothing");
                if (!e.isIdle())
                    enginesIdle = false;
                next = std::min<std::uint64_t>(next, m_t + static_cast<std::uint64_t>(std::max(d, 0)));
            }
            for (const Action &a : m_actions)
                if (a.atMs != ~0ull)
                    next = std::min(next, std::max(a.atMs, m_t));
            for (int i = 0; i < 2; ++i)
                for (const Pause &pz : m_cfg.pauses[i]) {
                    if (pz.from > m_t)
                        next = std::min(next, pz.from);
                    if (pz.until > m_t)
                        next = std::min(next, pz.until);
                }
            if (horizon != ~0ull)
                next = std::min(next, std::max(horizon, m_t));
            if (next <= m_t) {
                if (++sameTime > 64) {
                    out.why = "livelock: virtual time does not advance (check() keeps returning now)";
                    return out;
                }
                continue;
            }
            sameTime = 0;
            if (next > limit) {
                if (enginesIdle && m_link.empty())
                    out.why = "stalled: both engines idle, link empty, transfer incomplete";
                else
                    out.why = "virtual time limit of " + std::to_string(limit) + " ms reached (next event at "
                        + std::to_string(next) + ")";
                return out;
            }
            m_t = next;
        }
    }

    SimConfig m_cfg;
    VirtualLink m_link;
    Side m_side[2];
    std::vector<Action> m_actions;
    std::function<void(int, const std::uint8_t *, std::size_t)> m_tap;
    std::uint64_t m_t = 0;
    std::uint64_t m_checkViolations = 0;
    std::string m_firstCheckViolation;
};

} // namespace kcptest
