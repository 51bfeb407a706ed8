// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The file-transfer protocol, shared by the console program (main.cpp) and the Widgets one (gui.cpp).
//
// The connection runs in message mode: every message is one readMessage() at the other end, so there is no
// framing code at all. The first byte of a message says what it is:
//
//   sender                                   receiver
//   HELLO  files, total bytes, bytes done  ->
//   OFFER  path, size, modification time   ->            "here is a file; where shall I start?"
//                                          <- RESUME offset   (the size of a kept partial file, or 0)
//   DATA   raw bytes ...                   ->            appended to <path>.kcpart
//   END    SHA-256 of the whole file       ->            the receiver hashes what it has on disk
//                                          <- VERIFIED ok, text   (then <path>.kcpart becomes <path>)
//   ... OFFER / RESUME / DATA / END / VERIFIED for the next file ...
//   DONE                                   ->            then the sender disconnects gracefully
//
// When the connection breaks, the receiver keeps <path>.kcpart (and <path>.kcpart.info, which remembers the size and
// modification time it belongs to). The sender reconnects and offers the same file again; the RESUME answer tells it
// where to go on. The end-to-end SHA-256 check catches anything that went wrong on the way or on disk.
#ifndef FILETRANSFER_TRANSFER_H
#define FILETRANSFER_TRANSFER_H

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QHostAddress>
#include <QKcpConfig>
#include <QList>
#include <QObject>
#include <QPointer>

#include <deque>
#include <utility>

class QKcpServer;
class QKcpSocket;

// The configuration both ends use: message mode, a preset, and how fast a dead peer is noticed.
QKcpConfig transferConfig(QKcpConfig::Preset preset, int peerTimeoutMs);

// SHA-256 of the first `length` bytes of a file (all of it when length < 0); empty on a read error.
// It blocks while it reads: fine for a demo, a real application would hash gigabytes in a worker thread.
QByteArray sha256OfFile(const QString &path, qint64 length = -1, QString *error = nullptr);

// Bytes per second over the last few seconds, for progress displays.
class RateMeter
{
public:
    void start(qint64 bytes);
    void sample(qint64 bytes);
    double bytesPerSecond() const;
    // Seconds left for `remaining` bytes at the current rate, -1 if unknown.
    qint64 secondsLeft(qint64 remaining) const;

private:
    QElapsedTimer m_clock;
    std::deque<std::pair<qint64, qint64>> m_samples; // (ms, bytes)
};

// "12.3 MB", "4.5 MB/s", "1:05" for the displays.
QString formatBytes(double bytes);
QString formatDuration(qint64 seconds);

// Sends a file or a folder to a FileReceiver and reconnects (resuming) when the connection breaks.
class FileSender : public QObject
{
    Q_OBJECT

public:
    explicit FileSender(const QKcpConfig &config, QObject *parent = nullptr);
    ~FileSender() override;

    // What to send: a file, or a folder (every file below it, sent as "folder/relative/path").
    bool setSource(const QString &path, QString *error);
    int fileCount() const { return static_cast<int>(m_files.size()); }
    qint64 totalBytes() const { return m_totalBytes; }

    // Reconnection policy: at most `retries` reconnects, `delayMs` apart.
    void setRetries(int retries, int delayMs);

    void start(const QString &host, quint16 port);
    void cancel();

Q_SIGNALS:
    void progress(qint64 done, qint64 total);
    void fileStarted(const QString &name, qint64 size, qint64 offset); // offset > 0: resumed
    void fileVerified(const QString &name, qint64 size, const QString &sha256Hex);
    void log(const QString &text);
    void finished(bool ok, const QString &summary);

private:
    struct Entry {
        QString absolutePath;
        QString relativePath; // as the receiver will store it
        qint64 size = 0;
        qint64 modified = 0; // ms since the epoch
    };
    enum class State {
        Idle,
        Connecting,
        WaitingForResume,
        Sending,
        WaitingForVerdict,
        Closing,
        Finished
    };

    void connectNow();
    void onConnected();
    void onMessages();
    void handle(const QByteArray &message);
    void offerCurrentFile();
    void startSending(qint64 offset);
    void pump();
    void reportProgress();
    void connectionLost(const QString &reason);
    void finish(bool ok, const QString &summary);

    QKcpConfig m_config;
    QString m_host;
    quint16 m_port = 0;
    QList<Entry> m_files;
    qint64 m_totalBytes = 0;
    int m_current = 0;         // index into m_files
    qint64 m_doneBytes = 0;    // bytes of verified files
    qint64 m_offset = 0;       // where the current file (re)started
    qint64 m_queuedInFile = 0; // file position read and handed to the socket
    int m_fileAttempts = 0;    // hash mismatches of the current file
    int m_reconnects = 0;
    int m_maxReconnects = 10;
    int m_retryDelay = 1000;
    State m_state = State::Idle;
    QPointer<QKcpSocket> m_socket;
    QFile m_file;
    QCryptographicHash m_hash{QCryptographicHash::Sha256};
};

// Accepts senders on one UDP port and stores what they send below a directory.
class FileReceiver : public QObject
{
    Q_OBJECT

public:
    FileReceiver(const QString &directory, const QKcpConfig &config, QObject *parent = nullptr);
    ~FileReceiver() override;

    bool listen(const QHostAddress &address, quint16 port);
    quint16 port() const;
    QString errorString() const;
    QString directory() const { return m_directory.absolutePath(); }

Q_SIGNALS:
    void progress(qint64 done, qint64 total);
    void fileStarted(const QString &name, qint64 size, qint64 offset);
    void fileVerified(const QString &name, qint64 size, const QString &sha256Hex);
    void fileFailed(const QString &name, const QString &reason);
    void log(const QString &text);
    void transferFinished(int files, qint64 bytes); // a sender said DONE

private:
    class Incoming;
    friend class Incoming;

    // A new offer for a path another connection is still writing takes it over (the old one is dead, it just
    // has not timed out yet): this is what lets a reconnecting sender resume at once.
    void claim(const QString &path, Incoming *incoming);
    void release(const QString &path, Incoming *incoming);

    QDir m_directory;
    QKcpServer *m_server = nullptr;
    QHash<QString, QPointer<Incoming>> m_writers;
};

#endif // FILETRANSFER_TRANSFER_H
