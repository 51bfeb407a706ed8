// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The KCP segment header: its wire layout, constants and a codec.
// Byte-compatible with ikcp and kcp-go (see docs/PROTOCOL.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kcpnet {

// Commands carried in the `cmd` byte of a segment header.
enum class KcpCommand : std::uint8_t {
    Push = 81,        // data
    Ack = 82,         // acknowledgement of one segment
    WindowAsk = 83,   // window probe: "tell me your window"
    WindowTell = 84,  // window announcement
};

constexpr std::size_t kKcpHeaderSize = 24;

// The 24-byte header, all fields little-endian on the wire:
// conv u32 | cmd u8 | frg u8 | wnd u16 | ts u32 | sn u32 | una u32 | len u32
struct KcpSegmentHeader {
    std::uint32_t conv = 0;
    std::uint8_t cmd = 0;
    std::uint8_t frg = 0;
    std::uint16_t wnd = 0;
    std::uint32_t ts = 0;
    std::uint32_t sn = 0;
    std::uint32_t una = 0;
    std::uint32_t len = 0;
};

inline void kcpPutU16(std::uint8_t *p, std::uint16_t v) noexcept
{
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}

inline void kcpPutU32(std::uint8_t *p, std::uint32_t v) noexcept
{
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
    p[2] = static_cast<std::uint8_t>(v >> 16);
    p[3] = static_cast<std::uint8_t>(v >> 24);
}

// 48-bit little-endian (the session layer's packet numbers); bits above 48 of v are not written.
inline void kcpPutU48(std::uint8_t *p, std::uint64_t v) noexcept
{
    kcpPutU32(p, static_cast<std::uint32_t>(v));
    kcpPutU16(p + 4, static_cast<std::uint16_t>(v >> 32));
}

inline std::uint16_t kcpGetU16(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

inline std::uint32_t kcpGetU32(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8)
        | (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

inline std::uint64_t kcpGetU48(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint64_t>(kcpGetU32(p)) | (static_cast<std::uint64_t>(kcpGetU16(p + 4)) << 32);
}

// Writes the header into out[0..24). Returns the number of bytes written (always 24).
inline std::size_t encodeKcpHeader(const KcpSegmentHeader &h, std::uint8_t *out) noexcept
{
    kcpPutU32(out, h.conv);
    out[4] = h.cmd;
    out[5] = h.frg;
    kcpPutU16(out + 6, h.wnd);
    kcpPutU32(out + 8, h.ts);
    kcpPutU32(out + 12, h.sn);
    kcpPutU32(out + 16, h.una);
    kcpPutU32(out + 20, h.len);
    return kKcpHeaderSize;
}

// Reads a header from in[0..24). The caller guarantees 24 readable bytes.
inline KcpSegmentHeader decodeKcpHeader(const std::uint8_t *in) noexcept
{
    KcpSegmentHeader h;
    h.conv = kcpGetU32(in);
    h.cmd = in[4];
    h.frg = in[5];
    h.wnd = kcpGetU16(in + 6);
    h.ts = kcpGetU32(in + 8);
    h.sn = kcpGetU32(in + 12);
    h.una = kcpGetU32(in + 16);
    h.len = kcpGetU32(in + 20);
    return h;
}

// The conversation id of a datagram, or 0 when it is shorter than a header.
inline std::uint32_t kcpConvOf(const std::uint8_t *data, std::size_t size) noexcept
{
    return size >= 4 ? kcpGetU32(data) : 0;
}

// Signed distance a - b on the wrapping 32-bit clock / sequence space.
constexpr std::int32_t kcpDiff(std::uint32_t a, std::uint32_t b) noexcept
{
    return static_cast<std::int32_t>(a - b);
}

} // namespace kcpnet
