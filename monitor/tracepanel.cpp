// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "tracepanel.h"

#include "metricsclient.h"
#include "theme.h"
#include "timechart.h"

#include <QtCharts/qchart.h>
#include <QtCharts/qchartview.h>
#include <QtCharts/qlegend.h>
#include <QtCharts/qlineseries.h>
#include <QtCharts/qscatterseries.h>
#include <QtCharts/qvalueaxis.h>
#include <QtCore/qcoreevent.h>
#include <QtCore/qfile.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qsavefile.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qfiledialog.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qpushbutton.h>
#include <QtWidgets/qspinbox.h>

#include <algorithm>

namespace kcpmon {

namespace {
constexpr int kMaxPointsPerSeries = 20000;

qint64 field(const QJsonObject &o, const char *key, qint64 fallback = -1)
{
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? qint64(v.toDouble()) : fallback;
}
} // namespace

Trace Trace::parse(const QByteArray &jsonLines, QString *error)
{
    Trace t;
    int bad = 0;
    const QList<QByteArray> lines = jsonLines.split('\n');
    for (const QByteArray &line : lines) {
        if (line.trimmed().isEmpty())
            continue;
        QJsonParseError err;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &err);
        if (err.error != QJsonParseError::NoError || !doc.isObject()) {
            ++bad;
            continue;
        }
        const QJsonObject o = doc.object();
        if (o.contains(QLatin1String("kcpnet_trace"))) {
            t.header = o;
            continue;
        }
        TraceRecord r;
        r.t = field(o, "t", 0);
        r.ev = o.value(QLatin1String("ev")).toString();
        r.sn = field(o, "sn");
        r.len = field(o, "len", 0);
        r.xmit = field(o, "xmit", 0);
        r.una = field(o, "una");
        r.rtt = field(o, "rtt");
        r.srtt = field(o, "srtt");
        r.rto = field(o, "rto");
        r.cwnd = field(o, "cwnd");
        r.inOrder = o.value(QLatin1String("in_order")).toBool(true);
        t.events.push_back(r);
    }
    if (error)
        *error = bad ? TracePanel::tr("%n line(s) could not be read.", nullptr, bad) : QString();
    return t;
}

int Trace::count(const QString &ev) const
{
    return int(std::count_if(events.begin(), events.end(), [&ev](const TraceRecord &r) { return r.ev == ev; }));
}

TracePanel::TracePanel(QWidget *parent)
    : QWidget(parent)
    , m_sessionLabel(new QLabel(this))
    , m_status(new QLabel(this))
    , m_summary(new QLabel(this))
    , m_start(new QPushButton(this))
    , m_stop(new QPushButton(this))
    , m_capture(new QPushButton(this))
    , m_seconds(new QSpinBox(this))
    , m_open(new QPushButton(this))
    , m_exportJson(new QPushButton(this))
    , m_exportPng(new QPushButton(this))
    , m_chart(new QChart)
    , m_x(new QValueAxis)
    , m_y(new QValueAxis)
    , m_sent(new QScatterSeries)
    , m_rtxTimeout(new QScatterSeries)
    , m_rtxFast(new QScatterSeries)
    , m_received(new QScatterSeries)
    , m_acked(new QLineSeries)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    auto *bar = new QHBoxLayout;
    QFont bold = m_sessionLabel->font();
    bold.setBold(true);
    m_sessionLabel->setFont(bold);
    m_sessionLabel->setWordWrap(true);
    m_sessionLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    bar->addWidget(m_sessionLabel, 1);
    m_start->setIcon(theme::icon(QStringLiteral("record")));
    m_stop->setIcon(theme::icon(QStringLiteral("stop")));
    m_capture->setIcon(theme::icon(QStringLiteral("trace")));
    m_open->setIcon(theme::icon(QStringLiteral("open")));
    m_exportJson->setIcon(theme::icon(QStringLiteral("export")));
    m_exportPng->setIcon(theme::icon(QStringLiteral("camera")));
    m_seconds->setRange(1, 120);
    m_seconds->setValue(5);
    for (QWidget *w : {static_cast<QWidget *>(m_start), static_cast<QWidget *>(m_stop),
                       static_cast<QWidget *>(m_capture), static_cast<QWidget *>(m_seconds)})
        bar->addWidget(w);
    bar->addSpacing(16);
    for (QPushButton *b : {m_open, m_exportJson, m_exportPng})
        bar->addWidget(b);
    layout->addLayout(bar);

    m_view = new QChartView(m_chart, this);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setRubberBand(QChartView::RectangleRubberBand);
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_y, Qt::AlignLeft);
    m_x->setLabelFormat(QStringLiteral("%.2f"));
    m_y->setLabelFormat(QStringLiteral("%d"));
    auto setup = [this](QScatterSeries *s, QScatterSeries::MarkerShape shape, qreal size) {
        s->setMarkerShape(shape);
        s->setMarkerSize(size);
        m_chart->addSeries(s);
        s->attachAxis(m_x);
        s->attachAxis(m_y);
    };
    setup(m_received, QScatterSeries::MarkerShapeCircle, 4);
    setup(m_sent, QScatterSeries::MarkerShapeCircle, 5);
    setup(m_rtxFast, QScatterSeries::MarkerShapeTriangle, 9);
    setup(m_rtxTimeout, QScatterSeries::MarkerShapeRectangle, 8);
    m_chart->addSeries(m_acked);
    m_acked->attachAxis(m_x);
    m_acked->attachAxis(m_y);
    layout->addWidget(m_view, 1);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);
    layout->addWidget(m_status);
    m_status->setVisible(false); // shown in the main window's status bar; kept for a panel used on its own

    connect(m_start, &QPushButton::clicked, this, &TracePanel::startTrace);
    connect(m_stop, &QPushButton::clicked, this, &TracePanel::stopAndLoad);
    connect(m_capture, &QPushButton::clicked, this, [this] { capture(m_seconds->value()); });
    connect(m_open, &QPushButton::clicked, this, &TracePanel::openFile);
    connect(m_exportJson, &QPushButton::clicked, this, &TracePanel::exportJsonDialog);
    connect(m_exportPng, &QPushButton::clicked, this, &TracePanel::exportPngDialog);
    m_captureTimer.setSingleShot(true);
    connect(&m_captureTimer, &QTimer::timeout, this, &TracePanel::stopAndLoad);
    applyTheme();
    retranslate();
    updateButtons();
}

void TracePanel::retranslate()
{
    m_start->setText(tr("Start trace"));
    m_start->setToolTip(tr("Record every protocol event of the selected session"));
    m_stop->setText(tr("Stop and show"));
    m_capture->setText(tr("Capture"));
    m_capture->setToolTip(tr("Record for the given number of seconds, then show the graph"));
    m_seconds->setSuffix(tr(" s"));
    m_open->setText(tr("Open…"));
    m_exportJson->setText(tr("Save JSON lines…"));
    m_exportPng->setText(tr("Save PNG…"));
    m_chart->setTitle(tr("Time–sequence graph"));
    m_x->setTitleText(tr("time since the session started (s)"));
    m_y->setTitleText(tr("segment number"));
    m_sent->setName(tr("Sent"));
    m_rtxTimeout->setName(tr("Retransmitted (timeout)"));
    m_rtxFast->setName(tr("Retransmitted (fast)"));
    m_received->setName(tr("Received"));
    m_acked->setName(tr("Acknowledged (una)"));
    if (m_client)
        m_sessionLabel->setText(tr("Session: %1").arg(m_label));
    else
        m_sessionLabel->setText(tr("Select a session on the Live tab to trace it, or open a saved trace."));
    rebuild();
}

void TracePanel::applyTheme()
{
    applyChartTheme(m_chart);
    m_chart->legend()->setAlignment(Qt::AlignTop);
    auto colour = [](QScatterSeries *s, const QColor &c) {
        s->setColor(c);
        s->setBorderColor(c);
    };
    colour(m_sent, theme::series(0));
    colour(m_rtxTimeout, theme::series(3));
    colour(m_rtxFast, theme::series(1));
    QColor rec = theme::series(4);
    rec.setAlphaF(0.7f);
    colour(m_received, rec);
    QPen pen(theme::series(2), 2);
    pen.setCosmetic(true);
    m_acked->setPen(pen);
    const auto buttons = {m_start, m_stop, m_capture, m_open, m_exportJson, m_exportPng};
    const char *names[] = {"record", "stop", "trace", "open", "export", "camera"};
    int i = 0;
    for (QPushButton *b : buttons)
        b->setIcon(theme::icon(QLatin1String(names[i++])));
}

void TracePanel::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void TracePanel::setStatus(const QString &text)
{
    m_status->setText(text);
    m_status->setVisible(!parentWidget() || !parentWidget()->window()->inherits("QMainWindow"));
    Q_EMIT statusMessage(text);
}

void TracePanel::setSession(MetricsClient *client, quint64 sessionId, const QString &label)
{
    if (m_client == client && m_session == sessionId)
        return;
    if (m_recording)
        setStatus(tr("The previous session is still being traced on its endpoint; it stops when the ring is full."));
    m_captureTimer.stop();
    m_recording = false;
    m_client = client;
    m_session = sessionId;
    m_label = label;
    retranslate();
    updateButtons();
}

void TracePanel::updateButtons()
{
    const bool have = m_client && m_session;
    m_start->setEnabled(have && !m_recording);
    m_capture->setEnabled(have && !m_recording);
    m_stop->setEnabled(have && m_recording);
    m_exportJson->setEnabled(!m_raw.isEmpty());
    m_exportPng->setEnabled(!m_trace.events.empty());
}

void TracePanel::startTrace()
{
    if (!m_client || !m_session)
        return;
    QPointer<TracePanel> self(this);
    m_client->startTrace(m_session, 100000, [self](bool ok, const QByteArray &body) {
        if (!self)
            return;
        if (!ok) {
            self->m_recording = false;
            self->setStatus(tr("Could not start the trace: %1").arg(QString::fromUtf8(body)));
        } else {
            self->setStatus(tr("Recording…"));
        }
        self->updateButtons();
    });
    m_recording = true;
    updateButtons();
}

void TracePanel::capture(int seconds)
{
    startTrace();
    m_captureTimer.start(seconds * 1000);
}

void TracePanel::stopAndLoad()
{
    m_captureTimer.stop();
    if (!m_client || !m_session)
        return;
    QPointer<TracePanel> self(this);
    QPointer<MetricsClient> client(m_client);
    const quint64 session = m_session;
    m_client->stopTrace(session, [self, client, session](bool ok, const QByteArray &body) {
        if (!self || !client)
            return;
        if (!ok) {
            self->setStatus(tr("Could not stop the trace: %1").arg(QString::fromUtf8(body)));
            self->m_recording = false;
            self->updateButtons();
            return;
        }
        client->fetchTrace(session, [self](bool ok, const QByteArray &body) {
            if (!self)
                return;
            self->m_recording = false;
            if (!ok) {
                self->setStatus(tr("Could not fetch the trace: %1").arg(QString::fromUtf8(body)));
            } else {
                QString error;
                self->setTrace(Trace::parse(body, &error), body);
                self->setStatus(error.isEmpty() ? tr("%n event(s) loaded.", nullptr, int(self->m_trace.events.size()))
                                                : error);
            }
            self->updateButtons();
        });
    });
}

void TracePanel::setTrace(const Trace &trace, const QByteArray &raw)
{
    m_trace = trace;
    m_raw = raw;
    rebuild();
    updateButtons();
    Q_EMIT traceLoaded();
}

void TracePanel::rebuild()
{
    QList<QPointF> sent, rtxT, rtxF, received, acked;
    qint64 lastUna = -1;
    double maxX = 0, maxY = 0, minY = -1;
    int rttN = 0;
    qint64 rttMin = -1, rttMax = 0, rttSum = 0;
    for (const TraceRecord &r : m_trace.events) {
        const double x = double(r.t) / 1000.0;
        auto note = [&](double y) {
            maxX = std::max(maxX, x);
            maxY = std::max(maxY, y);
            minY = minY < 0 ? y : std::min(minY, y);
        };
        if (r.ev == QLatin1String("sent") && r.sn >= 0) {
            if (sent.size() < kMaxPointsPerSeries)
                sent.append(QPointF(x, double(r.sn)));
            note(double(r.sn));
        } else if (r.ev == QLatin1String("retransmit_timeout") && r.sn >= 0) {
            if (rtxT.size() < kMaxPointsPerSeries)
                rtxT.append(QPointF(x, double(r.sn)));
            note(double(r.sn));
        } else if (r.ev == QLatin1String("retransmit_fast") && r.sn >= 0) {
            if (rtxF.size() < kMaxPointsPerSeries)
                rtxF.append(QPointF(x, double(r.sn)));
            note(double(r.sn));
        } else if (r.ev == QLatin1String("received") && r.sn >= 0) {
            if (received.size() < kMaxPointsPerSeries)
                received.append(QPointF(x, double(r.sn)));
            note(double(r.sn));
        } else if (r.ev == QLatin1String("acked") && r.una >= 0 && r.una != lastUna) {
            // A step line: the cumulative acknowledgement only moves up.
            if (acked.size() < kMaxPointsPerSeries * 2) {
                if (lastUna >= 0)
                    acked.append(QPointF(x, double(lastUna)));
                acked.append(QPointF(x, double(r.una)));
            }
            lastUna = r.una;
            note(double(r.una));
        } else if (r.ev == QLatin1String("rtt_sample") && r.rtt >= 0) {
            ++rttN;
            rttSum += r.rtt;
            rttMax = std::max(rttMax, r.rtt);
            rttMin = rttMin < 0 ? r.rtt : std::min(rttMin, r.rtt);
        }
    }
    m_sent->replace(sent);
    m_rtxTimeout->replace(rtxT);
    m_rtxFast->replace(rtxF);
    m_received->replace(received);
    m_acked->replace(acked);
    double minX = maxX;
    for (const auto *list : {&sent, &rtxT, &rtxF, &received, &acked}) {
        if (!list->isEmpty())
            minX = std::min(minX, list->first().x());
    }
    if (m_trace.events.empty()) {
        m_x->setRange(0, 1);
        m_y->setRange(0, 10);
        m_summary->setText(QString());
        return;
    }
    const double spanX = std::max(0.05, maxX - minX);
    niceAxis(m_x, minX - spanX * 0.01, maxX + spanX * 0.01, 8);
    const double lo = std::max(0.0, minY);
    const double spanY = std::max(4.0, maxY - lo);
    niceAxis(m_y, std::max(0.0, lo - spanY * 0.02), maxY + spanY * 0.02, 6);
    const double duration = double(m_trace.events.back().t - m_trace.events.front().t) / 1000.0;
    QString summary = tr("%n event(s) over %1 s: ", nullptr, int(m_trace.events.size())).arg(duration, 0, 'f', 2);
    summary += tr("%1 sent, %2 retransmitted on timeout, %3 fast-retransmitted, %4 received, %5 acknowledged.")
                   .arg(m_trace.count(QStringLiteral("sent")))
                   .arg(m_trace.count(QStringLiteral("retransmit_timeout")))
                   .arg(m_trace.count(QStringLiteral("retransmit_fast")))
                   .arg(m_trace.count(QStringLiteral("received")))
                   .arg(m_trace.count(QStringLiteral("acked")));
    if (rttN > 0)
        summary += QLatin1Char(' ')
            + tr("RTT samples: %1, min %2 ms, mean %3 ms, max %4 ms.").arg(rttN).arg(rttMin).arg(double(rttSum) / rttN, 0, 'f', 1).arg(rttMax);
    const QString peer = m_trace.header.value(QLatin1String("peer")).toString();
    if (!peer.isEmpty())
        summary.prepend(tr("Peer %1. ").arg(peer));
    m_summary->setText(summary);
}

bool TracePanel::exportJsonLines(const QString &path) const
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return false;
    f.write(m_raw);
    return f.commit();
}

bool TracePanel::exportPng(const QString &path) const
{
    return m_view->grab().save(path, "PNG");
}

void TracePanel::openFile()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open a trace"), QString(),
                                                      tr("JSON lines (*.jsonl *.ndjson *.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        setStatus(tr("Cannot open %1: %2").arg(path, f.errorString()));
        return;
    }
    const QByteArray raw = f.read(256 * 1024 * 1024);
    QString error;
    setTrace(Trace::parse(raw, &error), raw);
    setStatus(error.isEmpty() ? tr("%n event(s) loaded.", nullptr, int(m_trace.events.size())) : error);
}

void TracePanel::exportJsonDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Save the trace"), QStringLiteral("trace.jsonl"),
                                                      tr("JSON lines (*.jsonl)"));
    if (!path.isEmpty())
        setStatus(exportJsonLines(path) ? tr("Saved %1").arg(path) : tr("Could not save %1").arg(path));
}

void TracePanel::exportPngDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Save the graph"), QStringLiteral("trace.png"),
                                                      tr("PNG images (*.png)"));
    if (!path.isEmpty())
        setStatus(exportPng(path) ? tr("Saved %1").arg(path) : tr("Could not save %1").arg(path));
}

} // namespace kcpmon
