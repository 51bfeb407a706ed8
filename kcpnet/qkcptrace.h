// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPTRACE_H
#define QKCPTRACE_H

#include "qkcpnetglobal.h"

#include <QtCore/qjsonobject.h>
#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>

// One protocol event of a traced session (QKcpSocket::startTrace()). The meaning of a, b and c depends on the type:
//   Sent / RetransmitTimeout / RetransmitFast: a = sn, b = payload bytes, c = transmission number (1 = first)
//   Acked:       a = sn leaving the send buffer, b = una after it
//   Received:    a = sn of new data, b = payload bytes, c = 1 in order / 0 out of order
//   Duplicate:   a = sn received again
//   OutOfWindow: a = sn, b = next expected sn, c = receive window
//   WindowProbe: (none)            WindowTell: a = announced window
//   RttSample:   a = rtt, b = srtt, c = rto (ms)
//   CwndChange:  a = cwnd, b = ssthresh, c = cause (0 growth, 1 fast retransmit, 2 timeout)
//   DeadLink:    a = sn, c = transmissions
// JSON lines of these are described in docs/TRACE.md.
class Q_KCPNET_EXPORT QKcpTraceEvent
{
    Q_GADGET
    Q_PROPERTY(qint64 time MEMBER time)
    Q_PROPERTY(Type type MEMBER type)
    Q_PROPERTY(quint32 a MEMBER a)
    Q_PROPERTY(quint32 b MEMBER b)
    Q_PROPERTY(quint32 c MEMBER c)
public:
    enum Type {
        Sent,
        RetransmitTimeout,
        RetransmitFast,
        Acked,
        Received,
        Duplicate,
        OutOfWindow,
        WindowProbe,
        WindowTell,
        RttSample,
        CwndChange,
        DeadLink,
    };
    Q_ENUM(Type)

    qint64 time = 0; // ms since the socket started connecting (or was accepted)
    Type type = Sent;
    quint32 a = 0;
    quint32 b = 0;
    quint32 c = 0;

    // {"t": time, "ev": "sent", ...named fields}, see docs/TRACE.md
    QJsonObject toJson() const;
    static QString typeName(Type type);
};

Q_DECLARE_METATYPE(QKcpTraceEvent)

#endif // QKCPTRACE_H
