"""Small server-rendered SVG charts (no JavaScript, no CDN): lines and stacked bars.

The SVG scales to its container (viewBox); every value is in a <title> so a
pointer or a screen reader can read it, and the chart has a text summary.
"""
from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 480, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 10, 12, 30
COLORS = ["#2457c5", "#13a05a", "#d9822b", "#8e44ad"]


def _nice_max(value: float, percent: bool) -> float:
    """A top for the y axis whose four gridlines fall on round numbers (integers for counts)."""
    if percent:
        return 1.0 if value <= 1 else 4 * _nice_step(value / 4, integer=False)
    if value <= 4:
        return 4
    return 4 * _nice_step(value / 4)


def _nice_step(raw: float, integer: bool = True) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        value = step * magnitude
        if integer and not float(value).is_integer():
            continue
        if raw <= value:
            return value
    return 10 * magnitude


def _fmt(value: float | None, percent: bool) -> str:
    if value is None:
        return "n/a"
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _frame(labels: list[str], top: float, percent: bool, title: str) -> list[str]:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="13">']
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{"#c5cbd3" if i == 0 else "#eceff3"}"/>')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b636e">'
                     f'{_fmt(value, percent)}</text>')
    if labels:
        picks = sorted({0, len(labels) // 2, len(labels) - 1})
        for i in picks:
            x = _x(i, len(labels))
            anchor = "start" if i == 0 and len(labels) > 1 else ("end" if i == len(labels) - 1 and len(labels) > 1 else "middle")
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" fill="#5b636e">'
                         f'{escape(labels[i])}</text>')
    return parts


def _x(i: int, n: int) -> float:
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    if n <= 1:
        return PAD_LEFT + plot_w / 2
    return PAD_LEFT + plot_w * i / (n - 1)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    return PAD_TOP + plot_h - plot_h * (value / top if top else 0)


def line_chart(labels: list[str], series: list[tuple[str, list]], *, percent: bool = False,
               title: str = "") -> Markup:
    """One line per (name, values); ``None`` values break the line."""
    peak = max([v for _, values in series for v in values if v is not None] or [0])
    top = _nice_max(peak, percent)
    parts = _frame(labels, top, percent, title)
    for index, (name, values) in enumerate(series):
        color = COLORS[index % len(COLORS)]
        segment: list[str] = []
        segments = [segment]
        for i, value in enumerate(values):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            segment.append(f"{_x(i, len(values)):.1f},{_y(value, top):.1f}")
        for points in segments:
            if len(points) > 1:
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                             f'stroke-linejoin="round" points="{" ".join(points)}"/>')
        if len(values) <= 62:
            for i, value in enumerate(values):
                if value is None:
                    continue
                parts.append(f'<circle cx="{_x(i, len(values)):.1f}" cy="{_y(value, top):.1f}" r="2.6" '
                             f'fill="{color}"><title>{escape(labels[i])}: {escape(name)} '
                             f'{_fmt(value, percent)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: list[str], series: list[tuple[str, list]], *, title: str = "") -> Markup:
    """Stacked bars, one stack per label."""
    totals = [sum(values[i] or 0 for _, values in series) for i in range(len(labels))]
    top = _nice_max(max(totals or [0]), False)
    parts = _frame(labels, top, False, title)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    slot = plot_w / max(len(labels), 1)
    bar = max(min(slot * 0.7, 28), 1.5)
    for i, label in enumerate(labels):
        x = PAD_LEFT + slot * i + (slot - bar) / 2
        base = 0.0
        for index, (name, values) in enumerate(series):
            value = values[i] or 0
            if not value:
                continue
            y_top, y_bottom = _y(base + value, top), _y(base, top)
            parts.append(f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar:.1f}" height="{y_bottom - y_top:.1f}" '
                         f'fill="{COLORS[index % len(COLORS)]}"><title>{escape(label)}: {escape(name)} '
                         f'{_fmt(value, False)}</title></rect>')
            base += value
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(names: list[str]) -> Markup:
    # An SVG swatch (a fill attribute, not a style): the CSP allows no inline styles.
    items = "".join(f'<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true" focusable="false">'
                    f'<rect width="10" height="10" rx="2" fill="{COLORS[i % len(COLORS)]}"/></svg>'
                    f"{escape(name)}</li>" for i, name in enumerate(names))
    return Markup(f'<ul class="legend">{items}</ul>')
