// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "chatclient.h"

#include "chatprotocol.h"

#include <QJsonArray>

ChatClient::ChatClient(QObject *parent)
    : QObject(parent)
    , m_socket(chat::config(), this)
{
    // The join request goes out as soon as the handshake is done.
    connect(&m_socket, &QKcpSocket::connected, this, [this] {
        m_connected = true;
        m_socket.writeMessage(
            chat::encode({{QStringLiteral("type"), QStringLiteral("join")}, {QStringLiteral("nick"), m_nick}}));
    });
    connect(&m_socket, &QKcpSocket::readyRead, this, &ChatClient::onMessages);
    connect(&m_socket, &QKcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError error) {
        // The server closing our connection is not an error worth showing (it follows a refusal or a shutdown).
        if (error != QAbstractSocket::RemoteHostClosedError)
            emit errorOccurred(m_socket.errorString());
        if (!m_connected)
            emit disconnected(); // never connected: the socket will not emit disconnected()
    });
    connect(&m_socket, &QKcpSocket::disconnected, this, [this] {
        m_connected = false;
        m_joined = false;
        m_users.clear();
        emit disconnected();
    });
}

void ChatClient::join(const QString &host, quint16 port, const QString &nick)
{
    m_nick = nick;
    m_socket.connectToHost(host, port);
}

void ChatClient::say(const QString &text)
{
    if (!m_joined || text.isEmpty())
        return;
    m_socket.writeMessage(chat::encode(
        {{QStringLiteral("type"), QStringLiteral("say")}, {QStringLiteral("text"), text.left(chat::kMaxTextLength)}}));
}

void ChatClient::leave()
{
    m_socket.disconnectFromHost();
}

void ChatClient::onMessages()
{
    while (m_socket.hasPendingMessages()) {
        const QJsonObject message = chat::decode(m_socket.readMessage());
        const QString type = message.value(QLatin1String("type")).toString();
        const QString nick = message.value(QLatin1String("nick")).toString();
        if (type == QLatin1String("welcome")) {
            m_joined = true;
            m_nick = nick;
            m_users.clear();
            for (const QJsonValue &user : message.value(QLatin1String("users")).toArray())
                m_users.append(user.toString());
            emit joined(m_nick, m_users);
        } else if (type == QLatin1String("refused")) {
            emit refused(message.value(QLatin1String("reason")).toString());
        } else if (type == QLatin1String("joined")) {
            m_users.append(nick);
            m_users.sort(Qt::CaseInsensitive);
            emit userJoined(nick);
        } else if (type == QLatin1String("left")) {
            m_users.removeAll(nick);
            emit userLeft(nick);
        } else if (type == QLatin1String("said")) {
            emit messageReceived(nick, message.value(QLatin1String("text")).toString());
        }
    }
}
