// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// KcpUdpRelay: an in-process UDP "bad network" for tests, demos and benchmarks.
//
//   client ──► relay.port() ──[impair client→server]──► upstream socket (one per client) ──► target
//   client ◄── relay.port() ◄──[impair server→client]── upstream socket ◄────────────────── target
//
// The relay listens on one QUdpSocket (127.0.0.1 or ::1, port 0 by default). Every distinct client address:port
// gets its own upstream QUdpSocket, so the target sees one distinct source per client (as through a NAT), and a
// client that comes back on the same local port reuses the same upstream port.
//
// Each direction has its own impairment:
//   lossPercent       the datagram is dropped
//   delayMs           fixed one-way delay
//   jitterMs          an extra uniform 0..jitterMs delay per datagram: datagrams overtake each other (reordering)
//   duplicatePercent  the datagram is sent twice (each copy gets its own jitter)
//   corruptPercent    one random byte of the copy is XORed with a random non-zero value
// Decisions come from one seeded std::mt19937 (setSeed()), so a run is reproducible in what it decides (the
// timing of the peers still varies). cut() drops everything, queued datagrams included, until heal().
//
// Timed delivery uses one QTimer and a priority queue ordered by due time (ties keep arrival order); no
// per-datagram timers. With no delay and no jitter, datagrams are forwarded at once.
//
// Threads: the relay lives in the thread that owns it (moveToThread() works while it is idle). The settings,
// cut()/heal() and the counters may be used from any thread; everything else from the owning thread.
// Reads are bounded per event (a flood cannot starve the timers of the thread).
//
// Typical use:
//     KcpUdpRelay relay;
//     relay.setSeed(42);
//     relay.setImpairment({10.0, 1, 3, 1.0, 0.5}); // both directions: 10 % loss, 1 ms + 0..3 ms, 1 % dup, 0.5 % corrupt
//     relay.listen(QHostAddress::LocalHost);
//     relay.setTarget(QHostAddress::LocalHost, server.serverPort());
//     client.connectToHost(relay.address(), relay.port());
#ifndef KCPNET_UDPRELAY_H
#define KCPNET_UDPRELAY_H

#include <QtCore/qbytearray.h>
#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qmutex.h>
#include <QtCore/qobject.h>
#include <QtCore/qtimer.h>
#include <QtNetwork/qhostaddress.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <queue>
#include <random>
#include <vector>

class QUdpSocket;

class KcpUdpRelay : public QObject
{
    Q_OBJECT

public:
    enum Direction {
        ClientToServer = 0,
        ServerToClient = 1,
    };
    Q_ENUM(Direction)

    struct Impairment {
        double lossPercent = 0.0;      // 0..100
        int delayMs = 0;               // >= 0
        int jitterMs = 0;              // >= 0, uniform extra delay 0..jitterMs
        double duplicatePercent = 0.0; // 0..100
        double corruptPercent = 0.0;   // 0..100
    };

    // Per-direction counters (datagrams).
    struct Counters {
        quint64 received = 0;   // read from the sender
        quint64 forwarded = 0;  // written to the receiver (duplicates included)
        quint64 dropped = 0;    // lost on purpose (loss or cut), queued ones dropped by cut() included
        quint64 cutDropped = 0; // of `dropped`, those dropped because the link was cut
        quint64 duplicated = 0; // extra copies made
        quint64 corrupted = 0;  // copies with a flipped byte
        quint64 bytesForwarded = 0;
        quint64 sendErrors = 0; // the socket refused to send (not counted as forwarded)
        quint64 largest = 0;    // size of the largest datagram read (bytes)
    };

    explicit KcpUdpRelay(QObject *parent = nullptr);
    ~KcpUdpRelay() override;

    // Binds the client-facing socket. Returns false (see errorString()) if binding fails.
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    void close();
    bool isListening() const;
    QHostAddress address() const;
    quint16 port() const;
    QString errorString() const;

    // Where client datagrams go. Set before the first client datagram arrives.
    void setTarget(const QHostAddress &address, quint16 port);
    QHostAddress targetAddress() const;
    quint16 targetPort() const;

    void setSeed(quint32 seed);
    void setImpairment(Direction direction, const Impairment &impairment);
    void setImpairment(const Impairment &impairment); // both directions
    Impairment impairment(Direction direction) const;

    // Drop everything (both directions, or one) until heal(); datagrams already queued are dropped too.
    void cut();
    void cut(Direction direction);
    void heal();
    bool isCut(Direction direction) const;

    Counters counters(Direction direction) const;
    void resetCounters();
    // Clients seen so far (each has an upstream socket).
    int clientCount() const;
    // The upstream (target-facing) port used for a client, 0 if unknown.
    quint16 upstreamPort(const QHostAddress &clientAddress, quint16 clientPort) const;
    // Datagrams waiting for their due time.
    int queuedDatagrams() const;

private:
    struct Client {
        QHostAddress address;
        quint16 port = 0;
        QUdpSocket *upstream = nullptr;
        quint64 id = 0;
    };
    struct Pending {
        qint64 due = 0;
        quint64 seq = 0;
        quint64 clientId = 0;
        Direction direction = ClientToServer;
        QByteArray data;
    };
    struct Later {
        bool operator()(const Pending &a, const Pending &b) const
        {
            return a.due != b.due ? a.due > b.due : a.seq > b.seq;
        }
    };
    struct AtomicCounters {
        std::atomic<quint64> received {0};
        std::atomic<quint64> forwarded {0};
        std::atomic<quint64> dropped {0};
        std::atomic<quint64> cutDropped {0};
        std::atomic<quint64> duplicated {0};
        std::atomic<quint64> corrupted {0};
        std::atomic<quint64> bytesForwarded {0};
        std::atomic<quint64> sendErrors {0};
        std::atomic<quint64> largest {0};
    };

    void readFromClients();
    void readFromUpstream(Client *client);
    Client *clientFor(const QHostAddress &address, quint16 port);
    void handle(Direction direction, Client *client, const char *data, qint64 size);
    void deliver(Direction direction, quint64 clientId, const QByteArray &data);
    void onTimer();
    void arm();
    bool chance(double percent); // caller holds m_mutex

    QUdpSocket *m_listener = nullptr;
    QHash<QByteArray, Client *> m_clientsByKey;
    QHash<quint64, Client *> m_clientsById;
    std::vector<std::unique_ptr<Client>> m_clients;
    quint64 m_nextClientId = 1;
    QHostAddress m_targetAddress;
    quint16 m_targetPort = 0;
    QString m_errorString;

    std::priority_queue<Pending, std::vector<Pending>, Later> m_queue;
    quint64 m_nextSeq = 0;
    std::array<int, 2> m_queuedPerDirection {};
    QTimer m_timer; // a child of the relay, so it follows moveToThread()
    qint64 m_armedFor = -1;
    QElapsedTimer m_clock;
    QByteArray m_buffer;

    mutable QMutex m_mutex; // guards m_impairment, m_rng
    std::array<Impairment, 2> m_impairment {};
    std::mt19937 m_rng {0x6b63706e}; // "kcpn"
    std::array<std::atomic<bool>, 2> m_cut {};
    std::array<AtomicCounters, 2> m_counters;
};

Q_DECLARE_TYPEINFO(KcpUdpRelay::Impairment, Q_PRIMITIVE_TYPE);

#endif // KCPNET_UDPRELAY_H
