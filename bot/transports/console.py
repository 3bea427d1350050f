"""The console chat: talk to Relais in a terminal, offline, on the same database.

You are user 1 (an admin). `/as 42` becomes user 42, `/as 42 en` speaks English.
Buttons appear as a numbered list: reply with the number. Messages the system sends to
other people are printed too, marked with who they are for.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from bot.messaging import Inbound, Outbound
from bot.transports.numbered import choice_labels, render_numbered, resolve_numbered

CHANNEL = "console"
_LOCATION_RE = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


class ConsoleTransport:
    """A chat in the terminal; one person at a time, switchable with /as."""

    channel = CHANNEL

    def __init__(
        self,
        dispatch: Callable[[Inbound], Awaitable[list[Outbound]]],
        language: str,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        files_dir: Path = Path("data/console"),
    ) -> None:
        self.dispatch = dispatch
        self.user_id = "1"
        self.language = language
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.files_dir = files_dir
        self._payloads: dict[str, tuple[list[str], list[str]]] = {}
        self._requests: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.closed = asyncio.Event()
        # Set by the app: answers take their turn in the console's lane like on a messenger.
        self.send_reply: Callable[[str, Outbound], Awaitable[str]] | None = None

    async def start(self) -> None:
        self._print(
            "Relais — console. You are user 1 (admin). /as <id> [fr|en] switches person; "
            "Ctrl-D quits."
        )

    async def stop(self) -> None:
        self.closed.set()

    async def run(self) -> None:
        """Read lines until end of input."""
        while True:
            self._prompt()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            await self.handle_line(line.rstrip("\n"))
        self.closed.set()

    async def handle_line(self, line: str) -> None:
        """Turn one typed line into an update and print the answers."""
        if not line.strip():
            return
        if line.startswith("/as"):
            self._switch(line)
            return
        chat = self.user_id
        inbound = self._inbound(line, chat)
        for outbound in await self.dispatch(inbound):
            if self.send_reply is None:
                self._show(chat, outbound, incoming=True)
            else:
                await self.send_reply(chat, outbound)

    def _switch(self, line: str) -> None:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            self.user_id = parts[1]
            if len(parts) >= 3:
                self.language = parts[2]
            self._print(f"— you are now user {self.user_id} ({self.language})")
        else:
            self._print("— usage: /as <numeric id> [fr|en]")

    def _inbound(self, line: str, chat: str) -> Inbound:
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "user_id": self.user_id,
            "chat_id": chat,
            "first_name": f"User{self.user_id}",
            "language_code": self.language,
            "update_key": f"{chat}:{next(self._ids)}:{id(self)}",
        }
        payloads, labels = self._payloads.get(chat, ([], []))
        choice = resolve_numbered(line, payloads, labels) if payloads else ""
        if choice:
            return Inbound(**base, choice=choice)
        request = self._requests.get(chat)
        if request == "location" and (match := _LOCATION_RE.match(line)):
            return Inbound(**base, location=(float(match[1]), float(match[2])))
        if request == "contact" and re.fullmatch(r"\+?[\d\s.-]{6,20}", line.strip()):
            return Inbound(**base, contact_phone=line.strip())
        return Inbound(**base, text=line)

    def _show(self, chat: str, outbound: Outbound, *, incoming: bool) -> None:
        text, payloads = render_numbered(outbound)
        if outbound.attachment:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / outbound.attachment.filename
            path.write_bytes(outbound.attachment.content)
            text = f"{text}\n[{outbound.attachment.kind}: {path}]".strip()
        if chat == self.user_id:
            self._payloads[chat] = (payloads, choice_labels(outbound))
            self._requests[chat] = outbound.request or ""
        prefix = "relais> " if incoming else f"relais → user {chat}> "
        self._print(prefix + text.replace("\n", "\n        "))

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Print a message the system sends (broadcast, offer, alert)."""
        self._show(chat_id, outbound, incoming=chat_id == self.user_id)
        return str(next(self._ids))

    def _prompt(self) -> None:
        self.stdout.write(f"user {self.user_id}> ")
        self.stdout.flush()

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
