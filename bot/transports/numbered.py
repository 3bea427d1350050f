"""Choices as numbered lists, for messengers without buttons (Signal, the console).

Every message with choices gets a letter, and its choices are numbered with it: "B1.",
"B2." A person answers with the number alone ("2" is the newest message's second choice),
with letter and number ("A1" reaches an older message still on screen), with the choice's
own word ("accept"), or on Signal by quoting the message. Choices stay answerable while
the person types other things (a wrong answer, a question): only newer messages with
choices push the oldest out. When a question waits for a typed number, a bare number is
that number, never a position in a list. What the numbers stood for is kept per chat in
the database (`Board`), so a restart between question and answer changes nothing; a
letter or number that stands for nothing known any more is answered as expired.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from bot.i18n import _, use_language
from bot.messaging import Outbound
from bot.text import to_plain


class BoardStore(Protocol):
    """Where boards are kept between messages and restarts (`services.chats`, over the
    numbered_choices table)."""

    async def shown(self, channel: str, chat_id: str, now: datetime) -> tuple[Any, str]: ...

    async def keep_shown(
        self, channel: str, chat_id: str, shown: Any, request: str, now: datetime
    ) -> None: ...

    def erased(self, channel: str, chat_id: str) -> bool:
        """Whether this chat's person was just erased (/forget): the adapter keeps nothing
        of their screen either."""
        ...


# How many messages with choices stay answerable in one chat.
LIVE_OFFERS = 6
TAGS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0
_TAGGED = re.compile(r"^([A-HJ-NP-Za-hj-np-z])\s?-?\s?(\d{1,2})[.)]?$")


@dataclass(frozen=True, slots=True)
class Offer:
    """One message with choices as it was shown: its letter, messenger id, payloads, labels."""

    tag: str
    message_id: str
    payloads: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Board:
    """What a chat has on screen: the answerable messages (newest last) and what the
    newest question takes typed (`answer`) or asks for (`request`: location, contact)."""

    offers: tuple[Offer, ...] = ()
    answer: str = ""
    request: str = ""
    # False once a question without choices followed the newest list: a bare number then
    # answers that question, not the list.
    current: bool = True
    # A question (`answer`, `request`) asked and not yet answered: a list Relais sends on its
    # own meanwhile (a page, an offer) is reached by its letter only ("C2"), and a bare
    # number still answers the question.
    waiting: bool = False

    def __bool__(self) -> bool:
        return bool(self.offers or self.answer or self.request)

    def next_tag(self) -> str:
        """The letter for the next message with choices (after the newest one's)."""
        if not self.offers:
            return TAGS[0]
        used = {o.tag for o in self.offers}
        start = TAGS.index(self.offers[-1].tag) + 1 if self.offers[-1].tag in TAGS else 0
        for step in range(len(TAGS)):
            tag = TAGS[(start + step) % len(TAGS)]
            if tag not in used:
                return tag
        return TAGS[start % len(TAGS)]

    def shown(self, outbound: Outbound, message_id: str, tag: str = "") -> Board:
        """The board once `outbound` is on screen. A message with choices adds an offer; a
        question without them changes what is typed; anything else leaves it as it is.
        While a question waits for its answer, a list that is no question adds its offer
        behind the question's: bare numbers still answer the question."""
        payloads = tuple(c.data for row in outbound.choices for c in row if not c.url)
        asks = bool(outbound.answer or outbound.request)
        if payloads:
            offer = Offer(
                tag or self.next_tag(), message_id, payloads, tuple(choice_labels(outbound))
            )
            kept = tuple(o for o in self.offers if o.tag != offer.tag)[-(LIVE_OFFERS - 1) :]
            if self.aside(outbound):
                # The question's own list stays the newest: its numbers are the bare ones.
                offers = (*kept[:-1], offer, kept[-1]) if self.current and kept else (*kept, offer)
                return replace(self, offers=offers)
            return Board((*kept, offer), outbound.answer, outbound.request or "", waiting=asks)
        if asks:
            return replace(
                self,
                answer=outbound.answer,
                request=outbound.request or "",
                current=False,
                waiting=True,
            )
        return self

    def aside(self, outbound: Outbound) -> bool:
        """Whether `outbound`'s choices come while a question waits for its answer (a page,
        an offer): reached by their letter only, the question keeps the bare numbers."""
        return self.waiting and not (outbound.answer or outbound.request)

    def heard(self) -> Board:
        """The board once the person wrote or chose something: the question waiting is
        answered (or left), and what comes next may take the bare numbers again."""
        return replace(self, waiting=False) if self.waiting else self

    def stored(self) -> dict[str, Any]:
        """The board as the database keeps it (JSON), without the pending request."""
        offers = [
            {
                "tag": o.tag,
                "id": o.message_id,
                "choices": list(zip(o.payloads, o.labels, strict=True)),
            }
            for o in self.offers
        ]
        if not offers and not self.answer:
            return {}
        kept = {"offers": offers, "answer": self.answer, "current": self.current}
        return {**kept, "waiting": True} if self.waiting else kept

    @classmethod
    def restored(cls, stored: Any, request: str = "") -> Board:
        """A board read back; a list of [payload, label] pairs is how one message was kept
        before letters existed."""
        if isinstance(stored, list):
            stored = {"offers": [{"tag": "A", "id": "", "choices": stored}] if stored else []}
        if not isinstance(stored, dict):
            return cls(request=request)
        offers = tuple(
            Offer(
                str(o["tag"]),
                str(o.get("id", "")),
                tuple(str(p) for p, _label in o["choices"]),
                tuple(str(label) for _p, label in o["choices"]),
            )
            for o in stored.get("offers", [])
        )
        answer, current = str(stored.get("answer", "")), bool(stored.get("current", True))
        return cls(offers, answer, request, current, bool(stored.get("waiting", False)))

    def without(self, tag: str) -> Board:
        """The board once the message `tag` is replaced (its button's answer edits it)."""
        return replace(self, offers=tuple(o for o in self.offers if o.tag != tag))

    def find(self, tag: str = "", message_id: str = "") -> Offer | None:
        for offer in self.offers:
            if (tag and offer.tag == tag.upper()) or (
                message_id and offer.message_id == message_id
            ):
                return offer
        return None


@dataclass(frozen=True, slots=True)
class Reading:
    """How a typed line reads against the board: a choice (with the offer it came from),
    plain text, or a reference to a choice that is no longer known (`stale`)."""

    choice: str = ""
    offer: Offer | None = None
    stale: bool = False


def read(text: str, board: Board, quoted: str = "") -> Reading:
    """What a line typed in a chat means, given what the chat has on screen.

    `quoted` is the messenger id of the message the person quoted (Signal), if any.
    """
    answer = _words(text.replace("\ufe0f", "").replace("\u20e3", ""))
    if quoted:
        offer = board.find(message_id=quoted)
        if offer is None:
            return Reading(stale=_looks_like_a_choice(answer))
        choice = resolve_numbered(text, list(offer.payloads), list(offer.labels))
        return Reading(choice, offer) if choice else Reading()
    if match := _TAGGED.match(text.strip()):
        offer = board.find(tag=match[1])
        if offer is not None:
            index = int(match[2])
            if 1 <= index <= len(offer.payloads):
                return Reading(offer.payloads[index - 1], offer)
            return Reading()
        # A letter and a number where a text is expected can be a text ("B2" as a name).
        return Reading(stale=board.answer != "text")
    newest = board.offers[-1] if board.offers else None
    if answer.isdigit() and answer.isascii():
        if board.answer == "number" or (board.answer and not board.current):
            return Reading()  # a count, a date…: the number itself, never a list position
        if newest is None:
            return Reading(stale=len(answer) <= 2 and not board.answer)
        choice = resolve_numbered(answer, list(newest.payloads), list(newest.labels))
        return Reading(choice, newest) if choice else Reading()
    if newest is None or (board.answer and not board.current):
        # A question without choices followed the lists: what is typed is its answer (a
        # date, a name), even a word of an older label ("maintenant", "Envoyer maintenant").
        return Reading()
    # A question that takes typed text as well as its choices gets a choice's whole label
    # only: one word of it may well be the answer.
    payloads, labels = list(newest.payloads), list(newest.labels)
    choice = resolve_numbered(text, payloads, labels, whole=bool(board.answer))
    return Reading(choice, newest) if choice else Reading()


def _looks_like_a_choice(answer: str) -> bool:
    return answer.isdigit() and len(answer) <= 2


def render_numbered(
    outbound: Outbound, tag: str = "", *, aside: bool = False
) -> tuple[str, list[str]]:
    """Plain text with the choices numbered (after `tag`), and the payloads in order; the
    hints in the reader's language. `aside`: a question waits for its answer, so these
    choices are answered with their letter ("C1"), and the hint says so."""
    with use_language(outbound.language):
        return _render(outbound, tag, aside)


def _render(outbound: Outbound, tag: str, aside: bool = False) -> tuple[str, list[str]]:
    text = to_plain(outbound.text)
    payloads: list[str] = []
    lines: list[str] = []
    for row in outbound.choices:
        for choice in row:
            if choice.url:
                lines.append(f"• {choice.label}: {choice.url}")
                continue
            payloads.append(choice.data)
            lines.append(f"{tag}{len(payloads)}. {choice.label}")
    if lines:
        text = f"{text}\n\n" + "\n".join(lines) if text else "\n".join(lines)
        if payloads and aside and tag:
            text += "\n" + _(
                "(a question above still waits for your answer: for this list, reply with "
                "its letter and number, e.g. {code})"
            ).format(code=f"{tag}1")
        elif payloads:
            text += "\n" + _("(reply with a number)")
    if outbound.request == "location":
        text += "\n" + _("(send your location, or type a town or postcode)")
    elif outbound.request == "contact":
        text += "\n" + _("(type your phone number)")
    return text, payloads


def acted_on(offer: Offer, choice: str) -> str:
    """A line saying which message and choice a typed answer was taken for ("↪ B2 · Pause")."""
    index = offer.payloads.index(choice) if choice in offer.payloads else 0
    return f"↪ {offer.tag}{index + 1} · {offer.labels[index] if offer.labels else ''}".rstrip()


def resolve_numbered(
    text: str, payloads: list[str], labels: list[str] | None = None, *, whole: bool = False
) -> str:
    """The payload a reply like '2' (or the choice's own word) stands for, or ''.

    '2', '2.', '#2' and the keycap emoji 2️⃣ are the second choice. A word matches a choice
    whose whole label it is ('accept' for '✅ Accept'), or failing that (unless `whole`) the
    one label that contains it as a distinctive word: one no other label has, and no small
    word like "de" or "the". Case, accents, emoji and punctuation are ignored.
    """
    answer = _words(text.replace("\ufe0f", "").replace("\u20e3", ""))
    if answer.isdigit() and answer.isascii():
        index = int(answer)
        return payloads[index - 1] if 1 <= index <= len(payloads) else ""
    if not answer or not labels:
        return ""
    pairs = list(zip((_words(label) for label in labels), payloads, strict=False))
    for words, payload in pairs:
        if words and answer == words:
            return payload
    if whole or " " in answer or answer in _SMALL_WORDS:
        return ""
    found = [payload for words, payload in pairs if answer in words.split()]
    return found[0] if len(found) == 1 else ""


# Words too small to name a choice on their own, whatever label they are in.
_SMALL = """a au aux avec ce d de des du en et j je l la le les m ma me mes mon n ne ou par
pas pour s sa se ses son sur t ta te tes ton un une y
an and as at by for i in it me my of on or our the to with you your"""
_SMALL_WORDS = frozenset(_SMALL.split())


def _words(text: str) -> str:
    """Lower-case words without accents, emoji or punctuation, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", to_plain(text).casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", letters))


def choice_labels(outbound: Outbound) -> list[str]:
    """Labels of the non-link choices, in the same order as `render_numbered` payloads."""
    return [c.label for row in outbound.choices for c in row if not c.url]


def board_after(
    board: Board, shown: Iterable[tuple[Outbound, str, str]], replaced: str = ""
) -> Board:
    """The board after a reply: `replaced` is the tag of the message the answer edits (its
    choices are used up), `shown` the messages sent with their ids and tags."""
    if replaced:
        board = board.without(replaced)
    for outbound, message_id, tag in shown:
        board = board.shown(outbound, message_id, tag)
    return board
