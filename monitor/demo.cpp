// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "demo.h"

#include "udprelay.h"

#include <QKcpMetricsServer>
#include <QKcpServer>
#include <QKcpSocket>

#include <QtCore/qrandom.h>

#include <cmath>

namespace kcpmon {

DemoHarness::DemoHarness(QObject *parent) : QObject(parent)
{
    m_timer.setInterval(20);
    connect(&m_timer, &QTimer::timeout, this, &DemoHarness::tick);
}

DemoHarness::~DemoHarness()
{
    stop();
}

QUrl DemoHarness::url() const
{
    if (!m_metrics || !m_metrics->isListening())
        return QUrl();
    QUrl u;
    u.setScheme(QStringLiteral("http"));
    u.setHost(QStringLiteral("127.0.0.1"));
    u.setPort(m_metrics->serverPort());
    return u;
}

bool DemoHarness::start(int clients)
{
    stop();
    clients = std::clamp(clients, 1, 200);
    m_server = new QKcpServer(QKcpConfig(QKcpConfig::Fast), this);
    if (!m_server->listen(QHostAddress::LocalHost, 0)) {
        m_error = m_server->errorString();
        stop();
        return false;
    }
    // A second echo server whose sessions are encrypted: a random key for this run, shared with its clients.
    QByteArray key(32, Qt::Uninitialized);
    for (char &b : key)
        b = char(QRandomGenerator::system()->bounded(256));
    QKcpConfig secure(QKcpConfig::Fast);
    secure.setPreSharedKey(key);
    m_secureServer = new QKcpServer(secure, this);
    if (!m_secureServer->listen(QHostAddress::LocalHost, 0)) {
        m_error = m_secureServer->errorString();
        stop();
        return false;
    }
    for (QKcpServer *server : {m_server, m_secureServer}) {
        connect(server, &QKcpServer::newConnection, this, [server] {
            while (QKcpSocket *s = server->nextPendingConnection()) {
                connect(s, &QKcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
                connect(s, &QKcpSocket::disconnected, s, &QObject::deleteLater);
            }
        });
    }
    m_metrics = new QKcpMetricsServer(this);
    m_metrics->watch(m_server, QStringLiteral("echo-server"));
    m_metrics->watch(m_secureServer, QStringLiteral("secure-server"));

    // Three impaired links: a mildly lossy one, a bad one, and one that corrupts and repeats datagrams (to the
    // encrypted server: they are dropped as failing authentication and as replayed).
    KcpUdpRelay::Impairment mild;
    mild.lossPercent = 2;
    mild.delayMs = 12;
    mild.jitterMs = 4;
    KcpUdpRelay::Impairment bad;
    bad.lossPercent = 9;
    bad.delayMs = 35;
    bad.jitterMs = 10;
    KcpUdpRelay::Impairment tampered;
    tampered.delayMs = 3;
    tampered.corruptPercent = 3;
    tampered.duplicatePercent = 5;
    for (const KcpUdpRelay::Impairment &imp : {mild, bad, tampered}) {
        auto *relay = new KcpUdpRelay(this);
        relay->setSeed(quint32(0x5eed + m_relays.size()));
        relay->setImpairment(imp);
        if (!relay->listen(QHostAddress::LocalHost)) {
            m_error = relay->errorString();
            stop();
            return false;
        }
        const QKcpServer *target = m_relays.size() < 2 ? m_server : m_secureServer;
        relay->setTarget(QHostAddress::LocalHost, target->serverPort());
        m_relays.push_back(relay);
    }

    // Client i: preset, workload and link vary so every kind of session shows up.
    const QKcpConfig::Preset presets[] = {QKcpConfig::Fast, QKcpConfig::Normal, QKcpConfig::Turbo};
    for (int i = 0; i < clients; ++i) {
        Client c;
        const QKcpConfig::Preset preset = presets[i % 3];
        c.bulk = i % 2 == 0;
        c.bytesPerSecond = c.bulk ? (i == 0 ? 900e3 : 250e3) : 6e3;
        c.phase = i * 1.7;
        // Clients 4 and 5 are encrypted (the secure server), 5 over the tampering link.
        const bool encrypted = i == 4 || i == 5;
        QKcpConfig config(preset);
        if (encrypted)
            config.setPreSharedKey(key);
        c.socket = new QKcpSocket(config, this);
        QKcpSocket *s = c.socket;
        const std::size_t index = m_clients.size();
        connect(s, &QKcpSocket::readyRead, this, [this, s, index] { m_clients[index].echoed += s->readAll().size(); });
        const char *presetName = preset == QKcpConfig::Fast ? "fast" : preset == QKcpConfig::Normal ? "normal" : "turbo";
        QString name = QStringLiteral("%1-%2").arg(c.bulk ? QStringLiteral("bulk") : QStringLiteral("ping"),
                                                   QLatin1String(presetName));
        // Clients 2 and 3 go through the impaired links.
        if (i == 2 || i == 3) {
            KcpUdpRelay *relay = m_relays[std::size_t(i - 2)];
            name += i == 2 ? QStringLiteral("-lossy") : QStringLiteral("-bad-link");
            s->connectToHost(QHostAddress::LocalHost, relay->port());
        } else if (i == 4) {
            name += QStringLiteral("-psk");
            s->connectToHost(QHostAddress::LocalHost, m_secureServer->serverPort());
        } else if (i == 5) {
            name += QStringLiteral("-tampered");
            s->connectToHost(QHostAddress::LocalHost, m_relays[2]->port());
        } else {
            s->connectToHost(QHostAddress::LocalHost, m_server->serverPort());
        }
        m_metrics->watch(s, name);
        m_clients.push_back(c);
    }
    if (!m_metrics->listen(QHostAddress::LocalHost, 0)) {
        m_error = m_metrics->errorString();
        stop();
        return false;
    }
    m_clock.start();
    m_timer.start();
    return true;
}

void DemoHarness::stop()
{
    m_timer.stop();
    for (Client &c : m_clients) {
        c.socket->abort();
        delete c.socket;
    }
    m_clients.clear();
    delete m_metrics;
    m_metrics = nullptr;
    qDeleteAll(m_relays);
    m_relays.clear();
    delete m_secureServer;
    m_secureServer = nullptr;
    delete m_server;
    m_server = nullptr;
}

void DemoHarness::tick()
{
    const double t = m_clock.elapsed() / 1000.0;
    const double dt = m_timer.interval() / 1000.0;
    for (Client &c : m_clients) {
        QKcpSocket *s = c.socket;
        if (s->state() != QAbstractSocket::ConnectedState)
            continue;
        // The offered load breathes (a slow sine plus a faster ripple) so the charts have something to show.
        const double shape = 1.0 + 0.55 * std::sin(t / 6.0 + c.phase) + 0.2 * std::sin(t * 1.3 + c.phase);
        const qint64 bytes = qint64(c.bytesPerSecond * dt * std::max(0.1, shape));
        if (c.bulk) {
            if (s->bytesToWrite() < 512 * 1024)
                s->write(QByteArray(int(std::max<qint64>(bytes, 1)), 'd'));
        } else if (std::fmod(t * 50.0, 5.0) < 1.0) {
            s->write(QByteArray(int(std::clamp<qint64>(bytes * 5, 16, 1200)), 'p'));
        }
    }
}

} // namespace kcpmon
