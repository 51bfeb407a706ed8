// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// echo-client: talks to echo-server with signals and slots, the way a QTcpSocket client would.
//
// It connects, sends a line (stream mode) or a message (message mode), waits for the echo, checks it, measures the
// round trip, and repeats --count times; then it disconnects gracefully and exits 0 if every echo matched.
//
//   echo-client [--host localhost] [--port 4000] [--count 5] [--mode stream|message] [--preset fast]
//               [--key PASSPHRASE | --encrypted [--ca FILE] [--peer-name NAME] [--insecure]
//                                               [--certificate FILE --private-key FILE]]
//
// The socket code is all in EchoClient below: connectToHost(), then react to connected(), readyRead(),
// disconnected() and errorOccurred(). Nothing blocks; the event loop drives everything.
//
// --encrypted is certificate mode, as with QSslSocket: connectToHostEncrypted() runs DTLS 1.2, checks the server's
// certificate against the system CAs (and --ca) and the host name (or --peer-name), then reports encrypted(); a
// certificate that does not verify is reported with sslErrors() and the connection fails, unless --insecure
// ignores the errors. --certificate and --private-key present a client certificate to servers that ask for one.

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QKcpSocket>
#include <QTextStream>
#include <QTimer>
#if QT_CONFIG(dtls)
#include <QSslCertificate>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslError>
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

} // namespace

class EchoClient : public QObject
{
    Q_OBJECT

public:
    EchoClient(const QKcpConfig &config, const QString &text, int count, QObject *parent = nullptr)
        : QObject(parent)
        , m_socket(config, this)
        , m_text(text)
        , m_count(count)
    {
        // Wire the socket's signals once; everything that follows is a reaction to one of them.
        connect(&m_socket, &QKcpSocket::connected, this, &EchoClient::onConnected);
        connect(&m_socket, &QKcpSocket::readyRead, this, &EchoClient::onReadyRead);
        connect(&m_socket, &QKcpSocket::disconnected, this, &EchoClient::onDisconnected);
        connect(&m_socket, &QKcpSocket::errorOccurred, this, &EchoClient::onError);
#if QT_CONFIG(dtls)
        connect(&m_socket, &QKcpSocket::encrypted, this, &EchoClient::onEncrypted);
        connect(&m_socket, &QKcpSocket::sslErrors, this, &EchoClient::onSslErrors);
#endif
    }

#if QT_CONFIG(dtls)
    // Certificate mode for start(): DTLS with this configuration, the server's certificate checked against
    // peerName (empty: the host name); insecure accepts a certificate that does not verify.
    void setEncryption(const QSslConfiguration &ssl, const QString &peerName, bool insecure)
    {
        m_socket.setSslConfiguration(ssl);
        m_encrypted = true;
        m_peerName = peerName;
        m_insecure = insecure;
    }
#endif

    void start(const QString &host, quint16 port)
    {
        out() << "echo-client: connecting to " << host << ':' << port << Qt::endl;
#if QT_CONFIG(dtls)
        if (m_encrypted) {
            // DNS, the DTLS handshake (encrypted() or sslErrors()), then the session handshake inside DTLS.
            m_socket.connectToHostEncrypted(host, port, m_peerName.isEmpty() ? host : m_peerName);
            return;
        }
#endif
        m_socket.connectToHost(host, port); // DNS, then the handshake; connected() or errorOccurred() follows
    }

Q_SIGNALS:
    void finished(int exitCode);

private:
    bool messageMode() const { return m_socket.config().mode() == QKcpConfig::MessageMode; }

    void onConnected()
    {
        m_wasConnected = true;
        out() << "echo-client: connected to " << m_socket.peerAddress().toString() << ':' << m_socket.peerPort()
              << " (handshake " << m_socket.statistics().handshakeRtt << " ms)" << Qt::endl;
        sendNext();
    }

#if QT_CONFIG(dtls)
    void onEncrypted()
    {
        // DTLS is up and the server's certificate verified (or its errors were ignored); connected() follows
        // after the session handshake, one round trip later.
        const QSslCertificate certificate = m_socket.peerCertificate();
        out() << "echo-client: encrypted: cipher " << m_socket.sessionCipher().name() << "; server certificate "
              << distinguishedName(certificate) << ", issued by " << distinguishedName(certificate, true) << Qt::endl;
    }

    void onSslErrors(const QList<QSslError> &errors)
    {
        // Like QSslSocket: without ignoreSslErrors() here, the connection fails with SslHandshakeFailedError
        // (errorOccurred() comes next). Ignoring them gives up what the certificate proves: --insecure only.
        if (m_insecure) {
            out() << "echo-client: WARNING: --insecure, ignoring certificate errors: " << describeErrors(errors)
                  << Qt::endl;
            m_socket.ignoreSslErrors();
        } else {
            out() << "echo-client: certificate errors: " << describeErrors(errors) << Qt::endl;
        }
    }
#endif

    void sendNext()
    {
        m_expected = QStringLiteral("%1 #%2").arg(m_text).arg(m_sent + 1).toUtf8();
        m_clock.start();
        if (messageMode())
            m_socket.writeMessage(m_expected); // arrives as one message, boundaries kept
        else
            m_socket.write(m_expected + '\n'); // a byte stream: the newline marks the end of the line
        ++m_sent;
    }

    void onReadyRead()
    {
        // readyRead() says "there is something new", not "exactly one echo": loop over what is complete.
        if (messageMode()) {
            while (m_socket.hasPendingMessages())
                handleEcho(m_socket.readMessage());
        } else {
            while (m_socket.canReadLine())
                handleEcho(m_socket.readLine().chopped(1));
        }
    }

    void handleEcho(const QByteArray &echo)
    {
        const double ms = m_clock.nsecsElapsed() / 1e6;
        const bool ok = echo == m_expected;
        m_mismatches += ok ? 0 : 1;
        out() << "echo " << m_sent << '/' << m_count << ": \"" << QString::fromUtf8(echo) << "\" in "
              << QString::number(ms, 'f', 2) << " ms" << (ok ? "" : "  MISMATCH") << Qt::endl;
        if (m_sent < m_count)
            sendNext();
        else
            m_socket.disconnectFromHost(); // graceful: the server sees the close, then disconnected() comes
    }

    void onDisconnected()
    {
        const QKcpStatistics stats = m_socket.statistics();
        const bool ok = m_sent == m_count && m_mismatches == 0 && !m_failed;
        out() << "echo-client: disconnected; srtt " << stats.srtt << " ms, " << stats.datagramsSent
              << " datagrams sent, " << stats.retransmitsTimeout + stats.retransmitsFast << " retransmissions"
              << Qt::endl;
        out() << (ok ? "echo-client: PASS" : "echo-client: FAIL") << Qt::endl;
        emit finished(ok ? 0 : 1);
    }

    void onError(QAbstractSocket::SocketError error)
    {
        out() << "echo-client: error " << error << ": " << m_socket.errorString() << Qt::endl;
        m_failed = true;
        // A connection that never came up has no disconnected() to wait for (errorOccurred() is emitted before
        // the state changes, so remember whether we were connected instead of asking state()).
        if (!m_wasConnected)
            emit finished(1);
    }

    QKcpSocket m_socket;
    QString m_text;
    int m_count = 0;
    int m_sent = 0;
    int m_mismatches = 0;
    bool m_failed = false;
    bool m_wasConnected = false;
    QByteArray m_expected;
    QElapsedTimer m_clock;
#if QT_CONFIG(dtls)
    bool m_encrypted = false;
    bool m_insecure = false;
    QString m_peerName;
#endif
};

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("echo-client"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Sends lines or messages to echo-server and checks the echoes."));
    parser.addHelpOption();
    const QCommandLineOption hostOption(QStringLiteral("host"), QStringLiteral("Server host (default localhost)."),
                                        QStringLiteral("host"), QStringLiteral("localhost"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Server UDP port (default 4000)."),
                                        QStringLiteral("port"), QStringLiteral("4000"));
    const QCommandLineOption modeOption(QStringLiteral("mode"), QStringLiteral("stream (default) or message."),
                                        QStringLiteral("mode"), QStringLiteral("stream"));
    const QCommandLineOption presetOption(QStringLiteral("preset"), QStringLiteral("normal, fast (default) or turbo."),
                                          QStringLiteral("preset"), QStringLiteral("fast"));
    const QCommandLineOption countOption(QStringLiteral("count"), QStringLiteral("Echoes to ask for (default 5)."),
                                         QStringLiteral("n"), QStringLiteral("5"));
    const QCommandLineOption textOption(QStringLiteral("text"), QStringLiteral("What to send (default \"hello\")."),
                                        QStringLiteral("text"), QStringLiteral("hello"));
    const QCommandLineOption timeoutOption(QStringLiteral("timeout"),
                                           QStringLiteral("Give up after this many seconds (default 30)."),
                                           QStringLiteral("s"), QStringLiteral("30"));
    const DemoSsl::ClientEncryptionOptions encryptionOptions;
    parser.addOptions({hostOption, portOption, modeOption, presetOption});
    parser.addOptions(encryptionOptions.options());
    parser.addOptions({countOption, textOption, timeoutOption});
    parser.process(app);

    QKcpConfig::Preset preset;
    if (!parsePreset(parser.value(presetOption), &preset)) {
        out() << "echo-client: unknown preset " << parser.value(presetOption) << Qt::endl;
        return 2;
    }
    const QString mode = parser.value(modeOption);
    if (mode != QLatin1String("stream") && mode != QLatin1String("message")) {
        out() << "echo-client: --mode must be stream or message" << Qt::endl;
        return 2;
    }
    QKcpConfig config(preset);
    config.setMode(mode == QLatin1String("message") ? QKcpConfig::MessageMode : QKcpConfig::StreamMode);

    DemoSsl::ClientEncryption encryption;
    if (!encryptionOptions.apply(parser, "echo-client", &config, &encryption, out()))
        return 2;

    EchoClient client(config, parser.value(textOption), std::max(1, parser.value(countOption).toInt()));
#if QT_CONFIG(dtls)
    if (encryption.certificates)
        client.setEncryption(encryption.ssl, encryption.peerName, encryption.insecure);
#endif
    QObject::connect(&client, &EchoClient::finished, &app, &QCoreApplication::exit);

    // A safety net: never hang (a server that is not there is reported by the socket after its connect timeout).
    QTimer::singleShot(std::max(1, parser.value(timeoutOption).toInt()) * 1000, &app, [] {
        out() << "echo-client: timed out" << Qt::endl << "echo-client: FAIL" << Qt::endl;
        QCoreApplication::exit(1);
    });

    // Start from the event loop: a connect may fail at once (a client key that does not fit its certificate is
    // reported from inside connectToHostEncrypted()), and QCoreApplication::exit() does nothing before exec().
    QTimer::singleShot(0, &client, [&] {
        client.start(parser.value(hostOption), static_cast<quint16>(parser.value(portOption).toUInt()));
    });
    return app.exec();
}

#include "main.moc"
