"""Charts as PNG pictures for phones: tasks done per day by type, and the task funnel.

Rendered in a worker thread (matplotlib is slow and blocking) with the object-oriented API
and the Agg canvas, so no global pyplot state is shared between threads. The language is
a ContextVar: it is captured by the caller and set again inside the worker.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Sequence
from datetime import date

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import _, format_number, use_language
from bot.report_text import KIND_LABELS, short_day
from bot.storage.reports import TASK_KINDS, FunnelStep

# No pyplot and no GUI: figures draw on their own Agg canvas, safe in a worker thread.
matplotlib.use("Agg")
matplotlib.rcParams["font.family"] = "DejaVu Sans"  # ships with matplotlib, has every accent
matplotlib.rcParams["font.size"] = 16

# matplotlib's font and text caches are not thread-safe: one chart at a time.
_DRAWING = threading.Lock()

# 1000 × 700 px: fills a phone screen in landscape, still legible when zoomed out.
SIZE = (10, 7)
DPI = 100
COLOURS = {
    "share": "#1f77b4",
    "canvass": "#d62728",
    "call": "#2ca02c",
    "text": "#9467bd",
    "event": "#ff7f0e",
    "custom": "#7f7f7f",
}


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.tick_params(labelsize=15)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _activity_png(days: Sequence[tuple[date, dict[str, int]]], title: str, language: str) -> bytes:
    with _DRAWING, use_language(language):
        figure, axes = _figure()
        positions = list(range(len(days)))
        bottom = [0] * len(days)
        for kind in TASK_KINDS:
            values = [counts.get(kind, 0) for _day, counts in days]
            if not any(values):
                continue
            axes.bar(
                positions, values, bottom=bottom, label=_(KIND_LABELS[kind]), color=COLOURS[kind]
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        step = max(1, len(days) // 10)
        axes.set_xticks(
            positions[::step], [short_day(d) for d, _c in days][::step], rotation=45, ha="right"
        )
        axes.set_ylabel(_("Tasks done"), fontsize=16)
        axes.set_title(title, fontsize=20)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        if any(bottom):
            axes.legend(loc="upper left", fontsize=14)
        else:
            axes.text(
                0.5,
                0.5,
                _("Nothing done yet"),
                ha="center",
                va="center",
                transform=axes.transAxes,
                fontsize=20,
            )
        axes.grid(axis="y", alpha=0.3)
        return _png(figure)


def _funnel_png(steps: Sequence[FunnelStep], title: str, language: str) -> bytes:
    with _DRAWING, use_language(language):
        figure, axes = _figure()
        shown = [s for s in steps if s.offered or s.accepted or s.done] or list(steps[:1])
        labels = [_(KIND_LABELS[s.kind]) for s in shown]
        width = 0.27
        positions = list(range(len(shown)))
        for offset, name, values, colour in (
            (-width, _("Offered"), [s.offered for s in shown], "#c6dbef"),
            (0.0, _("Accepted"), [s.accepted for s in shown], "#6baed6"),
            (width, _("Done"), [s.done for s in shown], "#08519c"),
        ):
            bars = axes.bar(
                [p + offset for p in positions], values, width, label=name, color=colour
            )
            axes.bar_label(bars, labels=[format_number(v) for v in values], fontsize=12)
        axes.set_xticks(positions, labels)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(title, fontsize=20)
        axes.legend(fontsize=14)
        axes.grid(axis="y", alpha=0.3)
        return _png(figure)


async def activity_chart(
    days: Sequence[tuple[date, dict[str, int]]], title: str, language: str
) -> bytes:
    """A stacked bar chart of tasks done per day by type, as PNG bytes."""
    return await asyncio.to_thread(_activity_png, list(days), title, language)


async def funnel_chart(steps: Sequence[FunnelStep], title: str, language: str) -> bytes:
    """Offered → accepted → done per task type, as PNG bytes."""
    return await asyncio.to_thread(_funnel_png, list(steps), title, language)
