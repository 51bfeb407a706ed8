// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The snappy framing format (google/snappy framing_format.txt), as kcptun's compression layer uses it: golang/snappy's
// NewBufferedWriter / NewReader over the KCP byte stream, one framed stream per direction.
//
// A framed stream is a sequence of chunks, each with a 4-byte header: type u8 | length u24 LE | body.
//
//   0xff  stream identifier   body "sNaPpY" (length 6); must come first, may repeat
//   0x00  compressed data     masked CRC-32C u32 LE of the UNcompressed data | snappy block
//   0x01  uncompressed data   masked CRC-32C u32 LE | the data
//   0xfe  padding, 0x80-0xfd reserved skippable: skipped
//   0x02-0x7f reserved unskippable: an error
//
// A data chunk holds at most 65536 uncompressed bytes. The checksum is CRC-32C (Castagnoli), masked:
// ((crc >> 15) | (crc << 17)) + 0xa282ead8.
//
// The writer behaves like golang/snappy's: the stream identifier before the first data chunk, data cut into
// 65536-byte blocks, and a block sent uncompressed when compression does not save at least 1/8 of it. The block
// compression itself is libsnappy's (Debian libsnappy-dev).
#pragma once

#include <QtCore/qbytearray.h>

#include <cstddef>
#include <cstdint>

namespace tunnel {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), continuing from `crc` (0 to start).
std::uint32_t crc32c(const void *data, std::size_t size, std::uint32_t crc = 0) noexcept;
// The table-driven (slicing-by-8) version, used where the CPU lacks SSE4.2; crc32c() picks at run time.
std::uint32_t crc32cPortable(const void *data, std::size_t size, std::uint32_t crc = 0) noexcept;
// The framing format's masked form.
std::uint32_t snappyMaskedCrc(const void *data, std::size_t size) noexcept;

namespace snappyframe {

constexpr int kMaxBlock = 65536;
constexpr int kChunkHeader = 4;
constexpr int kChecksumSize = 4;
constexpr std::uint8_t kCompressed = 0x00;
constexpr std::uint8_t kUncompressed = 0x01;
constexpr std::uint8_t kPadding = 0xfe;
constexpr std::uint8_t kStreamIdentifier = 0xff;
extern const char kStreamHeader[10]; // ff 06 00 00 "sNaPpY"

} // namespace snappyframe

class SnappyFrameWriter
{
public:
    struct Stats {
        quint64 inBytes = 0;
        quint64 outBytes = 0;
        quint64 compressedChunks = 0;
        quint64 uncompressedChunks = 0;
    };

    // Appends the framed form of `size` bytes to `out` (the stream identifier first, on the first call that has data).
    void write(const char *data, qsizetype size, QByteArray &out);
    void write(const QByteArray &data, QByteArray &out) { write(data.constData(), data.size(), out); }

    const Stats &stats() const { return m_stats; }

private:
    bool m_headerWritten = false;
    QByteArray m_scratch;
    Stats m_stats;
};

class SnappyFrameReader
{
public:
    enum Result {
        Ok,       // zero or more bytes were appended to `out`; call again after more input
        NeedMore, // no complete chunk buffered
        Error,    // the stream is corrupt or unsupported (see errorString()); nothing more will be decoded
    };

    void feed(const char *data, qsizetype size);
    void feed(const QByteArray &data) { feed(data.constData(), data.size()); }
    // Decodes at most one chunk, appending its data (up to 65536 bytes) to `out`.
    Result decodeChunk(QByteArray &out);
    // Decodes every complete chunk buffered.
    Result decodeAll(QByteArray &out);

    qsizetype buffered() const { return m_buf.size() - m_pos; }
    bool failed() const { return !m_error.isEmpty(); }
    const QByteArray &errorString() const { return m_error; }

private:
    Result fail(const char *why);

    QByteArray m_buf;
    qsizetype m_pos = 0;
    bool m_headerSeen = false;
    QByteArray m_error;
};

} // namespace tunnel
