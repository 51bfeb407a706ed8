// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Qt Test suite: QKcpSocket / QKcpServer in QKcpConfig::PlainKcp mode against kcp-go v5, the most widely deployed
// KCP implementation, through tests/interop/kcpgo-peer (a command-line kcp-go peer; its header comment documents
// the flags, the data pattern and the output lines parsed here). Real UDP on 127.0.0.1 only.
//
//  - bulk transfers both ways at once, SHA-256 compared on both ends, every byte and (message mode) every message
//    size checked as it arrives: QKcpSocket -> kcp-go Listener and kcp-go client -> QKcpServer, stream and message
//    mode, FEC off and 10/3, each kcp-go cipher;
//  - FEC through a relay that drops 10 % of the datagrams: losses repaired without retransmission;
//  - wrong key / cipher / FEC settings: no garbage delivered, drops counted, clear errors;
//  - plain mode between two kcpnet ends: echo, close without FIN, the server session left to its timers.
//
// Waits are bounded and condition-based. Bulk transfers wait in a local QEventLoop (runUntil) instead of QTRY_*:
// QTest::qWait() sleeps 10 ms whenever the event queue is empty, which would throttle a 20 MB transfer to a
// fraction of its speed. Child processes are stopped (QUIT on stdin, then kill) on every exit path, and also exit
// by themselves when our end of their stdin closes (a crashed test leaves no orphan) or after their --timeout.

#include <QKcpConfig>
#include <QKcpServer>
#include <QKcpSocket>
#include <QKcpStatistics>

#include "kcptestsupport.h"
#include "splitmix64.h"
#include "udprelay.h"

#include <QtCore/qcryptographichash.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qeventloop.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qprocess.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qudpsocket.h>
#include <QtTest/qtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlowdown = 6; // sanitizer builds: every bound is this much longer
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kSlowdown = 6;
#else
constexpr int kSlowdown = 1;
#endif
#else
constexpr int kSlowdown = 1;
#endif

// Data sizes. Every cipher runs the full 20 MiB each way (no cipher and aes, kcptun's default, with and without
// FEC 10/3 in both modes; every other cipher in stream mode with FEC and message mode without); the MTU-1500 row
// and the fault-injection tests use 2 MiB.
constexpr qint64 kBig = 20 * 1024 * 1024;
constexpr qint64 kSmall = 2 * 1024 * 1024;

constexpr int kMtu = 1400;           // both ends: kcp-go's MTU is the whole UDP payload, its headers included
constexpr int kKcpHeader = 24;       // ikcp segment header
constexpr int kCryptHeader = 20;     // kcp-go: 16-byte nonce + CRC32
constexpr int kFecHeader = 8;        // kcp-go: 6-byte FEC header + 2-byte size
constexpr quint64 kSeedToPeer = 1;   // the data we send (the peer's --recv-seed)
constexpr quint64 kSeedFromPeer = 2; // the data the peer sends (its --send-seed)

const char kPassphrase[] = "kcpnet interop passphrase";

QString peerPath()
{
    const QByteArray env = qgetenv("KCPNET_KCPGO_PEER");
    return env.isEmpty() ? QStringLiteral(KCPNET_KCPGO_PEER_PATH) : QString::fromLocal8Bit(env);
}

bool haveCiphers()
{
    return !QKcpConfig::kcptunKey(QStringLiteral("x")).isEmpty();
}

// ---- The peer's deterministic data (tests/interop/kcpgo-peer/main.go, "Data the peers exchange") ----

// The byte stream of one direction: the little-endian bytes of successive splitmix64 outputs.
class PatternStream
{
public:
    explicit PatternStream(quint64 seed)
        : m_gen(seed)
    {}
    void fill(char *out, qsizetype size)
    {
        for (qsizetype i = 0; i < size; ++i) {
            if (m_left == 0) {
                m_word = m_gen.next();
                m_left = 8;
            }
            out[i] = static_cast<char>(m_word & 0xff);
            m_word >>= 8;
            --m_left;
        }
    }

private:
    SplitMix64 m_gen;
    quint64 m_word = 0;
    int m_left = 0;
};

// The message sizes of one direction in message mode (unit U, largest M).
class MessageSizes
{
public:
    MessageSizes(quint64 seed, int unit, int maxMessage)
        : m_gen(seed ^ 0xA5A5A5A5A5A5A5A5ull)
        , m_unit(static_cast<quint64>(unit))
        , m_max(static_cast<quint64>(maxMessage))
    {}
    qint64 next(qint64 remaining)
    {
        const quint64 r = m_gen.next();
        const quint64 k = r >> 8;
        quint64 n = 0;
        switch (r % 8) {
        case 0:
        case 1:
            n = 1 + k % 16;
            break;
        case 2:
        case 3:
            n = 1 + k % m_unit;
            break;
        case 4: {
            const quint64 u = m_unit;
            const quint64 choices[6] = {u - 1, u, u + 1, 2 * u - 1, 2 * u, 2 * u + 1};
            n = choices[k % 6];
            break;
        }
        default:
            n = 1 + k % m_max;
            break;
        }
        n = std::clamp<quint64>(n, 1, m_max);
        return std::min<qint64>(static_cast<qint64>(n), remaining);
    }

private:
    SplitMix64 m_gen;
    quint64 m_unit;
    quint64 m_max;
};

// kcp-go's MSS for an MTU: it reserves its own headers inside the MTU (sess.go, ReserveBytes).
int kcpGoMss(int mtu, const QString &cipher, bool fec)
{
    return mtu - kKcpHeader - (cipher == QLatin1String("none") ? 0 : kCryptHeader) - (fec ? kFecHeader : 0);
}

// Checks what one end receives against the pattern, byte by byte and (message mode) message by message.
class PatternReceiver
{
public:
    PatternReceiver(quint64 seed, qint64 total, bool messageMode, int unit, int maxMessage)
        : m_pattern(seed)
        , m_sizes(seed, std::max(unit, 2), std::max(maxMessage, 1))
        , m_total(total)
        , m_hash(QCryptographicHash::Sha256)
    {
        Q_UNUSED(messageMode);
    }

    // Stream mode: any chunk.
    void feed(const QByteArray &chunk)
    {
        ++m_chunks;
        if (!m_failure.isEmpty() || chunk.isEmpty())
            return;
        check(chunk);
    }
    // Message mode: exactly one message, whose size must be the sequence's next one.
    void feedMessage(const QByteArray &message)
    {
        ++m_chunks;
        if (!m_failure.isEmpty())
            return;
        const qint64 want = m_sizes.next(m_total - m_received);
        if (message.size() != want) {
            m_failure = QStringLiteral("message %1 at byte %2: %3 bytes, expected %4 (a boundary was lost)")
                            .arg(m_messages)
                            .arg(m_received)
                            .arg(message.size())
                            .arg(want);
            return;
        }
        ++m_messages;
        check(message);
    }

    bool done() const { return m_received == m_total || !m_failure.isEmpty(); }
    bool ok() const { return m_received == m_total && m_failure.isEmpty(); }
    qint64 received() const { return m_received; }
    qint64 messages() const { return m_messages; }
    qint64 chunks() const { return m_chunks; }
    const QString &failure() const { return m_failure; }
    QByteArray hexDigest() const { return m_hash.result().toHex(); }

private:
    void check(const QByteArray &data)
    {
        if (data.size() > m_total - m_received) {
            m_failure = QStringLiteral("%1 bytes more than the %2 expected")
                            .arg(data.size() - (m_total - m_received))
                            .arg(m_total);
            return;
        }
        m_expected.resize(data.size());
        m_pattern.fill(m_expected.data(), m_expected.size());
        if (std::memcmp(m_expected.constData(), data.constData(), static_cast<size_t>(data.size())) != 0) {
            qsizetype at = 0;
            while (at < data.size() && data.at(at) == m_expected.at(at))
                ++at;
            m_failure = QStringLiteral("data differs at byte %1").arg(m_received + at);
            return;
        }
        m_hash.addData(data);
        m_received += data.size();
    }

    PatternStream m_pattern;
    MessageSizes m_sizes;
    qint64 m_total;
    qint64 m_received = 0;
    qint64 m_messages = 0;
    qint64 m_chunks = 0;
    QString m_failure;
    QByteArray m_expected;
    QCryptographicHash m_hash;
};

// Writes the pattern to a socket with bounded buffering (refilled on bytesWritten()).
class PatternSender
{
public:
    PatternSender(quint64 seed, qint64 total, bool messageMode, int unit, int maxMessage)
        : m_pattern(seed)
        , m_sizes(seed, std::max(unit, 2), std::max(maxMessage, 1))
        , m_total(total)
        , m_messageMode(messageMode)
        , m_hash(QCryptographicHash::Sha256)
    {}

    // Bytes the sender may have handed to the socket so far (the rest waits for a higher limit).
    void setLimit(qint64 limit) { m_limit = std::min(limit, m_total); }
    void pump(QKcpSocket *s)
    {
        constexpr qint64 kHighWater = 1 << 20;
        constexpr qint64 kChunk = 64 * 1024;
        for (int i = 0; i < 100000 && m_queued < m_limit && s->bytesToWrite() < kHighWater && m_failure.isEmpty();
             ++i) {
            const qint64 n = m_messageMode ? m_sizes.next(m_total - m_queued) : std::min(kChunk, m_total - m_queued);
            QByteArray data(n, Qt::Uninitialized);
            m_pattern.fill(data.data(), n);
            const qint64 w = m_messageMode ? s->writeMessage(data) : s->write(data);
            if (w != n) {
                m_failure = QStringLiteral("write of %1 bytes at byte %2 returned %3: %4")
                                .arg(n)
                                .arg(m_queued)
                                .arg(w)
                                .arg(s->errorString());
                return;
            }
            m_hash.addData(data);
            m_queued += n;
        }
    }
    bool allQueued() const { return m_queued == m_total; }
    qint64 queued() const { return m_queued; }
    const QString &failure() const { return m_failure; }
    QByteArray hexDigest() const { return m_hash.result().toHex(); }

private:
    PatternStream m_pattern;
    MessageSizes m_sizes;
    qint64 m_total;
    bool m_messageMode;
    qint64 m_limit = 0;
    qint64 m_queued = 0;
    QString m_failure;
    QCryptographicHash m_hash;
};

// One end of a transfer: sends one direction's pattern and checks the other's.
struct TransferEnd {
    TransferEnd(qint64 bytes, bool messageMode, int unit, int peerSendMax, int ourSendMax)
        : sender(kSeedToPeer, bytes, messageMode, unit, ourSendMax)
        , receiver(kSeedFromPeer, bytes, messageMode, unit, peerSendMax)
        , messageMode(messageMode)
    {}
    void attach(QKcpSocket *s, qint64 firstLimit)
    {
        socket = s;
        sender.setLimit(firstLimit);
        QObject::connect(s, &QKcpSocket::readyRead, s, [this, s] { drain(s); });
        QObject::connect(s, &QKcpSocket::bytesWritten, s, [this, s] { sender.pump(s); });
        sender.pump(s);
        drain(s);
    }
    void release(qint64 limit)
    {
        sender.setLimit(limit);
        if (socket)
            sender.pump(socket);
    }
    void drain(QKcpSocket *s)
    {
        if (messageMode) {
            for (int i = 0; i < 100000 && s->hasPendingMessages(); ++i)
                receiver.feedMessage(s->readMessage());
        } else if (s->bytesAvailable() > 0) {
            receiver.feed(s->readAll());
        }
    }

    PatternSender sender;
    PatternReceiver receiver;
    bool messageMode;
    QPointer<QKcpSocket> socket;
};

// Runs the event loop until done() or the deadline; returns done(). (See the file comment for why not QTRY_*.)
bool runUntil(const std::function<bool()> &done, int timeoutMs)
{
    if (done())
        return true;
    QEventLoop loop;
    QTimer poll;
    poll.setInterval(2);
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done())
            loop.quit();
    });
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    poll.start();
    deadline.start(timeoutMs);
    loop.exec();
    return done();
}

// ---- The kcp-go peer process ----

class KcpGoPeer
{
public:
    KcpGoPeer()
    {
        m_process.setProgram(peerPath());
        QObject::connect(&m_process, &QProcess::readyReadStandardOutput, &m_process, [this] { readOutput(); });
        QObject::connect(&m_process, &QProcess::readyReadStandardError, &m_process,
                         [this] { m_stderr += m_process.readAllStandardError(); });
    }
    ~KcpGoPeer() { stop(); }
    Q_DISABLE_COPY_MOVE(KcpGoPeer)

    bool start(const QStringList &args)
    {
        m_args = args;
        m_process.setArguments(args);
        m_process.start(QIODevice::ReadWrite);
        return m_process.waitForStarted(5000 * kSlowdown);
    }
    // Asks the peer to exit (QUIT on stdin, then EOF) and kills it if it does not within a bounded time.
    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.write("QUIT\n");
        m_process.closeWriteChannel();
        if (!m_process.waitForFinished(3000 * kSlowdown)) {
            m_process.kill();
            m_process.waitForFinished(3000 * kSlowdown);
        }
        readOutput();
        m_stderr += m_process.readAllStandardError();
    }
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    int exitCode() const { return m_process.exitCode(); }

    // Parsed output.
    quint16 listeningPort() const { return m_listeningPort; }
    bool dialed() const { return m_dialed; }
    int accepted() const { return m_accepted.size(); }
    quint32 conv() const { return m_conv; }
    const QByteArray &shaReceived() const { return m_shaReceived; }
    const QByteArray &shaSent() const { return m_shaSent; }
    qint64 bytesReceived() const { return m_bytesReceived; }
    bool sessionOk() const { return m_sessionOk; }
    bool failed() const { return !m_failures.isEmpty(); }
    quint64 snmp(const QString &name) const { return m_snmp.value(name, 0); }
    bool hasSnmp() const { return !m_snmp.isEmpty(); }
    const QStringList &lines() const { return m_lines; }

    QString diagnostics() const
    {
        return QStringLiteral("kcpgo-peer %1\n--- stdout:\n%2\n--- stderr:\n%3")
            .arg(m_args.join(QLatin1Char(' ')), m_lines.join(QLatin1Char('\n')),
                 QString::fromLocal8Bit(m_stderr.right(4000)));
    }

private:
    void readOutput()
    {
        for (int i = 0; i < 100000 && m_process.canReadLine(); ++i)
            parse(QString::fromUtf8(m_process.readLine()).trimmed());
    }
    static QHash<QString, QString> fields(const QStringList &words)
    {
        QHash<QString, QString> f;
        for (const QString &w : words) {
            const qsizetype eq = w.indexOf(QLatin1Char('='));
            if (eq > 0)
                f.insert(w.left(eq), w.mid(eq + 1));
        }
        return f;
    }
    void parse(const QString &line)
    {
        if (line.isEmpty())
            return;
        // SNMP lines are long: keep them parsed, not in the log (unless they are the last word we have).
        const QStringList w = line.split(QLatin1Char(' '), Qt::SkipEmptyParts);
        const QString &kind = w.front();
        if (kind == QLatin1String("SNMP")) {
            const QHash<QString, QString> f = fields(w);
            for (auto it = f.cbegin(); it != f.cend(); ++it)
                if (it.key() != QLatin1String("conv"))
                    m_snmp.insert(it.key(), it.value().toULongLong());
            return;
        }
        m_lines.append(line);
        if (kind == QLatin1String("LISTENING") && w.size() >= 2) {
            m_listeningPort = static_cast<quint16>(w.at(1).toUInt());
        } else if (kind == QLatin1String("DIALED")) {
            m_dialed = true;
            m_conv = fields(w).value(QStringLiteral("conv")).toUInt();
        } else if (kind == QLatin1String("ACCEPTED")) {
            m_conv = fields(w).value(QStringLiteral("conv")).toUInt();
            m_accepted.append(m_conv);
        } else if (kind == QLatin1String("SHA256") && w.size() >= 4) {
            if (w.at(1) == QLatin1String("received")) {
                m_shaReceived = w.at(2).toLatin1();
                m_bytesReceived = w.at(3).toLongLong();
            } else if (w.at(1) == QLatin1String("sent")) {
                m_shaSent = w.at(2).toLatin1();
            }
        } else if (kind == QLatin1String("SESSION")) {
            m_sessionOk = w.contains(QLatin1String("ok"));
        } else if (kind == QLatin1String("FAIL")) {
            m_failures.append(line);
        }
    }

    QProcess m_process;
    QStringList m_args;
    QStringList m_lines;
    QByteArray m_stderr;
    quint16 m_listeningPort = 0;
    bool m_dialed = false;
    QList<quint32> m_accepted;
    quint32 m_conv = 0;
    QByteArray m_shaReceived;
    QByteArray m_shaSent;
    qint64 m_bytesReceived = 0;
    bool m_sessionOk = false;
    QStringList m_failures;
    QHash<QString, quint64> m_snmp;
};

// The settings of one end.
struct EndSettings {
    bool messageMode = false;
    QString cipher = QStringLiteral("none");
    QByteArray key;
    int dataShards = 0;
    int parityShards = 0;
    int mtu = kMtu;

    bool fec() const { return dataShards > 0 && parityShards > 0; }
    int mss() const { return kcpGoMss(mtu, cipher, fec()); }
};

QKcpConfig plainConfig(const EndSettings &e)
{
    QKcpConfig c(QKcpConfig::Fast);
    c.setProtocol(QKcpConfig::PlainKcp);
    c.setMode(e.messageMode ? QKcpConfig::MessageMode : QKcpConfig::StreamMode);
    c.setMtu(e.mtu);
    c.setFec(e.dataShards, e.parityShards);
    c.setKcpGoCipher(e.cipher, e.key);
    return c;
}

// The peer's session flags. Its defaults are the "turbo" profile (nodelay 1, interval 10, resend 2, nc 1) and
// windows 512/512; ours are the Fast preset (1024-segment windows).
QStringList peerSessionArgs(const EndSettings &e, const QString &role, qint64 bytes)
{
    QStringList a = {
        QStringLiteral("--mode"),        e.messageMode ? QStringLiteral("message") : QStringLiteral("stream"),
        QStringLiteral("--role"),        role,
        QStringLiteral("--send-bytes"),  QString::number(bytes),
        QStringLiteral("--recv-bytes"),  QString::number(bytes),
        QStringLiteral("--recv-seed"),   QString::number(kSeedToPeer),
        QStringLiteral("--send-seed"),   QString::number(kSeedFromPeer),
        QStringLiteral("--crypt"),       e.cipher,
        QStringLiteral("--key-hex"),     QString::fromLatin1(e.key.toHex()),
        QStringLiteral("--datashard"),   QString::number(e.dataShards),
        QStringLiteral("--parityshard"), QString::number(e.parityShards),
        QStringLiteral("--mtu"),         QString::number(e.mtu),
        QStringLiteral("--timeout"),     QStringLiteral("%1s").arg(120 * kSlowdown)};
    if (e.messageMode) {
        // kcp-go sends at most one MSS per message (its quirk); it receives messages up to 8 MSS from us.
        a << QStringLiteral("--msg-unit") << QString::number(e.mss()) << QStringLiteral("--send-max-msg")
          << QString::number(e.mss()) << QStringLiteral("--recv-max-msg") << QString::number(8 * e.mss());
    }
    return a;
}

QByteArray testKey()
{
    return QKcpConfig::kcptunKey(QString::fromLatin1(kPassphrase));
}

void addCipherRows(const char *prefix, bool withMessageMode)
{
    QTest::addColumn<bool>("messageMode");
    QTest::addColumn<QString>("cipher");
    QTest::addColumn<int>("dataShards");
    QTest::addColumn<int>("parityShards");
    QTest::addColumn<qint64>("bytes");
    QTest::addColumn<quint32>("conv");
    QTest::addColumn<int>("mtu");

    const QList<bool> modes = withMessageMode ? QList<bool>{false, true} : QList<bool>{false};
    // Full size: no cipher and aes (kcptun's default), with and without FEC.
    for (bool message : modes) {
        const char *mode = message ? "message" : "stream";
        for (const char *cipher : {"none", "aes"}) {
            QTest::addRow("%s/%s/%s/nofec", prefix, mode, cipher)
                << message << QString::fromLatin1(cipher) << 0 << 0 << kBig << 0u << kMtu;
            QTest::addRow("%s/%s/%s/fec10-3", prefix, mode, cipher)
                << message << QString::fromLatin1(cipher) << 10 << 3 << kBig << 0x4B435031u << kMtu;
        }
    }
    // Every other cipher: stream mode with FEC, message mode without.
    for (const char *cipher : {"aes-128", "aes-192", "xor", "null", "salsa20", "3des"}) {
        QTest::addRow("%s/stream/%s/fec10-3", prefix, cipher)
            << false << QString::fromLatin1(cipher) << 10 << 3 << kBig << 0u << kMtu;
        if (withMessageMode)
            QTest::addRow("%s/message/%s/nofec", prefix, cipher)
                << true << QString::fromLatin1(cipher) << 0 << 0 << kBig << 0x4B435032u << kMtu;
    }
    // kcp-go drops datagrams over 1500 bytes (mtuLimit): the largest MTU it accepts, with everything on.
    QTest::addRow("%s/stream/aes/fec10-3/mtu1500", prefix)
        << false << QStringLiteral("aes") << 10 << 3 << kSmall << 0u << 1500;
}

void report(const char *what, qint64 bytes, qint64 ms)
{
    const double seconds = std::max<qint64>(ms, 1) / 1000.0;
    qInfo("THROUGHPUT %s %s: %lld bytes each way (both at once) in %.3f s = %.1f MB/s each way", what,
          QTest::currentDataTag(), static_cast<long long>(bytes), seconds, bytes / seconds / 1e6);
}

} // namespace

class tst_KcpGoInterop : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void patternMatchesPeer();
    void toKcpGoListener_data();
    void toKcpGoListener();
    void fromKcpGoClient_data();
    void fromKcpGoClient();
    void kcpGoEchoSplitsLargeMessages();
    void emptyMessageNotSentToKcpGo();
    void lossyFecRecovers_data();
    void lossyFecRecovers();
    void wrongSettingsToKcpGoListener_data();
    void wrongSettingsToKcpGoListener();
    void wrongKeyKcpGoTalksFirst();
    void wrongSettingsFromKcpGoClient_data();
    void wrongSettingsFromKcpGoClient();
    void fecMismatch_data();
    void fecMismatch();
    void plainBetweenKcpnetEnds_data();
    void plainBetweenKcpnetEnds();
    void corruptionWithoutChecksum_data();
    void corruptionWithoutChecksum();
    void invalidPacketLayerSettings_data();
    void invalidPacketLayerSettings();
    void maximumMessageSizeBeforeConnect();

private:
    EndSettings fetchSettings();
};

void tst_KcpGoInterop::initTestCase()
{
    qRegisterMetaType<QAbstractSocket::SocketState>();
    qRegisterMetaType<QAbstractSocket::SocketError>();
    if (peerPath().isEmpty())
        QSKIP("the kcp-go peer was not built (needs Go and golang-github-xtaci-kcp-dev): see "
              "tests/interop/KcpGoPeer.cmake");
    QVERIFY2(QFileInfo(peerPath()).isExecutable(), qPrintable(peerPath()));
}

EndSettings tst_KcpGoInterop::fetchSettings()
{
    QFETCH(bool, messageMode);
    QFETCH(QString, cipher);
    QFETCH(int, dataShards);
    QFETCH(int, parityShards);
    QFETCH(int, mtu);
    EndSettings e;
    e.messageMode = messageMode;
    e.cipher = cipher;
    // kcptun's key from a passphrase (PBKDF2-SHA1, salt "kcp-go", 4096 rounds, 32 bytes). The library cuts it to
    // the cipher's key size (kcpgocrypt.h: aes-128 the first 16 bytes, aes-192 and 3des 24), as kcptun does, and
    // so does the peer (newBlockCrypt: key[:n]): both ends get the same 32 bytes.
    e.key = cipher == QLatin1String("none") ? QByteArray() : testKey();
    e.dataShards = dataShards;
    e.parityShards = parityShards;
    e.mtu = mtu;
    return e;
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::patternMatchesPeer()
{
    // Our generators against the peer's own (`kcpgo-peer pattern`): the bytes and the message size sequence.
    const qint64 bytes = 1000003; // not a multiple of 8
    const int unit = 1328;
    const int maxMessage = 8 * unit;
    for (quint64 seed : {kSeedToPeer, kSeedFromPeer, quint64(0xFFFFFFFFFFFFull)}) {
        KcpGoPeer peer;
        QVERIFY(peer.start({QStringLiteral("pattern"), QStringLiteral("--seed"), QString::number(seed),
                            QStringLiteral("--bytes"), QString::number(bytes), QStringLiteral("--max-msg"),
                            QString::number(maxMessage), QStringLiteral("--msg-unit"), QString::number(unit)}));
        QVERIFY2(runUntil([&] { return !peer.isRunning() || peer.lines().size() >= 2; }, 10000 * kSlowdown),
                 qPrintable(peer.diagnostics()));
        peer.stop();
        QCOMPARE(peer.lines().size(), 2);

        // Fill in odd-sized pieces: the generator must carry a partial word across calls.
        PatternStream p(seed);
        QCryptographicHash h(QCryptographicHash::Sha256);
        QByteArray piece;
        for (qint64 left = bytes, step = 1; left > 0; step = step * 3 % 4099 + 1) {
            const qint64 n = std::min(left, step);
            piece.resize(n);
            p.fill(piece.data(), n);
            h.addData(piece);
            left -= n;
        }
        QCOMPARE(peer.lines().at(0),
                 QStringLiteral("PATTERN seed=%1 bytes=%2 sha256=%3")
                     .arg(seed)
                     .arg(bytes)
                     .arg(QString::fromLatin1(h.result().toHex())));

        MessageSizes sizes(seed, unit, maxMessage);
        QCryptographicHash hs(QCryptographicHash::Sha256);
        qint64 count = 0;
        for (qint64 left = bytes; left > 0; ++count) {
            const qint64 k = sizes.next(left);
            QByteArray le;
            kcpTestPutU32(le, static_cast<std::uint32_t>(k));
            hs.addData(le);
            left -= k;
        }
        QCOMPARE(peer.lines().at(1),
                 QStringLiteral("SIZES seed=%1 count=%2 sha256=%3")
                     .arg(seed)
                     .arg(count)
                     .arg(QString::fromLatin1(hs.result().toHex())));
    }
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::toKcpGoListener_data()
{
    addCipherRows("socket->kcpgo", true);
}

void tst_KcpGoInterop::toKcpGoListener()
{
    // QKcpSocket (PlainKcp) dials a kcp-go Listener (`kcpgo-peer serve --role both`): both directions at once.
    QFETCH(qint64, bytes);
    QFETCH(quint32, conv);
    const EndSettings e = fetchSettings();
    if (e.cipher != QLatin1String("none") && !haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");

    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                   QStringLiteral("--sessions"), QStringLiteral("1")}
                       + peerSessionArgs(e, QStringLiteral("both"), bytes)));
    QVERIFY2(runUntil([&] { return peer.listeningPort() != 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QVERIFY2(peer.listeningPort() != 0, qPrintable(peer.diagnostics()));

    QKcpConfig config = plainConfig(e);
    config.setConversationId(conv);
    TransferEnd end(bytes, e.messageMode, e.mss(), e.mss(), 8 * e.mss()); // (declared first: outlives the socket)
    QKcpSocket socket(config);
    KcpSocketSpies spies(&socket);
    QElapsedTimer clock;
    clock.start();
    socket.connectToHost(QHostAddress::LocalHost, peer.listeningPort());
    // PlainKcp: no handshake, connected() at the end of this event-loop turn.
    QVERIFY(runUntil([&] { return spies.connected.count() == 1; }, 5000 * kSlowdown));
    QCOMPARE(socket.state(), QAbstractSocket::ConnectedState);
    if (e.messageMode) {
        QVERIFY(socket.statistics().conversation != 0);
        QVERIFY2(socket.maximumMessageSize() >= 8 * e.mss(), qPrintable(QString::number(socket.maximumMessageSize())));
    }
    // kcp-go quirk: the Listener creates the session with kcp-go's defaults (windows 32/32, 100 ms interval) and
    // the application configures it only after Accept. A first burst of a full window would mostly be dropped as
    // out of window and retransmitted; so send a first small piece, and the rest once the peer has accepted.
    end.attach(&socket, 1);
    QVERIFY2(runUntil([&] { return peer.accepted() > 0 || peer.failed() || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QCOMPARE(peer.accepted(), 1);
    end.release(bytes);

    const bool finished = runUntil(
        [&] {
            return (end.receiver.done() && peer.sessionOk()) || peer.failed() || !end.sender.failure().isEmpty()
                || spies.errorOccurred.count() > 0;
        },
        (bytes >= kBig ? 90000 : 30000) * kSlowdown);
    const qint64 ms = clock.elapsed();
    QVERIFY2(end.sender.failure().isEmpty(), qPrintable(end.sender.failure()));
    QVERIFY2(end.receiver.failure().isEmpty(),
             qPrintable(end.receiver.failure() + QLatin1Char('\n') + peer.diagnostics()));
    QVERIFY2(!peer.failed(), qPrintable(peer.diagnostics()));
    QVERIFY2(spies.errorOccurred.isEmpty(), qPrintable(socket.errorString()));
    QVERIFY2(finished,
             qPrintable(QStringLiteral("received %1 of %2, queued %3; ")
                            .arg(end.receiver.received())
                            .arg(bytes)
                            .arg(end.sender.queued())
                        + peer.diagnostics()));
    report("socket->kcpgo", bytes, ms);

    // Both SHA-256 digests agree with the peer's.
    QVERIFY(end.receiver.ok());
    QCOMPARE(peer.bytesReceived(), bytes);
    QCOMPARE(peer.shaReceived(), end.sender.hexDigest());
    QCOMPARE(peer.shaSent(), end.receiver.hexDigest());
    QCOMPARE(peer.conv(), socket.statistics().conversation);
    if (conv != 0)
        QCOMPARE(peer.conv(), conv);

    // kcp-go accepted every datagram of ours: no checksum failures, no KCP input errors, no FEC errors.
    QVERIFY(peer.hasSnmp());
    QCOMPARE(peer.snmp(QStringLiteral("InCsumErrors")), 0ull);
    QCOMPARE(peer.snmp(QStringLiteral("KCPInErrors")), 0ull);
    QCOMPARE(peer.snmp(QStringLiteral("FECErrs")), 0ull);

    // Plain KCP has no FIN: the close completes once everything sent is acknowledged.
    socket.disconnectFromHost();
    QVERIFY(runUntil([&] { return spies.disconnected.count() == 1; }, 10000 * kSlowdown));
    QCOMPARE(spies.errorOccurred.count(), 0);
    QCOMPARE(spies.readChannelFinished.count(), 0);

    const QKcpStatistics s = socket.statistics();
    QCOMPARE(qint64(s.bytesSent), bytes);
    QCOMPARE(qint64(s.bytesReceived), bytes);
    QCOMPARE(s.droppedChecksum, 0ull);
    QCOMPARE(s.droppedMalformed, 0ull);
    QCOMPARE(s.droppedWrongConversation, 0ull);
    QCOMPARE(s.fecParitySent > 0, e.fec());
    QVERIFY(s.wireBytesSent > s.bytesSent);
    QVERIFY(s.wireBytesReceived > s.bytesReceived);
    QVERIFY(s.srtt > 0 || s.rto > 0);
    peer.stop();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::fromKcpGoClient_data()
{
    addCipherRows("kcpgo->server", true);
}

void tst_KcpGoInterop::fromKcpGoClient()
{
    // A kcp-go client (`kcpgo-peer dial --role both`, kcp.NewConn2/NewConn3) dials QKcpServer (PlainKcp).
    QFETCH(qint64, bytes);
    QFETCH(quint32, conv);
    const EndSettings e = fetchSettings();
    if (e.cipher != QLatin1String("none") && !haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");

    TransferEnd end(bytes, e.messageMode, e.mss(), e.mss(), 8 * e.mss());
    QList<QPointer<QKcpSocket>> sessions;
    std::unique_ptr<KcpSocketSpies> spies;
    QKcpServer server(plainConfig(e)); // (after what its sockets' slots use: destroyed first)
    KcpServerSpies serverSpies(&server);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&] {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            sessions.append(s);
            if (sessions.size() == 1) {
                spies = std::make_unique<KcpSocketSpies>(s);
                end.attach(s, bytes); // our session is configured at once: no need to hold back
            }
        }
    });

    KcpGoPeer peer;
    QStringList args = {QStringLiteral("dial"), QStringLiteral("--connect"),
                        QStringLiteral("127.0.0.1:%1").arg(server.serverPort())};
    if (conv != 0)
        args << QStringLiteral("--conv") << QString::number(conv);
    QElapsedTimer clock;
    clock.start();
    QVERIFY(peer.start(args + peerSessionArgs(e, QStringLiteral("both"), bytes)));

    const bool finished = runUntil(
        [&] {
            return (end.receiver.done() && peer.sessionOk()) || peer.failed() || !end.sender.failure().isEmpty()
                || (spies && spies->errorOccurred.count() > 0) || !peer.isRunning();
        },
        (bytes >= kBig ? 90000 : 30000) * kSlowdown);
    const qint64 ms = clock.elapsed();
    QVERIFY2(end.sender.failure().isEmpty(), qPrintable(end.sender.failure()));
    QVERIFY2(end.receiver.failure().isEmpty(),
             qPrintable(end.receiver.failure() + QLatin1Char('\n') + peer.diagnostics()));
    QVERIFY2(!peer.failed(), qPrintable(peer.diagnostics()));
    QVERIFY2(finished && end.receiver.ok(),
             qPrintable(QStringLiteral("received %1 of %2, queued %3; ")
                            .arg(end.receiver.received())
                            .arg(bytes)
                            .arg(end.sender.queued())
                        + peer.diagnostics()));
    QVERIFY(spies && spies->errorOccurred.isEmpty());
    report("kcpgo->server", bytes, ms);

    QCOMPARE(sessions.size(), 1);
    QCOMPARE(serverSpies.newConnection.count(), 1);
    QCOMPARE(serverSpies.acceptError.count(), 0);
    QCOMPARE(peer.bytesReceived(), bytes);
    QCOMPARE(peer.shaReceived(), end.sender.hexDigest());
    QCOMPARE(peer.shaSent(), end.receiver.hexDigest());
    QVERIFY(peer.dialed());
    QCOMPARE(sessions.front()->statistics().conversation, peer.conv());
    if (conv != 0)
        QCOMPARE(peer.conv(), conv);
    QCOMPARE(peer.snmp(QStringLiteral("InCsumErrors")), 0ull);
    QCOMPARE(peer.snmp(QStringLiteral("KCPInErrors")), 0ull);

    const QKcpStatistics s = sessions.front()->statistics();
    QCOMPARE(qint64(s.bytesReceived), bytes);
    QCOMPARE(s.droppedChecksum, 0ull);
    QCOMPARE(s.fecParitySent > 0, e.fec());
    const QKcpServerStatistics ss = server.serverStatistics();
    QCOMPARE(ss.accepted, 1ull);
    QCOMPARE(ss.sessions, 1u);
    QCOMPARE(ss.droppedChecksum, 0ull);

    // The kcp-go client goes away without a word (kcp-go has no FIN): our session stays, as a kcp-go Listener's
    // would, until its own timers end it (see plainBetweenKcpnetEnds).
    peer.stop();
    QCOMPARE(server.sessions().size(), 1);
    QCOMPARE(sessions.front()->state(), QAbstractSocket::ConnectedState);
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::kcpGoEchoSplitsLargeMessages()
{
    // The kcp-go quirk in message mode (sess.go WriteBuffers): kcp-go receives a message of several MSS intact,
    // but writes anything larger than one MSS as one message per MSS-sized piece. So a message echoed by kcp-go
    // comes back whole when it fits one MSS and cut at MSS boundaries otherwise; the bytes are all there.
    EndSettings e;
    e.messageMode = true;
    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}
                       + peerSessionArgs(e, QStringLiteral("echo"), 0)));
    QVERIFY2(runUntil([&] { return peer.listeningPort() != 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QVERIFY2(peer.listeningPort() != 0, qPrintable(peer.diagnostics()));

    QList<QByteArray> received;
    QKcpSocket socket(plainConfig(e));
    QObject::connect(&socket, &QKcpSocket::readyRead, &socket, [&] {
        for (int i = 0; i < 10000 && socket.hasPendingMessages(); ++i)
            received.append(socket.readMessage());
    });
    socket.connectToHost(QHostAddress::LocalHost, peer.listeningPort());
    QVERIFY(runUntil([&] { return socket.state() == QAbstractSocket::ConnectedState; }, 5000 * kSlowdown));

    const qsizetype mss = e.mss();
    const QList<qsizetype> sizes = {1, mss - 1, mss, mss + 1, 3 * mss + 5, 2};
    qsizetype expectedPieces = 0;
    QByteArray all;
    for (qsizetype i = 0; i < sizes.size(); ++i) {
        const QByteArray m = kcpTestPattern(sizes.at(i), 100 + static_cast<quint32>(i));
        QCOMPARE(socket.writeMessage(m), qint64(m.size()));
        expectedPieces += (m.size() + mss - 1) / mss;
        all += m;
    }
    QVERIFY2(runUntil([&] { return received.size() >= expectedPieces; }, 10000 * kSlowdown),
             qPrintable(QStringLiteral("%1 of %2 messages; ").arg(received.size()).arg(expectedPieces)
                        + peer.diagnostics()));
    QCOMPARE(received.size(), expectedPieces);
    QList<qsizetype> got;
    for (const QByteArray &m : received)
        got.append(m.size());
    const QList<qsizetype> want = {1, mss - 1, mss, mss, 1, mss, mss, mss, 5, 2};
    QCOMPARE(got, want);
    QCOMPARE(received.join(), all);
    peer.stop();
}

void tst_KcpGoInterop::emptyMessageNotSentToKcpGo()
{
    // kcp-go cannot take an empty message. Its UDPSession.Read only consumes a message when KCP's PeekSize() > 0,
    // so an empty message at the head of its receive queue is never read: the reader blocks for good and every
    // later message stays queued behind it (and kcp-go's Write refuses 0 bytes). ikcp and kcpnet's session
    // protocol deliver empty messages; docs/PROTOCOL.md §20 says the Qt layer must not pass them on in PlainKcp
    // mode. Here: an empty writeMessage() between two messages must not wedge the kcp-go echo.
    EndSettings e;
    e.messageMode = true;
    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}
                       + peerSessionArgs(e, QStringLiteral("echo"), 0)));
    QVERIFY2(runUntil([&] { return peer.listeningPort() != 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QVERIFY2(peer.listeningPort() != 0, qPrintable(peer.diagnostics()));

    QList<QByteArray> received;
    QKcpSocket socket(plainConfig(e));
    QObject::connect(&socket, &QKcpSocket::readyRead, &socket, [&] {
        for (int i = 0; i < 10000 && socket.hasPendingMessages(); ++i)
            received.append(socket.readMessage());
    });
    socket.connectToHost(QHostAddress::LocalHost, peer.listeningPort());
    QVERIFY(runUntil([&] { return socket.state() == QAbstractSocket::ConnectedState; }, 5000 * kSlowdown));
    QCOMPARE(socket.writeMessage("before"), qint64(6));
    QVERIFY2(runUntil([&] { return received.size() == 1; }, 10000 * kSlowdown), qPrintable(peer.diagnostics()));
    QCOMPARE(received.front(), QByteArray("before"));

    socket.writeMessage(QByteArray()); // refused or swallowed: either way it must not reach kcp-go
    QCOMPARE(socket.writeMessage("after"), qint64(5));
    QVERIFY(
        runUntil([&] { return socket.statistics().inFlight == 0 && socket.bytesToWrite() == 0; }, 5000 * kSlowdown));
    QVERIFY(runUntil([&] { return received.size() == 2; }, 3000));
    QCOMPARE(received.at(1), QByteArray("after"));
    QCOMPARE(socket.state(), QAbstractSocket::ConnectedState);
    peer.stop();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::lossyFecRecovers_data()
{
    QTest::addColumn<QString>("cipher");
    QTest::addRow("fec10-3") << QStringLiteral("none");
    QTest::addRow("fec10-3/aes") << QStringLiteral("aes"); // kcptun's defaults
}

void tst_KcpGoInterop::lossyFecRecovers()
{
    // QKcpSocket -> relay dropping 10 % of the datagrams each way -> kcp-go Listener, FEC 10/3 on both ends:
    // the data arrive intact and part of the losses are repaired from parity without waiting for a retransmission
    // (on our side, statistics().fecRecovered; on kcp-go's, its FECRecovered counter).
    QFETCH(QString, cipher);
    if (cipher != QLatin1String("none") && !haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");
    EndSettings e;
    e.cipher = cipher;
    e.key = cipher == QLatin1String("none") ? QByteArray() : testKey();
    e.dataShards = 10;
    e.parityShards = 3;
    const qint64 bytes = 2 * 1024 * 1024;

    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                   QStringLiteral("--sessions"), QStringLiteral("1")}
                       + peerSessionArgs(e, QStringLiteral("both"), bytes)));
    QVERIFY2(runUntil([&] { return peer.listeningPort() != 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QVERIFY2(peer.listeningPort() != 0, qPrintable(peer.diagnostics()));

    KcpUdpRelay relay;
    relay.setSeed(20260510);
    KcpUdpRelay::Impairment loss;
    loss.lossPercent = 10.0;
    relay.setImpairment(loss);
    QVERIFY2(relay.listen(QHostAddress::LocalHost), qPrintable(relay.errorString()));
    relay.setTarget(QHostAddress::LocalHost, peer.listeningPort());

    TransferEnd end(bytes, false, e.mss(), e.mss(), e.mss());
    QKcpSocket socket(plainConfig(e));
    KcpSocketSpies spies(&socket);
    QElapsedTimer clock;
    clock.start();
    socket.connectToHost(relay.address(), relay.port());
    QVERIFY(runUntil([&] { return spies.connected.count() == 1; }, 5000 * kSlowdown));
    end.attach(&socket, 1); // (the Listener quirk: see toKcpGoListener)
    QVERIFY2(runUntil([&] { return peer.accepted() > 0 || peer.failed() || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    end.release(bytes);
    const bool finished = runUntil(
        [&] { return (end.receiver.done() && peer.sessionOk()) || peer.failed() || spies.errorOccurred.count() > 0; },
        60000 * kSlowdown);
    const qint64 ms = clock.elapsed();
    QVERIFY2(end.receiver.failure().isEmpty(), qPrintable(end.receiver.failure()));
    QVERIFY2(!peer.failed(), qPrintable(peer.diagnostics()));
    QVERIFY2(spies.errorOccurred.isEmpty(), qPrintable(socket.errorString()));
    QVERIFY2(finished && end.receiver.ok(), qPrintable(peer.diagnostics()));
    QCOMPARE(peer.shaReceived(), end.sender.hexDigest());
    QCOMPARE(peer.shaSent(), end.receiver.hexDigest());
    report("lossy", bytes, ms);

    const QKcpStatistics s = socket.statistics();
    const KcpUdpRelay::Counters up = relay.counters(KcpUdpRelay::ClientToServer);
    const KcpUdpRelay::Counters down = relay.counters(KcpUdpRelay::ServerToClient);
    qInfo("lossy %s: relay dropped %llu of %llu up, %llu of %llu down; ours: fecRecovered %llu, fecParitySent %llu, "
          "retransmits %llu timeout + %llu fast; kcp-go: FECRecovered %llu, RetransSegs %llu",
          QTest::currentDataTag(), up.dropped, up.received, down.dropped, down.received, s.fecRecovered,
          s.fecParitySent, s.retransmitsTimeout, s.retransmitsFast, peer.snmp(QStringLiteral("FECRecovered")),
          peer.snmp(QStringLiteral("RetransSegs")));
    QVERIFY(down.dropped > 0 && up.dropped > 0);
    QVERIFY2(s.fecRecovered > 0, "no loss was repaired by FEC on our side");
    QVERIFY(s.fecParitySent > 0);
    QVERIFY2(peer.snmp(QStringLiteral("FECRecovered")) > 0, "kcp-go repaired nothing from our parity");
    QCOMPARE(s.droppedChecksum, 0ull);
    QCOMPARE(peer.snmp(QStringLiteral("InCsumErrors")), 0ull);
    socket.abort();
    peer.stop();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::wrongSettingsToKcpGoListener_data()
{
    QTest::addColumn<QString>("ourCipher");
    QTest::addColumn<QByteArray>("ourKey");
    QTest::addColumn<QString>("peerCipher");
    QTest::addColumn<QByteArray>("peerKey");
    QTest::addColumn<bool>("peerAccepts"); // kcp-go makes a session of our datagrams
    QTest::addColumn<QString>("errorText");

    const QByteArray key = testKey();
    const QByteArray other = QKcpConfig::kcptunKey(QStringLiteral("another passphrase"));
    const QString never = QStringLiteral("never answered");
    const QString undecodable = QStringLiteral("cannot be decoded");
    // kcp-go's CRC check fails: it drops our datagrams silently (InCsumErrors) and never answers.
    QTest::addRow("wrong key") << QStringLiteral("aes") << key << QStringLiteral("aes") << other << false << never;
    QTest::addRow("wrong cipher") << QStringLiteral("aes") << key << QStringLiteral("salsa20") << key << false << never;
    QTest::addRow("aes-128 vs aes-192") << QStringLiteral("aes-128") << key << QStringLiteral("aes-192") << key << false
                                        << never;
    QTest::addRow("no cipher vs aes") << QStringLiteral("none") << QByteArray() << QStringLiteral("aes") << key << false
                                      << never;
    // kcp-go without a cipher has no checksum: our encrypted datagram makes a session with a random conv (its
    // first 4 bytes), whose source role then sends us plain segments our decryption refuses.
    QTest::addRow("aes vs no cipher") << QStringLiteral("aes") << key << QStringLiteral("none") << QByteArray() << true
                                      << undecodable;
}

void tst_KcpGoInterop::wrongSettingsToKcpGoListener()
{
    // QKcpSocket with other crypto settings than the kcp-go Listener: no byte is ever delivered; the socket fails
    // with SocketTimeoutError within its (small) peer timeout, saying why as well as plain KCP can.
    QFETCH(QString, ourCipher);
    QFETCH(QByteArray, ourKey);
    QFETCH(QString, peerCipher);
    QFETCH(QByteArray, peerKey);
    QFETCH(bool, peerAccepts);
    QFETCH(QString, errorText);
    if (!haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");

    EndSettings p;
    p.cipher = peerCipher;
    p.key = peerKey;
    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}
                       + peerSessionArgs(p, QStringLiteral("both"), 1 << 20)));
    QVERIFY2(runUntil([&] { return peer.listeningPort() != 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QVERIFY2(peer.listeningPort() != 0, qPrintable(peer.diagnostics()));

    EndSettings o;
    o.cipher = ourCipher;
    o.key = ourKey;
    QKcpConfig config = plainConfig(o);
    const int peerTimeout = 1500;
    config.setPeerTimeout(peerTimeout);
    QKcpSocket socket(config);
    KcpSocketSpies spies(&socket);
    QElapsedTimer clock;
    clock.start();
    socket.connectToHost(QHostAddress::LocalHost, peer.listeningPort());
    QVERIFY(runUntil([&] { return spies.connected.count() == 1; }, 5000 * kSlowdown));
    // Plain KCP notices a silent peer only while data waits for an acknowledgement: write some.
    QCOMPARE(socket.write(kcpTestPattern(20000, 7)), qint64(20000));
    QVERIFY(runUntil([&] { return spies.errorOccurred.count() > 0; }, (peerTimeout + 5000) * kSlowdown));
    const qint64 ms = clock.elapsed();
    QCOMPARE(spies.lastError(), QAbstractSocket::SocketTimeoutError);
    QVERIFY2(socket.errorString().contains(errorText), qPrintable(socket.errorString()));
    QVERIFY2(ms >= peerTimeout - 100, qPrintable(QString::number(ms)));
    QVERIFY(runUntil([&] { return spies.disconnected.count() == 1; }, 2000 * kSlowdown));
    QCOMPARE(socket.state(), QAbstractSocket::UnconnectedState);

    // Nothing reached the application.
    QCOMPARE(spies.readyRead.count(), 0);
    QCOMPARE(socket.bytesAvailable(), 0);
    const QKcpStatistics s = socket.statistics();
    QCOMPARE(s.bytesReceived, 0ull);
    QCOMPARE(s.segmentsReceived, 0ull);
    if (errorText == QLatin1String("cannot be decoded"))
        QVERIFY(s.droppedChecksum > 0);
    else
        QCOMPARE(s.datagramsReceived, 0ull);
    qInfo("%s: %s after %lld ms; ours: %llu datagrams dropped by the checksum; kcp-go accepted %d session(s)",
          QTest::currentDataTag(), qPrintable(socket.errorString()), static_cast<long long>(ms), s.droppedChecksum,
          peer.accepted());
    QCOMPARE(peer.accepted() > 0, peerAccepts);
    QVERIFY2(!peer.sessionOk(), qPrintable(peer.diagnostics()));
    peer.stop();
}

void tst_KcpGoInterop::wrongKeyKcpGoTalksFirst()
{
    // A kcp-go client with the wrong key sends to our QKcpSocket (aes): every datagram fails our CRC check, none is
    // delivered, and the socket reports "cannot be decoded" at its peer timeout.
    if (!haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");
    EndSettings o;
    o.cipher = QStringLiteral("aes");
    o.key = testKey();
    EndSettings p = o;
    p.key = QKcpConfig::kcptunKey(QStringLiteral("another passphrase"));

    // Our local port must be known before the peer dials it: take a free one from the kernel.
    quint16 ourPort = 0;
    {
        QUdpSocket probe;
        QVERIFY(probe.bind(QHostAddress::LocalHost, 0));
        ourPort = probe.localPort();
    }
    QKcpConfig config = plainConfig(o);
    const int peerTimeout = 1500;
    config.setPeerTimeout(peerTimeout);
    QKcpSocket socket(config);
    KcpSocketSpies spies(&socket);
    QVERIFY(socket.bind(QHostAddress::LocalHost, ourPort));

    KcpGoPeer peer;
    QVERIFY(peer.start(
        QStringList{QStringLiteral("dial"), QStringLiteral("--connect"), QStringLiteral("127.0.0.1:%1").arg(ourPort)}
        + peerSessionArgs(p, QStringLiteral("source"), 1 << 20)));
    QVERIFY2(runUntil([&] { return peer.dialed() || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    const QString local = peer.lines().front().section(QStringLiteral("local="), 1).section(QLatin1Char(' '), 0, 0);
    const quint16 peerPort = static_cast<quint16>(local.section(QLatin1Char(':'), -1).toUInt());
    QVERIFY2(peerPort != 0, qPrintable(peer.diagnostics()));

    socket.connectToHost(QHostAddress::LocalHost, peerPort);
    QVERIFY(runUntil([&] { return spies.connected.count() == 1; }, 5000 * kSlowdown));
    QCOMPARE(socket.write(QByteArray(1000, 'x')), qint64(1000));
    QVERIFY(runUntil([&] { return spies.errorOccurred.count() > 0; }, (peerTimeout + 5000) * kSlowdown));
    QCOMPARE(spies.lastError(), QAbstractSocket::SocketTimeoutError);
    QVERIFY2(socket.errorString().contains(QLatin1String("cannot be decoded")), qPrintable(socket.errorString()));
    const QKcpStatistics s = socket.statistics();
    QVERIFY2(s.droppedChecksum > 0, qPrintable(peer.diagnostics()));
    QCOMPARE(spies.readyRead.count(), 0);
    QCOMPARE(s.bytesReceived, 0ull);
    QCOMPARE(s.segmentsReceived, 0ull);
    peer.stop();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::wrongSettingsFromKcpGoClient_data()
{
    QTest::addColumn<QString>("ourCipher");
    QTest::addColumn<QByteArray>("ourKey");
    QTest::addColumn<QString>("peerCipher");
    QTest::addColumn<QByteArray>("peerKey");

    const QByteArray key = testKey();
    const QByteArray other = QKcpConfig::kcptunKey(QStringLiteral("another passphrase"));
    QTest::addRow("wrong key") << QStringLiteral("aes") << key << QStringLiteral("aes") << other;
    QTest::addRow("wrong cipher") << QStringLiteral("aes") << key << QStringLiteral("3des") << key;
    QTest::addRow("aes vs no cipher") << QStringLiteral("aes") << key << QStringLiteral("none") << QByteArray();
    // No cipher on our side: no checksum either. kcp-go's encrypted datagrams are random bytes to us, which our
    // KCP header validation refuses (droppedMalformed) -- but that is luck of the format, not a check.
    QTest::addRow("no cipher vs aes") << QStringLiteral("none") << QByteArray() << QStringLiteral("aes") << key;
}

void tst_KcpGoInterop::wrongSettingsFromKcpGoClient()
{
    // A kcp-go client with other crypto settings than our QKcpServer: no session is ever created and the
    // datagrams are counted as drops.
    QFETCH(QString, ourCipher);
    QFETCH(QByteArray, ourKey);
    QFETCH(QString, peerCipher);
    QFETCH(QByteArray, peerKey);
    if (!haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");

    EndSettings o;
    o.cipher = ourCipher;
    o.key = ourKey;
    QKcpServer server(plainConfig(o));
    KcpServerSpies serverSpies(&server);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));

    EndSettings p;
    p.cipher = peerCipher;
    p.key = peerKey;
    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("dial"), QStringLiteral("--connect"),
                                   QStringLiteral("127.0.0.1:%1").arg(server.serverPort())}
                       + peerSessionArgs(p, QStringLiteral("both"), 1 << 20)));
    // kcp-go sends a window of data at once (32 segments: its initial idea of our window) and retransmits.
    QVERIFY2(runUntil([&] { return server.serverStatistics().datagramsReceived >= 32 || !peer.isRunning(); },
                      10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    const QKcpServerStatistics ss = server.serverStatistics();
    qInfo("%s: %llu datagrams received, %llu dropped by the checksum, %llu malformed, %u sessions",
          QTest::currentDataTag(), ss.datagramsReceived, ss.droppedChecksum, ss.droppedMalformed, ss.sessions);
    QCOMPARE(ss.sessions, 0u);
    QCOMPARE(ss.accepted, 0ull);
    QVERIFY(server.sessions().isEmpty());
    QCOMPARE(serverSpies.newConnection.count(), 0);
    QCOMPARE(serverSpies.pendingConnectionAvailable.count(), 0);
    QVERIFY(!server.hasPendingConnections());
    QCOMPARE(server.statistics().bytesReceived, 0ull);
    // Every datagram was dropped, and counted: by the checksum with a cipher, as malformed without one.
    QCOMPARE(ourCipher == QLatin1String("none") ? ss.droppedMalformed : ss.droppedChecksum, ss.datagramsReceived);
    peer.stop();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::fecMismatch_data()
{
    QTest::addColumn<int>("ourData");
    QTest::addColumn<int>("ourParity");
    QTest::addColumn<int>("peerData");
    QTest::addColumn<int>("peerParity");
    QTest::addColumn<double>("lossPercent");
    QTest::addColumn<bool>("toUs");       // direction: kcp-go sends, we receive (else we send, kcp-go receives)
    QTest::addColumn<QString>("outcome"); // intact | intact-no-recovery (other FEC parameters) | refused | kcp-go

    // kcp-go -> us (our decoder).
    QTest::addRow("kcp-go none -> ours 10/3") << 10 << 3 << 0 << 0 << 0.0 << true << QStringLiteral("intact");
    QTest::addRow("kcp-go 10/2 -> ours 10/3")
        << 10 << 3 << 10 << 2 << 0.0 << true << QStringLiteral("intact-no-recovery");
    QTest::addRow("kcp-go 4/2 -> ours 10/3")
        << 10 << 3 << 4 << 2 << 0.0 << true << QStringLiteral("intact-no-recovery");
    QTest::addRow("kcp-go 4/2 -> ours 10/3, 5 %% loss")
        << 10 << 3 << 4 << 2 << 5.0 << true << QStringLiteral("intact-no-recovery");
    QTest::addRow("kcp-go 10/3 -> ours none") << 0 << 0 << 10 << 3 << 0.0 << true << QStringLiteral("refused");
    // us -> kcp-go (kcp-go's decoder): recorded, not asserted; see the test's comment.
    QTest::addRow("ours 10/3 -> kcp-go none") << 10 << 3 << 0 << 0 << 0.0 << false << QStringLiteral("kcp-go");
    QTest::addRow("ours 10/3 -> kcp-go 4/2, 5 %% loss")
        << 10 << 3 << 4 << 2 << 5.0 << false << QStringLiteral("kcp-go");
}

void tst_KcpGoInterop::fecMismatch()
{
    // FEC settings that differ between the ends, one direction at a time (each decoder on its own). What happens:
    //  - Both kcp-go and kcpnet hand every data shard to KCP whatever their own FEC settings (the FEC header says
    //    what a datagram is), and a datagram without FEC header to KCP as it is. So data flow as long as the
    //    receiver has a FEC layer at all, and recovery is what differs.
    //  - Other parameters (4/2 or 10/2 against our 10/3, even without loss): the groups no longer line up.
    //    Rebuilding from them with our matrix would give garbage that KCP accepts (Reed-Solomon maps a column that
    //    is constant over the shards to the same constant, so the KCP header survives). kcpnet's decoder therefore
    //    rebuilds nothing until a group proves the peer's parameters equal ours, and stops at the first shard out
    //    of place (KcpFecDecoder::stats().mismatched): data shards still pass, losses are repaired by KCP.
    //  - No FEC layer on our side (ours none, kcp-go 10/3): kcp-go's FEC datagrams are refused (their first bytes
    //    are a FEC seqid, not our conv): nothing is delivered, nothing corrupted. (kcp-go in our place would
    //    unwrap the data shards.)
    //  - kcp-go receiving our 10/3 with FEC off or 4/2 re-tunes its decoder to the shard pattern it sees
    //    (fec.go autoTune) and, while doing so, may itself deliver wrong bytes: kcp-go 5.6.1 with FEC off receiving
    //    10/3 (from us, or from another kcp-go) reports wrong data at byte 15048. That is kcp-go's decoder;
    //    these rows record what it did and assert nothing about it.
    // FEC parameters must match on both ends (docs/INTEROP.md).
    QFETCH(int, ourData);
    QFETCH(int, ourParity);
    QFETCH(int, peerData);
    QFETCH(int, peerParity);
    QFETCH(double, lossPercent);
    QFETCH(bool, toUs);
    QFETCH(QString, outcome);

    EndSettings o;
    o.dataShards = ourData;
    o.parityShards = ourParity;
    EndSettings p;
    p.dataShards = peerData;
    p.parityShards = peerParity;
    const qint64 bytes = 2 * 1024 * 1024;

    KcpGoPeer peer;
    QVERIFY(peer.start(QStringList{QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}
                       + peerSessionArgs(p, toUs ? QStringLiteral("source") : QStringLiteral("sink"), bytes)));
    QVERIFY2(runUntil([&] { return peer.listeningPort() != 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    QVERIFY2(peer.listeningPort() != 0, qPrintable(peer.diagnostics()));
    KcpUdpRelay relay;
    relay.setSeed(77);
    KcpUdpRelay::Impairment loss;
    loss.lossPercent = lossPercent;
    // Loss only where the data goes (the decoder under test). The other way carries the receiver's ACKs, FEC-coded
    // with its own parameters, into the sender's mismatched decoder: kcp-go's rebuilds a lost one of ours from
    // shards that are not a group (garbage whose conv survives), and a garbage una acknowledges everything it
    // has in flight: kcp-go then stops sending for good (seen: 1 run in 10 stalled at ~650 KB under load).
    relay.setImpairment(toUs ? KcpUdpRelay::ServerToClient : KcpUdpRelay::ClientToServer, loss);
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, peer.listeningPort());

    // The receiver checks every byte; in one direction only one half of TransferEnd is used.
    TransferEnd end(bytes, false, o.mss(), o.mss(), o.mss());
    QKcpSocket socket(plainConfig(o));
    KcpSocketSpies spies(&socket);
    socket.connectToHost(relay.address(), relay.port());
    QVERIFY(runUntil([&] { return spies.connected.count() == 1; }, 5000 * kSlowdown));
    if (toUs) {
        QObject::connect(&socket, &QKcpSocket::readyRead, &socket, [&] { end.drain(&socket); });
        QCOMPARE(socket.write("!"), qint64(1)); // a first datagram, so that the Listener makes a session
    } else {
        end.attach(&socket, 1);
    }
    QVERIFY2(runUntil([&] { return peer.accepted() > 0 || !peer.isRunning(); }, 10000 * kSlowdown),
             qPrintable(peer.diagnostics()));
    if (!toUs)
        end.release(bytes);

    bool finished = false;
    if (outcome == QLatin1String("refused")) {
        finished = runUntil([&] { return socket.statistics().droppedWrongConversation >= 50; }, 10000 * kSlowdown);
    } else {
        finished = runUntil(
            [&] {
                return (toUs ? end.receiver.done() : peer.sessionOk()) || !end.receiver.failure().isEmpty()
                    || peer.failed() || !peer.isRunning();
            },
            30000 * kSlowdown);
    }
    const QKcpStatistics s = socket.statistics();
    const QString result = !end.receiver.failure().isEmpty() ? QStringLiteral("ours: ") + end.receiver.failure()
        : peer.failed()
        ? QStringLiteral("kcp-go: ") + peer.lines().filter(QStringLiteral("FAIL")).join(QLatin1Char(' '))
        : toUs && end.receiver.ok() ? QStringLiteral("intact")
        : !toUs && peer.sessionOk() ? QStringLiteral("intact")
                                    : QStringLiteral("incomplete");
    qInfo("%s: %s; ours: %lld bytes delivered, fecRecovered %llu, dropped: wrong conv %llu, malformed %llu; "
          "kcp-go: FECRecovered %llu, FECErrs %llu, KCPInErrors %llu",
          QTest::currentDataTag(), qPrintable(result), static_cast<long long>(end.receiver.received()), s.fecRecovered,
          s.droppedWrongConversation, s.droppedMalformed, peer.snmp(QStringLiteral("FECRecovered")),
          peer.snmp(QStringLiteral("FECErrs")), peer.snmp(QStringLiteral("KCPInErrors")));

    if (outcome == QLatin1String("kcp-go")) {
        // kcp-go's decoder; our end sent a correct stream (lossyFecRecovers checks it against kcp-go).
        QVERIFY(finished);
        QCOMPARE(s.bytesReceived, 0ull);
    } else if (outcome == QLatin1String("refused")) {
        QVERIFY2(finished, qPrintable(peer.diagnostics()));
        QCOMPARE(spies.readyRead.count(), 0);
        QCOMPARE(s.bytesReceived, 0ull);
        QCOMPARE(end.receiver.received(), 0);
    } else {
        QVERIFY2(end.receiver.failure().isEmpty(), qPrintable(end.receiver.failure()));
        QVERIFY2(finished && end.receiver.ok(), qPrintable(peer.diagnostics()));
        QCOMPARE(peer.shaSent(), end.receiver.hexDigest());
    }
    peer.stop();
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::plainBetweenKcpnetEnds_data()
{
    QTest::addColumn<QString>("ending");
    QTest::addRow("server session ends by idle timeout") << QStringLiteral("idle");
    QTest::addRow("server session ends by peer timeout") << QStringLiteral("peer");
    QTest::addRow("close with data in flight") << QStringLiteral("inflight");
}

void tst_KcpGoInterop::plainBetweenKcpnetEnds()
{
    // QKcpSocket (PlainKcp) <-> QKcpServer (PlainKcp), FEC 10/3 + aes: what PlainKcp gives and lacks between two
    // kcpnet ends. The echo works; disconnectFromHost() completes once everything is acknowledged, without a
    // datagram of its own (no FIN on the wire); the server never learns of it: its session stays connected until
    // its idle timeout (no data either way for idleTimeout) or, when it has data to deliver, its peer timeout.
    QFETCH(QString, ending);
    if (!haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");
    EndSettings e;
    e.cipher = QStringLiteral("aes");
    e.key = testKey();
    e.dataShards = 10;
    e.parityShards = 3;
    const int serverTimeout = 1500;
    QKcpConfig serverConfig = plainConfig(e);
    if (ending == QLatin1String("idle"))
        serverConfig.setIdleTimeout(serverTimeout);
    else
        serverConfig.setPeerTimeout(serverTimeout);
    const bool echo = ending != QLatin1String("inflight");

    QList<QPointer<QKcpSocket>> accepted;
    QByteArray serverReceived;
    std::unique_ptr<KcpSocketSpies> serverSpies;
    QByteArray clientReceived;
    QKcpServer server(serverConfig); // (after what its sockets' slots use: destroyed first)
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&] {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            accepted.append(s);
            if (accepted.size() == 1)
                serverSpies = std::make_unique<KcpSocketSpies>(s);
            QObject::connect(s, &QKcpSocket::readyRead, s, [&, s] {
                const QByteArray data = s->readAll();
                serverReceived += data;
                if (echo)
                    s->write(data);
            });
        }
    });
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));

    QKcpSocket client(plainConfig(e));
    KcpSocketSpies spies(&client);
    kcpCollectInto(&client, &clientReceived);
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    // No handshake: connected() comes at once, before the server has heard anything.
    QVERIFY(runUntil([&] { return spies.connected.count() == 1; }, 5000 * kSlowdown));
    QCOMPARE(server.serverStatistics().accepted, 0ull);

    const QByteArray payload = kcpTestPattern(echo ? 300000 : 1 << 20, 99);
    QCOMPARE(client.write(payload), qint64(payload.size()));
    if (echo) {
        QVERIFY(runUntil([&] { return clientReceived.size() >= payload.size(); }, 20000 * kSlowdown));
        QCOMPARE(clientReceived, payload);
        QCOMPARE(accepted.size(), 1);
        // Wait until both ends have everything acknowledged (the server's last echo included): from then on
        // neither end has anything to send.
        QVERIFY(runUntil(
            [&] {
                const QKcpStatistics c = client.statistics();
                const QKcpStatistics s = accepted.front()->statistics();
                return c.inFlight == 0 && c.sendQueue == 0 && s.inFlight == 0 && s.sendQueue == 0
                    && client.bytesToWrite() == 0 && accepted.front()->bytesToWrite() == 0;
            },
            10000 * kSlowdown));
    }

    // Plausible statistics on both ends.
    {
        QTRY_COMPARE_WITH_TIMEOUT(accepted.size(), 1, 5000 * kSlowdown);
        const QKcpStatistics c = client.statistics();
        const QKcpStatistics s = accepted.front()->statistics();
        QVERIFY(c.conversation != 0);
        QCOMPARE(s.conversation, c.conversation);
        QCOMPARE(c.bytesSent, quint64(payload.size()));
        if (echo) {
            QCOMPARE(c.bytesReceived, quint64(payload.size()));
            QCOMPARE(s.bytesReceived, quint64(payload.size()));
            QCOMPARE(s.bytesSent, quint64(payload.size()));
            QVERIFY(s.fecParitySent > 0);
        }
        QVERIFY(c.fecParitySent > 0);
        QVERIFY(c.datagramsSent > c.fecParitySent);
        QVERIFY(c.wireBytesSent > c.bytesSent);
        QCOMPARE(c.droppedChecksum, 0ull);
        QCOMPARE(s.droppedChecksum, 0ull);
        QCOMPARE(c.handshakeRtt, 0u);     // no handshake in plain mode
        QCOMPARE(c.keepAlivesSent, 0ull); // no keepalive either
        QVERIFY(c.srtt < 1000);
        const QKcpServerStatistics ss = server.serverStatistics();
        QCOMPARE(ss.accepted, 1ull);
        QCOMPARE(ss.handshakes, 0ull);
        QCOMPARE(server.statistics().sessions, 1u);
    }

    // Close: no FIN, so the close sends nothing when everything was already acknowledged.
    const quint64 datagramsBefore = client.statistics().datagramsSent;
    QElapsedTimer closing;
    closing.start();
    client.disconnectFromHost();
    QVERIFY(runUntil([&] { return spies.disconnected.count() == 1; }, 10000 * kSlowdown));
    QCOMPARE(spies.errorOccurred.count(), 0);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    if (echo) {
        QCOMPARE(client.statistics().datagramsSent, datagramsBefore);
    } else {
        // The close waited for the acknowledgement of everything written: the server has all of it.
        QVERIFY(runUntil([&] { return serverReceived.size() >= payload.size(); }, 5000 * kSlowdown));
        QCOMPARE(serverReceived, payload);
    }

    // The server never learns of the close: its session stays connected...
    QCOMPARE(server.sessions().size(), 1);
    QKcpSocket *serverSide = accepted.front();
    QCOMPARE(serverSide->state(), QAbstractSocket::ConnectedState);
    QCOMPARE(serverSpies->readChannelFinished.count(), 0);
    QCOMPARE(serverSpies->disconnected.count(), 0);

    // ... until one of its timers ends it.
    QString expectedText;
    if (ending == QLatin1String("idle")) {
        expectedText = QStringLiteral("idle");
    } else {
        // Plain KCP notices a missing peer only while data waits for an acknowledgement.
        QCOMPARE(serverSide->write(QByteArray(5000, 'z')), qint64(5000));
        expectedText = QStringLiteral("peer timeout");
    }
    QVERIFY(runUntil([&] { return serverSpies->disconnected.count() == 1; }, (serverTimeout + 5000) * kSlowdown));
    const qint64 sessionLingered = closing.elapsed();
    QCOMPARE(serverSpies->lastError(), QAbstractSocket::SocketTimeoutError);
    QCOMPARE(serverSpies->readChannelFinished.count(), 0);
    QVERIFY2(serverSide->errorString().contains(expectedText), qPrintable(serverSide->errorString()));
    QVERIFY2(sessionLingered >= serverTimeout - 200, qPrintable(QString::number(sessionLingered)));
    QVERIFY(runUntil([&] { return server.sessions().isEmpty(); }, 2000 * kSlowdown));
    qInfo("%s: the client's close took %s; the server session lingered %lld ms after it", QTest::currentDataTag(),
          echo ? "no datagram" : "until its data were acknowledged", static_cast<long long>(sessionLingered));
}

// ---------------------------------------------------------------------------------------------------------------

void tst_KcpGoInterop::corruptionWithoutChecksum_data()
{
    QTest::addColumn<QString>("cipher");
    QTest::addColumn<bool>("intact");
    QTest::addRow("none: corrupted bytes reach the application") << QStringLiteral("none") << false;
    QTest::addRow("null: kcp-go's CRC32 drops them") << QStringLiteral("null") << true;
}

void tst_KcpGoInterop::corruptionWithoutChecksum()
{
    // PlainKcp has no checksum of its own. Without a cipher a datagram damaged on the way that still parses as KCP
    // is delivered as it is; kcp-go's "null" cipher (nonce + CRC32, no encryption) or any real cipher catches it
    // (and KCP then resends the dropped segment). Two kcpnet ends, 2 % of the client's datagrams get one byte
    // flipped by the relay.
    QFETCH(QString, cipher);
    QFETCH(bool, intact);
    if (cipher != QLatin1String("none") && !haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");
    EndSettings e;
    e.cipher = cipher;
    e.key = cipher == QLatin1String("none") ? QByteArray() : testKey();

    QList<QPointer<QKcpSocket>> accepted;
    QByteArray received;
    QKcpServer server(plainConfig(e));
    QObject::connect(&server, &QKcpServer::newConnection, &server, [&] {
        while (QKcpSocket *s = server.nextPendingConnection()) {
            accepted.append(s);
            kcpCollectInto(s, &received);
        }
    });
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    KcpUdpRelay relay;
    relay.setSeed(4242);
    KcpUdpRelay::Impairment damage;
    damage.corruptPercent = 2.0;
    relay.setImpairment(KcpUdpRelay::ClientToServer, damage);
    QVERIFY(relay.listen(QHostAddress::LocalHost));
    relay.setTarget(QHostAddress::LocalHost, server.serverPort());

    QKcpSocket client(plainConfig(e));
    client.connectToHost(relay.address(), relay.port());
    QVERIFY(runUntil([&] { return client.state() == QAbstractSocket::ConnectedState; }, 5000 * kSlowdown));
    const QByteArray payload = kcpTestPattern(1 << 20, 5);
    QCOMPARE(client.write(payload), qint64(payload.size()));
    // Done when everything written is acknowledged and (as far as it goes) read.
    const bool settled = runUntil(
        [&] {
            return client.bytesToWrite() == 0 && client.statistics().inFlight == 0 && !accepted.isEmpty()
                && accepted.front()->bytesAvailable() == 0 && received.size() >= payload.size();
        },
        10000 * kSlowdown);
    const quint64 corrupted = relay.counters(KcpUdpRelay::ClientToServer).corrupted;
    QVERIFY(corrupted > 0);
    QVERIFY(!accepted.isEmpty());
    const QKcpStatistics s = accepted.front()->statistics();
    qsizetype wrong = 0;
    for (qsizetype i = 0; i < std::min(received.size(), payload.size()); ++i)
        wrong += received.at(i) != payload.at(i) ? 1 : 0;
    qInfo("%s: %llu datagrams damaged; the server read %lld bytes, %lld of them wrong; it dropped %llu by the "
          "checksum, %llu as malformed, %llu for another conv",
          QTest::currentDataTag(), corrupted, static_cast<long long>(received.size()), static_cast<long long>(wrong),
          s.droppedChecksum, s.droppedMalformed, s.droppedWrongConversation);
    if (intact) {
        QVERIFY(settled);
        QCOMPARE(received, payload);
        QVERIFY(s.droppedChecksum > 0);
    } else {
        QCOMPARE(s.droppedChecksum, 0ull); // nothing could check
        QVERIFY2(received != payload, "2 % of the datagrams were damaged, and yet every byte arrived right");
    }
}

void tst_KcpGoInterop::invalidPacketLayerSettings_data()
{
    QTest::addColumn<QString>("cipher");
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<int>("dataShards");
    QTest::addColumn<int>("parityShards");
    QTest::addRow("unknown cipher") << QStringLiteral("blowfish") << testKey() << 0 << 0;
    QTest::addRow("key too short") << QStringLiteral("aes") << testKey().left(8) << 0 << 0;
    QTest::addRow("more than 256 shards") << QStringLiteral("none") << QByteArray() << 200 << 100;
}

void tst_KcpGoInterop::invalidPacketLayerSettings()
{
    // kcp-go packet layers that cannot be built (a cipher kcpnet lacks, a key shorter than the cipher needs, more
    // shards than Reed-Solomon over GF(2^8) allows) are refused with a clear error, not run half-configured.
    QFETCH(QString, cipher);
    QFETCH(QByteArray, key);
    QFETCH(int, dataShards);
    QFETCH(int, parityShards);
    if (cipher != QLatin1String("none") && !haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");
    EndSettings e;
    e.cipher = cipher;
    e.key = key;
    e.dataShards = dataShards;
    e.parityShards = parityShards;

    QKcpSocket socket(plainConfig(e));
    KcpSocketSpies spies(&socket);
    socket.connectToHost(QHostAddress::LocalHost, 9); // nothing is sent: the layers fail first
    QVERIFY(runUntil([&] { return spies.errorOccurred.count() > 0; }, 5000 * kSlowdown));
    QCOMPARE(spies.lastError(), QAbstractSocket::UnsupportedSocketOperationError);
    QVERIFY2(socket.errorString().contains(QLatin1String("kcp-go packet layers")), qPrintable(socket.errorString()));
    QCOMPARE(socket.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(spies.connected.count(), 0);

    // A server with such settings should not listen: it would drop every datagram (as malformed) without a word.
    QKcpServer server(plainConfig(e));
    QVERIFY(!server.listen(QHostAddress::LocalHost, 0));
    QCOMPARE(server.serverError(), QAbstractSocket::UnsupportedSocketOperationError);
}

void tst_KcpGoInterop::maximumMessageSizeBeforeConnect()
{
    // maximumMessageSize() before the session exists (before connectToHost(), or during the host lookup that
    // connectToHost(QString) starts) should already account for the PlainKcp packet layers, which shrink the MSS
    // (aes: 20 bytes, FEC: 8). Otherwise a message written during the lookup may pass writeMessage() and then be
    // refused by KCP once the session exists, and lost.
    if (!haveCiphers())
        QSKIP("this build has no kcp-go ciphers (OpenSSL missing)");
    EndSettings e;
    e.messageMode = true;
    e.cipher = QStringLiteral("aes");
    e.key = testKey();
    e.dataShards = 10;
    e.parityShards = 3;
    QKcpServer server(plainConfig(e));
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QKcpSocket socket(plainConfig(e));
    const qint64 before = socket.maximumMessageSize();
    socket.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QVERIFY(runUntil([&] { return socket.state() == QAbstractSocket::ConnectedState; }, 5000 * kSlowdown));
    const qint64 after = socket.maximumMessageSize();
    QCOMPARE(after, qint64(e.mss()) * 255);
    QCOMPARE(before, after);
}

QTEST_MAIN(tst_KcpGoInterop)
#include "tst_kcpgointerop.moc"
