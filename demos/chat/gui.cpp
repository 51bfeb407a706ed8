// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// chat-gui: a Qt Widgets chat client for chat-server. The window is a thin layer over ChatClient's signals; the
// status bar shows what kcpnet measures about the link (smoothed RTT, retransmissions), refreshed every second.
//
//   chat-gui [--nick alice] [--host localhost] [--port 4200]     (with --nick it joins at once)

#include "chatclient.h"
#include "chatprotocol.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMainWindow>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTextBrowser>
#include <QTextStream>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>

class ChatWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit ChatWindow(QWidget *parent = nullptr)
        : QMainWindow(parent)
    {
        setWindowTitle(tr("kcpnet chat"));

        // Who and where.
        m_host = new QLineEdit(QStringLiteral("localhost"));
        m_port = new QSpinBox;
        m_port->setRange(1, 65535);
        m_port->setValue(chat::kDefaultPort);
        m_nick = new QLineEdit;
        m_nick->setPlaceholderText(tr("nickname"));
        m_joinButton = new QPushButton(tr("Join"));
        auto *top = new QHBoxLayout;
        top->addWidget(new QLabel(tr("Server:")));
        top->addWidget(m_host, 2);
        top->addWidget(m_port);
        top->addWidget(new QLabel(tr("Nickname:")));
        top->addWidget(m_nick, 1);
        top->addWidget(m_joinButton);

        // The conversation and who is in it.
        m_view = new QTextBrowser;
        m_usersLabel = new QLabel(tr("Online"));
        m_users = new QListWidget;
        auto *usersPane = new QWidget;
        auto *usersLayout = new QVBoxLayout(usersPane);
        usersLayout->setContentsMargins(0, 0, 0, 0);
        usersLayout->addWidget(m_usersLabel);
        usersLayout->addWidget(m_users);
        auto *splitter = new QSplitter;
        splitter->addWidget(m_view);
        splitter->addWidget(usersPane);
        splitter->setStretchFactor(0, 4);
        splitter->setStretchFactor(1, 1);

        // What to say.
        m_input = new QLineEdit;
        m_input->setPlaceholderText(tr("Say something and press Enter"));
        m_sendButton = new QPushButton(tr("Send"));
        auto *bottom = new QHBoxLayout;
        bottom->addWidget(m_input, 1);
        bottom->addWidget(m_sendButton);

        auto *central = new QWidget;
        auto *layout = new QVBoxLayout(central);
        layout->addLayout(top);
        layout->addWidget(splitter, 1);
        layout->addLayout(bottom);
        setCentralWidget(central);
        m_linkLabel = new QLabel;
        statusBar()->addPermanentWidget(m_linkLabel);
        resize(720, 460);
        setJoined(false);

        connect(m_joinButton, &QPushButton::clicked, this, [this] {
            if (m_client.isJoined())
                m_client.leave();
            else
                join();
        });
        connect(m_input, &QLineEdit::returnPressed, this, &ChatWindow::sendInput);
        connect(m_sendButton, &QPushButton::clicked, this, &ChatWindow::sendInput);

        connect(&m_client, &ChatClient::joined, this, [this](const QString &nick, const QStringList &users) {
            setJoined(true);
            m_users->clear();
            m_users->addItems(users);
            updateUserCount();
            addNotice(tr("You joined as %1.").arg(nick));
            m_input->setFocus();
        });
        connect(&m_client, &ChatClient::refused, this,
                [this](const QString &reason) { addNotice(tr("The server refused: %1").arg(reason)); });
        connect(&m_client, &ChatClient::userJoined, this, [this](const QString &nick) {
            m_users->clear();
            m_users->addItems(m_client.users());
            updateUserCount();
            addNotice(tr("%1 joined.").arg(nick));
        });
        connect(&m_client, &ChatClient::userLeft, this, [this](const QString &nick) {
            m_users->clear();
            m_users->addItems(m_client.users());
            updateUserCount();
            addNotice(tr("%1 left.").arg(nick));
        });
        connect(&m_client, &ChatClient::messageReceived, this, &ChatWindow::addMessage);
        connect(&m_client, &ChatClient::errorOccurred, this,
                [this](const QString &text) { addNotice(tr("Connection problem: %1").arg(text)); });
        connect(&m_client, &ChatClient::disconnected, this, [this] {
            setJoined(false);
            m_users->clear();
            updateUserCount();
            addNotice(tr("Disconnected."));
        });

        // The link, as kcpnet sees it.
        connect(&m_linkTimer, &QTimer::timeout, this, &ChatWindow::showLinkStatistics);
    }

    ChatClient *client() { return &m_client; }

    void join(const QString &host, quint16 port, const QString &nick)
    {
        m_host->setText(host);
        m_port->setValue(port);
        m_nick->setText(nick);
        join();
    }

private:
    void join()
    {
        if (!chat::isValidNick(m_nick->text())) {
            addNotice(tr("Choose a nickname: 1 to 24 letters, digits, '-', '_' or '.'."));
            return;
        }
        m_joinButton->setEnabled(false);
        statusBar()->showMessage(tr("Connecting to %1:%2…").arg(m_host->text()).arg(m_port->value()));
        m_client.join(m_host->text(), static_cast<quint16>(m_port->value()), m_nick->text());
    }

    void sendInput()
    {
        m_client.say(m_input->text().trimmed());
        m_input->clear();
    }

    void setJoined(bool joined)
    {
        m_joinButton->setEnabled(true);
        m_joinButton->setText(joined ? tr("Leave") : tr("Join"));
        m_host->setEnabled(!joined);
        m_port->setEnabled(!joined);
        m_nick->setEnabled(!joined);
        m_input->setEnabled(joined);
        m_sendButton->setEnabled(joined);
        statusBar()->showMessage(joined ? tr("Connected to %1:%2").arg(m_host->text()).arg(m_port->value())
                                        : tr("Not connected"));
        if (joined) {
            showLinkStatistics();
            m_linkTimer.start(1000);
        } else {
            m_linkTimer.stop();
            m_linkLabel->clear();
        }
    }

    void showLinkStatistics()
    {
        const QKcpStatistics s = m_client.statistics();
        m_linkLabel->setText(tr("RTT %1 ms · %2 retransmissions · %3 datagrams")
                                 .arg(s.srtt)
                                 .arg(s.retransmitsFast + s.retransmitsTimeout)
                                 .arg(s.datagramsSent + s.datagramsReceived));
    }

    void updateUserCount() { m_usersLabel->setText(tr("Online (%1)").arg(m_users->count())); }

    void addMessage(const QString &nick, const QString &text)
    {
        const bool mine = nick == m_client.nick();
        m_view->append(QStringLiteral("<span style='color:gray'>%1</span> <b style='color:%2'>%3</b>&nbsp; %4")
                           .arg(QTime::currentTime().toString(QStringLiteral("HH:mm")),
                                mine ? QStringLiteral("#1f6fb2") : QStringLiteral("#2e7d32"), nick.toHtmlEscaped(),
                                text.toHtmlEscaped()));
    }

    void addNotice(const QString &text)
    {
        m_view->append(QStringLiteral("<i style='color:gray'>%1</i>").arg(text.toHtmlEscaped()));
    }

    ChatClient m_client;
    QLineEdit *m_host = nullptr;
    QSpinBox *m_port = nullptr;
    QLineEdit *m_nick = nullptr;
    QPushButton *m_joinButton = nullptr;
    QTextBrowser *m_view = nullptr;
    QLabel *m_usersLabel = nullptr;
    QListWidget *m_users = nullptr;
    QLineEdit *m_input = nullptr;
    QPushButton *m_sendButton = nullptr;
    QLabel *m_linkLabel = nullptr;
    QTimer m_linkTimer;
};

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("chat-gui"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A Qt Widgets client for chat-server."));
    parser.addHelpOption();
    const QCommandLineOption nickOption(QStringLiteral("nick"), QStringLiteral("Join at once with this nickname."),
                                        QStringLiteral("nick"));
    const QCommandLineOption hostOption(QStringLiteral("host"), QStringLiteral("Server host (default localhost)."),
                                        QStringLiteral("host"), QStringLiteral("localhost"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Server UDP port (default 4200)."),
                                        QStringLiteral("port"), QString::number(chat::kDefaultPort));
    // For scripted runs (the smoke test): say something once joined, and when it comes back from the server, save
    // a screenshot and leave.
    const QCommandLineOption sayOption(QStringLiteral("say"), QStringLiteral("Say this once joined."),
                                       QStringLiteral("text"));
    const QCommandLineOption screenshotOption(QStringLiteral("screenshot"),
                                              QStringLiteral("With --say: save a picture of the window once the "
                                                             "message came back, then leave and exit."),
                                              QStringLiteral("file.png"));
    parser.addOptions({nickOption, hostOption, portOption, sayOption, screenshotOption});
    parser.process(app);

    ChatWindow window;
    window.show();
    QTextStream out(stdout);
    ChatClient *client = window.client();
    const QString say = parser.value(sayOption);
    bool echoed = false;
    if (!say.isEmpty()) {
        QObject::connect(client, &ChatClient::joined, &window, [client, say] { client->say(say); });
        QObject::connect(client, &ChatClient::messageReceived, &window,
                         [&, client, say](const QString &nick, const QString &text) {
                             if (nick != client->nick() || text != say || !parser.isSet(screenshotOption))
                                 return;
                             echoed = true;
                             const QString file = parser.value(screenshotOption);
                             out << "chat-gui: message came back from the server; online: "
                                 << client->users().join(QLatin1String(", ")) << Qt::endl;
                             out << "chat-gui: screenshot " << file
                                 << (window.grab().save(file) ? " saved" : " NOT saved") << Qt::endl;
                             client->leave();
                         });
        QObject::connect(client, &ChatClient::disconnected, &app, [&] {
            out << "chat-gui: left" << Qt::endl;
            QApplication::exit(echoed ? 0 : 1);
        });
        QObject::connect(client, &ChatClient::errorOccurred, &app, [&](const QString &text) {
            out << "chat-gui: error: " << text << Qt::endl;
            QApplication::exit(1);
        });
    }
    if (parser.isSet(nickOption))
        window.join(parser.value(hostOption), static_cast<quint16>(parser.value(portOption).toUInt()),
                    parser.value(nickOption));
    return app.exec();
}

#include "gui.moc"
