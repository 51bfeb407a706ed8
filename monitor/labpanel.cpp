// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "labpanel.h"

#include "format.h"
#include "theme.h"
#include "timechart.h"
#include "udprelay.h"

#include <QKcpServer>
#include <QKcpSocket>

#include <QtCore/qdatetime.h>
#include <QtCore/qcoreevent.h>
#include <QtGui/qpainter.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qgridlayout.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qpushbutton.h>
#include <QtWidgets/qslider.h>

#include <algorithm>

namespace kcpmon {

namespace {
constexpr qint64 kBulkInFlight = 256 * 1024;
const QByteArray &bulkChunk()
{
    static const QByteArray chunk(16 * 1024, 'L');
    return chunk;
}
} // namespace

LabPanel::LabPanel(QWidget *parent)
    : QWidget(parent)
    , m_presetA(new QComboBox(this))
    , m_presetB(new QComboBox(this))
    , m_workloadBox(new QComboBox(this))
    , m_startStop(new QPushButton(this))
    , m_loss(new QSlider(Qt::Horizontal, this))
    , m_delay(new QSlider(Qt::Horizontal, this))
    , m_jitter(new QSlider(Qt::Horizontal, this))
    , m_lossLabel(new QLabel(this))
    , m_delayLabel(new QLabel(this))
    , m_jitterLabel(new QLabel(this))
    , m_lossTitle(new QLabel(this))
    , m_delayTitle(new QLabel(this))
    , m_jitterTitle(new QLabel(this))
    , m_presetATitle(new QLabel(this))
    , m_presetBTitle(new QLabel(this))
    , m_workloadTitle(new QLabel(this))
    , m_intro(new QLabel(this))
    , m_goodput(new TimeChart(this))
    , m_rtt(new TimeChart(this))
    , m_rtx(new TimeChart(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    m_intro->setWordWrap(true);
    layout->addWidget(m_intro);

    for (int i = 0; i < 3; ++i) {
        m_presetA->addItem(QString());
        m_presetB->addItem(QString());
    }
    m_presetA->setCurrentIndex(QKcpConfig::Normal);
    m_presetB->setCurrentIndex(QKcpConfig::Turbo);
    m_workloadBox->addItem(QString());
    m_workloadBox->addItem(QString());
    auto *row1 = new QHBoxLayout;
    row1->setSpacing(8);
    row1->addWidget(m_presetATitle);
    row1->addWidget(m_presetA);
    row1->addSpacing(12);
    row1->addWidget(m_presetBTitle);
    row1->addWidget(m_presetB);
    row1->addSpacing(12);
    row1->addWidget(m_workloadTitle);
    row1->addWidget(m_workloadBox);
    row1->addSpacing(12);
    row1->addWidget(m_startStop);
    row1->addStretch(1);
    layout->addLayout(row1);
    m_loss->setRange(0, 300); // tenths of a percent
    m_loss->setValue(50);
    m_delay->setRange(0, 200);
    m_delay->setValue(20);
    m_jitter->setRange(0, 100);
    m_jitter->setValue(5);
    auto *row2 = new QHBoxLayout;
    row2->setSpacing(8);
    const std::array<std::array<QWidget *, 3>, 3> sliders = {{{m_lossTitle, m_loss, m_lossLabel},
                                                              {m_delayTitle, m_delay, m_delayLabel},
                                                              {m_jitterTitle, m_jitter, m_jitterLabel}}};
    for (const auto &trio : sliders) {
        row2->addWidget(trio[0]);
        row2->addWidget(trio[1], 1);
        trio[2]->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("000.0 %")));
        row2->addWidget(trio[2]);
        row2->addSpacing(12);
    }
    layout->addLayout(row2);

    auto *lanes = new QHBoxLayout;
    for (std::size_t i = 0; i < m_lanes.size(); ++i) {
        m_lanes[i].summary = new QLabel(this);
        m_lanes[i].summary->setTextFormat(Qt::RichText);
        m_lanes[i].summary->setFrameShape(QFrame::StyledPanel);
        m_lanes[i].summary->setWordWrap(true);
        m_lanes[i].summary->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
        m_lanes[i].summary->setContentsMargins(10, 6, 10, 6);
        m_lanes[i].summary->setMinimumHeight(48);
        lanes->addWidget(m_lanes[i].summary, 1);
    }
    layout->addLayout(lanes);

    auto *charts = new QGridLayout;
    charts->addWidget(m_goodput, 0, 0);
    charts->addWidget(m_rtt, 0, 1);
    charts->addWidget(m_rtx, 1, 0, 1, 2);
    layout->addLayout(charts, 1);
    m_rtt->setRobustFit(true);
    for (TimeChart *c : {m_goodput, m_rtt, m_rtx}) {
        c->addLine(theme::series(0), false, true);
        c->addLine(theme::series(1), false, true);
    }

    connect(m_startStop, &QPushButton::clicked, this, [this] { m_running ? stop() : start(); });
    connect(m_loss, &QSlider::valueChanged, this, &LabPanel::applySliders);
    connect(m_delay, &QSlider::valueChanged, this, &LabPanel::applySliders);
    connect(m_jitter, &QSlider::valueChanged, this, &LabPanel::applySliders);
    connect(m_presetA, &QComboBox::currentIndexChanged, this, [this] {
        if (m_running) {
            stop();
            start();
        }
        updateLabels();
    });
    connect(m_presetB, &QComboBox::currentIndexChanged, this, [this] {
        if (m_running) {
            stop();
            start();
        }
        updateLabels();
    });
    connect(m_workloadBox, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_workload = Workload(i);
        if (m_running) {
            stop();
            start();
        }
    });
    m_sampler.setInterval(100);
    connect(&m_sampler, &QTimer::timeout, this, &LabPanel::sample);
    m_ping.setInterval(20);
    connect(&m_ping, &QTimer::timeout, this, [this] {
        for (Lane &l : m_lanes) {
            if (l.client && l.client->state() == QAbstractSocket::ConnectedState)
                l.client->write(QByteArray::number(m_clock.nsecsElapsed()) + '\n');
        }
    });
    retranslate();
    applyTheme();
}

LabPanel::~LabPanel()
{
    stop();
}

QString LabPanel::presetName(QKcpConfig::Preset p) const
{
    switch (p) {
    case QKcpConfig::Normal: return tr("Normal");
    case QKcpConfig::Fast: return tr("Fast");
    case QKcpConfig::Turbo: return tr("Turbo");
    }
    return QString();
}

void LabPanel::retranslate()
{
    m_intro->setText(tr("Two local client/server pairs, each over its own impaired link on 127.0.0.1, with the "
                        "same workload. Choose two presets, move the sliders and compare."));
    for (int i = 0; i < 3; ++i) {
        m_presetA->setItemText(i, presetName(QKcpConfig::Preset(i)));
        m_presetB->setItemText(i, presetName(QKcpConfig::Preset(i)));
    }
    m_workloadBox->setItemText(Bulk, tr("Bulk transfer"));
    m_workloadBox->setItemText(PingPong, tr("Ping-pong (50 messages/s)"));
    m_presetATitle->setText(tr("Lane A:"));
    m_presetBTitle->setText(tr("Lane B:"));
    m_workloadTitle->setText(tr("Workload:"));
    m_lossTitle->setText(tr("Loss"));
    m_delayTitle->setText(tr("Delay (one way)"));
    m_jitterTitle->setText(tr("Jitter"));
    m_startStop->setText(m_running ? tr("Stop") : tr("Start"));
    m_startStop->setIcon(theme::icon(m_running ? QStringLiteral("stop") : QStringLiteral("play")));
    m_goodput->setTitle(tr("Goodput (delivered to the application)"));
    m_rtt->setTitle(tr("Round-trip time"));
    m_rtt->setValueTitle(tr("ms"));
    m_rtt->setValueSuffix(tr("ms"));
    m_rtx->setTitle(tr("Share of the segments sent that were retransmissions"));
    m_rtx->setValueTitle(tr("%"));
    m_rtx->setValueSuffix(tr("%"));
    updateLabels();
}

void LabPanel::updateLabels()
{
    m_lossLabel->setText(Format::percent(m_loss->value() / 10.0));
    m_delayLabel->setText(Format::milliseconds(m_delay->value()));
    m_jitterLabel->setText(Format::milliseconds(m_jitter->value()));
    const QString a = tr("A: %1").arg(m_presetA->currentText());
    const QString b = tr("B: %1").arg(m_presetB->currentText());
    for (TimeChart *c : {m_goodput, m_rtt, m_rtx}) {
        c->setSeriesName(0, a);
        c->setSeriesName(1, b);
    }
    for (std::size_t i = 0; i < m_lanes.size(); ++i) {
        const Lane &l = m_lanes[i];
        const QColor c = theme::series(int(i));
        const QString name = i == 0 ? a : b;
        QString text = QStringLiteral("<span style='color:%1;font-weight:bold'>■ %2</span><br>")
                           .arg(c.name(), name.toHtmlEscaped());
        if (!m_running) {
            text += tr("idle");
        } else if (!l.stats.connected) {
            text += tr("connecting…");
        } else {
            text += tr("goodput <b>%1</b> · srtt <b>%2</b> · RTO %3 · retransmitted <b>%4</b> · delivered %5")
                        .arg(Format::rate(l.stats.goodput), Format::milliseconds(l.stats.srtt),
                             Format::milliseconds(l.stats.rto), Format::percent(l.stats.retransmitPct),
                             Format::bytes(double(l.stats.delivered)));
            if (m_workload == PingPong && l.stats.appRtt > 0)
                text += tr(" · echo <b>%1</b>").arg(Format::milliseconds(l.stats.appRtt));
        }
        m_lanes[i].summary->setText(text);
    }
}

void LabPanel::applyTheme()
{
    for (TimeChart *c : {m_goodput, m_rtt, m_rtx})
        c->applyTheme();
    updateLabels();
}

void LabPanel::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void LabPanel::setPresets(QKcpConfig::Preset a, QKcpConfig::Preset b)
{
    m_presetA->setCurrentIndex(int(a));
    m_presetB->setCurrentIndex(int(b));
}

void LabPanel::setWorkload(Workload w)
{
    m_workloadBox->setCurrentIndex(int(w));
}

void LabPanel::setImpairment(double lossPercent, int delayMs, int jitterMs)
{
    m_loss->setValue(int(lossPercent * 10 + 0.5));
    m_delay->setValue(delayMs);
    m_jitter->setValue(jitterMs);
    applySliders();
}

void LabPanel::applySliders()
{
    KcpUdpRelay::Impairment imp;
    imp.lossPercent = m_loss->value() / 10.0;
    imp.delayMs = m_delay->value();
    imp.jitterMs = m_jitter->value();
    for (Lane &l : m_lanes) {
        if (l.relay)
            l.relay->setImpairment(imp);
    }
    updateLabels();
}

void LabPanel::start()
{
    if (m_running)
        return;
    m_running = true;
    m_run = new QObject(this);
    m_clock.start();
    m_lanes[0].preset = QKcpConfig::Preset(m_presetA->currentIndex());
    m_lanes[1].preset = QKcpConfig::Preset(m_presetB->currentIndex());
    for (int i = 0; i < int(m_lanes.size()); ++i)
        startLane(i);
    applySliders();
    m_sampler.start();
    if (m_workload == PingPong)
        m_ping.start();
    retranslate();
    Q_EMIT runningChanged(true);
}

void LabPanel::startLane(int index)
{
    Lane &l = m_lanes[std::size_t(index)];
    l.delivered = l.lastDelivered = l.lastRetransmits = l.lastSegments = 0;
    l.lastSampleMs = -1;
    l.rttSum = 0;
    l.rttCount = 0;
    l.lineBuffer.clear();
    l.stats = LaneStats();
    l.history.clear();
    const QKcpConfig config(l.preset);
    l.server = new QKcpServer(config, m_run);
    if (!l.server->listen(QHostAddress::LocalHost, 0))
        return;
    l.relay = new KcpUdpRelay(m_run);
    l.relay->setSeed(quint32(0x1ab0 + index));
    if (!l.relay->listen(QHostAddress::LocalHost))
        return;
    l.relay->setTarget(QHostAddress::LocalHost, l.server->serverPort());
    const bool ping = m_workload == PingPong;
    connect(l.server, &QKcpServer::newConnection, this, [this, index, ping] {
        Lane &lane = m_lanes[std::size_t(index)];
        while (QKcpSocket *s = lane.server->nextPendingConnection()) {
            lane.accepted = s;
            connect(s, &QKcpSocket::readyRead, s, [this, s, index, ping] {
                Lane &ln = m_lanes[std::size_t(index)];
                const QByteArray data = s->readAll();
                ln.delivered += quint64(data.size());
                if (ping)
                    s->write(data); // echo
            });
        }
    });
    l.client = new QKcpSocket(config, m_run);
    QKcpSocket *c = l.client;
    if (ping) {
        connect(c, &QKcpSocket::readyRead, c, [this, c, index] {
            Lane &ln = m_lanes[std::size_t(index)];
            ln.lineBuffer += c->readAll();
            qsizetype nl;
            int guard = 0;
            while ((nl = ln.lineBuffer.indexOf('\n')) >= 0 && guard++ < 10000) {
                const qint64 sentNs = ln.lineBuffer.left(nl).toLongLong();
                ln.lineBuffer.remove(0, nl + 1);
                ln.rttSum += double(m_clock.nsecsElapsed() - sentNs) / 1e6;
                ++ln.rttCount;
            }
        });
    } else {
        auto pump = [c] {
            int guard = 0;
            while (c->state() == QAbstractSocket::ConnectedState && c->bytesToWrite() < kBulkInFlight && guard++ < 64)
                c->write(bulkChunk());
        };
        connect(c, &QKcpSocket::connected, c, pump);
        connect(c, &QKcpSocket::bytesWritten, c, pump);
    }
    c->connectToHost(QHostAddress::LocalHost, l.relay->port());
}

void LabPanel::stop()
{
    if (!m_running)
        return;
    m_running = false;
    m_sampler.stop();
    m_ping.stop();
    for (Lane &l : m_lanes) {
        if (l.client)
            l.client->abort();
        l.client = nullptr;
        l.accepted = nullptr;
        l.server = nullptr;
        l.relay = nullptr;
        l.stats.connected = false;
    }
    delete m_run;
    m_run = nullptr;
    retranslate();
    Q_EMIT runningChanged(false);
}

void LabPanel::sample()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (Lane &l : m_lanes) {
        if (!l.client)
            continue;
        const QKcpStatistics s = l.client->statistics();
        l.stats.connected = l.client->state() == QAbstractSocket::ConnectedState;
        const quint64 rtx = s.retransmitsTimeout + s.retransmitsFast;
        if (l.lastSampleMs >= 0 && now > l.lastSampleMs) {
            const double sec = double(now - l.lastSampleMs) / 1000.0;
            const double goodput = double(l.delivered - l.lastDelivered) / sec;
            const double rtxRate = double(rtx - l.lastRetransmits) / sec;
            const double segs = double(s.segmentsSent - l.lastSegments);
            // Light smoothing so 10 Hz samples of a bursty link stay readable.
            l.stats.goodput = l.stats.goodput * 0.6 + goodput * 0.4;
            l.stats.retransmits = l.stats.retransmits * 0.6 + rtxRate * 0.4;
            if (segs > 0)
                l.stats.retransmitPct = l.stats.retransmitPct * 0.6 + 0.4 * std::min(100.0, 100.0 * double(rtx - l.lastRetransmits) / segs);
        }
        l.lastSampleMs = now;
        l.lastDelivered = l.delivered;
        l.lastRetransmits = rtx;
        l.lastSegments = s.segmentsSent;
        l.stats.srtt = s.srtt;
        l.stats.rto = s.rto;
        l.stats.delivered = l.delivered;
        if (l.rttCount > 0) {
            l.stats.appRtt = l.rttSum / l.rttCount;
            l.rttSum = 0;
            l.rttCount = 0;
        }
        Point p;
        p.t = now;
        p.srtt = float(s.srtt);
        p.rto = float(s.rto);
        p.rateIn = float(l.stats.goodput);
        p.retransmits = float(l.stats.retransmits);
        p.retransmitPct = float(l.stats.retransmitPct);
        p.cwnd = float(s.congestionWindow);
        p.inFlight = float(s.inFlight);
        p.rttvar = float(m_workload == PingPong && l.stats.appRtt > 0 ? l.stats.appRtt : s.srtt);
        l.history.append(p);
    }
    redraw();
    updateLabels();
}

void LabPanel::redraw()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    // The charts span the run so far (at least 10 s), up to the last minute.
    qint64 from = now - 60000;
    if (!m_lanes[0].history.isEmpty())
        from = std::max(from, std::min(m_lanes[0].history.firstTime(), now - 10000));
    double maxRate = 0;
    std::array<std::vector<Point>, 2> pts;
    for (std::size_t i = 0; i < m_lanes.size(); ++i) {
        pts[i] = m_lanes[i].history.since(from);
        for (const Point &p : pts[i])
            maxRate = std::max(maxRate, double(p.rateIn));
    }
    QString unit;
    double div = 1;
    Format::rateUnit(maxRate, &unit, &div);
    m_goodput->setValueTitle(unit);
    m_goodput->setValueSuffix(unit);
    for (std::size_t i = 0; i < m_lanes.size(); ++i) {
        QList<QPointF> g, r, x;
        for (const Point &p : pts[i]) {
            g.append(QPointF(double(p.t), p.rateIn / div));
            r.append(QPointF(double(p.t), p.rttvar)); // echo RTT in ping-pong, srtt otherwise
            x.append(QPointF(double(p.t), p.retransmitPct));
        }
        m_goodput->setLine(int(i), g);
        m_rtt->setLine(int(i), r);
        m_rtx->setLine(int(i), x);
    }
    for (TimeChart *c : {m_goodput, m_rtt, m_rtx})
        c->setTimeRange(from, now);
}

QImage LabPanel::renderImage() const
{
    QImage img(size() * 2, QImage::Format_ARGB32_Premultiplied);
    img.setDevicePixelRatio(2);
    img.fill(palette().color(QPalette::Window));
    QPainter p(&img);
    const_cast<LabPanel *>(this)->render(&p);
    return img;
}

} // namespace kcpmon
