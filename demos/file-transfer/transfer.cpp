// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "transfer.h"

#include <QDataStream>
#include <QDirIterator>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKcpServer>
#include <QKcpSocket>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace {

enum class Type : quint8 {
    Hello = 1,
    Offer = 2,
    Resume = 3,
    Data = 4,
    End = 5,
    Verified = 6,
    Done = 7,
    Error = 8,
};

constexpr quint8 kProtocolVersion = 1;
constexpr qint64 kChunk = 32 * 1024;       // file bytes per DATA message
constexpr qint64 kHighWater = 1024 * 1024; // keep about this much queued in the socket
constexpr int kMaxAttemptsPerFile = 2;     // a hash mismatch is retried once from the start

// Control messages are [type][QDataStream fields]; DATA is [type][raw bytes] so file data is not copied twice.
template <typename... Fields>
QByteArray encode(Type type, const Fields &...fields)
{
    QByteArray bytes;
    QDataStream stream(&bytes, QIODevice::WriteOnly);
    stream.setVersion(QDataStream::Qt_6_0);
    stream << static_cast<quint8>(type);
    ((stream << fields), ...);
    return bytes;
}

// A reader positioned after the type byte; check status() after reading the fields.
struct Decoder {
    explicit Decoder(const QByteArray &message)
        : stream(message)
    {
        stream.setVersion(QDataStream::Qt_6_0);
        quint8 ignored;
        stream >> ignored;
    }
    template <typename T>
    Decoder &operator>>(T &value)
    {
        stream >> value;
        return *this;
    }
    bool ok() const { return stream.status() == QDataStream::Ok; }
    QDataStream stream;
};

Type typeOf(const QByteArray &message)
{
    return message.isEmpty() ? Type::Error : static_cast<Type>(static_cast<quint8>(message.at(0)));
}

// The sender chooses the names. Never let one escape the receive directory ("../../.bashrc", "/etc/passwd").
QString safeRelativePath(const QString &path)
{
    if (path.isEmpty() || path.size() > 4096 || QDir::isAbsolutePath(path) || path.contains(QLatin1Char('\\'))
        || path.contains(QChar(0)))
        return QString();
    const QStringList parts = path.split(QLatin1Char('/'));
    for (const QString &part : parts) {
        if (part.isEmpty() || part == QLatin1String(".") || part == QLatin1String(".."))
            return QString();
    }
    if (path.endsWith(QLatin1String(".kcpart")) || path.endsWith(QLatin1String(".kcpart.info")))
        return QString();
    return path;
}

// "192.0.2.7:4100" also when a dual-stack socket reports the IPv4 peer as ::ffff:192.0.2.7.
QString peerText(const QKcpSocket *socket)
{
    bool isV4 = false;
    const quint32 v4 = socket->peerAddress().toIPv4Address(&isV4);
    const QString address = isV4 ? QHostAddress(v4).toString() : socket->peerAddress().toString();
    return address + QLatin1Char(':') + QString::number(socket->peerPort());
}

QString hex(const QByteArray &digest)
{
    return QString::fromLatin1(digest.toHex());
}

} // namespace

QKcpConfig transferConfig(QKcpConfig::Preset preset, int peerTimeoutMs)
{
    QKcpConfig config(preset);
    config.setMode(QKcpConfig::MessageMode);
    if (peerTimeoutMs > 0) {
        // A shorter peer timeout notices a broken link sooner; keepalives must come more often than that, and a
        // connection attempt during an outage should give up in a bounded time so the next attempt can start.
        config.setPeerTimeout(peerTimeoutMs);
        config.setKeepAliveInterval(std::max(100, peerTimeoutMs / 3));
        config.setConnectTimeout(std::max(2000, 2 * peerTimeoutMs));
    }
    return config;
}

QByteArray sha256OfFile(const QString &path, qint64 length, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = file.errorString();
        return QByteArray();
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    qint64 left = length < 0 ? file.size() : length;
    QByteArray buffer(1024 * 1024, Qt::Uninitialized);
    while (left > 0) {
        const qint64 n = file.read(buffer.data(), std::min<qint64>(left, buffer.size()));
        if (n <= 0) {
            if (error)
                *error = QStringLiteral("%1: short read").arg(path);
            return QByteArray();
        }
        hash.addData(QByteArrayView(buffer.constData(), n));
        left -= n;
    }
    return hash.result();
}

// ---- RateMeter ------------------------------------------------------------------------------------------------

void RateMeter::start(qint64 bytes)
{
    m_clock.start();
    m_samples.clear();
    m_samples.emplace_back(0, bytes);
}

void RateMeter::sample(qint64 bytes)
{
    if (!m_clock.isValid())
        start(bytes);
    const qint64 now = m_clock.elapsed();
    if (!m_samples.empty() && m_samples.back().first == now)
        m_samples.back().second = bytes;
    else
        m_samples.emplace_back(now, bytes);
    // Keep a window of about three seconds (and at least two samples).
    while (m_samples.size() > 2 && now - m_samples[1].first >= 3000)
        m_samples.pop_front();
}

double RateMeter::bytesPerSecond() const
{
    if (m_samples.size() < 2)
        return 0.0;
    const auto &[t0, b0] = m_samples.front();
    const auto &[t1, b1] = m_samples.back();
    return t1 > t0 ? std::max<qint64>(0, b1 - b0) * 1000.0 / static_cast<double>(t1 - t0) : 0.0;
}

qint64 RateMeter::secondsLeft(qint64 remaining) const
{
    const double rate = bytesPerSecond();
    return rate > 0 ? static_cast<qint64>(std::ceil(static_cast<double>(remaining) / rate)) : -1;
}

QString formatBytes(double bytes)
{
    if (bytes < 1000)
        return QStringLiteral("%1 B").arg(bytes, 0, 'f', 0);
    if (bytes < 1000 * 1000)
        return QStringLiteral("%1 kB").arg(bytes / 1000, 0, 'f', 1);
    if (bytes < 1000.0 * 1000 * 1000)
        return QStringLiteral("%1 MB").arg(bytes / 1e6, 0, 'f', 1);
    return QStringLiteral("%1 GB").arg(bytes / 1e9, 0, 'f', 2);
}

QString formatDuration(qint64 seconds)
{
    if (seconds < 0)
        return QStringLiteral("--:--");
    if (seconds >= 3600)
        return QStringLiteral("%1:%2:%3")
            .arg(seconds / 3600)
            .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'))
            .arg(seconds % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(seconds / 60).arg(seconds % 60, 2, 10, QLatin1Char('0'));
}

// ---- FileSender -----------------------------------------------------------------------------------------------

FileSender::FileSender(const QKcpConfig &config, QObject *parent)
    : QObject(parent)
    , m_config(config)
{}

FileSender::~FileSender() = default;

bool FileSender::setSource(const QString &path, QString *error)
{
    m_files.clear();
    m_totalBytes = 0;
    const QFileInfo info(path);
    auto add = [this](const QFileInfo &file, const QString &relative) {
        m_files.append({file.absoluteFilePath(), relative, file.size(), file.lastModified().toMSecsSinceEpoch()});
        m_totalBytes += file.size();
    };
    if (info.isFile()) {
        add(info, info.fileName());
    } else if (info.isDir()) {
        // "photos/" is sent as photos/a.jpg, photos/2024/b.jpg ... (files only; empty folders are not sent).
        const QDir root(info.absoluteFilePath());
        const QString prefix = root.dirName() + QLatin1Char('/');
        QDirIterator it(root.absolutePath(), QDir::Files | QDir::Hidden | QDir::NoSymLinks,
                        QDirIterator::Subdirectories);
        QStringList paths;
        while (it.hasNext())
            paths.append(it.next());
        paths.sort(); // a stable order: the receiver sees the same sequence after a reconnect
        for (const QString &p : paths)
            add(QFileInfo(p), prefix + root.relativeFilePath(p));
    } else {
        *error = QStringLiteral("%1: no such file or folder").arg(path);
        return false;
    }
    if (m_files.isEmpty()) {
        *error = QStringLiteral("%1: nothing to send").arg(path);
        return false;
    }
    return true;
}

void FileSender::setRetries(int retries, int delayMs)
{
    m_maxReconnects = std::max(0, retries);
    m_retryDelay = std::max(0, delayMs);
}

void FileSender::start(const QString &host, quint16 port)
{
    m_host = host;
    m_port = port;
    m_current = 0;
    m_doneBytes = 0;
    m_reconnects = 0;
    connectNow();
}

void FileSender::cancel()
{
    finish(false, QStringLiteral("cancelled"));
}

void FileSender::connectNow()
{
    m_state = State::Connecting;
    auto *socket = new QKcpSocket(m_config, this);
    m_socket = socket;
    connect(socket, &QKcpSocket::connected, this, &FileSender::onConnected);
    connect(socket, &QKcpSocket::readyRead, this, &FileSender::onMessages);
    // bytesWritten(): data left for the network, so there is room to queue more.
    connect(socket, &QKcpSocket::bytesWritten, this, [this] {
        pump();
        if (m_state == State::Sending || m_state == State::WaitingForVerdict)
            reportProgress();
    });
    // A connection that never came up only reports errorOccurred(); one that was up also says disconnected().
    connect(socket, &QKcpSocket::errorOccurred, this, [this, socket](QAbstractSocket::SocketError) {
        if (socket == m_socket && m_state == State::Connecting)
            connectionLost(socket->errorString());
    });
    connect(socket, &QKcpSocket::disconnected, this, [this, socket] {
        if (socket == m_socket)
            connectionLost(socket->errorString().isEmpty() ? QStringLiteral("closed") : socket->errorString());
    });
    emit log(QStringLiteral("connecting to %1:%2").arg(m_host).arg(m_port));
    socket->connectToHost(m_host, m_port);
}

void FileSender::onConnected()
{
    emit log(QStringLiteral("connected to %1").arg(peerText(m_socket)));
    m_socket->writeMessage(
        encode(Type::Hello, kProtocolVersion, static_cast<qint32>(m_files.size()), m_totalBytes, m_doneBytes));
    offerCurrentFile();
}

void FileSender::offerCurrentFile()
{
    if (m_current >= m_files.size()) {
        // Everything is verified. DONE, then a graceful close: disconnected() completes the job.
        m_state = State::Closing;
        m_socket->writeMessage(encode(Type::Done));
        m_socket->disconnectFromHost();
        return;
    }
    const Entry &e = m_files.at(m_current);
    m_file.close();
    m_file.setFileName(e.absolutePath);
    if (!m_file.open(QIODevice::ReadOnly)) {
        finish(false, QStringLiteral("%1: %2").arg(e.absolutePath, m_file.errorString()));
        return;
    }
    // "Here is a file: where shall I start?" The answer (RESUME) arrives in handle().
    m_state = State::WaitingForResume;
    m_socket->writeMessage(encode(Type::Offer, e.relativePath, e.size, e.modified));
}

void FileSender::onMessages()
{
    // Message mode: each readMessage() is exactly one message the receiver wrote.
    while (m_socket && m_socket->hasPendingMessages())
        handle(m_socket->readMessage());
}

void FileSender::handle(const QByteArray &message)
{
    Decoder in(message);
    switch (typeOf(message)) {
    case Type::Resume: {
        qint64 offset = -1;
        in >> offset;
        if (!in.ok() || m_state != State::WaitingForResume) {
            finish(false, QStringLiteral("protocol error: unexpected RESUME"));
            return;
        }
        startSending(offset);
        return;
    }
    case Type::Verified: {
        bool ok = false;
        QString text;
        in >> ok >> text;
        if (!in.ok() || m_state != State::WaitingForVerdict) {
            finish(false, QStringLiteral("protocol error: unexpected VERIFIED"));
            return;
        }
        const Entry e = m_files.at(m_current);
        if (ok) {
            m_doneBytes += e.size;
            ++m_current;
            m_fileAttempts = 0;
            emit fileVerified(e.relativePath, e.size, text);
            emit progress(m_doneBytes, m_totalBytes);
        } else if (++m_fileAttempts < kMaxAttemptsPerFile) {
            emit log(QStringLiteral("%1: %2; sending it again from the start").arg(e.relativePath, text));
        } else {
            finish(false, QStringLiteral("%1: %2").arg(e.relativePath, text));
            return;
        }
        offerCurrentFile();
        return;
    }
    case Type::Error: {
        QString text;
        in >> text;
        finish(false, QStringLiteral("receiver: %1").arg(text));
        return;
    }
    default:
        finish(false, QStringLiteral("protocol error: unexpected message type %1").arg(int(typeOf(message))));
        return;
    }
}

void FileSender::startSending(qint64 offset)
{
    const Entry &e = m_files.at(m_current);
    if (offset < 0 || offset > e.size) {
        finish(false, QStringLiteral("receiver asked for offset %1 of a %2-byte file").arg(offset).arg(e.size));
        return;
    }
    // The SHA-256 covers the whole file, so the part the receiver already has is hashed here from our copy.
    m_hash.reset();
    QByteArray buffer(1024 * 1024, Qt::Uninitialized);
    for (qint64 left = offset; left > 0;) {
        const qint64 n = m_file.read(buffer.data(), std::min<qint64>(left, buffer.size()));
        if (n <= 0) {
            finish(false, QStringLiteral("%1: read error").arg(e.absolutePath));
            return;
        }
        m_hash.addData(QByteArrayView(buffer.constData(), n));
        left -= n;
    }
    m_offset = offset;
    m_queuedInFile = offset;
    m_state = State::Sending;
    if (offset > 0)
        emit log(QStringLiteral("resuming %1 at byte %2 of %3").arg(e.relativePath).arg(offset).arg(e.size));
    emit fileStarted(e.relativePath, e.size, offset);
    pump();
}

void FileSender::pump()
{
    if (m_state != State::Sending || !m_socket)
        return;
    const Entry &e = m_files.at(m_current);
    // Keep the socket fed without loading the whole file into memory: top up to the high-water mark, and come
    // back on the next bytesWritten().
    while (m_queuedInFile < e.size && m_socket->bytesToWrite() < kHighWater) {
        const qint64 want = std::min(kChunk, e.size - m_queuedInFile);
        QByteArray message(1 + want, Qt::Uninitialized);
        message[0] = static_cast<char>(Type::Data);
        const qint64 n = m_file.read(message.data() + 1, want);
        if (n <= 0) {
            finish(false, QStringLiteral("%1 changed or became unreadable while sending").arg(e.absolutePath));
            return;
        }
        message.truncate(1 + n);
        m_hash.addData(QByteArrayView(message.constData() + 1, n));
        m_socket->writeMessage(message);
        m_queuedInFile += n;
    }
    if (m_queuedInFile == e.size) {
        m_state = State::WaitingForVerdict;
        m_file.close();
        m_socket->writeMessage(encode(Type::End, m_hash.result()));
    }
}

void FileSender::reportProgress()
{
    qint64 done = m_doneBytes;
    if (m_socket && (m_state == State::Sending || m_state == State::WaitingForVerdict)) {
        // Handed to the network so far: what we queued minus what still waits in the socket.
        const qint64 size = m_files.at(m_current).size;
        done += std::clamp(m_queuedInFile - m_socket->bytesToWrite(), m_offset, size);
    }
    emit progress(done, m_totalBytes);
}

void FileSender::connectionLost(const QString &reason)
{
    QKcpSocket *socket = m_socket;
    if (!socket)
        return;
    m_socket = nullptr;
    socket->deleteLater(); // we are inside one of its signals
    m_file.close();

    if (m_state == State::Closing) {
        finish(true,
               QStringLiteral("%1 file(s), %2 sent and verified").arg(m_files.size()).arg(formatBytes(m_totalBytes)));
        return;
    }
    if (m_state == State::Finished)
        return;
    if (m_reconnects >= m_maxReconnects) {
        finish(false,
               QStringLiteral("connection lost (%1); gave up after %2 reconnects").arg(reason).arg(m_reconnects));
        return;
    }
    ++m_reconnects;
    m_state = State::Idle;
    emit log(QStringLiteral("connection lost (%1); reconnecting in %2 ms (attempt %3 of %4)")
                 .arg(reason)
                 .arg(m_retryDelay)
                 .arg(m_reconnects)
                 .arg(m_maxReconnects));
    QTimer::singleShot(m_retryDelay, this, [this] {
        if (m_state == State::Idle)
            connectNow();
    });
}

void FileSender::finish(bool ok, const QString &summary)
{
    if (m_state == State::Finished)
        return;
    m_state = State::Finished;
    m_file.close();
    if (QKcpSocket *socket = m_socket) {
        m_socket = nullptr;
        socket->abort();
        socket->deleteLater();
    }
    emit finished(ok, summary);
}

// ---- FileReceiver ---------------------------------------------------------------------------------------------

// One connected sender. A child of its socket, so it goes away with it.
class FileReceiver::Incoming : public QObject
{
public:
    Incoming(QKcpSocket *socket, FileReceiver *receiver)
        : QObject(socket)
        , m_socket(socket)
        , m_receiver(receiver)
    {
        connect(socket, &QKcpSocket::readyRead, this, [this] {
            while (m_socket->hasPendingMessages() && !m_aborted)
                handle(m_socket->readMessage());
        });
        connect(socket, &QKcpSocket::disconnected, this, [this] {
            if (m_part.isOpen())
                keepPartial(m_socket->errorString());
        });
    }

    ~Incoming() override
    {
        if (m_part.isOpen())
            keepPartial(QStringLiteral("closed"));
    }

    // Another connection offered the file we are writing: let it have the file.
    void takeOver()
    {
        if (m_part.isOpen())
            keepPartial(QStringLiteral("taken over by a new connection"));
        m_aborted = true;
        m_socket->abort();
    }

private:
    void handle(const QByteArray &message)
    {
        const Type type = typeOf(message);
        if (type == Type::Data) {
            onData(message.constData() + 1, message.size() - 1);
            return;
        }
        Decoder in(message);
        switch (type) {
        case Type::Hello: {
            quint8 version = 0;
            qint32 files = 0;
            in >> version >> files >> m_total >> m_doneBefore;
            if (!in.ok() || version != kProtocolVersion)
                return fail(QStringLiteral("unsupported protocol version %1").arg(version));
            emit m_receiver->log(
                QStringLiteral("%1 sends %2 file(s), %3").arg(peerText(m_socket)).arg(files).arg(formatBytes(m_total)));
            return;
        }
        case Type::Offer: {
            QString path;
            qint64 size = -1;
            qint64 modified = 0;
            in >> path >> size >> modified;
            if (!in.ok() || size < 0)
                return fail(QStringLiteral("malformed OFFER"));
            onOffer(path, size, modified);
            return;
        }
        case Type::End: {
            QByteArray digest;
            in >> digest;
            if (!in.ok())
                return fail(QStringLiteral("malformed END"));
            onEnd(digest);
            return;
        }
        case Type::Done:
            emit m_receiver->transferFinished(m_files, m_bytes);
            return;
        default:
            return fail(QStringLiteral("unexpected message type %1").arg(int(type)));
        }
    }

    void onOffer(const QString &requested, qint64 size, qint64 modified)
    {
        if (m_part.isOpen())
            return fail(QStringLiteral("OFFER while a file is open"));
        const QString path = safeRelativePath(requested);
        if (path.isEmpty())
            return fail(QStringLiteral("refusing unsafe path \"%1\"").arg(requested));
        m_path = path;
        m_size = size;
        m_modified = modified;
        m_target = m_receiver->m_directory.filePath(path);
        if (!QDir().mkpath(QFileInfo(m_target).absolutePath()))
            return fail(QStringLiteral("cannot create the folder for %1").arg(path));
        m_receiver->claim(path, this); // closes the file if a stale connection still had it open

        // Resume if a partial file for exactly this file (same size and time) is there; else start over.
        const QString partPath = m_target + QLatin1String(".kcpart");
        QFile info(partPath + QLatin1String(".info"));
        qint64 offset = 0;
        if (QFile::exists(partPath) && info.open(QIODevice::ReadOnly)) {
            const QJsonObject o = QJsonDocument::fromJson(info.readAll()).object();
            info.close();
            const qint64 have = QFileInfo(partPath).size();
            if (o.value(QLatin1String("size")).toInteger(-1) == size
                && o.value(QLatin1String("modified")).toInteger(-1) == modified && have <= size)
                offset = have;
        }
        m_part.setFileName(partPath);
        const bool opened = offset > 0 ? m_part.open(QIODevice::WriteOnly | QIODevice::Append)
                                       : m_part.open(QIODevice::WriteOnly | QIODevice::Truncate);
        if (!opened)
            return fail(QStringLiteral("%1: %2").arg(partPath, m_part.errorString()));
        if (offset == 0) {
            QJsonObject o;
            o.insert(QLatin1String("size"), size);
            o.insert(QLatin1String("modified"), modified);
            if (!info.open(QIODevice::WriteOnly | QIODevice::Truncate)
                || info.write(QJsonDocument(o).toJson(QJsonDocument::Compact)) < 0)
                return fail(QStringLiteral("%1: %2").arg(info.fileName(), info.errorString()));
            info.close();
        }
        m_received = offset;
        m_socket->writeMessage(encode(Type::Resume, offset));
        if (offset > 0)
            emit m_receiver->log(QStringLiteral("resuming %1 at byte %2 of %3").arg(path).arg(offset).arg(size));
        emit m_receiver->fileStarted(path, size, offset);
        emit m_receiver->progress(m_doneBefore + m_received, m_total);
    }

    void onData(const char *data, qint64 size)
    {
        if (!m_part.isOpen() || m_received + size > m_size)
            return fail(QStringLiteral("unexpected DATA"));
        if (m_part.write(data, size) != size)
            return fail(QStringLiteral("%1: %2").arg(m_part.fileName(), m_part.errorString()));
        m_received += size;
        emit m_receiver->progress(m_doneBefore + m_received, m_total);
    }

    void onEnd(const QByteArray &expected)
    {
        if (!m_part.isOpen())
            return fail(QStringLiteral("END without a file"));
        const QString partPath = m_part.fileName();
        m_part.close();
        m_receiver->release(m_path, this);

        // The end-to-end check: hash what is on disk and compare with the sender's hash of its file.
        QString error;
        const QByteArray actual = m_received == m_size ? sha256OfFile(partPath, -1, &error) : QByteArray();
        QString verdict;
        bool ok = !actual.isEmpty() && actual == expected;
        if (ok) {
            QFile::remove(m_target);
            ok = QFile::rename(partPath, m_target);
            verdict = ok ? hex(actual) : QStringLiteral("cannot rename %1 to %2").arg(partPath, m_target);
        } else {
            verdict = m_received != m_size
                ? QStringLiteral("size mismatch (%1 of %2 bytes)").arg(m_received).arg(m_size)
                : !error.isEmpty() ? error
                                   : QStringLiteral("SHA-256 mismatch");
        }
        QFile::remove(partPath + QLatin1String(".info"));
        if (ok) {
            QFile target(m_target);
            if (target.open(QIODevice::ReadWrite)) // keep the sender's modification time
                target.setFileTime(QDateTime::fromMSecsSinceEpoch(m_modified, Qt::UTC),
                                   QFileDevice::FileModificationTime);
            m_doneBefore += m_size;
            ++m_files;
            m_bytes += m_size;
            emit m_receiver->fileVerified(m_path, m_size, verdict);
        } else {
            QFile::remove(partPath);
            emit m_receiver->fileFailed(m_path, verdict);
        }
        m_socket->writeMessage(encode(Type::Verified, ok, verdict));
    }

    void keepPartial(const QString &why)
    {
        m_part.close();
        m_receiver->release(m_path, this);
        emit m_receiver->log(QStringLiteral("connection lost (%1): kept %2 of %3 bytes of %4 for a resume")
                                 .arg(why.isEmpty() ? QStringLiteral("closed") : why)
                                 .arg(m_received)
                                 .arg(m_size)
                                 .arg(m_path));
    }

    void fail(const QString &reason)
    {
        emit m_receiver->log(QStringLiteral("%1: %2").arg(peerText(m_socket), reason));
        if (m_part.isOpen())
            keepPartial(reason);
        m_socket->writeMessage(encode(Type::Error, reason));
        m_aborted = true;
        m_socket->disconnectFromHost(); // graceful, so the sender gets the ERROR message before the close
    }

    QKcpSocket *m_socket;
    FileReceiver *m_receiver;
    bool m_aborted = false;
    QString m_path;   // relative, as offered
    QString m_target; // absolute
    QFile m_part;
    qint64 m_size = 0;
    qint64 m_modified = 0;
    qint64 m_received = 0; // bytes of the current file on disk
    qint64 m_total = 0;    // whole transfer, from HELLO
    qint64 m_doneBefore = 0;
    int m_files = 0; // verified on this connection
    qint64 m_bytes = 0;
};

FileReceiver::FileReceiver(const QString &directory, const QKcpConfig &config, QObject *parent)
    : QObject(parent)
    , m_directory(directory)
    , m_server(new QKcpServer(config, this))
{
    connect(m_server, &QKcpServer::newConnection, this, [this] {
        while (QKcpSocket *socket = m_server->nextPendingConnection()) {
            emit log(QStringLiteral("%1 connected").arg(peerText(socket)));
            new Incoming(socket, this);
            connect(socket, &QKcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
}

FileReceiver::~FileReceiver()
{
    // Sessions (and their Incoming children) go before m_writers does.
    delete m_server;
}

bool FileReceiver::listen(const QHostAddress &address, quint16 port)
{
    if (!m_directory.exists() && !QDir().mkpath(m_directory.absolutePath()))
        return false;
    return m_server->listen(address, port);
}

quint16 FileReceiver::port() const
{
    return m_server->serverPort();
}

QString FileReceiver::errorString() const
{
    if (!m_directory.exists())
        return QStringLiteral("%1: cannot create the folder").arg(m_directory.absolutePath());
    return m_server->errorString();
}

void FileReceiver::claim(const QString &path, Incoming *incoming)
{
    QPointer<Incoming> previous = m_writers.value(path);
    m_writers.insert(path, incoming);
    if (previous && previous != incoming)
        previous->takeOver();
}

void FileReceiver::release(const QString &path, Incoming *incoming)
{
    const auto it = m_writers.constFind(path);
    if (it != m_writers.constEnd() && it.value() == incoming)
        m_writers.erase(it);
}
