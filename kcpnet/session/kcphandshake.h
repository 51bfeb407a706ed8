// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpHandshakeResponder: the server's stateless answer to datagrams that belong to no session.
//  - HELLO   -> ACCEPT with a fresh conv and a cookie (a keyed hash of the client's address, nonce, conv, time).
//              Nothing is stored: a spoofed source gets one reply no larger than its HELLO and costs no memory.
//  - CONFIRM -> verified against the cookie: only then does the caller create the session.
//  - KCP data or PING for an unknown conv -> RESET (rate-limited), FIN -> FIN_ACK, anything else is dropped.
// Qt-free; the caller supplies the peer address as 16 bytes (IPv4 mapped into IPv6) and a port.
#pragma once

#include "kcpsealer.h"
#include "kcpsessionpacket.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace kcpnet {

struct KcpPeerAddress {
    std::array<std::uint8_t, 16> ip {};
    std::uint16_t port = 0;
};

struct KcpHandshakeCounters {
    std::uint64_t hellos = 0;         // valid HELLOs answered with ACCEPT
    std::uint64_t confirms = 0;       // CONFIRMs with a valid cookie
    std::uint64_t badCookies = 0;     // CONFIRMs with a forged, foreign or expired cookie
    std::uint64_t rejects = 0;        // REJECTs sent (version / mode / security / cipher)
    std::uint64_t notAccepting = 0;   // HELLO/CONFIRM dropped while not accepting
    std::uint64_t checksum = 0;       // bad CRC32C or too short
    std::uint64_t malformed = 0;      // well-checksummed but not a valid packet
    std::uint64_t unknownConv = 0;    // data/ping/fin for a conv that has no session
    std::uint64_t resetsSent = 0;
    std::uint64_t resetsLimited = 0;  // RESETs not sent because of the rate limit
    std::uint64_t ignored = 0;        // stray packets that need no answer
    std::uint64_t authFailures = 0;   // pre-shared-key mode: HELLO/CONFIRM whose MAC did not verify (HELLO: REJECT sent)
    std::uint64_t replayedConfirms = 0; // a CONFIRM for a session that was already created once
};

class KcpHandshakeResponder
{
public:
    struct Settings {
        bool streamMode = true;
        std::uint32_t peerTimeoutMs = 10000;
        std::uint32_t keepaliveMs = 5000;
        std::uint32_t cookieLifetimeMs = 30000;
        std::uint32_t resetsPerSecond = 100;
        // Pre-shared-key mode when set with a key: HELLOs must carry a valid MAC, sessions get sealing keys.
        std::shared_ptr<const KcpSecurityConfig> security;
    };

    enum class Action {
        Drop,   // nothing to do (counted)
        Reply,  // send `reply` back to the sender
        Accept, // the CONFIRM is genuine: create the session with `conv` (and, if that fails, reply REJECT)
    };

    struct Outcome {
        Action action = Action::Drop;
        std::uint32_t conv = 0;
        std::uint64_t nonce = 0;
        bool secure = false;
        KcpHandshakeSecrets secrets; // secure Accept: what the session derives its keys from
        std::size_t replySize = 0;
        std::uint8_t reply[kSessionMaxControlSize] {};
    };

    explicit KcpHandshakeResponder(const Settings &settings);
    // Uses a fixed key instead of a random one (tests only).
    KcpHandshakeResponder(const Settings &settings, const std::uint8_t key[16]);

    void setSettings(const Settings &s);
    const Settings &settings() const noexcept { return m_settings; }
    // While not accepting, HELLOs and CONFIRMs are dropped silently (clients keep retrying until they time out).
    void setAccepting(bool accepting) { m_accepting = accepting; }
    bool isAccepting() const noexcept { return m_accepting; }

    Outcome handle(const std::uint8_t *data, std::size_t size, const KcpPeerAddress &from, std::uint32_t now);

    // REJECT(Refused) for a CONFIRM the caller could not honour (conv collision, backlog full).
    static std::size_t encodeRefusal(std::uint64_t nonce, std::uint8_t *out);

    const KcpHandshakeCounters &counters() const noexcept { return m_counters; }

private:
    std::uint64_t cookie(const KcpPeerAddress &from, std::uint64_t nonce, std::uint32_t conv, std::uint32_t issued,
                         const std::uint8_t *secureFields = nullptr) const noexcept;
    bool isSecure() const noexcept { return m_settings.security && !m_settings.security->psk.empty(); }
    // Secure HELLO with a valid MAC: whether we speak its cipher (a custom one only under the same name).
    bool offersCipher(const SessionHello &h) const noexcept;
    Outcome handleHello(const std::uint8_t *data, std::size_t n, const KcpPeerAddress &from, std::uint32_t now);
    Outcome handleConfirm(const std::uint8_t *data, std::size_t n, const KcpPeerAddress &from, std::uint32_t now);
    Outcome reject(SessionRejectReason reason, std::uint64_t nonce);
    bool seenConfirm(std::uint64_t nonce, std::uint32_t now);
    bool allowReset(std::uint32_t now);
    std::uint32_t newConv();

    Settings m_settings;
    KcpHandshakeCounters m_counters;
    std::uint8_t m_key[16] {};
    std::array<std::uint8_t, 32> m_macKey {}; // pre-shared-key mode: authenticates the handshake
    std::unordered_map<std::uint64_t, std::uint32_t> m_confirmed; // nonce -> when: CONFIRMs already honoured
    std::uint64_t m_convState = 0;
    std::uint32_t m_resetWindowStart = 0;
    std::uint32_t m_resetsInWindow = 0;
    bool m_accepting = true;
};

} // namespace kcpnet
