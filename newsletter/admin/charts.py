"""Small bar charts drawn on the server as inline SVG: the admin dashboard
needs no script, no external file and works with a strict CSP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 8, 12, 28


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str
    color: str


def _n(value: float) -> str:
    # format_html escapes its arguments to strings first, so numbers are
    # formatted here.
    return f"{value:.1f}"


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.2f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def svg_bars(
    *,
    values: Sequence[float | None],
    labels: Sequence[str],
    title: str,
    percent: bool = False,
    thresholds: Sequence[Threshold] = (),
    color: str = "#417690",
) -> SafeString:
    """A bar per value (None draws no bar: "no data that day"), labelled every
    few bars, with a tooltip per bar and dashed threshold lines. Every text is
    escaped; the result is safe to insert into a page."""
    if len(values) != len(labels):
        raise ValueError("values and labels differ in length")
    known = [v for v in values if v is not None]
    top = max([*known, *(t.value for t in thresholds), 0])
    top = top * 1.15 if top else 1
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(values), 1)
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" '
            'aria-label="{}" class="dp-chart"><title>{}</title>',
            WIDTH, HEIGHT, title, title,
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>',
            _LEFT, _TOP + plot_h, WIDTH - _RIGHT, _TOP + plot_h,
        ),
        format_html(
            '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#666">{}</text>',
            _LEFT - 4, _TOP + 10, _fmt(top, percent),
        ),
        format_html(
            '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#666">0</text>',
            _LEFT - 4, _TOP + plot_h,
        ),
    ]
    step = max(1, round(len(values) / 6))
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = _LEFT + index * slot
        if value is not None:
            h = plot_h * value / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {}</title></rect>",
                    _n(x + slot * 0.1), _n(_TOP + plot_h - h), _n(slot * 0.8), _n(h), color, label,
                    _fmt(value, percent),
                )
            )
        if index % step == 0 or index == len(values) - 1:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#666">{}</text>',
                    _n(x + slot / 2), HEIGHT - 10, label,
                )
            )
    for line in thresholds:
        y = _TOP + plot_h - plot_h * line.value / top
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-dasharray="5 3"/>'
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="{}">{}</text>',
                _LEFT, _n(y), WIDTH - _RIGHT, _n(y), line.color,
                WIDTH - _RIGHT - 2, _n(y - 3), line.color, line.label,
            )
        )
    parts.append(mark_safe("</svg>"))
    # Every part came from format_html (escaped); escape() guards the rest.
    return mark_safe("".join(p if isinstance(p, SafeString) else escape(p) for p in parts))  # noqa: S308
