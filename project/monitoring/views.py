"""The admin's Performance page: percentiles, rates, errors and queries per route and per task."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse

from project.monitoring.performance import (
    Figures,
    PerformanceRecorder,
    Snapshot,
    merge_snapshots,
    recorder,
)


@dataclass(frozen=True)
class Window:
    """A span the Performance page summarises: the last ``minutes`` minutes up to now."""

    key: str
    label: str
    minutes: int


WINDOWS = {w.key: w for w in (Window("5m", "5 minutes", 5), Window("1h", "1 hour", 60), Window("1d", "1 day", 1440))}


@dataclass
class SeriesSummary:
    """One row of the Performance page."""

    series: str
    kind: str  # an HTTP method, or "task"
    name: str  # the route's URL name, or the task's name
    count: int
    per_minute: float
    error_pct: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_queries: float
    mean_sql_ms: float


def window_figures(recorder: PerformanceRecorder, window: Window) -> tuple[Snapshot, float]:
    """Merge the figures of ``window``; return them and the seconds they cover (for rates)."""
    now = recorder.clock()
    now_minute = int(now // 60)
    elapsed_in_minute = now - now_minute * 60
    if window.minutes <= 60:
        minutes = recorder.load_minutes(now_minute - window.minutes + 1, now_minute)
        return merge_snapshots(minutes.values()), (window.minutes - 1) * 60 + elapsed_in_minute
    # A day: the complete hours before this one, and this hour's minutes so far.
    now_hour = now_minute // 60
    hours = window.minutes // 60
    first_hour = now_hour - hours + 1
    snapshots = [
        *recorder.load_hours(first_hour, now_hour - 1).values(),
        *recorder.load_minutes(now_hour * 60, now_minute).values(),
    ]
    return merge_snapshots(snapshots), now - first_hour * 3600


def summarise(snapshot: Snapshot, seconds: float) -> list[SeriesSummary]:
    """Turn merged figures into page rows, busiest first."""
    rows = []
    for series, figures in snapshot.items():
        kind, _, name = series.partition(" ")
        count = figures.count
        rows.append(
            SeriesSummary(
                series=series,
                kind=kind,
                name=name,
                count=count,
                per_minute=count * 60 / max(seconds, 1.0),
                error_pct=100 * figures.errors / count if count else 0.0,
                p50_ms=figures.percentile(0.50),
                p95_ms=figures.percentile(0.95),
                p99_ms=figures.percentile(0.99),
                mean_queries=figures.queries / count if count else 0.0,
                mean_sql_ms=figures.sql_ms / count if count else 0.0,
            )
        )
    rows.sort(key=lambda row: (-row.count, row.series))
    return rows


@dataclass
class Chart:
    """An SVG chart of the last hour, minute by minute: latency percentiles and requests."""

    width: int
    height: int
    bars_height: int
    max_ms: float
    max_count: int
    paths: dict[str, str]  # percentile name -> SVG path data
    dots: list[tuple[str, float, float]]  # percentile name, x, y: a minute shows even without neighbours
    bars: list[tuple[float, float, float, int]]  # x, y, height, count


def hour_chart(minutes: dict[int, Snapshot], series: str | None, now_minute: int) -> Chart:
    """Lay out the last 60 minutes of ``series`` (or of everything) as SVG coordinates, drawn server-side."""
    width, height, bars_height, left = 720, 160, 50, 48
    step = (width - left) / 60
    points: list[tuple[int, Figures]] = []
    for position, minute in enumerate(range(now_minute - 59, now_minute + 1)):
        snapshot = minutes.get(minute, {})
        total = Figures()
        for name, figures in snapshot.items():
            if series is None or name == series:
                total.merge(figures)
        points.append((position, total))
    max_ms = max((f.percentile(0.99) or 0.0 for _, f in points), default=0.0)
    max_ms = _nice_ceiling(max_ms)
    max_count = max((f.count for _, f in points), default=0) or 1
    paths: dict[str, str] = {}
    dots: list[tuple[str, float, float]] = []
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        commands, pen_down = [], False
        for position, figures in points:
            value = figures.percentile(fraction)
            if value is None:
                pen_down = False  # no requests that minute: break the line rather than draw a zero
                continue
            x = left + (position + 0.5) * step
            y = height - 4 - (height - 12) * min(value / max_ms, 1.0)
            commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            dots.append((name, round(x, 1), round(y, 1)))
            pen_down = True
        paths[name] = " ".join(commands)
    bars = []
    for position, figures in points:
        bar = (bars_height - 4) * figures.count / max_count
        bars.append((left + position * step + 1, bars_height - bar, bar, figures.count))
    return Chart(width, height, bars_height, max_ms, max_count, paths, dots, bars)


def _nice_ceiling(value: float) -> float:
    """Round up to 1, 2 or 5 times a power of ten, for a readable axis."""
    if value <= 0:
        return 10.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def performance_view(request: HttpRequest) -> HttpResponse:
    """The admin's Performance page: p50/p95/p99, rates, errors and queries per route and per task."""
    from django.contrib import admin

    window = WINDOWS.get(request.GET.get("window", "1h"))
    if window is None:
        return HttpResponseBadRequest(f"window must be one of {', '.join(WINDOWS)}.")
    series = request.GET.get("series") or None
    recorder.flush()  # this process's latest figures too
    snapshot, seconds = window_figures(recorder, window)
    rows = summarise(snapshot, seconds)
    now_minute = int(recorder.clock() // 60)
    chart = hour_chart(recorder.load_minutes(now_minute - 59, now_minute), series, now_minute)
    context = {
        **admin.site.each_context(request),
        "title": "Performance",
        "windows": WINDOWS.values(),
        "window": window,
        "series": series,
        "tables": [
            ("Requests, by route and method", [row for row in rows if row.kind != "task"]),
            ("Celery tasks", [row for row in rows if row.kind == "task"]),
        ],
        "chart": chart,
        "flush_seconds": settings.MONITORING_FLUSH_SECONDS,
    }
    return TemplateResponse(request, "admin/performance.html", context)
