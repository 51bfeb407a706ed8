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

    static const kcpnet::KcpSessionConfig &get(const QKcpConfig &c) { return c.d->session; }
};

#endif // QKCPCONFIG_P_H
