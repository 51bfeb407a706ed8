// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpengine.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace kcpnet {

namespace {

constexpr std::uint32_t kRtoNoDelayMin = 30; // minimum RTO in nodelay mode
constexpr std::uint32_t kRtoNormalMin = 100; // minimum RTO otherwise
constexpr std::uint32_t kRtoInitial = 200;   // RTO before the first RTT sample
constexpr std::uint32_t kRtoMax = 60000;
constexpr std::uint32_t kMaxRttSample = 10 * kRtoMax;
constexpr std::uint32_t kProbeInitial = 7000; // first zero-window probe after this long
constexpr std::uint32_t kProbeLimit = 120000; // probe interval grows by half up to this
constexpr std::uint32_t kSsthreshInitial = 2;
constexpr std::uint32_t kSsthreshMin = 2;
constexpr std::uint32_t kMinMtu = 50;
constexpr std::uint32_t kMaxMtu = 65536;
constexpr std::uint32_t kMinInterval = 10;
constexpr std::uint32_t kMaxInterval = 5000;
constexpr std::uint8_t kAskSend = 1; // we must send a window probe (WASK)
constexpr std::uint8_t kAskTell = 2; // we must announce our window (WINS)

std::uint32_t roundUpPow2(std::uint32_t v)
{
    std::uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

// The earlier of two points in time near each other on the wrapping clock.
std::uint32_t earlier(std::uint32_t a, std::uint32_t b)
{
    return kcpDiff(a, b) <= 0 ? a : b;
}

} // namespace

const char *kcpTraceEventName(KcpTraceEvent e) noexcept
{
    switch (e) {
    case KcpTraceEvent::Sent:
        return "sent";
    case KcpTraceEvent::RetransmitTimeout:
        return "retransmit_timeout";
    case KcpTraceEvent::RetransmitFast:
        return "retransmit_fast";
    case KcpTraceEvent::Acked:
        return "acked";
    case KcpTraceEvent::Received:
        return "received";
    case KcpTraceEvent::Duplicate:
        return "duplicate";
    case KcpTraceEvent::OutOfWindow:
        return "out_of_window";
    case KcpTraceEvent::WindowProbe:
        return "window_probe";
    case KcpTraceEvent::WindowTell:
        return "window_tell";
    case KcpTraceEvent::RttSample:
        return "rtt_sample";
    case KcpTraceEvent::CwndChange:
        return "cwnd_change";
    case KcpTraceEvent::DeadLink:
        return "dead_link";
    }
    return "unknown";
}

const char *kcpInputResultName(KcpInputResult r) noexcept
{
    switch (r) {
    case KcpInputResult::Ok:
        return "ok";
    case KcpInputResult::TooShort:
        return "datagram too short for a segment header";
    case KcpInputResult::WrongConv:
        return "wrong conversation id";
    case KcpInputResult::BadLength:
        return "segment length runs past the datagram or control segment has payload";
    case KcpInputResult::BadCommand:
        return "unknown command";
    case KcpInputResult::BadAck:
        return "acknowledges data never sent";
    case KcpInputResult::BadFragment:
        return "message has more fragments than the receive window";
    }
    return "unknown";
}

KcpEngine::KcpEngine(std::uint32_t conv, Output output)
    : m_output(std::move(output))
    , m_conv(conv)
{
    m_ssthresh = kSsthreshInitial;
    m_rxRto = kRtoInitial;
    m_minRto = kRtoNormalMin;
    m_cwnd = 1;
    m_incr = m_mss;
}

KcpEngine::~KcpEngine() = default;

// ---------------------------------------------------------------------------------------------------------------
// User data

std::uint32_t KcpEngine::maxMessageSize() const noexcept
{
    return m_mss * std::min(kMaxFragments, m_rcvWnd);
}

int KcpEngine::send(const std::uint8_t *data, int size)
{
    if (size < 0 || (size > 0 && !data))
        return -1;
    const std::uint32_t total = static_cast<std::uint32_t>(size);
    std::uint32_t left = total;

    if (m_stream) {
        // Top up the last queued segment first: the stream has no boundaries.
        if (!m_sndQueue.empty()) {
            Segment &last = m_sndQueue.back();
            if (last.data.size() < m_mss) {
                const std::uint32_t n = std::min<std::uint32_t>(left, m_mss - static_cast<std::uint32_t>(last.data.size()));
                last.data.insert(last.data.end(), data, data + n);
                data += n;
                left -= n;
            }
        }
        while (left > 0) {
            const std::uint32_t n = std::min(left, m_mss);
            Segment &seg = m_sndQueue.emplace_back();
            if (n < m_mss)
                seg.data.reserve(m_mss); // later writes will fill it
            seg.data.assign(data, data + n);
            seg.frg = 0;
            data += n;
            left -= n;
        }
        return size;
    }

    const std::uint32_t count = total <= m_mss ? 1 : (total + m_mss - 1) / m_mss;
    if (count > std::min(kMaxFragments, m_rcvWnd))
        return -2;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t n = std::min(left, m_mss);
        Segment &seg = m_sndQueue.emplace_back();
        seg.data.assign(data, data + n);
        seg.frg = static_cast<std::uint8_t>(count - i - 1);
        data += n;
        left -= n;
    }
    return size;
}

int KcpEngine::peekSize() const noexcept
{
    if (m_rcvQueue.empty())
        return -1;
    if (m_stream)
        return m_rcvQueueBytes > 0 ? static_cast<int>(std::min<std::size_t>(m_rcvQueueBytes, INT_MAX)) : -1;

    const Segment &first = m_rcvQueue.front();
    if (first.frg == 0)
        return static_cast<int>(first.data.size());
    if (m_rcvQueue.size() < static_cast<std::size_t>(first.frg) + 1)
        return -1;
    std::size_t total = 0;
    for (std::size_t i = 0; i < m_rcvQueue.size(); ++i) {
        const Segment &seg = m_rcvQueue[i];
        total += seg.data.size();
        if (seg.frg == 0)
            return static_cast<int>(total);
    }
    return -1;
}

int KcpEngine::recv(std::uint8_t *buffer, int size)
{
    const int available = peekSize();
    if (available < 0)
        return -1;
    if (size < 0 || (size > 0 && !buffer))
        return -1;
    const bool windowWasFull = m_rcvQueue.size() >= m_rcvWnd;

    int copied = 0;
    if (m_stream) {
        while (copied < size && !m_rcvQueue.empty()) {
            Segment &front = m_rcvQueue.front();
            const std::size_t n = std::min<std::size_t>(front.data.size() - m_rcvFrontOffset,
                                                         static_cast<std::size_t>(size - copied));
            std::memcpy(buffer + copied, front.data.data() + m_rcvFrontOffset, n);
            copied += static_cast<int>(n);
            m_rcvFrontOffset += static_cast<std::uint32_t>(n);
            if (m_rcvFrontOffset == front.data.size()) {
                m_rcvQueue.pop_front();
                m_rcvFrontOffset = 0;
            }
        }
        m_rcvQueueBytes -= static_cast<std::size_t>(copied);
    } else {
        if (available > size)
            return -3;
        while (!m_rcvQueue.empty()) {
            Segment &front = m_rcvQueue.front();
            if (!front.data.empty())
                std::memcpy(buffer + copied, front.data.data(), front.data.size());
            copied += static_cast<int>(front.data.size());
            const bool last = front.frg == 0;
            m_rcvQueue.pop_front();
            if (last)
                break;
        }
    }
    m_stats.bytesDelivered += static_cast<std::uint64_t>(copied);

    moveReceivedToQueue();
    // The peer saw a closed window and stopped sending: tell it the window is open again.
    if (windowWasFull && m_rcvQueue.size() < m_rcvWnd)
        m_probe |= kAskTell;
    return copied;
}

std::uint32_t KcpEngine::waitSnd() const noexcept
{
    return m_sndBufUnacked + static_cast<std::uint32_t>(m_sndQueue.size());
}

// ---------------------------------------------------------------------------------------------------------------
// Input

namespace {

// Walks the segments of a datagram checking what needs no engine state (every conv equal to `conv`, lengths
// within the datagram, known commands, no payload on control segments); `extra` adds per-segment checks.
template <typename Extra>
KcpInputResult walkSegments(const std::uint8_t *data, std::size_t size, std::uint32_t conv, Extra &&extra) noexcept
{
    if (!data || size < kKcpHeaderSize)
        return KcpInputResult::TooShort;
    std::size_t offset = 0;
    while (offset < size) {
        const std::size_t remaining = size - offset;
        if (remaining < kKcpHeaderSize)
            return KcpInputResult::TooShort;
        const KcpSegmentHeader h = decodeKcpHeader(data + offset);
        if (h.conv != conv)
            return KcpInputResult::WrongConv;
        if (h.len > remaining - kKcpHeaderSize)
            return KcpInputResult::BadLength;
        switch (static_cast<KcpCommand>(h.cmd)) {
        case KcpCommand::Push:
            break;
        case KcpCommand::Ack:
        case KcpCommand::WindowAsk:
        case KcpCommand::WindowTell:
            if (h.len != 0)
                return KcpInputResult::BadLength;
            break;
        default:
            return KcpInputResult::BadCommand;
        }
        const KcpInputResult r = extra(h);
        if (r != KcpInputResult::Ok)
            return r;
        offset += kKcpHeaderSize + h.len;
    }
    return KcpInputResult::Ok;
}

} // namespace

KcpInputResult KcpEngine::validate(const std::uint8_t *data, std::size_t size) const noexcept
{
    return walkSegments(data, size, m_conv, [this](const KcpSegmentHeader &h) {
        if (h.cmd == static_cast<std::uint8_t>(KcpCommand::Push) && !m_stream && h.frg >= m_rcvWnd)
            return KcpInputResult::BadFragment;
        if (h.cmd == static_cast<std::uint8_t>(KcpCommand::Ack) && kcpDiff(h.sn, m_sndNxt) >= 0)
            return KcpInputResult::BadAck;
        // una is the peer's next expected sn: it can never pass what we have sent.
        if (kcpDiff(h.una, m_sndNxt) > 0)
            return KcpInputResult::BadAck;
        return KcpInputResult::Ok;
    });
}

KcpInputResult KcpEngine::inspect(const std::uint8_t *data, std::size_t size, std::uint32_t *conv) noexcept
{
    const std::uint32_t first = kcpConvOf(data, size);
    const KcpInputResult r = walkSegments(data, size, first, [](const KcpSegmentHeader &) {
        return KcpInputResult::Ok;
    });
    if (r == KcpInputResult::Ok && conv)
        *conv = first;
    return r;
}

KcpInputResult KcpEngine::input(const std::uint8_t *data, std::size_t size, std::uint32_t now)
{
    // Validate the whole datagram first, so that a bad segment anywhere leaves the state untouched.
    const KcpInputResult verdict = validate(data, size);
    if (verdict != KcpInputResult::Ok) {
        if (verdict == KcpInputResult::WrongConv)
            ++m_stats.wrongConvDatagrams;
        else
            ++m_stats.malformedDatagrams;
        return verdict;
    }
    ++m_stats.datagramsReceived;
    m_stats.wireBytesReceived += size;
    m_now = now;

    const std::uint32_t prevUna = m_sndUna;
    bool sawAck = false;
    std::uint32_t maxAck = 0;
    std::uint32_t maxAckTs = 0;

    std::size_t offset = 0;
    while (offset < size) {
        const KcpSegmentHeader h = decodeKcpHeader(data + offset);
        const std::uint8_t *payload = data + offset + kKcpHeaderSize;
        offset += kKcpHeaderSize + h.len;

        m_rmtWnd = h.wnd;
        processUna(h.una);

        switch (static_cast<KcpCommand>(h.cmd)) {
        case KcpCommand::Ack:
            ++m_stats.acksReceived;
            // A sample from the future or from minutes ago is a stale or forged timestamp, not an RTT.
            if (kcpDiff(now, h.ts) >= 0 && kcpDiff(now, h.ts) <= static_cast<std::int32_t>(kMaxRttSample))
                updateRtt(kcpDiff(now, h.ts));
            processAck(h.sn);
            if (!sawAck || kcpDiff(h.sn, maxAck) > 0) {
                sawAck = true;
                maxAck = h.sn;
                maxAckTs = h.ts;
            }
            break;
        case KcpCommand::Push:
            ++m_stats.segmentsReceived;
            if (kcpDiff(h.sn, m_rcvNxt + m_rcvWnd) < 0) {
                // Acknowledge everything inside the window, also what we already have: the ACK may have been lost.
                m_acks.push_back({h.sn, h.ts});
                if (kcpDiff(h.sn, m_rcvNxt) >= 0) {
                    acceptData(h, payload);
                } else {
                    ++m_stats.duplicateSegments;
                    trace(KcpTraceEvent::Duplicate, h.sn);
                }
            } else {
                ++m_stats.outOfWindowSegments;
                trace(KcpTraceEvent::OutOfWindow, h.sn, m_rcvNxt, m_rcvWnd);
            }
            break;
        case KcpCommand::WindowAsk:
            m_probe |= kAskTell;
            break;
        case KcpCommand::WindowTell:
            break; // the window itself was taken from the header above
        }
    }

    if (sawAck)
        processFastAck(maxAck, maxAckTs);
    if (kcpDiff(m_sndUna, prevUna) > 0)
        growCongestionWindow();
    return KcpInputResult::Ok;
}

void KcpEngine::updateRtt(std::int32_t rtt) noexcept
{
    ++m_stats.rttSamples;
    if (m_rxSrtt == 0) {
        m_rxSrtt = rtt;
        m_rxRttvar = rtt / 2;
    } else {
        const std::int32_t delta = rtt > m_rxSrtt ? rtt - m_rxSrtt : m_rxSrtt - rtt;
        m_rxRttvar = (3 * m_rxRttvar + delta) / 4;
        m_rxSrtt = (7 * m_rxSrtt + rtt) / 8;
        if (m_rxSrtt < 1)
            m_rxSrtt = 1;
    }
    const std::uint32_t rto = static_cast<std::uint32_t>(m_rxSrtt)
        + std::max<std::uint32_t>(m_interval, 4 * static_cast<std::uint32_t>(m_rxRttvar));
    m_rxRto = std::clamp(rto, m_minRto, kRtoMax);
    trace(KcpTraceEvent::RttSample, static_cast<std::uint32_t>(rtt), static_cast<std::uint32_t>(m_rxSrtt), m_rxRto);
}

void KcpEngine::processUna(std::uint32_t una) noexcept
{
    while (!m_sndBuf.empty() && kcpDiff(una, m_sndUna) > 0) {
        if (!m_sndBuf.front().acked) {
            --m_sndBufUnacked;
            trace(KcpTraceEvent::Acked, m_sndUna, una);
        }
        m_sndBuf.pop_front();
        ++m_sndUna;
    }
}

void KcpEngine::processAck(std::uint32_t sn) noexcept
{
    if (kcpDiff(sn, m_sndUna) < 0 || kcpDiff(sn, m_sndNxt) >= 0)
        return;
    Segment &seg = m_sndBuf[sn - m_sndUna];
    if (!seg.acked) {
        seg.acked = true;
        std::vector<std::uint8_t>().swap(seg.data);
        --m_sndBufUnacked;
    }
    while (!m_sndBuf.empty() && m_sndBuf.front().acked) {
        m_sndBuf.pop_front();
        ++m_sndUna;
    }
    if (m_trace)
        trace(KcpTraceEvent::Acked, sn, m_sndUna);
}

void KcpEngine::processFastAck(std::uint32_t sn, std::uint32_t ts) noexcept
{
    if (kcpDiff(sn, m_sndUna) < 0 || kcpDiff(sn, m_sndNxt) >= 0)
        return;
    // Every segment sent before the acknowledged one, and no later than it, was skipped once more.
    const std::uint32_t below = sn - m_sndUna;
    for (std::uint32_t i = 0; i < below; ++i) {
        Segment &seg = m_sndBuf[i];
        if (!seg.acked && kcpDiff(seg.ts, ts) <= 0)
            ++seg.fastack;
    }
}

void KcpEngine::growCongestionWindow() noexcept
{
    if (m_cwnd >= m_rmtWnd)
        return;
    const std::uint32_t mss = m_mss;
    if (m_cwnd < m_ssthresh) {
        ++m_cwnd;
        m_incr += mss;
    } else {
        if (m_incr < mss)
            m_incr = mss;
        m_incr += (mss * mss) / m_incr + mss / 16;
        if ((m_cwnd + 1) * mss <= m_incr)
            m_cwnd = (m_incr + mss - 1) / mss;
    }
    if (m_cwnd > m_rmtWnd) {
        m_cwnd = m_rmtWnd;
        m_incr = m_rmtWnd * mss;
    }
    if (m_trace && !m_noCwnd)
        trace(KcpTraceEvent::CwndChange, m_cwnd, m_ssthresh, 0);
}

void KcpEngine::acceptData(const KcpSegmentHeader &h, const std::uint8_t *payload)
{
    // Fast path: the next expected segment with nothing buffered out of order goes straight to the queue.
    if (h.sn == m_rcvNxt && m_rcvBufCount == 0 && m_rcvQueue.size() < m_rcvWnd) {
        ++m_rcvNxt;
        m_stats.bytesReceived += h.len;
        trace(KcpTraceEvent::Received, h.sn, h.len, 1);
        if (m_stream && h.len == 0)
            return;
        Segment &seg = m_rcvQueue.emplace_back();
        seg.data.assign(payload, payload + h.len);
        seg.sn = h.sn;
        seg.frg = h.frg;
        m_rcvQueueBytes += h.len;
        return;
    }

    if (m_rcvSlotCount < m_rcvWnd)
        resizeReceiveSlots(m_rcvWnd);
    Segment &slot = m_rcvSlots[h.sn & (m_rcvSlotCount - 1)];
    if (slot.used) {
        ++m_stats.duplicateSegments;
        trace(KcpTraceEvent::Duplicate, h.sn);
        return;
    }
    trace(KcpTraceEvent::Received, h.sn, h.len, h.sn == m_rcvNxt ? 1 : 0);
    slot.used = true;
    slot.sn = h.sn;
    slot.frg = h.frg;
    slot.data.assign(payload, payload + h.len);
    ++m_rcvBufCount;
    m_stats.bytesReceived += h.len;
    moveReceivedToQueue();
}

void KcpEngine::moveReceivedToQueue()
{
    while (m_rcvBufCount > 0 && m_rcvQueue.size() < m_rcvWnd) {
        Segment &slot = m_rcvSlots[m_rcvNxt & (m_rcvSlotCount - 1)];
        if (!slot.used || slot.sn != m_rcvNxt)
            break;
        slot.used = false;
        --m_rcvBufCount;
        ++m_rcvNxt;
        if (m_stream && slot.data.empty())
            continue;
        m_rcvQueueBytes += slot.data.size();
        Segment &seg = m_rcvQueue.emplace_back();
        seg.data = std::move(slot.data);
        slot.data = {};
        seg.sn = slot.sn;
        seg.frg = slot.frg;
    }
}

void KcpEngine::resizeReceiveSlots(std::uint32_t window)
{
    const std::uint32_t count = roundUpPow2(std::max<std::uint32_t>(window, 1));
    if (count <= m_rcvSlotCount)
        return;
    std::unique_ptr<Segment[]> fresh(new Segment[count]);
    for (std::uint32_t i = 0; i < m_rcvSlotCount; ++i) {
        Segment &old = m_rcvSlots[i];
        if (old.used)
            fresh[old.sn & (count - 1)] = std::move(old);
    }
    m_rcvSlots = std::move(fresh);
    m_rcvSlotCount = count;
}

// ---------------------------------------------------------------------------------------------------------------
// Output

std::uint32_t KcpEngine::unusedWindow() const noexcept
{
    const std::size_t queued = m_rcvQueue.size();
    if (queued >= m_rcvWnd)
        return 0;
    return std::min<std::uint32_t>(m_rcvWnd - static_cast<std::uint32_t>(queued), kMaxWindow);
}

std::uint32_t KcpEngine::effectiveCwnd() const noexcept
{
    std::uint32_t cwnd = std::min(m_sndWnd, m_rmtWnd);
    if (!m_noCwnd)
        cwnd = std::min(cwnd, m_cwnd);
    return cwnd;
}

std::uint8_t *KcpEngine::reserveOutput(std::size_t need)
{
    const std::size_t want = std::max<std::size_t>(m_mtu, m_outSize + need);
    if (m_out.size() < want)
        m_out.resize(want);
    return m_out.data() + m_outSize;
}

void KcpEngine::emitOutput()
{
    if (m_outSize == 0)
        return;
    ++m_stats.datagramsSent;
    m_stats.wireBytesSent += m_outSize;
    const std::size_t size = m_outSize;
    m_outSize = 0;
    if (m_output)
        m_output(m_out.data(), size);
}

void KcpEngine::writeSegment(const KcpSegmentHeader &h, const std::uint8_t *payload)
{
    const std::size_t need = kKcpHeaderSize + h.len;
    if (m_outSize > 0 && m_outSize + need > m_mtu)
        emitOutput();
    std::uint8_t *p = reserveOutput(need);
    encodeKcpHeader(h, p);
    if (h.len)
        std::memcpy(p + kKcpHeaderSize, payload, h.len);
    m_outSize += need;
}

std::uint32_t KcpEngine::tickTime(std::uint32_t now) const noexcept
{
    // The next interval tick; a tick that is stale (the engine was idle) or implausibly far ahead is "now".
    const std::int32_t ahead = kcpDiff(m_tsFlush, now);
    if (ahead > 0 && static_cast<std::uint32_t>(ahead) <= m_interval)
        return m_tsFlush;
    return now;
}

bool KcpEngine::isIdle() const noexcept
{
    return m_acks.empty() && m_probe == 0 && m_sndQueue.empty() && m_sndBuf.empty();
}

std::uint32_t KcpEngine::check(std::uint32_t now) const noexcept
{
    if (!m_acks.empty() && m_ackNoDelay)
        return now;

    bool tickWork = !m_acks.empty() || m_probe != 0;
    bool haveTimer = false;
    std::uint32_t timer = 0;
    auto addTimer = [&](std::uint32_t t) {
        if (kcpDiff(t, now) < 0)
            t = now;
        timer = haveTimer ? earlier(timer, t) : t;
        haveTimer = true;
    };

    bool urgent = false; // due at once, not at the next tick
    if (!m_sndQueue.empty()) {
        if (kcpDiff(m_sndNxt, m_sndUna + effectiveCwnd()) < 0)
            (m_sendNoDelay ? urgent : tickWork) = true;
        if (m_rmtWnd == 0) {
            if (m_probeWait == 0)
                tickWork = true; // the probe timer gets armed at the next flush
            else
                addTimer(m_tsProbe);
        }
    }

    const std::uint32_t resent = m_fastResend > 0 ? m_fastResend : 0xffffffffu;
    for (std::size_t i = 0; i < m_sndBuf.size(); ++i) {
        const Segment &seg = m_sndBuf[i];
        if (seg.acked)
            continue;
        if (seg.xmit == 0 || (seg.fastack >= resent && (m_fastLimit == 0 || seg.xmit <= m_fastLimit)))
            (m_sendNoDelay ? urgent : tickWork) = true;
        else
            addTimer(seg.resendts);
    }

    if (urgent)
        return now;
    if (tickWork)
        addTimer(tickTime(now));
    return haveTimer ? timer : now + kIdleDelay;
}

void KcpEngine::update(std::uint32_t now)
{
    if (kcpDiff(now, check(now)) >= 0)
        flush(now);
}

void KcpEngine::flush(std::uint32_t now)
{
    m_now = now;
    m_tsFlush = now + m_interval;

    KcpSegmentHeader h;
    h.conv = m_conv;
    h.wnd = static_cast<std::uint16_t>(unusedWindow());
    h.una = m_rcvNxt;

    // 1. Acknowledgements.
    h.cmd = static_cast<std::uint8_t>(KcpCommand::Ack);
    for (const AckEntry &ack : m_acks) {
        h.sn = ack.sn;
        h.ts = ack.ts;
        writeSegment(h, nullptr);
    }
    m_stats.acksSent += m_acks.size();
    m_acks.clear();
    h.sn = 0;
    h.ts = 0;

    // 2. Zero-window probing, only while we have data waiting for the window.
    if (m_rmtWnd == 0 && !m_sndQueue.empty()) {
        if (m_probeWait == 0) {
            m_probeWait = kProbeInitial;
            m_tsProbe = now + m_probeWait;
        } else if (kcpDiff(now, m_tsProbe) >= 0) {
            m_probeWait = std::max(m_probeWait, kProbeInitial);
            m_probeWait = std::min(m_probeWait + m_probeWait / 2, kProbeLimit);
            m_tsProbe = now + m_probeWait;
            m_probe |= kAskSend;
        }
    } else {
        m_tsProbe = 0;
        m_probeWait = 0;
    }
    if (m_probe & kAskSend) {
        h.cmd = static_cast<std::uint8_t>(KcpCommand::WindowAsk);
        writeSegment(h, nullptr);
        ++m_stats.windowProbesSent;
        trace(KcpTraceEvent::WindowProbe);
    }
    if (m_probe & kAskTell) {
        h.cmd = static_cast<std::uint8_t>(KcpCommand::WindowTell);
        writeSegment(h, nullptr);
        ++m_stats.windowUpdatesSent;
        trace(KcpTraceEvent::WindowTell, h.wnd);
    }
    m_probe = 0;

    // 3. Move new data into the send buffer as far as the window allows.
    const std::uint32_t cwnd = effectiveCwnd();
    while (!m_sndQueue.empty() && kcpDiff(m_sndNxt, m_sndUna + cwnd) < 0) {
        Segment &seg = m_sndBuf.push_back(std::move(m_sndQueue.front()));
        m_sndQueue.pop_front();
        seg.sn = m_sndNxt++;
        seg.ts = now;
        seg.resendts = now;
        seg.rto = m_rxRto;
        seg.fastack = 0;
        seg.xmit = 0;
        seg.acked = false;
        ++m_sndBufUnacked;
    }

    // 4. First transmissions, timeouts and fast retransmissions.
    const std::uint32_t resent = m_fastResend > 0 ? m_fastResend : 0xffffffffu;
    const std::uint32_t rtoExtra = m_nodelay == 0 ? (m_rxRto >> 3) : 0;
    bool lost = false;
    bool fastResent = false;
    std::uint32_t timedOut[kMaxRedundantCopies]; // send-buffer indices of this flush's timeout retransmissions
    std::uint32_t timedOutCount = 0;
    h.cmd = static_cast<std::uint8_t>(KcpCommand::Push);
    for (std::size_t i = 0; i < m_sndBuf.size(); ++i) {
        Segment &seg = m_sndBuf[i];
        if (seg.acked)
            continue;
        bool send = false;
        KcpTraceEvent kind = KcpTraceEvent::Sent;
        if (seg.xmit == 0) {
            send = true;
            seg.rto = m_rxRto;
            seg.resendts = now + seg.rto + rtoExtra;
            m_stats.bytesSent += seg.data.size();
        } else if (kcpDiff(now, seg.resendts) >= 0) {
            send = true;
            if (m_nodelay == 0)
                seg.rto += std::max(seg.rto, m_rxRto);
            else
                seg.rto += (m_nodelay < 2 ? seg.rto : m_rxRto) / 2;
            seg.rto = std::min(seg.rto, kRtoMax);
            seg.resendts = now + seg.rto;
            lost = true;
            kind = KcpTraceEvent::RetransmitTimeout;
            ++m_stats.retransmitsTimeout;
            if (m_redundantRetransmits && timedOutCount <= kMaxRedundantCopies) {
                if (timedOutCount < kMaxRedundantCopies)
                    timedOut[timedOutCount] = static_cast<std::uint32_t>(i);
                ++timedOutCount; // one past the limit marks "too many: no copies"
            }
        } else if (seg.fastack >= resent && (m_fastLimit == 0 || seg.xmit <= m_fastLimit)) {
            send = true;
            seg.fastack = 0;
            seg.resendts = now + seg.rto;
            fastResent = true;
            kind = KcpTraceEvent::RetransmitFast;
            ++m_stats.retransmitsFast;
        }
        if (!send)
            continue;
        ++seg.xmit;
        seg.ts = now;
        h.frg = seg.frg;
        h.ts = now;
        h.sn = seg.sn;
        h.len = static_cast<std::uint32_t>(seg.data.size());
        writeSegment(h, seg.data.data());
        ++m_stats.segmentsSent;
        trace(kind, seg.sn, h.len, seg.xmit);
        if (seg.xmit >= m_deadLink && !m_dead) {
            m_dead = true;
            trace(KcpTraceEvent::DeadLink, seg.sn, 0, seg.xmit);
        }
    }
    emitOutput();

    // 4b. Redundant retransmission: a segment that timed out was lost at least once; a second copy in its own
    // datagram makes losing it again (and waiting another, longer RTO) much less likely. Only for a few segments
    // (the tail of a request/response exchange), never for a mass timeout in a bulk transfer.
    if (timedOutCount > 0 && timedOutCount <= kMaxRedundantCopies) {
        for (std::uint32_t k = 0; k < timedOutCount; ++k) {
            const Segment &seg = m_sndBuf[timedOut[k]];
            h.frg = seg.frg;
            h.ts = now;
            h.sn = seg.sn;
            h.len = static_cast<std::uint32_t>(seg.data.size());
            writeSegment(h, seg.data.data());
            ++m_stats.redundantSegments;
        }
        emitOutput();
    }

    // 5. Congestion response.
    if (fastResent) {
        const std::uint32_t inflight = m_sndNxt - m_sndUna;
        m_ssthresh = std::max(inflight / 2, kSsthreshMin);
        m_cwnd = m_ssthresh + resent;
        m_incr = m_cwnd * m_mss;
    }
    if (lost) {
        m_ssthresh = std::max(cwnd / 2, kSsthreshMin);
        m_cwnd = 1;
        m_incr = m_mss;
    }
    if (m_cwnd < 1) {
        m_cwnd = 1;
        m_incr = m_mss;
    }
    if (m_trace && !m_noCwnd && (fastResent || lost))
        trace(KcpTraceEvent::CwndChange, m_cwnd, m_ssthresh, lost ? 2 : 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Settings

void KcpEngine::setNoDelay(int nodelay, int interval, int fastResend, bool noCongestionControl)
{
    if (nodelay >= 0) {
        m_nodelay = static_cast<std::uint8_t>(std::min(nodelay, 2));
        m_minRto = m_nodelay ? kRtoNoDelayMin : kRtoNormalMin;
    }
    if (interval >= 0)
        setInterval(static_cast<std::uint32_t>(interval));
    if (fastResend >= 0)
        m_fastResend = static_cast<std::uint32_t>(fastResend);
    m_noCwnd = noCongestionControl;
}

void KcpEngine::setInterval(std::uint32_t interval)
{
    m_interval = std::clamp(interval, kMinInterval, kMaxInterval);
}

void KcpEngine::setWindowSize(std::uint32_t sendWindow, std::uint32_t receiveWindow)
{
    if (sendWindow > 0)
        m_sndWnd = std::min(sendWindow, kMaxWindow);
    if (receiveWindow > 0) {
        m_rcvWnd = std::min(receiveWindow, kMaxWindow);
        if (m_rcvSlotCount > 0)
            resizeReceiveSlots(m_rcvWnd);
        if (m_rcvQueue.size() < m_rcvWnd)
            moveReceivedToQueue();
    }
}

bool KcpEngine::setMtu(std::uint32_t mtu)
{
    if (mtu < kMinMtu || mtu > kMaxMtu)
        return false;
    m_mtu = mtu;
    m_mss = mtu - static_cast<std::uint32_t>(kKcpHeaderSize);
    return true;
}

void KcpEngine::setMinRto(std::uint32_t minRto)
{
    m_minRto = std::min(minRto, kRtoMax);
}

void KcpEngine::setDeadLink(std::uint32_t transmissions)
{
    m_deadLink = std::max<std::uint32_t>(transmissions, 1);
}

void KcpEngine::setFastResendLimit(std::uint32_t limit)
{
    m_fastLimit = limit;
}

void KcpEngine::setStreamMode(bool stream)
{
    m_stream = stream;
}

void KcpEngine::setAckNoDelay(bool on)
{
    m_ackNoDelay = on;
}

void KcpEngine::setSendNoDelay(bool on)
{
    m_sendNoDelay = on;
}

void KcpEngine::setRedundantRetransmits(bool on)
{
    m_redundantRetransmits = on;
}

// ---------------------------------------------------------------------------------------------------------------
// State

KcpEngineStats KcpEngine::stats() const noexcept
{
    KcpEngineStats s = m_stats;
    s.srtt = static_cast<std::uint32_t>(m_rxSrtt);
    s.rttvar = static_cast<std::uint32_t>(m_rxRttvar);
    s.rto = m_rxRto;
    s.cwnd = effectiveCwnd();
    s.ssthresh = m_ssthresh;
    s.remoteWindow = m_rmtWnd;
    s.inFlight = m_sndNxt - m_sndUna;
    s.sendQueue = static_cast<std::uint32_t>(m_sndQueue.size());
    s.sendBuffer = m_sndBufUnacked;
    s.receiveQueue = static_cast<std::uint32_t>(m_rcvQueue.size());
    s.receiveBuffer = m_rcvBufCount;
    s.pendingAcks = static_cast<std::uint32_t>(m_acks.size());
    s.deadLink = m_dead;
    return s;
}

std::size_t KcpEngine::memoryUsage() const noexcept
{
    std::size_t bytes = sizeof(*this);
    bytes += m_sndQueue.heapBytes() + m_sndBuf.heapBytes() + m_rcvQueue.heapBytes();
    bytes += static_cast<std::size_t>(m_rcvSlotCount) * sizeof(Segment);
    bytes += m_acks.capacity() * sizeof(AckEntry);
    bytes += m_out.capacity();
    for (std::size_t i = 0; i < m_sndQueue.size(); ++i)
        bytes += m_sndQueue[i].data.capacity();
    for (std::size_t i = 0; i < m_sndBuf.size(); ++i)
        bytes += m_sndBuf[i].data.capacity();
    for (std::size_t i = 0; i < m_rcvQueue.size(); ++i)
        bytes += m_rcvQueue[i].data.capacity();
    for (std::uint32_t i = 0; i < m_rcvSlotCount; ++i)
        bytes += m_rcvSlots[i].data.capacity();
    return bytes;
}

void KcpEngine::compact()
{
    m_sndQueue.release();
    m_sndBuf.release();
    m_rcvQueue.release();
    if (m_rcvBufCount == 0) {
        m_rcvSlots.reset();
        m_rcvSlotCount = 0;
    }
    if (m_acks.empty())
        std::vector<AckEntry>().swap(m_acks);
    if (m_outSize == 0)
        std::vector<std::uint8_t>().swap(m_out);
}

} // namespace kcpnet
