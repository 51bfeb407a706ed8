// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Certificate mode helpers shared by the echo demos (echo-server, echo-client, blocking-client): reading PEM
// certificates and keys with messages that name the file, and printing names and errors. Header-only, so each
// demo still builds on its own from its folder (cmake -S demos/echo-client ...).
#ifndef KCPNET_DEMOS_DEMOSSL_H
#define KCPNET_DEMOS_DEMOSSL_H

#include <QtNetwork/qtnetworkglobal.h>
#if QT_CONFIG(dtls)
#include <QFile>
#include <QList>
#include <QSslCertificate>
#include <QSslError>
#include <QSslKey>
#include <QString>
#include <QStringList>

namespace DemoSsl {

// The whole file, or false with a message that names it.
inline bool readFile(const QString &path, QByteArray *data, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    *data = file.readAll();
    return true;
}

// Every certificate of a PEM file (a certificate and its chain, or CAs); empty, with a message, if there is none.
inline QList<QSslCertificate> loadCertificates(const QString &path, QString *error)
{
    QByteArray pem;
    if (!readFile(path, &pem, error))
        return {};
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(pem, QSsl::Pem);
    if (certificates.isEmpty())
        *error = QStringLiteral("%1 holds no PEM certificate").arg(path);
    return certificates;
}

// An unencrypted PEM private key (RSA, EC or DSA; PKCS#1, SEC1 or PKCS#8); null, with a message, otherwise.
// QSslKey needs the algorithm: the certificate's comes first (a failed try leaves OpenSSL errors behind that
// later show up in unrelated error strings).
inline QSslKey loadPrivateKey(const QString &path, QSsl::KeyAlgorithm certificateAlgorithm, QString *error)
{
    QByteArray pem;
    if (!readFile(path, &pem, error))
        return {};
    for (const QSsl::KeyAlgorithm algorithm : {certificateAlgorithm, QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
        const QSslKey key(pem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            return key;
    }
    *error = QStringLiteral("%1 holds no PEM private key (RSA, EC or DSA, without a passphrase)").arg(path);
    return {};
}

// "CN=localhost, O=Example": the subject (or issuer) as one line.
inline QString distinguishedName(const QSslCertificate &certificate, bool issuer = false)
{
    QStringList parts;
    const QList<QByteArray> attributes =
        issuer ? certificate.issuerInfoAttributes() : certificate.subjectInfoAttributes();
    for (const QByteArray &attribute : attributes) {
        const QStringList values = issuer ? certificate.issuerInfo(attribute) : certificate.subjectInfo(attribute);
        for (const QString &value : values)
            parts << QString::fromLatin1(attribute) + QLatin1Char('=') + value;
    }
    return parts.isEmpty() ? QStringLiteral("(empty name)") : parts.join(QStringLiteral(", "));
}

inline QString describeErrors(const QList<QSslError> &errors)
{
    QStringList texts;
    for (const QSslError &error : errors)
        texts << error.errorString();
    return texts.join(QStringLiteral("; "));
}

} // namespace DemoSsl

#endif // QT_CONFIG(dtls)
#endif // KCPNET_DEMOS_DEMOSSL_H
