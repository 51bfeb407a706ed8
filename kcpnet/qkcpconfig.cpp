// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpconfig.h"
#include "qkcpconfig_p.h"
#include "qkcpcipher_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdebug.h>

#include <algorithm>

namespace {

void applyPreset(kcpnet::KcpSessionConfig &c, QKcpConfig::Preset preset)
{
    c = kcpnet::KcpSessionConfig(); // Fast
    switch (preset) {
    case QKcpConfig::Normal:
        c.noDelay = 0;
        c.interval = 40;
        c.fastResend = 2;
        c.congestionControl = true;
        c.sendWindow = 256;
        c.receiveWindow = 256;
        c.minRto = 100;
        c.redundantRetransmits = false; // TCP-friendly: no extra copies
        break;
    case QKcpConfig::Fast:
        break;
    case QKcpConfig::Turbo:
        c.interval = 10;
        break;
    }
}

std::uint32_t clampU(int v, int lo, int hi)
{
    return static_cast<std::uint32_t>(std::clamp(v, lo, hi));
}

} // namespace

QKcpConfig::QKcpConfig()
    : d(new QKcpConfigPrivate)
{
}

QKcpConfig::QKcpConfig(Preset preset)
    : d(new QKcpConfigPrivate)
{
    applyPreset(d->session, preset);
}

QKcpConfig::QKcpConfig(const QKcpConfig &other) = default;
QKcpConfig &QKcpConfig::operator=(const QKcpConfig &other) = default;
QKcpConfig::~QKcpConfig() = default;

QKcpConfig::Mode QKcpConfig::mode() const { return d->session.streamMode ? StreamMode : MessageMode; }
void QKcpConfig::setMode(Mode mode) { d->session.streamMode = mode == StreamMode; }

bool QKcpConfig::noDelay() const { return d->session.noDelay != 0; }
void QKcpConfig::setNoDelay(bool on)
{
    d->session.noDelay = on ? 1 : 0;
    d->session.minRto = on ? 30 : 100;
}
int QKcpConfig::interval() const { return static_cast<int>(d->session.interval); }
void QKcpConfig::setInterval(int ms) { d->session.interval = clampU(ms, 10, 5000); }
int QKcpConfig::fastResend() const { return d->session.fastResend; }
void QKcpConfig::setFastResend(int skips) { d->session.fastResend = std::max(skips, 0); }
bool QKcpConfig::congestionControl() const { return d->session.congestionControl; }
void QKcpConfig::setCongestionControl(bool on) { d->session.congestionControl = on; }
int QKcpConfig::sendWindow() const { return static_cast<int>(d->session.sendWindow); }
void QKcpConfig::setSendWindow(int segments) { d->session.sendWindow = clampU(segments, 1, 65535); }
int QKcpConfig::receiveWindow() const { return static_cast<int>(d->session.receiveWindow); }
void QKcpConfig::setReceiveWindow(int segments) { d->session.receiveWindow = clampU(segments, 1, 65535); }
int QKcpConfig::mtu() const { return static_cast<int>(d->session.mtu); }
void QKcpConfig::setMtu(int bytes) { d->session.mtu = clampU(bytes, 64, 65507); }
int QKcpConfig::minimumRto() const { return static_cast<int>(d->session.minRto); }
void QKcpConfig::setMinimumRto(int ms) { d->session.minRto = clampU(ms, 1, 60000); }
int QKcpConfig::deadLink() const { return static_cast<int>(d->session.deadLink); }
void QKcpConfig::setDeadLink(int transmissions) { d->session.deadLink = clampU(transmissions, 1, 1000); }

int QKcpConfig::keepAliveInterval() const { return static_cast<int>(d->session.keepaliveInterval); }
void QKcpConfig::setKeepAliveInterval(int ms) { d->session.keepaliveInterval = clampU(ms, 0, 3600000); }
int QKcpConfig::peerTimeout() const { return static_cast<int>(d->session.peerTimeout); }
void QKcpConfig::setPeerTimeout(int ms) { d->session.peerTimeout = clampU(ms, 0, 86400000); }
int QKcpConfig::idleTimeout() const { return static_cast<int>(d->session.idleTimeout); }
void QKcpConfig::setIdleTimeout(int ms) { d->session.idleTimeout = clampU(ms, 0, 86400000); }
int QKcpConfig::connectTimeout() const { return static_cast<int>(d->session.connectTimeout); }
void QKcpConfig::setConnectTimeout(int ms) { d->session.connectTimeout = clampU(ms, 1, 3600000); }

bool QKcpConfig::ackNoDelay() const { return d->session.ackNoDelay; }
void QKcpConfig::setAckNoDelay(bool on) { d->session.ackNoDelay = on; }
bool QKcpConfig::redundantRetransmits() const { return d->session.redundantRetransmits; }
void QKcpConfig::setRedundantRetransmits(bool on) { d->session.redundantRetransmits = on; }

QKcpConfig::Protocol QKcpConfig::protocol() const { return d->session.plain ? PlainKcp : SessionProtocol; }
void QKcpConfig::setProtocol(Protocol protocol) { d->session.plain = protocol == PlainKcp; }
quint32 QKcpConfig::conversationId() const { return d->session.conv; }
void QKcpConfig::setConversationId(quint32 conv) { d->session.conv = conv; }
int QKcpConfig::fecDataShards() const { return d->fecData; }
int QKcpConfig::fecParityShards() const { return d->fecParity; }
void QKcpConfig::setFec(int dataShards, int parityShards)
{
    d->fecData = std::clamp(dataShards, 0, 255);
    d->fecParity = std::clamp(parityShards, 0, 255);
    if (d->fecData == 0 || d->fecParity == 0)
        d->fecData = d->fecParity = 0;
}
QString QKcpConfig::kcpGoCipher() const { return d->cipher; }
QByteArray QKcpConfig::kcpGoKey() const { return d->key; }
void QKcpConfig::setKcpGoCipher(const QString &cipher, const QByteArray &key)
{
    d->cipher = cipher.isEmpty() ? QStringLiteral("none") : cipher.toLower();
    d->key = key;
}

QByteArray QKcpConfig::preSharedKey() const { return d->psk; }
void QKcpConfig::setPreSharedKey(const QByteArray &key)
{
    d->psk = key;
    d->updateSecurity();
}
void QKcpConfig::setPassphrase(const QString &passphrase) { setPreSharedKey(keyFromPassphrase(passphrase)); }
QByteArray QKcpConfig::keyFromPassphrase(const QString &passphrase)
{
    if (passphrase.isEmpty())
        return QByteArray();
    const std::vector<std::uint8_t> key =
        kcpnet::kcpKeyFromPassphrase(passphrase.toStdString(), "kcpnet passphrase v1", 200000);
    return QByteArray(reinterpret_cast<const char *>(key.data()), static_cast<qsizetype>(key.size()));
}
QKcpConfig::Cipher QKcpConfig::cipher() const { return d->pskCipher; }
void QKcpConfig::setCipher(Cipher cipher)
{
    d->pskCipher = cipher;
    d->updateSecurity();
}
QSharedPointer<QKcpCipher> QKcpConfig::customCipher() const { return d->customCipher; }
void QKcpConfig::setCustomCipher(const QSharedPointer<QKcpCipher> &prototype)
{
    d->customCipher = prototype;
    d->pskCipher = prototype ? CustomCipher : Aes256Gcm;
    d->updateSecurity();
}

QString qkcpSecurityProblem(const QKcpConfig &config)
{
    if (config.preSharedKey().isEmpty())
        return QString();
    if (config.protocol() == QKcpConfig::PlainKcp)
        return QCoreApplication::translate("QKcpConfig",
                                           "A pre-shared key needs the session protocol (plain KCP peers cannot "
                                           "authenticate; for kcp-go's ciphers use setKcpGoCipher())");
    if (config.preSharedKey().size() < 16 || config.preSharedKey().size() > 1024)
        return QCoreApplication::translate(
            "QKcpConfig", "The pre-shared key must be 16 to 1024 bytes (use setPassphrase() for a password)");
    if (config.cipher() == QKcpConfig::CustomCipher) {
        const QSharedPointer<QKcpCipher> c = config.customCipher();
        if (!c)
            return QCoreApplication::translate("QKcpConfig",
                                               "CustomCipher is selected but no cipher was given (setCustomCipher())");
        if (c->tagSize() < 0 || c->tagSize() > 16)
            return QCoreApplication::translate("QKcpConfig", "The custom cipher's tag size must be 0 to 16 bytes");
    }
    return QString();
}

void QKcpConfigPrivate::updateSecurity()
{
    if (psk.isEmpty()) {
        session.security.reset();
        return;
    }
    auto sec = std::make_shared<kcpnet::KcpSecurityConfig>();
    sec->psk.assign(psk.cbegin(), psk.cend());
    switch (pskCipher) {
    case QKcpConfig::Aes256Gcm:
        sec->cipher = kcpnet::KcpCipherId::Aes256Gcm;
        break;
    case QKcpConfig::ChaCha20Poly1305:
        sec->cipher = kcpnet::KcpCipherId::ChaCha20Poly1305;
        break;
    case QKcpConfig::CustomCipher:
        sec->cipher = kcpnet::KcpCipherId::Custom;
        break;
    }
    if (customCipher) {
        const QSharedPointer<QKcpCipher> prototype = customCipher;
        sec->customName = prototype->name().toStdString();
        sec->customFactory = [prototype]() -> std::unique_ptr<kcpnet::KcpAead> {
            QKcpCipher *instance = prototype->create();
            if (!instance)
                return nullptr;
            return std::make_unique<QKcpCipherAead>(instance);
        };
    }
    session.security = std::move(sec);
}

bool QKcpConfig::operator==(const QKcpConfig &other) const
{
    const kcpnet::KcpSessionConfig &a = d->session;
    const kcpnet::KcpSessionConfig &b = other.d->session;
    return a.noDelay == b.noDelay && a.interval == b.interval && a.fastResend == b.fastResend
        && a.congestionControl == b.congestionControl && a.sendWindow == b.sendWindow
        && a.receiveWindow == b.receiveWindow && a.mtu == b.mtu && a.minRto == b.minRto && a.deadLink == b.deadLink
        && a.streamMode == b.streamMode && a.ackNoDelay == b.ackNoDelay && a.sendNoDelay == b.sendNoDelay
        && a.connectTimeout == b.connectTimeout && a.keepaliveInterval == b.keepaliveInterval
        && a.peerTimeout == b.peerTimeout && a.idleTimeout == b.idleTimeout && a.closeTimeout == b.closeTimeout
        && a.redundantRetransmits == b.redundantRetransmits && a.plain == b.plain && a.conv == b.conv && d->fecData == other.d->fecData
        && d->fecParity == other.d->fecParity && d->cipher == other.d->cipher && d->key == other.d->key
        && d->psk == other.d->psk && d->pskCipher == other.d->pskCipher && d->customCipher == other.d->customCipher;
}

QDebug operator<<(QDebug debug, const QKcpConfig &c)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "QKcpConfig(" << (c.mode() == QKcpConfig::StreamMode ? "stream" : "message")
                    << ", nodelay " << c.noDelay() << ", interval " << c.interval() << ", resend " << c.fastResend()
                    << ", cc " << c.congestionControl() << ", wnd " << c.sendWindow() << '/' << c.receiveWindow()
                    << ", mtu " << c.mtu() << ", keepalive " << c.keepAliveInterval() << ", peerTimeout "
                    << c.peerTimeout();
    if (!c.preSharedKey().isEmpty()) // never the key itself
        debug << ", encrypted " << c.cipher();
    debug << ')';
    return debug;
}
