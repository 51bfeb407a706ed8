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
//
// Try it with echo-client (or blocking-client) from another terminal:
//
//   echo-client --port 4000 --count 5

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QKcpServer>
#include <QKcpSocket>
#include <QTextStream>

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
    const QCommandLineOption sessionsOption(QStringLiteral("sessions"),
                                            QStringLiteral("Exit after this many clients have left (0 = never)."),
                                            QStringLiteral("n"), QStringLiteral("0"));
    parser.addOptions({portOption, addressOption, modeOption, presetOption, keyOption, sessionsOption});
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

    if (parser.isSet(keyOption)) {
        // Pre-shared-key mode: an authenticated handshake, then every datagram encrypted (AES-256-GCM) with keys
        // of its own per session. A peer with another key fails with SslHandshakeFailedError. A passphrase is
        // stretched with PBKDF2 (raw key bytes would go to setPreSharedKey() instead).
        config.setPassphrase(parser.value(keyOption));
        out() << "echo-server: encrypted with the pre-shared key (AES-256-GCM)" << Qt::endl;
    }

    // 2. Listen, exactly like QTcpServer::listen(). One UDP port carries every session.
    QKcpServer server(config);
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
            out() << "client " << peer << " connected (" << server.sessions().size() << " online)" << Qt::endl;

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
