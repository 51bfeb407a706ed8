// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPMETRICSSERVER_H
#define QKCPMETRICSSERVER_H

#include "qkcpnetglobal.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qobject.h>
#include <QtNetwork/qhostaddress.h>

#include <memory>

class QKcpMetricsServerPrivate;
class QKcpServer;
class QKcpSocket;

// An opt-in HTTP/1.1 endpoint that shows what the KCP links of this process are doing. Watch servers and sockets,
// listen (127.0.0.1 by default), and point the monitor (kcpnet-monitor), Prometheus or curl at it:
//
//   GET  /metrics                  Prometheus text (0.0.4), or OpenMetrics 1.0 when the Accept header asks for it.
//                                  Totals per watched source, plus per-session series for the top N sessions by
//                                  traffic only (setMaxLabeledSessions), so 10,000 sessions stay a small scrape.
//   GET  /api/v1/snapshot          JSON: every watched session (peer, state, RTT, windows, queues, counters, rates),
//                                  the totals and the server counters. ?limit=N keeps the N busiest sessions.
//   POST /api/v1/trace/start?session=ID[&max=N]   start recording the protocol events of one session
//   POST /api/v1/trace/stop?session=ID            stop recording (the events are kept)
//   GET  /api/v1/trace?session=ID[&since=MS][&limit=N]   the recorded events as JSON lines (docs/TRACE.md)
//
// With a bearer token set, every request needs "Authorization: Bearer <token>" (else 401).
// Rates (bytes/s and so on) come from an internal sampler (sampleInterval(), 1 s by default).
// The metrics server, and the servers and sockets it watches, must live in the same thread. It keeps no strong
// reference: a watched object that is destroyed simply disappears from the output (its counters stay in the totals).
// Formats: docs/MONITOR.md.
class Q_KCPNET_EXPORT QKcpMetricsServer : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QByteArray bearerToken READ bearerToken WRITE setBearerToken)
    Q_PROPERTY(int maxLabeledSessions READ maxLabeledSessions WRITE setMaxLabeledSessions)
    Q_PROPERTY(int maxSnapshotSessions READ maxSnapshotSessions WRITE setMaxSnapshotSessions)
    Q_PROPERTY(int sampleInterval READ sampleInterval WRITE setSampleInterval)
    Q_PROPERTY(int maxConnections READ maxConnections WRITE setMaxConnections)

public:
    explicit QKcpMetricsServer(QObject *parent = nullptr);
    ~QKcpMetricsServer() override;

    // Starts serving HTTP. The default address is the loopback: exposing metrics elsewhere is a decision to make
    // explicitly (and then with a bearer token).
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    void close();
    bool isListening() const;
    QHostAddress serverAddress() const;
    quint16 serverPort() const;
    QString errorString() const;

    // Watch every session of a server (sessions come and go on their own), or one socket (client side).
    // `name` labels the source in the output ("server0", "client1"... by default). Watching twice is a no-op.
    void watch(QKcpServer *server, const QString &name = QString());
    void watch(QKcpSocket *socket, const QString &name = QString());
    void unwatch(QObject *serverOrSocket);

    // Empty = no authentication (the default).
    void setBearerToken(const QByteArray &token);
    QByteArray bearerToken() const;

    // Per-session series in /metrics: the N sessions with the most traffic (default 20, 0 = totals only).
    void setMaxLabeledSessions(int count);
    int maxLabeledSessions() const;
    // Sessions listed in a JSON snapshot at most (the busiest first when there are more; default 1000).
    void setMaxSnapshotSessions(int count);
    int maxSnapshotSessions() const;
    // The rate sampler's period in ms (default 1000, at least 100).
    void setSampleInterval(int msecs);
    int sampleInterval() const;
    // Concurrent HTTP connections (default 32); more are closed at once.
    void setMaxConnections(int count);
    int maxConnections() const;

    // What the endpoints serve, also usable without listening (in-process tools, tests).
    // snapshot(): the JSON of /api/v1/snapshot (limit < 0: maxSnapshotSessions()).
    QJsonObject snapshot(int limit = -1);
    // metricsText(): the body of /metrics (openMetrics: the OpenMetrics 1.0 flavour, ending in "# EOF").
    QByteArray metricsText(bool openMetrics = false);
    // The id a watched socket has in the output (0 if not watched / not seen yet).
    quint64 sessionId(const QKcpSocket *socket) const;
    // Trace control by session id, as the HTTP endpoints do. traceJsonLines() returns "" for an unknown id.
    bool startTrace(quint64 sessionId, int maxEvents = 100000);
    bool stopTrace(quint64 sessionId);
    QByteArray traceJsonLines(quint64 sessionId, qint64 sinceMs = -1, int limit = -1);

    // Takes a rate sample now (the sampler does this every sampleInterval()).
    void sample();

Q_SIGNALS:
    // One HTTP request answered (for logs): method, path, status code.
    void requestServed(const QByteArray &method, const QByteArray &path, int status);

private:
    Q_DISABLE_COPY(QKcpMetricsServer)
    Q_DECLARE_PRIVATE(QKcpMetricsServer)
    std::unique_ptr<QKcpMetricsServerPrivate> d_ptr;
};

#endif // QKCPMETRICSSERVER_H
