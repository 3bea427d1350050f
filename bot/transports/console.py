"""The console chat: talk to Relais in a terminal, offline, on the same database.

You are user 1 (an admin). `/as 42` becomes user 42, `/as 42 en` speaks English.
Buttons appear as numbered lists, lettered per message ("A1.", "B2."): reply with the
number (the newest message), with letter and number, or with the choice's word. What the
numbers stand for is kept in the database, as on Signal. Messages the system sends to
other people are printed too, marked with who they are for.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.clock import Clock, SystemClock
from bot.messaging import Inbound, Outbound
from bot.places import typed_position
from bot.transports import answers_awaited
from bot.transports.numbered import Board, BoardStore, acted_on, read, render_numbered

CHANNEL = "console"


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
        boards: BoardStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.dispatch = dispatch
        self.user_id = "1"
        self.language = language
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.files_dir = files_dir
        self.boards = boards
        self.clock = clock or SystemClock()
        self._boards: dict[str, Board] = {}
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
        """Read lines until end of input (Ctrl-D); stopping (Ctrl-C) ends it at once."""
        typed = _Input(self.stdin)
        while True:
            self._prompt()
            line = await typed.readline()
            if not line:
                break
            await self.handle_line(line.rstrip("\n"))
        self.closed.set()

    async def handle_line(self, line: str) -> None:
        """Turn one typed line into an update and print the answers."""
        if not line.strip():
            return
        if line.split(maxsplit=1)[0] == "/as":
            # The console's own command, the word exactly: /astreinte is Relais's /duty.
            self._switch(line)
            return
        chat = self.user_id
        board = await self._board(chat)
        inbound = self._inbound(line, chat, board)
        # Whatever they typed, the question waiting (if any) had its turn.
        board = board.heard()
        await self._keep(chat, board)
        with answers_awaited() as taken:
            replies = await self.dispatch(inbound)
        for outbound in replies:
            if self.send_reply is None:
                await self.deliver(chat, outbound)
            else:
                await self.send_reply(chat, outbound)
        # The answers the lane took (written with what the update changed) are printed
        # before the next prompt.
        await taken.sent()

    def _switch(self, line: str) -> None:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            self.user_id = parts[1]
            if len(parts) >= 3:
                self.language = parts[2]
            self._print(f"— you are now user {self.user_id} ({self.language})")
        else:
            self._print("— usage: /as <numeric id> [fr|en]")

    def _inbound(self, line: str, chat: str, board: Board) -> Inbound:
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "user_id": self.user_id,
            "chat_id": chat,
            "first_name": f"User{self.user_id}",
            "language_code": self.language,
            "update_key": f"{chat}:{next(self._ids)}:{id(self)}",
        }
        if line.startswith("/"):
            return Inbound(**base, text=line)
        reading = read(line, board)
        if reading.choice and reading.offer is not None:
            # Several lists on screen: the answer will say which one it was taken for.
            note = acted_on(reading.offer, reading.choice) if len(board.offers) > 1 else ""
            return Inbound(**base, choice=reading.choice, offer=reading.offer.tag, acted_on=note)
        if board.request == "location" and (position := typed_position(line)):
            return Inbound(**base, location=position)
        if board.request == "contact" and re.fullmatch(r"\+?[\d\s.-]{6,20}", line.strip()):
            return Inbound(**base, contact_phone=line.strip())
        return Inbound(**base, text=line, stale_choice=reading.stale)

    def _show(
        self, chat: str, outbound: Outbound, board: Board, *, incoming: bool
    ) -> tuple[Board, str]:
        """Print one message; the board once it is on screen, and the message's id."""
        tag = board.next_tag() if any(not c.url for row in outbound.choices for c in row) else ""
        text, _payloads = render_numbered(outbound, tag, aside=board.aside(outbound))
        if outbound.attachment:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / outbound.attachment.filename
            _write_private(path, outbound.attachment.content)
            text = f"{text}\n[{outbound.attachment.kind}: {path}]".strip()
        prefix = "relais> " if incoming else f"relais → user {chat}> "
        self._print(prefix + text.replace("\n", "\n        "))
        message_id = str(next(self._ids))
        return board.shown(outbound, message_id, tag), message_id

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Print a message: an answer, or one the system sends (broadcast, offer, alert)."""
        board = await self._board(chat_id)
        if outbound.retires:
            board = board.without(outbound.retires)  # the answer replaces that list
        board, message_id = self._show(chat_id, outbound, board, incoming=chat_id == self.user_id)
        await self._keep(chat_id, board)
        return message_id

    def forget(self, chats: Sequence[tuple[str, str]]) -> None:
        """Someone was erased (in the chat or not): nothing of their screen is kept."""
        for channel, chat in chats:
            if channel == CHANNEL:
                self._boards.pop(chat, None)

    async def _board(self, chat: str) -> Board:
        if chat not in self._boards:
            board = Board()
            if self.boards is not None:
                board = Board.restored(*await self.boards.shown(CHANNEL, chat, self.clock.now()))
            # Another message may have been printed (and its board kept) while this read.
            return self._boards.setdefault(chat, board)
        return self._boards[chat]

    async def _keep(self, chat: str, board: Board) -> None:
        if self.boards is not None and self.boards.erased(CHANNEL, chat):
            # They were just erased (/forget): their lists (their name, their ticks) go.
            self._boards.pop(chat, None)
            return
        if self._boards.get(chat) == board:
            return
        self._boards[chat] = board
        if self.boards is not None:
            await self.boards.keep_shown(
                CHANNEL, chat, board.stored(), board.request, self.clock.now()
            )

    def _prompt(self) -> None:
        self.stdout.write(f"user {self.user_id}> ")
        self.stdout.flush()

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def _write_private(path: Path, content: bytes) -> None:
    """Write a file only its owner can read (a /mydata export holds personal data)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


class _Input:
    """Typed lines, read from the terminal or pipe by the event loop itself.

    A thread blocked reading the keyboard would keep the process alive after Ctrl-C until
    someone pressed Enter; the loop's reader is simply dropped when the bot stops. Streams
    without a file descriptor (tests) are read on a thread.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self.pending = b""
        try:
            self.descriptor: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.descriptor = None

    async def readline(self) -> str:
        """The next line with its newline, or "" at the end of input."""
        if self.descriptor is None:
            return await asyncio.to_thread(self.stream.readline)
        while b"\n" not in self.pending:
            chunk = await self._read(self.descriptor)
            if not chunk:
                line, self.pending = self.pending, b""
                return line.decode(self.encoding, errors="replace")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return (line + b"\n").decode(self.encoding, errors="replace")

    @staticmethod
    async def _read(descriptor: int) -> bytes:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        try:
            loop.add_reader(descriptor, wake)
        except PermissionError:
            return os.read(descriptor, 65536)  # a regular file: reading it never blocks
        try:
            await ready
        finally:
            loop.remove_reader(descriptor)
        return os.read(descriptor, 65536)
