// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "mainwindow.h"

#include "chartpanel.h"
#include "demo.h"
#include "exporter.h"
#include "format.h"
#include "labpanel.h"
#include "language.h"
#include "metricsclient.h"
#include "sessionmodel.h"
#include "statcard.h"
#include "theme.h"
#include "tracepanel.h"

#include <QKcpMetricsServer>

#include <QtCore/qdatetime.h>
#include <QtCore/qcoreevent.h>
#include <QtGui/qevent.h>
#include <QtCore/qsavefile.h>
#include <QtCore/qsettings.h>
#include <QtGui/qaction.h>
#include <QtGui/qactiongroup.h>
#include <QtGui/qguiapplication.h>
#include <QtWidgets/qapplication.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qcheckbox.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qfiledialog.h>
#include <QtWidgets/qheaderview.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qlineedit.h>
#include <QtWidgets/qmenubar.h>
#include <QtWidgets/qmessagebox.h>
#include <QtWidgets/qsplitter.h>
#include <QtWidgets/qstatusbar.h>
#include <QtWidgets/qtableview.h>
#include <QtWidgets/qtabwidget.h>
#include <QtWidgets/qtoolbar.h>
#include <QtWidgets/qtoolbutton.h>

#include <algorithm>

namespace kcpmon {

namespace {
enum Card { SessionsCard, InCard, OutCard, RetransmitCard, LossCard, RttCard };
constexpr int kWindows[] = {1, 5, 30};
} // namespace

MainWindow::MainWindow(Language *language, QWidget *parent)
    : QMainWindow(parent)
    , m_language(language)
    , m_recorder(new Recorder(this))
    , m_model(new SessionModel(m_recorder, this))
    , m_proxy(new SessionFilterModel(this))
{
    setObjectName(QStringLiteral("MainWindow"));
    setWindowIcon(theme::appIcon());
    m_proxy->setSourceModel(m_model);
    buildActions();
    buildMenus();
    buildToolBar();
    buildCentral();
    retranslateUi();
    applyTheme();
    loadSettings();
    m_refresh.setInterval(100);
    connect(&m_refresh, &QTimer::timeout, this, &MainWindow::refresh);
    m_refresh.start();
    connect(m_recorder, &Recorder::updated, this, [this](int, const QList<quint64> &, const QList<quint64> &removed) {
        if (m_charts->sessionKey() && removed.contains(m_charts->sessionKey()))
            m_charts->refresh();
    });
}

MainWindow::~MainWindow()
{
    m_refresh.stop();
    disconnectAll();
    stopDemo();
}

// ---------------------------------------------------------------------------------------------------------------
// Construction

void MainWindow::buildActions()
{
    auto make = [this](const char *icon, const QKeySequence &key = QKeySequence()) {
        auto *a = new QAction(this);
        if (icon)
            a->setIcon(theme::icon(QLatin1String(icon)));
        if (!key.isEmpty())
            a->setShortcut(key);
        addAction(a);
        return a;
    };
    m_connectAct = make("connect", QKeySequence(Qt::CTRL | Qt::Key_L));
    connect(m_connectAct, &QAction::triggered, this, [this] {
        if (m_url->hasFocus() || !m_url->currentText().trimmed().isEmpty())
            connectFromBar();
        m_url->setFocus();
        m_url->lineEdit()->selectAll();
    });
    m_disconnectAct = make("disconnect", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
    connect(m_disconnectAct, &QAction::triggered, this, [this] {
        disconnectAll();
        stopDemo();
    });
    m_demoAct = make("demo", QKeySequence(Qt::CTRL | Qt::Key_D));
    m_demoAct->setCheckable(true);
    connect(m_demoAct, &QAction::triggered, this, [this](bool on) { on ? (void)startDemo() : stopDemo(); });
    m_pauseAct = make("pause", QKeySequence(Qt::Key_Space));
    m_pauseAct->setCheckable(true);
    connect(m_pauseAct, &QAction::toggled, this, [this](bool on) {
        m_charts->setPaused(on);
        m_pauseAct->setIcon(theme::icon(on ? QStringLiteral("play") : QStringLiteral("pause")));
        updateStatus();
    });
    m_resetZoomAct = make("zoom-reset", QKeySequence(Qt::CTRL | Qt::Key_0));
    connect(m_resetZoomAct, &QAction::triggered, this, [this] { m_charts->resetZoom(); });
    m_csvAct = make("export", QKeySequence(Qt::CTRL | Qt::Key_E));
    connect(m_csvAct, &QAction::triggered, this, &MainWindow::exportCsvDialog);
    m_pngAct = make("camera", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    connect(m_pngAct, &QAction::triggered, this, &MainWindow::exportPngDialog);
    m_reportAct = make("report", QKeySequence(Qt::CTRL | Qt::Key_R));
    connect(m_reportAct, &QAction::triggered, this, &MainWindow::exportReportDialog);
    m_traceAct = make("trace", QKeySequence(Qt::CTRL | Qt::Key_T));
    connect(m_traceAct, &QAction::triggered, this, [this] {
        setCurrentTab(1);
        m_trace->capture(5);
    });
    m_quitAct = make(nullptr, QKeySequence::Quit);
    m_quitAct->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    connect(m_quitAct, &QAction::triggered, this, &QWidget::close);
    m_shortcutsAct = make(nullptr, QKeySequence(Qt::Key_F1));
    connect(m_shortcutsAct, &QAction::triggered, this, &MainWindow::showShortcuts);
    m_aboutAct = make(nullptr);
    connect(m_aboutAct, &QAction::triggered, this, &MainWindow::showAbout);
    m_filterAct = make(nullptr, QKeySequence(Qt::CTRL | Qt::Key_F));
    connect(m_filterAct, &QAction::triggered, this, [this] {
        setCurrentTab(0);
        m_filter->setFocus();
        m_filter->selectAll();
    });
    m_totalsAct = make(nullptr, QKeySequence(Qt::Key_Escape));
    connect(m_totalsAct, &QAction::triggered, this, [this] { selectSession(0); });
    for (int i = 0; i < 3; ++i) {
        m_tabActs[std::size_t(i)] = make(nullptr, QKeySequence(Qt::CTRL | (Qt::Key_1 + i)));
        connect(m_tabActs[std::size_t(i)], &QAction::triggered, this, [this, i] { setCurrentTab(i); });
    }
    m_windowGroup = new QActionGroup(this);
    for (int i = 0; i < 3; ++i) {
        QAction *a = make(nullptr, QKeySequence(Qt::ALT | (Qt::Key_1 + i)));
        a->setCheckable(true);
        a->setData(kWindows[i]);
        m_windowGroup->addAction(a);
        m_windowActs[std::size_t(i)] = a;
        connect(a, &QAction::triggered, this, [this, i] { setWindowMinutes(kWindows[i]); });
    }
    m_shorterAct = make(nullptr, QKeySequence(Qt::Key_BracketLeft));
    connect(m_shorterAct, &QAction::triggered, this, [this] {
        setWindowMinutes(m_windowMinutes >= 30 ? 5 : 1);
    });
    m_longerAct = make(nullptr, QKeySequence(Qt::Key_BracketRight));
    connect(m_longerAct, &QAction::triggered, this, [this] {
        setWindowMinutes(m_windowMinutes <= 1 ? 5 : 30);
    });
}

void MainWindow::buildMenus()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_connectAct);
    m_recentMenu = m_fileMenu->addMenu(QString());
    m_endpointMenu = m_fileMenu->addMenu(QString());
    m_fileMenu->addAction(m_disconnectAct);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_demoAct);
    m_fileMenu->addSeparator();
    m_exportMenu = m_fileMenu->addMenu(QString());
    m_exportMenu->setIcon(theme::icon(QStringLiteral("export")));
    m_exportMenu->addAction(m_csvAct);
    m_exportMenu->addAction(m_pngAct);
    m_exportMenu->addAction(m_reportAct);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAct);

    m_viewMenu = menuBar()->addMenu(QString());
    for (QAction *a : m_tabActs)
        m_viewMenu->addAction(a);
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_pauseAct);
    m_windowMenu = m_viewMenu->addMenu(QString());
    for (QAction *a : m_windowActs)
        m_windowMenu->addAction(a);
    m_windowMenu->addSeparator();
    m_windowMenu->addAction(m_shorterAct);
    m_windowMenu->addAction(m_longerAct);
    m_viewMenu->addAction(m_resetZoomAct);
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_filterAct);
    m_viewMenu->addAction(m_totalsAct);
    m_viewMenu->addAction(m_traceAct);

    m_languageMenu = menuBar()->addMenu(QString());
    m_languageGroup = new QActionGroup(this);
    const QStringList choices = QStringList{QStringLiteral("system")} + Language::available();
    for (const QString &c : choices) {
        QAction *a = m_languageMenu->addAction(QString());
        a->setCheckable(true);
        a->setData(c);
        m_languageGroup->addAction(a);
        connect(a, &QAction::triggered, this, [this, c] {
            m_language->apply(c);
            QSettings().setValue(QStringLiteral("language"), c);
        });
        if (c == QLatin1String("system"))
            m_languageMenu->addSeparator();
    }

    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_shortcutsAct);
    m_helpMenu->addAction(m_aboutAct);
}

void MainWindow::buildToolBar()
{
    m_toolbar = addToolBar(QString());
    m_toolbar->setObjectName(QStringLiteral("MainToolBar"));
    m_toolbar->setMovable(false);
    m_toolbar->setIconSize(QSize(20, 20));
    m_toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_url = new QComboBox(m_toolbar);
    m_url->setEditable(true);
    m_url->setInsertPolicy(QComboBox::NoInsert);
    m_url->setMinimumContentsLength(24);
    m_url->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    connect(m_url->lineEdit(), &QLineEdit::returnPressed, this, &MainWindow::connectFromBar);
    m_toolbar->addWidget(m_url);
    m_token = new QLineEdit(m_toolbar);
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setMaximumWidth(150);
    m_token->setClearButtonEnabled(true);
    connect(m_token, &QLineEdit::returnPressed, this, &MainWindow::connectFromBar);
    m_toolbar->addWidget(m_token);
    m_toolbar->addAction(m_connectAct);
    m_toolbar->addAction(m_disconnectAct);
    m_toolbar->addAction(m_demoAct);
    m_toolbar->addSeparator();
    m_toolbar->addAction(m_pauseAct);
    m_windowLabel = new QLabel(m_toolbar);
    m_windowLabel->setContentsMargins(6, 0, 4, 0);
    m_toolbar->addWidget(m_windowLabel);
    m_window = new QComboBox(m_toolbar);
    for (int i = 0; i < 3; ++i)
        m_window->addItem(QString(), kWindows[i]);
    connect(m_window, &QComboBox::activated, this, [this](int i) { setWindowMinutes(kWindows[i]); });
    m_toolbar->addWidget(m_window);
    m_toolbar->addAction(m_resetZoomAct);
    m_toolbar->addSeparator();
    auto *exportButton = new QToolButton(m_toolbar);
    exportButton->setMenu(m_exportMenu);
    exportButton->setPopupMode(QToolButton::InstantPopup);
    exportButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    exportButton->setIcon(theme::icon(QStringLiteral("export")));
    m_exportToolAct = m_toolbar->addWidget(exportButton);
    exportButton->setObjectName(QStringLiteral("ExportButton"));
    m_toolbar->addAction(m_traceAct);
}

void MainWindow::buildCentral()
{
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    setCentralWidget(m_tabs);

    // Live: cards, then the sessions table over the charts.
    auto *live = new QWidget(m_tabs);
    auto *liveLayout = new QVBoxLayout(live);
    liveLayout->setContentsMargins(8, 8, 8, 4);
    liveLayout->setSpacing(8);
    auto *cards = new QHBoxLayout;
    cards->setSpacing(8);
    for (std::size_t i = 0; i < m_cards.size(); ++i) {
        m_cards[i] = new StatCard(live);
        cards->addWidget(m_cards[i]);
    }
    liveLayout->addLayout(cards);

    m_split = new QSplitter(Qt::Vertical, live);
    m_split->setChildrenCollapsible(false);
    auto *tableBox = new QWidget(m_split);
    auto *tableLayout = new QVBoxLayout(tableBox);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->setSpacing(4);
    auto *filterRow = new QHBoxLayout;
    m_filter = new QLineEdit(tableBox);
    m_filter->setClearButtonEnabled(true);
    m_filter->addAction(theme::icon(QStringLiteral("filter")), QLineEdit::LeadingPosition);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &SessionFilterModel::setText);
    filterRow->addWidget(m_filter, 2);
    m_unhealthy = new QCheckBox(tableBox);
    connect(m_unhealthy, &QCheckBox::toggled, m_proxy, &SessionFilterModel::setUnhealthyOnly);
    filterRow->addWidget(m_unhealthy);
    m_selectionHint = new QLabel(tableBox);
    filterRow->addWidget(m_selectionHint, 3, Qt::AlignRight);
    tableLayout->addLayout(filterRow);
    m_table = new QTableView(tableBox);
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(SessionModel::SourceColumn, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(false);
    m_table->setShowGrid(false);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setVisible(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->horizontalHeader()->setStretchLastSection(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->horizontalHeader()->setSectionResizeMode(SessionModel::PeerColumn, QHeaderView::Stretch);
    const int widths[] = {150, 130, 100, 80, 80, 70, 70, 70, 90, 90, 60, 50};
    for (int c = 0; c < SessionModel::ColumnCount; ++c)
        m_table->setColumnWidth(c, widths[c]);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::onSelectionChanged);
    tableLayout->addWidget(m_table);
    m_charts = new ChartPanel(m_recorder, m_split);
    connect(m_charts, &ChartPanel::zoomChanged, this, [this](bool z) { m_resetZoomAct->setEnabled(z); });
    m_resetZoomAct->setEnabled(false);
    m_split->addWidget(tableBox);
    m_split->addWidget(m_charts);
    m_split->setStretchFactor(0, 2);
    m_split->setStretchFactor(1, 3);
    m_split->setSizes({190, 430});
    liveLayout->addWidget(m_split, 1);
    m_tabs->addTab(live, theme::icon(QStringLiteral("live")), QString());

    m_trace = new TracePanel(m_tabs);
    connect(m_trace, &TracePanel::statusMessage, this, [this](const QString &t) { statusBar()->showMessage(t, 8000); });
    m_tabs->addTab(m_trace, theme::icon(QStringLiteral("trace")), QString());
    m_lab = new LabPanel(m_tabs);
    m_tabs->addTab(m_lab, theme::icon(QStringLiteral("lab")), QString());

    m_statusEndpoints = new QLabel(this);
    m_statusRate = new QLabel(this);
    statusBar()->addPermanentWidget(m_statusEndpoints);
    statusBar()->addPermanentWidget(m_statusRate);
}

void MainWindow::retranslateUi()
{
    setWindowTitle(tr("kcpnet monitor"));
    m_fileMenu->setTitle(tr("&File"));
    m_viewMenu->setTitle(tr("&View"));
    m_languageMenu->setTitle(tr("&Language"));
    m_helpMenu->setTitle(tr("&Help"));
    m_recentMenu->setTitle(tr("&Recent endpoints"));
    m_endpointMenu->setTitle(tr("Disconnect &endpoint"));
    m_exportMenu->setTitle(tr("E&xport"));
    m_windowMenu->setTitle(tr("Time &window"));
    m_toolbar->setWindowTitle(tr("Main toolbar"));

    m_connectAct->setText(tr("&Connect"));
    m_connectAct->setToolTip(tr("Connect to the metrics endpoint in the address field (Ctrl+L)"));
    m_disconnectAct->setText(tr("&Disconnect all"));
    m_disconnectAct->setToolTip(tr("Disconnect from every endpoint and stop the demo"));
    m_demoAct->setText(tr("&Demo"));
    m_demoAct->setToolTip(tr("Run an in-process server and clients with different presets, and watch them (Ctrl+D)"));
    m_pauseAct->setText(tr("&Pause charts"));
    m_pauseAct->setToolTip(tr("Freeze the charts; recording goes on (Space)"));
    m_resetZoomAct->setText(tr("&Reset zoom"));
    m_resetZoomAct->setToolTip(tr("Follow the live window again (Ctrl+0, or right-click a chart)"));
    m_csvAct->setText(tr("Recorded series as &CSV…"));
    m_pngAct->setText(tr("Charts as &PNG…"));
    m_reportAct->setText(tr("Session &report…"));
    m_traceAct->setText(tr("&Trace 5 s"));
    m_traceAct->setToolTip(tr("Record the selected session's protocol events for 5 seconds and show the graph (Ctrl+T)"));
    m_quitAct->setText(tr("&Quit"));
    m_shortcutsAct->setText(tr("&Keyboard shortcuts"));
    m_aboutAct->setText(tr("&About kcpnet monitor"));
    m_filterAct->setText(tr("&Filter sessions"));
    m_totalsAct->setText(tr("Show &all sessions"));
    m_shorterAct->setText(tr("Shorter window"));
    m_longerAct->setText(tr("Longer window"));
    m_tabActs[0]->setText(tr("&Live"));
    m_tabActs[1]->setText(tr("&Trace"));
    m_tabActs[2]->setText(tr("La&b"));
    const QString windows[] = {tr("1 minute"), tr("5 minutes"), tr("30 minutes")};
    for (int i = 0; i < 3; ++i) {
        m_windowActs[std::size_t(i)]->setText(windows[i]);
        m_window->setItemText(i, windows[i]);
    }
    m_windowLabel->setText(tr("Window:"));
    if (auto *b = m_toolbar->findChild<QToolButton *>(QStringLiteral("ExportButton"))) {
        b->setText(tr("Export"));
        b->setToolTip(tr("Export the recorded series, the charts or a session report"));
    }
    const auto langActs = m_languageGroup->actions();
    for (QAction *a : langActs) {
        const QString c = a->data().toString();
        a->setText(c == QLatin1String("system") ? tr("Follow the &system") : Language::nativeName(c));
        a->setChecked(c == m_language->choice());
    }

    m_url->lineEdit()->setPlaceholderText(tr("Metrics endpoint, e.g. 127.0.0.1:9464"));
    m_url->setToolTip(tr("Address of a QKcpMetricsServer; press Enter to connect"));
    m_token->setPlaceholderText(tr("Bearer token"));
    m_token->setToolTip(tr("Only if the endpoint requires one"));
    m_filter->setPlaceholderText(tr("Filter by peer, source, state or conversation (Ctrl+F)"));
    m_unhealthy->setText(tr("Unhealthy only"));
    m_selectionHint->setText(tr("Select a session to see its charts · Esc shows all sessions"));
    m_tabs->setTabText(0, tr("Live"));
    m_tabs->setTabText(1, tr("Trace"));
    m_tabs->setTabText(2, tr("Lab"));
    m_cards[SessionsCard]->setTitle(tr("Sessions"));
    m_cards[InCard]->setTitle(tr("Throughput in"));
    m_cards[OutCard]->setTitle(tr("Throughput out"));
    m_cards[RetransmitCard]->setTitle(tr("Retransmits"));
    m_cards[LossCard]->setTitle(tr("Loss estimate"));
    m_cards[RttCard]->setTitle(tr("Mean RTT"));
    m_cards[LossCard]->setToolTip(tr("Share of the segments sent in the last second that had to be sent again"));
    m_cards[RttCard]->setToolTip(tr("Mean smoothed RTT of the connected sessions"));
    m_model->retranslate();
    rebuildEndpointMenu();
    updateCards();
    updateStatus();
}

void MainWindow::applyTheme()
{
    m_cards[SessionsCard]->setColor(theme::series(4));
    m_cards[InCard]->setColor(theme::series(1));
    m_cards[OutCard]->setColor(theme::series(0));
    m_cards[RetransmitCard]->setColor(theme::series(3));
    m_cards[LossCard]->setColor(theme::series(3));
    m_cards[RttCard]->setColor(theme::series(2));
    m_charts->applyTheme();
    m_trace->applyTheme();
    m_lab->applyTheme();
    m_connectAct->setIcon(theme::icon(QStringLiteral("connect")));
    m_disconnectAct->setIcon(theme::icon(QStringLiteral("disconnect")));
    m_demoAct->setIcon(theme::icon(QStringLiteral("demo")));
    m_pauseAct->setIcon(theme::icon(m_pauseAct->isChecked() ? QStringLiteral("play") : QStringLiteral("pause")));
    m_resetZoomAct->setIcon(theme::icon(QStringLiteral("zoom-reset")));
    m_csvAct->setIcon(theme::icon(QStringLiteral("export")));
    m_pngAct->setIcon(theme::icon(QStringLiteral("camera")));
    m_reportAct->setIcon(theme::icon(QStringLiteral("report")));
    m_traceAct->setIcon(theme::icon(QStringLiteral("trace")));
    m_tabs->setTabIcon(0, theme::icon(QStringLiteral("live")));
    m_tabs->setTabIcon(1, theme::icon(QStringLiteral("trace")));
    m_tabs->setTabIcon(2, theme::icon(QStringLiteral("lab")));
    m_model->retranslate(); // row colours
}

void MainWindow::changeEvent(QEvent *event)
{
    QMainWindow::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    else if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange)
        applyTheme();
}

// ---------------------------------------------------------------------------------------------------------------
// Settings

void MainWindow::loadSettings()
{
    QSettings s;
    m_recent = s.value(QStringLiteral("recentEndpoints")).toStringList();
    m_url->clear();
    m_url->addItems(m_recent);
    m_url->setCurrentText(m_recent.value(0));
    if (!restoreGeometry(s.value(QStringLiteral("geometry")).toByteArray()))
        resize(1280, 800);
    restoreState(s.value(QStringLiteral("windowState")).toByteArray());
    m_split->restoreState(s.value(QStringLiteral("splitter")).toByteArray());
    m_table->horizontalHeader()->restoreState(s.value(QStringLiteral("tableHeader")).toByteArray());
    setWindowMinutes(s.value(QStringLiteral("windowMinutes"), 1).toInt());
    setPollInterval(s.value(QStringLiteral("pollInterval"), 100).toInt());
    m_unhealthy->setChecked(s.value(QStringLiteral("unhealthyOnly"), false).toBool());
    m_tabs->setCurrentIndex(std::clamp(s.value(QStringLiteral("tab"), 0).toInt(), 0, 2));
    QMenu *recent = m_recentMenu;
    recent->clear();
    for (const QString &u : std::as_const(m_recent)) {
        QAction *a = recent->addAction(u);
        connect(a, &QAction::triggered, this, [this, u] { connectTo(u, m_token->text().toUtf8()); });
    }
    recent->setEnabled(!m_recent.isEmpty());
}

void MainWindow::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("recentEndpoints"), m_recent);
    s.setValue(QStringLiteral("geometry"), saveGeometry());
    s.setValue(QStringLiteral("windowState"), saveState());
    s.setValue(QStringLiteral("splitter"), m_split->saveState());
    s.setValue(QStringLiteral("tableHeader"), m_table->horizontalHeader()->saveState());
    s.setValue(QStringLiteral("windowMinutes"), m_windowMinutes);
    s.setValue(QStringLiteral("pollInterval"), m_pollInterval);
    s.setValue(QStringLiteral("unhealthyOnly"), m_unhealthy->isChecked());
    s.setValue(QStringLiteral("tab"), m_tabs->currentIndex());
}

void MainWindow::rememberUrl(const QString &url)
{
    m_recent.removeAll(url);
    m_recent.prepend(url);
    while (m_recent.size() > 10)
        m_recent.removeLast();
    const QSignalBlocker block(m_url);
    const QString text = m_url->currentText();
    m_url->clear();
    m_url->addItems(m_recent);
    m_url->setCurrentText(text);
    m_recentMenu->clear();
    for (const QString &u : std::as_const(m_recent)) {
        QAction *a = m_recentMenu->addAction(u);
        connect(a, &QAction::triggered, this, [this, u] { connectTo(u, m_token->text().toUtf8()); });
    }
    m_recentMenu->setEnabled(true);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    m_lab->stop();
    QMainWindow::closeEvent(event);
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints

QList<MetricsClient *> MainWindow::clients() const
{
    return m_clients.values();
}

MetricsClient *MainWindow::clientFor(int endpoint) const
{
    return m_clients.value(endpoint, nullptr);
}

void MainWindow::connectFromBar()
{
    const QString text = m_url->currentText().trimmed();
    if (text.isEmpty())
        return;
    if (!connectTo(text, m_token->text().toUtf8()))
        QMessageBox::warning(this, tr("Cannot connect"), tr("“%1” is not an http address of a metrics endpoint.").arg(text));
}

bool MainWindow::connectTo(const QString &urlText, const QByteArray &token)
{
    const QUrl url = MetricsClient::normalizeUrl(urlText);
    if (!url.isValid())
        return false;
    for (MetricsClient *c : std::as_const(m_clients)) {
        if (c->baseUrl() == url) {
            c->setBearerToken(token);
            c->start();
            return true;
        }
    }
    auto *client = new MetricsClient(url, this);
    client->setBearerToken(token);
    client->setPollInterval(m_pollInterval);
    const int endpoint = m_recorder->addEndpoint(client->displayName());
    m_clients.insert(endpoint, client);
    connect(client, &MetricsClient::snapshotReceived, this,
            [this, endpoint](const Snapshot &snap) { m_recorder->ingest(endpoint, snap); });
    connect(client, &MetricsClient::statusChanged, this, [this, client] { onClientStatus(client); });
    client->start();
    if (!m_demo || client->baseUrl() != m_demo->url())
        rememberUrl(url.toString());
    rebuildEndpointMenu();
    updateStatus();
    return true;
}

void MainWindow::removeEndpoint(MetricsClient *client)
{
    const int endpoint = m_clients.key(client, 0);
    if (!endpoint)
        return;
    m_clients.remove(endpoint);
    client->stop();
    client->deleteLater();
    m_recorder->removeEndpoint(endpoint);
    if (endpoint == m_demoEndpoint)
        m_demoEndpoint = 0;
    rebuildEndpointMenu();
    updateStatus();
}

void MainWindow::disconnectAll()
{
    const QList<MetricsClient *> list = m_clients.values();
    for (MetricsClient *c : list)
        removeEndpoint(c);
}

void MainWindow::setPollInterval(int msecs)
{
    m_pollInterval = std::clamp(msecs, 50, 10000);
    for (MetricsClient *c : std::as_const(m_clients))
        c->setPollInterval(m_pollInterval);
}

bool MainWindow::startDemo(int clients)
{
    if (!m_demo)
        m_demo = new DemoHarness(this);
    if (!m_demo->isRunning() && !m_demo->start(clients)) {
        QMessageBox::warning(this, tr("Demo"), tr("The demo could not start: %1").arg(m_demo->errorString()));
        m_demoAct->setChecked(false);
        return false;
    }
    const QSignalBlocker block(m_demoAct);
    m_demoAct->setChecked(true);
    connectTo(m_demo->url().toString());
    m_url->setCurrentText(MetricsClient::normalizeUrl(m_demo->url().toString()).toString());
    for (auto it = m_clients.cbegin(); it != m_clients.cend(); ++it) {
        if (it.value()->baseUrl() == m_demo->url())
            m_demoEndpoint = it.key();
    }
    statusBar()->showMessage(tr("Demo running: %1 clients, metrics on %2").arg(clients).arg(m_demo->url().toString()), 8000);
    return true;
}

void MainWindow::stopDemo()
{
    if (m_demoEndpoint) {
        if (MetricsClient *c = clientFor(m_demoEndpoint))
            removeEndpoint(c);
    }
    m_demoEndpoint = 0;
    if (m_demo)
        m_demo->stop();
    if (m_demoAct) {
        const QSignalBlocker block(m_demoAct);
        m_demoAct->setChecked(false);
    }
}

void MainWindow::onClientStatus(MetricsClient *client)
{
    if (client->status() == MetricsClient::Status::Unauthorized || client->status() == MetricsClient::Status::Error)
        statusBar()->showMessage(tr("%1: %2").arg(client->displayName(), client->errorString()), 10000);
    updateStatus();
}

void MainWindow::rebuildEndpointMenu()
{
    m_endpointMenu->clear();
    for (auto it = m_clients.cbegin(); it != m_clients.cend(); ++it) {
        MetricsClient *c = it.value();
        QAction *a = m_endpointMenu->addAction(c->displayName());
        connect(a, &QAction::triggered, this, [this, c] {
            if (m_clients.key(c, 0) == m_demoEndpoint)
                stopDemo();
            else
                removeEndpoint(c);
        });
    }
    m_endpointMenu->setEnabled(!m_clients.isEmpty());
    m_disconnectAct->setEnabled(!m_clients.isEmpty() || (m_demo && m_demo->isRunning()));
}

// ---------------------------------------------------------------------------------------------------------------
// Live view

void MainWindow::setCurrentTab(int index)
{
    m_tabs->setCurrentIndex(std::clamp(index, 0, m_tabs->count() - 1));
}

void MainWindow::setWindowMinutes(int minutes)
{
    int i = 0;
    while (i < 2 && kWindows[i] < minutes)
        ++i;
    m_windowMinutes = kWindows[i];
    m_window->setCurrentIndex(i);
    m_windowActs[std::size_t(i)]->setChecked(true);
    m_charts->setWindowMinutes(m_windowMinutes);
}

void MainWindow::selectSession(quint64 key)
{
    if (key == 0) {
        m_table->clearSelection();
        m_table->setCurrentIndex(QModelIndex());
        m_charts->setSessionKey(0);
        m_trace->setSession(nullptr, 0, QString());
        return;
    }
    const int row = m_model->rowOf(key);
    if (row < 0)
        return;
    const QModelIndex idx = m_proxy->mapFromSource(m_model->index(row, 0));
    if (idx.isValid())
        m_table->selectRow(idx.row());
    else
        m_charts->setSessionKey(key);
}

void MainWindow::onSelectionChanged()
{
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    const quint64 key = rows.isEmpty() ? 0 : rows.first().data(SessionModel::KeyRole).toULongLong();
    m_charts->setSessionKey(key);
    if (key == 0) {
        m_trace->setSession(nullptr, 0, QString());
        return;
    }
    const Track *t = m_recorder->track(key);
    MetricsClient *client = clientFor(Recorder::endpointOf(key));
    if (t && client)
        m_trace->setSession(client, Recorder::sessionOf(key),
                            tr("%1 (%2, %3 side, conversation %4)")
                                .arg(t->info.peer, t->info.source, t->info.role)
                                .arg(t->info.conversation));
}

void MainWindow::refresh()
{
    m_charts->refresh();
    updateCards();
    updateStatus();
}

void MainWindow::updateCards()
{
    const History &h = m_recorder->totals();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    std::vector<Point> pts = downsample(h.since(now - 60000), 120);
    auto series = [&pts](float Point::*f) {
        std::vector<double> v;
        v.reserve(pts.size());
        for (const Point &p : pts)
            v.push_back(double(p.*f));
        return v;
    };
    const bool have = !h.isEmpty() && !m_clients.isEmpty();
    const Point last = have ? h.last() : Point();
    const Rates r = m_recorder->totalRates();
    auto peak = [&pts](float Point::*f) {
        double m = 0;
        for (const Point &p : pts)
            m = std::max(m, double(p.*f));
        return m;
    };
    m_cards[SessionsCard]->setValue(have ? Format::count(last.sessions) : QStringLiteral("–"));
    int encrypted = 0;
    for (quint64 key : m_recorder->keys()) {
        const Track *t = m_recorder->track(key);
        encrypted += t && t->info.encrypted ? 1 : 0;
    }
    QString sessionsHint = tr("%n endpoint(s)", nullptr, int(m_clients.size()));
    if (encrypted > 0)
        sessionsHint += QStringLiteral(" · ") + tr("%1 encrypted").arg(encrypted);
    m_cards[SessionsCard]->setHint(sessionsHint);
    m_cards[SessionsCard]->setSeries(series(&Point::sessions));
    m_cards[InCard]->setValue(have ? Format::rate(r.in) : QStringLiteral("–"));
    m_cards[InCard]->setHint(tr("peak %1 · wire %2").arg(Format::rate(peak(&Point::rateIn)), Format::rate(r.wireIn)));
    m_cards[InCard]->setSeries(series(&Point::rateIn));
    m_cards[OutCard]->setValue(have ? Format::rate(r.out) : QStringLiteral("–"));
    m_cards[OutCard]->setHint(tr("peak %1 · wire %2").arg(Format::rate(peak(&Point::rateOut)), Format::rate(r.wireOut)));
    m_cards[OutCard]->setSeries(series(&Point::rateOut));
    m_cards[RetransmitCard]->setValue(have ? Format::perSecond(r.retransmits) : QStringLiteral("–"));
    QString dropsHint = tr("drops %1").arg(Format::perSecond(r.drops));
    if (r.securityDrops > 0) // forged or replayed datagrams at an encrypted session: say so where it is seen first
        dropsHint += QStringLiteral(" · ") + tr("forged or replayed %1").arg(Format::perSecond(r.securityDrops));
    m_cards[RetransmitCard]->setHint(dropsHint);
    m_cards[RetransmitCard]->setSeries(series(&Point::retransmits));
    m_cards[LossCard]->setValue(have ? Format::percent(r.retransmitPct) : QStringLiteral("–"));
    m_cards[LossCard]->setHint(tr("of segments sent, last second"));
    m_cards[LossCard]->setSeries(series(&Point::retransmitPct));
    m_cards[RttCard]->setValue(have ? Format::milliseconds(m_recorder->meanSrtt()) : QStringLiteral("–"));
    m_cards[RttCard]->setHint(tr("smoothed, connected sessions"));
    m_cards[RttCard]->setSeries(series(&Point::srtt));
}

void MainWindow::updateStatus()
{
    if (!m_statusEndpoints)
        return;
    int online = 0;
    double rate = 0;
    QStringList problems;
    for (MetricsClient *c : std::as_const(m_clients)) {
        if (c->status() == MetricsClient::Status::Online) {
            ++online;
            rate = std::max(rate, c->pollRate());
        } else if (c->status() == MetricsClient::Status::Unauthorized) {
            problems << tr("%1 needs a token").arg(c->displayName());
        } else if (c->status() == MetricsClient::Status::Error) {
            problems << tr("%1 unreachable").arg(c->displayName());
        }
    }
    QString text = m_clients.isEmpty() ? tr("Not connected: enter an endpoint or start the demo (Ctrl+D)")
                                       : tr("%1 of %n endpoint(s) online", nullptr, int(m_clients.size())).arg(online);
    if (!problems.isEmpty())
        text += QStringLiteral(" · ") + problems.join(QStringLiteral(", "));
    m_statusEndpoints->setText(text);
    QString r = m_clients.isEmpty() ? QString() : tr("%1 Hz").arg(QString::number(rate, 'f', 1));
    if (m_pauseAct->isChecked())
        r = tr("paused") + (r.isEmpty() ? QString() : QStringLiteral(" · ") + r);
    m_statusRate->setText(r);
}

// ---------------------------------------------------------------------------------------------------------------
// Export

bool MainWindow::exportCsv(const QString &path) const
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return false;
    const std::vector<Point> pts = m_charts->visiblePoints();
    return Exporter::writeCsv(pts, &f) && f.commit();
}

bool MainWindow::exportChartPng(const QString &path) const
{
    return m_charts->renderImage().save(path, "PNG");
}

bool MainWindow::exportReport(const QString &path) const
{
    const quint64 key = m_charts->sessionKey();
    const Track *t = key ? m_recorder->track(key) : nullptr;
    QString endpoint;
    if (t)
        endpoint = m_recorder->endpointName(t->endpoint);
    else {
        QStringList names;
        for (MetricsClient *c : std::as_const(m_clients))
            names << c->displayName();
        endpoint = names.join(QStringLiteral(", "));
    }
    const QString title = t ? tr("kcpnet session report: %1").arg(t->info.peer) : tr("kcpnet report: all sessions");
    const QString html = Exporter::htmlReport(title, t, m_charts->visiblePoints(), m_charts->renderImage(), endpoint);
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return false;
    f.write(html.toUtf8());
    return f.commit();
}

void MainWindow::exportCsvDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the recorded series"),
                                                      QStringLiteral("kcpnet-series.csv"), tr("CSV files (*.csv)"));
    if (!path.isEmpty())
        statusBar()->showMessage(exportCsv(path) ? tr("Saved %1").arg(path) : tr("Could not save %1").arg(path), 8000);
}

void MainWindow::exportPngDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the charts"), QStringLiteral("kcpnet-charts.png"),
                                                      tr("PNG images (*.png)"));
    if (!path.isEmpty())
        statusBar()->showMessage(exportChartPng(path) ? tr("Saved %1").arg(path) : tr("Could not save %1").arg(path), 8000);
}

void MainWindow::exportReportDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export a session report"),
                                                      QStringLiteral("kcpnet-report.html"), tr("HTML files (*.html)"));
    if (!path.isEmpty())
        statusBar()->showMessage(exportReport(path) ? tr("Saved %1").arg(path) : tr("Could not save %1").arg(path), 8000);
}

void MainWindow::showShortcuts()
{
    QString html = QStringLiteral("<table cellspacing=6>");
    const QList<QAction *> acts = {m_connectAct, m_disconnectAct, m_demoAct,  m_pauseAct,  m_resetZoomAct,
                                   m_shorterAct, m_longerAct,     m_filterAct, m_totalsAct, m_traceAct,
                                   m_csvAct,     m_pngAct,        m_reportAct, m_tabActs[0], m_tabActs[1],
                                   m_tabActs[2], m_windowActs[0], m_windowActs[1], m_windowActs[2], m_quitAct};
    for (QAction *a : acts) {
        QString name = a->text();
        name.remove(QLatin1Char('&'));
        name.remove(QStringLiteral("…"));
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                    .arg(a->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(), name.toHtmlEscaped());
    }
    html += QStringLiteral("</table><p>%1</p>").arg(tr("In a chart: drag to zoom, Ctrl+wheel to zoom around the cursor, right-click to reset."));
    QMessageBox::information(this, tr("Keyboard shortcuts"), html);
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About kcpnet monitor"),
                       tr("<h3>kcpnet monitor %1</h3><p>Watches the KCP sessions of applications that expose a "
                          "QKcpMetricsServer: round-trip times, windows, throughput, retransmissions and drops, live.</p>"
                          "<p>kcpnet is MIT licensed. This program uses Qt Charts, which is licensed under the GPLv3, "
                          "so the monitor as built is distributed under the GPLv3. The kcpnet library itself links only "
                          "Qt Core and Qt Network.</p>")
                           .arg(QStringLiteral(KCPNET_VERSION_STR)));
}

} // namespace kcpmon
