"""Neutral messages: what a person sent (Inbound) and what Relais answers (Outbound).

Nothing here knows a messenger. Transports turn their updates into `Inbound` and render
`Outbound`. Text uses Relais markup, Telegram's HTML subset (<b>, <i>, <a href>, <code>);
transports without formatting show it as plain text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.i18n import current_language

Request = Literal["location", "contact"]
# What a question takes typed, besides its choices: on messengers that number the choices,
# a question that wants a number reads a typed "3" as the number 3, never as choice 3.
Answer = Literal["", "number", "date", "place", "text"]


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: `data` is a short payload (≤ 64 bytes) checked again when tapped.

    The label is plain text, never markup: messengers show it as typed, so user text in a
    label (a team's name) is not escaped.
    """

    label: str
    data: str = ""
    url: str = ""
    # Telegram opens `url` as a Mini App inside the chat (the dashboard); elsewhere a link.
    web_app: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message: a chart, an export, a /mydata document."""

    filename: str
    content: bytes
    kind: Literal["photo", "document"] = "document"


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to show a person."""

    text: str = ""
    choices: tuple[tuple[Choice, ...], ...] = ()
    request: Request | None = None
    attachment: Attachment | None = None
    # Replace the message whose button was tapped instead of sending a new one.
    edit: bool = False
    # Message to edit by id (e.g. a progress message the system keeps updating).
    edit_message_id: str = ""
    # Telegram only: cost-bearing high-rate broadcast.
    paid: bool = False
    # The reader's language, for what a transport adds ("(reply with a number)"): it is
    # rendered later, often by the sender, outside the update or job that wrote it.
    language: str = field(default_factory=current_language)
    # A question waiting for a typed answer (see `Answer`); "" when the message asks nothing
    # typed. A message with neither choices nor an answer leaves earlier choices answerable.
    answer: Answer = ""
    # Messengers that number choices: the letter of the list whose choice this answers and
    # whose message a button's answer would replace; its choices are used up once this is
    # shown (it goes with the answer through the outbox, read when it is sent).
    retires: str = ""

    def to_json(self) -> str:
        """Serialize for the outbox."""
        data: dict[str, Any] = {"text": self.text}
        if self.choices:
            data["choices"] = [
                [[c.label, c.data, c.url, *([True] if c.web_app else [])] for c in row]
                for row in self.choices
            ]
        if self.request:
            data["request"] = self.request
        if self.attachment:
            data["attachment"] = [
                self.attachment.filename,
                base64.b64encode(self.attachment.content).decode(),
                self.attachment.kind,
            ]
        if self.edit_message_id:
            data["edit_message_id"] = self.edit_message_id
        if self.paid:
            data["paid"] = True
        data["language"] = self.language
        if self.answer:
            data["answer"] = self.answer
        if self.retires:
            data["retires"] = self.retires
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Outbound:
        """Read back an outbox payload."""
        data = json.loads(text)
        attachment = None
        if "attachment" in data:
            name, content, kind = data["attachment"]
            attachment = Attachment(name, base64.b64decode(content), kind)
        return cls(
            text=data.get("text", ""),
            choices=tuple(
                tuple(
                    Choice(label, payload, url, bool(web_app and web_app[0]))
                    for label, payload, url, *web_app in row
                )
                for row in data.get("choices", [])
            ),
            request=data.get("request"),
            attachment=attachment,
            edit_message_id=data.get("edit_message_id", ""),
            paid=bool(data.get("paid", False)),
            language=data.get("language") or current_language(),
            answer=data.get("answer", ""),
            retires=data.get("retires", ""),
        )


def choices(*rows: list[Choice] | tuple[Choice, ...] | Choice) -> tuple[tuple[Choice, ...], ...]:
    """Lay out buttons: each argument is a row (or a single button on its own row)."""
    return tuple((row,) if isinstance(row, Choice) else tuple(row) for row in rows)


@dataclass(frozen=True, slots=True)
class InboundFile:
    """A file a person sent: a photo (a screenshot) or a document (a CSV call list).

    Only a reference: the bytes stay on the messenger until a flow that wants them asks the
    channel's downloader (`Services.downloads`). `size` and `mime` are what the messenger
    declared (0 and "" when unknown), so oversized or unwanted files are refused unread.
    """

    kind: Literal["photo", "document"]
    file_id: str
    name: str = ""
    size: int = 0
    mime: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did in a chat: a message, a tapped button, a shared location."""

    channel: str
    user_id: str
    chat_id: str
    private: bool = True
    text: str = ""
    choice: str = ""
    location: tuple[float, float] | None = None
    contact_phone: str = ""
    first_name: str = ""
    language_code: str = ""
    # Messenger-side key for de-duplication (update_id, timestamp+sender).
    update_key: str = ""
    # The message a tapped button belongs to, so the answer can replace it.
    message_id: str = ""
    forwarded: bool = False
    # A photo or document sent with the message (its caption is `text`).
    file: InboundFile | None = None
    # Messengers that number choices: the letter of the message whose choice was typed
    # ("B" for "B2"), and whether the text stood for a choice no longer known (expired).
    offer: str = ""
    stale_choice: bool = False
    # With several lists on screen, the line saying which list and choice a typed answer
    # was taken for ("↪ B2 · Pause"), as the messenger saw its screen: put before the answer.
    acted_on: str = ""
    # A command typed as a word, without its slash (Signal: "aide"): given its slash in
    # `text`, it stays a command only alone or with the words that command takes, outside a
    # flow (the router decides; "Stop à la réforme !" is text).
    worded: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        """'start' for '/start abc' (or 'start@relais_bot'); '' if not a command."""
        if not self.text.startswith("/"):
            return ""
        head = self.text[1:].split(maxsplit=1)[0] if len(self.text) > 1 else ""
        return head.split("@", 1)[0].lower()

    @property
    def args(self) -> str:
        """What follows the command: 'abc' for '/start abc'."""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if self.command and len(parts) > 1 else ""


class DeliveryError(Exception):
    """A message (or a file) could not be moved; subclasses say what to do next."""


class RateLimited(DeliveryError):
    """The messenger asks us to wait before sending anything else."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        super().__init__(reason or f"rate limited for {retry_after:g}s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The person blocked the bot or left the messenger; do not try again until they write."""


class PermanentFailure(DeliveryError):
    """The message can never be delivered as it is (chat not found, bad request)."""


class TransientFailure(DeliveryError):
    """A network or server error before the message left; safe to retry later."""


class UncertainDelivery(DeliveryError):
    """The request left but no answer came back; resending could duplicate it."""


Download = Callable[[InboundFile], Awaitable[bytes]]
InviteLink = Callable[[str], str]
RolesChanged = Callable[[int], object]
# Called with the (channel, chat id) of every chat of someone just erased.
ChatsErased = Callable[[Sequence[tuple[str, str]]], object]


class Messengers:
    """What the running messengers offer the rest of Relais: the bytes of a file a person
    sent, the link that opens an invitation, and a fresh command menu for someone whose
    roles changed.

    Built before the services (which hold it) and filled in by the composition root as each
    messenger starts: a messenger knows its own name and link format only once it runs.
    """

    def __init__(self) -> None:
        self._downloads: dict[str, Download] = {}
        self._invite_links: dict[str, InviteLink] = {}
        # Called with a volunteer's id when their roles change (a list other services share).
        self.role_watchers: list[RolesChanged] = []
        # Called with the chats of someone erased, in the chat or not (the command line, the
        # retention job): a messenger forgets what it kept of their screen.
        self.erasure_watchers: list[ChatsErased] = []

    def serve(
        self,
        channel: str,
        *,
        download: Download | None = None,
        invite_link: InviteLink | None = None,
    ) -> None:
        """Register what `channel` offers (None: it offers no longer)."""
        if download is None:
            self._downloads.pop(channel, None)
        else:
            self._downloads[channel] = download
        if invite_link is None:
            self._invite_links.pop(channel, None)
        else:
            self._invite_links[channel] = invite_link

    def watch_roles(self, callback: RolesChanged) -> None:
        self.role_watchers.append(callback)

    def watch_erasures(self, callback: ChatsErased) -> None:
        self.erasure_watchers.append(callback)

    def downloader(self, channel: str) -> Download | None:
        """How to fetch the bytes of a file sent on `channel`; None if it cannot."""
        return self._downloads.get(channel)

    def invite_link(self, channel: str, code: str) -> str:
        """What to show for an invitation: a t.me link on Telegram, the command elsewhere."""
        link = self._invite_links.get(channel)
        return link(code) if link is not None else f"/start {code}"
