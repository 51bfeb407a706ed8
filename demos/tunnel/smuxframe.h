// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// smux framing (xtaci/smux, protocol versions 1 and 2), as kcptun speaks it over its KCP session.
//
// Every frame starts with an 8-byte header, all fields little-endian:
//
//   version u8 | cmd u8 | length u16 | stream id u32 | payload
//
//   cmd 0 SYN  open a stream                       no payload
//   cmd 1 FIN  close a stream (end of its data)     no payload
//   cmd 2 PSH  stream data                          `length` bytes
//   cmd 3 NOP  keepalive                            no payload (stream id 0)
//   cmd 4 UPD  window update (version 2 only)       8 bytes: consumed u32 | window u32
//
// The reference reader (smux 1.5) reads a payload only for PSH (`length` bytes) and UPD (always 8 bytes, whatever
// `length` says); the length of SYN, FIN and NOP is ignored. A version other than the session's, or a cmd above 4,
// is a protocol error that ends the session. This parser does the same, so both ends agree on frame boundaries.
//
// Stream ids: a client opens odd ids (3, 5, 7, ... in smux, which starts from 1 and adds 2 before each open), a
// server even ones. kcptun servers never open streams.
//
// Qt Core only (QByteArray); no I/O.
#pragma once

#include <QtCore/qbytearray.h>

#include <cstdint>

namespace tunnel {

namespace smux {

enum Cmd : std::uint8_t {
    Syn = 0,
    Fin = 1,
    Psh = 2,
    Nop = 3,
    Upd = 4,
};

constexpr int kHeaderSize = 8;
constexpr int kUpdPayloadSize = 8;
constexpr int kMaxPayload = 65535;                   // the length field is 16 bits
constexpr int kDefaultFrameSize = 32768;             // smux DefaultConfig().MaxFrameSize: what a sender puts in one PSH
constexpr std::uint32_t kInitialPeerWindow = 262144; // v2: what a sender may have in flight before the first UPD

const char *cmdName(std::uint8_t cmd) noexcept;

// Writes an 8-byte header at p (for building a PSH frame in place).
void writeHeader(char *p, std::uint8_t version, std::uint8_t cmd, std::uint16_t length, std::uint32_t sid);
// Appends one frame. PSH takes `size` (<= kMaxPayload) payload bytes; SYN, FIN and NOP take none.
void appendFrame(QByteArray &out, std::uint8_t version, std::uint8_t cmd, std::uint32_t sid, const char *data = nullptr,
                 int size = 0);
// Appends a version-2 window update: the receiver has consumed `consumed` bytes of the stream (a running count that
// wraps at 2^32) and will buffer up to `window` bytes beyond that.
void appendUpdate(QByteArray &out, std::uint8_t version, std::uint32_t sid, std::uint32_t consumed,
                  std::uint32_t window);

struct Frame {
    std::uint8_t version = 0;
    std::uint8_t cmd = 0;
    std::uint32_t sid = 0;
    const char *data = nullptr; // PSH payload, or the 8 UPD bytes; valid until the next call into the parser
    int size = 0;
    // UPD, decoded
    std::uint32_t consumed = 0;
    std::uint32_t window = 0;
};

// Incremental parser: feed() any pieces of the byte stream, then take frames with next() until it returns
// NeedMore. Frames are handed out without copying where the input allows.
class FrameParser
{
public:
    enum Result {
        Ok,       // *frame is valid
        NeedMore, // no complete frame buffered
        BadVersion,
        BadCmd,
    };

    explicit FrameParser(std::uint8_t version)
        : m_version(version)
    {}

    void feed(const char *data, qsizetype size);
    void feed(const QByteArray &data) { feed(data.constData(), data.size()); }
    Result next(Frame *frame);

    qsizetype buffered() const { return m_buf.size() - m_pos; }
    std::uint8_t version() const { return m_version; }
    // After BadVersion / BadCmd: the offending header byte values.
    std::uint8_t lastVersion() const { return m_lastVersion; }
    std::uint8_t lastCmd() const { return m_lastCmd; }

private:
    std::uint8_t m_version;
    QByteArray m_buf;
    qsizetype m_pos = 0;
    std::uint8_t m_lastVersion = 0;
    std::uint8_t m_lastCmd = 0;
};

// The version-2 per-stream sliding window, both halves.
// Sender: may have peerWindow bytes beyond what the peer reported consumed in flight.
// Receiver: reports what the application consumed, on the first consumption and then every time half a window
// has been consumed since the last report (as smux does).
struct StreamWindow {
    // sending half
    std::uint32_t written = 0;      // bytes sent (wraps)
    std::uint32_t peerConsumed = 0; // last UPD's consumed
    std::uint32_t peerWindow = kInitialPeerWindow;
    // receiving half
    std::uint32_t consumed = 0; // bytes handed on (wraps)
    std::uint32_t sinceReport = 0;
    bool reported = false;

    // How many bytes may be sent now (0 when the window is full). A peer that reports more consumed than was
    // sent is misbehaving: *bad is set.
    qint64 sendRoom(bool *bad = nullptr) const;
    void onSent(std::uint32_t n) { written += n; }
    void onUpdate(std::uint32_t peerConsumedNow, std::uint32_t window)
    {
        peerConsumed = peerConsumedNow;
        peerWindow = window;
    }
    // The receiver consumed n more bytes; true if a UPD(consumed, ourWindow) should go out now.
    bool onConsumed(std::uint32_t n, std::uint32_t ourWindow);
};

} // namespace smux

} // namespace tunnel
