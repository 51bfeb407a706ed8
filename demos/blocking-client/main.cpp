// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// blocking-client: echo-client again, written with the blocking calls.
//
// QKcpSocket has the waitFor*() functions of QAbstractSocket: waitForConnected(), waitForBytesWritten(),
// waitForReadyRead(), waitForDisconnected(). They drive the socket themselves, so they work in a thread that has
// no event loop at all. That is the pattern here: a worker QThread whose run() is straight-line code, and a main
// thread that only prints what the worker reports through (queued) signals.
//
//   blocking-client [--host localhost] [--port 4000] [--count 5] [--mode stream|message] [--preset fast]
//                   [--key PASSPHRASE | --encrypted [--ca FILE] [--peer-name NAME] [--insecure]
//                                                   [--certificate FILE --private-key FILE]]
//
// The encryption options are echo-client's. In certificate mode waitForConnected() runs the DTLS handshake too,
// and sslErrors() is emitted from inside it, in this thread: a direct connection, no event loop needed.
//
// Two rules from QTcpSocket hold here too: create the socket in the thread that uses it (inside run()), and never
// block the GUI thread with waitFor*() calls.

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QKcpSocket>
#include <QTextStream>
#include <QThread>
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

class BlockingEchoThread : public QThread
{
    Q_OBJECT

public:
    BlockingEchoThread(const QKcpConfig &config, const DemoSsl::ClientEncryption &encryption, const QString &host,
                       quint16 port, const QString &text, int count, int timeoutMs, QObject *parent = nullptr)
        : QThread(parent)
        , m_config(config)
        , m_encryption(encryption)
        , m_host(host)
        , m_port(port)
        , m_text(text)
        , m_count(count)
        , m_timeout(timeoutMs)
    {}

    bool succeeded() const { return m_ok; } // read after finished()

Q_SIGNALS:
    // Emitted from the worker thread; connected slots in the main thread run queued.
    void progress(const QString &line);

protected:
    void run() override
    {
        // No exec(): this thread has no event loop. Every wait below is bounded by m_timeout.
        QKcpSocket socket(m_config); // created here, so it lives in this thread
        const bool messageMode = m_config.mode() == QKcpConfig::MessageMode;

#if QT_CONFIG(dtls)
        if (m_encryption.certificates) {
            // sslErrors() is emitted inside waitForConnected(), in this thread: the slot runs directly. Without
            // ignoreSslErrors() there, waitForConnected() fails with SslHandshakeFailedError.
            socket.setSslConfiguration(m_encryption.ssl);
            QObject::connect(&socket, &QKcpSocket::sslErrors, &socket, [&](const QList<QSslError> &errors) {
                if (m_encryption.insecure) {
                    emit progress(QStringLiteral("WARNING: --insecure, ignoring certificate errors: %1")
                                      .arg(describeErrors(errors)));
                    socket.ignoreSslErrors();
                } else {
                    emit progress(QStringLiteral("certificate errors: %1").arg(describeErrors(errors)));
                }
            });
            socket.connectToHostEncrypted(m_host, m_port,
                                          m_encryption.peerName.isEmpty() ? m_host : m_encryption.peerName);
        } else {
            socket.connectToHost(m_host, m_port);
        }
#else
        socket.connectToHost(m_host, m_port);
#endif
        if (!socket.waitForConnected(m_timeout)) {
            emit progress(QStringLiteral("cannot connect: %1").arg(socket.errorString()));
            return;
        }
        emit progress(QStringLiteral("connected to %1:%2").arg(socket.peerAddress().toString()).arg(socket.peerPort()));
#if QT_CONFIG(dtls)
        if (m_encryption.certificates) {
            const QSslCertificate certificate = socket.peerCertificate();
            emit progress(QStringLiteral("encrypted: cipher %1; server certificate %2, issued by %3")
                              .arg(socket.sessionCipher().name(), distinguishedName(certificate),
                                   distinguishedName(certificate, true)));
        }
#endif

        int matched = 0;
        for (int i = 1; i <= m_count; ++i) {
            const QByteArray request = QStringLiteral("%1 #%2").arg(m_text).arg(i).toUtf8();
            QElapsedTimer clock;
            clock.start();

            // Write, then wait until it has left. (waitForBytesWritten() returns false when there is nothing
            // left to write, so a fast network is not an error: check bytesToWrite() instead.)
            if (messageMode)
                socket.writeMessage(request);
            else
                socket.write(request + '\n');
            while (socket.bytesToWrite() > 0 && socket.waitForBytesWritten(m_timeout)) {}

            // Read until one whole echo is there. Each waitForReadyRead() waits for *some* new data.
            auto complete = [&] { return messageMode ? socket.hasPendingMessages() : socket.canReadLine(); };
            while (!complete() && socket.waitForReadyRead(m_timeout)) {}
            if (!complete()) {
                emit progress(QStringLiteral("no echo for #%1: %2").arg(i).arg(socket.errorString()));
                break;
            }
            const QByteArray echo = messageMode ? socket.readMessage() : socket.readLine().chopped(1);
            const bool ok = echo == request;
            matched += ok ? 1 : 0;
            emit progress(QStringLiteral("echo %1/%2: \"%3\" in %4 ms%5")
                              .arg(i)
                              .arg(m_count)
                              .arg(QString::fromUtf8(echo))
                              .arg(clock.nsecsElapsed() / 1e6, 0, 'f', 2)
                              .arg(ok ? QString() : QStringLiteral("  MISMATCH")));
        }

        // Graceful close: everything written is delivered, the server sees the close.
        socket.disconnectFromHost();
        if (socket.state() != QAbstractSocket::UnconnectedState && !socket.waitForDisconnected(m_timeout)) {
            emit progress(QStringLiteral("close did not complete: %1").arg(socket.errorString()));
            return;
        }
        emit progress(QStringLiteral("disconnected"));
        m_ok = matched == m_count;
    }

private:
    const QKcpConfig m_config;
    const DemoSsl::ClientEncryption m_encryption;
    const QString m_host;
    const quint16 m_port;
    const QString m_text;
    const int m_count;
    const int m_timeout;
    bool m_ok = false;
};

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("blocking-client"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("The echo client with blocking calls in a worker thread."));
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
                                           QStringLiteral("Timeout of each blocking call in seconds (default 10)."),
                                           QStringLiteral("s"), QStringLiteral("10"));
    const DemoSsl::ClientEncryptionOptions encryptionOptions;
    parser.addOptions({hostOption, portOption, modeOption, presetOption});
    parser.addOptions(encryptionOptions.options());
    parser.addOptions({countOption, textOption, timeoutOption});
    parser.process(app);

    QKcpConfig::Preset preset;
    if (!parsePreset(parser.value(presetOption), &preset)) {
        out() << "blocking-client: unknown preset " << parser.value(presetOption) << Qt::endl;
        return 2;
    }
    const QString mode = parser.value(modeOption);
    if (mode != QLatin1String("stream") && mode != QLatin1String("message")) {
        out() << "blocking-client: --mode must be stream or message" << Qt::endl;
        return 2;
    }
    QKcpConfig config(preset);
    config.setMode(mode == QLatin1String("message") ? QKcpConfig::MessageMode : QKcpConfig::StreamMode);

    DemoSsl::ClientEncryption encryption;
    if (!encryptionOptions.apply(parser, "blocking-client", &config, &encryption, out()))
        return 2;

    BlockingEchoThread worker(config, encryption, parser.value(hostOption),
                              static_cast<quint16>(parser.value(portOption).toUInt()), parser.value(textOption),
                              std::max(1, parser.value(countOption).toInt()),
                              std::max(1, parser.value(timeoutOption).toInt()) * 1000);
    // The main thread keeps its event loop: it prints progress and quits when the worker is done.
    QObject::connect(&worker, &BlockingEchoThread::progress, &app,
                     [](const QString &line) { out() << "blocking-client: " << line << Qt::endl; });
    QObject::connect(&worker, &QThread::finished, &app, [&worker] {
        out() << (worker.succeeded() ? "blocking-client: PASS" : "blocking-client: FAIL") << Qt::endl;
        QCoreApplication::exit(worker.succeeded() ? 0 : 1);
    });
    worker.start();
    const int code = app.exec();
    worker.wait();
    return code;
}

#include "main.moc"
