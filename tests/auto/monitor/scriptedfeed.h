// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// A scripted metrics feed for the monitor's tests: snapshots in the exporter's JSON format (docs/MONITOR.md),
// built by hand so the expected rates and health are known exactly.
#ifndef KCPNET_TESTS_SCRIPTEDFEED_H
#define KCPNET_TESTS_SCRIPTEDFEED_H

#include "snapshot.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>

#include <vector>

struct ScriptedSession {
    quint64 id = 1;
    QString source = QStringLiteral("server0");
    QString peer = QStringLiteral("127.0.0.1:40000");
    QString state = QStringLiteral("connected");
    double srtt = 20, rttvar = 5, rto = 60, cwnd = 128, inFlight = 10;
    qint64 ageMs = 1000, lastReceiveMs = 10;
    quint64 bytesSent = 0, bytesReceived = 0, segmentsSent = 0, rtxTimeout = 0, rtxFast = 0, dropsChecksum = 0;
    quint64 dropsUnauthentic = 0, dropsReplayed = 0;
    bool encrypted = false;
    bool olderExporter = false; // written without "encrypted" and the unauthentic/replayed drops
};

inline QJsonObject scriptedCounters(const ScriptedSession &s)
{
    QJsonObject o;
    o.insert(QStringLiteral("bytes_sent"), qint64(s.bytesSent));
    o.insert(QStringLiteral("bytes_received"), qint64(s.bytesReceived));
    o.insert(QStringLiteral("wire_bytes_sent"), qint64(s.bytesSent + s.segmentsSent * 24));
    o.insert(QStringLiteral("wire_bytes_received"), qint64(s.bytesReceived));
    o.insert(QStringLiteral("datagrams_sent"), qint64(s.segmentsSent));
    o.insert(QStringLiteral("datagrams_received"), qint64(s.segmentsSent));
    o.insert(QStringLiteral("segments_sent"), qint64(s.segmentsSent));
    o.insert(QStringLiteral("segments_received"), qint64(s.segmentsSent));
    QJsonObject rtx;
    rtx.insert(QStringLiteral("timeout"), qint64(s.rtxTimeout));
    rtx.insert(QStringLiteral("fast"), qint64(s.rtxFast));
    o.insert(QStringLiteral("retransmits"), rtx);
    QJsonObject drops;
    drops.insert(QStringLiteral("checksum"), qint64(s.dropsChecksum));
    drops.insert(QStringLiteral("wrong_conversation"), 0);
    drops.insert(QStringLiteral("malformed"), 0);
    drops.insert(QStringLiteral("unexpected"), 0);
    if (!s.olderExporter) {
        drops.insert(QStringLiteral("unauthentic"), qint64(s.dropsUnauthentic));
        drops.insert(QStringLiteral("replayed"), qint64(s.dropsReplayed));
    }
    o.insert(QStringLiteral("drops"), drops);
    return o;
}

inline QJsonObject scriptedSnapshotJson(qint64 timeMs, const std::vector<ScriptedSession> &sessions)
{
    QJsonObject root;
    root.insert(QStringLiteral("kcpnet"), QStringLiteral("0.1.0"));
    root.insert(QStringLiteral("format"), 1);
    root.insert(QStringLiteral("time_ms"), timeMs);
    QJsonArray list;
    ScriptedSession total;
    for (const ScriptedSession &s : sessions) {
        QJsonObject o = scriptedCounters(s);
        o.insert(QStringLiteral("id"), qint64(s.id));
        o.insert(QStringLiteral("source"), s.source);
        o.insert(QStringLiteral("role"), QStringLiteral("server"));
        o.insert(QStringLiteral("conversation"), qint64(1000 + s.id));
        o.insert(QStringLiteral("peer"), s.peer);
        o.insert(QStringLiteral("local"), QStringLiteral("127.0.0.1:9000"));
        o.insert(QStringLiteral("state"), s.state);
        o.insert(QStringLiteral("age_ms"), s.ageMs);
        o.insert(QStringLiteral("last_receive_ms"), s.lastReceiveMs);
        o.insert(QStringLiteral("srtt_ms"), s.srtt);
        o.insert(QStringLiteral("rttvar_ms"), s.rttvar);
        o.insert(QStringLiteral("rto_ms"), s.rto);
        o.insert(QStringLiteral("cwnd"), s.cwnd);
        o.insert(QStringLiteral("ssthresh"), 64);
        o.insert(QStringLiteral("in_flight"), s.inFlight);
        o.insert(QStringLiteral("tracing"), false);
        if (!s.olderExporter)
            o.insert(QStringLiteral("encrypted"), s.encrypted);
        list.append(o);
        total.bytesSent += s.bytesSent;
        total.bytesReceived += s.bytesReceived;
        total.segmentsSent += s.segmentsSent;
        total.rtxTimeout += s.rtxTimeout;
        total.rtxFast += s.rtxFast;
        total.dropsChecksum += s.dropsChecksum;
        total.dropsUnauthentic += s.dropsUnauthentic;
        total.dropsReplayed += s.dropsReplayed;
        total.olderExporter = total.olderExporter || s.olderExporter;
    }
    QJsonObject totals = scriptedCounters(total);
    totals.insert(QStringLiteral("sessions"), qint64(sessions.size()));
    root.insert(QStringLiteral("totals"), totals);
    root.insert(QStringLiteral("sessions"), list);
    root.insert(QStringLiteral("sessions_total"), qint64(sessions.size()));
    root.insert(QStringLiteral("sessions_truncated"), false);
    QJsonObject src;
    src.insert(QStringLiteral("name"), QStringLiteral("server0"));
    root.insert(QStringLiteral("sources"), QJsonArray{src});
    return root;
}

inline kcpmon::Snapshot scriptedSnapshot(qint64 timeMs, const std::vector<ScriptedSession> &sessions)
{
    return kcpmon::Snapshot::fromJson(scriptedSnapshotJson(timeMs, sessions));
}

#endif // KCPNET_TESTS_SCRIPTEDFEED_H
