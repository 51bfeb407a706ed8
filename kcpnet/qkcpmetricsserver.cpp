// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpmetricsserver.h"
#include "qkcpmetricsserver_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/qurlquery.h>
#include <QtNetwork/qtcpserver.h>
#include <QtNetwork/qtcpsocket.h>

#include <algorithm>
#include <cmath>

namespace {

constexpr int kMaxHeaderBytes = 16 * 1024;
constexpr int kMaxBodyBytes = 64 * 1024;
constexpr int kIdleTimeoutMs = 30000;
constexpr int kMaxTraceEvents = 200000;
constexpr int kMaxConcurrentTraces = 8;
constexpr int kMaxRequestsPerRead = 32;

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200: return QByteArrayLiteral("OK");
    case 204: return QByteArrayLiteral("No Content");
    case 400: return QByteArrayLiteral("Bad Request");
    case 401: return QByteArrayLiteral("Unauthorized");
    case 404: return QByteArrayLiteral("Not Found");
    case 405: return QByteArrayLiteral("Method Not Allowed");
    case 409: return QByteArrayLiteral("Conflict");
    case 413: return QByteArrayLiteral("Content Too Large");
    case 431: return QByteArrayLiteral("Request Header Fields Too Large");
    case 501: return QByteArrayLiteral("Not Implemented");
    case 503: return QByteArrayLiteral("Service Unavailable");
    default: return QByteArrayLiteral("Error");
    }
}

QString stateName(QAbstractSocket::SocketState s)
{
    switch (s) {
    case QAbstractSocket::UnconnectedState: return QStringLiteral("unconnected");
    case QAbstractSocket::HostLookupState: return QStringLiteral("lookup");
    case QAbstractSocket::ConnectingState: return QStringLiteral("connecting");
    case QAbstractSocket::ConnectedState: return QStringLiteral("connected");
    case QAbstractSocket::BoundState: return QStringLiteral("bound");
    case QAbstractSocket::ListeningState: return QStringLiteral("listening");
    case QAbstractSocket::ClosingState: return QStringLiteral("closing");
    }
    return QStringLiteral("unknown");
}

QString endpoint(const QHostAddress &address, quint16 port)
{
    if (address.isNull())
        return QString();
    if (address.protocol() == QAbstractSocket::IPv6Protocol && !address.toIPv4Address())
        return QStringLiteral("[%1]:%2").arg(address.toString()).arg(port);
    return QStringLiteral("%1:%2").arg(QHostAddress(address.toIPv4Address()).toString()).arg(port);
}

// Adds the counters (not the gauges) of `src` to `dst`.
void addCounters(QKcpStatistics &dst, const QKcpStatistics &src)
{
    dst.bytesSent += src.bytesSent;
    dst.bytesReceived += src.bytesReceived;
    dst.segmentsSent += src.segmentsSent;
    dst.segmentsReceived += src.segmentsReceived;
    dst.retransmitsTimeout += src.retransmitsTimeout;
    dst.retransmitsFast += src.retransmitsFast;
    dst.duplicateSegments += src.duplicateSegments;
    dst.outOfWindowSegments += src.outOfWindowSegments;
    dst.datagramsSent += src.datagramsSent;
    dst.datagramsReceived += src.datagramsReceived;
    dst.wireBytesSent += src.wireBytesSent;
    dst.wireBytesReceived += src.wireBytesReceived;
    dst.droppedChecksum += src.droppedChecksum;
    dst.droppedWrongConversation += src.droppedWrongConversation;
    dst.droppedMalformed += src.droppedMalformed;
    dst.droppedUnexpected += src.droppedUnexpected;
    dst.droppedUnauthentic += src.droppedUnauthentic;
    dst.droppedReplayed += src.droppedReplayed;
    dst.keepAlivesSent += src.keepAlivesSent;
}

quint64 drops(const QKcpStatistics &s)
{
    return s.droppedChecksum + s.droppedWrongConversation + s.droppedMalformed + s.droppedUnexpected
        + s.droppedUnauthentic + s.droppedReplayed;
}

double perSecond(quint64 now, quint64 before, double seconds)
{
    return now >= before ? double(now - before) / seconds : 0.0;
}

QJsonObject ratesJson(const QKcpMetricsRates &r)
{
    // Per-second rates to 0.1: more digits are noise, and they make every snapshot longer.
    auto put = [](QJsonObject &o, const char *name, double v) { o.insert(QLatin1String(name), std::round(v * 10.0) / 10.0); };
    QJsonObject o;
    put(o, "bytes_sent", r.bytesSent);
    put(o, "bytes_received", r.bytesReceived);
    put(o, "wire_bytes_sent", r.wireBytesSent);
    put(o, "wire_bytes_received", r.wireBytesReceived);
    put(o, "datagrams_sent", r.datagramsSent);
    put(o, "datagrams_received", r.datagramsReceived);
    put(o, "segments_sent", r.segmentsSent);
    put(o, "retransmits", r.retransmits);
    put(o, "drops", r.drops);
    return o;
}

// Counters of a statistics snapshot as JSON (shared by sessions and totals).
void insertCounters(QJsonObject &o, const QKcpStatistics &s)
{
    auto put = [&o](const char *name, quint64 v) { o.insert(QLatin1String(name), qint64(v)); };
    put("bytes_sent", s.bytesSent);
    put("bytes_received", s.bytesReceived);
    put("wire_bytes_sent", s.wireBytesSent);
    put("wire_bytes_received", s.wireBytesReceived);
    put("datagrams_sent", s.datagramsSent);
    put("datagrams_received", s.datagramsReceived);
    put("segments_sent", s.segmentsSent);
    put("segments_received", s.segmentsReceived);
    put("duplicate_segments", s.duplicateSegments);
    put("out_of_window_segments", s.outOfWindowSegments);
    put("keepalives_sent", s.keepAlivesSent);
    QJsonObject rtx;
    rtx.insert(QStringLiteral("timeout"), qint64(s.retransmitsTimeout));
    rtx.insert(QStringLiteral("fast"), qint64(s.retransmitsFast));
    o.insert(QStringLiteral("retransmits"), rtx);
    QJsonObject dr;
    dr.insert(QStringLiteral("checksum"), qint64(s.droppedChecksum));
    dr.insert(QStringLiteral("wrong_conversation"), qint64(s.droppedWrongConversation));
    dr.insert(QStringLiteral("malformed"), qint64(s.droppedMalformed));
    dr.insert(QStringLiteral("unexpected"), qint64(s.droppedUnexpected));
    dr.insert(QStringLiteral("unauthentic"), qint64(s.droppedUnauthentic));
    dr.insert(QStringLiteral("replayed"), qint64(s.droppedReplayed));
    o.insert(QStringLiteral("drops"), dr);
}

// Prometheus text / OpenMetrics writer. A family is announced once (HELP, TYPE), then its samples.
class MetricsWriter
{
public:
    explicit MetricsWriter(bool openMetrics) : m_om(openMetrics) { m_out.reserve(16 * 1024); }

    // `name` of a counter ends in "_total" (the sample name); OpenMetrics announces the family without it.
    void family(const char *name, const char *type, const char *help)
    {
        QByteArray fam(name);
        if (m_om && qstrcmp(type, "counter") == 0 && fam.endsWith("_total"))
            fam.chop(6);
        m_out += "# HELP " + fam + ' ' + help + '\n';
        m_out += "# TYPE " + fam + ' ' + type + '\n';
        m_name = name;
    }
    void sample(const QList<std::pair<const char *, QString>> &labels, double value)
    {
        m_out += m_name;
        if (!labels.isEmpty()) {
            m_out += '{';
            bool first = true;
            for (const auto &l : labels) {
                if (!first)
                    m_out += ',';
                first = false;
                m_out += l.first;
                m_out += "=\"";
                m_out += escape(l.second);
                m_out += '"';
            }
            m_out += '}';
        }
        m_out += ' ';
        m_out += number(value);
        m_out += '\n';
    }
    QByteArray finish()
    {
        if (m_om)
            m_out += "# EOF\n";
        return m_out;
    }

private:
    static QByteArray escape(const QString &v)
    {
        QByteArray in = v.toUtf8();
        QByteArray out;
        out.reserve(in.size());
        for (char c : in) {
            if (c == '\\')
                out += "\\\\";
            else if (c == '"')
                out += "\\\"";
            else if (c == '\n')
                out += "\\n";
            else
                out += c;
        }
        return out;
    }
    static QByteArray number(double v)
    {
        if (std::isnan(v))
            return QByteArrayLiteral("NaN");
        if (v == std::floor(v) && std::fabs(v) < 9.0e15)
            return QByteArray::number(qint64(v));
        return QByteArray::number(v, 'g', 10);
    }

    bool m_om;
    QByteArray m_out;
    QByteArray m_name;
};

bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

QByteArray jsonError(const QString &message)
{
    QJsonObject o;
    o.insert(QStringLiteral("error"), message);
    return QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
}

} // namespace

QKcpMetricsRates &QKcpMetricsRates::operator+=(const QKcpMetricsRates &o)
{
    bytesSent += o.bytesSent;
    bytesReceived += o.bytesReceived;
    wireBytesSent += o.wireBytesSent;
    wireBytesReceived += o.wireBytesReceived;
    datagramsSent += o.datagramsSent;
    datagramsReceived += o.datagramsReceived;
    segmentsSent += o.segmentsSent;
    retransmits += o.retransmits;
    drops += o.drops;
    return *this;
}

QKcpMetricsServerPrivate::QKcpMetricsServerPrivate(QKcpMetricsServer *q) : q_ptr(q)
{
    clock.start();
    sampler.setInterval(interval);
    QObject::connect(&sampler, &QTimer::timeout, q, [q] { q->sample(); });
}

QKcpMetricsServerPrivate::~QKcpMetricsServerPrivate()
{
    qDeleteAll(connections);
}

void QKcpMetricsServerPrivate::ensureSampler()
{
    if (!sampler.isActive())
        sampler.start();
}

QKcpMetricsSource *QKcpMetricsServerPrivate::sourceFor(const QObject *object)
{
    for (QKcpMetricsSource &s : sources) {
        if (s.gone)
            continue;
        if ((s.isServer && s.server.data() == object) || (!s.isServer && s.socket.data() == object))
            return &s;
    }
    return nullptr;
}

void QKcpMetricsServerPrivate::retire(QKcpMetricsSession &s)
{
    if (s.source >= 0 && std::size_t(s.source) < sources.size())
        addCounters(sources[std::size_t(s.source)].retired, s.last);
    idBySocket.remove(s.key);
}

void QKcpMetricsServerPrivate::refresh()
{
    // 1. Sessions whose socket was destroyed: retire with the last counters read.
    for (auto it = sessions.begin(); it != sessions.end();) {
        if (!it->second.socket) {
            retire(it->second);
            it = sessions.erase(it);
        } else {
            it->second.seen = false;
            ++it;
        }
    }
    // 2. Read every watched object.
    auto visit = [this](QKcpSocket *socket, int sourceIndex) {
        quint64 id = idBySocket.value(socket, 0);
        QKcpMetricsSession *s = id ? &sessions[id] : nullptr;
        if (!s) {
            id = nextId++;
            s = &sessions[id];
            s->id = id;
            s->socket = socket;
            s->key = socket;
            s->source = sourceIndex;
            s->firstSeen = clock.elapsed();
            idBySocket.insert(socket, id);
        }
        const QKcpStatistics st = socket->statistics();
        if (st.bytesSent < s->last.bytesSent || st.datagramsSent < s->last.datagramsSent) {
            // The socket reconnected and its counters started again: keep the old ones in the totals.
            addCounters(sources[std::size_t(sourceIndex)].retired, s->last);
            s->prevTime = -1;
        }
        s->last = st;
        // A socket's age can read 0 when it started at the very first tick of the library clock: never show less
        // than the time this exporter has known the session.
        s->last.age = std::max(st.age, clock.elapsed() - s->firstSeen);
        s->state = socket->state();
        s->tracing = socket->isTracing();
        if (!socket->peerAddress().isNull())
            s->peer = endpoint(socket->peerAddress(), socket->peerPort());
        if (!socket->localAddress().isNull())
            s->local = endpoint(socket->localAddress(), socket->localPort());
        s->seen = true;
    };
    for (QKcpMetricsSource &src : sources) {
        if (src.gone)
            continue;
        if (src.isServer) {
            if (!src.server) {
                src.gone = true;
                continue;
            }
            src.serverStats = src.server->serverStatistics();
            const QList<QKcpSocket *> list = src.server->sessions();
            for (QKcpSocket *socket : list)
                visit(socket, src.index);
        } else {
            if (!src.socket) {
                src.gone = true;
                continue;
            }
            visit(src.socket, src.index);
        }
    }
    // 3. Sessions a server no longer lists (ended, not yet deleted), or whose source is gone.
    for (auto it = sessions.begin(); it != sessions.end();) {
        if (!it->second.seen) {
            retire(it->second);
            it = sessions.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<const QKcpMetricsSession *> QKcpMetricsServerPrivate::ranked() const
{
    std::vector<const QKcpMetricsSession *> v;
    v.reserve(sessions.size());
    for (const auto &kv : sessions)
        v.push_back(&kv.second);
    std::stable_sort(v.begin(), v.end(), [](const QKcpMetricsSession *a, const QKcpMetricsSession *b) {
        const double ta = a->rates.traffic();
        const double tb = b->rates.traffic();
        if (ta != tb)
            return ta > tb;
        const quint64 va = a->last.wireBytesSent + a->last.wireBytesReceived;
        const quint64 vb = b->last.wireBytesSent + b->last.wireBytesReceived;
        if (va != vb)
            return va > vb;
        return a->id < b->id;
    });
    return v;
}

QKcpMetricsSession *QKcpMetricsServerPrivate::session(quint64 id)
{
    auto it = sessions.find(id);
    return it == sessions.end() || !it->second.socket ? nullptr : &it->second;
}

int QKcpMetricsServerPrivate::activeTraces() const
{
    int n = 0;
    for (const auto &kv : sessions)
        n += kv.second.socket && kv.second.socket->isTracing() ? 1 : 0;
    return n;
}

QJsonObject QKcpMetricsServerPrivate::sessionJson(const QKcpMetricsSession &s) const
{
    const QKcpStatistics &st = s.last;
    const QKcpMetricsSource &src = sources[std::size_t(s.source)];
    QJsonObject o;
    o.insert(QStringLiteral("id"), qint64(s.id));
    o.insert(QStringLiteral("source"), src.name);
    o.insert(QStringLiteral("role"), src.isServer ? QStringLiteral("server") : QStringLiteral("client"));
    o.insert(QStringLiteral("conversation"), qint64(st.conversation));
    o.insert(QStringLiteral("peer"), s.peer);
    o.insert(QStringLiteral("local"), s.local);
    o.insert(QStringLiteral("state"), stateName(s.state));
    o.insert(QStringLiteral("age_ms"), st.age);
    o.insert(QStringLiteral("last_receive_ms"), st.lastReceiveAge);
    o.insert(QStringLiteral("srtt_ms"), qint64(st.srtt));
    o.insert(QStringLiteral("rttvar_ms"), qint64(st.rttVariance));
    o.insert(QStringLiteral("rto_ms"), qint64(st.rto));
    o.insert(QStringLiteral("cwnd"), qint64(st.congestionWindow));
    o.insert(QStringLiteral("ssthresh"), qint64(st.slowStartThreshold));
    o.insert(QStringLiteral("remote_window"), qint64(st.remoteWindow));
    o.insert(QStringLiteral("in_flight"), qint64(st.inFlight));
    o.insert(QStringLiteral("send_queue"), qint64(st.sendQueue));
    o.insert(QStringLiteral("send_buffer"), qint64(st.sendBuffer));
    o.insert(QStringLiteral("receive_queue"), qint64(st.receiveQueue));
    o.insert(QStringLiteral("receive_buffer"), qint64(st.receiveBuffer));
    o.insert(QStringLiteral("handshake_rtt_ms"), qint64(st.handshakeRtt));
    o.insert(QStringLiteral("keepalive_rtt_ms"), qint64(st.keepAliveRtt));
    insertCounters(o, st);
    o.insert(QStringLiteral("retransmit_ratio"), st.retransmitRatio());
    o.insert(QStringLiteral("rates"), ratesJson(s.rates));
    o.insert(QStringLiteral("tracing"), s.tracing);
    o.insert(QStringLiteral("encrypted"), st.encrypted);
    return o;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

void QKcpMetricsServerPrivate::onNewConnection()
{
    while (QTcpSocket *socket = tcp->nextPendingConnection()) {
        if (connections.size() >= maxConnections) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        auto *c = new QKcpMetricsConnection;
        c->socket = socket;
        c->idle = new QTimer(socket);
        c->idle->setSingleShot(true);
        c->idle->setInterval(kIdleTimeoutMs);
        connections.insert(socket, c);
        QObject::connect(c->idle, &QTimer::timeout, socket, [socket] { socket->abort(); });
        QObject::connect(socket, &QTcpSocket::readyRead, q_ptr, [this, c] { onReadyRead(c); });
        QObject::connect(socket, &QTcpSocket::disconnected, q_ptr, [this, socket] { dropConnection(socket); });
        c->idle->start();
        if (socket->bytesAvailable() > 0)
            onReadyRead(c);
    }
}

void QKcpMetricsServerPrivate::dropConnection(QTcpSocket *socket)
{
    QKcpMetricsConnection *c = connections.take(socket);
    if (!c)
        return;
    socket->disconnect(q_ptr);
    socket->deleteLater();
    delete c;
}

void QKcpMetricsServerPrivate::onReadyRead(QKcpMetricsConnection *c)
{
    QTcpSocket *socket = c->socket;
    c->buffer += socket->read(kMaxHeaderBytes + kMaxBodyBytes + 1 - c->buffer.size());
    c->idle->start();
    for (int served = 0; served < kMaxRequestsPerRead; ++served) {
        const qsizetype end = c->buffer.indexOf("\r\n\r\n");
        if (end < 0) {
            if (c->buffer.size() > kMaxHeaderBytes) {
                respond(c, 431, "text/plain; charset=utf-8", "request header too large\n", false);
                socket->disconnectFromHost();
            }
            break;
        }
        if (end > kMaxHeaderBytes) {
            respond(c, 431, "text/plain; charset=utf-8", "request header too large\n", false);
            socket->disconnectFromHost();
            break;
        }
        const QList<QByteArray> lines = c->buffer.left(end).split('\n');
        const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
        QHash<QByteArray, QByteArray> headers;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray line = lines[i].trimmed();
            const qsizetype colon = line.indexOf(':');
            if (colon > 0)
                headers.insert(line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed());
        }
        if (requestLine.size() != 3 || !requestLine[2].startsWith("HTTP/1.")) {
            respond(c, 400, "text/plain; charset=utf-8", "bad request\n", false);
            socket->disconnectFromHost();
            break;
        }
        if (headers.contains("transfer-encoding")) {
            respond(c, 501, "text/plain; charset=utf-8", "chunked request bodies are not supported\n", false);
            socket->disconnectFromHost();
            break;
        }
        bool ok = true;
        const qint64 length = headers.value("content-length", "0").toLongLong(&ok);
        if (!ok || length < 0 || length > kMaxBodyBytes) {
            respond(c, 413, "text/plain; charset=utf-8", "request body too large\n", false);
            socket->disconnectFromHost();
            break;
        }
        if (c->buffer.size() < end + 4 + length)
            break; // the body is still coming
        c->buffer.remove(0, end + 4 + length); // the body itself is not used
        const bool http10 = requestLine[2] == "HTTP/1.0";
        const QByteArray connection = headers.value("connection").toLower();
        const bool keepAlive = http10 ? connection.contains("keep-alive") : !connection.contains("close");
        if (!handle(c, requestLine[0], requestLine[1], headers, keepAlive)) {
            socket->disconnectFromHost();
            break;
        }
    }
    if (!c->buffer.isEmpty() && c->buffer.contains("\r\n\r\n") && socket->state() == QAbstractSocket::ConnectedState) {
        // More pipelined requests than one turn serves: continue on the next event-loop turn.
        QPointer<QTcpSocket> guard(socket);
        QTimer::singleShot(0, q_ptr, [this, guard] {
            if (guard && connections.contains(guard.data()))
                onReadyRead(connections.value(guard.data()));
        });
    }
}

bool QKcpMetricsServerPrivate::authorized(const QHash<QByteArray, QByteArray> &headers) const
{
    if (token.isEmpty())
        return true;
    const QByteArray auth = headers.value("authorization");
    if (!auth.toLower().startsWith("bearer "))
        return false;
    return constantTimeEquals(auth.mid(7).trimmed(), token);
}

void QKcpMetricsServerPrivate::respond(QKcpMetricsConnection *c, int status, const QByteArray &contentType,
                                       const QByteArray &body, bool keepAlive, bool headOnly,
                                       const QByteArray &extraHeaders)
{
    QByteArray out;
    out.reserve(body.size() + 256);
    out += "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    out += "Server: kcpnet/" KCPNET_VERSION_STR "\r\n";
    if (!contentType.isEmpty())
        out += "Content-Type: " + contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    out += "Cache-Control: no-store\r\n";
    out += extraHeaders;
    out += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
    if (!headOnly)
        out += body;
    c->socket->write(out);
}

bool QKcpMetricsServerPrivate::handle(QKcpMetricsConnection *c, const QByteArray &method, const QByteArray &target,
                                      const QHash<QByteArray, QByteArray> &headers, bool keepAlive)
{
    Q_Q(QKcpMetricsServer);
    ++requests;
    const qsizetype qm = target.indexOf('?');
    const QByteArray path = qm < 0 ? target : target.left(qm);
    const QUrlQuery query(QString::fromUtf8(qm < 0 ? QByteArray() : target.mid(qm + 1)));
    const bool head = method == "HEAD";
    const bool get = method == "GET" || head;
    const bool post = method == "POST";
    int status = 200;
    auto reply = [&](int st, const QByteArray &type, const QByteArray &body, const QByteArray &extra = QByteArray()) {
        status = st;
        respond(c, st, type, body, keepAlive, head, extra);
    };
    static const QByteArray jsonType = QByteArrayLiteral("application/json");
    static const QByteArray textType = QByteArrayLiteral("text/plain; charset=utf-8");

    if (!authorized(headers)) {
        reply(401, jsonType, jsonError(QStringLiteral("a bearer token is required")),
              QByteArrayLiteral("WWW-Authenticate: Bearer realm=\"kcpnet\"\r\n"));
    } else if (path == "/metrics") {
        if (!get) {
            reply(405, textType, "use GET\n", "Allow: GET, HEAD\r\n");
        } else {
            const bool om = headers.value("accept").contains("application/openmetrics-text");
            const QByteArray type = om ? QByteArrayLiteral("application/openmetrics-text; version=1.0.0; charset=utf-8")
                                       : QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8");
            reply(200, type, q->metricsText(om));
        }
    } else if (path == "/api/v1/snapshot") {
        if (!get) {
            reply(405, textType, "use GET\n", "Allow: GET, HEAD\r\n");
        } else {
            bool ok = false;
            int limit = query.queryItemValue(QStringLiteral("limit")).toInt(&ok);
            if (!ok)
                limit = -1;
            reply(200, jsonType, QJsonDocument(q->snapshot(limit)).toJson(QJsonDocument::Compact) + '\n');
        }
    } else if (path == "/api/v1/trace" || path == "/api/v1/trace/start" || path == "/api/v1/trace/stop") {
        bool ok = false;
        const quint64 id = query.queryItemValue(QStringLiteral("session")).toULongLong(&ok);
        const bool fetch = path == "/api/v1/trace";
        refresh();
        QKcpMetricsSession *s = ok ? session(id) : nullptr;
        if (fetch ? !get : !post) {
            reply(405, textType, fetch ? "use GET\n" : "use POST\n",
                  fetch ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n");
        } else if (!ok) {
            reply(400, jsonType, jsonError(QStringLiteral("the session parameter (an id from the snapshot) is required")));
        } else if (!s) {
            reply(404, jsonType, jsonError(QStringLiteral("no such session")));
        } else if (fetch) {
            bool sinceOk = false, limitOk = false;
            qint64 since = query.queryItemValue(QStringLiteral("since")).toLongLong(&sinceOk);
            int limit = query.queryItemValue(QStringLiteral("limit")).toInt(&limitOk);
            reply(200, QByteArrayLiteral("application/x-ndjson"),
                  q->traceJsonLines(id, sinceOk ? since : -1, limitOk ? limit : -1));
        } else if (path.endsWith("/start")) {
            bool maxOk = false;
            int max = query.queryItemValue(QStringLiteral("max")).toInt(&maxOk);
            if (!s->socket->isTracing() && activeTraces() >= kMaxConcurrentTraces) {
                reply(409, jsonType, jsonError(QStringLiteral("too many sessions are being traced")));
            } else {
                q->startTrace(id, maxOk ? max : 100000);
                QJsonObject o;
                o.insert(QStringLiteral("session"), qint64(id));
                o.insert(QStringLiteral("tracing"), true);
                reply(200, jsonType, QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n');
            }
        } else {
            q->stopTrace(id);
            QJsonObject o;
            o.insert(QStringLiteral("session"), qint64(id));
            o.insert(QStringLiteral("tracing"), false);
            o.insert(QStringLiteral("events"), qint64(s->socket->traceEvents().size()));
            reply(200, jsonType, QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n');
        }
    } else if (path == "/") {
        if (!get)
            reply(405, textType, "use GET\n", "Allow: GET, HEAD\r\n");
        else
            reply(200, textType,
                  "kcpnet metrics\n"
                  "  GET  /metrics                         Prometheus / OpenMetrics text\n"
                  "  GET  /api/v1/snapshot[?limit=N]       JSON snapshot of the watched sessions\n"
                  "  POST /api/v1/trace/start?session=ID[&max=N]\n"
                  "  POST /api/v1/trace/stop?session=ID\n"
                  "  GET  /api/v1/trace?session=ID[&since=MS][&limit=N]   JSON lines (docs/TRACE.md)\n");
    } else {
        reply(404, jsonType, jsonError(QStringLiteral("not found")));
    }
    Q_EMIT q->requestServed(method, path, status);
    return keepAlive;
}

// ---------------------------------------------------------------------------------------------------------------

QKcpMetricsServer::QKcpMetricsServer(QObject *parent)
    : QObject(parent), d_ptr(std::make_unique<QKcpMetricsServerPrivate>(this))
{
}

QKcpMetricsServer::~QKcpMetricsServer()
{
    close();
}

bool QKcpMetricsServer::listen(const QHostAddress &address, quint16 port)
{
    Q_D(QKcpMetricsServer);
    close();
    d->tcp = new QTcpServer(this);
    d->tcp->setMaxPendingConnections(d->maxConnections);
    connect(d->tcp, &QTcpServer::newConnection, this, [d] { d->onNewConnection(); });
    if (!d->tcp->listen(address, port)) {
        d->errorString = d->tcp->errorString();
        delete d->tcp;
        d->tcp = nullptr;
        return false;
    }
    d->errorString.clear();
    d->ensureSampler();
    return true;
}

void QKcpMetricsServer::close()
{
    Q_D(QKcpMetricsServer);
    const QList<QTcpSocket *> sockets = d->connections.keys();
    for (QTcpSocket *s : sockets) {
        s->disconnect(this);
        s->abort();
        d->dropConnection(s);
    }
    if (d->tcp) {
        d->tcp->close();
        delete d->tcp;
        d->tcp = nullptr;
    }
}

bool QKcpMetricsServer::isListening() const
{
    Q_D(const QKcpMetricsServer);
    return d->tcp && d->tcp->isListening();
}

QHostAddress QKcpMetricsServer::serverAddress() const
{
    Q_D(const QKcpMetricsServer);
    return d->tcp ? d->tcp->serverAddress() : QHostAddress();
}

quint16 QKcpMetricsServer::serverPort() const
{
    Q_D(const QKcpMetricsServer);
    return d->tcp ? d->tcp->serverPort() : 0;
}

QString QKcpMetricsServer::errorString() const
{
    Q_D(const QKcpMetricsServer);
    return d->errorString;
}

void QKcpMetricsServer::watch(QKcpServer *server, const QString &name)
{
    Q_D(QKcpMetricsServer);
    if (!server || d->sourceFor(server))
        return;
    QKcpMetricsSource src;
    src.index = int(d->sources.size());
    src.isServer = true;
    src.server = server;
    src.name = name.isEmpty() ? QStringLiteral("server%1").arg(d->nextServerName++) : name;
    d->sources.push_back(src);
    d->ensureSampler();
    d->refresh();
}

void QKcpMetricsServer::watch(QKcpSocket *socket, const QString &name)
{
    Q_D(QKcpMetricsServer);
    if (!socket || d->sourceFor(socket))
        return;
    QKcpMetricsSource src;
    src.index = int(d->sources.size());
    src.isServer = false;
    src.socket = socket;
    src.name = name.isEmpty() ? QStringLiteral("client%1").arg(d->nextClientName++) : name;
    d->sources.push_back(src);
    d->ensureSampler();
    d->refresh();
}

void QKcpMetricsServer::unwatch(QObject *serverOrSocket)
{
    Q_D(QKcpMetricsServer);
    QKcpMetricsSource *src = d->sourceFor(serverOrSocket);
    if (!src)
        return;
    d->refresh();
    src->gone = true;
    src->server.clear();
    src->socket.clear();
    d->refresh(); // retires its sessions
}

void QKcpMetricsServer::setBearerToken(const QByteArray &token)
{
    d_func()->token = token;
}

QByteArray QKcpMetricsServer::bearerToken() const
{
    return d_func()->token;
}

void QKcpMetricsServer::setMaxLabeledSessions(int count)
{
    d_func()->maxLabeled = std::max(0, count);
}

int QKcpMetricsServer::maxLabeledSessions() const
{
    return d_func()->maxLabeled;
}

void QKcpMetricsServer::setMaxSnapshotSessions(int count)
{
    d_func()->maxSnapshot = std::max(0, count);
}

int QKcpMetricsServer::maxSnapshotSessions() const
{
    return d_func()->maxSnapshot;
}

void QKcpMetricsServer::setSampleInterval(int msecs)
{
    Q_D(QKcpMetricsServer);
    d->interval = std::max(100, msecs);
    d->sampler.setInterval(d->interval);
}

int QKcpMetricsServer::sampleInterval() const
{
    return d_func()->interval;
}

void QKcpMetricsServer::setMaxConnections(int count)
{
    Q_D(QKcpMetricsServer);
    d->maxConnections = std::max(1, count);
    if (d->tcp)
        d->tcp->setMaxPendingConnections(d->maxConnections);
}

int QKcpMetricsServer::maxConnections() const
{
    return d_func()->maxConnections;
}

quint64 QKcpMetricsServer::sessionId(const QKcpSocket *socket) const
{
    Q_D(const QKcpMetricsServer);
    const_cast<QKcpMetricsServerPrivate *>(d)->refresh();
    return d->idBySocket.value(socket, 0);
}

void QKcpMetricsServer::sample()
{
    Q_D(QKcpMetricsServer);
    d->refresh();
    const qint64 now = d->clock.elapsed();
    for (auto &kv : d->sessions) {
        QKcpMetricsSession &s = kv.second;
        if (s.prevTime >= 0 && now - s.prevTime >= 50) {
            const double sec = double(now - s.prevTime) / 1000.0;
            const QKcpStatistics &a = s.last;
            const QKcpStatistics &b = s.prev;
            QKcpMetricsRates r;
            r.bytesSent = perSecond(a.bytesSent, b.bytesSent, sec);
            r.bytesReceived = perSecond(a.bytesReceived, b.bytesReceived, sec);
            r.wireBytesSent = perSecond(a.wireBytesSent, b.wireBytesSent, sec);
            r.wireBytesReceived = perSecond(a.wireBytesReceived, b.wireBytesReceived, sec);
            r.datagramsSent = perSecond(a.datagramsSent, b.datagramsSent, sec);
            r.datagramsReceived = perSecond(a.datagramsReceived, b.datagramsReceived, sec);
            r.segmentsSent = perSecond(a.segmentsSent, b.segmentsSent, sec);
            r.retransmits = perSecond(a.retransmitsTimeout + a.retransmitsFast,
                                      b.retransmitsTimeout + b.retransmitsFast, sec);
            r.drops = perSecond(drops(a), drops(b), sec);
            s.rates = r;
        } else if (s.prevTime >= 0) {
            continue; // too soon for a meaningful rate: keep the previous one and the previous base
        }
        s.prev = s.last;
        s.prevTime = now;
    }
}

QJsonObject QKcpMetricsServer::snapshot(int limit)
{
    Q_D(QKcpMetricsServer);
    d->refresh();
    if (limit < 0 || limit > d->maxSnapshot)
        limit = d->maxSnapshot;

    QJsonObject root;
    root.insert(QStringLiteral("kcpnet"), QStringLiteral(KCPNET_VERSION_STR));
    root.insert(QStringLiteral("format"), 1);
    root.insert(QStringLiteral("time_ms"), d->clock.elapsed());
    root.insert(QStringLiteral("sample_interval_ms"), d->interval);

    // Totals over every source (retired counters included), and per source.
    QKcpStatistics total;
    total.sessions = 0;
    QKcpMetricsRates totalRates;
    std::vector<QKcpStatistics> perSource(d->sources.size());
    std::vector<QKcpMetricsRates> perSourceRates(d->sources.size());
    std::vector<int> perSourceSessions(d->sources.size(), 0);
    for (const QKcpMetricsSource &src : d->sources)
        addCounters(perSource[std::size_t(src.index)], src.retired);
    for (const auto &kv : d->sessions) {
        const QKcpMetricsSession &s = kv.second;
        addCounters(perSource[std::size_t(s.source)], s.last);
        perSourceRates[std::size_t(s.source)] += s.rates;
        ++perSourceSessions[std::size_t(s.source)];
        totalRates += s.rates;
    }
    for (const QKcpStatistics &s : perSource)
        addCounters(total, s);

    QJsonObject totals;
    totals.insert(QStringLiteral("sessions"), qint64(d->sessions.size()));
    insertCounters(totals, total);
    totals.insert(QStringLiteral("retransmit_ratio"), total.retransmitRatio());
    totals.insert(QStringLiteral("rates"), ratesJson(totalRates));
    root.insert(QStringLiteral("totals"), totals);

    QJsonArray sources;
    for (const QKcpMetricsSource &src : d->sources) {
        QJsonObject o;
        o.insert(QStringLiteral("name"), src.name);
        o.insert(QStringLiteral("role"), src.isServer ? QStringLiteral("server") : QStringLiteral("client"));
        o.insert(QStringLiteral("active"), !src.gone);
        o.insert(QStringLiteral("sessions"), perSourceSessions[std::size_t(src.index)]);
        if (src.isServer && src.server) {
            o.insert(QStringLiteral("address"), endpoint(src.server->serverAddress(), src.server->serverPort()));
            QJsonObject ss;
            const QVariantMap map = [&src] {
                QVariantMap m;
                const QMetaObject &mo = QKcpServerStatistics::staticMetaObject;
                for (int i = mo.propertyOffset(); i < mo.propertyCount(); ++i) {
                    const QMetaProperty p = mo.property(i);
                    m.insert(QString::fromLatin1(p.name()), p.readOnGadget(&src.serverStats));
                }
                return m;
            }();
            for (auto it = map.cbegin(); it != map.cend(); ++it)
                ss.insert(it.key(), it.value().toLongLong());
            o.insert(QStringLiteral("server"), ss);
        }
        QJsonObject counters;
        insertCounters(counters, perSource[std::size_t(src.index)]);
        o.insert(QStringLiteral("totals"), counters);
        o.insert(QStringLiteral("rates"), ratesJson(perSourceRates[std::size_t(src.index)]));
        sources.append(o);
    }
    root.insert(QStringLiteral("sources"), sources);

    QJsonArray list;
    const auto order = d->ranked();
    const std::size_t n = std::min(order.size(), std::size_t(limit));
    std::vector<const QKcpMetricsSession *> shown(order.begin(), order.begin() + qsizetype(n));
    std::sort(shown.begin(), shown.end(),
              [](const QKcpMetricsSession *a, const QKcpMetricsSession *b) { return a->id < b->id; });
    for (const QKcpMetricsSession *s : shown)
        list.append(d->sessionJson(*s));
    root.insert(QStringLiteral("sessions"), list);
    root.insert(QStringLiteral("sessions_total"), qint64(order.size()));
    root.insert(QStringLiteral("sessions_truncated"), n < order.size());
    return root;
}

QByteArray QKcpMetricsServer::metricsText(bool openMetrics)
{
    Q_D(QKcpMetricsServer);
    d->refresh();
    ++d->scrapes;
    MetricsWriter w(openMetrics);
    using Labels = QList<std::pair<const char *, QString>>;

    // Per source: counters (retired sessions included), sessions, rates.
    const std::size_t ns = d->sources.size();
    std::vector<QKcpStatistics> acc(ns);
    std::vector<QKcpMetricsRates> rates(ns);
    std::vector<int> count(ns, 0);
    for (const QKcpMetricsSource &src : d->sources)
        addCounters(acc[std::size_t(src.index)], src.retired);
    for (const auto &kv : d->sessions) {
        addCounters(acc[std::size_t(kv.second.source)], kv.second.last);
        rates[std::size_t(kv.second.source)] += kv.second.rates;
        ++count[std::size_t(kv.second.source)];
    }
    auto src = [d](std::size_t i) { return Labels{{"source", d->sources[i].name}}; };

    w.family("kcpnet_sessions", "gauge", "Live KCP sessions per watched source.");
    for (std::size_t i = 0; i < ns; ++i)
        w.sample(src(i), count[i]);

    struct CounterDef {
        const char *name;
        const char *help;
        quint64 QKcpStatistics::*field;
    };
    static const CounterDef counters[] = {
        {"kcpnet_bytes_sent_total", "Payload bytes sent for the first time.", &QKcpStatistics::bytesSent},
        {"kcpnet_bytes_received_total", "Payload bytes received.", &QKcpStatistics::bytesReceived},
        {"kcpnet_wire_bytes_sent_total", "UDP payload bytes sent, headers and retransmissions included.",
         &QKcpStatistics::wireBytesSent},
        {"kcpnet_wire_bytes_received_total", "UDP payload bytes received.", &QKcpStatistics::wireBytesReceived},
        {"kcpnet_datagrams_sent_total", "UDP datagrams sent.", &QKcpStatistics::datagramsSent},
        {"kcpnet_datagrams_received_total", "UDP datagrams received.", &QKcpStatistics::datagramsReceived},
        {"kcpnet_segments_sent_total", "KCP data segments sent, retransmissions included.",
         &QKcpStatistics::segmentsSent},
        {"kcpnet_segments_received_total", "KCP data segments received.", &QKcpStatistics::segmentsReceived},
        {"kcpnet_duplicate_segments_total", "KCP data segments received more than once.",
         &QKcpStatistics::duplicateSegments},
        {"kcpnet_out_of_window_segments_total", "KCP data segments received outside the receive window.",
         &QKcpStatistics::outOfWindowSegments},
    };
    for (const CounterDef &c : counters) {
        w.family(c.name, "counter", c.help);
        for (std::size_t i = 0; i < ns; ++i)
            w.sample(src(i), double(acc[i].*(c.field)));
    }
    w.family("kcpnet_retransmits_total", "counter", "KCP segments retransmitted, by trigger.");
    for (std::size_t i = 0; i < ns; ++i) {
        w.sample({{"source", d->sources[i].name}, {"kind", QStringLiteral("timeout")}}, double(acc[i].retransmitsTimeout));
        w.sample({{"source", d->sources[i].name}, {"kind", QStringLiteral("fast")}}, double(acc[i].retransmitsFast));
    }
    w.family("kcpnet_drops_total", "counter", "Datagrams dropped by the sessions, by reason.");
    for (std::size_t i = 0; i < ns; ++i) {
        const QString &n = d->sources[i].name;
        w.sample({{"source", n}, {"reason", QStringLiteral("checksum")}}, double(acc[i].droppedChecksum));
        w.sample({{"source", n}, {"reason", QStringLiteral("wrong_conversation")}},
                 double(acc[i].droppedWrongConversation));
        w.sample({{"source", n}, {"reason", QStringLiteral("malformed")}}, double(acc[i].droppedMalformed));
        w.sample({{"source", n}, {"reason", QStringLiteral("unexpected")}}, double(acc[i].droppedUnexpected));
        w.sample({{"source", n}, {"reason", QStringLiteral("unauthentic")}}, double(acc[i].droppedUnauthentic));
        w.sample({{"source", n}, {"reason", QStringLiteral("replayed")}}, double(acc[i].droppedReplayed));
    }
    w.family("kcpnet_throughput_bytes_per_second", "gauge",
             "Payload throughput over the last sample interval, by direction.");
    for (std::size_t i = 0; i < ns; ++i) {
        w.sample({{"source", d->sources[i].name}, {"direction", QStringLiteral("sent")}}, rates[i].bytesSent);
        w.sample({{"source", d->sources[i].name}, {"direction", QStringLiteral("received")}}, rates[i].bytesReceived);
    }

    // Servers: counters that belong to no session.
    struct ServerDef {
        const char *name;
        const char *help;
        quint64 QKcpServerStatistics::*field;
    };
    static const ServerDef serverCounters[] = {
        {"kcpnet_server_accepted_total", "Sessions accepted.", &QKcpServerStatistics::accepted},
        {"kcpnet_server_handshakes_total", "Handshake HELLOs answered.", &QKcpServerStatistics::handshakes},
        {"kcpnet_server_bad_cookies_total", "Handshake confirmations that failed verification.",
         &QKcpServerStatistics::badCookies},
        {"kcpnet_server_rejected_total", "Handshakes rejected (version, mode, key, cipher or encryption mismatch).",
         &QKcpServerStatistics::rejected},
        {"kcpnet_server_refused_total", "Handshakes refused (backlog full, conversation collision).",
         &QKcpServerStatistics::refused},
        {"kcpnet_server_replaced_total", "Sessions replaced by a new handshake from the same address.",
         &QKcpServerStatistics::replaced},
        {"kcpnet_server_datagrams_received_total", "Datagrams received on the server socket.",
         &QKcpServerStatistics::datagramsReceived},
        {"kcpnet_server_datagrams_sent_total", "Datagrams sent from the server socket.",
         &QKcpServerStatistics::datagramsSent},
        {"kcpnet_server_resets_sent_total", "Resets sent to unknown or refused peers.",
         &QKcpServerStatistics::resetsSent},
        {"kcpnet_server_dtls_handshakes_total", "Certificate mode: DTLS handshakes completed.",
         &QKcpServerStatistics::dtlsHandshakes},
        {"kcpnet_server_dtls_handshake_failures_total",
         "Certificate mode: DTLS handshakes that failed, were rejected or expired.",
         &QKcpServerStatistics::dtlsHandshakeFailures},
        {"kcpnet_server_dtls_cookies_sent_total", "Certificate mode: DTLS cookie challenges sent.",
         &QKcpServerStatistics::dtlsCookiesSent},
    };
    std::vector<std::size_t> servers;
    for (std::size_t i = 0; i < ns; ++i) {
        if (d->sources[i].isServer)
            servers.push_back(i);
    }
    if (!servers.empty()) {
        w.family("kcpnet_server_pending_connections", "gauge", "Accepted sessions not yet taken by the application.");
        for (std::size_t i : servers)
            w.sample(src(i), d->sources[i].serverStats.pendingConnections);
        for (const ServerDef &c : serverCounters) {
            w.family(c.name, "counter", c.help);
            for (std::size_t i : servers)
                w.sample(src(i), double(d->sources[i].serverStats.*(c.field)));
        }
        w.family("kcpnet_server_drops_total", "counter", "Datagrams the server dropped before any session, by reason.");
        for (std::size_t i : servers) {
            const QKcpServerStatistics &s = d->sources[i].serverStats;
            const QString &n = d->sources[i].name;
            w.sample({{"source", n}, {"reason", QStringLiteral("checksum")}}, double(s.droppedChecksum));
            w.sample({{"source", n}, {"reason", QStringLiteral("malformed")}}, double(s.droppedMalformed));
            w.sample({{"source", n}, {"reason", QStringLiteral("unknown_session")}}, double(s.droppedUnknownSession));
            w.sample({{"source", n}, {"reason", QStringLiteral("wrong_address")}}, double(s.droppedWrongAddress));
            w.sample({{"source", n}, {"reason", QStringLiteral("not_accepting")}}, double(s.droppedNotAccepting));
            w.sample({{"source", n}, {"reason", QStringLiteral("dtls")}}, double(s.droppedDtls));
        }
    }

    // Per session, for the busiest N only.
    const auto order = d->ranked();
    const std::size_t labeled = std::min(order.size(), std::size_t(d->maxLabeled));
    w.family("kcpnet_sessions_unlabeled", "gauge",
             "Live sessions without per-session series (beyond the busiest N; see the totals).");
    w.sample({}, double(order.size() - labeled));
    if (labeled > 0) {
        auto lab = [d](const QKcpMetricsSession *s) {
            return Labels{{"source", d->sources[std::size_t(s->source)].name},
                          {"session", QString::number(s->id)},
                          {"peer", s->peer}};
        };
        auto lab2 = [d](const QKcpMetricsSession *s, const char *key, const QString &value) {
            return Labels{{"source", d->sources[std::size_t(s->source)].name},
                          {"session", QString::number(s->id)},
                          {"peer", s->peer},
                          {key, value}};
        };
        struct GaugeDef {
            const char *name;
            const char *help;
            double (*get)(const QKcpStatistics &);
        };
        static const GaugeDef gauges[] = {
            {"kcpnet_session_age_seconds", "Session age.", [](const QKcpStatistics &s) { return s.age / 1000.0; }},
            {"kcpnet_session_srtt_seconds", "Smoothed round-trip time.",
             [](const QKcpStatistics &s) { return s.srtt / 1000.0; }},
            {"kcpnet_session_rttvar_seconds", "Round-trip time variation.",
             [](const QKcpStatistics &s) { return s.rttVariance / 1000.0; }},
            {"kcpnet_session_rto_seconds", "Retransmission timeout.",
             [](const QKcpStatistics &s) { return s.rto / 1000.0; }},
            {"kcpnet_session_congestion_window_segments", "Effective send window.",
             [](const QKcpStatistics &s) { return double(s.congestionWindow); }},
            {"kcpnet_session_slow_start_threshold_segments", "Slow-start threshold.",
             [](const QKcpStatistics &s) { return double(s.slowStartThreshold); }},
            {"kcpnet_session_in_flight_segments", "Segments sent and not yet acknowledged.",
             [](const QKcpStatistics &s) { return double(s.inFlight); }},
            {"kcpnet_session_send_queue_segments", "Segments waiting for the send window.",
             [](const QKcpStatistics &s) { return double(s.sendQueue); }},
            {"kcpnet_session_receive_queue_segments", "Segments received in order, not yet read.",
             [](const QKcpStatistics &s) { return double(s.receiveQueue); }},
        };
        for (const GaugeDef &g : gauges) {
            w.family(g.name, "gauge", g.help);
            for (std::size_t i = 0; i < labeled; ++i)
                w.sample(lab(order[i]), g.get(order[i]->last));
        }
        w.family("kcpnet_session_bytes_sent_total", "counter", "Payload bytes sent by the session.");
        for (std::size_t i = 0; i < labeled; ++i)
            w.sample(lab(order[i]), double(order[i]->last.bytesSent));
        w.family("kcpnet_session_bytes_received_total", "counter", "Payload bytes received by the session.");
        for (std::size_t i = 0; i < labeled; ++i)
            w.sample(lab(order[i]), double(order[i]->last.bytesReceived));
        w.family("kcpnet_session_retransmits_total", "counter", "Segments the session retransmitted, by trigger.");
        for (std::size_t i = 0; i < labeled; ++i) {
            w.sample(lab2(order[i], "kind", QStringLiteral("timeout")), double(order[i]->last.retransmitsTimeout));
            w.sample(lab2(order[i], "kind", QStringLiteral("fast")), double(order[i]->last.retransmitsFast));
        }
        w.family("kcpnet_session_drops_total", "counter", "Datagrams the session dropped, by reason.");
        for (std::size_t i = 0; i < labeled; ++i) {
            const QKcpStatistics &s = order[i]->last;
            w.sample(lab2(order[i], "reason", QStringLiteral("checksum")), double(s.droppedChecksum));
            w.sample(lab2(order[i], "reason", QStringLiteral("wrong_conversation")), double(s.droppedWrongConversation));
            w.sample(lab2(order[i], "reason", QStringLiteral("malformed")), double(s.droppedMalformed));
            w.sample(lab2(order[i], "reason", QStringLiteral("unexpected")), double(s.droppedUnexpected));
            w.sample(lab2(order[i], "reason", QStringLiteral("unauthentic")), double(s.droppedUnauthentic));
            w.sample(lab2(order[i], "reason", QStringLiteral("replayed")), double(s.droppedReplayed));
        }
        w.family("kcpnet_session_throughput_bytes_per_second", "gauge",
                 "Payload throughput of the session over the last sample interval, by direction.");
        for (std::size_t i = 0; i < labeled; ++i) {
            w.sample(lab2(order[i], "direction", QStringLiteral("sent")), order[i]->rates.bytesSent);
            w.sample(lab2(order[i], "direction", QStringLiteral("received")), order[i]->rates.bytesReceived);
        }
    }
    w.family("kcpnet_metrics_scrapes_total", "counter", "Scrapes of this endpoint.");
    w.sample({}, double(d->scrapes));
    return w.finish();
}

bool QKcpMetricsServer::startTrace(quint64 sessionId, int maxEvents)
{
    Q_D(QKcpMetricsServer);
    d->refresh();
    QKcpMetricsSession *s = d->session(sessionId);
    if (!s)
        return false;
    s->socket->startTrace(std::clamp(maxEvents, 1, kMaxTraceEvents));
    s->tracing = true;
    return true;
}

bool QKcpMetricsServer::stopTrace(quint64 sessionId)
{
    Q_D(QKcpMetricsServer);
    d->refresh();
    QKcpMetricsSession *s = d->session(sessionId);
    if (!s)
        return false;
    s->socket->stopTrace();
    s->tracing = false;
    return true;
}

QByteArray QKcpMetricsServer::traceJsonLines(quint64 sessionId, qint64 sinceMs, int limit)
{
    Q_D(QKcpMetricsServer);
    d->refresh();
    QKcpMetricsSession *s = d->session(sessionId);
    if (!s)
        return QByteArray();
    const QList<QKcpTraceEvent> events = s->socket->traceEvents();
    qsizetype first = 0;
    if (sinceMs >= 0) {
        first = std::lower_bound(events.cbegin(), events.cend(), sinceMs,
                                 [](const QKcpTraceEvent &e, qint64 t) { return e.time <= t; })
            - events.cbegin();
    }
    qsizetype count = events.size() - first;
    if (limit >= 0 && limit < count)
        count = limit;
    const QKcpMetricsSource &src = d->sources[std::size_t(s->source)];
    QJsonObject header;
    header.insert(QStringLiteral("kcpnet_trace"), 1);
    header.insert(QStringLiteral("session"), qint64(s->id));
    header.insert(QStringLiteral("source"), src.name);
    header.insert(QStringLiteral("role"), src.isServer ? QStringLiteral("server") : QStringLiteral("client"));
    header.insert(QStringLiteral("conversation"), qint64(s->last.conversation));
    header.insert(QStringLiteral("peer"), s->peer);
    header.insert(QStringLiteral("local"), s->local);
    header.insert(QStringLiteral("tracing"), s->socket->isTracing());
    header.insert(QStringLiteral("events"), qint64(count));
    header.insert(QStringLiteral("age_ms"), s->last.age);
    QByteArray out = QJsonDocument(header).toJson(QJsonDocument::Compact) + '\n';
    out.reserve(out.size() + count * 64);
    for (qsizetype i = first; i < first + count; ++i)
        out += QJsonDocument(events[i].toJson()).toJson(QJsonDocument::Compact) + '\n';
    return out;
}
