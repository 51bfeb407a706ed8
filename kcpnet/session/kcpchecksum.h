// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Checksums and keyed hashes used by the session protocol (Qt-free, no dependencies):
//  - CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the integrity trailer of every session datagram;
//    uses the SSE4.2 crc32 instruction when the CPU has it;
//  - SipHash-2-4 with a 128-bit key and 64-bit output, for the stateless handshake cookies.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kcpnet {

// CRC32C of data[0..size), continuing from `crc` (0 for a fresh checksum).
std::uint32_t crc32c(const std::uint8_t *data, std::size_t size, std::uint32_t crc = 0) noexcept;

// SipHash-2-4 of data[0..size) under a 16-byte key.
std::uint64_t sipHash24(const std::uint8_t key[16], const std::uint8_t *data, std::size_t size) noexcept;

} // namespace kcpnet
