// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// The monitor's view of one JSON snapshot from QKcpMetricsServer (/api/v1/snapshot, docs/MONITOR.md).
#ifndef KCPMON_SNAPSHOT_H
#define KCPMON_SNAPSHOT_H

#include <QtCore/qjsonobject.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

namespace kcpmon {

// Cumulative counters (monotonic while the session lives).
struct Counters {
    quint64 bytesSent = 0;
    quint64 bytesReceived = 0;
    quint64 wireBytesSent = 0;
    quint64 wireBytesReceived = 0;
    quint64 datagramsSent = 0;
    quint64 datagramsReceived = 0;
    quint64 segmentsSent = 0;
    quint64 segmentsReceived = 0;
    quint64 retransmitsTimeout = 0;
    quint64 retransmitsFast = 0;
    quint64 duplicates = 0;
    quint64 outOfWindow = 0;
    quint64 dropsChecksum = 0;
    quint64 dropsWrongConversation = 0;
    quint64 dropsMalformed = 0;
    quint64 dropsUnexpected = 0;
    quint64 dropsUnauthentic = 0; // encrypted sessions: failed authentication (forged, tampered, wrong key)
    quint64 dropsReplayed = 0;    // encrypted sessions: came before (a replay or a duplicate)

    quint64 retransmits() const { return retransmitsTimeout + retransmitsFast; }
    // Dropped by the encryption layer: what an attacker injecting or replaying datagrams shows up as.
    quint64 securityDrops() const { return dropsUnauthentic + dropsReplayed; }
    quint64 drops() const
    {
        return dropsChecksum + dropsWrongConversation + dropsMalformed + dropsUnexpected + securityDrops();
    }
    static Counters fromJson(const QJsonObject &o);
};

struct SessionInfo {
    quint64 id = 0;
    QString source;
    QString role; // "server" / "client"
    quint32 conversation = 0;
    QString peer;
    QString local;
    QString state; // "connected", "connecting", "closing", "unconnected"
    qint64 ageMs = 0;
    qint64 lastReceiveMs = 0;
    double srtt = 0;
    double rttvar = 0;
    double rto = 0;
    double cwnd = 0;
    double ssthresh = 0;
    double remoteWindow = 0;
    double inFlight = 0;
    double sendQueue = 0;
    double sendBuffer = 0;
    double receiveQueue = 0;
    double receiveBuffer = 0;
    bool tracing = false;
    bool encrypted = false; // pre-shared key or DTLS (false from exporters that do not say)
    Counters counters;

    static SessionInfo fromJson(const QJsonObject &o);
};

struct Snapshot {
    bool valid = false;
    QString version;
    qint64 timeMs = 0; // the exporter's monotonic clock
    Counters totals;
    int sessionsTotal = 0;
    bool truncated = false;
    QStringList sources;
    QList<SessionInfo> sessions;

    static Snapshot fromJson(const QJsonObject &root);
};

} // namespace kcpmon

#endif // KCPMON_SNAPSHOT_H
