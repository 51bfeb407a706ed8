// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// The monitor's main window: endpoints, the Live tab (overview cards, sessions table, charts), Trace and Lab.
#ifndef KCPMON_MAINWINDOW_H
#define KCPMON_MAINWINDOW_H

#include "recorder.h"

#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>
#include <QtWidgets/qmainwindow.h>

#include <array>

QT_BEGIN_NAMESPACE
class QAction;
class QActionGroup;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QSplitter;
class QTabWidget;
class QTableView;
class QToolBar;
QT_END_NAMESPACE

namespace kcpmon {

class ChartPanel;
class DemoHarness;
class LabPanel;
class Language;
class MetricsClient;
class SessionFilterModel;
class SessionModel;
class StatCard;
class TracePanel;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(Language *language, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Connects to an exporter ("host:port" or a URL); returns false if the text is not a usable URL.
    bool connectTo(const QString &urlText, const QByteArray &token = QByteArray());
    void disconnectAll();
    // Starts the in-process demo and connects to it.
    bool startDemo(int clients = 6);
    void stopDemo();
    void setPollInterval(int msecs);
    void selectSession(quint64 key);
    void setCurrentTab(int index);

    Recorder *recorder() const { return m_recorder; }
    SessionModel *sessionModel() const { return m_model; }
    SessionFilterModel *filterModel() const { return m_proxy; }
    ChartPanel *chartPanel() const { return m_charts; }
    TracePanel *tracePanel() const { return m_trace; }
    LabPanel *labPanel() const { return m_lab; }
    QTableView *sessionTable() const { return m_table; }
    DemoHarness *demo() const { return m_demo; }
    QList<MetricsClient *> clients() const;
    StatCard *card(int i) const { return m_cards[std::size_t(i)]; }

    bool exportCsv(const QString &path) const;
    bool exportChartPng(const QString &path) const;
    bool exportReport(const QString &path) const;

protected:
    void closeEvent(QCloseEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    void buildActions();
    void buildMenus();
    void buildToolBar();
    void buildCentral();
    void retranslateUi();
    void applyTheme();
    void loadSettings();
    void saveSettings() const;
    void rememberUrl(const QString &url);
    void connectFromBar();
    void onSelectionChanged();
    void onClientStatus(MetricsClient *client);
    void refresh();
    void updateCards();
    void updateStatus();
    void rebuildEndpointMenu();
    void removeEndpoint(MetricsClient *client);
    void exportCsvDialog();
    void exportPngDialog();
    void exportReportDialog();
    void showShortcuts();
    void showAbout();
    void setWindowMinutes(int minutes);
    MetricsClient *clientFor(int endpoint) const;

    Language *m_language;
    Recorder *m_recorder;
    SessionModel *m_model;
    SessionFilterModel *m_proxy;
    QHash<int, MetricsClient *> m_clients; // by recorder endpoint
    DemoHarness *m_demo = nullptr;
    int m_demoEndpoint = 0;
    QTimer m_refresh;
    int m_pollInterval = 100;
    int m_windowMinutes = 1;

    // UI
    QTabWidget *m_tabs = nullptr;
    QComboBox *m_url = nullptr;
    QLineEdit *m_token = nullptr;
    QComboBox *m_window = nullptr;
    QLineEdit *m_filter = nullptr;
    QCheckBox *m_unhealthy = nullptr;
    QTableView *m_table = nullptr;
    QSplitter *m_split = nullptr;
    ChartPanel *m_charts = nullptr;
    TracePanel *m_trace = nullptr;
    LabPanel *m_lab = nullptr;
    std::array<StatCard *, 6> m_cards {};
    QLabel *m_statusEndpoints = nullptr;
    QLabel *m_statusRate = nullptr;
    QLabel *m_windowLabel = nullptr;
    QLabel *m_selectionHint = nullptr;
    QToolBar *m_toolbar = nullptr;

    QMenu *m_fileMenu = nullptr;
    QMenu *m_viewMenu = nullptr;
    QMenu *m_languageMenu = nullptr;
    QMenu *m_helpMenu = nullptr;
    QMenu *m_endpointMenu = nullptr;
    QMenu *m_recentMenu = nullptr;
    QMenu *m_exportMenu = nullptr;
    QMenu *m_windowMenu = nullptr;
    QAction *m_connectAct = nullptr;
    QAction *m_disconnectAct = nullptr;
    QAction *m_demoAct = nullptr;
    QAction *m_pauseAct = nullptr;
    QAction *m_resetZoomAct = nullptr;
    QAction *m_csvAct = nullptr;
    QAction *m_pngAct = nullptr;
    QAction *m_reportAct = nullptr;
    QAction *m_traceAct = nullptr;
    QAction *m_quitAct = nullptr;
    QAction *m_shortcutsAct = nullptr;
    QAction *m_aboutAct = nullptr;
    QAction *m_filterAct = nullptr;
    QAction *m_totalsAct = nullptr;
    QAction *m_shorterAct = nullptr;
    QAction *m_longerAct = nullptr;
    std::array<QAction *, 3> m_tabActs {};
    std::array<QAction *, 3> m_windowActs {};
    QActionGroup *m_windowGroup = nullptr;
    QActionGroup *m_languageGroup = nullptr;
    QAction *m_exportToolAct = nullptr;
    QStringList m_recent;
};

} // namespace kcpmon

#endif // KCPMON_MAINWINDOW_H
