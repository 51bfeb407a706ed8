// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// tunnel-interop: end-to-end runs of kcpnet-tunnel against Debian's kcptun (and itself), all on 127.0.0.1.
//
//   tunnel-interop --tunnel build/demos/tunnel/kcpnet-tunnel --pair ours:kcptun [--flags "--crypt none --nocomp"]
//
// For each --pair CLIENT:SERVER (each "ours" or "kcptun"), in order: starts a TCP echo target (its own thread), the
// server end (-t the echo target), the client end (-r the server), then opens --connections TCP connections to the
// client end at once and sends --bytes on each while reading the echo. Every connection's echo is compared with what
// was sent byte by byte and by SHA-256; once all are back the connections close and the echo target must see every
// one of its connections closed too (the close crossed the tunnel). Prints a RESULT line with the throughput per
// pair, and PASS or FAIL. Exit 0 pass, 1 fail, 77 skip (kcptun binaries missing).
//
// Child processes get PR_SET_PDEATHSIG(SIGKILL), and are stopped on every path (normal end, failure, timeout).
// No sleeps: every wait is for a condition (a log line, a bound port, a byte count), bounded in time.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>
#include <QUdpSocket>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr int kSkip = 77;

void say(const QString &line)
{
    std::printf("%s\n", qPrintable(line));
    std::fflush(stdout);
}

// Runs the event loop until pred() holds or ms elapse. The predicate is checked after events and every 10 ms.
bool waitUntil(const std::function<bool()> &pred, int ms)
{
    QElapsedTimer t;
    t.start();
    while (!pred()) {
        if (t.hasExpired(ms))
            return false;
        QEventLoop loop;
        QTimer::singleShot(10, &loop, &QEventLoop::quit);
        loop.exec();
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Test data: a deterministic stream per connection, the same whatever the piece sizes it is produced in.
// 4 KiB blocks; in "mixed" every third block is random bytes and the others are text (snappy compresses those).
class DataStream
{
public:
    enum Kind {
        Mixed,
        Random,
        Text,
    };
    DataStream(quint64 seed, Kind kind)
        : m_seed(seed)
        , m_kind(kind)
    {}

    void fill(char *out, qint64 n)
    {
        while (n > 0) {
            if (m_offset == kBlock) {
                makeBlock(m_block++);
                m_offset = 0;
            }
            const qint64 take = std::min<qint64>(n, kBlock - m_offset);
            std::memcpy(out, m_buf + m_offset, static_cast<size_t>(take));
            m_offset += static_cast<int>(take);
            out += take;
            n -= take;
        }
    }

private:
    static constexpr int kBlock = 4096;

    static quint64 mix(quint64 x)
    {
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
    }

    void makeBlock(quint64 index)
    {
        quint64 state = mix(m_seed * 0x9e3779b97f4a7c15ULL + index + 1);
        auto next = [&state] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return state;
        };
        const bool random = m_kind == Random || (m_kind == Mixed && index % 3 == 0);
        if (random) {
            for (int i = 0; i < kBlock; i += 8) {
                const quint64 v = next();
                std::memcpy(m_buf + i, &v, 8);
            }
        } else {
            static const char *const words[] = {"kcp ",    "tunnel ", "smux ",  "stream ", "window ", "frame ",
                                                "snappy ", "qt ",     "event ", "loop ",   "socket ", "bytes\n"};
            int at = 0;
            while (at < kBlock) {
                const char *w = words[next() % 12];
                const int len = static_cast<int>(std::strlen(w));
                const int take = std::min(len, kBlock - at);
                std::memcpy(m_buf + at, w, static_cast<size_t>(take));
                at += take;
            }
        }
    }

    quint64 m_seed;
    Kind m_kind;
    quint64 m_block = 0;
    int m_offset = kBlock;
    char m_buf[kBlock];
};

// ---------------------------------------------------------------------------------------------------------------
// The TCP target: echoes every byte back, with back-pressure (stops reading while the write buffer is full).
// A connection whose first bytes are kStallMagic is not read at all until release() (the back-pressure scenario).
const QByteArray kStallMagic("STALLME!");

class EchoServer : public QObject
{
public:
    std::atomic<int> active{0};
    std::atomic<int> accepted{0};
    std::atomic<int> stalledNow{0};
    std::atomic<quint64> echoed{0};

    quint16 listen()
    {
        m_server = new QTcpServer(this);
        m_server->setListenBacklogSize(1024);
        if (!m_server->listen(QHostAddress::LocalHost, 0))
            return 0;
        connect(m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server->nextPendingConnection()) {
                ++active;
                ++accepted;
                m_state.emplace(s, State());
                s->setReadBufferSize(256 * 1024);
                connect(s, &QTcpSocket::readyRead, this, [this, s] { pump(s); });
                connect(s, &QTcpSocket::bytesWritten, this, [this, s] { pump(s); });
                connect(s, &QTcpSocket::disconnected, this, [this, s] {
                    --active;
                    if (m_state[s].stalled)
                        --stalledNow;
                    m_state.erase(s);
                    s->deleteLater();
                });
                pump(s);
            }
        });
        return m_server->serverPort();
    }

    // Runs in the echo thread (invokeMethod): the stalled connections are read and echoed from now on.
    void release()
    {
        for (auto &entry : m_state) {
            if (entry.second.stalled) {
                entry.second.stalled = false;
                --stalledNow;
                pump(entry.first);
            }
        }
    }

private:
    struct State {
        bool checked = false;
        bool stalled = false;
    };

    void pump(QTcpSocket *s)
    {
        State &st = m_state[s];
        if (!st.checked) {
            if (s->bytesAvailable() < kStallMagic.size())
                return;
            st.checked = true;
            if (s->peek(kStallMagic.size()) == kStallMagic) {
                st.stalled = true;
                ++stalledNow;
            }
        }
        if (st.stalled)
            return;
        char buf[65536];
        while (s->bytesToWrite() < 512 * 1024 && s->bytesAvailable() > 0) {
            const qint64 n = s->read(buf, sizeof buf);
            if (n <= 0)
                break;
            s->write(buf, n);
            echoed += static_cast<quint64>(n);
        }
    }

    QTcpServer *m_server = nullptr;
    std::map<QTcpSocket *, State> m_state;
};

// ---------------------------------------------------------------------------------------------------------------
// A child process (one tunnel end), its output kept for the "listening on:" line and for diagnostics.
class Child
{
public:
    explicit Child(QString name)
        : m_name(std::move(name))
    {}
    ~Child() { stop(); }

    void start(const QString &program, const QStringList &args)
    {
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.setChildProcessModifier([] {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL); // dies with the driver, however the driver ends
        });
        QObject::connect(&m_process, &QProcess::readyRead, [this] { m_log += m_process.readAll(); });
        m_commandLine = program + QLatin1Char(' ') + args.join(QLatin1Char(' '));
        m_process.start(program, args);
    }
    bool running() const { return m_process.state() != QProcess::NotRunning; }
    // The port of the first "listening on: ADDRESS:PORT" line, or 0.
    quint16 listeningPort() const
    {
        static const QRegularExpression re(QStringLiteral("listening on: \\S*:(\\d+)\\s"));
        const QRegularExpressionMatch m = re.match(QString::fromLocal8Bit(m_log));
        return m.hasMatch() ? static_cast<quint16>(m.captured(1).toUInt()) : 0;
    }
    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.terminate();
        if (!m_process.waitForFinished(3000)) {
            m_process.kill();
            m_process.waitForFinished(3000);
        }
        m_log += m_process.readAll();
    }
    QString tail(int lines) const
    {
        QStringList all = QString::fromLocal8Bit(m_log).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        if (all.size() > lines)
            all = all.mid(all.size() - lines);
        return QStringLiteral("---- %1: %2\n%3").arg(m_name, m_commandLine, all.join(QLatin1Char('\n')));
    }
    const QString &name() const { return m_name; }
    // Our tunnel's totals line at exit ("streams opened N, closed M"): N == M. True when there is no such line.
    bool streamsBalanced() const
    {
        static const QRegularExpression re(QStringLiteral("streams opened (\\d+), closed (\\d+)"));
        const QRegularExpressionMatch m = re.match(QString::fromLocal8Bit(m_log));
        if (!m.hasMatch())
            return true;
        say(QStringLiteral("  %1: streams opened %2, closed %3").arg(m_name, m.captured(1), m.captured(2)));
        return m.captured(1) == m.captured(2);
    }
    // Resident memory in KiB (/proc/PID/status VmRSS), or -1.
    qint64 rssKb() const
    {
        QFile f(QStringLiteral("/proc/%1/status").arg(m_process.processId()));
        if (m_process.processId() <= 0 || !f.open(QIODevice::ReadOnly))
            return -1;
        for (const QByteArray &line : f.readAll().split('\n')) {
            if (line.startsWith("VmRSS:"))
                return line.mid(6).trimmed().split(' ').constFirst().toLongLong();
        }
        return -1;
    }

private:
    QString m_name;
    QString m_commandLine;
    QProcess m_process;
    QByteArray m_log;
};

// Whether a UDP port is bound on this machine (/proc/net/udp and udp6): kcptun-server says "listening on:" before it
// binds, so its readiness is read from the kernel.
bool udpPortBound(quint16 port)
{
    for (const char *path : {"/proc/net/udp", "/proc/net/udp6"}) {
        QFile f(QString::fromLatin1(path));
        if (!f.open(QIODevice::ReadOnly))
            continue;
        const QByteArray needle = ':' + QByteArray::number(port, 16).toUpper().rightJustified(4, '0') + ' ';
        const QList<QByteArray> lines = f.readAll().split('\n');
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QList<QByteArray> cols = lines.at(i).simplified().split(' ');
            if (cols.size() > 2 && (cols.at(1) + ' ').endsWith(needle))
                return true;
        }
    }
    return false;
}

quint16 freeUdpPort()
{
    QUdpSocket s;
    return s.bind(QHostAddress::LocalHost, 0) ? s.localPort() : 0;
}

quint16 freeTcpPort()
{
    QTcpServer s;
    return s.listen(QHostAddress::LocalHost, 0) ? s.serverPort() : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// One TCP connection through the tunnel.
struct Connection {
    int index = 0;
    QTcpSocket *socket = nullptr;
    std::unique_ptr<DataStream> out;
    std::unique_ptr<DataStream> expect;
    QByteArray prefix; // sent before the data stream (kStallMagic for the stalled connection)
    QCryptographicHash sentHash{QCryptographicHash::Sha256};
    QCryptographicHash recvHash{QCryptographicHash::Sha256};
    qint64 total = 0;
    qint64 sent = 0;
    qint64 received = 0;
    bool done = false;
    bool closed = false;
    QString error;
    QByteArray sentDigest;
    QByteArray recvDigest;
};

struct Settings {
    QString tunnel;
    QString kcptunClient;
    QString kcptunServer;
    QStringList flags;
    int connections = 8;
    qint64 bytes = 5000000;
    int timeoutMs = 25000;
    DataStream::Kind kind = DataStream::Mixed;
    bool backpressure = false;
    bool refused = false;   // the server end's target port is closed: every connection must be closed by the tunnel
    bool blackhole = false; // no server end: a UDP port that never answers; the client's keepalive timeout must end it
    int holdMs = 0;         // keep the connections open (idle) this long after the echo, before closing them
    qint64 stallBytes = 96000000;
    qint64 maxGrowthKb = 40 * 1024;
};

struct PairResult {
    QString label;
    bool ok = false;
    double seconds = 0;
    double mbps = 0;
};

class PairRun
{
public:
    PairRun(const Settings &s, EchoServer *echo, quint16 echoPort, QString clientKind, QString serverKind)
        : m_s(s)
        , m_echo(echo)
        , m_echoPort(echoPort)
        , m_clientKind(std::move(clientKind))
        , m_serverKind(std::move(serverKind))
    {}

    PairResult run()
    {
        PairResult r;
        r.label = QStringLiteral("%1 client -> %2 server").arg(m_clientKind, m_serverKind);
        say(QStringLiteral("== %1, flags: %2")
                .arg(r.label,
                     m_s.flags.isEmpty() ? QStringLiteral("(kcptun defaults)") : m_s.flags.join(QLatin1Char(' '))));
        bool ok = m_s.refused || m_s.blackhole ? startEnds() && refusedTarget()
                                               : startEnds() && transfer(&r) && closePropagates();
        bool counts = true;
        if (m_client)
            m_client->stop();
        if (m_server)
            m_server->stop();
        for (Child *c : {m_server.get(), m_client.get()}) {
            if (c && c->name().startsWith(QLatin1String("ours")) && !c->streamsBalanced()) {
                say(QStringLiteral("FAILED: %1 did not close every stream it opened").arg(c->name()));
                counts = false;
            }
        }
        ok = ok && counts;
        if (!ok) {
            for (Child *c : {m_server.get(), m_client.get()}) {
                if (c) {
                    c->stop();
                    say(c->tail(25));
                }
            }
        }
        for (const auto &c : m_conns)
            delete c->socket;
        m_conns.clear();
        if (m_client)
            m_client->stop();
        if (m_server)
            m_server->stop();
        r.ok = ok;
        say(QStringLiteral("%1: %2").arg(r.label, ok ? QStringLiteral("PASS") : QStringLiteral("FAIL")));
        return r;
    }

private:
    bool fail(const QString &why)
    {
        say(QStringLiteral("FAILED: %1").arg(why));
        return false;
    }

    bool startEnds()
    {
        const QString echoTarget = QStringLiteral("127.0.0.1:%1").arg(m_s.refused ? freeTcpPort() : m_echoPort);
        // Server end.
        quint16 serverPort = 0;
        if (m_s.blackhole) {
            m_blackhole = std::make_unique<QUdpSocket>();
            if (!m_blackhole->bind(QHostAddress::LocalHost, 0))
                return fail(QStringLiteral("cannot bind the black-hole UDP port"));
            serverPort = m_blackhole->localPort();
            say(QStringLiteral("  server end: a UDP port that never answers (%1)").arg(serverPort));
        }
        for (int attempt = 0; attempt < 3 && serverPort == 0; ++attempt) {
            m_server = std::make_unique<Child>(m_serverKind + QStringLiteral(" server"));
            if (m_serverKind == QLatin1String("ours")) {
                m_server->start(m_s.tunnel,
                                QStringList{QStringLiteral("server"), QStringLiteral("-l"),
                                            QStringLiteral("127.0.0.1:0"), QStringLiteral("-t"), echoTarget,
                                            QStringLiteral("--quiet")}
                                    + m_s.flags);
                if (!waitUntil([&] { return m_server->listeningPort() != 0 || !m_server->running(); }, 10000))
                    return fail(QStringLiteral("our server did not start listening within 10 s"));
                serverPort = m_server->listeningPort();
            } else {
                const quint16 port = freeUdpPort();
                m_server->start(m_s.kcptunServer,
                                QStringList{QStringLiteral("-l"), QStringLiteral("127.0.0.1:%1").arg(port),
                                            QStringLiteral("-t"), echoTarget, QStringLiteral("--quiet")}
                                    + m_s.flags);
                if (waitUntil([&] { return udpPortBound(port) || !m_server->running(); }, 10000) && m_server->running())
                    serverPort = port;
            }
            if (serverPort == 0 && !m_server->running())
                say(QStringLiteral("server end exited at start (attempt %1)").arg(attempt + 1));
        }
        if (serverPort == 0)
            return fail(QStringLiteral("the server end did not start"));

        // Client end.
        const QString remote = QStringLiteral("127.0.0.1:%1").arg(serverPort);
        for (int attempt = 0; attempt < 3 && m_clientPort == 0; ++attempt) {
            m_client = std::make_unique<Child>(m_clientKind + QStringLiteral(" client"));
            if (m_clientKind == QLatin1String("ours")) {
                m_client->start(m_s.tunnel,
                                QStringList{QStringLiteral("client"), QStringLiteral("-l"),
                                            QStringLiteral("127.0.0.1:0"), QStringLiteral("-r"), remote,
                                            QStringLiteral("--quiet")}
                                    + m_s.flags);
            } else {
                m_client->start(m_s.kcptunClient,
                                QStringList{QStringLiteral("-l"), QStringLiteral("127.0.0.1:%1").arg(freeTcpPort()),
                                            QStringLiteral("-r"), remote, QStringLiteral("--quiet")}
                                    + m_s.flags);
            }
            if (!waitUntil([&] { return m_client->listeningPort() != 0 || !m_client->running(); }, 10000))
                return fail(QStringLiteral("the client end did not start listening within 10 s"));
            if (m_client->running())
                m_clientPort = m_client->listeningPort();
            else
                say(QStringLiteral("client end exited at start (attempt %1)").arg(attempt + 1));
        }
        if (m_clientPort == 0)
            return fail(QStringLiteral("the client end did not start"));
        return true;
    }

    void pumpOut(Connection &c)
    {
        static thread_local QByteArray buf(65536, Qt::Uninitialized);
        if (c.sent == 0 && !c.prefix.isEmpty()) {
            c.sentHash.addData(c.prefix);
            c.socket->write(c.prefix);
            c.sent = c.prefix.size();
        }
        while (c.sent < c.total && c.socket->bytesToWrite() < 256 * 1024) {
            const qint64 n = std::min<qint64>(buf.size(), c.total - c.sent);
            c.out->fill(buf.data(), n);
            c.sentHash.addData(QByteArrayView(buf.constData(), n));
            if (c.socket->write(buf.constData(), n) != n) {
                c.error = QStringLiteral("write failed: %1").arg(c.socket->errorString());
                return;
            }
            c.sent += n;
        }
        if (c.sent == c.total && c.sentDigest.isEmpty())
            c.sentDigest = c.sentHash.result();
    }

    void pumpIn(Connection &c)
    {
        static thread_local QByteArray expected;
        const QByteArray got = c.socket->readAll();
        if (got.isEmpty() || !c.error.isEmpty())
            return;
        if (c.received + got.size() > c.total) {
            c.error =
                QStringLiteral("%1 bytes echoed, more than the %2 sent").arg(c.received + got.size()).arg(c.total);
            return;
        }
        // What should have come back: the prefix, then the data stream.
        expected.resize(got.size());
        qsizetype at = 0;
        while (c.received + at < c.prefix.size() && at < got.size()) {
            expected[at] = c.prefix.at(c.received + at);
            ++at;
        }
        c.expect->fill(expected.data() + at, got.size() - at);
        if (std::memcmp(expected.constData(), got.constData(), static_cast<size_t>(got.size())) != 0) {
            qsizetype bad = 0;
            while (bad < got.size() && got.at(bad) == expected.at(bad))
                ++bad;
            c.error = QStringLiteral("echo differs from what was sent at byte %1").arg(c.received + bad);
            return;
        }
        c.recvHash.addData(got);
        c.received += got.size();
        if (c.received == c.total) {
            c.recvDigest = c.recvHash.result();
            c.done = true;
            if (m_s.holdMs <= 0)
                c.socket->disconnectFromHost(); // kcptun has no half-close: close once everything came back
        }
    }

    void openConnections()
    {
        for (int i = 0; i < m_s.connections; ++i) {
            m_conns.push_back(std::make_unique<Connection>());
            Connection &c = *m_conns.back();
            c.index = i;
            c.total = m_s.bytes;
            if (m_s.backpressure && i == 0) {
                c.prefix = kStallMagic;
                c.total = kStallMagic.size() + m_s.stallBytes;
            }
            c.out = std::make_unique<DataStream>(static_cast<quint64>(1000 + i), m_s.kind);
            c.expect = std::make_unique<DataStream>(static_cast<quint64>(1000 + i), m_s.kind);
            c.socket = new QTcpSocket;
            c.socket->setReadBufferSize(512 * 1024);
            Connection *cp = &c;
            QObject::connect(c.socket, &QTcpSocket::connected, c.socket, [this, cp] { pumpOut(*cp); });
            QObject::connect(c.socket, &QTcpSocket::bytesWritten, c.socket, [this, cp] { pumpOut(*cp); });
            QObject::connect(c.socket, &QTcpSocket::readyRead, c.socket, [this, cp] { pumpIn(*cp); });
            QObject::connect(c.socket, &QTcpSocket::disconnected, c.socket, [cp] {
                cp->closed = true;
                if (!cp->done && cp->error.isEmpty())
                    cp->error = QStringLiteral("closed by the tunnel after %1 of %2 bytes echoed (%3)")
                                    .arg(cp->received)
                                    .arg(cp->total)
                                    .arg(cp->socket->errorString());
            });
            c.socket->connectToHost(QHostAddress::LocalHost, m_clientPort);
        }
    }

    bool anyClosed() const
    {
        for (const auto &c : m_conns) {
            if (c->closed)
                return true;
        }
        return false;
    }

    bool anyError() const
    {
        for (const auto &c : m_conns) {
            if (!c->error.isEmpty())
                return true;
        }
        return false;
    }

    // Back-pressure: connection 0's target reads nothing. The sender must come to a stop (the tunnel buffers a bounded
    // amount, not all of it), the tunnel processes must not grow by more than a bound, and with smux v2 the other
    // connections must complete meanwhile (per-stream windows: no head-of-line blocking). Then the target reads again
    // and everything must arrive.
    bool stallPhase()
    {
        const qint64 clientBase = m_client->rssKb();
        const qint64 serverBase = m_server->rssKb();
        Connection &stalled = *m_conns.front();
        qint64 lastSent = -1;
        QElapsedTimer still;
        still.start();
        const bool stopped = waitUntil(
            [&] {
                if (stalled.sent != lastSent) {
                    lastSent = stalled.sent;
                    still.restart();
                }
                return still.hasExpired(1000) || stalled.sent == stalled.total || anyError();
            },
            m_s.timeoutMs);
        if (anyError())
            return fail(QStringLiteral("a connection failed while the target was stalled"));
        if (!stopped || stalled.sent == stalled.total)
            return fail(QStringLiteral("no back-pressure: the sender got %1 of %2 bytes into the tunnel while the "
                                       "target read nothing")
                            .arg(stalled.sent)
                            .arg(stalled.total));
        const qint64 clientGrowth = m_client->rssKb() - clientBase;
        const qint64 serverGrowth = m_server->rssKb() - serverBase;
        say(QStringLiteral("  stalled target: the sender stopped after %1 of %2 bytes (%3 echo connections stalled); "
                           "memory growth: client %4 KiB, server %5 KiB")
                .arg(stalled.sent)
                .arg(stalled.total)
                .arg(m_echo->stalledNow.load())
                .arg(clientGrowth)
                .arg(serverGrowth));
        if (m_clientKind == QLatin1String("ours") && clientGrowth > m_s.maxGrowthKb)
            return fail(QStringLiteral("our client grew by %1 KiB while stalled").arg(clientGrowth));
        if (m_serverKind == QLatin1String("ours") && serverGrowth > m_s.maxGrowthKb)
            return fail(QStringLiteral("our server grew by %1 KiB while stalled").arg(serverGrowth));
        if (m_s.flags.join(QLatin1Char(' ')).contains(QLatin1String("--smuxver 2"))) {
            const bool others = waitUntil(
                [this] {
                    for (std::size_t i = 1; i < m_conns.size(); ++i) {
                        if (!m_conns[i]->done)
                            return anyError();
                    }
                    return true;
                },
                m_s.timeoutMs);
            if (!others || anyError())
                return fail(QStringLiteral("smux v2: the other connections did not complete while one target "
                                           "was stalled"));
            say(QStringLiteral("  smux v2: the other %1 connections completed while connection 0 was stalled")
                    .arg(m_conns.size() - 1));
        }
        QMetaObject::invokeMethod(
            m_echo, [echo = m_echo] { echo->release(); }, Qt::BlockingQueuedConnection);
        return true;
    }

    bool transfer(PairResult *r)
    {
        QElapsedTimer clock;
        clock.start();
        openConnections();
        if (m_s.backpressure && !stallPhase())
            return false;
        auto settled = [this] {
            for (const auto &c : m_conns) {
                if (!c->done && c->error.isEmpty())
                    return false;
            }
            return true;
        };
        const bool inTime = waitUntil(settled, m_s.timeoutMs);
        const double seconds = static_cast<double>(clock.nsecsElapsed()) / 1e9;
        bool ok = inTime;
        qint64 totalBytes = 0;
        for (const auto &conn : m_conns) {
            const Connection &c = *conn;
            totalBytes += c.total;
            const bool match = c.done && c.sentDigest == c.recvDigest && !c.sentDigest.isEmpty();
            if (!match)
                ok = false;
            QString status;
            if (match)
                status = QStringLiteral("sha256 %1 matches").arg(QString::fromLatin1(c.recvDigest.toHex().left(16)));
            else if (!c.error.isEmpty())
                status = c.error;
            else
                status = QStringLiteral("timed out");
            say(QStringLiteral("  connection %1: sent %2, echoed %3 bytes: %4")
                    .arg(c.index)
                    .arg(c.sent)
                    .arg(c.received)
                    .arg(status));
        }
        if (!inTime)
            say(QStringLiteral("  not finished within %1 s").arg(m_s.timeoutMs / 1000));
        r->seconds = seconds;
        r->mbps = static_cast<double>(totalBytes) / 1e6 / seconds;
        if (ok)
            say(QStringLiteral("RESULT %1 client -> %2 server: %3 connections, %4 bytes echoed byte-exact in %5 s: "
                               "%6 MB/s each way")
                    .arg(m_clientKind, m_serverKind)
                    .arg(m_conns.size())
                    .arg(totalBytes)
                    .arg(seconds, 0, 'f', 2)
                    .arg(r->mbps, 0, 'f', 1));
        return ok;
    }

    bool refusedTarget()
    {
        openConnections();
        const bool allClosed = waitUntil(
            [this] {
                for (const auto &c : m_conns) {
                    if (!c->closed)
                        return false;
                }
                return true;
            },
            m_s.timeoutMs);
        int closed = 0;
        qint64 echoed = 0;
        for (const auto &c : m_conns) {
            closed += c->closed ? 1 : 0;
            echoed += c->received;
        }
        say(QStringLiteral("  %1: %2 of %3 connections closed by the tunnel, %4 bytes came back")
                .arg(m_s.blackhole ? QStringLiteral("server silent") : QStringLiteral("target refused"))
                .arg(closed)
                .arg(m_conns.size())
                .arg(echoed));
        if (!allClosed || echoed != 0)
            return fail(QStringLiteral("every connection must be closed, with nothing echoed"));
        return true;
    }

    bool closePropagates()
    {
        if (m_s.holdMs > 0) {
            // Idle, with every stream open: only keepalives cross the tunnel now. Nothing may close.
            QElapsedTimer held;
            held.start();
            waitUntil([&] { return held.hasExpired(m_s.holdMs) || anyClosed(); }, m_s.holdMs + 1000);
            if (anyClosed())
                return fail(QStringLiteral("a connection closed while idle"));
            say(QStringLiteral("  %1 connections held open and idle for %2 ms").arg(m_conns.size()).arg(m_s.holdMs));
        }
        for (const auto &c : m_conns)
            c->socket->disconnectFromHost();
        // Every connection was closed by us; each close must cross the tunnel (smux FIN) and close the target's side.
        if (!waitUntil([this] { return m_echo->active.load() == 0; }, 10000))
            return fail(QStringLiteral("%1 echo-side connections still open 10 s after the clients closed")
                            .arg(m_echo->active.load()));
        say(QStringLiteral("  all %1 target connections closed after the clients closed").arg(m_s.connections));
        return true;
    }

    const Settings &m_s;
    EchoServer *m_echo;
    quint16 m_echoPort;
    QString m_clientKind;
    QString m_serverKind;
    std::unique_ptr<Child> m_server;
    std::unique_ptr<Child> m_client;
    std::unique_ptr<QUdpSocket> m_blackhole;
    quint16 m_clientPort = 0;
    std::vector<std::unique_ptr<Connection>> m_conns;
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("kcpnet-tunnel end-to-end runs against kcptun on 127.0.0.1"));
    parser.addHelpOption();
    const QCommandLineOption tunnelOpt(QStringLiteral("tunnel"), QStringLiteral("kcpnet-tunnel binary."),
                                       QStringLiteral("path"));
    const QCommandLineOption pairOpt(QStringLiteral("pair"),
                                     QStringLiteral("CLIENT:SERVER, each ours or kcptun (repeatable)."),
                                     QStringLiteral("pair"));
    const QCommandLineOption flagsOpt(QStringLiteral("flags"), QStringLiteral("Flags for both ends, one string."),
                                      QStringLiteral("flags"));
    const QCommandLineOption connOpt(QStringLiteral("connections"), QStringLiteral("Parallel TCP connections."),
                                     QStringLiteral("n"), QStringLiteral("8"));
    const QCommandLineOption bytesOpt(QStringLiteral("bytes"), QStringLiteral("Bytes per connection."),
                                      QStringLiteral("n"), QStringLiteral("5000000"));
    const QCommandLineOption timeoutOpt(QStringLiteral("timeout"), QStringLiteral("Seconds for the transfer."),
                                        QStringLiteral("s"), QStringLiteral("25"));
    const QCommandLineOption dataOpt(QStringLiteral("data"), QStringLiteral("mixed, random or text."),
                                     QStringLiteral("kind"), QStringLiteral("mixed"));
    const QCommandLineOption backpressureOpt(
        QStringLiteral("backpressure"),
        QStringLiteral("Connection 0's target reads nothing until the sender has stopped: checks bounded buffering."));
    const QCommandLineOption stallOpt(QStringLiteral("stall-bytes"),
                                      QStringLiteral("Bytes connection 0 tries to send with --backpressure."),
                                      QStringLiteral("n"), QStringLiteral("96000000"));
    const QCommandLineOption refusedOpt(QStringLiteral("refused"),
                                        QStringLiteral("The server end's target refuses: the tunnel must close "
                                                       "every connection."));
    const QCommandLineOption blackholeOpt(QStringLiteral("blackhole"),
                                          QStringLiteral("No server end, a silent UDP port: the client's keepalive "
                                                         "timeout must close every connection."));
    const QCommandLineOption holdOpt(QStringLiteral("hold-ms"),
                                     QStringLiteral("Keep the connections open and idle this long before closing."),
                                     QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption kcClientOpt(QStringLiteral("kcptun-client"), QStringLiteral("kcptun-client binary."),
                                         QStringLiteral("path"));
    const QCommandLineOption kcServerOpt(QStringLiteral("kcptun-server"), QStringLiteral("kcptun-server binary."),
                                         QStringLiteral("path"));
    parser.addOptions({tunnelOpt, pairOpt, flagsOpt, connOpt, bytesOpt, timeoutOpt, dataOpt, backpressureOpt, stallOpt,
                       refusedOpt, blackholeOpt, holdOpt, kcClientOpt, kcServerOpt});
    parser.process(app);

    Settings s;
    s.tunnel = parser.value(tunnelOpt);
    s.flags = parser.value(flagsOpt).split(QLatin1Char(' '), Qt::SkipEmptyParts);
    s.connections = std::max(1, parser.value(connOpt).toInt());
    s.bytes = std::max<qint64>(1, parser.value(bytesOpt).toLongLong());
    s.timeoutMs = std::max(1, parser.value(timeoutOpt).toInt()) * 1000;
    s.backpressure = parser.isSet(backpressureOpt);
    s.refused = parser.isSet(refusedOpt);
    s.blackhole = parser.isSet(blackholeOpt);
    s.holdMs = std::max(0, parser.value(holdOpt).toInt());
    s.stallBytes = std::max<qint64>(1, parser.value(stallOpt).toLongLong());
    const QString kind = parser.value(dataOpt);
    s.kind = kind == QLatin1String("random") ? DataStream::Random
        : kind == QLatin1String("text")      ? DataStream::Text
                                             : DataStream::Mixed;
    s.kcptunClient = parser.isSet(kcClientOpt) ? parser.value(kcClientOpt)
                                               : QStandardPaths::findExecutable(QStringLiteral("kcptun-client"));
    s.kcptunServer = parser.isSet(kcServerOpt) ? parser.value(kcServerOpt)
                                               : QStandardPaths::findExecutable(QStringLiteral("kcptun-server"));
    QStringList pairs = parser.values(pairOpt);
    if (pairs.isEmpty())
        pairs << QStringLiteral("ours:ours");

    if (s.tunnel.isEmpty() || !QFile::exists(s.tunnel)) {
        say(QStringLiteral("tunnel-interop: --tunnel must name the kcpnet-tunnel binary"));
        return 2;
    }
    for (const QString &p : pairs) {
        const QStringList ends = p.split(QLatin1Char(':'));
        if (ends.size() != 2) {
            say(QStringLiteral("tunnel-interop: bad --pair %1").arg(p));
            return 2;
        }
        for (const QString &e : ends) {
            if (e != QLatin1String("ours") && e != QLatin1String("kcptun")) {
                say(QStringLiteral("tunnel-interop: bad --pair %1 (ours or kcptun)").arg(p));
                return 2;
            }
        }
        if (ends.at(0) == QLatin1String("kcptun") && (s.kcptunClient.isEmpty() || !QFile::exists(s.kcptunClient))) {
            say(QStringLiteral("SKIP: kcptun-client not found (Debian package kcptun)"));
            return kSkip;
        }
        if (ends.at(1) == QLatin1String("kcptun") && (s.kcptunServer.isEmpty() || !QFile::exists(s.kcptunServer))) {
            say(QStringLiteral("SKIP: kcptun-server not found (Debian package kcptun)"));
            return kSkip;
        }
    }

    // The TCP target in its own thread, so echoing does not wait behind the drivers' work.
    QThread echoThread;
    echoThread.start();
    auto *echo = new EchoServer;
    echo->moveToThread(&echoThread);
    quint16 echoPort = 0;
    QMetaObject::invokeMethod(
        echo, [&] { echoPort = echo->listen(); }, Qt::BlockingQueuedConnection);
    auto stopEcho = [&] {
        QMetaObject::invokeMethod(
            echo, [echo] { delete echo; }, Qt::BlockingQueuedConnection);
        echoThread.quit();
        echoThread.wait();
    };
    if (echoPort == 0) {
        say(QStringLiteral("tunnel-interop: the echo target cannot listen"));
        stopEcho();
        return 1;
    }

    std::vector<PairResult> results;
    for (const QString &p : pairs) {
        const QStringList ends = p.split(QLatin1Char(':'));
        PairRun run(s, echo, echoPort, ends.at(0), ends.at(1));
        results.push_back(run.run());
    }
    stopEcho();

    bool ok = true;
    if (results.size() > 1)
        say(QStringLiteral("== summary (%1 x %2 bytes, data %3)").arg(s.connections).arg(s.bytes).arg(kind));
    for (const PairResult &r : results) {
        ok = ok && r.ok;
        if (results.size() > 1)
            say(QStringLiteral("  %1: %2")
                    .arg(r.label, -30)
                    .arg(r.ok
                             ? QStringLiteral("%1 s, %2 MB/s each way").arg(r.seconds, 0, 'f', 2).arg(r.mbps, 0, 'f', 1)
                             : QStringLiteral("FAILED")));
    }
    say(ok ? QStringLiteral("tunnel-interop: PASS") : QStringLiteral("tunnel-interop: FAIL"));
    return ok ? 0 : 1;
}
