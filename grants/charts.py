"""Money charts as inline SVG, drawn on the server: no JavaScript, readable without colour, translatable.

The fund's totals change only on days with ledger entries and stay put in between, so the lines are
drawn as steps: a value holds from the day it was reached until the next change.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# Drawing area and margins, in SVG user units (the page scales the picture to its width).
WIDTH, HEIGHT = 960, 360
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 56, 44
MAX_MARKERS = 60


@dataclass(frozen=True)
class Series:
    """One line of a chart: its label, colour, dash pattern and (day, value) points, oldest first."""

    label: str
    colour: str
    points: Sequence[tuple[dt.date, Decimal]]
    dash: str = ""
    width: float = 2


def nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals over `span`."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def yuan(value: float) -> str:
    """An axis label in yuan: in Chinese counted in 万 (ten thousands) as people read money, else grouped."""
    if (get_language() or "").startswith("zh") and value >= 10_000:
        return f"{value / 10_000:,.4g}万"
    return number_format(round(value), 0, force_grouping=True)


def text_width(text: str, *, size: int) -> float:
    """About how wide a label is: Chinese characters are square, Latin ones a little over half as wide."""
    return sum(size if ord(char) >= 0x2E80 else size * 0.58 for char in text)


def _date_ticks(start: dt.date, end: dt.date, most: int = 7) -> list[dt.date]:
    days = (end - start).days
    step = max(1, math.ceil(days / (most - 1))) if days else 1
    ticks = [start + dt.timedelta(days=offset) for offset in range(0, days + 1, step)]
    if ticks[-1] != end and (end - ticks[-1]).days * 2 >= step:
        ticks.append(end)
    elif ticks[-1] != end:
        ticks[-1] = end
    return ticks


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 12, colour: str = "#57606a",
          weight: str = "normal", rotate: int | None = None) -> str:
    transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{colour}" '
            f'font-weight="{weight}"{transform}>{escape(text)}</text>')


def step_chart(series: Sequence[Series], *, start: dt.date, end: dt.date, title: str,
               description: str = "") -> SafeString:
    """A step line chart of money over the days from `start` to `end` (inclusive), as SVG markup.

    1. Scale: days along x (the last day ends at the right edge), yuan up y from zero to a round maximum.
    2. Draw the grid with yuan labels, the date axis, then each series as steps with markers on its changes.
    3. A legend above the plot names each line; <title> and <desc> describe the chart to screen readers.
    """
    days = max((end - start).days + 1, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = max((float(value) for s in series for _day, value in s.points), default=0.0)
    step = nice_step(top_value)
    y_max = max(step * math.ceil(top_value / step), step)

    def x(day: dt.date) -> float:
        offset = min(max((day - start).days, 0), days)
        return LEFT + plot_w * offset / days

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="chart-title chart-desc" font-family="inherit">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    # Horizontal grid and the yuan axis.
    value = 0.0
    while value <= y_max + step / 2:
        gy = y(value)
        parts.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" '
                     f'stroke="{"#8c959f" if value == 0 else "#eaeef2"}" stroke-width="1"/>')
        parts.append(_text(LEFT - 8, gy + 4, yuan(value), anchor="end", size=11))
        value += step
    parts.append(_text(16, TOP + plot_h / 2, _("yuan"), size=12, rotate=-90))
    # Date axis.
    for tick in _date_ticks(start, end):
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{TOP + plot_h}" x2="{tx:.1f}" y2="{TOP + plot_h + 5}" '
                     f'stroke="#8c959f"/>')
        # Labels at the ends are aligned inwards so that they are never cut off by the picture's edge.
        anchor = "end" if tx > WIDTH - RIGHT - 40 else "middle"
        parts.append(_text(tx, TOP + plot_h + 20, tick.isoformat(), anchor=anchor, size=11))
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#8c959f"/>')
    # The lines, as steps, and a marker where each one changed; drawn last-first, so that thin lines lie on top
    # of the thick one where they coincide (e.g. all money still available).
    right_edge = LEFT + plot_w
    for each in reversed(series):
        if not each.points:
            continue
        first_day, first_value = each.points[0]
        path = [f"M{x(first_day):.1f},{y(float(first_value)):.1f}"]
        for day, amount in each.points[1:]:
            path.append(f"H{x(day):.1f}V{y(float(amount)):.1f}")
        path.append(f"H{right_edge:.1f}")
        dash = f' stroke-dasharray="{each.dash}"' if each.dash else ""
        parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{each.colour}" stroke-width="{each.width}"'
                     f'{dash} stroke-linejoin="round"><title>{escape(each.label)}</title></path>')
        if len(each.points) <= MAX_MARKERS:
            for day, amount in each.points[1:]:
                figure = number_format(amount, 2, force_grouping=True)
                parts.append(f'<circle cx="{x(day):.1f}" cy="{y(float(amount)):.1f}" r="3" fill="{each.colour}">'
                             f'<title>{escape(each.label)} · {day.isoformat()} · {figure}</title></circle>')
    # Legend, above the plot, left to right.
    lx = LEFT
    for each in series:
        dash = f' stroke-dasharray="{each.dash}"' if each.dash else ""
        parts.append(f'<line x1="{lx}" y1="24" x2="{lx + 28}" y2="24" stroke="{each.colour}" '
                     f'stroke-width="{max(each.width, 2.5)}"{dash}/>')
        parts.append(_text(lx + 34, 28, each.label, anchor="start", size=13, colour="#1f2328"))
        lx += 34 + text_width(each.label, size=13) + 28
    parts.append("</svg>")
    # Every piece of text above went through escape(); the rest is markup built from numbers.
    return mark_safe("\n".join(parts))
