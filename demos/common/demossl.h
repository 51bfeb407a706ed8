// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Encryption helpers shared by the echo demos (echo-server, echo-client, blocking-client): reading PEM
// certificates and keys with messages that name the file, printing names and errors, and the clients' encryption
// options (--key, or --encrypted with --ca, --peer-name, --certificate, --private-key, --insecure). Header-only, so
// each demo still builds on its own from its folder (cmake -S demos/echo-client ...).
#ifndef KCPNET_DEMOS_DEMOSSL_H
#define KCPNET_DEMOS_DEMOSSL_H

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QKcpConfig>
#include <QList>
#include <QString>
#include <QTextStream>
#include <QtNetwork/qtnetworkglobal.h>
#if QT_CONFIG(dtls)
#include <QFile>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslError>
#include <QSslKey>
#include <QStringList>
#endif

namespace DemoSsl {

#if QT_CONFIG(dtls)

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

#endif // QT_CONFIG(dtls)

// What a client's encryption options asked for, beyond the pre-shared key (which goes into the QKcpConfig).
struct ClientEncryption {
    bool certificates = false; // --encrypted: certificate mode (DTLS), connectToHostEncrypted()
    bool insecure = false;     // ignore the server certificate's errors (with a warning)
    QString peerName;          // the name the server's certificate must carry; empty: the host name
#if QT_CONFIG(dtls)
    QSslConfiguration ssl;
#endif
};

// The clients' encryption options: add options() to the parser, then apply() after parsing.
class ClientEncryptionOptions
{
public:
    QList<QCommandLineOption> options() const
    {
        return {m_key, m_encrypted, m_ca, m_peerName, m_certificate, m_privateKey, m_insecure};
    }

    // Checks the combination first, then reads the files: a pre-shared key goes into *config, certificate mode into
    // *encryption. Prints "<program>: encryption: ..." (what was chosen) or why not; false when the program should
    // exit with 2.
    bool apply(const QCommandLineParser &parser, const char *program, QKcpConfig *config, ClientEncryption *encryption,
               QTextStream &out) const
    {
        encryption->certificates = parser.isSet(m_encrypted);
        encryption->insecure = parser.isSet(m_insecure);
        encryption->peerName = parser.value(m_peerName);
        for (const QCommandLineOption *option : {&m_ca, &m_peerName, &m_certificate, &m_privateKey, &m_insecure}) {
            if (parser.isSet(*option) && !encryption->certificates) {
                out << program << ": --" << option->names().constFirst() << " needs --encrypted" << Qt::endl;
                return false;
            }
        }
        if (encryption->certificates && parser.isSet(m_key)) {
            out << program << ": --key (pre-shared key) and --encrypted (certificates) exclude each other; choose one"
                << Qt::endl;
            return false;
        }
        if (parser.isSet(m_certificate) != parser.isSet(m_privateKey)) {
            out << program << ": a client certificate needs both --certificate and --private-key" << Qt::endl;
            return false;
        }
        if (parser.isSet(m_key)) {
            // Pre-shared-key mode: an authenticated handshake, then every datagram encrypted (AES-256-GCM) with
            // keys of its own per session. A peer with another key fails with SslHandshakeFailedError. A passphrase
            // is stretched with PBKDF2 (raw key bytes would go to setPreSharedKey() instead).
            config->setPassphrase(parser.value(m_key));
            out << program << ": encryption: pre-shared key (AES-256-GCM)" << Qt::endl;
            return true;
        }
        if (!encryption->certificates) {
            out << program << ": encryption: none (plain; --key or --encrypted turn it on)" << Qt::endl;
            return true;
        }
#if QT_CONFIG(dtls)
        encryption->ssl = QSslConfiguration::defaultDtlsConfiguration(); // verifies the server (VerifyPeer)
        QString error;
        QString trusted = QStringLiteral("the system CAs");
        if (parser.isSet(m_ca)) {
            const QList<QSslCertificate> cas = loadCertificates(parser.value(m_ca), &error);
            if (cas.isEmpty()) {
                out << program << ": " << error << Qt::endl;
                return false;
            }
            // Setting CA certificates replaces the system's (read on demand otherwise): add those back first.
            encryption->ssl.setCaCertificates(QSslConfiguration::systemCaCertificates() + cas);
            trusted += QStringLiteral(" and ") + parser.value(m_ca);
        }
        QString identity = QStringLiteral("no client certificate");
        if (parser.isSet(m_certificate)) {
            const QList<QSslCertificate> chain = loadCertificates(parser.value(m_certificate), &error);
            QSslKey key;
            if (!chain.isEmpty())
                key = loadPrivateKey(parser.value(m_privateKey), chain.first().publicKey().algorithm(), &error);
            if (key.isNull()) {
                out << program << ": " << error << Qt::endl;
                return false;
            }
            encryption->ssl.setLocalCertificateChain(chain);
            encryption->ssl.setPrivateKey(key);
            identity = QStringLiteral("client certificate ") + distinguishedName(chain.first());
        }
        out << program << ": encryption: certificates (DTLS 1.2), trusting " << trusted << ", " << identity
            << (encryption->insecure ? ", INSECURE (certificate errors ignored)" : "") << Qt::endl;
        return true;
#else
        out << program << ": --encrypted needs Qt Network with DTLS (OpenSSL)" << Qt::endl;
        return false;
#endif
    }

private:
    const QCommandLineOption m_key{QStringLiteral("key"),
                                   QStringLiteral("Encrypt with this pre-shared passphrase (both ends)."),
                                   QStringLiteral("key")};
    const QCommandLineOption m_encrypted{
        QStringLiteral("encrypted"),
        QStringLiteral("Certificate mode: DTLS, verifying the server's certificate (connectToHostEncrypted).")};
    const QCommandLineOption m_ca{QStringLiteral("ca"),
                                  QStringLiteral("Also trust the CA certificate(s) in this PEM file (--encrypted)."),
                                  QStringLiteral("file")};
    const QCommandLineOption m_peerName{
        QStringLiteral("peer-name"),
        QStringLiteral("The name the server's certificate must carry (default: --host; --encrypted)."),
        QStringLiteral("name")};
    const QCommandLineOption m_certificate{
        QStringLiteral("certificate"), QStringLiteral("Client certificate, PEM, for servers that ask (--encrypted)."),
        QStringLiteral("file")};
    const QCommandLineOption m_privateKey{QStringLiteral("private-key"),
                                          QStringLiteral("The client certificate's private key, PEM."),
                                          QStringLiteral("file")};
    const QCommandLineOption m_insecure{
        QStringLiteral("insecure"),
        QStringLiteral("Accept a server certificate that does not verify, with a warning (--encrypted).")};
};

} // namespace DemoSsl

#endif // KCPNET_DEMOS_DEMOSSL_H
