// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcpstatistics.h"

#include <QtCore/qdebug.h>
#include <QtCore/qmetaobject.h>

#include <algorithm>

double QKcpStatistics::retransmitRatio() const
{
    return segmentsSent ? double(retransmitsTimeout + retransmitsFast) / double(segmentsSent) : 0.0;
}

QKcpStatistics &QKcpStatistics::operator+=(const QKcpStatistics &o)
{
    // Explicit, not through the meta-object: server totals sum thousands of these at 10 Hz.
    conversation = 0;
    age = std::max(age, o.age);
    lastReceiveAge = std::max(lastReceiveAge, o.lastReceiveAge);
    srtt += o.srtt;
    rttVariance += o.rttVariance;
    rto += o.rto;
    congestionWindow += o.congestionWindow;
    slowStartThreshold += o.slowStartThreshold;
    remoteWindow += o.remoteWindow;
    inFlight += o.inFlight;
    sendQueue += o.sendQueue;
    sendBuffer += o.sendBuffer;
    receiveQueue += o.receiveQueue;
    receiveBuffer += o.receiveBuffer;
    bytesSent += o.bytesSent;
    bytesReceived += o.bytesReceived;
    segmentsSent += o.segmentsSent;
    segmentsReceived += o.segmentsReceived;
    retransmitsTimeout += o.retransmitsTimeout;
    retransmitsFast += o.retransmitsFast;
    retransmitsRedundant += o.retransmitsRedundant;
    duplicateSegments += o.duplicateSegments;
    outOfWindowSegments += o.outOfWindowSegments;
    datagramsSent += o.datagramsSent;
    datagramsReceived += o.datagramsReceived;
    wireBytesSent += o.wireBytesSent;
    wireBytesReceived += o.wireBytesReceived;
    droppedChecksum += o.droppedChecksum;
    droppedWrongConversation += o.droppedWrongConversation;
    droppedMalformed += o.droppedMalformed;
    droppedUnexpected += o.droppedUnexpected;
    droppedUnauthentic += o.droppedUnauthentic;
    droppedReplayed += o.droppedReplayed;
    encrypted = encrypted || o.encrypted;
    handshakeRtt += o.handshakeRtt;
    keepAliveRtt += o.keepAliveRtt;
    keepAlivesSent += o.keepAlivesSent;
    sessions += o.sessions;
    fecRecovered += o.fecRecovered;
    fecParitySent += o.fecParitySent;
    return *this;
}

QVariantMap QKcpStatistics::toVariantMap() const
{
    QVariantMap map;
    const QMetaObject &mo = staticMetaObject;
    for (int i = mo.propertyOffset(); i < mo.propertyCount(); ++i) {
        const QMetaProperty p = mo.property(i);
        map.insert(QString::fromLatin1(p.name()), p.readOnGadget(this));
    }
    return map;
}

QDebug operator<<(QDebug debug, const QKcpStatistics &s)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "QKcpStatistics(conv " << s.conversation << ", srtt " << s.srtt << ", rto " << s.rto
                    << ", cwnd " << s.congestionWindow << ", inflight " << s.inFlight << ", sent " << s.bytesSent
                    << ", received " << s.bytesReceived << ", rtx " << s.retransmitsTimeout << '+'
                    << s.retransmitsFast << ", datagrams " << s.datagramsSent << '/' << s.datagramsReceived << ')';
    return debug;
}
