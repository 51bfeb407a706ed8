// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Header-only test PKI for the (D)TLS tests of kcpnet, generated at run time with OpenSSL's libcrypto, so that no
// private key is ever checked in. All keys are EC P-256; certificates are X.509 v3 signed with SHA-256.
//
//   const KcpTestPki &pki = kcpTestPki();   // generated once per process, on first use (thread-safe)
//
//   ca                      self-signed CA (CN "kcpnet test CA"), basicConstraints CA:TRUE
//   serverCert/serverKey    signed by ca, SAN DNS:localhost, IP:127.0.0.1, IP:::1, EKU serverAuth
//   expiredServerCert/Key   signed by ca, same SANs, validity ended yesterday
//   wrongNameServerCert/Key signed by ca, SAN DNS:other.example only
//   selfSignedServerCert/Key self-signed, SAN DNS:localhost, IP:127.0.0.1, IP:::1
//   clientCert/clientKey    signed by ca, CN "kcpnet test client", EKU clientAuth
//   untrustedClientCert/Key self-signed client certificate (not issued by ca)
//
// With DTLS configurations for the tests (trusting ca only):
//   kcpTestServerSsl(cert, key[, peerVerifyMode])   a server's: that certificate and key
//   kcpTestGoodServerSsl([peerVerifyMode])          a server's: serverCert / serverKey
//   kcpTestClientSsl([cert, key])                   a client's: verifies the peer, optionally with a certificate
//
// Targets including it link OpenSSL::Crypto (and Qt6::Network).
#ifndef KCPNET_KCPTESTCERTS_H
#define KCPNET_KCPTESTCERTS_H

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>
#include <QtNetwork/qssl.h>
#include <QtNetwork/qsslcertificate.h>
#include <QtNetwork/qsslconfiguration.h>
#include <QtNetwork/qsslkey.h>
#include <QtNetwork/qsslsocket.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

struct KcpTestPki
{
    QSslCertificate ca;
    QSslKey caKey;

    QSslCertificate serverCert;            // SAN DNS:localhost, IP:127.0.0.1, IP:::1; issued by ca
    QSslKey serverKey;
    QSslCertificate expiredServerCert;     // issued by ca, expired
    QSslKey expiredServerKey;
    QSslCertificate wrongNameServerCert;   // issued by ca, SAN DNS:other.example
    QSslKey wrongNameServerKey;
    QSslCertificate selfSignedServerCert;  // self-signed, SAN DNS:localhost, IP:127.0.0.1, IP:::1
    QSslKey selfSignedServerKey;

    QSslCertificate clientCert;            // issued by ca, EKU clientAuth
    QSslKey clientKey;
    QSslCertificate untrustedClientCert;   // self-signed client certificate
    QSslKey untrustedClientKey;
};

namespace KcpTestCertsDetail {

struct PkeyDeleter { void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); } };
struct X509Deleter { void operator()(X509 *p) const { X509_free(p); } };
struct BioDeleter { void operator()(BIO *p) const { BIO_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using Cert = std::unique_ptr<X509, X509Deleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;

inline void check(bool ok, const char *what)
{
    if (!ok)
        throw std::runtime_error(what);
}

inline Pkey newP256Key()
{
    Pkey key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen(P-256)");
    return key;
}

inline void addExtension(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(added == 1, "X509_add_ext");
}

struct CertSpec
{
    const char *commonName = "";
    const char *subjectAltName = nullptr; // e.g. "DNS:localhost,IP:127.0.0.1"
    const char *extendedKeyUsage = nullptr;
    bool isCa = false;
    long notBeforeOffsetSecs = -3600;        // relative to now
    long notAfterOffsetSecs = 30L * 86400;   // relative to now
};

// Issues a certificate for 'key'. 'issuerCert' == nullptr makes it self-signed (signed with 'key').
inline Cert issue(const CertSpec &spec, EVP_PKEY *key, X509 *issuerCert, EVP_PKEY *issuerKey)
{
    Cert cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509 *x = cert.get();
    check(X509_set_version(x, 2) == 1, "X509_set_version");

    // 64-bit random positive serial number.
    unsigned char serialBytes[8];
    check(RAND_bytes(serialBytes, sizeof serialBytes) == 1, "RAND_bytes");
    serialBytes[0] &= 0x7f;
    serialBytes[0] |= 0x01;
    BIGNUM *serial = BN_bin2bn(serialBytes, sizeof serialBytes, nullptr);
    check(serial != nullptr, "BN_bin2bn");
    const bool serialSet = BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != nullptr;
    BN_free(serial);
    check(serialSet, "BN_to_ASN1_INTEGER");

    check(X509_gmtime_adj(X509_getm_notBefore(x), spec.notBeforeOffsetSecs) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(x), spec.notAfterOffsetSecs) != nullptr, "notAfter");

    X509_NAME *name = X509_get_subject_name(x);
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char *>("kcpnet tests"), -1, -1, 0) == 1,
          "subject O");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char *>(spec.commonName), -1, -1, 0) == 1,
          "subject CN");
    X509 *issuer = issuerCert ? issuerCert : x;
    check(X509_set_issuer_name(x, X509_get_subject_name(issuer)) == 1, "X509_set_issuer_name");
    check(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");

    if (spec.isCa) {
        addExtension(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
        addExtension(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        // A self-signed leaf carries no keyUsage (as `openssl req -x509` makes them): a keyUsage without
        // keyCertSign would keep OpenSSL (and QSslCertificate::isSelfSigned()) from seeing it as its own issuer.
        if (issuerCert)
            addExtension(x, issuer, NID_key_usage, "critical,digitalSignature,keyAgreement");
    }
    addExtension(x, issuer, NID_subject_key_identifier, "hash");
    if (issuerCert)
        addExtension(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (spec.extendedKeyUsage)
        addExtension(x, issuer, NID_ext_key_usage, spec.extendedKeyUsage);
    if (spec.subjectAltName)
        addExtension(x, issuer, NID_subject_alt_name, spec.subjectAltName);

    check(X509_sign(x, issuerKey ? issuerKey : key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

inline QByteArray bioContents(BIO *bio)
{
    char *data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return QByteArray(data, size > 0 ? qsizetype(size) : 0);
}

inline QSslCertificate toQt(X509 *cert)
{
    Bio bio(BIO_new(BIO_s_mem()));
    check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    QSslCertificate result(bioContents(bio.get()), QSsl::Pem);
    check(!result.isNull(), "QSslCertificate from PEM");
    return result;
}

inline QSslKey toQt(EVP_PKEY *key)
{
    Bio bio(BIO_new(BIO_s_mem()));
    check(bio && PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey_traditional");
    QSslKey result(bioContents(bio.get()), QSsl::Ec, QSsl::Pem, QSsl::PrivateKey);
    check(!result.isNull(), "QSslKey from PEM");
    return result;
}

inline KcpTestPki generate()
{
    KcpTestPki pki;
    const char *const localSans = "DNS:localhost,IP:127.0.0.1,IP:::1";

    Pkey caKey = newP256Key();
    CertSpec caSpec;
    caSpec.commonName = "kcpnet test CA";
    caSpec.isCa = true;
    caSpec.notAfterOffsetSecs = 60L * 86400;
    Cert ca = issue(caSpec, caKey.get(), nullptr, nullptr);
    pki.ca = toQt(ca.get());
    pki.caKey = toQt(caKey.get());

    auto leaf = [&](const CertSpec &spec, bool selfSigned, QSslCertificate *certOut, QSslKey *keyOut) {
        Pkey key = newP256Key();
        Cert cert = selfSigned ? issue(spec, key.get(), nullptr, nullptr)
                               : issue(spec, key.get(), ca.get(), caKey.get());
        *certOut = toQt(cert.get());
        *keyOut = toQt(key.get());
    };

    CertSpec server;
    server.commonName = "localhost";
    server.subjectAltName = localSans;
    server.extendedKeyUsage = "serverAuth";
    leaf(server, false, &pki.serverCert, &pki.serverKey);

    CertSpec expired = server;
    expired.notBeforeOffsetSecs = -3L * 86400;
    expired.notAfterOffsetSecs = -1L * 86400;
    leaf(expired, false, &pki.expiredServerCert, &pki.expiredServerKey);

    CertSpec wrongName = server;
    wrongName.commonName = "other.example";
    wrongName.subjectAltName = "DNS:other.example";
    leaf(wrongName, false, &pki.wrongNameServerCert, &pki.wrongNameServerKey);

    leaf(server, true, &pki.selfSignedServerCert, &pki.selfSignedServerKey);

    CertSpec client;
    client.commonName = "kcpnet test client";
    client.extendedKeyUsage = "clientAuth";
    leaf(client, false, &pki.clientCert, &pki.clientKey);

    CertSpec untrustedClient = client;
    untrustedClient.commonName = "kcpnet untrusted client";
    leaf(untrustedClient, true, &pki.untrustedClientCert, &pki.untrustedClientKey);

    return pki;
}

} // namespace KcpTestCertsDetail

// The test PKI of this process, generated on first use. Throws std::runtime_error if OpenSSL fails.
inline const KcpTestPki &kcpTestPki()
{
    static const KcpTestPki pki = KcpTestCertsDetail::generate();
    return pki;
}

inline QSslConfiguration kcpTestServerSsl(const QSslCertificate &cert, const QSslKey &key,
                                          QSslSocket::PeerVerifyMode mode = QSslSocket::VerifyNone)
{
    QSslConfiguration c = QSslConfiguration::defaultDtlsConfiguration();
    c.setLocalCertificate(cert);
    c.setPrivateKey(key);
    c.setPeerVerifyMode(mode);
    c.setCaCertificates({kcpTestPki().ca});
    return c;
}

inline QSslConfiguration kcpTestGoodServerSsl(QSslSocket::PeerVerifyMode mode = QSslSocket::VerifyNone)
{
    return kcpTestServerSsl(kcpTestPki().serverCert, kcpTestPki().serverKey, mode);
}

inline QSslConfiguration kcpTestClientSsl(const QSslCertificate &cert = QSslCertificate(), const QSslKey &key = QSslKey())
{
    QSslConfiguration c = QSslConfiguration::defaultDtlsConfiguration();
    c.setCaCertificates({kcpTestPki().ca});
    c.setPeerVerifyMode(QSslSocket::VerifyPeer);
    if (!cert.isNull()) {
        c.setLocalCertificate(cert);
        c.setPrivateKey(key);
    }
    return c;
}

#endif // KCPNET_KCPTESTCERTS_H
