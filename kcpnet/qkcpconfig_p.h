// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPCONFIG_P_H
#define QKCPCONFIG_P_H

#include "qkcpconfig.h"
#include "kcpsession.h"

class QKcpConfigPrivate : public QSharedData
{
public:
    kcpnet::KcpSessionConfig session;
    int fecData = 0;
    int fecParity = 0;
    QString cipher = QStringLiteral("none");
    QByteArray key;
    // Pre-shared-key mode: kept here in Qt form; session.security mirrors it for the session layer.
    QByteArray psk;
    QKcpConfig::Cipher pskCipher = QKcpConfig::Aes256Gcm;
    QSharedPointer<QKcpCipher> customCipher;
    void updateSecurity();

    static const kcpnet::KcpSessionConfig &get(const QKcpConfig &c) { return c.d->session; }
};

// Why the encryption settings of `config` cannot work (empty when they can): checked by connectToHost() and
// listen() so a mistake is an error at once, not a handshake that fails later.
QString qkcpSecurityProblem(const QKcpConfig &config);

#endif // QKCPCONFIG_P_H
