// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Header-only helpers shared by the Qt Test suites of kcpnet (tests/auto/*). Not part of kcpnet_udprelay's API.
//  - KcpSocketSpies / KcpServerSpies: a QSignalSpy on every signal of a QKcpSocket / QKcpServer;
//  - KcpEventLog: records the signals of several objects, in emission order, into one shared list;
//  - KcpEchoServer: a QKcpServer that accepts everything and echoes (bytes, or each message);
//  - kcpTestPattern(), kcpCollectInto(): deterministic payloads, and a sink for everything a socket receives;
//  - kcpTestCrc32c(): CRC32C as the session protocol uses it, to forge well-checksummed datagrams.
#ifndef KCPNET_KCPTESTSUPPORT_H
#define KCPNET_KCPTESTSUPPORT_H

#include <QKcpServer>
#include <QKcpSocket>

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qstringlist.h>
#include <QtTest/qsignalspy.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>

inline QString kcpStateName(QAbstractSocket::SocketState s)
{
    switch (s) {
    case QAbstractSocket::UnconnectedState:
        return QStringLiteral("Unconnected");
    case QAbstractSocket::HostLookupState:
        return QStringLiteral("HostLookup");
    case QAbstractSocket::ConnectingState:
        return QStringLiteral("Connecting");
    case QAbstractSocket::ConnectedState:
        return QStringLiteral("Connected");
    case QAbstractSocket::BoundState:
        return QStringLiteral("Bound");
    case QAbstractSocket::ListeningState:
        return QStringLiteral("Listening");
    case QAbstractSocket::ClosingState:
        return QStringLiteral("Closing");
    }
    return QStringLiteral("?");
}

inline QString kcpErrorName(QAbstractSocket::SocketError e)
{
    return QString::fromLatin1(QMetaEnum::fromType<QAbstractSocket::SocketError>().valueToKey(e));
}

// Deterministic bytes that differ from block to block (so a misplaced block changes a hash).
inline QByteArray kcpTestPattern(qsizetype size, quint32 seed)
{
    std::mt19937 gen(seed);
    QByteArray b(size, Qt::Uninitialized);
    qsizetype i = 0;
    for (; i + 4 <= size; i += 4) {
        const quint32 v = gen();
        std::memcpy(b.data() + i, &v, 4);
    }
    for (; i < size; ++i)
        b[i] = static_cast<char>(gen());
    return b;
}

// Appends everything `s` receives to *sink (stream: bytes; message mode: the messages concatenated).
inline void kcpCollectInto(QKcpSocket *s, QByteArray *sink)
{
    QObject::connect(s, &QKcpSocket::readyRead, s, [s, sink] {
        if (s->config().mode() == QKcpConfig::MessageMode) {
            for (int i = 0; i < 100000 && s->hasPendingMessages(); ++i)
                sink->append(s->readMessage());
        } else {
            sink->append(s->readAll());
        }
    });
}

// Accepts every connection and echoes what it receives (stream: bytes; message mode: each message as it came).
// Set `echoing` to false to stop echoing (the sockets stay connected).
class KcpEchoServer
{
public:
    explicit KcpEchoServer(const QKcpConfig &config)
        : server(config)
    {
        QObject::connect(&server, &QKcpServer::newConnection, &server, [this] { takePending(); });
    }
    Q_DISABLE_COPY_MOVE(KcpEchoServer)

    bool listen(const QHostAddress &address = QHostAddress::LocalHost) { return server.listen(address, 0); }
    quint16 port() const { return server.serverPort(); }
    QKcpSocket *at(int i) const { return i < accepted.size() ? accepted.at(i).data() : nullptr; }

    void takePending()
    {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            accepted.append(s);
            QObject::connect(s, &QKcpSocket::readyRead, s, [this, s] {
                if (echoing)
                    echo(s);
            });
        }
    }
    static void echo(QKcpSocket *s)
    {
        if (s->config().mode() == QKcpConfig::MessageMode) {
            for (int i = 0; i < 100000 && s->hasPendingMessages(); ++i)
                s->writeMessage(s->readMessage());
        } else {
            s->write(s->readAll());
        }
    }

    QKcpServer server;
    QList<QPointer<QKcpSocket>> accepted;
    bool echoing = true;
};

// One QSignalSpy per signal of a socket.
struct KcpSocketSpies {
    explicit KcpSocketSpies(QKcpSocket *s)
        : hostFound(s, &QKcpSocket::hostFound)
        , connected(s, &QKcpSocket::connected)
        , disconnected(s, &QKcpSocket::disconnected)
        , stateChanged(s, &QKcpSocket::stateChanged)
        , errorOccurred(s, &QKcpSocket::errorOccurred)
        , readyRead(s, &QKcpSocket::readyRead)
        , bytesWritten(s, &QKcpSocket::bytesWritten)
        , readChannelFinished(s, &QKcpSocket::readChannelFinished)
        , aboutToClose(s, &QKcpSocket::aboutToClose)
    {
    }
    bool isValid() const
    {
        return hostFound.isValid() && connected.isValid() && disconnected.isValid() && stateChanged.isValid()
            && errorOccurred.isValid() && readyRead.isValid() && bytesWritten.isValid()
            && readChannelFinished.isValid() && aboutToClose.isValid();
    }
    QAbstractSocket::SocketError lastError() const
    {
        return errorOccurred.isEmpty() ? QAbstractSocket::UnknownSocketError
                                       : errorOccurred.last().at(0).value<QAbstractSocket::SocketError>();
    }
    qint64 bytesWrittenTotal() const
    {
        qint64 total = 0;
        for (const QList<QVariant> &args : bytesWritten)
            total += args.at(0).toLongLong();
        return total;
    }

    QSignalSpy hostFound;
    QSignalSpy connected;
    QSignalSpy disconnected;
    QSignalSpy stateChanged;
    QSignalSpy errorOccurred;
    QSignalSpy readyRead;
    QSignalSpy bytesWritten;
    QSignalSpy readChannelFinished;
    QSignalSpy aboutToClose;
};

// One QSignalSpy per signal of a server.
struct KcpServerSpies {
    explicit KcpServerSpies(QKcpServer *s)
        : newConnection(s, &QKcpServer::newConnection)
        , pendingConnectionAvailable(s, &QKcpServer::pendingConnectionAvailable)
        , acceptError(s, &QKcpServer::acceptError)
    {
    }
    bool isValid() const
    {
        return newConnection.isValid() && pendingConnectionAvailable.isValid() && acceptError.isValid();
    }

    QSignalSpy newConnection;
    QSignalSpy pendingConnectionAvailable;
    QSignalSpy acceptError;
};

// Records signals of several sockets into one list, in the order they are emitted, as "tag:signal(arg)".
// readyRead and bytesWritten can be left out (`withData` false): their number depends on timing.
class KcpEventLog
{
public:
    KcpEventLog() = default;
    Q_DISABLE_COPY_MOVE(KcpEventLog)

    void attach(QKcpSocket *s, const QString &tag, bool withData = false)
    {
        QStringList *log = &m_events;
        QObject::connect(s, &QKcpSocket::hostFound, s, [log, tag] { log->append(tag + QLatin1String(":hostFound")); });
        QObject::connect(s, &QKcpSocket::connected, s, [log, tag] { log->append(tag + QLatin1String(":connected")); });
        QObject::connect(s, &QKcpSocket::disconnected, s,
                         [log, tag] { log->append(tag + QLatin1String(":disconnected")); });
        QObject::connect(s, &QKcpSocket::stateChanged, s, [log, tag](QAbstractSocket::SocketState st) {
            log->append(tag + QLatin1String(":stateChanged(") + kcpStateName(st) + QLatin1Char(')'));
        });
        QObject::connect(s, &QKcpSocket::errorOccurred, s, [log, tag](QAbstractSocket::SocketError e) {
            log->append(tag + QLatin1String(":errorOccurred(") + kcpErrorName(e) + QLatin1Char(')'));
        });
        QObject::connect(s, &QKcpSocket::readChannelFinished, s,
                         [log, tag] { log->append(tag + QLatin1String(":readChannelFinished")); });
        QObject::connect(s, &QKcpSocket::aboutToClose, s,
                         [log, tag] { log->append(tag + QLatin1String(":aboutToClose")); });
        if (withData) {
            QObject::connect(s, &QKcpSocket::readyRead, s, [log, tag] { log->append(tag + QLatin1String(":readyRead")); });
            QObject::connect(s, &QKcpSocket::bytesWritten, s,
                             [log, tag] { log->append(tag + QLatin1String(":bytesWritten")); });
        }
    }
    void mark(const QString &event) { m_events.append(event); }
    const QStringList &events() const { return m_events; }
    // The events of one tag, without the tag.
    QStringList eventsOf(const QString &tag) const
    {
        QStringList out;
        const QString prefix = tag + QLatin1Char(':');
        for (const QString &e : m_events)
            if (e.startsWith(prefix))
                out.append(e.mid(prefix.size()));
        return out;
    }
    int indexOf(const QString &event, int from = 0) const { return m_events.indexOf(event, from); }
    // True if `expected` appears in this order (not necessarily contiguous) among the events of `tag`.
    bool containsInOrder(const QString &tag, const QStringList &expected) const
    {
        const QStringList mine = eventsOf(tag);
        qsizetype at = 0;
        for (const QString &e : expected) {
            at = mine.indexOf(e, at);
            if (at < 0)
                return false;
            ++at;
        }
        return true;
    }

private:
    QStringList m_events;
};

// CRC32C (Castagnoli, reflected 0x82F63B78, init and xorout 0xFFFFFFFF), bit by bit: slow and obviously right.
inline std::uint32_t kcpTestCrc32c(const QByteArray &data)
{
    std::uint32_t crc = 0xFFFFFFFFu;
    for (char ch : data) {
        crc ^= static_cast<std::uint8_t>(ch);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

inline void kcpTestPutU32(QByteArray &out, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        out.append(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline void kcpTestPutU64(QByteArray &out, std::uint64_t v)
{
    kcpTestPutU32(out, static_cast<std::uint32_t>(v));
    kcpTestPutU32(out, static_cast<std::uint32_t>(v >> 32));
}

inline std::uint32_t kcpTestGetU32(const QByteArray &in, qsizetype at)
{
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in.at(at + i))) << (8 * i);
    return v;
}

inline std::uint64_t kcpTestGetU64(const QByteArray &in, qsizetype at)
{
    return kcpTestGetU32(in, at) | (static_cast<std::uint64_t>(kcpTestGetU32(in, at + 4)) << 32);
}

// Appends the session trailer (CRC32C of everything before it).
inline QByteArray kcpTestSeal(QByteArray datagram)
{
    kcpTestPutU32(datagram, kcpTestCrc32c(datagram));
    return datagram;
}

// MSS of a session for an MTU: the datagram minus the 4-byte session trailer and the 24-byte KCP header.
inline qint64 kcpTestMss(const QKcpConfig &config)
{
    return config.mtu() - 4 - 24;
}

#endif // KCPNET_KCPTESTSUPPORT_H
