// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// file-transfer: send a file or a folder over kcpnet, with a progress bar, a SHA-256 check at the end, and resume
// after a broken connection.
//
//   file-transfer receive --dir incoming --port 4100
//   file-transfer send big.iso --host 192.0.2.7 --port 4100
//   file-transfer send photos/ --host 192.0.2.7 --port 4100
//
// Pull the network cable in the middle and plug it back in: the sender notices (peer timeout), reconnects, asks the
// receiver where to go on, and continues from there. The protocol is in transfer.h; this file is the console front
// end: command-line options, and a terminal progress bar with rate and ETA.

#include "transfer.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTextStream>

#include <cstdio>
#include <unistd.h>

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

// A one-line progress bar. On a terminal it redraws in place (at most ten times a second); when the output is a
// file or a pipe it prints a line at every 10 %, so logs stay readable.
class TerminalProgress
{
public:
    TerminalProgress()
        : m_tty(::isatty(STDOUT_FILENO) == 1)
    {}

    // A new file (or a resumed one): the rate starts again from the next update.
    void startFile(const QString &name)
    {
        m_name = name;
        m_restartRate = true;
        m_lastDraw.invalidate();
        m_lastDecile = -1;
    }

    void update(qint64 done, qint64 total, bool force = false)
    {
        if (m_restartRate)
            m_meter.start(done);
        else
            m_meter.sample(done);
        m_restartRate = false;
        const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
        if (m_tty) {
            if (!force && m_lastDraw.isValid() && m_lastDraw.elapsed() < 100)
                return;
            m_lastDraw.start();
            constexpr int width = 30;
            const int filled = static_cast<int>(fraction * width);
            out() << "\r\033[K[" << QString(filled, QLatin1Char('#')) << QString(width - filled, QLatin1Char('.'))
                  << "] " << describe(done, total, fraction);
            out().flush();
            m_drawn = true;
        } else {
            const int decile = static_cast<int>(fraction * 10);
            if (decile == m_lastDecile && !force)
                return;
            m_lastDecile = decile;
            out() << "progress: " << describe(done, total, fraction) << Qt::endl;
        }
    }

    // Prints a whole line above the bar.
    void print(const QString &line)
    {
        if (m_drawn) {
            out() << "\r\033[K";
            m_drawn = false;
        }
        out() << line << Qt::endl;
    }

private:
    QString describe(qint64 done, qint64 total, double fraction) const
    {
        const double rate = m_meter.bytesPerSecond();
        return QStringLiteral("%1 %  %2 of %3  %4/s  ETA %5  %6")
            .arg(fraction * 100.0, 5, 'f', 1)
            .arg(formatBytes(static_cast<double>(done)), formatBytes(static_cast<double>(total)), formatBytes(rate),
                 formatDuration(m_meter.secondsLeft(total - done)), m_name);
    }

    const bool m_tty;
    bool m_drawn = false;
    bool m_restartRate = true;
    QString m_name;
    RateMeter m_meter;
    QElapsedTimer m_lastDraw;
    int m_lastDecile = -1;
};

bool parsePreset(const QString &name, QKcpConfig::Preset *preset)
{
    if (name == QLatin1String("normal"))
        *preset = QKcpConfig::Normal;
    else if (name == QLatin1String("fast"))
        *preset = QKcpConfig::Fast;
    else if (name == QLatin1String("turbo"))
        *preset = QKcpConfig::Turbo;
    else
        return false;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("file-transfer"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Send a file or folder over kcpnet, verified with SHA-256, resumed after a broken connection.\n"
                       "  file-transfer receive [--dir DIR] [--port P]\n"
                       "  file-transfer send PATH [--host HOST] [--port P]"));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("send or receive"));
    parser.addPositionalArgument(QStringLiteral("path"), QStringLiteral("send: the file or folder to send"));
    const QCommandLineOption hostOption(QStringLiteral("host"),
                                        QStringLiteral("send: the receiver (default localhost)."),
                                        QStringLiteral("host"), QStringLiteral("localhost"));
    const QCommandLineOption portOption(QStringLiteral("port"),
                                        QStringLiteral("UDP port (default 4100; receive: 0 = any)."),
                                        QStringLiteral("port"), QStringLiteral("4100"));
    const QCommandLineOption dirOption(QStringLiteral("dir"),
                                       QStringLiteral("receive: where files go (default: the current folder)."),
                                       QStringLiteral("dir"), QStringLiteral("."));
    const QCommandLineOption onceOption(QStringLiteral("once"), QStringLiteral("receive: exit after one transfer."));
    const QCommandLineOption presetOption(QStringLiteral("preset"), QStringLiteral("normal, fast (default) or turbo."),
                                          QStringLiteral("preset"), QStringLiteral("fast"));
    const QCommandLineOption peerTimeoutOption(
        QStringLiteral("peer-timeout"),
        QStringLiteral("ms of silence before the link counts as broken (default: the preset's 10000)."),
        QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption retriesOption(QStringLiteral("retries"),
                                           QStringLiteral("send: reconnect at most this often (default 10)."),
                                           QStringLiteral("n"), QStringLiteral("10"));
    parser.addOptions({hostOption, portOption, dirOption, onceOption, presetOption, peerTimeoutOption, retriesOption});
    parser.process(app);

    const QStringList args = parser.positionalArguments();
    const QString command = args.value(0);
    QKcpConfig::Preset preset;
    if (!parsePreset(parser.value(presetOption), &preset)) {
        out() << "file-transfer: unknown preset " << parser.value(presetOption) << Qt::endl;
        return 2;
    }
    const QKcpConfig config = transferConfig(preset, parser.value(peerTimeoutOption).toInt());
    const quint16 port = static_cast<quint16>(parser.value(portOption).toUInt());
    TerminalProgress bar;

    if (command == QLatin1String("receive") && args.size() == 1) {
        FileReceiver receiver(parser.value(dirOption), config);
        if (!receiver.listen(QHostAddress::Any, port)) {
            out() << "file-transfer: cannot listen: " << receiver.errorString() << Qt::endl;
            return 1;
        }
        out() << "file-transfer: receiving into " << receiver.directory() << " on port " << receiver.port() << Qt::endl;
        qint64 lastTotal = 0;
        int failures = 0;
        QObject::connect(&receiver, &FileReceiver::log, &app, [&](const QString &text) { bar.print(text); });
        QObject::connect(&receiver, &FileReceiver::fileStarted, &app,
                         [&](const QString &name, qint64, qint64) { bar.startFile(name); });
        QObject::connect(&receiver, &FileReceiver::progress, &app, [&](qint64 done, qint64 total) {
            lastTotal = total;
            bar.update(done, total);
        });
        QObject::connect(&receiver, &FileReceiver::fileVerified, &app,
                         [&](const QString &name, qint64 size, const QString &sha) {
                             bar.print(QStringLiteral("received %1 (%2), SHA-256 verified: %3")
                                           .arg(name, formatBytes(static_cast<double>(size)), sha));
                         });
        QObject::connect(&receiver, &FileReceiver::fileFailed, &app, [&](const QString &name, const QString &why) {
            ++failures;
            bar.print(QStringLiteral("FAILED %1: %2").arg(name, why));
        });
        QObject::connect(&receiver, &FileReceiver::transferFinished, &app, [&](int files, qint64 bytes) {
            // `files` and `bytes` count what was verified on this connection; lastTotal is the whole transfer.
            bar.print(QStringLiteral("transfer complete: %1 file(s), %2 verified on this connection; %3 in all")
                          .arg(files)
                          .arg(formatBytes(static_cast<double>(bytes)), formatBytes(static_cast<double>(lastTotal))));
            if (parser.isSet(onceOption))
                QCoreApplication::exit(failures == 0 ? 0 : 1);
        });
        return app.exec();
    }

    if (command == QLatin1String("send") && args.size() == 2) {
        FileSender sender(config);
        QString error;
        if (!sender.setSource(args.at(1), &error)) {
            out() << "file-transfer: " << error << Qt::endl;
            return 1;
        }
        sender.setRetries(parser.value(retriesOption).toInt(), 1000);
        out() << "file-transfer: sending " << sender.fileCount() << " file(s), "
              << formatBytes(static_cast<double>(sender.totalBytes())) << Qt::endl;
        QObject::connect(&sender, &FileSender::log, &app, [&](const QString &text) { bar.print(text); });
        QObject::connect(&sender, &FileSender::fileStarted, &app,
                         [&](const QString &name, qint64, qint64) { bar.startFile(name); });
        QObject::connect(&sender, &FileSender::progress, &app,
                         [&](qint64 done, qint64 total) { bar.update(done, total); });
        QObject::connect(&sender, &FileSender::fileVerified, &app,
                         [&](const QString &name, qint64 size, const QString &sha) {
                             bar.print(QStringLiteral("sent %1 (%2), SHA-256 verified by the receiver: %3")
                                           .arg(name, formatBytes(static_cast<double>(size)), sha));
                         });
        QObject::connect(&sender, &FileSender::finished, &app, [&](bool ok, const QString &summary) {
            bar.print(QStringLiteral("file-transfer: %1: %2")
                          .arg(ok ? QStringLiteral("done") : QStringLiteral("FAILED"), summary));
            QCoreApplication::exit(ok ? 0 : 1);
        });
        sender.start(parser.value(hostOption), port);
        return app.exec();
    }

    parser.showHelp(2);
}
