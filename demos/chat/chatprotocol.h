// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The chat protocol: one small JSON object per KCP message (message mode keeps the boundaries, so there is no
// framing to write). Shared by chat-server, chat-cli and chat-gui.
//
//   client -> server   {"type":"join","nick":"alice"}
//                      {"type":"say","text":"hello"}
//   server -> client   {"type":"welcome","nick":"alice","users":["alice","bob"]}
//                      {"type":"refused","reason":"the nickname bob is taken"}
//                      {"type":"joined","nick":"carol"}     someone else arrived
//                      {"type":"left","nick":"carol"}       someone left (or their link died)
//                      {"type":"said","nick":"bob","text":"hi"}   broadcast to everyone, the speaker included
//
// The server sends a speaker's own message back like everyone else's, so every client shows the same order.
#ifndef CHAT_CHATPROTOCOL_H
#define CHAT_CHATPROTOCOL_H

#include <QJsonDocument>
#include <QJsonObject>
#include <QKcpConfig>
#include <QRegularExpression>

namespace chat {

constexpr quint16 kDefaultPort = 4200;
constexpr int kMaxTextLength = 2000;

// Both ends must use message mode: the server refuses a stream-mode client during the handshake.
inline QKcpConfig config()
{
    QKcpConfig c(QKcpConfig::Fast);
    c.setMode(QKcpConfig::MessageMode);
    return c;
}

inline QByteArray encode(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// An empty object when the message is not a JSON object.
inline QJsonObject decode(const QByteArray &message)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(message, &error);
    return error.error == QJsonParseError::NoError ? document.object() : QJsonObject();
}

// 1 to 24 letters, digits, '-', '_' or '.'.
inline bool isValidNick(const QString &nick)
{
    static const QRegularExpression pattern(QStringLiteral("^[\\w.-]{1,24}$"));
    return pattern.match(nick).hasMatch();
}

} // namespace chat

#endif // CHAT_CHATPROTOCOL_H
