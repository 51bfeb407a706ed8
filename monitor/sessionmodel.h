// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// SessionModel: one row per session the Recorder knows (every endpoint), updated in place on each snapshot.
// SessionFilterModel: sorting on raw values, a text filter and an "unhealthy only" switch.
#ifndef KCPMON_SESSIONMODEL_H
#define KCPMON_SESSIONMODEL_H

#include "recorder.h"
#include "theme.h"

#include <QtCore/qabstractitemmodel.h>
#include <QtCore/qsortfilterproxymodel.h>

#include <vector>

namespace kcpmon {

// Why a session looks unhealthy (empty list: it looks fine).
struct Assessment {
    Health health = Health::Good;
    QStringList reasons;
};
Assessment assess(const SessionInfo &info, const Rates &rates);

class SessionModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        SourceColumn,
        PeerColumn,
        StateColumn,
        AgeColumn,
        RttColumn,
        RtoColumn,
        CwndColumn,
        InFlightColumn,
        OutColumn,
        InColumn,
        RetransmitColumn,
        DropsColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1, // raw value for sorting
        KeyRole,                     // the Recorder key (quint64)
        HealthRole,                  // int(Health)
        FilterRole,                  // text the filter matches
        EncryptedRole,               // bool: pre-shared key or DTLS (the padlock in the peer column)
    };

    explicit SessionModel(Recorder *recorder, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    quint64 keyAt(int row) const { return row >= 0 && row < int(m_keys.size()) ? m_keys[std::size_t(row)] : 0; }
    int rowOf(quint64 key) const;
    // Headers follow the language.
    void retranslate();
    // "Encrypted (pre-shared key or DTLS)" or "Not encrypted".
    static QString encryptionText(bool encrypted);
    // The reasons datagrams were dropped for, those with a count only ("checksum 2, replayed 1"; empty: none).
    static QString dropReasons(const Counters &counters);

private:
    void onUpdated(int endpoint, const QList<quint64> &added, const QList<quint64> &removed);
    void onCleared();
    QString stateText(const QString &state) const;

    Recorder *m_recorder;
    std::vector<quint64> m_keys;
};

class SessionFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit SessionFilterModel(QObject *parent = nullptr);
    void setUnhealthyOnly(bool on);
    bool unhealthyOnly() const { return m_unhealthyOnly; }
    void setText(const QString &text);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    bool m_unhealthyOnly = false;
    QString m_text;
};

} // namespace kcpmon

#endif // KCPMON_SESSIONMODEL_H
