// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "smuxframe.h"

#include <cstring>

namespace tunnel {
namespace smux {

namespace {

void putLe16(char *p, std::uint16_t v)
{
    p[0] = static_cast<char>(v & 0xff);
    p[1] = static_cast<char>(v >> 8);
}

void putLe32(char *p, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint16_t getLe16(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return static_cast<std::uint16_t>(u[0] | (u[1] << 8));
}

std::uint32_t getLe32(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return static_cast<std::uint32_t>(u[0]) | (static_cast<std::uint32_t>(u[1]) << 8)
        | (static_cast<std::uint32_t>(u[2]) << 16) | (static_cast<std::uint32_t>(u[3]) << 24);
}

void appendHeader(QByteArray &out, std::uint8_t version, std::uint8_t cmd, std::uint16_t length, std::uint32_t sid)
{
    char h[kHeaderSize];
    writeHeader(h, version, cmd, length, sid);
    out.append(h, kHeaderSize);
}

constexpr qsizetype kCompactAt = 64 * 1024;

} // namespace

void writeHeader(char *p, std::uint8_t version, std::uint8_t cmd, std::uint16_t length, std::uint32_t sid)
{
    p[0] = static_cast<char>(version);
    p[1] = static_cast<char>(cmd);
    putLe16(p + 2, length);
    putLe32(p + 4, sid);
}

const char *cmdName(std::uint8_t cmd) noexcept
{
    switch (cmd) {
    case Syn:
        return "SYN";
    case Fin:
        return "FIN";
    case Psh:
        return "PSH";
    case Nop:
        return "NOP";
    case Upd:
        return "UPD";
    }
    return "?";
}

void appendFrame(QByteArray &out, std::uint8_t version, std::uint8_t cmd, std::uint32_t sid, const char *data, int size)
{
    if (cmd != Psh || size < 0)
        size = 0;
    if (size > kMaxPayload)
        size = kMaxPayload;
    appendHeader(out, version, cmd, static_cast<std::uint16_t>(size), sid);
    if (size > 0)
        out.append(data, size);
}

void appendUpdate(QByteArray &out, std::uint8_t version, std::uint32_t sid, std::uint32_t consumed,
                  std::uint32_t window)
{
    appendHeader(out, version, Upd, kUpdPayloadSize, sid);
    char p[kUpdPayloadSize];
    putLe32(p, consumed);
    putLe32(p + 4, window);
    out.append(p, kUpdPayloadSize);
}

void FrameParser::feed(const char *data, qsizetype size)
{
    if (size <= 0)
        return;
    if (m_pos > 0 && (m_pos == m_buf.size() || m_pos >= kCompactAt)) {
        m_buf.remove(0, m_pos);
        m_pos = 0;
    }
    m_buf.append(data, size);
}

FrameParser::Result FrameParser::next(Frame *frame)
{
    const qsizetype avail = m_buf.size() - m_pos;
    if (avail < kHeaderSize)
        return NeedMore;
    const char *h = m_buf.constData() + m_pos;
    const auto version = static_cast<std::uint8_t>(h[0]);
    const auto cmd = static_cast<std::uint8_t>(h[1]);
    if (version != m_version) {
        m_lastVersion = version;
        m_lastCmd = cmd;
        return BadVersion;
    }
    int payload = 0;
    switch (cmd) {
    case Syn:
    case Fin:
    case Nop:
        break;
    case Psh:
        payload = getLe16(h + 2);
        break;
    case Upd:
        payload = kUpdPayloadSize;
        break;
    default:
        m_lastVersion = version;
        m_lastCmd = cmd;
        return BadCmd;
    }
    if (avail < kHeaderSize + payload)
        return NeedMore;
    frame->version = version;
    frame->cmd = cmd;
    frame->sid = getLe32(h + 4);
    frame->data = payload > 0 ? h + kHeaderSize : nullptr;
    frame->size = payload;
    frame->consumed = 0;
    frame->window = 0;
    if (cmd == Upd) {
        frame->consumed = getLe32(h + kHeaderSize);
        frame->window = getLe32(h + kHeaderSize + 4);
    }
    m_pos += kHeaderSize + payload;
    return Ok;
}

qint64 StreamWindow::sendRoom(bool *bad) const
{
    // Modular arithmetic, as smux does: the difference is right across a wrap of either counter.
    const auto inflight = static_cast<std::int32_t>(written - peerConsumed);
    if (bad)
        *bad = inflight < 0;
    if (inflight < 0)
        return 0;
    const qint64 room = static_cast<qint64>(static_cast<std::int32_t>(peerWindow)) - inflight;
    return room > 0 ? room : 0;
}

bool StreamWindow::onConsumed(std::uint32_t n, std::uint32_t ourWindow)
{
    if (n == 0)
        return false;
    consumed += n;
    sinceReport += n;
    if (!reported || sinceReport >= ourWindow / 2) {
        reported = true;
        sinceReport = 0;
        return true;
    }
    return false;
}

} // namespace smux
} // namespace tunnel
