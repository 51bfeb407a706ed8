// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "udprelay.h"

#include <QtCore/qmutex.h>
#include <QtCore/qvariant.h>
#include <QtNetwork/qudpsocket.h>

#include <algorithm>
#include <cstring>

namespace {

constexpr int kReadBatch = 64;           // datagrams per readyRead before the event loop turns again
constexpr qsizetype kMaxDatagram = 65536;
constexpr int kSocketBuffer = 4 << 20;   // ask for 4 MiB kernel buffers (capped by net.core.[rw]mem_max)

QByteArray clientKey(const QHostAddress &address, quint16 port)
{
    const Q_IPV6ADDR ip = address.toIPv6Address();
    QByteArray key(reinterpret_cast<const char *>(ip.c), 16);
    key.append(static_cast<char>(port >> 8));
    key.append(static_cast<char>(port & 0xff));
    return key;
}

void enlargeBuffers(QUdpSocket *socket)
{
    socket->setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, QVariant(kSocketBuffer));
    socket->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, QVariant(kSocketBuffer));
}

} // namespace

KcpUdpRelay::KcpUdpRelay(QObject *parent)
    : QObject(parent)
    , m_timer(this)
{
    m_clock.start();
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &KcpUdpRelay::onTimer);
    m_buffer.resize(kMaxDatagram);
}

KcpUdpRelay::~KcpUdpRelay()
{
    close();
}

bool KcpUdpRelay::listen(const QHostAddress &address, quint16 port)
{
    close();
    m_listener = new QUdpSocket(this);
    if (!m_listener->bind(address, port)) {
        m_errorString = m_listener->errorString();
        delete m_listener;
        m_listener = nullptr;
        return false;
    }
    enlargeBuffers(m_listener);
    connect(m_listener, &QUdpSocket::readyRead, this, &KcpUdpRelay::readFromClients);
    m_errorString.clear();
    return true;
}

void KcpUdpRelay::close()
{
    m_timer.stop();
    m_armedFor = -1;
    m_queue = decltype(m_queue)();
    m_queuedPerDirection = {};
    m_clientsByKey.clear();
    m_clientsById.clear();
    m_clients.clear(); // the upstream sockets are children: deleted with their Client below
    const QList<QUdpSocket *> sockets = findChildren<QUdpSocket *>(QString(), Qt::FindDirectChildrenOnly);
    for (QUdpSocket *s : sockets)
        delete s;
    m_listener = nullptr;
}

bool KcpUdpRelay::isListening() const
{
    return m_listener != nullptr;
}

QHostAddress KcpUdpRelay::address() const
{
    return m_listener ? m_listener->localAddress() : QHostAddress();
}

quint16 KcpUdpRelay::port() const
{
    return m_listener ? m_listener->localPort() : 0;
}

QString KcpUdpRelay::errorString() const
{
    return m_errorString;
}

void KcpUdpRelay::setTarget(const QHostAddress &address, quint16 port)
{
    m_targetAddress = address;
    m_targetPort = port;
}

QHostAddress KcpUdpRelay::targetAddress() const
{
    return m_targetAddress;
}

quint16 KcpUdpRelay::targetPort() const
{
    return m_targetPort;
}

void KcpUdpRelay::setSeed(quint32 seed)
{
    QMutexLocker lock(&m_mutex);
    m_rng.seed(seed);
}

void KcpUdpRelay::setImpairment(Direction direction, const Impairment &impairment)
{
    Impairment i = impairment;
    i.lossPercent = std::clamp(i.lossPercent, 0.0, 100.0);
    i.duplicatePercent = std::clamp(i.duplicatePercent, 0.0, 100.0);
    i.corruptPercent = std::clamp(i.corruptPercent, 0.0, 100.0);
    i.delayMs = std::max(i.delayMs, 0);
    i.jitterMs = std::max(i.jitterMs, 0);
    QMutexLocker lock(&m_mutex);
    m_impairment[direction] = i;
}

void KcpUdpRelay::setImpairment(const Impairment &impairment)
{
    setImpairment(ClientToServer, impairment);
    setImpairment(ServerToClient, impairment);
}

KcpUdpRelay::Impairment KcpUdpRelay::impairment(Direction direction) const
{
    QMutexLocker lock(&m_mutex);
    return m_impairment[direction];
}

void KcpUdpRelay::cut()
{
    cut(ClientToServer);
    cut(ServerToClient);
}

void KcpUdpRelay::cut(Direction direction)
{
    m_cut[direction].store(true);
}

void KcpUdpRelay::heal()
{
    m_cut[ClientToServer].store(false);
    m_cut[ServerToClient].store(false);
}

bool KcpUdpRelay::isCut(Direction direction) const
{
    return m_cut[direction].load();
}

KcpUdpRelay::Counters KcpUdpRelay::counters(Direction direction) const
{
    const AtomicCounters &a = m_counters[direction];
    Counters c;
    c.received = a.received.load();
    c.forwarded = a.forwarded.load();
    c.dropped = a.dropped.load();
    c.cutDropped = a.cutDropped.load();
    c.duplicated = a.duplicated.load();
    c.corrupted = a.corrupted.load();
    c.bytesForwarded = a.bytesForwarded.load();
    c.sendErrors = a.sendErrors.load();
    c.largest = a.largest.load();
    return c;
}

void KcpUdpRelay::resetCounters()
{
    for (AtomicCounters &a : m_counters) {
        a.received = 0;
        a.forwarded = 0;
        a.dropped = 0;
        a.cutDropped = 0;
        a.duplicated = 0;
        a.corrupted = 0;
        a.bytesForwarded = 0;
        a.sendErrors = 0;
        a.largest = 0;
    }
}

int KcpUdpRelay::clientCount() const
{
    return static_cast<int>(m_clients.size());
}

quint16 KcpUdpRelay::upstreamPort(const QHostAddress &clientAddress, quint16 clientPort) const
{
    const Client *c = m_clientsByKey.value(clientKey(clientAddress, clientPort));
    return c && c->upstream ? c->upstream->localPort() : 0;
}

int KcpUdpRelay::queuedDatagrams() const
{
    return static_cast<int>(m_queue.size());
}

KcpUdpRelay::Client *KcpUdpRelay::clientFor(const QHostAddress &address, quint16 port)
{
    const QByteArray key = clientKey(address, port);
    if (Client *c = m_clientsByKey.value(key))
        return c;
    auto client = std::make_unique<Client>();
    client->address = address;
    client->port = port;
    client->id = m_nextClientId++;
    client->upstream = new QUdpSocket(this);
    const bool v6 = m_targetAddress.protocol() == QAbstractSocket::IPv6Protocol;
    QHostAddress local;
    if (m_targetAddress.isLoopback())
        local = v6 ? QHostAddress(QHostAddress::LocalHostIPv6) : QHostAddress(QHostAddress::LocalHost);
    else
        local = v6 ? QHostAddress(QHostAddress::AnyIPv6) : QHostAddress(QHostAddress::AnyIPv4);
    if (!client->upstream->bind(local, 0)) {
        m_errorString = client->upstream->errorString();
        delete client->upstream;
        return nullptr;
    }
    enlargeBuffers(client->upstream);
    Client *raw = client.get();
    connect(raw->upstream, &QUdpSocket::readyRead, this, [this, raw] { readFromUpstream(raw); });
    m_clientsByKey.insert(key, raw);
    m_clientsById.insert(raw->id, raw);
    m_clients.push_back(std::move(client));
    return raw;
}

void KcpUdpRelay::readFromClients()
{
    QHostAddress from;
    quint16 fromPort = 0;
    for (int i = 0; i < kReadBatch && m_listener && m_listener->hasPendingDatagrams(); ++i) {
        const qint64 n = m_listener->readDatagram(m_buffer.data(), m_buffer.size(), &from, &fromPort);
        if (n < 0)
            break;
        m_counters[ClientToServer].received.fetch_add(1, std::memory_order_relaxed);
        Client *client = clientFor(from, fromPort);
        if (!client) {
            m_counters[ClientToServer].sendErrors.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        handle(ClientToServer, client, m_buffer.constData(), n);
    }
}

void KcpUdpRelay::readFromUpstream(Client *client)
{
    QHostAddress from;
    quint16 fromPort = 0;
    for (int i = 0; i < kReadBatch && client->upstream->hasPendingDatagrams(); ++i) {
        const qint64 n = client->upstream->readDatagram(m_buffer.data(), m_buffer.size(), &from, &fromPort);
        if (n < 0)
            break;
        if (fromPort != m_targetPort || !from.isEqual(m_targetAddress, QHostAddress::TolerantConversion))
            continue; // not from the target: not ours to relay
        m_counters[ServerToClient].received.fetch_add(1, std::memory_order_relaxed);
        handle(ServerToClient, client, m_buffer.constData(), n);
    }
}

bool KcpUdpRelay::chance(double percent)
{
    if (percent <= 0.0)
        return false;
    if (percent >= 100.0)
        return true;
    return std::uniform_real_distribution<double>(0.0, 100.0)(m_rng) < percent;
}

void KcpUdpRelay::handle(Direction direction, Client *client, const char *data, qint64 size)
{
    AtomicCounters &counters = m_counters[direction];
    if (static_cast<quint64>(size) > counters.largest.load(std::memory_order_relaxed))
        counters.largest.store(static_cast<quint64>(size), std::memory_order_relaxed);
    if (m_cut[direction].load(std::memory_order_relaxed)) {
        counters.dropped.fetch_add(1, std::memory_order_relaxed);
        counters.cutDropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }

    struct Copy {
        int delay = 0;
        qint64 corruptAt = -1;
        char mask = 0;
    };
    Copy copies[2];
    int count = 1;
    {
        QMutexLocker lock(&m_mutex);
        const Impairment &imp = m_impairment[direction];
        if (chance(imp.lossPercent)) {
            counters.dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (chance(imp.duplicatePercent))
            count = 2;
        for (int i = 0; i < count; ++i) {
            Copy &c = copies[i];
            c.delay = imp.delayMs;
            if (imp.jitterMs > 0)
                c.delay += std::uniform_int_distribution<int>(0, imp.jitterMs)(m_rng);
            if (size > 0 && chance(imp.corruptPercent)) {
                c.corruptAt = std::uniform_int_distribution<qint64>(0, size - 1)(m_rng);
                c.mask = static_cast<char>(std::uniform_int_distribution<int>(1, 255)(m_rng));
            }
        }
    }
    if (count == 2)
        counters.duplicated.fetch_add(1, std::memory_order_relaxed);

    const qint64 now = m_clock.elapsed();
    for (int i = 0; i < count; ++i) {
        const Copy &c = copies[i];
        QByteArray bytes(data, size);
        if (c.corruptAt >= 0) {
            bytes[c.corruptAt] = static_cast<char>(bytes.at(c.corruptAt) ^ c.mask);
            counters.corrupted.fetch_add(1, std::memory_order_relaxed);
        }
        if (c.delay == 0 && m_queuedPerDirection[direction] == 0) {
            deliver(direction, client->id, bytes); // nothing queued ahead of it in this direction
            continue;
        }
        Pending p;
        p.due = now + c.delay;
        p.seq = m_nextSeq++;
        p.clientId = client->id;
        p.direction = direction;
        p.data = std::move(bytes);
        m_queue.push(std::move(p));
        ++m_queuedPerDirection[direction];
    }
    arm();
}

void KcpUdpRelay::deliver(Direction direction, quint64 clientId, const QByteArray &data)
{
    AtomicCounters &counters = m_counters[direction];
    if (m_cut[direction].load(std::memory_order_relaxed)) {
        counters.dropped.fetch_add(1, std::memory_order_relaxed);
        counters.cutDropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const Client *client = m_clientsById.value(clientId);
    if (!client || !m_listener)
        return;
    qint64 written;
    if (direction == ClientToServer)
        written = client->upstream->writeDatagram(data, m_targetAddress, m_targetPort);
    else
        written = m_listener->writeDatagram(data, client->address, client->port);
    if (written < 0) {
        counters.sendErrors.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    counters.forwarded.fetch_add(1, std::memory_order_relaxed);
    counters.bytesForwarded.fetch_add(static_cast<quint64>(data.size()), std::memory_order_relaxed);
}

void KcpUdpRelay::onTimer()
{
    m_armedFor = -1;
    const qint64 now = m_clock.elapsed();
    // Bounded: only what is due now, and deliver() never queues anything.
    while (!m_queue.empty() && m_queue.top().due <= now) {
        const Pending p = m_queue.top();
        m_queue.pop();
        --m_queuedPerDirection[p.direction];
        deliver(p.direction, p.clientId, p.data);
    }
    arm();
}

void KcpUdpRelay::arm()
{
    if (m_queue.empty()) {
        m_timer.stop();
        m_armedFor = -1;
        return;
    }
    const qint64 due = m_queue.top().due;
    if (m_timer.isActive() && m_armedFor == due)
        return;
    m_armedFor = due;
    m_timer.start(static_cast<int>(std::max<qint64>(due - m_clock.elapsed(), 0)));
}
