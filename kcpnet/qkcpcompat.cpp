// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Plain-KCP compatible mode: builds the kcp-go packet layers (FEC, cipher) a QKcpConfig asks for.
#include "qkcpsocket_p.h"

#include "qkcpconfig.h"

std::unique_ptr<kcpnet::KcpPacketTransform> qkcpMakeTransform(const QKcpConfig &config, QString *error)
{
    const bool wantsFec = config.fecDataShards() > 0 && config.fecParityShards() > 0;
    const bool wantsCipher = config.kcpGoCipher() != QLatin1String("none");
    if (!wantsFec && !wantsCipher)
        return nullptr;
    if (error)
        *error = QKcpSocket::tr("kcp-go FEC and packet encryption are not available in this build");
    return nullptr;
}
