// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE); the built monitor links Qt Charts (GPLv3).
#include "theme.h"

#include <QtCore/qfile.h>
#include <QtCore/qhash.h>
#include <QtGui/qguiapplication.h>
#include <QtGui/qpainter.h>
#include <QtGui/qpainterpath.h>
#include <QtGui/qpixmap.h>
#include <QtSvg/qsvgrenderer.h>

namespace kcpmon::theme {

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightness() < 128;
}

bool isDark()
{
    return isDark(QGuiApplication::palette());
}

QColor series(int index)
{
    static const QColor light[] = {QColor(0x25, 0x63, 0xeb), QColor(0xea, 0x58, 0x0c), QColor(0x16, 0xa3, 0x4a),
                                   QColor(0xdc, 0x26, 0x26), QColor(0x93, 0x33, 0xea), QColor(0x08, 0x91, 0xb2)};
    static const QColor dark[] = {QColor(0x60, 0xa5, 0xfa), QColor(0xfb, 0x92, 0x3c), QColor(0x4a, 0xde, 0x80),
                                  QColor(0xf8, 0x71, 0x71), QColor(0xc0, 0x84, 0xfc), QColor(0x22, 0xd3, 0xee)};
    const int i = ((index % 6) + 6) % 6;
    return isDark() ? dark[i] : light[i];
}

QColor health(Health h)
{
    switch (h) {
    case Health::Good:
        return isDark() ? QColor(0x4a, 0xde, 0x80) : QColor(0x16, 0xa3, 0x4a);
    case Health::Warning:
        return isDark() ? QColor(0xfb, 0xbf, 0x24) : QColor(0xd9, 0x77, 0x06);
    case Health::Bad:
        return isDark() ? QColor(0xf8, 0x71, 0x71) : QColor(0xdc, 0x26, 0x26);
    case Health::Inactive:
        return QColor(0x94, 0xa3, 0xb8);
    }
    return QColor();
}

QColor healthTint(Health h, const QPalette &palette)
{
    if (h == Health::Good || h == Health::Inactive)
        return QColor();
    const QColor base = palette.color(QPalette::Base);
    const QColor c = health(h);
    const double a = isDark(palette) ? 0.22 : 0.14;
    return QColor::fromRgbF(float(base.redF() * (1 - a) + c.redF() * a), float(base.greenF() * (1 - a) + c.greenF() * a),
                            float(base.blueF() * (1 - a) + c.blueF() * a));
}

QColor muted(const QPalette &palette)
{
    const QColor t = palette.color(QPalette::WindowText);
    const QColor w = palette.color(QPalette::Window);
    return QColor((t.red() * 6 + w.red() * 4) / 10, (t.green() * 6 + w.green() * 4) / 10,
                  (t.blue() * 6 + w.blue() * 4) / 10);
}

namespace {
QPixmap renderSvg(const QByteArray &svg, int size, qreal dpr)
{
    QSvgRenderer renderer(svg);
    QPixmap pm(int(size * dpr), int(size * dpr));
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    renderer.render(&p);
    p.end();
    pm.setDevicePixelRatio(dpr);
    return pm;
}
} // namespace

QIcon icon(const QString &name)
{
    QFile f(QStringLiteral(":/icons/%1.svg").arg(name));
    if (!f.open(QIODevice::ReadOnly))
        return QIcon();
    const QByteArray svg = f.readAll();
    const QPalette pal = QGuiApplication::palette();
    const QByteArray fg = pal.color(QPalette::ButtonText).name().toLatin1();
    const QByteArray disabled = pal.color(QPalette::Disabled, QPalette::ButtonText).name().toLatin1();
    const QByteArray accent = series(0).name().toLatin1();
    QIcon out;
    for (int size : {16, 20, 24, 32, 48}) {
        QByteArray normal = svg;
        normal.replace("#1f2937", fg).replace("#2563eb", accent);
        QByteArray grey = svg;
        grey.replace("#1f2937", disabled).replace("#2563eb", disabled);
        out.addPixmap(renderSvg(normal, size, 2.0), QIcon::Normal);
        out.addPixmap(renderSvg(grey, size, 2.0), QIcon::Disabled);
    }
    return out;
}

QIcon appIcon()
{
    QFile f(QStringLiteral(":/icons/kcpnet-monitor.svg"));
    if (!f.open(QIODevice::ReadOnly))
        return QIcon();
    const QByteArray svg = f.readAll();
    QIcon out;
    for (int size : {16, 24, 32, 48, 64, 128, 256})
        out.addPixmap(renderSvg(svg, size, 1.0));
    return out;
}

QIcon dot(const QColor &color)
{
    static QHash<QRgb, QIcon> cache;
    auto it = cache.constFind(color.rgba());
    if (it != cache.constEnd())
        return *it;
    QPixmap pm(24, 24);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(Qt::NoPen);
    p.setBrush(color);
    p.drawEllipse(QRectF(6, 6, 12, 12));
    p.end();
    pm.setDevicePixelRatio(1.5);
    QIcon i(pm);
    cache.insert(color.rgba(), i);
    return i;
}

namespace {
// Drawn on the 24 px grid of dot(): the body below, the shackle above; open, the shackle is lifted and its right
// leg stands clear of the body.
QPixmap drawPadlock(bool closed, const QColor &color)
{
    QPixmap pm(24, 24);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    const qreal lift = closed ? 0 : 3;
    QPainterPath shackle;
    shackle.moveTo(8, 12);
    shackle.lineTo(8, 8 - lift);
    shackle.arcTo(QRectF(8, 4 - lift, 8, 8), 180, -180);
    shackle.lineTo(16, closed ? 12 : 9 - lift);
    QColor solid = color;
    solid.setAlpha(255); // translucency afterwards: where the shackle enters the body must not be darker
    p.setPen(QPen(solid, 2.2, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    p.setBrush(Qt::NoBrush);
    p.drawPath(shackle);
    p.setPen(Qt::NoPen);
    p.setBrush(solid);
    p.drawRoundedRect(QRectF(5, 11, 14, 10), 2, 2);
    // The keyhole is a hole: the row's own background shows through, tinted or selected.
    p.setCompositionMode(QPainter::CompositionMode_Clear);
    p.drawEllipse(QPointF(12, 15), 1.7, 1.7);
    p.drawRect(QRectF(11.3, 15, 1.4, 3.2));
    if (color.alpha() < 255) {
        p.setCompositionMode(QPainter::CompositionMode_DestinationIn);
        p.fillRect(pm.rect(), QColor(0, 0, 0, color.alpha()));
    }
    p.end();
    pm.setDevicePixelRatio(1.5);
    return pm;
}
} // namespace

QIcon padlock(bool closed)
{
    const QColor color = closed ? series(0) : health(Health::Inactive);
    // On a selected row (the highlight is often the accent itself): the highlighted text's colour, muted if open.
    QColor selected = QGuiApplication::palette().color(QPalette::HighlightedText);
    if (!closed)
        selected.setAlphaF(0.6f);
    static QHash<quint64, QIcon> cache[2]; // [closed], by both colours
    const quint64 key = (quint64(color.rgba()) << 32) | selected.rgba();
    auto it = cache[closed].constFind(key);
    if (it != cache[closed].constEnd())
        return *it;
    QIcon i;
    i.addPixmap(drawPadlock(closed, color), QIcon::Normal);
    i.addPixmap(drawPadlock(closed, selected), QIcon::Selected);
    cache[closed].insert(key, i);
    return i;
}

QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x1e, 0x21, 0x26), base(0x16, 0x18, 0x1c), text(0xe5, 0xe7, 0xeb), button(0x2a, 0x2e, 0x35);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x1c, 0x1f, 0x24));
    p.setColor(QPalette::ToolTipBase, button);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x8b, 0x93, 0xa1));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Light, QColor(0x3a, 0x3f, 0x48));
    p.setColor(QPalette::Midlight, QColor(0x33, 0x38, 0x40));
    p.setColor(QPalette::Mid, QColor(0x2c, 0x30, 0x37));
    p.setColor(QPalette::Dark, QColor(0x11, 0x13, 0x16));
    p.setColor(QPalette::Shadow, Qt::black);
    p.setColor(QPalette::Highlight, QColor(0x25, 0x63, 0xeb));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x60, 0xa5, 0xfa));
    const QColor dis(0x6b, 0x72, 0x80);
    p.setColor(QPalette::Disabled, QPalette::Text, dis);
    p.setColor(QPalette::Disabled, QPalette::ButtonText, dis);
    p.setColor(QPalette::Disabled, QPalette::WindowText, dis);
    return p;
}

} // namespace kcpmon::theme
