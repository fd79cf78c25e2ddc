"""Small bar charts drawn on the server as inline SVG: the admin dashboard
needs no script, no external file and works with a strict CSP.

Each chart says what it shows (a visible title and unit, and a <title> and
<desc> for screen readers), puts its ticks at round numbers (whole numbers
for counts, percentages for rates) and draws a day without data as a grey
mark on the baseline, not as a zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 8, 22, 26
_FONT = 14


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str
    color: str


def _n(value: float) -> str:
    # format_html escapes its arguments to strings first, so numbers are
    # formatted here.
    return f"{value:.1f}"


def nice_ticks(top: float, *, whole: bool, most: int = 5) -> list[float]:
    """Round ticks from 0 to at least ``top``: steps of 1, 2 or 5 times a
    power of ten, at most ``most`` of them above zero; whole-number steps
    when ``whole`` (counts have no 1.15)."""
    if top <= 0:
        top = 1 if whole else 0.01
    rough = top / most
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    if whole:
        step = max(1, round(step))
    count = math.ceil(round(top / step, 9))
    # Rounded so that 3 x 0.001 prints as 0.003, not 0.0030000000000000005.
    return [round(i * step, 12) for i in range(count + 1)]


def scale(*, values: Sequence[float | None], thresholds: Sequence[Threshold] = (),
          percent: bool = False) -> list[float]:
    """A chart's ticks: up to the largest value and the lowest threshold."""
    known = [v for v in values if v is not None]
    lowest_line = min((t.value for t in thresholds), default=0)
    return nice_ticks(max([*known, lowest_line, 0]), whole=not percent)


def format_value(value: float, *, percent: bool, decimals: int = 2) -> str:
    if percent:
        return f"{value * 100:.{decimals}f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _tick_decimals(ticks: Sequence[float]) -> int:
    """Decimals a percentage tick needs to tell its neighbours apart."""
    step = (ticks[1] - ticks[0]) * 100 if len(ticks) > 1 else 1
    return max(0, -math.floor(math.log10(step) + 1e-9))


def svg_bars(
    *,
    values: Sequence[float | None],
    labels: Sequence[str],
    title: str,
    unit: str,
    percent: bool = False,
    thresholds: Sequence[Threshold] = (),
    color: str = "#c2410c",
    gap: str = "no data",
) -> SafeString:
    """A bar per value; None is a gap ("no data that day", or ``gap``), drawn
    as a grey mark, so it never reads as a zero. Every text is escaped; the
    result is safe to insert into a page.

    The scale reaches the largest value and the lowest threshold, so the
    first line to keep under is always in view; higher thresholds are drawn
    when the scale reaches them."""
    if len(values) != len(labels):
        raise ValueError("values and labels differ in length")
    ticks = scale(values=values, thresholds=thresholds, percent=percent)
    top = ticks[-1]
    decimals = _tick_decimals(ticks)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h
    slot = plot_w / max(len(values), 1)

    def y(value: float) -> float:
        return base - plot_h * value / top

    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" '
            'class="dp-chart" font-size="{}" fill="currentColor"><title>{}</title><desc>{}</desc>',
            WIDTH, HEIGHT, _FONT, title, _description(values, labels, title, unit, percent, gap),
        ),
        format_html('<text x="{}" y="{}" text-anchor="start" class="dp-unit">{}</text>', 4, _FONT, unit),
    ]
    for tick in ticks:
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity="{}"/>'
                '<text x="{}" y="{}" text-anchor="end">{}</text>',
                _LEFT, _n(y(tick)), WIDTH - _RIGHT, _n(y(tick)), "0.5" if tick == 0 else "0.12",
                _LEFT - 6, _n(y(tick) + _FONT / 3),
                format_value(tick, percent=percent, decimals=decimals if tick else 0),
            )
        )
    step = max(1, round(len(values) / 5))
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = _LEFT + index * slot
        if value is None:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="4" class="dp-gap"><title>{}: {}</title></rect>',
                    _n(x + slot * 0.1), _n(base - 4), _n(slot * 0.8), label, gap,
                )
            )
        else:
            h = plot_h * value / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                    _n(x + slot * 0.1), _n(base - h), _n(slot * 0.8), _n(h), color, label,
                    format_value(value, percent=percent),
                )
            )
        if index % step == 0:
            parts.append(
                format_html('<text x="{}" y="{}" text-anchor="middle">{}</text>',
                            _n(x + slot / 2), HEIGHT - 6, label)
            )
    for line in thresholds:
        if line.value <= top:
            parts.append(
                format_html(
                    '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" '
                    'stroke-dasharray="6 4"><title>{}</title></line>',
                    _LEFT, _n(y(line.value)), WIDTH - _RIGHT, _n(y(line.value)), line.color, line.label,
                )
            )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))  # noqa: S308 - every part came from format_html


def _description(values, labels, title, unit, percent, gap) -> str:
    """One sentence for screen readers: the span, the highest day and the gaps."""
    known = [(v, label) for v, label in zip(values, labels, strict=True) if v is not None]
    if not labels:
        return f"{title}: no days."
    span = f"{title} per day, {labels[0]} to {labels[-1]}, in {unit}"
    if not known:
        return f"{span}: {gap} on every day."
    peak, peak_day = max(known, key=lambda pair: pair[0])
    text = f"{span}: highest {format_value(peak, percent=percent)} on {peak_day}"
    missing = len(values) - len(known)
    if missing:
        text += f"; {missing} day{'s' if missing != 1 else ''} with {gap}"
    return text + ". Every day's figure is in the day-by-day table."


def legend(thresholds: Sequence[Threshold], *, gap: str = "", top: float | None = None) -> SafeString:
    """The threshold lines and the gap mark, explained under a chart; a line
    above the chart's ``top`` is named as off the scale."""
    items = format_html_join(
        "", '<li><span class="dp-key dp-key-line" style="border-color:{}"></span>{}{}</li>',
        ((t.color, t.label, " (above this scale)" if top is not None and t.value > top else "")
         for t in thresholds),
    )
    if gap:
        items += format_html('<li><span class="dp-key dp-key-gap"></span>{}</li>', gap)
    return format_html('<ul class="dp-legend">{}</ul>', items) if items else mark_safe("")
