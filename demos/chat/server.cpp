// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// chat-server: a multi-user chat over kcpnet in message mode.
//
//   chat-server [--port 4200]
//   chat-cli --nick alice            chat-gui --nick bob          (as many as you like)
//
// Every client first sends "join" with a nickname; from then on whatever it says is broadcast to everyone.
// The server tells everyone who joins and who leaves, including clients whose link died (peer timeout): kcpnet
// notices a vanished peer, so nobody stays "online" forever. The protocol is in chatprotocol.h.

#include "chatprotocol.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QHash>
#include <QJsonArray>
#include <QKcpServer>
#include <QKcpSocket>
#include <QTextStream>

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

} // namespace

class ChatServer : public QObject
{
public:
    explicit ChatServer(QObject *parent = nullptr)
        : QObject(parent)
        , m_server(chat::config(), this)
    {
        connect(&m_server, &QKcpServer::newConnection, this, &ChatServer::acceptAll);
    }

    bool listen(quint16 port) { return m_server.listen(QHostAddress::Any, port); }
    quint16 port() const { return m_server.serverPort(); }
    QString errorString() const { return m_server.errorString(); }

private:
    void acceptAll()
    {
        while (QKcpSocket *socket = m_server.nextPendingConnection()) {
            connect(socket, &QKcpSocket::readyRead, this, [this, socket] {
                while (socket->hasPendingMessages())
                    handle(socket, chat::decode(socket->readMessage()));
            });
            // disconnected() comes for a goodbye and for a dead link alike (after errorOccurred()).
            connect(socket, &QKcpSocket::disconnected, this, [this, socket] {
                const QString nick = m_nicks.take(socket);
                if (!nick.isEmpty()) {
                    out() << "* " << nick << " left (" << m_nicks.size() << " online)" << Qt::endl;
                    broadcast({{QStringLiteral("type"), QStringLiteral("left")}, {QStringLiteral("nick"), nick}});
                }
                socket->deleteLater();
            });
        }
    }

    void handle(QKcpSocket *socket, const QJsonObject &message)
    {
        const QString type = message.value(QLatin1String("type")).toString();
        const bool joined = m_nicks.contains(socket);
        if (type == QLatin1String("join") && !joined) {
            const QString nick = message.value(QLatin1String("nick")).toString();
            QString reason;
            if (!chat::isValidNick(nick))
                reason = QStringLiteral("a nickname is 1 to 24 letters, digits, '-', '_' or '.'");
            else if (isTaken(nick))
                reason = QStringLiteral("the nickname %1 is taken").arg(nick);
            if (!reason.isEmpty()) {
                socket->writeMessage(chat::encode(
                    {{QStringLiteral("type"), QStringLiteral("refused")}, {QStringLiteral("reason"), reason}}));
                socket->disconnectFromHost(); // graceful: the refusal is delivered first
                return;
            }
            broadcast({{QStringLiteral("type"), QStringLiteral("joined")}, {QStringLiteral("nick"), nick}});
            m_nicks.insert(socket, nick);
            QStringList users = m_nicks.values();
            users.sort(Qt::CaseInsensitive);
            socket->writeMessage(chat::encode({{QStringLiteral("type"), QStringLiteral("welcome")},
                                               {QStringLiteral("nick"), nick},
                                               {QStringLiteral("users"), QJsonArray::fromStringList(users)}}));
            out() << "* " << nick << " joined (" << m_nicks.size() << " online)" << Qt::endl;
        } else if (type == QLatin1String("say") && joined) {
            const QString text = message.value(QLatin1String("text")).toString().left(chat::kMaxTextLength);
            if (text.isEmpty())
                return;
            const QString nick = m_nicks.value(socket);
            out() << '<' << nick << "> " << text << Qt::endl;
            broadcast({{QStringLiteral("type"), QStringLiteral("said")},
                       {QStringLiteral("nick"), nick},
                       {QStringLiteral("text"), text}});
        } else {
            // Not our protocol, or out of order: drop the connection rather than guess.
            out() << "protocol error from " << socket->peerAddress().toString() << ", closing" << Qt::endl;
            socket->abort();
        }
    }

    bool isTaken(const QString &nick) const
    {
        for (const QString &n : m_nicks) {
            if (n.compare(nick, Qt::CaseInsensitive) == 0)
                return true;
        }
        return false;
    }

    // One encode, many writes: every joined client gets the same bytes.
    void broadcast(const QJsonObject &message)
    {
        const QByteArray bytes = chat::encode(message);
        for (auto it = m_nicks.cbegin(); it != m_nicks.cend(); ++it)
            it.key()->writeMessage(bytes);
    }

    QKcpServer m_server;
    QHash<QKcpSocket *, QString> m_nicks; // joined clients only
};

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("chat-server"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A kcpnet chat server (message mode)."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("UDP port (default 4200, 0 = any)."),
                                        QStringLiteral("port"), QString::number(chat::kDefaultPort));
    parser.addOption(portOption);
    parser.process(app);

    ChatServer server;
    if (!server.listen(static_cast<quint16>(parser.value(portOption).toUInt()))) {
        out() << "chat-server: cannot listen: " << server.errorString() << Qt::endl;
        return 1;
    }
    out() << "chat-server: listening on port " << server.port() << Qt::endl;
    return app.exec();
}
