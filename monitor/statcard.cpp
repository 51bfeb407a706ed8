// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "statcard.h"

#include "theme.h"

#include <QtCore/qcoreevent.h>
#include <QtGui/qpainter.h>
#include <QtGui/qpainterpath.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qlabel.h>

#include <algorithm>

namespace kcpmon {

Sparkline::Sparkline(QWidget *parent) : QWidget(parent), m_color(theme::series(0))
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setFixedHeight(34);
}

void Sparkline::setValues(std::vector<double> values)
{
    m_values = std::move(values);
    update();
}

void Sparkline::setColor(const QColor &c)
{
    m_color = c;
    update();
}

void Sparkline::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF r = QRectF(rect()).adjusted(1, 3, -1, -2);
    QColor baseline = theme::muted(palette());
    baseline.setAlphaF(0.35f);
    p.setPen(QPen(baseline, 1, Qt::DotLine));
    p.drawLine(r.bottomLeft(), r.bottomRight());
    if (m_values.size() < 2)
        return;
    const auto [mn, mx] = std::minmax_element(m_values.begin(), m_values.end());
    const double lo = std::min(0.0, *mn);
    const double hi = std::max(*mx, lo + 1e-9);
    const double n = double(m_values.size() - 1);
    QPainterPath line;
    for (std::size_t i = 0; i < m_values.size(); ++i) {
        const QPointF pt(r.left() + r.width() * double(i) / n, r.bottom() - r.height() * (m_values[i] - lo) / (hi - lo));
        if (i == 0)
            line.moveTo(pt);
        else
            line.lineTo(pt);
    }
    QPainterPath area = line;
    area.lineTo(r.bottomRight());
    area.lineTo(r.bottomLeft());
    area.closeSubpath();
    QLinearGradient g(r.topLeft(), r.bottomLeft());
    QColor top = m_color;
    top.setAlphaF(0.35f);
    QColor bottom = m_color;
    bottom.setAlphaF(0.02f);
    g.setColorAt(0, top);
    g.setColorAt(1, bottom);
    p.fillPath(area, g);
    p.setPen(QPen(m_color, 1.6));
    p.drawPath(line);
    const QPointF last = line.currentPosition();
    p.setBrush(m_color);
    p.setPen(Qt::NoPen);
    p.drawEllipse(last, 2.5, 2.5);
}

StatCard::StatCard(QWidget *parent)
    : QFrame(parent)
    , m_title(new QLabel(this))
    , m_value(new QLabel(this))
    , m_hint(new QLabel(this))
    , m_spark(new Sparkline(this))
{
    setObjectName(QStringLiteral("StatCard"));
    setFrameShape(QFrame::NoFrame);
    auto *l = new QVBoxLayout(this);
    l->setContentsMargins(12, 8, 12, 6);
    l->setSpacing(1);
    l->addWidget(m_title);
    l->addWidget(m_value);
    l->addWidget(m_hint);
    l->addWidget(m_spark);
    m_value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    restyle();
}

void StatCard::restyle()
{
    QFont tf = font();
    tf.setPointSizeF(font().pointSizeF() * 0.85);
    tf.setBold(true);
    tf.setCapitalization(QFont::AllUppercase);
    tf.setLetterSpacing(QFont::PercentageSpacing, 104);
    m_title->setFont(tf);
    QFont vf = font();
    vf.setPointSizeF(font().pointSizeF() * 1.75);
    vf.setBold(true);
    m_value->setFont(vf);
    QFont hf = font();
    hf.setPointSizeF(font().pointSizeF() * 0.85);
    m_hint->setFont(hf);
    QPalette mp = palette();
    mp.setColor(QPalette::WindowText, theme::muted(palette()));
    m_title->setPalette(mp);
    m_hint->setPalette(mp);
    update();
}

void StatCard::paintEvent(QPaintEvent *)
{
    // A rounded card in the palette's base colour (no style sheet: it would pin the colours of one palette).
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    QColor border = palette().color(QPalette::WindowText);
    border.setAlphaF(theme::isDark(palette()) ? 0.16f : 0.14f);
    p.setPen(QPen(border, 1));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5), 8, 8);
    // An accent strip on the left in the card's colour.
    if (m_color.isValid()) {
        p.setPen(Qt::NoPen);
        p.setBrush(m_color);
        p.drawRoundedRect(QRectF(0.5, 10, 3, height() - 20), 1.5, 1.5);
    }
}

void StatCard::changeEvent(QEvent *event)
{
    QFrame::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange) {
        if (!m_restyling) {
            m_restyling = true;
            restyle();
            m_restyling = false;
        }
    }
}

void StatCard::setTitle(const QString &title)
{
    m_title->setText(title);
}

void StatCard::setValue(const QString &value)
{
    m_value->setText(value);
}

QString StatCard::value() const
{
    return m_value->text();
}

void StatCard::setHint(const QString &hint)
{
    m_hint->setText(hint);
}

void StatCard::setColor(const QColor &color)
{
    m_color = color;
    m_spark->setColor(color);
    update();
}

void StatCard::setSeries(std::vector<double> values)
{
    m_spark->setValues(std::move(values));
}

} // namespace kcpmon
