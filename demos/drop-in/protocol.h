// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// A request/response protocol written once against QIODevice*. Nothing in this file knows whether the device is
// a QTcpSocket or a QKcpSocket: it uses readyRead(), bytesAvailable(), read() and write(), and that is all.
//
// Frames are a 4-byte big-endian length and a payload. RoundTripper sends a request, waits for its response,
// checks it, and repeats, recording each round-trip time. Responder answers every request with the same bytes.
#ifndef DROPIN_PROTOCOL_H
#define DROPIN_PROTOCOL_H

#include <QElapsedTimer>
#include <QIODevice>
#include <QObject>

#include <vector>

// Reads length-prefixed frames from a device, however the bytes happen to arrive.
class FrameReader
{
public:
    static constexpr qint64 kMaxFrame = 1 << 20;

    // The next complete frame, if there is one. Returns false when more bytes are needed (or on a bad length:
    // then error() is set).
    bool next(QIODevice *device, QByteArray *payload);
    bool error() const { return m_error; }

private:
    qint64 m_length = -1; // -1: reading the header
    bool m_error = false;
};

QByteArray frame(const QByteArray &payload);

class Responder : public QObject
{
public:
    // Answers requests on `device` for as long as it lives (make it a child of the device).
    explicit Responder(QIODevice *device);

private:
    QIODevice *m_device;
    FrameReader m_reader;
};

class RoundTripper : public QObject
{
    Q_OBJECT

public:
    RoundTripper(QIODevice *device, int count, int payloadSize, QObject *parent = nullptr);

    void start();
    // Round-trip times in ms, in the order they were measured.
    const std::vector<double> &samples() const { return m_samples; }

Q_SIGNALS:
    void finished();
    void failed(const QString &reason);

private:
    void sendRequest();
    void onReadyRead();

    QIODevice *m_device;
    FrameReader m_reader;
    int m_count;
    int m_payloadSize;
    quint32 m_sequence = 0;
    QByteArray m_expected;
    QElapsedTimer m_clock;
    std::vector<double> m_samples;
    bool m_done = false;
};

// Percentile (0..1) of a set of samples, nearest rank.
double percentile(std::vector<double> samples, double p);

#endif // DROPIN_PROTOCOL_H
