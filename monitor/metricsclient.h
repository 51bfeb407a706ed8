// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// MetricsClient: polls one QKcpMetricsServer endpoint over HTTP (GET /api/v1/snapshot) and drives its trace
// endpoints. One request in flight at a time: a slow exporter lowers the rate instead of piling requests up.
#ifndef KCPMON_METRICSCLIENT_H
#define KCPMON_METRICSCLIENT_H

#include "snapshot.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <functional>

class QNetworkAccessManager;
class QNetworkReply;
class QNetworkRequest;

namespace kcpmon {

class MetricsClient : public QObject
{
    Q_OBJECT
public:
    enum class Status { Idle, Connecting, Online, Error, Unauthorized };
    Q_ENUM(Status)

    explicit MetricsClient(const QUrl &baseUrl, QObject *parent = nullptr);
    ~MetricsClient() override;

    // "host:port" or "http://host:port[/]" -> base URL; invalid QUrl if it cannot be one.
    static QUrl normalizeUrl(const QString &text);

    QUrl baseUrl() const { return m_base; }
    QString displayName() const;
    void setBearerToken(const QByteArray &token) { m_token = token; }
    QByteArray bearerToken() const { return m_token; }

    void setPollInterval(int msecs);
    int pollInterval() const { return m_timer.interval(); }
    void start();
    void stop();
    bool isRunning() const { return m_timer.isActive(); }

    Status status() const { return m_status; }
    QString errorString() const { return m_error; }
    const Snapshot &lastSnapshot() const { return m_last; }
    quint64 snapshotsReceived() const { return m_received; }
    // Snapshots per second over the last few seconds.
    double pollRate() const { return m_rate; }

    // Trace control. The callback gets (ok, body or error text).
    using Callback = std::function<void(bool, const QByteArray &)>;
    void startTrace(quint64 sessionId, int maxEvents, Callback done);
    void stopTrace(quint64 sessionId, Callback done);
    void fetchTrace(quint64 sessionId, Callback done);
    // Any GET on the endpoint (e.g. "/metrics").
    void get(const QString &path, Callback done);

Q_SIGNALS:
    void snapshotReceived(const kcpmon::Snapshot &snapshot);
    void statusChanged(kcpmon::MetricsClient::Status status);

private:
    void poll();
    QNetworkRequest request(const QString &pathAndQuery) const;
    void finish(QNetworkReply *reply, const Callback &done);
    void setStatus(Status s, const QString &error = QString());

    QUrl m_base;
    QByteArray m_token;
    QNetworkAccessManager *m_nam = nullptr;
    QPointer<QNetworkReply> m_pending;
    QTimer m_timer;
    Status m_status = Status::Idle;
    QString m_error;
    Snapshot m_last;
    quint64 m_received = 0;
    QElapsedTimer m_rateClock;
    quint64 m_rateBase = 0;
    double m_rate = 0;
};

} // namespace kcpmon

#endif // KCPMON_METRICSCLIENT_H
