// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Plain-KCP compatible mode: builds the kcp-go packet layers (FEC, cipher) a QKcpConfig asks for, as a
// KcpPacketTransform for the session (kcpnet/compat/kcpgopacketpipe.h does the work).
#include "qkcpsocket_p.h"

#include "qkcpconfig.h"

#ifdef KCPNET_HAVE_COMPAT
#include "kcpgopacketpipe.h"
#endif

namespace {

#ifdef KCPNET_HAVE_COMPAT
class KcpGoTransform final : public kcpnet::KcpPacketTransform
{
public:
    explicit KcpGoTransform(std::unique_ptr<kcpnet::KcpGoPacketPipe> pipe)
        : m_pipe(std::move(pipe))
    {
    }
    std::size_t overhead() const override { return m_pipe->overhead(); }
    void outgoing(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &sink) override
    {
        m_pipe->outgoing(data, size, now, sink);
    }
    bool incoming(const std::uint8_t *data, std::size_t size, std::uint32_t now, const Sink &sink) override
    {
        return m_pipe->incoming(data, size, now, sink);
    }
    Counters counters() const override
    {
        Counters c;
        if (const kcpnet::KcpFecDecoder *d = m_pipe->fecDecoder())
            c.recovered = d->stats().recovered;
        if (const kcpnet::KcpFecEncoder *e = m_pipe->fecEncoder())
            c.parity = e->stats().parityShards;
        const kcpnet::KcpGoPacketPipe::Stats &s = m_pipe->stats();
        c.rejected = s.badChecksum + s.tooShortCrypt + s.tooShortKcp + s.fecMalformed + s.oversizeIn;
        return c;
    }

private:
    std::unique_ptr<kcpnet::KcpGoPacketPipe> m_pipe;
};
#endif

} // namespace

std::unique_ptr<kcpnet::KcpPacketTransform> qkcpMakeTransform(const QKcpConfig &config, QString *error)
{
    const bool wantsFec = config.fecDataShards() > 0 && config.fecParityShards() > 0;
    const bool wantsCipher = config.kcpGoCipher() != QLatin1String("none");
    if (!wantsFec && !wantsCipher)
        return nullptr;
#ifdef KCPNET_HAVE_COMPAT
    kcpnet::KcpGoPipeConfig c;
    c.dataShards = config.fecDataShards();
    c.parityShards = config.fecParityShards();
    c.cipher = config.kcpGoCipher().toStdString();
    const QByteArray key = config.kcpGoKey();
    c.key.assign(key.cbegin(), key.cend());
    c.maxDatagram = std::max<std::size_t>(1500, static_cast<std::size_t>(config.mtu()));
    std::string problem;
    std::unique_ptr<kcpnet::KcpGoPacketPipe> pipe = kcpnet::KcpGoPacketPipe::create(c, &problem);
    if (!pipe) {
        if (error)
            *error = QKcpSocket::tr("kcp-go packet layers: %1").arg(QString::fromStdString(problem));
        return nullptr;
    }
    return std::make_unique<KcpGoTransform>(std::move(pipe));
#else
    if (error)
        *error = QKcpSocket::tr("kcp-go FEC and packet encryption need OpenSSL, which this build lacks");
    return nullptr;
#endif
}

QByteArray QKcpConfig::kcptunKey(const QString &passphrase)
{
#ifdef KCPNET_HAVE_COMPAT
    const std::vector<std::uint8_t> key = kcpnet::KcpGoCrypt::kcptunKey(passphrase.toStdString());
    return QByteArray(reinterpret_cast<const char *>(key.data()), static_cast<qsizetype>(key.size()));
#else
    Q_UNUSED(passphrase);
    return QByteArray();
#endif
}
