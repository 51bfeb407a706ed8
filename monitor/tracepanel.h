// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// TracePanel: records a session's protocol events on demand (through the exporter's trace endpoints) and draws
// the time–sequence graph (after Stevens): segments sent, retransmitted, acknowledged and received over time.
// The JSON-lines format is docs/TRACE.md.
#ifndef KCPMON_TRACEPANEL_H
#define KCPMON_TRACEPANEL_H

#include <QtCore/qjsonobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>
#include <QtWidgets/qwidget.h>

#include <vector>

QT_BEGIN_NAMESPACE
class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QPushButton;
class QScatterSeries;
class QSpinBox;
class QValueAxis;
QT_END_NAMESPACE

namespace kcpmon {

class MetricsClient;

struct TraceRecord {
    qint64 t = 0;
    QString ev;
    qint64 sn = -1;
    qint64 len = 0;
    qint64 xmit = 0;
    qint64 una = -1;
    qint64 rtt = -1;
    qint64 srtt = -1;
    qint64 rto = -1;
    qint64 cwnd = -1;
    bool inOrder = true;
};

struct Trace {
    QJsonObject header;
    std::vector<TraceRecord> events;
    // Parses JSON lines (a header line then one event per line); lines that are not JSON objects are skipped.
    static Trace parse(const QByteArray &jsonLines, QString *error = nullptr);
    int count(const QString &ev) const;
};

class TracePanel : public QWidget
{
    Q_OBJECT
public:
    explicit TracePanel(QWidget *parent = nullptr);

    // The session the buttons act on (client == nullptr: none selected).
    void setSession(MetricsClient *client, quint64 sessionId, const QString &label);
    void setTrace(const Trace &trace, const QByteArray &raw);
    const Trace &trace() const { return m_trace; }
    QByteArray rawTrace() const { return m_raw; }
    QChartView *view() const { return m_view; }
    void retranslate();
    void applyTheme();

    void startTrace();
    void stopAndLoad();
    void capture(int seconds);
    bool exportJsonLines(const QString &path) const;
    bool exportPng(const QString &path) const;

Q_SIGNALS:
    void statusMessage(const QString &text);
    void traceLoaded();

protected:
    void changeEvent(QEvent *event) override;

private:
    void updateButtons();
    void openFile();
    void exportJsonDialog();
    void exportPngDialog();
    void rebuild();
    void setStatus(const QString &text);

    QPointer<MetricsClient> m_client;
    quint64 m_session = 0;
    QString m_label;
    bool m_recording = false;
    Trace m_trace;
    QByteArray m_raw;
    QTimer m_captureTimer;

    QLabel *m_sessionLabel;
    QLabel *m_status;
    QLabel *m_summary;
    QPushButton *m_start;
    QPushButton *m_stop;
    QPushButton *m_capture;
    QSpinBox *m_seconds;
    QPushButton *m_open;
    QPushButton *m_exportJson;
    QPushButton *m_exportPng;
    QChartView *m_view;
    QChart *m_chart;
    QValueAxis *m_x;
    QValueAxis *m_y;
    QScatterSeries *m_sent;
    QScatterSeries *m_rtxTimeout;
    QScatterSeries *m_rtxFast;
    QScatterSeries *m_received;
    QLineSeries *m_acked;
};

} // namespace kcpmon

#endif // KCPMON_TRACEPANEL_H
