// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// ChatClient: the client side of the chat protocol as a QObject with signals, so the console client and the
// Widgets client are only front ends. Nothing here knows about stdin or widgets.
#ifndef CHAT_CHATCLIENT_H
#define CHAT_CHATCLIENT_H

#include <QKcpSocket>
#include <QObject>
#include <QStringList>

class ChatClient : public QObject
{
    Q_OBJECT

public:
    explicit ChatClient(QObject *parent = nullptr);

    // Connects and asks to join as `nick`; joined() or refused()/errorOccurred() follows.
    void join(const QString &host, quint16 port, const QString &nick);
    // Says something to everyone (it comes back through messageReceived(), like everyone else's).
    void say(const QString &text);
    // Leaves gracefully; disconnected() follows.
    void leave();

    bool isJoined() const { return m_joined; }
    QString nick() const { return m_nick; }
    QStringList users() const { return m_users; }
    QKcpStatistics statistics() const { return m_socket.statistics(); }

Q_SIGNALS:
    void joined(const QString &nick, const QStringList &users);
    void refused(const QString &reason);
    void userJoined(const QString &nick);
    void userLeft(const QString &nick);
    void messageReceived(const QString &nick, const QString &text);
    void errorOccurred(const QString &text);
    void disconnected();

private:
    void onMessages();

    QKcpSocket m_socket;
    QString m_nick;
    QStringList m_users;
    bool m_connected = false;
    bool m_joined = false;
};

#endif // CHAT_CHATCLIENT_H
