// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpgopacketpipe.h"

#include "kcpsegment.h"

#include <stdexcept>

namespace kcpnet {

std::unique_ptr<KcpGoPacketPipe> KcpGoPacketPipe::create(const KcpGoPipeConfig &config, std::string *error)
{
    if (error)
        error->clear();
    std::unique_ptr<KcpGoPacketPipe> pipe(new KcpGoPacketPipe);
    const bool fec = config.dataShards != 0 || config.parityShards != 0;
    if (fec) {
        try {
            pipe->m_encoder = std::make_unique<KcpFecEncoder>(config.dataShards, config.parityShards);
            pipe->m_decoder = std::make_unique<KcpFecDecoder>(config.dataShards, config.parityShards);
        } catch (const std::invalid_argument &e) {
            if (error)
                *error = e.what();
            return nullptr;
        }
        pipe->m_overhead += kKcpFecOverhead;
    }
    if (config.cipher != "none") {
        std::string why;
        pipe->m_crypt = KcpGoCrypt::create(config.cipher, config.key, &why);
        if (!pipe->m_crypt) {
            if (error)
                *error = why;
            return nullptr;
        }
        pipe->m_overhead += KcpGoCrypt::kOverhead;
    }
    if (config.maxDatagram < pipe->m_overhead + kKcpHeaderSize) {
        if (error)
            *error = "maxDatagram " + std::to_string(config.maxDatagram) + " leaves no room for a KCP header";
        return nullptr;
    }
    pipe->m_maxDatagram = config.maxDatagram;
    pipe->m_sealBuffer.resize(config.maxDatagram);
    pipe->m_openBuffer.resize(config.maxDatagram);
    return pipe;
}

KcpGoPacketPipe::~KcpGoPacketPipe() = default;

void KcpGoPacketPipe::sealAndEmit(const std::uint8_t *data, std::size_t size, const Sink &emit)
{
    ++m_stats.datagramsOut;
    if (!m_crypt) {
        emit(data, size);
        return;
    }
    m_crypt->seal(data, size, m_sealBuffer.data());
    emit(m_sealBuffer.data(), size + KcpGoCrypt::kOverhead);
}

void KcpGoPacketPipe::outgoing(const std::uint8_t *data, std::size_t size, std::uint32_t, const Sink &emit)
{
    ++m_stats.kcpOut;
    if (size == 0 || size + m_overhead > m_maxDatagram) {
        ++m_stats.oversizeOut;
        return;
    }
    if (!m_encoder) {
        sealAndEmit(data, size, emit);
        return;
    }
    // Parity shards are no longer than the longest data shard of their group, so they fit too.
    m_encoder->encode(data, size, [&](const std::uint8_t *d, std::size_t n) { sealAndEmit(d, n, emit); });
}

void KcpGoPacketPipe::deliver(const std::uint8_t *data, std::size_t size, const Sink &emit)
{
    if (size < kKcpHeaderSize) { // kcp-go's Input() rejects these too
        ++m_stats.tooShortKcp;
        return;
    }
    ++m_stats.kcpIn;
    emit(data, size);
}

bool KcpGoPacketPipe::incoming(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &emit)
{
    ++m_stats.datagramsIn;
    if (size > m_maxDatagram) {
        ++m_stats.oversizeIn;
        return false;
    }
    const std::uint8_t *p = data;
    std::size_t n = size;
    if (m_crypt) {
        switch (m_crypt->open(data, size, m_openBuffer.data(), &n)) {
        case KcpGoCrypt::OpenResult::Ok:
            p = m_openBuffer.data();
            break;
        case KcpGoCrypt::OpenResult::TooShort:
            ++m_stats.tooShortCrypt;
            return false;
        case KcpGoCrypt::OpenResult::BadChecksum:
            ++m_stats.badChecksum;
            return false;
        }
    }
    if (n < kKcpHeaderSize) { // kcp-go: "decrypted && len(data) >= IKCP_OVERHEAD"
        ++m_stats.tooShortKcp;
        return false;
    }
    const Sink forward = [&](const std::uint8_t *d, std::size_t len) { deliver(d, len, emit); };
    if (m_decoder) {
        if (m_decoder->decode(p, n, now, forward) == KcpFecDecoder::Result::Malformed) {
            ++m_stats.fecMalformed;
            return false;
        }
        return true;
    }
    // FEC off here: kcp-go would still unwrap data shards (it creates a 1/1 decoder on demand).
    if (isKcpFecDatagram(p, n)) {
        if (p[4] == (kKcpFecTypeParity & 0xFF)) {
            ++m_stats.parityIgnored;
            return true;
        }
        forward(p + kKcpFecOverhead, n - kKcpFecOverhead); // n >= 24 > 8
        return true;
    }
    forward(p, n);
    return true;
}

std::vector<std::vector<std::uint8_t>> KcpGoPacketPipe::outgoing(const std::uint8_t *data, std::size_t size,
                                                                 std::uint32_t now)
{
    std::vector<std::vector<std::uint8_t>> out;
    outgoing(data, size, now, [&](const std::uint8_t *d, std::size_t n) { out.emplace_back(d, d + n); });
    return out;
}

std::vector<std::vector<std::uint8_t>> KcpGoPacketPipe::incoming(const std::uint8_t *data, std::size_t size,
                                                                 std::uint32_t now)
{
    std::vector<std::vector<std::uint8_t>> out;
    incoming(data, size, now, [&](const std::uint8_t *d, std::size_t n) { out.emplace_back(d, d + n); });
    return out;
}

} // namespace kcpnet
