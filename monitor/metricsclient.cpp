// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "metricsclient.h"

#include <QtCore/qjsondocument.h>
#include <QtNetwork/qnetworkaccessmanager.h>
#include <QtNetwork/qnetworkreply.h>
#include <QtNetwork/qnetworkrequest.h>

namespace kcpmon {

MetricsClient::MetricsClient(const QUrl &baseUrl, QObject *parent)
    : QObject(parent), m_base(baseUrl), m_nam(new QNetworkAccessManager(this))
{
    m_timer.setInterval(100);
    connect(&m_timer, &QTimer::timeout, this, &MetricsClient::poll);
}

MetricsClient::~MetricsClient()
{
    if (m_pending)
        m_pending->abort();
}

QUrl MetricsClient::normalizeUrl(const QString &text)
{
    QString t = text.trimmed();
    if (t.isEmpty())
        return QUrl();
    if (!t.contains(QLatin1String("://")))
        t.prepend(QLatin1String("http://"));
    QUrl url(t, QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty() || (url.scheme() != QLatin1String("http")))
        return QUrl();
    // The base is the origin: anything after it (a pasted /metrics or /api/... path) is dropped.
    QUrl base;
    base.setScheme(url.scheme());
    base.setHost(url.host());
    base.setPort(url.port(80));
    return base;
}

QString MetricsClient::displayName() const
{
    return QStringLiteral("%1:%2").arg(m_base.host()).arg(m_base.port(80));
}

void MetricsClient::setPollInterval(int msecs)
{
    m_timer.setInterval(qBound(50, msecs, 10000));
}

void MetricsClient::start()
{
    if (m_timer.isActive())
        return;
    setStatus(Status::Connecting);
    m_rateClock.start();
    m_rateBase = m_received;
    m_timer.start();
    poll();
}

void MetricsClient::stop()
{
    m_timer.stop();
    if (m_pending)
        m_pending->abort();
    setStatus(Status::Idle);
}

QNetworkRequest MetricsClient::request(const QString &pathAndQuery) const
{
    QUrl url = m_base;
    const qsizetype q = pathAndQuery.indexOf(QLatin1Char('?'));
    url.setPath(q < 0 ? pathAndQuery : pathAndQuery.left(q));
    if (q >= 0)
        url.setQuery(pathAndQuery.mid(q + 1));
    QNetworkRequest req(url);
    req.setTransferTimeout(5000);
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (!m_token.isEmpty())
        req.setRawHeader("Authorization", "Bearer " + m_token);
    return req;
}

void MetricsClient::setStatus(Status s, const QString &error)
{
    m_error = error;
    if (s == m_status)
        return;
    m_status = s;
    Q_EMIT statusChanged(s);
}

void MetricsClient::poll()
{
    if (m_pending)
        return; // the previous request is still running
    QNetworkReply *reply = m_nam->get(request(QStringLiteral("/api/v1/snapshot")));
    m_pending = reply;
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        if (m_pending == reply)
            m_pending = nullptr;
        const int code = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (code == 401) {
            setStatus(Status::Unauthorized, tr("The endpoint needs a valid bearer token."));
            return;
        }
        if (reply->error() != QNetworkReply::NoError) {
            if (reply->error() != QNetworkReply::OperationCanceledError || m_timer.isActive())
                setStatus(Status::Error, reply->errorString());
            return;
        }
        QJsonParseError perr;
        const QJsonDocument doc = QJsonDocument::fromJson(reply->readAll(), &perr);
        const Snapshot snap = Snapshot::fromJson(doc.object());
        if (perr.error != QJsonParseError::NoError || !snap.valid) {
            setStatus(Status::Error, tr("The endpoint did not answer with a kcpnet snapshot."));
            return;
        }
        m_last = snap;
        ++m_received;
        if (m_rateClock.elapsed() >= 2000) {
            m_rate = double(m_received - m_rateBase) * 1000.0 / double(m_rateClock.restart());
            m_rateBase = m_received;
        } else if (m_rate == 0 && m_rateClock.elapsed() > 0 && m_received > m_rateBase + 1) {
            m_rate = double(m_received - m_rateBase) * 1000.0 / double(m_rateClock.elapsed());
        }
        setStatus(Status::Online);
        Q_EMIT snapshotReceived(m_last);
    });
}

void MetricsClient::finish(QNetworkReply *reply, const Callback &done)
{
    connect(reply, &QNetworkReply::finished, this, [reply, done] {
        reply->deleteLater();
        const QByteArray body = reply->readAll();
        const int code = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (reply->error() != QNetworkReply::NoError || code != 200) {
            QByteArray message = body.trimmed();
            const QJsonObject o = QJsonDocument::fromJson(body).object();
            if (o.contains(QLatin1String("error")))
                message = o.value(QLatin1String("error")).toString().toUtf8();
            if (message.isEmpty())
                message = reply->errorString().toUtf8();
            if (done)
                done(false, message);
            return;
        }
        if (done)
            done(true, body);
    });
}

void MetricsClient::startTrace(quint64 sessionId, int maxEvents, Callback done)
{
    const QNetworkRequest req =
        request(QStringLiteral("/api/v1/trace/start?session=%1&max=%2").arg(sessionId).arg(maxEvents));
    finish(m_nam->post(req, QByteArray()), done);
}

void MetricsClient::stopTrace(quint64 sessionId, Callback done)
{
    const QNetworkRequest req = request(QStringLiteral("/api/v1/trace/stop?session=%1").arg(sessionId));
    finish(m_nam->post(req, QByteArray()), done);
}

void MetricsClient::fetchTrace(quint64 sessionId, Callback done)
{
    finish(m_nam->get(request(QStringLiteral("/api/v1/trace?session=%1").arg(sessionId))), done);
}

void MetricsClient::get(const QString &path, Callback done)
{
    finish(m_nam->get(request(path)), done);
}

} // namespace kcpmon
