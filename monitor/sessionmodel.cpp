// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "sessionmodel.h"

#include "format.h"

#include <QtGui/qbrush.h>
#include <QtGui/qguiapplication.h>
#include <QtGui/qpalette.h>

#include <algorithm>

namespace kcpmon {

Assessment assess(const SessionInfo &s, const Rates &r)
{
    Assessment a;
    auto raise = [&a](Health h, const QString &why) {
        if (int(h) > int(a.health))
            a.health = h;
        a.reasons.append(why);
    };
    if (s.state == QLatin1String("unconnected") || s.state == QLatin1String("closing")) {
        a.health = Health::Inactive;
        a.reasons.append(SessionModel::tr("The session is closing or closed."));
        return a;
    }
    if (s.state == QLatin1String("connecting"))
        raise(Health::Warning, SessionModel::tr("Still connecting."));
    if (r.retransmitPct >= 15)
        raise(Health::Bad, SessionModel::tr("%1 of the segments sent were retransmissions.").arg(Format::percent(r.retransmitPct)));
    else if (r.retransmitPct >= 3)
        raise(Health::Warning, SessionModel::tr("%1 of the segments sent were retransmissions.").arg(Format::percent(r.retransmitPct)));
    if (s.rto >= 1000)
        raise(Health::Bad, SessionModel::tr("The retransmission timeout is %1.").arg(Format::milliseconds(s.rto)));
    else if (s.rto >= 400)
        raise(Health::Warning, SessionModel::tr("The retransmission timeout is %1.").arg(Format::milliseconds(s.rto)));
    if (s.lastReceiveMs >= 5000)
        raise(Health::Bad, SessionModel::tr("Nothing received from the peer for %1.").arg(Format::duration(s.lastReceiveMs)));
    else if (s.lastReceiveMs >= 2000)
        raise(Health::Warning, SessionModel::tr("Nothing received from the peer for %1.").arg(Format::duration(s.lastReceiveMs)));
    // Failed authentication and replays are told apart from the other drops: on an encrypted link they mean
    // forged, tampered or repeated datagrams (someone injecting traffic), not a flaky network.
    if (r.securityDrops > 0)
        raise(Health::Warning, SessionModel::tr("Datagrams fail authentication or are replayed (%1): forged, tampered or repeated traffic.")
                                   .arg(Format::perSecond(r.securityDrops)));
    const double otherDrops = r.drops - r.securityDrops;
    if (otherDrops > 1e-9)
        raise(Health::Warning, SessionModel::tr("Datagrams are being dropped (%1).").arg(Format::perSecond(otherDrops)));
    if (s.sendQueue >= 4096)
        raise(Health::Warning, SessionModel::tr("%1 segments wait for the send window.").arg(Format::count(s.sendQueue)));
    return a;
}

SessionModel::SessionModel(Recorder *recorder, QObject *parent) : QAbstractTableModel(parent), m_recorder(recorder)
{
    connect(recorder, &Recorder::updated, this, &SessionModel::onUpdated);
    connect(recorder, &Recorder::cleared, this, &SessionModel::onCleared);
    const QList<quint64> keys = recorder->keys();
    m_keys.assign(keys.cbegin(), keys.cend());
}

int SessionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_keys.size());
}

int SessionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

int SessionModel::rowOf(quint64 key) const
{
    auto it = std::find(m_keys.begin(), m_keys.end(), key);
    return it == m_keys.end() ? -1 : int(it - m_keys.begin());
}

void SessionModel::onUpdated(int, const QList<quint64> &added, const QList<quint64> &removed)
{
    for (quint64 key : removed) {
        const int row = rowOf(key);
        if (row < 0)
            continue;
        beginRemoveRows(QModelIndex(), row, row);
        m_keys.erase(m_keys.begin() + row);
        endRemoveRows();
    }
    if (!added.isEmpty()) {
        const int first = int(m_keys.size());
        beginInsertRows(QModelIndex(), first, first + int(added.size()) - 1);
        m_keys.insert(m_keys.end(), added.cbegin(), added.cend());
        endInsertRows();
    }
    if (!m_keys.empty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_keys.size()) - 1, ColumnCount - 1));
}

void SessionModel::onCleared()
{
    beginResetModel();
    m_keys.clear();
    endResetModel();
}

void SessionModel::retranslate()
{
    Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (!m_keys.empty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_keys.size()) - 1, ColumnCount - 1));
}

QString SessionModel::encryptionText(bool encrypted)
{
    return encrypted ? tr("Encrypted (pre-shared key or DTLS)") : tr("Not encrypted");
}

QString SessionModel::dropReasons(const Counters &c)
{
    QStringList parts;
    auto add = [&parts](quint64 n, const QString &text) {
        if (n > 0)
            parts << text.arg(Format::count(double(n)));
    };
    add(c.dropsChecksum, tr("checksum %1"));
    add(c.dropsWrongConversation, tr("wrong conversation %1"));
    add(c.dropsMalformed, tr("malformed %1"));
    add(c.dropsUnexpected, tr("unexpected %1"));
    add(c.dropsUnauthentic, tr("failed authentication %1"));
    add(c.dropsReplayed, tr("replayed %1"));
    return parts.join(tr(", "));
}

QString SessionModel::stateText(const QString &state) const
{
    if (state == QLatin1String("connected"))
        return tr("Connected");
    if (state == QLatin1String("connecting"))
        return tr("Connecting");
    if (state == QLatin1String("closing"))
        return tr("Closing");
    if (state == QLatin1String("unconnected"))
        return tr("Closed");
    return state;
}

QVariant SessionModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_keys.size()))
        return QVariant();
    const quint64 key = m_keys[std::size_t(index.row())];
    const Track *t = m_recorder->track(key);
    if (!t)
        return QVariant();
    const SessionInfo &s = t->info;
    const Rates &r = t->rates;
    if (role == KeyRole)
        return QVariant::fromValue(key);
    if (role == EncryptedRole)
        return s.encrypted;
    if (role == Qt::DecorationRole && index.column() == PeerColumn)
        return theme::padlock(s.encrypted);
    if (role == HealthRole || role == Qt::BackgroundRole || role == Qt::ForegroundRole || role == Qt::ToolTipRole
        || (role == Qt::DecorationRole && index.column() == StateColumn)) {
        const Assessment a = assess(s, r);
        switch (role) {
        case HealthRole:
            return int(a.health);
        case Qt::BackgroundRole: {
            const QColor c = theme::healthTint(a.health, QGuiApplication::palette());
            return c.isValid() ? QVariant(QBrush(c)) : QVariant();
        }
        case Qt::ForegroundRole:
            return a.health == Health::Inactive ? QVariant(QBrush(theme::muted(QGuiApplication::palette()))) : QVariant();
        case Qt::DecorationRole:
            return theme::dot(theme::health(a.health));
        case Qt::ToolTipRole: {
            QString tip = tr("<b>%1</b> (%2, conversation %3)<br>local %4")
                              .arg(s.peer.toHtmlEscaped(), s.role == QLatin1String("server") ? tr("server side") : tr("client side"))
                              .arg(s.conversation)
                              .arg(s.local.toHtmlEscaped());
            tip += QStringLiteral("<br>") + encryptionText(s.encrypted).toHtmlEscaped();
            tip += tr("<br>srtt %1 ± %2, RTO %3, cwnd %4, ssthresh %5")
                       .arg(Format::milliseconds(s.srtt), Format::milliseconds(s.rttvar), Format::milliseconds(s.rto))
                       .arg(s.cwnd)
                       .arg(s.ssthresh);
            tip += tr("<br>sent %1, received %2, retransmitted %3 (timeout %4, fast %5)")
                       .arg(Format::bytes(double(s.counters.bytesSent)), Format::bytes(double(s.counters.bytesReceived)))
                       .arg(s.counters.retransmits())
                       .arg(s.counters.retransmitsTimeout)
                       .arg(s.counters.retransmitsFast);
            if (s.counters.drops() > 0)
                tip += tr("<br>dropped %1 (%2)").arg(Format::count(double(s.counters.drops())), dropReasons(s.counters).toHtmlEscaped());
            for (const QString &why : a.reasons)
                tip += QStringLiteral("<br>• ") + why.toHtmlEscaped();
            return tip;
        }
        default:
            break;
        }
    }
    if (role == Qt::TextAlignmentRole) {
        if (index.column() >= AgeColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    }
    if (role == FilterRole) {
        QStringList words{s.source, s.peer, s.local, stateText(s.state), s.role, QString::number(s.conversation)};
        if (s.encrypted) // only then: "encrypted" must not find the sessions that are "not encrypted"
            words << tr("encrypted");
        return words.join(QLatin1Char(' '));
    }
    const bool sort = role == SortRole;
    if (role != Qt::DisplayRole && !sort)
        return QVariant();
    switch (index.column()) {
    case SourceColumn: {
        const QString ep = m_recorder->endpoints().size() > 1 ? m_recorder->endpointName(t->endpoint) + QLatin1Char('/') : QString();
        return ep + s.source;
    }
    case PeerColumn:
        return s.peer;
    case StateColumn:
        return sort ? QVariant(s.state) : QVariant(stateText(s.state));
    case AgeColumn:
        return sort ? QVariant(s.ageMs) : QVariant(Format::duration(s.ageMs));
    case RttColumn:
        return sort ? QVariant(s.srtt) : QVariant(tr("%1 ± %2").arg(s.srtt).arg(s.rttvar));
    case RtoColumn:
        return sort ? QVariant(s.rto) : QVariant(Format::milliseconds(s.rto));
    case CwndColumn:
        return sort ? QVariant(s.cwnd) : QVariant(Format::count(s.cwnd));
    case InFlightColumn:
        return sort ? QVariant(s.inFlight) : QVariant(Format::count(s.inFlight));
    case OutColumn:
        return sort ? QVariant(r.out) : QVariant(Format::rate(r.out));
    case InColumn:
        return sort ? QVariant(r.in) : QVariant(Format::rate(r.in));
    case RetransmitColumn:
        return sort ? QVariant(r.retransmitPct) : QVariant(Format::percent(r.retransmitPct));
    case DropsColumn:
        return sort ? QVariant(qulonglong(s.counters.drops())) : QVariant(Format::count(double(s.counters.drops())));
    default:
        return QVariant();
    }
}

QVariant SessionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QVariant();
    if (role == Qt::TextAlignmentRole)
        return QVariant(section >= AgeColumn ? Qt::AlignRight | Qt::AlignVCenter : Qt::AlignLeft | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case RttColumn: return tr("Smoothed round-trip time ± its variation (ms)");
        case RtoColumn: return tr("Retransmission timeout: how long an unacknowledged segment waits before it is sent again");
        case CwndColumn: return tr("Effective send window (segments)");
        case InFlightColumn: return tr("Segments sent and not yet acknowledged");
        case OutColumn: return tr("Payload sent per second");
        case InColumn: return tr("Payload received per second");
        case RetransmitColumn: return tr("Share of the segments sent in the last second that were retransmissions");
        case PeerColumn: return tr("The peer's address; a closed padlock: the session is encrypted (pre-shared key or DTLS)");
        case DropsColumn: return tr("Datagrams dropped (checksum, wrong conversation, malformed, unexpected, failed authentication, replayed)");
        default: return QVariant();
        }
    }
    if (role != Qt::DisplayRole)
        return QVariant();
    switch (section) {
    case SourceColumn: return tr("Source");
    case PeerColumn: return tr("Peer");
    case StateColumn: return tr("State");
    case AgeColumn: return tr("Age");
    case RttColumn: return tr("RTT (ms)");
    case RtoColumn: return tr("RTO");
    case CwndColumn: return tr("Window");
    case InFlightColumn: return tr("In flight");
    case OutColumn: return tr("Out");
    case InColumn: return tr("In");
    case RetransmitColumn: return tr("Retx");
    case DropsColumn: return tr("Drops");
    default: return QVariant();
    }
}

SessionFilterModel::SessionFilterModel(QObject *parent) : QSortFilterProxyModel(parent)
{
    setSortRole(SessionModel::SortRole);
    setDynamicSortFilter(true);
}

void SessionFilterModel::setUnhealthyOnly(bool on)
{
    if (m_unhealthyOnly == on)
        return;
    m_unhealthyOnly = on;
    invalidateFilter();
}

void SessionFilterModel::setText(const QString &text)
{
    if (m_text == text)
        return;
    m_text = text;
    invalidateFilter();
}

bool SessionFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex idx = sourceModel()->index(sourceRow, 0, sourceParent);
    if (m_unhealthyOnly) {
        const auto h = Health(idx.data(SessionModel::HealthRole).toInt());
        if (h == Health::Good)
            return false;
    }
    if (m_text.isEmpty())
        return true;
    const QString hay = idx.data(SessionModel::FilterRole).toString();
    const QStringList words = m_text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    return std::all_of(words.cbegin(), words.cend(),
                       [&hay](const QString &w) { return hay.contains(w, Qt::CaseInsensitive); });
}

} // namespace kcpmon
