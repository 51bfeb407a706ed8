// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// file-transfer-gui: the file-transfer demo with a Qt Widgets face. Same protocol (transfer.h) as the console
// program, so the two interoperate: send from the window to a console receiver, or the other way round.
//
//   file-transfer-gui                                        pick a file or folder, a host, and press Send
//   file-transfer-gui --receive incoming --port 4100         listen at once
//   file-transfer-gui --send big.iso --host 192.0.2.7        send at once
//
// What it shows: FileSender / FileReceiver signals driving a QProgressBar, a rate/ETA label and a log, with no
// threads and no polling: the socket's signals are the only clock.

#include "transfer.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTextStream>
#include <QTimer>
#include <QVBoxLayout>

class TransferWindow : public QWidget
{
    Q_OBJECT

public:
    explicit TransferWindow(const QKcpConfig &config, QWidget *parent = nullptr)
        : QWidget(parent)
        , m_config(config)
    {
        setWindowTitle(tr("kcpnet file transfer"));

        // Send: what, and to whom.
        m_path = new QLineEdit;
        m_path->setPlaceholderText(tr("a file or a folder"));
        auto *pickFile = new QPushButton(tr("File…"));
        auto *pickFolder = new QPushButton(tr("Folder…"));
        auto *pathRow = new QHBoxLayout;
        pathRow->addWidget(m_path, 1);
        pathRow->addWidget(pickFile);
        pathRow->addWidget(pickFolder);
        m_host = new QLineEdit(QStringLiteral("localhost"));
        m_sendPort = new QSpinBox;
        m_sendPort->setRange(1, 65535);
        m_sendPort->setValue(4100);
        m_send = new QPushButton(tr("Send"));
        m_send->setDefault(true);
        auto *sendForm = new QFormLayout;
        sendForm->addRow(tr("File or folder:"), pathRow);
        sendForm->addRow(tr("To host:"), m_host);
        sendForm->addRow(tr("Port:"), m_sendPort);
        sendForm->addRow(QString(), m_send);
        auto *sendBox = new QGroupBox(tr("Send"));
        sendBox->setLayout(sendForm);

        // Receive: where to, and on which port.
        m_dir = new QLineEdit(QDir::currentPath());
        auto *pickDir = new QPushButton(tr("Folder…"));
        auto *dirRow = new QHBoxLayout;
        dirRow->addWidget(m_dir, 1);
        dirRow->addWidget(pickDir);
        m_listenPort = new QSpinBox;
        m_listenPort->setRange(0, 65535);
        m_listenPort->setValue(4100);
        m_receive = new QPushButton(tr("Start receiving"));
        auto *receiveForm = new QFormLayout;
        receiveForm->addRow(tr("Into:"), dirRow);
        receiveForm->addRow(tr("Port:"), m_listenPort);
        receiveForm->addRow(QString(), m_receive);
        auto *receiveBox = new QGroupBox(tr("Receive"));
        receiveBox->setLayout(receiveForm);

        auto *boxes = new QHBoxLayout;
        boxes->addWidget(sendBox, 3);
        boxes->addWidget(receiveBox, 2);

        // Progress: the file, the bar (per mille: QProgressBar counts in int, files are bigger), rate and ETA.
        m_file = new QLabel(tr("Idle"));
        m_bar = new QProgressBar;
        m_bar->setRange(0, 1000);
        m_bar->setValue(0);
        m_rate = new QLabel;
        m_log = new QPlainTextEdit;
        m_log->setReadOnly(true);
        m_log->setMaximumBlockCount(1000);

        auto *layout = new QVBoxLayout(this);
        layout->addLayout(boxes);
        layout->addWidget(m_file);
        layout->addWidget(m_bar);
        layout->addWidget(m_rate);
        layout->addWidget(m_log, 1);
        resize(760, 480);

        connect(pickFile, &QPushButton::clicked, this, [this] {
            const QString path = QFileDialog::getOpenFileName(this, tr("File to send"));
            if (!path.isEmpty())
                m_path->setText(path);
        });
        connect(pickFolder, &QPushButton::clicked, this, [this] {
            const QString path = QFileDialog::getExistingDirectory(this, tr("Folder to send"));
            if (!path.isEmpty())
                m_path->setText(path);
        });
        connect(pickDir, &QPushButton::clicked, this, [this] {
            const QString path = QFileDialog::getExistingDirectory(this, tr("Receive into"), m_dir->text());
            if (!path.isEmpty())
                m_dir->setText(path);
        });
        connect(m_send, &QPushButton::clicked, this, &TransferWindow::startSending);
        connect(m_receive, &QPushButton::clicked, this, &TransferWindow::toggleReceiving);
    }

    void setSendTarget(const QString &path, const QString &host, quint16 port)
    {
        m_path->setText(path);
        m_host->setText(host);
        m_sendPort->setValue(port);
    }

    void setReceiveFolder(const QString &dir, quint16 port)
    {
        m_dir->setText(dir);
        m_listenPort->setValue(port);
    }

public Q_SLOTS:
    void startSending()
    {
        if (m_sender)
            return;
        auto *sender = new FileSender(m_config, this);
        QString error;
        if (!sender->setSource(m_path->text(), &error)) {
            delete sender;
            appendLog(error);
            return;
        }
        m_sender = sender;
        m_send->setEnabled(false);
        appendLog(tr("sending %1 file(s), %2").arg(sender->fileCount()).arg(formatBytes(sender->totalBytes())));
        connect(sender, &FileSender::log, this, &TransferWindow::appendLog);
        connect(sender, &FileSender::fileStarted, this, &TransferWindow::onFileStarted);
        connect(sender, &FileSender::progress, this, &TransferWindow::onProgress);
        connect(sender, &FileSender::fileVerified, this, [this](const QString &name, qint64 size, const QString &sha) {
            appendLog(tr("sent %1 (%2), SHA-256 verified by the receiver: %3").arg(name, formatBytes(size), sha));
        });
        connect(sender, &FileSender::finished, this, [this, sender](bool ok, const QString &summary) {
            appendLog(ok ? tr("done: %1").arg(summary) : tr("FAILED: %1").arg(summary));
            m_file->setText(ok ? tr("Sent and verified") : tr("Failed: %1").arg(summary));
            showSummary();
            m_sender = nullptr;
            sender->deleteLater();
            m_send->setEnabled(true);
            emit finished(ok);
        });
        sender->start(m_host->text(), static_cast<quint16>(m_sendPort->value()));
    }

    void toggleReceiving()
    {
        if (m_receiver) {
            delete m_receiver;
            m_receiver = nullptr;
            m_receive->setText(tr("Start receiving"));
            appendLog(tr("stopped receiving"));
            return;
        }
        auto *receiver = new FileReceiver(m_dir->text(), m_config, this);
        if (!receiver->listen(QHostAddress::Any, static_cast<quint16>(m_listenPort->value()))) {
            appendLog(tr("cannot listen: %1").arg(receiver->errorString()));
            delete receiver;
            return;
        }
        m_receiver = receiver;
        m_listenPort->setValue(receiver->port());
        m_receive->setText(tr("Stop receiving"));
        appendLog(tr("receiving into %1 on port %2").arg(receiver->directory()).arg(receiver->port()));
        connect(receiver, &FileReceiver::log, this, &TransferWindow::appendLog);
        connect(receiver, &FileReceiver::fileStarted, this, &TransferWindow::onFileStarted);
        connect(receiver, &FileReceiver::progress, this, &TransferWindow::onProgress);
        connect(receiver, &FileReceiver::fileVerified, this,
                [this](const QString &name, qint64 size, const QString &sha) {
                    appendLog(tr("received %1 (%2), SHA-256 verified: %3").arg(name, formatBytes(size), sha));
                });
        connect(receiver, &FileReceiver::fileFailed, this,
                [this](const QString &name, const QString &why) { appendLog(tr("FAILED %1: %2").arg(name, why)); });
        connect(receiver, &FileReceiver::transferFinished, this, [this](int files) {
            appendLog(tr("transfer complete: %1 file(s)").arg(files));
            m_file->setText(tr("Received and verified"));
            showSummary();
            emit finished(true);
        });
    }

Q_SIGNALS:
    void finished(bool ok);
    void logged(const QString &line);

private:
    void appendLog(const QString &line)
    {
        m_log->appendPlainText(line);
        emit logged(line);
    }

    void onFileStarted(const QString &name, qint64 size, qint64 offset)
    {
        if (!m_transferClock.isValid())
            m_transferClock.start();
        m_restartRate = true;
        m_file->setText(offset > 0 ? tr("%1 (%2), resumed at %3").arg(name, formatBytes(size), formatBytes(offset))
                                   : tr("%1 (%2)").arg(name, formatBytes(size)));
    }

    // The transfer is over: the average rate replaces the live one.
    void showSummary()
    {
        const double seconds = m_transferClock.isValid() ? m_transferClock.elapsed() / 1000.0 : 0.0;
        m_rate->setText(tr("%1 in %2 s, %3/s on average")
                            .arg(formatBytes(m_lastDone))
                            .arg(seconds, 0, 'f', 1)
                            .arg(formatBytes(seconds > 0 ? m_lastDone / seconds : 0.0)));
        m_transferClock.invalidate();
    }

    void onProgress(qint64 done, qint64 total)
    {
        m_lastDone = done;
        if (m_restartRate)
            m_meter.start(done);
        else
            m_meter.sample(done);
        m_restartRate = false;
        const int perMille = total > 0 ? static_cast<int>(done * 1000 / total) : 1000;
        m_bar->setValue(perMille);
        m_bar->setFormat(
            tr("%1 of %2 (%3 %)").arg(formatBytes(done), formatBytes(total)).arg(perMille / 10.0, 0, 'f', 1));
        m_rate->setText(
            tr("%1/s, %2 left")
                .arg(formatBytes(m_meter.bytesPerSecond()), formatDuration(m_meter.secondsLeft(total - done))));
    }

    QKcpConfig m_config;
    QLineEdit *m_path = nullptr;
    QLineEdit *m_host = nullptr;
    QSpinBox *m_sendPort = nullptr;
    QPushButton *m_send = nullptr;
    QLineEdit *m_dir = nullptr;
    QSpinBox *m_listenPort = nullptr;
    QPushButton *m_receive = nullptr;
    QLabel *m_file = nullptr;
    QProgressBar *m_bar = nullptr;
    QLabel *m_rate = nullptr;
    QPlainTextEdit *m_log = nullptr;
    FileSender *m_sender = nullptr;
    FileReceiver *m_receiver = nullptr;
    RateMeter m_meter;
    bool m_restartRate = true;
    QElapsedTimer m_transferClock;
    qint64 m_lastDone = 0;
};

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("file-transfer-gui"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Send or receive files over kcpnet (Qt Widgets)."));
    parser.addHelpOption();
    const QCommandLineOption sendOption(QStringLiteral("send"), QStringLiteral("Send this file or folder at once."),
                                        QStringLiteral("path"));
    const QCommandLineOption hostOption(QStringLiteral("host"), QStringLiteral("Receiver host (default localhost)."),
                                        QStringLiteral("host"), QStringLiteral("localhost"));
    const QCommandLineOption receiveOption(QStringLiteral("receive"),
                                           QStringLiteral("Receive into this folder at once."), QStringLiteral("dir"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("UDP port (default 4100)."),
                                        QStringLiteral("port"), QStringLiteral("4100"));
    const QCommandLineOption peerTimeoutOption(QStringLiteral("peer-timeout"),
                                               QStringLiteral("ms of silence before the link counts as broken."),
                                               QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption quitOption(QStringLiteral("quit-when-done"),
                                        QStringLiteral("Exit when the transfer is over (exit code 0 = verified)."));
    const QCommandLineOption screenshotOption(QStringLiteral("screenshot"),
                                              QStringLiteral("Save a picture of the window when the transfer is over."),
                                              QStringLiteral("file.png"));
    const QCommandLineOption screenshotAfterOption(
        QStringLiteral("screenshot-after"),
        QStringLiteral("With --screenshot: take it this many ms after the start instead of at the end."),
        QStringLiteral("ms"));
    parser.addOptions({sendOption, hostOption, receiveOption, portOption, peerTimeoutOption, quitOption,
                       screenshotOption, screenshotAfterOption});
    parser.process(app);

    TransferWindow window(transferConfig(QKcpConfig::Fast, parser.value(peerTimeoutOption).toInt()));
    const quint16 port = static_cast<quint16>(parser.value(portOption).toUInt());

    // The log also goes to stdout, so a script can follow what the window does.
    QObject::connect(&window, &TransferWindow::logged, &app, [](const QString &line) {
        static QTextStream out(stdout);
        out << "file-transfer-gui: " << line << Qt::endl;
    });
    auto screenshot = [&] {
        const QString file = parser.value(screenshotOption);
        QTextStream(stdout) << "file-transfer-gui: screenshot " << file
                            << (window.grab().save(file) ? " saved" : " NOT saved") << Qt::endl;
    };
    const bool screenshotAtEnd = parser.isSet(screenshotOption) && !parser.isSet(screenshotAfterOption);
    if (parser.isSet(screenshotOption) && parser.isSet(screenshotAfterOption))
        QTimer::singleShot(parser.value(screenshotAfterOption).toInt(), &window, screenshot);
    QObject::connect(&window, &TransferWindow::finished, &app, [&](bool ok) {
        if (screenshotAtEnd)
            screenshot();
        if (parser.isSet(quitOption))
            QApplication::exit(ok ? 0 : 1);
    });

    window.show();
    if (parser.isSet(receiveOption)) {
        window.setReceiveFolder(parser.value(receiveOption), port);
        window.toggleReceiving();
    }
    if (parser.isSet(sendOption)) {
        window.setSendTarget(parser.value(sendOption), parser.value(hostOption), port);
        QTimer::singleShot(0, &window, &TransferWindow::startSending); // once the window is up
    }
    return app.exec();
}

#include "gui.moc"
