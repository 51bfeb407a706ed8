// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "tunnel.h"

#include <QDateTime>
#include <QHostInfo>
#include <QKcpServer>
#include <QKcpSocket>
#include <QSignalBlocker>
#include <QTcpServer>
#include <QTcpSocket>

#include <algorithm>
#include <climits>
#include <cstdio>

namespace tunnel {

namespace {

constexpr qint64 kTcpReadBuffer = 256 * 1024;  // per TCP socket: beyond this the kernel holds the data
constexpr qint64 kKcpReadBuffer = 1024 * 1024; // QKcpSocket read buffer: beyond this KCP's window closes
constexpr qint64 kKcpReadChunk = 64 * 1024;
constexpr int kReadRoundsPerTurn = 32; // then the event loop turns (timers, other sockets)
constexpr int kLingerMs = 60000;       // a closing TCP socket that cannot flush is aborted after this
constexpr int kFinResendTickMs = 250;
constexpr int kFinFirstResendMs = 500; // then twice the wait each time
constexpr int kFinResends = 3;
constexpr std::size_t kMaxFinWaits = 4096;

QString nowStamp()
{
    return QDateTime::currentDateTime().toString(QStringLiteral("yyyy/MM/dd HH:mm:ss"));
}

QString tcpPeer(const QTcpSocket *tcp)
{
    if (!tcp)
        return QStringLiteral("?");
    return QStringLiteral("%1:%2").arg(tcp->peerAddress().toString()).arg(tcp->peerPort());
}

bool resolveListenAddress(const QString &host, QHostAddress *address)
{
    if (host.isEmpty()) {
        *address = QHostAddress::Any;
        return true;
    }
    if (host == QLatin1String("localhost")) {
        *address = QHostAddress::LocalHost;
        return true;
    }
    if (address->setAddress(host))
        return true;
    const QHostInfo info = QHostInfo::fromName(host); // once, at start-up
    if (info.addresses().isEmpty())
        return false;
    *address = info.addresses().constFirst();
    return true;
}

template <typename Apply>
void applyUdpOptions(const TunnelOptions &o, Apply apply)
{
    if (o.sockBuf > 0) {
        apply(QAbstractSocket::ReceiveBufferSizeSocketOption, o.sockBuf);
        apply(QAbstractSocket::SendBufferSizeSocketOption, o.sockBuf);
    }
    if (o.dscp > 0)
        apply(QAbstractSocket::TypeOfServiceOption, (o.dscp & 0x3f) << 2);
}

} // namespace

void addStats(SessionStats &into, const SessionStats &from)
{
    into.streamsOpened += from.streamsOpened;
    into.streamsClosed += from.streamsClosed;
    into.tcpToKcp += from.tcpToKcp;
    into.kcpToTcp += from.kcpToTcp;
    into.framesIn += from.framesIn;
    into.framesOut += from.framesOut;
    into.kcpBytesIn += from.kcpBytesIn;
    into.kcpBytesOut += from.kcpBytesOut;
    into.finsResent += from.finsResent;
}

bool parseHostPort(const QString &text, QString *host, quint16 *port)
{
    const QString t = text.trimmed();
    QString h;
    QString p;
    if (t.startsWith(QLatin1Char('['))) {
        const int close = t.indexOf(QLatin1Char(']'));
        if (close < 0 || close + 1 >= t.size() || t.at(close + 1) != QLatin1Char(':'))
            return false;
        h = t.mid(1, close - 1);
        p = t.mid(close + 2);
    } else {
        const int colon = t.lastIndexOf(QLatin1Char(':'));
        if (colon < 0)
            return false;
        h = t.left(colon);
        p = t.mid(colon + 1);
        if (h.contains(QLatin1Char(':')))
            return false; // a bare IPv6 address needs brackets
    }
    bool ok = false;
    const uint value = p.toUInt(&ok);
    if (!ok || value > 65535)
        return false;
    *host = h;
    *port = static_cast<quint16>(value);
    return true;
}

bool kcptunCipher(const QString &crypt, const QString &passphrase, QString *cipher, QByteArray *key, QString *error)
{
    // kcptun (client/main.go, server/main.go) knows more ciphers than kcp-go's set in kcpnet; refuse those plainly
    // rather than fall back to aes as kcptun does for names it does not know.
    static const char *const missing[] = {"sm4", "tea", "xtea", "blowfish", "twofish", "cast5"};
    for (const char *m : missing) {
        if (crypt == QLatin1String(m)) {
            if (error)
                *error = QStringLiteral("cipher %1 is not supported by kcpnet (supported: aes, aes-128, aes-192, "
                                        "salsa20, 3des, xor, none)")
                             .arg(crypt);
            return false;
        }
    }
    QString name = crypt;
    int keyBytes = 32;
    if (crypt == QLatin1String("none"))
        name = QStringLiteral("null"); // kcp-go's NoneBlockCrypt: nonce + CRC in the clear
    else if (crypt == QLatin1String("aes-128"))
        keyBytes = 16;
    else if (crypt == QLatin1String("aes-192") || crypt == QLatin1String("3des"))
        keyBytes = 24;
    else if (crypt != QLatin1String("aes") && crypt != QLatin1String("xor") && crypt != QLatin1String("salsa20"))
        name = QStringLiteral("aes"); // kcptun's default branch
    const QByteArray derived = QKcpConfig::kcptunKey(passphrase);
    if (derived.size() < keyBytes) {
        if (error)
            *error = QStringLiteral("kcptun key derivation is unavailable (kcpnet was built without OpenSSL)");
        return false;
    }
    *cipher = name;
    *key = derived.left(keyBytes);
    return true;
}

bool makeKcpConfig(const TunnelOptions &o, QKcpConfig *config, QString *error)
{
    // kcptun's --mode presets: nodelay, interval (ms), resend, nc. Any other name is "manual": the flags' values.
    struct Preset {
        const char *name;
        int noDelay, interval, resend, nc;
    };
    static const Preset presets[] = {
        {"normal", 0, 40, 2, 1},
        {"fast", 0, 30, 2, 1},
        {"fast2", 1, 20, 2, 1},
        {"fast3", 1, 10, 2, 1},
    };
    Preset p{"manual", o.noDelay, o.interval, o.resend, o.noCongestion};
    for (const Preset &candidate : presets) {
        if (o.mode == QLatin1String(candidate.name))
            p = candidate;
    }

    if (o.smuxVersion != 1 && o.smuxVersion != 2) {
        *error = QStringLiteral("unsupported smux version: %1 (1 or 2)").arg(o.smuxVersion);
        return false;
    }
    if (o.mtu < 64 || o.mtu > 1500) {
        *error = QStringLiteral("--mtu must be 64..1500");
        return false;
    }
    if (o.dataShards < 0 || o.parityShards < 0 || o.dataShards + o.parityShards > 255) {
        *error = QStringLiteral("--ds and --ps must be 0..255 together (either 0: no FEC)");
        return false;
    }
    QKcpConfig c;
    c.setProtocol(QKcpConfig::PlainKcp);
    c.setMode(QKcpConfig::StreamMode);
    c.setNoDelay(p.noDelay != 0); // also sets the minimum RTO as ikcp does (30 ms with nodelay, else 100 ms)
    c.setInterval(p.interval);
    c.setFastResend(p.resend);
    c.setCongestionControl(p.nc == 0);
    c.setSendWindow(o.effectiveSndwnd());
    c.setReceiveWindow(o.effectiveRcvwnd());
    c.setMtu(o.mtu);
    c.setIdleTimeout(0);
    c.setFec(o.dataShards, o.parityShards);
    QString cipher;
    QByteArray key;
    if (!kcptunCipher(o.crypt, o.key, &cipher, &key, error))
        return false;
    c.setKcpGoCipher(cipher, key);
    *config = c;
    return true;
}

// ---------------------------------------------------------------------------------------------------------------
// MuxSession

struct MuxSession::Stream {
    quint32 sid = 0;
    QPointer<QTcpSocket> tcp;
    bool tcpConnected = false; // the TCP side is up (client: from the start; server: once the target answered)
    bool tcpEof = false;       // the TCP side ended: its remaining data goes out, then FIN
    bool remoteFin = false;    // the peer sent FIN (server: while the target was still connecting)
    QByteArray pending;        // server: data that arrived before the target connection was up
    qint64 backlog = 0;        // this stream's share of m_tcpBacklog
    smux::StreamWindow window;
};

MuxSession::MuxSession(QKcpSocket *kcp, const TunnelOptions &options, bool client, QObject *parent)
    : QObject(parent)
    , m_kcp(kcp)
    , m_options(options)
    , m_client(client)
    , m_version(static_cast<std::uint8_t>(options.smuxVersion))
    , m_parser(static_cast<std::uint8_t>(options.smuxVersion))
{
    kcp->setParent(this);
    kcp->setReadBufferSize(kKcpReadBuffer);
    if (!options.noComp) {
        m_reader = std::make_unique<SnappyFrameReader>();
        m_writer = std::make_unique<SnappyFrameWriter>();
    }
    m_kcpHighWater = std::max<qint64>(256 * 1024, 2LL * options.effectiveSndwnd() * options.mtu);
    if (!client && !parseHostPort(options.remote, &m_targetHost, &m_targetPort))
        m_targetPort = 0;
    m_options.frameSize = std::clamp(options.frameSize, 1, smux::kMaxPayload);
    m_options.smuxBuf = std::max(options.smuxBuf, 64 * 1024);
    m_options.streamBuf = std::clamp(options.streamBuf, 1024, m_options.smuxBuf);

    connect(kcp, &QKcpSocket::connected, this, &MuxSession::onKcpConnected);
    connect(kcp, &QKcpSocket::readyRead, this, &MuxSession::onKcpReadyRead);
    connect(kcp, &QKcpSocket::bytesWritten, this, &MuxSession::onKcpBytesWritten);
    connect(kcp, &QKcpSocket::disconnected, this, &MuxSession::onKcpGone);
    connect(kcp, &QKcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        close(QStringLiteral("KCP: %1").arg(m_kcp ? m_kcp->errorString() : QString()));
    });

    if (options.keepAlive > 0) {
        m_keepAlive.setInterval(options.keepAlive * 1000);
        connect(&m_keepAlive, &QTimer::timeout, this, &MuxSession::onKeepAliveTick);
        m_keepAlive.start();
        m_timeout.setInterval(std::max(options.keepAliveTimeout, 2 * options.keepAlive) * 1000);
        connect(&m_timeout, &QTimer::timeout, this, &MuxSession::onTimeoutTick);
        m_timeout.start();
    }
    m_clock.start();
    m_finResend.setInterval(kFinResendTickMs);
    connect(&m_finResend, &QTimer::timeout, this, &MuxSession::onFinResendTick);
    // A server-side socket may hold the first data already (it arrived with the datagram that created it).
    scheduleRead();
}

MuxSession::~MuxSession()
{
    const QSignalBlocker quiet(this); // nobody is to act on closed() of an object being destroyed
    close(QStringLiteral("tunnel shut down"));
}

QString MuxSession::peer() const
{
    if (!m_kcp)
        return m_peer;
    return QStringLiteral("%1:%2").arg(m_kcp->peerAddress().toString()).arg(m_kcp->peerPort());
}

void MuxSession::log(const QString &text) const
{
    std::fprintf(stderr, "%s %s\n", qPrintable(nowStamp()), qPrintable(text));
    std::fflush(stderr);
}

void MuxSession::close(const QString &reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_peer = peer();
    m_keepAlive.stop();
    m_timeout.stop();
    m_finResend.stop();
    m_finWait.clear();
    std::map<quint32, std::unique_ptr<Stream>> streams;
    streams.swap(m_streams);
    for (auto &entry : streams) {
        if (QTcpSocket *tcp = entry.second->tcp) {
            tcp->disconnect(this);
            tcp->abort();
            tcp->deleteLater();
        }
        ++m_stats.streamsClosed;
    }
    m_tcpBacklog = 0;
    if (m_kcp) {
        m_kcp->disconnect(this);
        m_kcp->abort();
    }
    log(QStringLiteral("session %1 closed: %2").arg(m_peer, reason));
    emit closed(reason);
}

MuxSession::Stream *MuxSession::find(quint32 sid, QTcpSocket *tcp)
{
    const auto it = m_streams.find(sid);
    if (it == m_streams.end())
        return nullptr;
    if (tcp && it->second->tcp != tcp)
        return nullptr;
    return it->second.get();
}

qint64 MuxSession::kcpBacklog() const
{
    return (m_kcp ? m_kcp->bytesToWrite() : 0) + m_plainOut.size();
}

bool MuxSession::openStream(QTcpSocket *tcp)
{
    if (m_closed || m_goAway)
        return false;
    if (m_nextSid > 0xFFFFFFFFu - 2) { // ids exhausted: smux's "go away"; the client opens a new session
        m_goAway = true;
        return false;
    }
    m_nextSid += 2;
    const quint32 sid = m_nextSid;
    auto stream = std::make_unique<Stream>();
    stream->sid = sid;
    stream->tcp = tcp;
    stream->tcpConnected = true;
    tcp->setParent(this);
    m_streams.emplace(sid, std::move(stream));
    ++m_stats.streamsOpened;
    sendFrame(smux::Syn, sid);
    if (!m_options.quiet)
        log(QStringLiteral("stream opened in: %1 out: %2(%3)").arg(tcpPeer(tcp), peer()).arg(sid));
    setupTcp(find(sid));
    if (tcp->state() != QAbstractSocket::ConnectedState)
        onTcpGone(sid, tcp);
    else if (tcp->bytesAvailable() > 0)
        onTcpReadyRead(sid, tcp);
    return true;
}

void MuxSession::setupTcp(Stream *s)
{
    QTcpSocket *tcp = s->tcp;
    const quint32 sid = s->sid;
    tcp->setReadBufferSize(kTcpReadBuffer);
    connect(tcp, &QTcpSocket::connected, this, [this, sid, tcp] { onTcpConnected(sid, tcp); });
    connect(tcp, &QTcpSocket::readyRead, this, [this, sid, tcp] { onTcpReadyRead(sid, tcp); });
    connect(tcp, &QTcpSocket::bytesWritten, this, [this, sid, tcp](qint64 n) { onTcpBytesWritten(sid, tcp, n); });
    connect(tcp, &QTcpSocket::disconnected, this, [this, sid, tcp] { onTcpGone(sid, tcp); });
    connect(tcp, &QTcpSocket::errorOccurred, this,
            [this, sid, tcp](QAbstractSocket::SocketError) { onTcpGone(sid, tcp); });
    connect(tcp, &QTcpSocket::disconnected, tcp, &QObject::deleteLater);
}

void MuxSession::acceptStream(quint32 sid)
{
    if (m_streams.count(sid))
        return; // smux ignores a SYN for a stream it has
    m_finWait.erase(sid); // a reused id (smux's wrap at 2^32) is a new stream: no old FIN may close it
    auto stream = std::make_unique<Stream>();
    stream->sid = sid;
    auto *tcp = new QTcpSocket(this);
    stream->tcp = tcp;
    m_streams.emplace(sid, std::move(stream));
    ++m_stats.streamsOpened;
    setupTcp(find(sid));
    if (!m_options.quiet)
        log(QStringLiteral("stream opened in: %1(%2) out: %3:%4")
                .arg(peer())
                .arg(sid)
                .arg(m_targetHost)
                .arg(m_targetPort));
    tcp->connectToHost(m_targetHost, m_targetPort);
}

void MuxSession::onTcpConnected(quint32 sid, QTcpSocket *tcp)
{
    Stream *s = find(sid, tcp);
    if (!s)
        return;
    s->tcpConnected = true;
    if (!s->pending.isEmpty()) {
        tcp->write(s->pending);
        s->pending.clear();
    }
    if (s->remoteFin) {
        finishStream(s, true); // what the peer sent before its FIN is queued; disconnectFromHost() flushes it
        return;
    }
    if (tcp->bytesAvailable() > 0)
        onTcpReadyRead(sid, tcp);
}

void MuxSession::onTcpReadyRead(quint32 sid, QTcpSocket *tcp)
{
    if (Stream *s = find(sid, tcp))
        pumpStream(s, INT_MAX);
}

void MuxSession::onTcpBytesWritten(quint32 sid, QTcpSocket *tcp, qint64 n)
{
    Stream *s = find(sid, tcp);
    if (!s || n <= 0)
        return;
    const qint64 taken = std::min(n, s->backlog);
    s->backlog -= taken;
    m_tcpBacklog -= taken;
    if (m_version >= 2
        && s->window.onConsumed(static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(m_options.streamBuf))) {
        smux::appendUpdate(m_plainOut, m_version, sid, s->window.consumed,
                           static_cast<std::uint32_t>(m_options.streamBuf));
        ++m_stats.framesOut;
        scheduleFlush();
    }
    if (m_readPaused && m_tcpBacklog < m_options.smuxBuf / 2)
        scheduleRead();
}

void MuxSession::onTcpGone(quint32 sid, QTcpSocket *tcp)
{
    Stream *s = find(sid, tcp);
    if (!s)
        return;
    if (!s->tcpConnected) {
        if (tcp->state() == QAbstractSocket::UnconnectedState) { // the target refused or could not be reached
            log(QStringLiteral("stream %1: target %2:%3: %4")
                    .arg(sid)
                    .arg(m_targetHost)
                    .arg(m_targetPort)
                    .arg(tcp->errorString()));
            finishStream(s, true);
        }
        return;
    }
    if (s->tcpEof)
        return;
    s->tcpEof = true;
    // Data still on its way to that TCP peer is lost with it (kcptun closes the stream here too).
    m_tcpBacklog -= s->backlog;
    s->backlog = 0;
    pumpStream(s, INT_MAX); // what it sent us before it went goes out first, then FIN
}

bool MuxSession::pumpStream(Stream *s, int maxFrames)
{
    QTcpSocket *tcp = s->tcp;
    if (!tcp || m_closed)
        return false;
    bool progress = false;
    for (int i = 0; i < maxFrames; ++i) {
        const qint64 available = tcp->bytesAvailable();
        if (available <= 0)
            break;
        if (kcpBacklog() >= m_kcpHighWater) {
            m_kcpBlocked = true;
            break;
        }
        qint64 n = std::min<qint64>(available, m_options.frameSize);
        if (m_version >= 2) {
            bool bad = false;
            const qint64 room = s->window.sendRoom(&bad);
            if (bad) {
                log(QStringLiteral("stream %1: the peer reported more consumed than was sent").arg(s->sid));
                finishStream(s, true);
                return progress;
            }
            if (room <= 0)
                break; // wait for the peer's UPD
            n = std::min(n, room);
        }
        const qsizetype at = m_plainOut.size();
        m_plainOut.resize(at + smux::kHeaderSize + n);
        const qint64 got = tcp->read(m_plainOut.data() + at + smux::kHeaderSize, n);
        if (got <= 0) {
            m_plainOut.resize(at);
            break;
        }
        smux::writeHeader(m_plainOut.data() + at, m_version, smux::Psh, static_cast<std::uint16_t>(got), s->sid);
        m_plainOut.resize(at + smux::kHeaderSize + got);
        s->window.onSent(static_cast<std::uint32_t>(got));
        m_stats.tcpToKcp += static_cast<quint64>(got);
        ++m_stats.framesOut;
        progress = true;
    }
    if (progress)
        scheduleFlush();
    if (s->tcpEof && tcp->bytesAvailable() <= 0)
        finishStream(s, true);
    return progress;
}

void MuxSession::pumpAll()
{
    if (m_streams.empty() || m_closed)
        return;
    std::vector<quint32> sids;
    sids.reserve(m_streams.size());
    for (const auto &entry : m_streams)
        sids.push_back(entry.first);
    // Start each pass at a different stream, so no stream always goes first.
    std::rotate(sids.begin(), sids.begin() + static_cast<std::ptrdiff_t>(m_pumpCursor++ % sids.size()), sids.end());
    for (int round = 0; round < 64; ++round) {
        bool any = false;
        for (const quint32 sid : sids) {
            if (m_closed)
                return;
            if (kcpBacklog() >= m_kcpHighWater) {
                m_kcpBlocked = true;
                return;
            }
            if (Stream *s = find(sid))
                any = pumpStream(s, 2) || any;
        }
        if (!any)
            return;
    }
}

void MuxSession::finishStream(Stream *s, bool sendFin)
{
    const quint32 sid = s->sid;
    const QPointer<QTcpSocket> tcp = s->tcp;
    const bool connected = s->tcpConnected;
    const bool peerFinished = s->remoteFin;
    m_tcpBacklog -= s->backlog;
    m_streams.erase(sid); // s is gone from here on
    if (sendFin && !m_closed) {
        sendFrame(smux::Fin, sid);
        if (!peerFinished)
            awaitPeerFin(sid);
    }
    ++m_stats.streamsClosed;
    if (!m_options.quiet)
        log(QStringLiteral("stream closed %1(%2)").arg(peer()).arg(sid));
    if (tcp) {
        tcp->disconnect(this);
        if (!connected || tcp->state() == QAbstractSocket::UnconnectedState) {
            tcp->abort();
            tcp->deleteLater();
        } else {
            tcp->disconnectFromHost(); // flushes what was queued for it; deleted on disconnected()
            if (tcp && tcp->state() != QAbstractSocket::UnconnectedState)
                QTimer::singleShot(kLingerMs, tcp, [tcp] {
                    if (tcp) {
                        tcp->abort();
                        tcp->deleteLater();
                    }
                });
        }
    }
    if (m_readPaused && m_tcpBacklog < m_options.smuxBuf / 2)
        scheduleRead();
}

void MuxSession::deliver(Stream *s, const char *data, int size)
{
    m_stats.kcpToTcp += static_cast<quint64>(size);
    if (s->tcpEof)
        return; // its TCP peer is gone; the stream ends as soon as its last data went out
    if (s->tcpConnected) {
        if (s->tcp->write(data, size) != size)
            return;
    } else {
        s->pending.append(data, size);
    }
    s->backlog += size;
    m_tcpBacklog += size;
}

void MuxSession::remoteFin(Stream *s)
{
    s->remoteFin = true;
    if (!s->tcpConnected && s->tcp && s->tcp->state() != QAbstractSocket::UnconnectedState)
        return; // the target is still connecting: deliver what came, then close (onTcpConnected)
    finishStream(s, true);
}

bool MuxSession::handleFrame(const smux::Frame &f)
{
    switch (f.cmd) {
    case smux::Nop:
        break;
    case smux::Syn:
        if (m_client)
            log(QStringLiteral("ignoring a stream opened by the server (sid %1)").arg(f.sid));
        else
            acceptStream(f.sid);
        break;
    case smux::Fin:
        if (Stream *s = find(f.sid))
            remoteFin(s);
        else
            m_finWait.erase(f.sid); // the answer to our FIN
        if (m_finWait.empty())
            m_finResend.stop();
        break;
    case smux::Psh:
        if (f.size > 0) {
            if (Stream *s = find(f.sid))
                deliver(s, f.data, f.size);
        }
        break;
    case smux::Upd:
        if (Stream *s = find(f.sid)) {
            s->window.onUpdate(f.consumed, f.window);
            pumpStream(s, INT_MAX);
        }
        break;
    }
    return !m_closed;
}

void MuxSession::onKcpConnected()
{
    flushOut();
}

void MuxSession::onKcpReadyRead()
{
    if (!m_readPaused)
        readKcp();
}

void MuxSession::onKcpBytesWritten()
{
    if (m_kcpBlocked && kcpBacklog() < m_kcpHighWater) {
        m_kcpBlocked = false;
        pumpAll();
    }
}

void MuxSession::onKcpGone()
{
    close(QStringLiteral("the KCP session ended"));
}

void MuxSession::scheduleRead()
{
    if (m_readScheduled || m_closed)
        return;
    m_readScheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_readScheduled = false;
            readKcp();
        },
        Qt::QueuedConnection);
}

bool MuxSession::dispatchFrames()
{
    smux::Frame f;
    for (;;) {
        if (m_tcpBacklog >= m_options.smuxBuf)
            return true; // paused: the rest stays parsed-but-buffered
        const smux::FrameParser::Result r = m_parser.next(&f);
        if (r == smux::FrameParser::NeedMore)
            return true;
        if (r != smux::FrameParser::Ok) {
            close(QStringLiteral("smux: invalid protocol (version %1, cmd %2; expected version %3)")
                      .arg(m_parser.lastVersion())
                      .arg(m_parser.lastCmd())
                      .arg(m_version));
            return false;
        }
        m_dataReady = true;
        ++m_stats.framesIn;
        if (!handleFrame(f))
            return false;
    }
}

void MuxSession::readKcp()
{
    if (m_closed || !m_kcp)
        return;
    for (int round = 0; round < kReadRoundsPerTurn; ++round) {
        if (!dispatchFrames())
            return;
        if (m_tcpBacklog >= m_options.smuxBuf) {
            m_readPaused = true; // KCP data waits in QKcpSocket (bounded), then KCP's receive window closes
            return;
        }
        m_readPaused = false;
        if (m_reader) {
            const SnappyFrameReader::Result r = m_reader->decodeChunk(m_decoded);
            if (r == SnappyFrameReader::Error) {
                close(QStringLiteral("compression: %1").arg(QString::fromLatin1(m_reader->errorString())));
                return;
            }
            if (r == SnappyFrameReader::Ok) {
                m_parser.feed(m_decoded);
                m_decoded.resize(0);
                continue;
            }
        }
        if (m_kcp->bytesAvailable() <= 0)
            return;
        if (m_readBuf.size() < kKcpReadChunk)
            m_readBuf.resize(kKcpReadChunk);
        const qint64 n = m_kcp->read(m_readBuf.data(), kKcpReadChunk);
        if (n <= 0)
            return;
        m_stats.kcpBytesIn += static_cast<quint64>(n);
        if (m_reader)
            m_reader->feed(m_readBuf.constData(), n);
        else
            m_parser.feed(m_readBuf.constData(), n);
    }
    scheduleRead(); // more to do: after the event loop turned
}

void MuxSession::sendFrame(std::uint8_t cmd, quint32 sid)
{
    smux::appendFrame(m_plainOut, m_version, cmd, sid);
    ++m_stats.framesOut;
    scheduleFlush();
}

void MuxSession::scheduleFlush()
{
    if (m_flushScheduled || m_closed)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(
        this, [this] { flushOut(); }, Qt::QueuedConnection);
}

void MuxSession::flushOut()
{
    m_flushScheduled = false;
    if (m_closed || !m_kcp || m_plainOut.isEmpty())
        return;
    if (m_kcp->state() != QAbstractSocket::ConnectedState)
        return; // onKcpConnected() sends it
    qint64 written;
    if (m_writer) {
        m_wireOut.resize(0);
        m_writer->write(m_plainOut, m_wireOut);
        written = m_kcp->write(m_wireOut);
    } else {
        written = m_kcp->write(m_plainOut);
    }
    if (written > 0)
        m_stats.kcpBytesOut += static_cast<quint64>(written);
    m_plainOut.resize(0);
}

void MuxSession::onKeepAliveTick()
{
    if (m_kcp && m_kcp->state() == QAbstractSocket::ConnectedState)
        sendFrame(smux::Nop, 0);
}

void MuxSession::onTimeoutTick()
{
    // As smux: nothing heard for a whole period closes the session, unless we stopped reading ourselves.
    if (!m_dataReady && !m_readPaused) {
        close(QStringLiteral("keepalive timeout (nothing heard for %1 s)").arg(m_timeout.interval() / 1000));
        return;
    }
    m_dataReady = false;
}

// smux's OpenStream() writes the SYN before it files the new stream in its table, so a FIN that comes back at once
// (the target refused, on a fast link) can reach kcptun's receive loop first and be dropped as one for an unknown
// stream; that TCP connection would then stay open for ever. Every smux peer answers a FIN with its own (kcptun
// closes both directions), so a stream this end closed first waits for that answer, and its FIN is sent again after
// 0.5, 1.5 and 3.5 s if none came. A second FIN is harmless: smux ignores it for a stream it has closed or never had.
void MuxSession::awaitPeerFin(quint32 sid)
{
    if (m_finWait.size() >= kMaxFinWaits)
        return;
    m_finWait[sid] = FinWait{m_clock.elapsed() + kFinFirstResendMs, 0};
    if (!m_finResend.isActive())
        m_finResend.start();
}

void MuxSession::onFinResendTick()
{
    const qint64 now = m_clock.elapsed();
    for (auto it = m_finWait.begin(); it != m_finWait.end();) {
        FinWait &w = it->second;
        if (now < w.due) {
            ++it;
            continue;
        }
        sendFrame(smux::Fin, it->first);
        ++m_stats.finsResent;
        if (++w.resends >= kFinResends) {
            it = m_finWait.erase(it);
            continue;
        }
        w.due = now + (qint64(kFinFirstResendMs) << w.resends);
        ++it;
    }
    if (m_finWait.empty())
        m_finResend.stop();
}

// ---------------------------------------------------------------------------------------------------------------
// TunnelClient

TunnelClient::TunnelClient(const TunnelOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{
    m_options.role = TunnelOptions::Client;
}

TunnelClient::~TunnelClient() = default;

bool TunnelClient::start(QString *error)
{
    if (!makeKcpConfig(m_options, &m_config, error))
        return false;
    QString host;
    quint16 port = 0;
    if (!parseHostPort(m_options.listen, &host, &port)) {
        *error = QStringLiteral("bad listen address %1 (host:port)").arg(m_options.listen);
        return false;
    }
    QHostAddress address;
    if (!resolveListenAddress(host, &address)) {
        *error = QStringLiteral("cannot resolve %1").arg(host);
        return false;
    }
    if (!parseHostPort(m_options.remote, &m_remoteHost, &m_remotePort) || m_remoteHost.isEmpty() || m_remotePort == 0) {
        *error = QStringLiteral("bad remote address %1 (host:port)").arg(m_options.remote);
        return false;
    }
    m_server = new QTcpServer(this);
    m_server->setListenBacklogSize(1024); // Qt's default of 50 drops bursts of connects (SYNs retried after 1 s)
    if (!m_server->listen(address, port)) {
        *error = QStringLiteral("listen on %1: %2").arg(m_options.listen, m_server->errorString());
        return false;
    }
    connect(m_server, &QTcpServer::newConnection, this, &TunnelClient::onNewConnection);
    m_sessions.resize(static_cast<std::size_t>(std::max(1, m_options.conn)));
    std::fprintf(stderr, "%s listening on: %s:%u\n", qPrintable(nowStamp()),
                 qPrintable(m_server->serverAddress().toString()), m_server->serverPort());
    std::fflush(stderr);
    return true;
}

quint16 TunnelClient::listenPort() const
{
    return m_server ? m_server->serverPort() : 0;
}

MuxSession *TunnelClient::session(int index)
{
    QPointer<MuxSession> &slot = m_sessions[static_cast<std::size_t>(index)];
    if (slot && !slot->isClosed())
        return slot;
    auto *kcp = new QKcpSocket(m_config);
    applyUdpOptions(m_options,
                    [kcp](QAbstractSocket::SocketOption o, const QVariant &v) { kcp->setSocketOption(o, v); });
    auto *s = new MuxSession(kcp, m_options, true, this);
    connect(s, &MuxSession::closed, this, [this, s] {
        addStats(m_closedTotals, s->stats());
        s->deleteLater();
    });
    slot = s;
    std::fprintf(stderr, "%s smux version: %d on connection: -> %s:%u\n", qPrintable(nowStamp()), m_options.smuxVersion,
                 qPrintable(m_remoteHost), m_remotePort);
    kcp->connectToHost(m_remoteHost, m_remotePort); // after the session listens to its signals
    return slot;
}

void TunnelClient::onNewConnection()
{
    while (QTcpSocket *tcp = m_server->nextPendingConnection()) {
        const int index = static_cast<int>(m_rr++ % m_sessions.size());
        bool taken = false;
        for (int attempt = 0; attempt < 2 && !taken; ++attempt) {
            MuxSession *s = session(index);
            taken = s && s->openStream(tcp);
            if (!taken && s)
                s->close(QStringLiteral("cannot open more streams")); // the next attempt opens a new session
        }
        if (!taken) {
            tcp->abort();
            tcp->deleteLater();
        }
    }
}

SessionStats TunnelClient::totals() const
{
    SessionStats t = m_closedTotals;
    for (const auto &s : m_sessions) {
        if (s && !s->isClosed())
            addStats(t, s->stats());
    }
    return t;
}

// ---------------------------------------------------------------------------------------------------------------
// TunnelServer

TunnelServer::TunnelServer(const TunnelOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{
    m_options.role = TunnelOptions::Server;
}

TunnelServer::~TunnelServer() = default;

bool TunnelServer::start(QString *error)
{
    if (!makeKcpConfig(m_options, &m_config, error))
        return false;
    QString host;
    quint16 port = 0;
    if (!parseHostPort(m_options.listen, &host, &port)) {
        *error = QStringLiteral("bad listen address %1 (host:port)").arg(m_options.listen);
        return false;
    }
    QHostAddress address;
    if (!resolveListenAddress(host, &address)) {
        *error = QStringLiteral("cannot resolve %1").arg(host);
        return false;
    }
    QString targetHost;
    quint16 targetPort = 0;
    if (!parseHostPort(m_options.remote, &targetHost, &targetPort) || targetHost.isEmpty() || targetPort == 0) {
        *error = QStringLiteral("bad target address %1 (host:port)").arg(m_options.remote);
        return false;
    }
    m_server = new QKcpServer(m_config, this);
    if (!m_server->listen(address, port)) {
        *error = QStringLiteral("listen on %1: %2").arg(m_options.listen, m_server->errorString());
        return false;
    }
    connect(m_server, &QKcpServer::newConnection, this, &TunnelServer::onNewConnection);
    applyUdpOptions(m_options,
                    [this](QAbstractSocket::SocketOption o, const QVariant &v) { m_server->setSocketOption(o, v); });
    std::fprintf(stderr, "%s listening on: %s:%u\n", qPrintable(nowStamp()),
                 qPrintable(m_server->serverAddress().toString()), m_server->serverPort());
    std::fflush(stderr);
    return true;
}

quint16 TunnelServer::listenPort() const
{
    return m_server ? m_server->serverPort() : 0;
}

void TunnelServer::onNewConnection()
{
    while (QKcpSocket *kcp = m_server->nextPendingConnection()) {
        std::fprintf(stderr, "%s remote address: %s:%u\n", qPrintable(nowStamp()),
                     qPrintable(kcp->peerAddress().toString()), kcp->peerPort());
        std::fflush(stderr);
        auto *s = new MuxSession(kcp, m_options, false, this);
        connect(s, &MuxSession::closed, this, [this, s] {
            addStats(m_closedTotals, s->stats());
            s->deleteLater();
        });
        m_sessions.erase(std::remove_if(m_sessions.begin(), m_sessions.end(),
                                        [](const QPointer<MuxSession> &p) { return p.isNull() || p->isClosed(); }),
                         m_sessions.end());
        m_sessions.emplace_back(s);
    }
}

SessionStats TunnelServer::totals() const
{
    SessionStats t = m_closedTotals;
    for (const auto &s : m_sessions) {
        if (s && !s->isClosed())
            addStats(t, s->stats());
    }
    return t;
}

} // namespace tunnel
