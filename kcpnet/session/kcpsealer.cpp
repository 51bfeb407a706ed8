// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "kcpsealer.h"

#include "kcpsegment.h"
#include "kcpsessionpacket.h"

#include <cstring>

namespace kcpnet {

namespace {

constexpr std::uint8_t kSealedType = 0xD1;

} // namespace

std::array<std::uint8_t, 32> kcpHandshakeKey(const std::vector<std::uint8_t> &psk)
{
    static const char salt[] = "kcpnet v1 pre-shared key";
    std::uint8_t prk[32];
    kcpHkdfExtract(reinterpret_cast<const std::uint8_t *>(salt), sizeof salt - 1, psk.data(), psk.size(), prk);
    std::array<std::uint8_t, 32> key {};
    kcpHkdfExpand(prk, "kcpnet handshake mac", nullptr, 0, key.data(), key.size());
    kcpSecureZero(prk, sizeof prk);
    return key;
}

std::unique_ptr<KcpAead> kcpMakeAead(const KcpSecurityConfig &config, KcpCipherId cipher)
{
    if (cipher == KcpCipherId::Custom)
        return config.customFactory ? config.customFactory() : nullptr;
    return kcpMakeAead(cipher);
}

KcpSealer::KcpSealer() = default;

KcpSealer::~KcpSealer()
{
    kcpSecureZero(m_send.secret, sizeof m_send.secret);
    for (Epoch &e : m_recv)
        kcpSecureZero(e.secret, sizeof e.secret);
}

bool KcpSealer::enter(Epoch &e, const std::uint8_t secret[32], std::uint64_t index)
{
    std::uint8_t key[kAeadKeySize];
    std::memcpy(e.secret, secret, 32);
    kcpHkdfExpand(e.secret, "kcpnet key", nullptr, 0, key, sizeof key);
    kcpHkdfExpand(e.secret, "kcpnet iv", nullptr, 0, e.iv, sizeof e.iv);
    if (!e.aead)
        e.aead = m_makeAead();
    e.valid = e.aead && e.aead->tagSize() == m_tagSize && e.aead->setKey(key);
    e.index = index;
    kcpSecureZero(key, sizeof key);
    if (e.valid && index > 0)
        ++m_counters.keyUpdates;
    return e.valid;
}

void KcpSealer::nonceFor(const Epoch &e, std::uint64_t pn, std::uint8_t nonce[kAeadNonceSize]) noexcept
{
    // IV xor the packet number as a 96-bit big-endian integer (it has at most 48 bits).
    std::memcpy(nonce, e.iv, kAeadNonceSize);
    for (int i = 0; i < 8; ++i)
        nonce[kAeadNonceSize - 1 - i] ^= static_cast<std::uint8_t>(pn >> (8 * i));
}

bool KcpSealer::advance(Epoch &next, const Epoch &from)
{
    std::uint8_t secret[32];
    kcpHkdfExpand(from.secret, "kcpnet next epoch", nullptr, 0, secret, sizeof secret);
    const bool ok = enter(next, secret, from.index + 1);
    kcpSecureZero(secret, sizeof secret);
    return ok;
}

bool KcpSealer::init(const KcpSecurityConfig &config, const KcpHandshakeSecrets &s, bool client)
{
    m_ready = false;
    if (config.psk.empty())
        return false;
    const KcpCipherId cipher = s.cipher;
    // The factory is copied: it outlives the configuration object it came from.
    m_makeAead = [factory = config.customFactory, cipher]() -> std::unique_ptr<KcpAead> {
        if (cipher == KcpCipherId::Custom)
            return factory ? factory() : nullptr;
        return kcpMakeAead(cipher);
    };
    std::unique_ptr<KcpAead> probe = m_makeAead();
    if (!probe || probe->tagSize() > kAeadMaxTagSize)
        return false;
    m_tagSize = probe->tagSize();
    m_epochBits = config.epochBits < 8 ? 8 : (config.epochBits > 40 ? 40 : config.epochBits);

    // PRK = HKDF-Extract(salt = both randoms | nonce | conv | cipher | custom name, ikm = PSK)
    std::vector<std::uint8_t> salt;
    salt.insert(salt.end(), s.clientRandom, s.clientRandom + kSessionRandomSize);
    salt.insert(salt.end(), s.serverRandom, s.serverRandom + kSessionRandomSize);
    for (int i = 0; i < 8; ++i)
        salt.push_back(static_cast<std::uint8_t>(s.nonce >> (8 * i)));
    for (int i = 0; i < 4; ++i)
        salt.push_back(static_cast<std::uint8_t>(s.conv >> (8 * i)));
    salt.push_back(static_cast<std::uint8_t>(cipher));
    if (cipher == KcpCipherId::Custom)
        salt.insert(salt.end(), config.customName.begin(), config.customName.end());
    std::uint8_t prk[32];
    kcpHkdfExtract(salt.data(), salt.size(), config.psk.data(), config.psk.size(), prk);
    std::uint8_t c2s[32];
    std::uint8_t s2c[32];
    kcpHkdfExpand(prk, "kcpnet client to server", nullptr, 0, c2s, sizeof c2s);
    kcpHkdfExpand(prk, "kcpnet server to client", nullptr, 0, s2c, sizeof s2c);
    m_send.aead = std::move(probe);
    const bool ok = enter(m_send, client ? c2s : s2c, 0) && enter(m_recv[1], client ? s2c : c2s, 0);
    kcpSecureZero(prk, sizeof prk);
    kcpSecureZero(c2s, sizeof c2s);
    kcpSecureZero(s2c, sizeof s2c);
    m_sendPn = 0;
    m_recvHighest = 0;
    std::memset(m_window, 0, sizeof m_window);
    m_ready = ok;
    return ok;
}

std::size_t KcpSealer::seal(std::uint32_t conv, const std::uint8_t *payload, std::size_t size, std::uint8_t *out)
{
    if (!m_ready || m_sendPn > kSealedMaxPacketNumber)
        return 0;
    const std::uint64_t pn = m_sendPn;
    const std::uint64_t epoch = pn >> m_epochBits;
    if (epoch != m_send.index && !advance(m_send, m_send))
        return 0;
    kcpPutU32(out, conv);
    out[4] = kSealedType;
    kcpPutU48(out + 5, pn);
    std::uint8_t nonce[kAeadNonceSize];
    nonceFor(m_send, pn, nonce);
    if (!m_send.aead->seal(nonce, out, kSealedHeaderSize, payload, size, out + kSealedHeaderSize))
        return 0;
    ++m_sendPn;
    ++m_counters.sealed;
    return kSealedHeaderSize + size + m_tagSize;
}

bool KcpSealer::replayed(std::uint64_t pn) const noexcept
{
    if (m_recvHighest == 0 || pn >= m_recvHighest)
        return false; // newer than anything seen
    if (m_recvHighest - pn > kReplayWindow)
        return true; // too old to tell: treated as a replay
    return (m_window[(pn / 64) % (kReplayWindow / 64)] >> (pn % 64)) & 1u;
}

void KcpSealer::markReceived(std::uint64_t pn) noexcept
{
    if (pn >= m_recvHighest) {
        // Slide: clear the bits of the numbers skipped between the old highest and pn.
        const std::uint64_t from = m_recvHighest;
        if (pn - from >= kReplayWindow) {
            std::memset(m_window, 0, sizeof m_window);
        } else {
            for (std::uint64_t i = from; i < pn; ++i)
                m_window[(i / 64) % (kReplayWindow / 64)] &= ~(std::uint64_t(1) << (i % 64));
        }
        m_recvHighest = pn + 1;
    }
    m_window[(pn / 64) % (kReplayWindow / 64)] |= std::uint64_t(1) << (pn % 64);
}

KcpSealer::OpenResult KcpSealer::open(const std::uint8_t *data, std::size_t size, std::uint8_t *out,
                                      std::size_t *payloadSize, std::uint64_t *packetNumber)
{
    if (!m_ready || size < kSealedHeaderSize + m_tagSize || data[4] != kSealedType)
        return OpenResult::Malformed;
    const std::uint64_t pn = kcpGetU48(data + 5);
    if (replayed(pn)) {
        ++m_counters.replayed;
        return OpenResult::Replayed;
    }
    const std::uint64_t epoch = pn >> m_epochBits;
    Epoch *e = nullptr;
    for (Epoch &candidate : m_recv) {
        if (candidate.valid && candidate.index == epoch)
            e = &candidate;
    }
    if (!e && epoch == m_recv[1].index + 1) {
        // The peer moved to the next key: derive it (kept only if this packet authenticates under it).
        if (!m_recv[2].valid || m_recv[2].index != epoch)
            advance(m_recv[2], m_recv[1]);
        if (m_recv[2].valid)
            e = &m_recv[2];
    }
    if (!e) {
        ++m_counters.unauthentic;
        return OpenResult::Unauthentic;
    }
    std::uint8_t nonce[kAeadNonceSize];
    nonceFor(*e, pn, nonce);
    std::uint8_t header[kSealedHeaderSize];
    std::memcpy(header, data, sizeof header); // `out` may overlap `data`
    const std::size_t body = size - kSealedHeaderSize;
    if (!e->aead->open(nonce, header, sizeof header, data + kSealedHeaderSize, body, out)) {
        ++m_counters.unauthentic;
        return OpenResult::Unauthentic;
    }
    if (e == &m_recv[2]) {
        // Rotate: previous <- current <- next. The old previous key is dropped.
        std::swap(m_recv[0], m_recv[1]);
        std::swap(m_recv[1], m_recv[2]);
        m_recv[2].valid = false;
        kcpSecureZero(m_recv[2].secret, sizeof m_recv[2].secret);
    }
    markReceived(pn);
    ++m_counters.opened;
    *payloadSize = body - m_tagSize;
    if (packetNumber)
        *packetNumber = pn;
    return OpenResult::Ok;
}

} // namespace kcpnet
