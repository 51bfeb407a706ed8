// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "protocol.h"

#include <QtEndian>

#include <algorithm>
#include <cmath>

bool FrameReader::next(QIODevice *device, QByteArray *payload)
{
    if (m_error)
        return false;
    if (m_length < 0) {
        if (device->bytesAvailable() < 4)
            return false;
        char header[4];
        if (device->read(header, 4) != 4) {
            m_error = true;
            return false;
        }
        m_length = qFromBigEndian<quint32>(header);
        if (m_length > kMaxFrame) {
            m_error = true;
            return false;
        }
    }
    if (device->bytesAvailable() < m_length)
        return false;
    *payload = device->read(m_length);
    m_length = -1;
    return true;
}

QByteArray frame(const QByteArray &payload)
{
    QByteArray bytes(4, Qt::Uninitialized);
    qToBigEndian<quint32>(static_cast<quint32>(payload.size()), bytes.data());
    return bytes + payload;
}

Responder::Responder(QIODevice *device)
    : QObject(device)
    , m_device(device)
{
    connect(device, &QIODevice::readyRead, this, [this] {
        QByteArray request;
        while (m_reader.next(m_device, &request))
            m_device->write(frame(request));
        if (m_reader.error())
            m_device->close();
    });
}

RoundTripper::RoundTripper(QIODevice *device, int count, int payloadSize, QObject *parent)
    : QObject(parent)
    , m_device(device)
    , m_count(count)
    , m_payloadSize(std::max(payloadSize, 4))
{
    m_samples.reserve(static_cast<std::size_t>(count));
    connect(device, &QIODevice::readyRead, this, &RoundTripper::onReadyRead);
}

void RoundTripper::start()
{
    sendRequest();
}

void RoundTripper::sendRequest()
{
    // A sequence number and a recognisable filler, so a wrong or shifted response cannot pass for a right one.
    m_expected = QByteArray(m_payloadSize, Qt::Uninitialized);
    qToBigEndian<quint32>(++m_sequence, m_expected.data());
    for (int i = 4; i < m_payloadSize; ++i)
        m_expected[i] = static_cast<char>('a' + (m_sequence + static_cast<quint32>(i)) % 26);
    m_clock.start();
    m_device->write(frame(m_expected));
}

void RoundTripper::onReadyRead()
{
    QByteArray response;
    while (!m_done && m_reader.next(m_device, &response)) {
        m_samples.push_back(static_cast<double>(m_clock.nsecsElapsed()) / 1e6);
        if (response != m_expected) {
            m_done = true;
            emit failed(QStringLiteral("response %1 does not match its request").arg(m_sequence));
            return;
        }
        if (static_cast<int>(m_samples.size()) >= m_count) {
            m_done = true;
            emit finished();
            return;
        }
        sendRequest();
    }
    if (m_reader.error() && !m_done) {
        m_done = true;
        emit failed(QStringLiteral("malformed frame"));
    }
}

double percentile(std::vector<double> samples, double p)
{
    if (samples.empty())
        return 0.0;
    std::sort(samples.begin(), samples.end());
    const double rank = std::ceil(p * static_cast<double>(samples.size()));
    const std::size_t index = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(samples.size()))) - 1;
    return samples[index];
}
