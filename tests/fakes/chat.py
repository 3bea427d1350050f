"""Drive Relais through its router as a person would, without any messenger."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.messaging import Inbound, Outbound
from bot.router import Router
from bot.text import to_plain

_update_ids = itertools.count(1)


@dataclass
class Chat:
    """One person's private chat with Relais: send text, tap buttons, read answers."""

    router: Router
    user_id: str = "100"
    language: str = "fr"
    first_name: str = "Ana"
    channel: str = "telegram"
    private: bool = True
    replies: list[Outbound] = field(default_factory=list)

    async def send(self, text: str = "", **extra: Any) -> list[Outbound]:
        """Type a message (or share a location/contact via keyword arguments)."""
        return await self._dispatch(text=text, **extra)

    async def tap(self, label_or_data: str) -> list[Outbound]:
        """Tap the button whose label contains `label_or_data` (or whose payload equals it)."""
        data = self.find_choice(label_or_data)
        return await self._dispatch(choice=data, message_id="1")

    async def tap_data(self, data: str) -> list[Outbound]:
        """Tap a button with this exact payload, shown or not (forged or stale taps)."""
        return await self._dispatch(choice=data, message_id="1")

    def find_choice(self, label_or_data: str) -> str:
        for outbound in reversed(self.replies):
            for row in outbound.choices:
                for choice in row:
                    if choice.data and (
                        choice.data == label_or_data or label_or_data in to_plain(choice.label)
                    ):
                        return choice.data
            if outbound.choices:
                break
        shown = [[c.label for c in row] for o in self.replies[-3:] for row in o.choices]
        raise AssertionError(f"no button {label_or_data!r}; last buttons: {shown}")

    @property
    def last(self) -> Outbound:
        assert self.replies, "Relais has not answered yet"
        return self.replies[-1]

    @property
    def last_text(self) -> str:
        """The newest answer as plain text."""
        return to_plain(self.last.text)

    def texts(self, replies: list[Outbound] | None = None) -> str:
        return "\n".join(to_plain(o.text) for o in (self.replies if replies is None else replies))

    async def _dispatch(self, **fields: Any) -> list[Outbound]:
        inbound = Inbound(
            channel=self.channel,
            user_id=self.user_id,
            chat_id=self.user_id if self.private else "-100",
            private=self.private,
            first_name=self.first_name,
            language_code=self.language,
            update_key=str(next(_update_ids)),
            **fields,
        )
        replies = await self.router.dispatch(inbound)
        self.replies.extend(replies)
        return replies
