// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPSTATISTICS_H
#define QKCPSTATISTICS_H

#include "qkcpnetglobal.h"

#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qvariant.h>

class QDebug;

// A snapshot of one KCP session (QKcpSocket::statistics()) or of a whole server's sessions summed
// (QKcpServer::statistics()). A plain value type: cheap to copy, every field is also a Q_PROPERTY so tools
// (the monitor, the metrics exporter) can enumerate them through staticMetaObject.
// Times are in ms. "Bytes" are application payload; "wire" bytes are whole UDP payloads, headers included.
class Q_KCPNET_EXPORT QKcpStatistics
{
    Q_GADGET
    Q_PROPERTY(quint32 conversation MEMBER conversation)
    Q_PROPERTY(qint64 age MEMBER age)
    Q_PROPERTY(qint64 lastReceiveAge MEMBER lastReceiveAge)
    Q_PROPERTY(quint32 srtt MEMBER srtt)
    Q_PROPERTY(quint32 rttVariance MEMBER rttVariance)
    Q_PROPERTY(quint32 rto MEMBER rto)
    Q_PROPERTY(quint32 congestionWindow MEMBER congestionWindow)
    Q_PROPERTY(quint32 slowStartThreshold MEMBER slowStartThreshold)
    Q_PROPERTY(quint32 remoteWindow MEMBER remoteWindow)
    Q_PROPERTY(quint32 inFlight MEMBER inFlight)
    Q_PROPERTY(quint32 sendQueue MEMBER sendQueue)
    Q_PROPERTY(quint32 sendBuffer MEMBER sendBuffer)
    Q_PROPERTY(quint32 receiveQueue MEMBER receiveQueue)
    Q_PROPERTY(quint32 receiveBuffer MEMBER receiveBuffer)
    Q_PROPERTY(quint64 bytesSent MEMBER bytesSent)
    Q_PROPERTY(quint64 bytesReceived MEMBER bytesReceived)
    Q_PROPERTY(quint64 segmentsSent MEMBER segmentsSent)
    Q_PROPERTY(quint64 segmentsReceived MEMBER segmentsReceived)
    Q_PROPERTY(quint64 retransmitsTimeout MEMBER retransmitsTimeout)
    Q_PROPERTY(quint64 retransmitsFast MEMBER retransmitsFast)
    Q_PROPERTY(quint64 retransmitsRedundant MEMBER retransmitsRedundant)
    Q_PROPERTY(quint64 duplicateSegments MEMBER duplicateSegments)
    Q_PROPERTY(quint64 outOfWindowSegments MEMBER outOfWindowSegments)
    Q_PROPERTY(quint64 datagramsSent MEMBER datagramsSent)
    Q_PROPERTY(quint64 datagramsReceived MEMBER datagramsReceived)
    Q_PROPERTY(quint64 wireBytesSent MEMBER wireBytesSent)
    Q_PROPERTY(quint64 wireBytesReceived MEMBER wireBytesReceived)
    Q_PROPERTY(quint64 droppedChecksum MEMBER droppedChecksum)
    Q_PROPERTY(quint64 droppedWrongConversation MEMBER droppedWrongConversation)
    Q_PROPERTY(quint64 droppedMalformed MEMBER droppedMalformed)
    Q_PROPERTY(quint64 droppedUnexpected MEMBER droppedUnexpected)
    Q_PROPERTY(quint64 droppedUnauthentic MEMBER droppedUnauthentic)
    Q_PROPERTY(quint64 droppedReplayed MEMBER droppedReplayed)
    Q_PROPERTY(bool encrypted MEMBER encrypted)
    Q_PROPERTY(quint32 handshakeRtt MEMBER handshakeRtt)
    Q_PROPERTY(quint32 keepAliveRtt MEMBER keepAliveRtt)
    Q_PROPERTY(quint64 keepAlivesSent MEMBER keepAlivesSent)
    Q_PROPERTY(quint32 sessions MEMBER sessions)
    Q_PROPERTY(quint64 fecRecovered MEMBER fecRecovered)
    Q_PROPERTY(quint64 fecParitySent MEMBER fecParitySent)

public:
    quint32 conversation = 0;   // the KCP conv id (0 for server totals)
    qint64 age = 0;             // since the socket started connecting / the server accepted it
    qint64 lastReceiveAge = 0;  // since the last valid datagram from the peer
    // KCP state (gauges)
    quint32 srtt = 0;
    quint32 rttVariance = 0;
    quint32 rto = 0;
    quint32 congestionWindow = 0;   // effective send window: min(send, remote, congestion window)
    quint32 slowStartThreshold = 0;
    quint32 remoteWindow = 0;
    quint32 inFlight = 0;           // segments sent and not cumulatively acknowledged
    quint32 sendQueue = 0;          // segments waiting for the window
    quint32 sendBuffer = 0;         // segments sent, unacknowledged
    quint32 receiveQueue = 0;       // segments in order, not yet read by the socket
    quint32 receiveBuffer = 0;      // segments out of order
    // Counters
    quint64 bytesSent = 0;          // payload bytes transmitted for the first time
    quint64 bytesReceived = 0;      // payload bytes received (each once)
    quint64 segmentsSent = 0;       // data segments transmitted, retransmissions included
    quint64 segmentsReceived = 0;
    quint64 retransmitsTimeout = 0;
    quint64 retransmitsFast = 0;
    quint64 retransmitsRedundant = 0; // extra copies of segments that timed out (QKcpConfig::redundantRetransmits)
    quint64 duplicateSegments = 0;
    quint64 outOfWindowSegments = 0;
    quint64 datagramsSent = 0;
    quint64 datagramsReceived = 0;
    quint64 wireBytesSent = 0;
    quint64 wireBytesReceived = 0;
    // Datagrams dropped, by reason
    quint64 droppedChecksum = 0;          // failed the CRC32C (corrupted or not kcpnet)
    quint64 droppedWrongConversation = 0; // for another session
    quint64 droppedMalformed = 0;         // invalid control packet or KCP segment
    quint64 droppedUnexpected = 0;        // valid but meaningless in the current state
    quint64 droppedUnauthentic = 0;       // encrypted modes: failed authentication (tampered, forged, wrong key)
    quint64 droppedReplayed = 0;          // encrypted modes: a datagram received before (or older than the window)
    bool encrypted = false;               // the session's datagrams are encrypted (pre-shared key or DTLS)
    // Session protocol
    quint32 handshakeRtt = 0;       // HELLO -> ACCEPT (client; 0 when HELLO was retransmitted)
    quint32 keepAliveRtt = 0;       // last PING -> PONG
    quint64 keepAlivesSent = 0;
    quint32 sessions = 1;           // sessions summed into this snapshot
    // Plain-KCP packet layers (kcp-go FEC / cipher); undecodable datagrams count in droppedChecksum
    quint64 fecRecovered = 0;       // datagrams rebuilt by FEC: losses repaired without a retransmission
    quint64 fecParitySent = 0;

    // Share of data segments that were retransmissions, 0..1.
    Q_INVOKABLE double retransmitRatio() const;
    // Adds the counters and gauges of `other` (for totals; divide RTT gauges by `sessions` for a mean);
    // keeps the larger ages.
    QKcpStatistics &operator+=(const QKcpStatistics &other);
    // Every property as a name -> value map (e.g. for JSON).
    QVariantMap toVariantMap() const;
};

Q_KCPNET_EXPORT QDebug operator<<(QDebug debug, const QKcpStatistics &s);
Q_DECLARE_METATYPE(QKcpStatistics)

#endif // QKCPSTATISTICS_H
