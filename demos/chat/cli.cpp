// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// chat-cli: the console chat client. Type a line to say it; "/who" lists who is online; "/quit" (or end of input,
// Ctrl-D) leaves.
//
//   chat-cli --nick alice [--host localhost] [--port 4200]
//
// Standard input is read through a QSocketNotifier, so the event loop serves the keyboard and the network alike:
// no thread, no blocking read. Lines typed before the server has welcomed us wait in a queue.

#include "chatclient.h"
#include "chatprotocol.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTextStream>

#include <unistd.h>
#include <utility>

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

} // namespace

// Turns standard input into a lineRead() signal per line and endOfInput() at the end.
class StdinReader : public QObject
{
    Q_OBJECT

public:
    explicit StdinReader(QObject *parent = nullptr)
        : QObject(parent)
        , m_notifier(STDIN_FILENO, QSocketNotifier::Read)
    {
        connect(&m_notifier, &QSocketNotifier::activated, this, &StdinReader::readAvailable);
    }

Q_SIGNALS:
    void lineRead(const QString &line);
    void endOfInput();

private:
    void readAvailable()
    {
        char chunk[4096];
        const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk); // one read per notification: never blocks
        if (n <= 0) {
            m_notifier.setEnabled(false);
            if (!m_pending.isEmpty())
                emit lineRead(QString::fromUtf8(m_pending));
            m_pending.clear();
            emit endOfInput();
            return;
        }
        m_pending.append(chunk, n);
        for (qsizetype eol; (eol = m_pending.indexOf('\n')) >= 0;) {
            const QByteArray line = m_pending.left(eol);
            m_pending.remove(0, eol + 1);
            emit lineRead(QString::fromUtf8(line).trimmed());
        }
    }

    QSocketNotifier m_notifier;
    QByteArray m_pending;
};

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("chat-cli"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A console client for chat-server. Lines from standard input are "
                                                    "said; /who lists the users; /quit or end of input leaves."));
    parser.addHelpOption();
    const QCommandLineOption nickOption(QStringLiteral("nick"), QStringLiteral("Your nickname."),
                                        QStringLiteral("nick"));
    const QCommandLineOption hostOption(QStringLiteral("host"), QStringLiteral("Server host (default localhost)."),
                                        QStringLiteral("host"), QStringLiteral("localhost"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Server UDP port (default 4200)."),
                                        QStringLiteral("port"), QString::number(chat::kDefaultPort));
    parser.addOptions({nickOption, hostOption, portOption});
    parser.process(app);
    if (!chat::isValidNick(parser.value(nickOption))) {
        out() << "chat-cli: --nick NAME is required (1 to 24 letters, digits, '-', '_' or '.')" << Qt::endl;
        return 2;
    }

    ChatClient client;
    StdinReader input;
    QStringList queued; // typed before we were welcomed
    bool leaving = false;
    int exitCode = 0;

    auto handleLine = [&](const QString &line) {
        if (line == QLatin1String("/quit")) {
            leaving = true;
            client.leave();
        } else if (line == QLatin1String("/who")) {
            out() << "* online: " << client.users().join(QLatin1String(", ")) << Qt::endl;
        } else if (!line.isEmpty()) {
            client.say(line);
        }
    };

    QObject::connect(&input, &StdinReader::lineRead, &app, [&](const QString &line) {
        if (leaving)
            return;
        if (client.isJoined())
            handleLine(line);
        else
            queued.append(line);
    });
    QObject::connect(&input, &StdinReader::endOfInput, &app, [&] {
        // Leave once everything typed has been said (at once if we are welcomed, else after the welcome).
        queued.append(QStringLiteral("/quit"));
        if (client.isJoined()) {
            const QStringList lines = std::exchange(queued, {});
            for (const QString &line : lines)
                handleLine(line);
        }
    });

    QObject::connect(&client, &ChatClient::joined, &app, [&](const QString &nick, const QStringList &users) {
        out() << "* joined as " << nick << " (" << users.size() << " online: " << users.join(QLatin1String(", ")) << ")"
              << Qt::endl;
        const QStringList lines = std::exchange(queued, {});
        for (const QString &line : lines)
            handleLine(line);
    });
    QObject::connect(&client, &ChatClient::refused, &app, [&](const QString &reason) {
        out() << "* refused: " << reason << Qt::endl;
        exitCode = 1;
    });
    QObject::connect(&client, &ChatClient::userJoined, &app,
                     [](const QString &nick) { out() << "* " << nick << " joined" << Qt::endl; });
    QObject::connect(&client, &ChatClient::userLeft, &app,
                     [](const QString &nick) { out() << "* " << nick << " left" << Qt::endl; });
    QObject::connect(&client, &ChatClient::messageReceived, &app, [](const QString &nick, const QString &text) {
        out() << '<' << nick << "> " << text << Qt::endl;
    });
    QObject::connect(&client, &ChatClient::errorOccurred, &app, [&](const QString &text) {
        out() << "* error: " << text << Qt::endl;
        exitCode = 1;
    });
    QObject::connect(&client, &ChatClient::disconnected, &app, [&] {
        out() << "* disconnected" << Qt::endl;
        QCoreApplication::exit(leaving ? exitCode : 1);
    });

    client.join(parser.value(hostOption), static_cast<quint16>(parser.value(portOption).toUInt()),
                parser.value(nickOption));
    return app.exec();
}

#include "cli.moc"
