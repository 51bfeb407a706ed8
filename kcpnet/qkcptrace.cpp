// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "qkcptrace.h"

#include "kcpengine.h"

QString QKcpTraceEvent::typeName(Type type)
{
    return QString::fromLatin1(kcpnet::kcpTraceEventName(static_cast<kcpnet::KcpTraceEvent>(type)));
}

QJsonObject QKcpTraceEvent::toJson() const
{
    QJsonObject o;
    o.insert(QStringLiteral("t"), time);
    o.insert(QStringLiteral("ev"), typeName(type));
    auto put = [&o](const char *name, quint32 v) { o.insert(QLatin1String(name), qint64(v)); };
    switch (type) {
    case Sent:
    case RetransmitTimeout:
    case RetransmitFast:
        put("sn", a);
        put("len", b);
        put("xmit", c);
        break;
    case Acked:
        put("sn", a);
        put("una", b);
        break;
    case Received:
        put("sn", a);
        put("len", b);
        o.insert(QStringLiteral("in_order"), c != 0);
        break;
    case Duplicate:
        put("sn", a);
        break;
    case OutOfWindow:
        put("sn", a);
        put("rcv_nxt", b);
        put("rcv_wnd", c);
        break;
    case WindowProbe:
        break;
    case WindowTell:
        put("wnd", a);
        break;
    case RttSample:
        put("rtt", a);
        put("srtt", b);
        put("rto", c);
        break;
    case CwndChange:
        put("cwnd", a);
        put("ssthresh", b);
        o.insert(QStringLiteral("cause"), c == 2   ? QStringLiteral("timeout")
                                              : c == 1 ? QStringLiteral("fast_retransmit")
                                                       : QStringLiteral("growth"));
        break;
    case DeadLink:
        put("sn", a);
        put("xmit", c);
        break;
    }
    return o;
}
