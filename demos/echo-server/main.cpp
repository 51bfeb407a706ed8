// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// echo-server: the kcpnet counterpart of a QTcpServer echo server.
//
// Everything a client sends comes back to it. The program is written the way you would write it with
// QTcpServer and QTcpSocket, only with the K: listen(), newConnection(), nextPendingConnection(), readyRead(),
// disconnected(). The one thing TCP does not have is the mode: in stream mode (the default) the connection is a
// byte stream; in message mode every message a client sends comes back as one message.
//
//   echo-server [--port 4000] [--mode stream|message] [--preset normal|fast|turbo]
//               [--key PASSPHRASE | --certificate FILE --private-key FILE [--client-ca FILE]]
//
// Try it with echo-client (or blocking-client) from another terminal:
//
//   echo-client --port 4000 --count 5
//
// Encryption, as in docs/SECURITY.md: --key turns on the pre-shared-key mode (the same passphrase on both ends);
// --certificate and --private-key (PEM) turn on certificate mode, DTLS 1.2 like QSslSocket, for which the clients
// connect with connectToHostEncrypted() (echo-client --encrypted); --client-ca also requires a client certificate
// signed by that CA.

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QKcpServer>
#include <QKcpSocket>
#include <QTextStream>
#if QT_CONFIG(dtls)
#include <QSslCertificate>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslKey>
#endif

#include "../common/demossl.h"
#if QT_CONFIG(dtls)
using namespace DemoSsl;
#endif

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

// "fast", "normal" or "turbo" -> the preset; false for anything else.
bool parsePreset(const QString &name, QKcpConfig::Preset *preset)
{
    if (name == QLatin1String("normal"))
        *preset = QKcpConfig::Normal;
    else if (name == QLatin1String("fast"))
        *preset = QKcpConfig::Fast;
    else if (name == QLatin1String("turbo"))
        *preset = QKcpConfig::Turbo;
    else
        return false;
    return true;
}

QString describe(const QKcpSocket *socket)
{
    return socket->peerAddress().toString() + QLatin1Char(':') + QString::number(socket->peerPort());
}

#if QT_CONFIG(dtls)
// Certificate mode: the server's certificate (its chain may follow in the same file) and private key, and with
// clientCaPath the CA that must have signed every client's certificate. False, with a message, if a file is
// unreadable or does not hold what it should.
bool makeSslConfiguration(const QString &certificatePath, const QString &keyPath, const QString &clientCaPath,
                          QSslConfiguration *ssl, QString *error)
{
    const QList<QSslCertificate> chain = loadCertificates(certificatePath, error);
    if (chain.isEmpty())
        return false;
    const QSslKey publicKey = chain.first().publicKey();
    const QSslKey key = loadPrivateKey(keyPath, publicKey.algorithm(), error);
    if (key.isNull())
        return false;
    // Qt cannot check that the key is the certificate's own; a key of another kind or size certainly is not.
    if (publicKey.algorithm() != key.algorithm() || publicKey.length() != key.length()) {
        *error = QStringLiteral("the private key in %1 does not belong to the certificate in %2")
                     .arg(keyPath, certificatePath);
        return false;
    }

    *ssl = QSslConfiguration::defaultDtlsConfiguration();
    ssl->setLocalCertificateChain(chain); // the first is ours, the others are sent along as the chain
    ssl->setPrivateKey(key);
    ssl->setPeerVerifyMode(QSslSocket::VerifyNone); // clients need no certificate...
    if (!clientCaPath.isEmpty()) {
        const QList<QSslCertificate> cas = loadCertificates(clientCaPath, error);
        if (cas.isEmpty())
            return false;
        ssl->setCaCertificates(cas); // ...unless a CA is given: then one it signed is required
        ssl->setPeerVerifyMode(QSslSocket::VerifyPeer);
    }
    return true;
}
#endif

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("echo-server"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Echoes back what kcpnet clients send."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("UDP port (default 4000, 0 = any)."),
                                        QStringLiteral("port"), QStringLiteral("4000"));
    const QCommandLineOption addressOption(
        QStringLiteral("address"), QStringLiteral("Address to listen on (default: all)."), QStringLiteral("address"));
    const QCommandLineOption modeOption(QStringLiteral("mode"), QStringLiteral("stream (default) or message."),
                                        QStringLiteral("mode"), QStringLiteral("stream"));
    const QCommandLineOption presetOption(QStringLiteral("preset"), QStringLiteral("normal, fast (default) or turbo."),
                                          QStringLiteral("preset"), QStringLiteral("fast"));
    const QCommandLineOption keyOption(QStringLiteral("key"),
                                       QStringLiteral("Encrypt with this pre-shared passphrase (both ends)."),
                                       QStringLiteral("key"));
    const QCommandLineOption certificateOption(
        QStringLiteral("certificate"),
        QStringLiteral("Certificate mode (DTLS): the server's certificate, PEM (its chain may follow)."),
        QStringLiteral("file"));
    const QCommandLineOption privateKeyOption(QStringLiteral("private-key"),
                                              QStringLiteral("The certificate's private key, PEM, not encrypted."),
                                              QStringLiteral("file"));
    const QCommandLineOption clientCaOption(
        QStringLiteral("client-ca"),
        QStringLiteral("Require client certificates signed by the CA(s) in this PEM file."), QStringLiteral("file"));
    const QCommandLineOption sessionsOption(QStringLiteral("sessions"),
                                            QStringLiteral("Exit after this many clients have left (0 = never)."),
                                            QStringLiteral("n"), QStringLiteral("0"));
    parser.addOptions({portOption, addressOption, modeOption, presetOption, keyOption, certificateOption,
                       privateKeyOption, clientCaOption, sessionsOption});
    parser.process(app);

    // 1. The configuration: a preset, then the mode. The server hands it to every session it accepts, and the
    //    clients must use the same mode (a mismatch is refused during the handshake with a clear error).
    QKcpConfig::Preset preset;
    if (!parsePreset(parser.value(presetOption), &preset)) {
        out() << "echo-server: unknown preset " << parser.value(presetOption) << Qt::endl;
        return 2;
    }
    const QString modeName = parser.value(modeOption);
    if (modeName != QLatin1String("stream") && modeName != QLatin1String("message")) {
        out() << "echo-server: --mode must be stream or message" << Qt::endl;
        return 2;
    }
    const bool messageMode = modeName == QLatin1String("message");
    QKcpConfig config(preset);
    config.setMode(messageMode ? QKcpConfig::MessageMode : QKcpConfig::StreamMode);

    // The encryption: none, a pre-shared key, or certificates; not both kinds at once.
    const bool certificateMode = parser.isSet(certificateOption) || parser.isSet(privateKeyOption);
    if (certificateMode && parser.isSet(keyOption)) {
        out() << "echo-server: --key (pre-shared key) and --certificate (certificates) exclude each other; "
                 "choose one"
              << Qt::endl;
        return 2;
    }
    if (certificateMode && (!parser.isSet(certificateOption) || !parser.isSet(privateKeyOption))) {
        out() << "echo-server: certificate mode needs both --certificate and --private-key" << Qt::endl;
        return 2;
    }
    if (parser.isSet(clientCaOption) && !certificateMode) {
        out() << "echo-server: --client-ca needs --certificate and --private-key" << Qt::endl;
        return 2;
    }
    if (parser.isSet(keyOption)) {
        // Pre-shared-key mode: an authenticated handshake, then every datagram encrypted (AES-256-GCM) with keys
        // of its own per session. A peer with another key fails with SslHandshakeFailedError. A passphrase is
        // stretched with PBKDF2 (raw key bytes would go to setPreSharedKey() instead).
        config.setPassphrase(parser.value(keyOption));
        out() << "echo-server: encryption: pre-shared key (AES-256-GCM)" << Qt::endl;
    } else if (!certificateMode) {
        out() << "echo-server: encryption: none (plain; --key or --certificate turn it on)" << Qt::endl;
    }

    // 2. Listen, exactly like QTcpServer::listen(). One UDP port carries every session.
    QKcpServer server(config);
    if (certificateMode) {
#if QT_CONFIG(dtls)
        // Certificate mode: every client runs a DTLS 1.2 handshake first (connectToHostEncrypted()) and checks
        // this certificate; with a client CA the server checks theirs too, and reports a client it refuses with
        // acceptError(SslHandshakeFailedError). (A client that refuses our certificate just goes away.)
        QSslConfiguration ssl;
        QString error;
        if (!makeSslConfiguration(parser.value(certificateOption), parser.value(privateKeyOption),
                                  parser.value(clientCaOption), &ssl, &error)) {
            out() << "echo-server: " << error << Qt::endl;
            return 2;
        }
        server.setSslConfiguration(ssl);
        const QSslCertificate certificate = ssl.localCertificate();
        out() << "echo-server: encryption: certificates (DTLS 1.2); certificate " << distinguishedName(certificate)
              << ", issued by " << distinguishedName(certificate, true) << ", valid until "
              << certificate.expiryDate().toString(Qt::ISODate) << Qt::endl;
        if (certificate.expiryDate() < QDateTime::currentDateTimeUtc()
            || certificate.effectiveDate() > QDateTime::currentDateTimeUtc())
            out() << "echo-server: warning: the certificate is not valid now; clients will refuse it" << Qt::endl;
        if (parser.isSet(clientCaOption)) {
            QStringList cas;
            for (const QSslCertificate &ca : ssl.caCertificates())
                cas << distinguishedName(ca);
            out() << "echo-server: client certificates required, issued by " << cas.join(QStringLiteral(" or "))
                  << Qt::endl;
        }
        // A client that failed the DTLS handshake (no certificate or an untrusted one): errorString() says why.
        QObject::connect(&server, &QKcpServer::acceptError, &server, [&server](QAbstractSocket::SocketError error) {
            out() << "echo-server: a client failed to connect: "
                  << (server.errorString().isEmpty() ? QStringLiteral("error %1").arg(error) : server.errorString())
                  << Qt::endl;
        });
#else
        out() << "echo-server: certificate mode needs Qt Network with DTLS (OpenSSL)" << Qt::endl;
        return 2;
#endif
    }
    const QHostAddress address =
        parser.isSet(addressOption) ? QHostAddress(parser.value(addressOption)) : QHostAddress(QHostAddress::Any);
    if (!server.listen(address, static_cast<quint16>(parser.value(portOption).toUInt()))) {
        out() << "echo-server: cannot listen: " << server.errorString() << Qt::endl;
        return 1;
    }
    out() << "echo-server: listening on port " << server.serverPort() << " (" << modeName << " mode, "
          << parser.value(presetOption) << " preset)" << Qt::endl;

    const int exitAfter = parser.value(sessionsOption).toInt();
    int finishedSessions = 0;

    // 3. Accept. newConnection() may stand for several sessions, so take them all.
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&] {
        while (QKcpSocket *socket = server.nextPendingConnection()) {
            const QString peer = describe(socket);
            out() << "client " << peer << " connected (" << server.sessions().size() << " online)";
#if QT_CONFIG(dtls)
            // Certificate mode: the DTLS association is complete before the session exists.
            if (certificateMode) {
                const QSslCertificate clientCertificate = socket->peerCertificate();
                out() << ", cipher " << socket->sessionCipher().name() << ", "
                      << (clientCertificate.isNull()
                              ? QStringLiteral("no client certificate")
                              : QStringLiteral("client certificate ") + distinguishedName(clientCertificate));
            }
#endif
            out() << Qt::endl;

            // 4. Echo. In stream mode readAll() returns whatever has arrived (a line may come in pieces, and
            //    that is fine for an echo). In message mode each readMessage() is one whole message.
            QObject::connect(socket, &QKcpSocket::readyRead, socket, [socket, messageMode] {
                if (messageMode) {
                    while (socket->hasPendingMessages())
                        socket->writeMessage(socket->readMessage());
                } else {
                    socket->write(socket->readAll());
                }
            });

            // 5. Errors come before disconnected(). As with QTcpSocket, a normal close by the client is reported
            //    as RemoteHostClosedError; a client that vanished is reported as SocketTimeoutError.
            QObject::connect(socket, &QKcpSocket::errorOccurred, socket,
                             [socket, peer](QAbstractSocket::SocketError error) {
                                 if (error != QAbstractSocket::RemoteHostClosedError)
                                     out() << "client " << peer << ": " << socket->errorString() << Qt::endl;
                             });

            // 6. When the client leaves, print what was echoed and delete the socket (it is the server's child;
            //    deleteLater() because we are inside one of its signals).
            QObject::connect(socket, &QKcpSocket::disconnected, socket, [&, socket, peer] {
                const QKcpStatistics stats = socket->statistics();
                out() << "client " << peer << " left: echoed " << stats.bytesSent << " bytes, "
                      << stats.retransmitsTimeout + stats.retransmitsFast << " retransmissions" << Qt::endl;
                socket->deleteLater();
                if (exitAfter > 0 && ++finishedSessions >= exitAfter) {
                    out() << "echo-server: " << finishedSessions << " client(s) served, bye" << Qt::endl;
                    QCoreApplication::quit();
                }
            });
        }
    });

    return app.exec();
}
