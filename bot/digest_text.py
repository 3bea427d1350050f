"""The words of a digest: an organizer's report as it arrives every evening or Monday."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import _, use_language
from bot.report_text import render
from bot.services.reports import Report


def digest_text(report: Report, kind: str, zone: ZoneInfo, language: str) -> str:
    """A daily or weekly digest, in the recipient's language."""
    with use_language(language):
        heading = _("Your evening digest") if kind == "daily" else _("Your weekly digest")
        return (
            f"<b>{heading}</b>\n\n"
            + render(report, zone)
            + "\n\n"
            + _("Send /digest off to stop these summaries.")
        )
