// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// DemoHarness (--demo): an echo QKcpServer and a few clients with different presets and workloads, in process,
// two of them over an impaired link (KcpUdpRelay), two more encrypted with a pre-shared key at a second echo
// server, one of those over a link that corrupts and repeats datagrams (what forged and replayed traffic looks
// like), all watched by a QKcpMetricsServer on 127.0.0.1 that the monitor then connects to like to any other
// endpoint.
#ifndef KCPMON_DEMO_H
#define KCPMON_DEMO_H

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qobject.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurl.h>

#include <vector>

class QKcpMetricsServer;
class QKcpServer;
class QKcpSocket;
class KcpUdpRelay;

namespace kcpmon {

class DemoHarness : public QObject
{
    Q_OBJECT
public:
    explicit DemoHarness(QObject *parent = nullptr);
    ~DemoHarness() override;

    // Starts everything; false (see errorString()) if a socket could not be bound.
    bool start(int clients = 6);
    void stop();
    bool isRunning() const { return m_server != nullptr; }
    QUrl url() const;
    QString errorString() const { return m_error; }
    QKcpMetricsServer *metrics() const { return m_metrics; }
    QKcpServer *server() const { return m_server; }
    QKcpServer *secureServer() const { return m_secureServer; }
    int clientCount() const { return int(m_clients.size()); }
    QKcpSocket *client(int i) const { return m_clients[std::size_t(i)].socket; }

private:
    struct Client {
        QKcpSocket *socket = nullptr;
        bool bulk = false;
        double bytesPerSecond = 0;
        double phase = 0;
        qint64 echoed = 0;
    };
    void tick();

    QKcpServer *m_server = nullptr;
    QKcpServer *m_secureServer = nullptr; // pre-shared key
    QKcpMetricsServer *m_metrics = nullptr;
    std::vector<KcpUdpRelay *> m_relays;
    std::vector<Client> m_clients;
    QTimer m_timer;
    QElapsedTimer m_clock;
    QString m_error;
};

} // namespace kcpmon

#endif // KCPMON_DEMO_H
