// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpnet-tunnel: a TCP port forwarder over KCP that speaks kcptun's wire protocol.
//
//   TCP clients -> [client: QTcpServer] ==KCP (kcp-go ciphers, FEC)== [server: QKcpServer] -> TCP target
//
// On the KCP session (QKcpSocket in QKcpConfig::PlainKcp, stream mode) the layers are, from the bottom:
//   - the KCP byte stream;
//   - optionally (not --nocomp) the snappy framing format, one framed stream per direction (snappyframe.h);
//   - smux frames (smuxframe.h): one smux stream per TCP connection; SYN opens it, PSH carries data, FIN ends it,
//     NOP keeps the session alive, and in version 2 UPD carries per-stream flow-control windows.
//
// Back-pressure, both ways, without unbounded buffers:
//   TCP -> KCP: a stream's TCP data is read only while the KCP socket's queue (bytesToWrite() plus frames not yet
//     handed to it) is under a high-water mark, and in smux v2 only while the peer's window for that stream has room.
//     Otherwise the data stays in the kernel (QTcpSocket read buffers are bounded), so TCP's own window closes.
//   KCP -> TCP: data written to TCP sockets and not yet taken by the kernel is counted per session; over --smuxbuf
//     the session stops reading from KCP (QKcpSocket's read buffer is bounded), so KCP's receive window closes.
//     In smux v2 each stream reports what its TCP socket has taken (UPD), so one slow target stalls only its stream.
//
// Close semantics are kcptun's: when either side of a stream ends (TCP EOF or error, or a FIN from the peer) the whole
// stream ends; there is no half-close. A session that hears nothing for the keepalive timeout is closed.
#pragma once

#include "smuxframe.h"
#include "snappyframe.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QKcpConfig>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>

#include <map>
#include <memory>
#include <vector>

class QKcpServer;
class QKcpSocket;
class QTcpServer;
class QTcpSocket;

namespace tunnel {

struct TunnelOptions {
    enum Role {
        Client,
        Server,
    };
    Role role = Client;
    QString listen;                                 // client: TCP listen address; server: KCP (UDP) listen address
    QString remote;                                 // client: KCP server address (-r); server: TCP target (-t)
    QString key = QStringLiteral("it's a secrect"); // kcptun's default, spelling included
    QString crypt = QStringLiteral("aes");
    QString mode = QStringLiteral("fast");
    int mtu = 1350;
    int sndwnd = 0; // 0: the role's kcptun default (client 128, server 1024)
    int rcvwnd = 0; // 0: the role's kcptun default (client 512, server 1024)
    int dataShards = 10;
    int parityShards = 3;
    bool noComp = false;
    int smuxVersion = 1;
    int keepAlive = 10;        // seconds between NOPs; 0 disables keepalive (and its timeout)
    int keepAliveTimeout = 30; // seconds of silence before a session is closed (smux default)
    int smuxBuf = 4194304;     // per-session bytes waiting for TCP before KCP reading stops
    int streamBuf = 2097152;   // smux v2: the window each stream advertises
    int frameSize = smux::kDefaultFrameSize;
    int conn = 1;          // client: KCP sessions, used round robin
    int sockBuf = 4194304; // UDP socket buffers
    int dscp = 0;
    // --mode manual
    int noDelay = 0;
    int interval = 50;
    int resend = 0;
    int noCongestion = 0;
    bool quiet = false;

    int effectiveSndwnd() const { return sndwnd > 0 ? sndwnd : (role == Client ? 128 : 1024); }
    int effectiveRcvwnd() const { return rcvwnd > 0 ? rcvwnd : (role == Client ? 512 : 1024); }
};

// kcptun's --crypt NAME and --key PASSPHRASE as QKcpConfig takes them: kcptun's "none" is kcp-go's null cipher
// (nonce and CRC, no encryption: QKcpConfig calls it "null"), an unknown name falls back to "aes", and the key is
// PBKDF2(passphrase) cut to the cipher's size. Returns false (with *error) for ciphers kcpnet lacks.
bool kcptunCipher(const QString &crypt, const QString &passphrase, QString *cipher, QByteArray *key, QString *error);

// The QKcpConfig for these options: PlainKcp, stream mode, kcptun's --mode presets (normal 0,40,2,1; fast 0,30,2,1;
// fast2 1,20,2,1; fast3 1,10,2,1; manual: --nodelay --interval --resend --nc), windows, MTU, FEC and cipher.
bool makeKcpConfig(const TunnelOptions &options, QKcpConfig *config, QString *error);

// "host:port", ":port" (any address) or "[v6]:port".
bool parseHostPort(const QString &text, QString *host, quint16 *port);

struct SessionStats {
    quint64 streamsOpened = 0;
    quint64 streamsClosed = 0;
    quint64 tcpToKcp = 0; // stream payload bytes
    quint64 kcpToTcp = 0;
    quint64 framesIn = 0;
    quint64 framesOut = 0;
    quint64 kcpBytesIn = 0; // on the KCP stream (after compression)
    quint64 kcpBytesOut = 0;
    quint64 finsResent = 0; // FINs sent again because the peer had not answered the first (see MuxSession)
};

// One KCP session carrying smux streams.
class MuxSession : public QObject
{
    Q_OBJECT

public:
    // Takes ownership of `kcp` (reparented). `client`: this end opens streams; otherwise it connects each stream
    // the peer opens to the target.
    MuxSession(QKcpSocket *kcp, const TunnelOptions &options, bool client, QObject *parent = nullptr);
    ~MuxSession() override;

    bool isClosed() const { return m_closed; }
    // Client: carries `tcp` (a connected socket; taken over) on a new stream. False if the session cannot take it.
    bool openStream(QTcpSocket *tcp);
    int streamCount() const { return static_cast<int>(m_streams.size()); }
    const SessionStats &stats() const { return m_stats; }
    QString peer() const;
    void close(const QString &reason);

Q_SIGNALS:
    void closed(const QString &reason);

private:
    struct Stream;

    void onKcpConnected();
    void onKcpReadyRead();
    void onKcpBytesWritten();
    void onKcpGone();
    void scheduleRead();
    void readKcp();
    bool dispatchFrames();
    bool handleFrame(const smux::Frame &f);
    void acceptStream(quint32 sid);
    void deliver(Stream *s, const char *data, int size);
    void remoteFin(Stream *s);
    void setupTcp(Stream *s);
    void onTcpConnected(quint32 sid, QTcpSocket *tcp);
    void onTcpReadyRead(quint32 sid, QTcpSocket *tcp);
    void onTcpBytesWritten(quint32 sid, QTcpSocket *tcp, qint64 n);
    void onTcpGone(quint32 sid, QTcpSocket *tcp);
    bool pumpStream(Stream *s, int maxFrames);
    void pumpAll();
    void finishStream(Stream *s, bool sendFin);
    Stream *find(quint32 sid, QTcpSocket *tcp = nullptr);
    qint64 kcpBacklog() const;
    void sendFrame(std::uint8_t cmd, quint32 sid);
    void scheduleFlush();
    void flushOut();
    void onKeepAliveTick();
    void onTimeoutTick();
    void awaitPeerFin(quint32 sid);
    void onFinResendTick();
    void log(const QString &text) const;

    QPointer<QKcpSocket> m_kcp;
    TunnelOptions m_options;
    bool m_client;
    std::uint8_t m_version;
    QString m_peer;
    QString m_targetHost;
    quint16 m_targetPort = 0;

    std::map<quint32, std::unique_ptr<Stream>> m_streams;
    quint32 m_nextSid = 1;
    bool m_goAway = false;
    quint32 m_pumpCursor = 0;

    smux::FrameParser m_parser;
    std::unique_ptr<SnappyFrameReader> m_reader;
    std::unique_ptr<SnappyFrameWriter> m_writer;
    QByteArray m_readBuf;
    QByteArray m_decoded;
    QByteArray m_plainOut;
    QByteArray m_wireOut;

    qint64 m_tcpBacklog = 0;   // bytes given to TCP sockets (or held for them) not yet taken by the kernel
    qint64 m_kcpHighWater = 0; // TCP reading stops while kcpBacklog() is above this
    bool m_readPaused = false;
    bool m_kcpBlocked = false;
    bool m_readScheduled = false;
    bool m_flushScheduled = false;
    bool m_closed = false;
    bool m_dataReady = false;
    QTimer m_keepAlive;
    QTimer m_timeout;
    // Streams this end closed first, waiting for the peer's FIN in answer (see awaitPeerFin()).
    struct FinWait {
        qint64 due = 0; // ms on m_clock
        int resends = 0;
    };
    std::map<quint32, FinWait> m_finWait;
    QTimer m_finResend;
    QElapsedTimer m_clock;
    SessionStats m_stats;
};

// kcpnet-tunnel client: accepts TCP connections on --listen and carries each over a smux stream to --remote.
class TunnelClient : public QObject
{
    Q_OBJECT

public:
    explicit TunnelClient(const TunnelOptions &options, QObject *parent = nullptr);
    ~TunnelClient() override;
    // Listens; prints "listening on: ADDRESS:PORT" to stderr. False (with *error) on a bad option or a busy port.
    bool start(QString *error);
    quint16 listenPort() const;
    SessionStats totals() const;

private:
    void onNewConnection();
    MuxSession *session(int index);

    TunnelOptions m_options;
    QKcpConfig m_config;
    QString m_remoteHost;
    quint16 m_remotePort = 0;
    QTcpServer *m_server = nullptr;
    std::vector<QPointer<MuxSession>> m_sessions;
    quint64 m_rr = 0;
    SessionStats m_closedTotals;
};

// kcpnet-tunnel server: accepts KCP sessions on --listen and connects each smux stream to --target.
class TunnelServer : public QObject
{
    Q_OBJECT

public:
    explicit TunnelServer(const TunnelOptions &options, QObject *parent = nullptr);
    ~TunnelServer() override;
    bool start(QString *error);
    quint16 listenPort() const;
    SessionStats totals() const;

private:
    void onNewConnection();

    TunnelOptions m_options;
    QKcpConfig m_config;
    QKcpServer *m_server = nullptr;
    std::vector<QPointer<MuxSession>> m_sessions;
    SessionStats m_closedTotals;
};

void addStats(SessionStats &into, const SessionStats &from);

} // namespace tunnel
