// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// LabPanel: two local client/server pairs side by side, each with its own preset, each over an in-process
// impaired UDP link (KcpUdpRelay: loss, delay, jitter), with the same workload. Move a slider and watch how
// Normal and Turbo (or any two presets) react: goodput, RTT, retransmissions.
#ifndef KCPMON_LABPANEL_H
#define KCPMON_LABPANEL_H

#include "recorder.h"

#include <QKcpConfig>

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qtimer.h>
#include <QtWidgets/qwidget.h>

#include <array>
#include <memory>

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QPushButton;
class QSlider;
QT_END_NAMESPACE

class QKcpServer;
class QKcpSocket;
class KcpUdpRelay;

namespace kcpmon {

class TimeChart;

class LabPanel : public QWidget
{
    Q_OBJECT
public:
    enum Workload { Bulk, PingPong };
    struct LaneStats {
        double goodput = 0;   // bytes/s delivered to the server application
        double srtt = 0;
        double rto = 0;
        double appRtt = 0;    // ping-pong: mean echo time over the last sample (ms)
        double retransmits = 0;
        double retransmitPct = 0;
        quint64 delivered = 0;
        bool connected = false;
    };

    explicit LabPanel(QWidget *parent = nullptr);
    ~LabPanel() override;

    void setPresets(QKcpConfig::Preset a, QKcpConfig::Preset b);
    void setWorkload(Workload w);
    void setImpairment(double lossPercent, int delayMs, int jitterMs);
    void start();
    void stop();
    bool isRunning() const { return m_running; }
    LaneStats laneStats(int lane) const { return m_lanes[std::size_t(lane)].stats; }
    const History &history(int lane) const { return m_lanes[std::size_t(lane)].history; }
    void retranslate();
    void applyTheme();
    QImage renderImage() const;

Q_SIGNALS:
    void runningChanged(bool running);

protected:
    void changeEvent(QEvent *event) override;

private:
    struct Lane {
        QKcpConfig::Preset preset = QKcpConfig::Normal;
        QKcpServer *server = nullptr;
        KcpUdpRelay *relay = nullptr;
        QKcpSocket *client = nullptr;
        QKcpSocket *accepted = nullptr;
        quint64 delivered = 0;
        quint64 lastDelivered = 0;
        quint64 lastRetransmits = 0;
        quint64 lastSegments = 0;
        qint64 lastSampleMs = -1;
        double rttSum = 0;
        int rttCount = 0;
        QByteArray lineBuffer;
        LaneStats stats;
        History history;
        QLabel *summary = nullptr;
    };
    void startLane(int index);
    void sample();
    void redraw();
    void applySliders();
    void updateLabels();
    QString presetName(QKcpConfig::Preset p) const;

    std::array<Lane, 2> m_lanes;
    QObject *m_run = nullptr; // parent of everything one run creates
    QTimer m_sampler;
    QTimer m_ping;
    QElapsedTimer m_clock;
    bool m_running = false;
    Workload m_workload = Bulk;

    QComboBox *m_presetA;
    QComboBox *m_presetB;
    QComboBox *m_workloadBox;
    QPushButton *m_startStop;
    QSlider *m_loss;
    QSlider *m_delay;
    QSlider *m_jitter;
    QLabel *m_lossLabel;
    QLabel *m_delayLabel;
    QLabel *m_jitterLabel;
    QLabel *m_lossTitle;
    QLabel *m_delayTitle;
    QLabel *m_jitterTitle;
    QLabel *m_presetATitle;
    QLabel *m_presetBTitle;
    QLabel *m_workloadTitle;
    QLabel *m_intro;
    TimeChart *m_goodput;
    TimeChart *m_rtt;
    TimeChart *m_rtx;
};

} // namespace kcpmon

#endif // KCPMON_LABPANEL_H
