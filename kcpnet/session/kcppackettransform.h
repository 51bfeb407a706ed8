// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpPacketTransform: a layer between KCP datagrams and the wire, such as kcp-go's FEC and packet encryption
// (kcpnet/compat/) or an authenticated cipher. A KcpSession owns at most one; it shrinks the engine's MTU by
// overhead(). Outgoing: one KCP datagram in, any number of wire datagrams out (FEC adds parity). Incoming: one
// wire datagram in, any number of KCP datagrams out (FEC may recover lost ones), or none when it is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace kcpnet {

class KcpPacketTransform
{
public:
    using Sink = std::function<void(const std::uint8_t *data, std::size_t size)>;

    virtual ~KcpPacketTransform() = default;
    // Bytes added to every KCP datagram at most (the engine's MTU is the datagram size minus this).
    virtual std::size_t overhead() const = 0;
    virtual void outgoing(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &sink) = 0;
    // Returns false when the datagram was dropped as invalid (wrong key, corrupted, malformed).
    virtual bool incoming(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &sink) = 0;

    // Counters for statistics.
    struct Counters {
        std::uint64_t recovered = 0;  // KCP datagrams rebuilt by FEC (losses repaired without retransmission)
        std::uint64_t parity = 0;     // FEC parity datagrams sent
        std::uint64_t rejected = 0;   // incoming datagrams dropped as undecodable (wrong key, corruption)
    };
    virtual Counters counters() const { return {}; }
};

} // namespace kcpnet
