"""Template helpers of the dashboard: durations, milliseconds, ended reasons and small charts.

The charts are inline SVG drawn on the server (no script, no library): one rectangle per day
for counts, points joined by lines for a latency. Each has a title and a description for
screen readers; the page offers the same figures as a table.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from sessions.models import Session

register = template.Library()
NONE = "\N{EN DASH}"  # shown for a figure that has no value

ENDED_REASONS = {
    "user-ended": "The caller ended it",
    "assistant-ended": "The assistant ended it (its end-session tool)",
    "end-call-phrase": "The assistant said an end-call phrase",
    "max-duration": "It reached the assistant's longest duration",
    "silence-timeout": "Nobody spoke for too long",
    "ended-by-api": "Ended through the API",
    "ended-in-dashboard": "Ended from the dashboard",
    "expired-unused": "Nobody used it within its time",
    "expired-idle": "Left idle for too long",
}

CHANNELS = {"api": "API", "web": "Web", "discord": "Discord"}

WIDTH, HEIGHT = 560, 170
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 24


@register.filter
def duration(value: timedelta | None) -> str:
    """1 h 02 min, 3 min 05 s, 12 s."""
    if value is None:
        return NONE
    seconds = max(0, round(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def session_duration(session: Session) -> timedelta | None:
    if session.started_at and session.ended_at:
        return session.ended_at - session.started_at
    return None


@register.filter
def ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return NONE
    return f"{value:,.0f} ms"


@register.filter
def channel(value: str) -> str:
    return CHANNELS.get(value, value)


@register.filter
def ended_reason(reason: str) -> str:
    return ENDED_REASONS.get(reason, reason)


@register.filter
def pretty_value(value: Any) -> str:
    """A metadata value as text (nested values as compact JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@register.simple_tag
def day_chart(
    days: list[Any], attribute: str, *, title: str, unit: str, chart_id: str, kind: str = "bar"
) -> SafeString:
    """An SVG chart of ``getattr(day, attribute)`` for each day (None: no value that day)."""
    values: list[float | None] = [getattr(day, attribute) for day in days]
    top = _nice_ceiling(max((v for v in values if v is not None), default=0))
    plot = _Plot(len(days), top)
    marks = plot.bars(days, values, unit) if kind == "bar" else plot.line(days, values, unit)
    return format_html(
        '<svg class="chart chart-{}" role="img" aria-labelledby="{}-title {}-desc" '
        'viewBox="0 0 {} {}" preserveAspectRatio="xMidYMid meet">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}{}</svg>',
        kind,
        chart_id,
        chart_id,
        WIDTH,
        HEIGHT,
        chart_id,
        title,
        chart_id,
        _description(days, values, unit),
        plot.axes(top, unit),
        marks,
        plot.day_labels(days),
    )


class _Plot:
    def __init__(self, count: int, top: float) -> None:
        self.slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
        self.height = HEIGHT - TOP - BOTTOM
        self.top = top or 1

    def x(self, index: int) -> float:
        return LEFT + self.slot * (index + 0.5)

    def y(self, value: float) -> float:
        return TOP + self.height * (1 - value / self.top)

    def axes(self, top: float, unit: str) -> SafeString:
        base = TOP + self.height
        return format_html(
            '<g class="axis" aria-hidden="true">'
            '<line x1="{}" y1="{}" x2="{}" y2="{}"/><line x1="{}" y1="{}" x2="{}" y2="{}"/>'
            '<text x="{}" y="{}" text-anchor="end">{}</text>'
            '<text x="{}" y="{}" text-anchor="end">0</text></g>',
            LEFT, TOP, WIDTH - RIGHT, TOP, LEFT, base, WIDTH - RIGHT, base,
            LEFT - 4, TOP + 4, _short(top),
            LEFT - 4, base + 4,
        )  # fmt: skip

    def bars(self, days: list[Any], values: list[float | None], unit: str) -> SafeString:
        width = self.slot * 0.7
        rows = (
            (
                f"{self.x(i) - width / 2:.1f}",
                f"{self.y(v or 0):.1f}",
                f"{width:.1f}",
                f"{self.height * (v or 0) / self.top:.1f}",
                _point_label(day, v, unit),
            )
            for i, (day, v) in enumerate(zip(days, values, strict=True))
        )
        return format_html_join(
            "",
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            rows,
        )

    def line(self, days: list[Any], values: list[float | None], unit: str) -> SafeString:
        present = [(i, v) for i, v in enumerate(values) if v is not None]
        runs: list[list[tuple[int, float]]] = []
        for i, v in present:  # consecutive days are joined; a day without values breaks the line
            if runs and runs[-1][-1][0] == i - 1:
                runs[-1].append((i, v))
            else:
                runs.append([(i, v)])
        lines = format_html_join(
            "",
            '<polyline class="line" points="{}"/>',
            ((" ".join(f"{self.x(i):.1f},{self.y(v):.1f}" for i, v in run),) for run in runs),
        )
        points = format_html_join(
            "",
            '<circle class="point" cx="{}" cy="{}" r="4"><title>{}</title></circle>',
            (
                (f"{self.x(i):.1f}", f"{self.y(v):.1f}", _point_label(days[i], v, unit))
                for i, v in present
            ),
        )
        return format_html("{}{}", lines, points)

    def day_labels(self, days: list[Any]) -> SafeString:
        last = len(days) - 1
        return format_html_join(
            "",
            '<text class="day" x="{}" y="{}" text-anchor="middle" aria-hidden="true">{}</text>',
            (
                (f"{self.x(i):.1f}", HEIGHT - 6, f"{day.day.day} {day.day:%b}")
                for i, day in enumerate(days)
                if (last - i) % 2 == 0
            ),
        )


def _description(days: list[Any], values: list[float | None], unit: str) -> str:
    if not days:
        return "No days to show."
    span = f"{days[0].day:%-d %b} to {days[-1].day:%-d %b}"
    present = [(day, v) for day, v in zip(days, values, strict=True) if v is not None]
    if not any(v for _, v in present):
        return f"{span}: none."
    peak_day, peak = max(present, key=lambda pair: pair[1])
    return f"{span}: highest {_short(peak)} {unit} on {peak_day.day:%-d %b}."


def _point_label(day: Any, value: float | None, unit: str) -> str:
    shown = "no data" if value is None else f"{_short(value)} {unit}"
    return f"{day.day:%a %-d %b}: {shown}"


def _short(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _nice_ceiling(value: float) -> float:
    """A round number at or above ``value`` for the axis top: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value
