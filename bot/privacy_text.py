"""The words of the volunteer's rights that Relais sends on its own: the warning before an
inactive volunteer's data is erased, with its Keep-my-data button.

`PrivacyService` decides who is warned and when; the composition root (`bot/core.py`)
gives it a `PrivacyText`, which chooses the words, in the reader's language and for their
messenger. Services never import this module (`make lint`).
"""

from __future__ import annotations

from bot.i18n import _, days, use_language, use_messenger, worded
from bot.messaging import Outbound, choices
from bot.payloads import KeepData


class PrivacyText:
    """What the retention sweep says to the people it warns."""

    def retention_warning(
        self, retention_days: int, warning_days: int, language: str, channel: str
    ) -> Outbound:
        """The message warning an inactive volunteer that their data will be erased."""
        with use_language(language), use_messenger(channel):
            return Outbound(
                worded(
                    _(
                        "Hello! You have not used Relais for a long time. To protect your data, "
                        "we erase the data of volunteers inactive for {days}: yours will be "
                        "erased in {warning}.\n\nTo stay with us, just tap the button below or "
                        "send any message. To leave now, send /forget."
                    ),
                    _(
                        "Hello! You have not used Relais for a long time. To protect your data, "
                        "we erase the data of volunteers inactive for {days}: yours will be "
                        "erased in {warning}.\n\nTo stay with us, just send any message. To "
                        "leave now, send /forget."
                    ),
                ).format(days=days(retention_days), warning=days(warning_days)),
                choices=choices(KeepData("keep").button(_("Keep my data"))),
            )
