"""Trend sparklines drawn on the server as inline SVG: a few points per product in a table
of fifty, where a Plotly figure per row would cost a script and a layout each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 96
HEIGHT = 24
PAD = 3  # room for the dots' radius
LINE = 'fill="none" stroke="currentColor" stroke-width="1.5"'
DASHED = 'stroke-dasharray="2 2"'
FILLED = 'fill="currentColor"'
HOLLOW = 'fill="white" stroke="currentColor" class="provisional"'


class Point(Protocol):
    """What a sparkline needs of a score: its round, value and whether it is provisional."""

    round: str
    overall: Decimal | None
    provisional: bool


@dataclass(frozen=True)
class Dot:
    x: str  # SVG coordinates as text: a template would print a float in the page's locale
    y: str
    provisional: bool


@dataclass(frozen=True)
class Sparkline:
    """An SVG polyline through the final scores, a dashed segment to a provisional one, a
    dot per score (hollow when provisional) and a text alternative listing them."""

    width: int
    height: int
    line: str  # SVG points "x,y x,y …" of the final scores
    provisional_line: str  # from the last final score to the provisional one, or ""
    dots: list[Dot]
    label: str

    def svg(self) -> SafeString:
        """The sparkline as inline SVG markup. Built here, not in a template: fifty rows of a
        dozen dots each took the template engine longer than the rest of the page. Only the
        label is text; the coordinates are numbers formatted by `sparkline`."""
        label = escape(self.label)
        parts = [
            f'<svg class="sparkline" width="{self.width}" height="{self.height}"'
            f' viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{label}">'
            f"<title>{label}</title>"
        ]
        if self.line:
            parts.append(f'<polyline points="{self.line}" {LINE}/>')
        if self.provisional_line:
            parts.append(f'<polyline points="{self.provisional_line}" {LINE} {DASHED}/>')
        for dot in self.dots:
            paint = HOLLOW if dot.provisional else FILLED
            parts.append(f'<circle cx="{dot.x}" cy="{dot.y}" r="2" {paint}/>')
        parts.append("</svg>")
        return mark_safe("".join(parts))


def score_text(value: Decimal | None) -> str:
    """A score as the site's templates print one (floatformat:"-2"), without the template
    engine: 1, 0.50, 1.25; – for none."""
    if value is None:
        return "–"
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:.2f}"


def sparkline(points: Sequence[Point], top: Decimal) -> Sparkline | None:
    """A sparkline of the points (oldest first), y from 0 to `top`; None without any score.
    A round without an overall score (every area N/A) keeps its place as a gap."""
    if not any(point.overall is not None for point in points):
        return None
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    span = HEIGHT - 2 * PAD
    dots = []
    for index, point in enumerate(points):
        if point.overall is None:
            continue
        share = float(point.overall / top) if top > 0 else 0.0
        x = PAD + step * index if len(points) > 1 else WIDTH / 2
        y = PAD + span * (1 - share)
        dots.append(Dot(f"{x:.1f}", f"{y:.1f}", point.provisional))
    final = [dot for dot in dots if not dot.provisional]
    pending = [dot for dot in dots if dot.provisional]
    provisional_line = ""
    if final and pending:
        provisional_line = f"{final[-1].x},{final[-1].y} {pending[-1].x},{pending[-1].y}"
    words = []
    for point in points:
        value = score_text(point.overall)
        if point.provisional:
            value = _("%(value)s (open, so far)") % {"value": value}
        words.append(f"{point.round}: {value}")
    return Sparkline(
        width=WIDTH,
        height=HEIGHT,
        line=" ".join(f"{dot.x},{dot.y}" for dot in final),
        provisional_line=provisional_line,
        dots=dots,
        label=", ".join(words),
    )
