// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpEngine: the KCP ARQ protocol, byte-compatible with ikcp and kcp-go on the wire.
//
// The engine does no I/O and has no clock. The caller
//  - passes the current time in milliseconds (any monotonic origin, wrapping 32-bit) to update(), check(),
//    flush() and input();
//  - feeds received datagrams to input();
//  - receives outgoing datagrams through the output callback (called only from update()/flush());
//  - asks check() when update() next has something to do, and sleeps until then: an idle engine needs no calls.
//
// After input(), send(), recv() or a settings change, check() may return an earlier time than before.
// The engine is not thread-safe and not re-entrant: do not call into the same engine from its output callback.
#pragma once

#include "kcpring.h"
#include "kcpsegment.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace kcpnet {

// Why input() rejected a datagram. On any error the engine's state is unchanged.
enum class KcpInputResult : int {
    Ok = 0,
    TooShort = -1,    // fewer than 24 bytes left where a segment header should start (or an empty datagram)
    WrongConv = -2,   // the conv field is not this engine's conversation
    BadLength = -3,   // len runs past the end of the datagram, or a control segment carries payload
    BadCommand = -4,  // cmd is not PUSH/ACK/WASK/WINS
    BadAck = -5,      // una or an ACK's sn acknowledges data this engine never sent
    BadFragment = -6, // frg says the message has more fragments than the receive window can ever hold
};

const char *kcpInputResultName(KcpInputResult r) noexcept;

// Counters and gauges for statistics. Gauges describe the state now; counters only grow.
struct KcpEngineStats {
    // RTT estimator and congestion state (ms / segments)
    std::uint32_t srtt = 0;
    std::uint32_t rttvar = 0;
    std::uint32_t rto = 0;
    std::uint32_t cwnd = 0;         // effective send window: min(send window, remote window, congestion window)
    std::uint32_t ssthresh = 0;
    std::uint32_t remoteWindow = 0; // last window the peer announced
    std::uint32_t inFlight = 0;     // snd_nxt - snd_una: segments sent and not yet cumulatively acknowledged
    // Queues (segments)
    std::uint32_t sendQueue = 0;     // written, not yet sent (waiting for the window)
    std::uint32_t sendBuffer = 0;    // sent, not yet acknowledged
    std::uint32_t receiveQueue = 0;  // in order, waiting for recv()
    std::uint32_t receiveBuffer = 0; // received out of order, waiting for the gap to fill
    std::uint32_t pendingAcks = 0;

    // Counters
    std::uint64_t datagramsSent = 0;     // calls of the output callback
    std::uint64_t datagramsReceived = 0; // datagrams accepted by input()
    std::uint64_t wireBytesSent = 0;     // bytes handed to the output callback
    std::uint64_t wireBytesReceived = 0; // bytes of accepted datagrams
    std::uint64_t segmentsSent = 0;      // PUSH segments transmitted, first transmissions and retransmissions
    std::uint64_t segmentsReceived = 0;  // PUSH segments received, including duplicates and out-of-window ones
    std::uint64_t bytesSent = 0;         // payload bytes transmitted for the first time
    std::uint64_t bytesReceived = 0;     // payload bytes accepted (each byte once)
    std::uint64_t bytesDelivered = 0;    // payload bytes handed to the application by recv()
    std::uint64_t acksSent = 0;
    std::uint64_t acksReceived = 0;
    std::uint64_t retransmitsTimeout = 0; // retransmissions because the RTO expired
    std::uint64_t retransmitsFast = 0;    // retransmissions because later segments were acknowledged (fast resend)
    std::uint64_t redundantSegments = 0;  // extra copies of timed-out segments (setRedundantRetransmits)
    std::uint64_t duplicateSegments = 0;  // PUSH segments received twice
    std::uint64_t outOfWindowSegments = 0; // PUSH segments beyond the receive window (dropped, not acknowledged)
    std::uint64_t malformedDatagrams = 0;  // datagrams rejected by input() (any KcpInputResult but Ok/WrongConv)
    std::uint64_t wrongConvDatagrams = 0;
    std::uint64_t windowProbesSent = 0;  // WASK
    std::uint64_t windowUpdatesSent = 0; // WINS
    std::uint64_t rttSamples = 0;
    bool deadLink = false;
};

// Protocol events, for tracing (opt-in: see KcpEngine::setTrace). Fields a/b/c per event:
enum class KcpTraceEvent : std::uint8_t {
    Sent,              // a = sn, b = payload bytes, c = 1 (first transmission)
    RetransmitTimeout, // a = sn, b = payload bytes, c = transmission number
    RetransmitFast,    // a = sn, b = payload bytes, c = transmission number
    Acked,             // a = sn of a segment leaving the send buffer (selective ACK or una), b = new una
    Received,          // a = sn of a new PUSH, b = payload bytes, c = 1 if in order, 0 if out of order
    Duplicate,         // a = sn of a PUSH received before
    OutOfWindow,       // a = sn of a PUSH beyond the receive window, b = rcv_nxt, c = receive window
    WindowProbe,       // WASK sent (the peer's window is 0)
    WindowTell,        // WINS sent, a = our unused window
    RttSample,         // a = rtt, b = srtt, c = rto (ms)
    CwndChange,        // a = cwnd, b = ssthresh, c = 1 after fast retransmit, 2 after timeout, 0 growth
    DeadLink,          // a = sn, c = transmissions
};

const char *kcpTraceEventName(KcpTraceEvent e) noexcept;

struct KcpTraceRecord {
    std::uint32_t time = 0; // the engine clock (ms) passed to the call that produced the event
    KcpTraceEvent event = KcpTraceEvent::Sent;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::uint32_t c = 0;
};

class KcpEngine
{
public:
    // Receives one datagram to send. `data` is valid only during the call.
    using Output = std::function<void(const std::uint8_t *data, std::size_t size)>;
    // Receives protocol events while set (costs one branch per event when unset).
    using Trace = std::function<void(const KcpTraceRecord &record)>;

    // Defaults are ikcp's (mtu 1400, interval 100, windows 32/128, min RTO 100, dead link 20,
    // no nodelay, no fast resend, congestion control on).
    static constexpr std::uint32_t kDefaultMtu = 1400;
    static constexpr std::uint32_t kDefaultInterval = 100;
    static constexpr std::uint32_t kDefaultSendWindow = 32;
    static constexpr std::uint32_t kDefaultReceiveWindow = 128;
    static constexpr std::uint32_t kDefaultDeadLink = 20;
    static constexpr std::uint32_t kDefaultFastResendLimit = 5;
    static constexpr std::uint32_t kMaxWindow = 65535;       // the wnd field is 16 bits
    static constexpr std::uint32_t kMaxFragments = 255;      // fragments per message (kcp-go's limit; ikcp's is 127)
    static constexpr std::uint32_t kIdleDelay = 1u << 30;    // check() when there is nothing to do: "not soon"
    static constexpr std::uint32_t kMaxRedundantCopies = 8;  // see setRedundantRetransmits()

    explicit KcpEngine(std::uint32_t conv, Output output = {});
    ~KcpEngine();
    KcpEngine(const KcpEngine &) = delete;
    KcpEngine &operator=(const KcpEngine &) = delete;

    std::uint32_t conv() const noexcept { return m_conv; }
    void setOutput(Output output) { m_output = std::move(output); }
    // Starts (or, with an empty function, stops) reporting protocol events.
    void setTrace(Trace trace) { m_trace = trace ? std::make_unique<Trace>(std::move(trace)) : nullptr; }
    bool isTracing() const noexcept { return m_trace != nullptr; }

    // ---- Sending and receiving user data ----

    // Queues data. Message mode: one call = one message (up to maxMessageSize() bytes, 0 allowed).
    // Stream mode: bytes are appended to a byte stream (any size; 0 is a no-op).
    // Returns the number of bytes queued, -1 for a negative size, -2 when a message is too large.
    int send(const std::uint8_t *data, int size);
    // Message mode: size of the next complete message; stream mode: bytes readable now. -1 when nothing.
    int peekSize() const noexcept;
    // Message mode: copies one whole message (returns its size, -1 if none, -3 if `size` is too small).
    // Stream mode: copies up to `size` bytes (returns the count, -1 if none).
    int recv(std::uint8_t *buffer, int size);
    // Segments written but not yet acknowledged (send queue + send buffer), as ikcp's waitsnd.
    std::uint32_t waitSnd() const noexcept;
    // Largest message send() accepts in message mode: mss * min(kMaxFragments, receiveWindow()).
    // The peer's receive window must hold that many fragments too (ikcp's default of 128 holds 127).
    std::uint32_t maxMessageSize() const noexcept;

    // ---- Driving ----

    // Processes one received datagram (one or more segments). `now` is used for RTT samples.
    KcpInputResult input(const std::uint8_t *data, std::size_t size, std::uint32_t now);
    // Checks that a datagram is well-formed KCP without any engine state (segment lengths, commands, one conv for
    // all segments) and reports its conv. Used to vet the first datagram of a would-be session.
    static KcpInputResult inspect(const std::uint8_t *data, std::size_t size, std::uint32_t *conv) noexcept;
    // Flushes if something is due at `now` (see check()).
    void update(std::uint32_t now);
    // The earliest time at which update() has something to do: `now` or later; now + kIdleDelay when idle.
    std::uint32_t check(std::uint32_t now) const noexcept;
    // Sends everything that can be sent now: pending ACKs, window probes, new data the window allows,
    // retransmissions that are due. Restarts the flush interval.
    void flush(std::uint32_t now);
    // True when nothing is queued, in flight, pending or being probed: check() then returns now + kIdleDelay.
    bool isIdle() const noexcept;

    // ---- Settings (all may be changed at run time) ----

    // ikcp_nodelay: nodelay 0 = normal RTO growth and min RTO 100 ms, 1 = no-delay (RTO grows by half, min RTO
    // 30 ms), 2 = as 1 with the step taken from the current estimate; interval is clamped to [10, 5000] ms;
    // fastResend = skipped ACKs that trigger a fast retransmit (0 = off); noCongestionControl disables cwnd.
    void setNoDelay(int nodelay, int interval, int fastResend, bool noCongestionControl);
    void setInterval(std::uint32_t interval);
    // Sizes in segments; 0 leaves a value unchanged. Limited to [1, kMaxWindow].
    // Shrinking the receive window keeps what was already received; it only narrows what is accepted next.
    // In message mode the receive window must stay at least as large as the peer's largest message in
    // fragments: a message that no longer fits can never complete (the peer's segments are rejected as
    // BadFragment). Shrink it only between messages, or keep it >= the peer's maxMessageSize() / mss().
    void setWindowSize(std::uint32_t sendWindow, std::uint32_t receiveWindow);
    // MTU = largest datagram, header included (at least 50). Applies to data queued after the call;
    // segments already cut keep their size.
    bool setMtu(std::uint32_t mtu);
    void setMinRto(std::uint32_t minRto);
    void setDeadLink(std::uint32_t transmissions);
    // No fast retransmit for a segment already transmitted more than `limit` times (all kinds); 0 = no limit.
    void setFastResendLimit(std::uint32_t limit);
    void setStreamMode(bool stream);               // set before sending anything
    void setAckNoDelay(bool on);                   // send ACKs at the next update() instead of the next interval tick
    // Send new data (and fast retransmissions) at the next update() as soon as the window allows, instead of
    // at the next interval tick. With both no-delay options the tick still paces window probes/updates and
    // the interval still floors the variance term of the RTO (rto >= srtt + interval).
    void setSendNoDelay(bool on);
    // Send a second copy (in its own datagram) of a segment retransmitted because its RTO expired, when at most
    // kMaxRedundantCopies segments time out in one flush. Cuts the tail latency of request/response traffic on
    // lossy links (a lost retransmission would cost another, longer RTO) for one extra datagram per timeout.
    void setRedundantRetransmits(bool on);

    std::uint32_t mtu() const noexcept { return m_mtu; }
    std::uint32_t mss() const noexcept { return m_mss; }
    std::uint32_t interval() const noexcept { return m_interval; }
    std::uint32_t sendWindow() const noexcept { return m_sndWnd; }
    std::uint32_t receiveWindow() const noexcept { return m_rcvWnd; }
    std::uint32_t remoteWindow() const noexcept { return m_rmtWnd; }
    int noDelay() const noexcept { return m_nodelay; }
    std::uint32_t fastResend() const noexcept { return m_fastResend; }
    bool congestionControl() const noexcept { return !m_noCwnd; }
    std::uint32_t minRto() const noexcept { return m_minRto; }
    std::uint32_t deadLinkLimit() const noexcept { return m_deadLink; }
    bool streamMode() const noexcept { return m_stream; }
    bool ackNoDelay() const noexcept { return m_ackNoDelay; }
    bool sendNoDelay() const noexcept { return m_sendNoDelay; }
    bool redundantRetransmits() const noexcept { return m_redundantRetransmits; }

    // ---- State ----

    // A segment was transmitted deadLinkLimit() times without being acknowledged.
    bool isDeadLink() const noexcept { return m_dead; }
    // Current retransmission timeout and smoothed RTT (0 before the first sample), ms.
    std::uint32_t rto() const noexcept { return m_rxRto; }
    std::uint32_t srtt() const noexcept { return static_cast<std::uint32_t>(m_rxSrtt); }
    KcpEngineStats stats() const noexcept;
    const KcpEngineStats &counters() const noexcept { return m_stats; }
    // Bytes this engine occupies: the object plus every heap block it owns.
    std::size_t memoryUsage() const noexcept;
    // Gives back memory kept for reuse (queue storage, output buffer, ACK list) where it is empty.
    void compact();

private:
    struct Segment {
        std::vector<std::uint8_t> data;
        std::uint32_t sn = 0;
        std::uint32_t ts = 0;
        std::uint32_t resendts = 0;
        std::uint32_t rto = 0;
        std::uint32_t fastack = 0;
        std::uint32_t xmit = 0;
        std::uint8_t frg = 0;
        bool acked = false; // send buffer: acknowledged selectively, waiting for the ones before it
        bool used = false;  // receive buffer slot holds a segment
    };
    struct AckEntry {
        std::uint32_t sn;
        std::uint32_t ts;
    };

    std::uint32_t unusedWindow() const noexcept;
    std::uint32_t effectiveCwnd() const noexcept;
    std::uint32_t tickTime(std::uint32_t now) const noexcept;
    KcpInputResult validate(const std::uint8_t *data, std::size_t size) const noexcept;
    void processUna(std::uint32_t una) noexcept;
    void processAck(std::uint32_t sn) noexcept;
    void processFastAck(std::uint32_t sn, std::uint32_t ts) noexcept;
    void updateRtt(std::int32_t rtt) noexcept;
    void acceptData(const KcpSegmentHeader &h, const std::uint8_t *payload);
    void moveReceivedToQueue();
    void resizeReceiveSlots(std::uint32_t window);
    void growCongestionWindow() noexcept;
    std::uint8_t *reserveOutput(std::size_t need);
    void emitOutput();
    void writeSegment(const KcpSegmentHeader &h, const std::uint8_t *payload);

    void trace(KcpTraceEvent e, std::uint32_t a = 0, std::uint32_t b = 0, std::uint32_t c = 0) const
    {
        if (m_trace)
            (*m_trace)(KcpTraceRecord {m_now, e, a, b, c});
    }

    Output m_output;
    std::unique_ptr<Trace> m_trace; // a pointer: an untraced engine pays 8 bytes, not sizeof(std::function)

    // Segment queues. m_sndBuf[i] has sn == m_sndUna + i.
    KcpRing<Segment> m_sndQueue;
    KcpRing<Segment> m_sndBuf;
    KcpRing<Segment> m_rcvQueue;
    std::unique_ptr<Segment[]> m_rcvSlots; // out-of-order receive buffer, slot = sn & (m_rcvSlotCount - 1)
    std::vector<AckEntry> m_acks;
    std::vector<std::uint8_t> m_out; // datagram being assembled
    std::size_t m_outSize = 0;

    KcpEngineStats m_stats;

    std::uint32_t m_conv;
    std::uint32_t m_now = 0; // the last time passed in (for trace records)
    std::uint32_t m_mtu = kDefaultMtu;
    std::uint32_t m_mss = kDefaultMtu - kKcpHeaderSize;
    std::uint32_t m_sndUna = 0;
    std::uint32_t m_sndNxt = 0;
    std::uint32_t m_rcvNxt = 0;
    std::uint32_t m_ssthresh = 2;
    std::int32_t m_rxSrtt = 0;
    std::int32_t m_rxRttvar = 0;
    std::uint32_t m_rxRto = 200;
    std::uint32_t m_minRto = 100;
    std::uint32_t m_sndWnd = kDefaultSendWindow;
    std::uint32_t m_rcvWnd = kDefaultReceiveWindow;
    std::uint32_t m_rmtWnd = kDefaultReceiveWindow;
    std::uint32_t m_cwnd = 0;
    std::uint32_t m_incr = 0;
    std::uint32_t m_interval = kDefaultInterval;
    std::uint32_t m_tsFlush = 0;
    std::uint32_t m_tsProbe = 0;
    std::uint32_t m_probeWait = 0;
    std::uint32_t m_deadLink = kDefaultDeadLink;
    std::uint32_t m_fastResend = 0;
    std::uint32_t m_fastLimit = kDefaultFastResendLimit;
    std::uint32_t m_rcvSlotCount = 0;  // 0 or a power of two >= m_rcvWnd
    std::uint32_t m_rcvBufCount = 0;   // used slots
    std::size_t m_rcvQueueBytes = 0;   // stream mode: bytes in m_rcvQueue not yet read
    std::uint32_t m_rcvFrontOffset = 0; // stream mode: bytes already read from m_rcvQueue.front()
    std::uint32_t m_sndBufUnacked = 0;
    std::uint8_t m_probe = 0;
    std::uint8_t m_nodelay = 0;
    bool m_noCwnd = false;
    bool m_stream = false;
    bool m_ackNoDelay = false;
    bool m_sendNoDelay = false;
    bool m_redundantRetransmits = false;
    bool m_dead = false;
};

} // namespace kcpnet
