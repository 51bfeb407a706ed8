// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "snapshot.h"

#include <QtCore/qjsonarray.h>

namespace kcpmon {

namespace {
quint64 u64(const QJsonObject &o, const char *key)
{
    const double v = o.value(QLatin1String(key)).toDouble();
    return v > 0 ? quint64(v) : 0;
}
double num(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toDouble();
}
} // namespace

Counters Counters::fromJson(const QJsonObject &o)
{
    Counters c;
    c.bytesSent = u64(o, "bytes_sent");
    c.bytesReceived = u64(o, "bytes_received");
    c.wireBytesSent = u64(o, "wire_bytes_sent");
    c.wireBytesReceived = u64(o, "wire_bytes_received");
    c.datagramsSent = u64(o, "datagrams_sent");
    c.datagramsReceived = u64(o, "datagrams_received");
    c.segmentsSent = u64(o, "segments_sent");
    c.segmentsReceived = u64(o, "segments_received");
    c.duplicates = u64(o, "duplicate_segments");
    c.outOfWindow = u64(o, "out_of_window_segments");
    const QJsonObject rtx = o.value(QLatin1String("retransmits")).toObject();
    c.retransmitsTimeout = u64(rtx, "timeout");
    c.retransmitsFast = u64(rtx, "fast");
    const QJsonObject dr = o.value(QLatin1String("drops")).toObject();
    c.dropsChecksum = u64(dr, "checksum");
    c.dropsWrongConversation = u64(dr, "wrong_conversation");
    c.dropsMalformed = u64(dr, "malformed");
    c.dropsUnexpected = u64(dr, "unexpected");
    c.dropsUnauthentic = u64(dr, "unauthentic"); // absent from older exporters: 0
    c.dropsReplayed = u64(dr, "replayed");
    return c;
}

SessionInfo SessionInfo::fromJson(const QJsonObject &o)
{
    SessionInfo s;
    s.id = u64(o, "id");
    s.source = o.value(QLatin1String("source")).toString();
    s.role = o.value(QLatin1String("role")).toString();
    s.conversation = quint32(u64(o, "conversation"));
    s.peer = o.value(QLatin1String("peer")).toString();
    s.local = o.value(QLatin1String("local")).toString();
    s.state = o.value(QLatin1String("state")).toString();
    s.ageMs = qint64(num(o, "age_ms"));
    s.lastReceiveMs = qint64(num(o, "last_receive_ms"));
    s.srtt = num(o, "srtt_ms");
    s.rttvar = num(o, "rttvar_ms");
    s.rto = num(o, "rto_ms");
    s.cwnd = num(o, "cwnd");
    s.ssthresh = num(o, "ssthresh");
    s.remoteWindow = num(o, "remote_window");
    s.inFlight = num(o, "in_flight");
    s.sendQueue = num(o, "send_queue");
    s.sendBuffer = num(o, "send_buffer");
    s.receiveQueue = num(o, "receive_queue");
    s.receiveBuffer = num(o, "receive_buffer");
    s.tracing = o.value(QLatin1String("tracing")).toBool();
    s.encrypted = o.value(QLatin1String("encrypted")).toBool(); // absent from older exporters: false
    s.counters = Counters::fromJson(o);
    return s;
}

Snapshot Snapshot::fromJson(const QJsonObject &root)
{
    Snapshot snap;
    if (!root.contains(QLatin1String("sessions")) || !root.contains(QLatin1String("time_ms")))
        return snap;
    snap.valid = true;
    snap.version = root.value(QLatin1String("kcpnet")).toString();
    snap.timeMs = qint64(num(root, "time_ms"));
    snap.totals = Counters::fromJson(root.value(QLatin1String("totals")).toObject());
    const QJsonArray sessions = root.value(QLatin1String("sessions")).toArray();
    snap.sessions.reserve(sessions.size());
    for (const QJsonValue &v : sessions)
        snap.sessions.append(SessionInfo::fromJson(v.toObject()));
    snap.sessionsTotal = int(num(root, "sessions_total"));
    snap.truncated = root.value(QLatin1String("sessions_truncated")).toBool();
    const QJsonArray sources = root.value(QLatin1String("sources")).toArray();
    for (const QJsonValue &v : sources)
        snap.sources.append(v.toObject().value(QLatin1String("name")).toString());
    return snap;
}

} // namespace kcpmon
