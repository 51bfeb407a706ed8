// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Private implementation of QKcpMetricsServer. Not part of the API.
#ifndef QKCPMETRICSSERVER_P_H
#define QKCPMETRICSSERVER_P_H

#include "qkcpmetricsserver.h"
#include "qkcpserver.h"
#include "qkcpsocket.h"
#include "qkcpstatistics.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>

#include <map>
#include <vector>

class QTcpServer;
class QTcpSocket;

// Per-second rates of one session (or a sum of them), from the last two samples.
struct QKcpMetricsRates {
    double bytesSent = 0;
    double bytesReceived = 0;
    double wireBytesSent = 0;
    double wireBytesReceived = 0;
    double datagramsSent = 0;
    double datagramsReceived = 0;
    double segmentsSent = 0;
    double retransmits = 0;
    double drops = 0;

    QKcpMetricsRates &operator+=(const QKcpMetricsRates &o);
    double traffic() const { return wireBytesSent + wireBytesReceived; }
};

// A watched server or client socket.
struct QKcpMetricsSource {
    int index = 0;
    QString name;
    QPointer<QKcpServer> server; // one of the two is set
    QPointer<QKcpSocket> socket;
    bool isServer = false;
    bool gone = false;          // the watched object was destroyed: totals keep its counters
    QKcpStatistics retired;     // counters of its sessions that ended (gauges unused)
    QKcpServerStatistics serverStats;
};

// One session seen through a source.
struct QKcpMetricsSession {
    quint64 id = 0;
    QPointer<QKcpSocket> socket;
    const QKcpSocket *key = nullptr;
    int source = 0;
    QString peer;
    QString local;
    QAbstractSocket::SocketState state = QAbstractSocket::UnconnectedState;
    QKcpStatistics last;  // at the last refresh
    QKcpStatistics prev;  // at the previous rate sample
    qint64 prevTime = -1; // ms, exporter clock
    qint64 firstSeen = 0; // ms, exporter clock
    QKcpMetricsRates rates;
    bool tracing = false;
    bool seen = false; // refresh bookkeeping
};

struct QKcpMetricsConnection {
    QTcpSocket *socket = nullptr;
    QByteArray buffer;
    QTimer *idle = nullptr;
};

class QKcpMetricsServerPrivate
{
public:
    explicit QKcpMetricsServerPrivate(QKcpMetricsServer *q);
    ~QKcpMetricsServerPrivate();

    // Reads every watched object: new sessions get an id, ended ones are retired into their source's totals.
    void refresh();
    void retire(QKcpMetricsSession &s);
    void ensureSampler();
    QKcpMetricsSource *sourceFor(const QObject *object);
    // Sessions ordered by traffic (rates, then totals), busiest first.
    std::vector<const QKcpMetricsSession *> ranked() const;
    QJsonObject sessionJson(const QKcpMetricsSession &s) const;
    QKcpMetricsSession *session(quint64 id);
    int activeTraces() const;

    // HTTP
    void onNewConnection();
    void onReadyRead(QKcpMetricsConnection *c);
    void dropConnection(QTcpSocket *socket);
    // Handles one complete request; returns false when the connection must close after the response.
    bool handle(QKcpMetricsConnection *c, const QByteArray &method, const QByteArray &target,
                const QHash<QByteArray, QByteArray> &headers, bool keepAlive);
    void respond(QKcpMetricsConnection *c, int status, const QByteArray &contentType, const QByteArray &body,
                 bool keepAlive, bool headOnly = false, const QByteArray &extraHeaders = QByteArray());
    bool authorized(const QHash<QByteArray, QByteArray> &headers) const;

    QKcpMetricsServer *q_ptr;
    QTcpServer *tcp = nullptr;
    QString errorString;
    QHash<QTcpSocket *, QKcpMetricsConnection *> connections;

    std::vector<QKcpMetricsSource> sources;
    std::map<quint64, QKcpMetricsSession> sessions; // by id
    QHash<const QKcpSocket *, quint64> idBySocket;
    quint64 nextId = 1;
    int nextServerName = 0;
    int nextClientName = 0;

    QElapsedTimer clock;
    QTimer sampler;
    QByteArray token;
    int maxLabeled = 20;
    int maxSnapshot = 1000;
    int interval = 1000;
    int maxConnections = 32;
    quint64 scrapes = 0;
    quint64 requests = 0;

    Q_DECLARE_PUBLIC(QKcpMetricsServer)
};

#endif // QKCPMETRICSSERVER_P_H
