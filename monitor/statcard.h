// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
//
// The Overview's cards: a title, a big number, a hint line and a sparkline of the last minute.
#ifndef KCPMON_STATCARD_H
#define KCPMON_STATCARD_H

#include <QtGui/qcolor.h>
#include <QtWidgets/qframe.h>

#include <vector>

class QLabel;

namespace kcpmon {

class Sparkline : public QWidget
{
    Q_OBJECT
public:
    explicit Sparkline(QWidget *parent = nullptr);
    void setValues(std::vector<double> values);
    const std::vector<double> &values() const { return m_values; }
    void setColor(const QColor &c);
    QSize sizeHint() const override { return QSize(160, 34); }
    QSize minimumSizeHint() const override { return QSize(60, 24); }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    std::vector<double> m_values;
    QColor m_color;
};

class StatCard : public QFrame
{
    Q_OBJECT
public:
    explicit StatCard(QWidget *parent = nullptr);
    void setTitle(const QString &title);
    void setValue(const QString &value);
    void setHint(const QString &hint);
    void setColor(const QColor &color);
    void setSeries(std::vector<double> values);
    QString value() const;
    Sparkline *sparkline() const { return m_spark; }

protected:
    void changeEvent(QEvent *event) override;
    void paintEvent(QPaintEvent *event) override;

private:
    void restyle();
    QLabel *m_title;
    QLabel *m_value;
    QLabel *m_hint;
    Sparkline *m_spark;
    QColor m_color;
    bool m_restyling = false;
};

} // namespace kcpmon

#endif // KCPMON_STATCARD_H
