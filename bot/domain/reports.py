"""What an organizer may ask of the campaign's figures: a period and an export."""

from __future__ import annotations

from typing import Literal

Period = Literal["today", "week", "month", "campaign"]
ExportName = Literal["volunteers", "tasks", "outcomes", "calls"]
PERIODS: tuple[Period, ...] = ("today", "week", "month", "campaign")
EXPORTS: tuple[ExportName, ...] = ("volunteers", "tasks", "outcomes", "calls")
