"""Chat state across updates: replays dropped, flows in progress, activity noted.

An update is handled as one turn, in one unit of work (bot/storage/backend.py). Its start
reads, in one round trip, whether the update was handled already and the chat's flow in
progress. Everything the update writes — the use case's changes, the update's key, the
flow's new step, the volunteer's activity and, on a messenger whose lane takes them, the
answers it owes (outbox rows already in this process's hands) — is one transaction,
committed at its end: a kill -9 keeps all of it or none of it. Killed before, nothing says
the update was handled and it is handled again when it comes back; killed after, its
answers are on disk and the sender sends them at the next start. An update that changes
nothing (/help, a menu) writes nothing and costs no fsync: handled again after a restart,
it answers the same words and changes nothing.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.conversation import Conversation
from bot.domain.messages import Delivery, Envelope
from bot.storage.backend import Conflict, Store, Tx, Unit
from bot.storage.conversations import ChatState, ConversationRepository, UpdateLog
from bot.storage.kept_updates import KeptUpdates
from bot.storage.numbered import ShownChoicesRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.volunteers import VolunteerRepository

if TYPE_CHECKING:
    from bot.services.people import Actor

# last_active_at is written at most this often per volunteer (retention counts in days).
ACTIVITY_GRANULARITY = timedelta(minutes=10)
# How long a handled update's key is kept against replays: Telegram keeps updates 24 hours.
KEYS_KEPT = timedelta(days=2)
# Keys of recent updates remembered in memory, so a replay in the same run costs no read.
RECENT_KEYS = 10_000
# Chats whose person an update just erased, remembered until their next update.
ERASED_CHATS = 1_000


class Replayed(Exception):
    """This update was handled already (by this process earlier, or by another one)."""


@dataclass(slots=True, eq=False)
class Turn:
    """One update being handled: its key, its chat, and its flow as it stands."""

    key: str
    channel: str
    chat_id: str
    now: datetime
    conversation: Conversation | None
    # The flow was started, moved or finished during the update (written at its end).
    moved: bool = False
    unit: Unit | None = field(default=None, repr=False)

    def move(self, conversation: Conversation | None) -> None:
        self.conversation = conversation
        self.moved = True

    async def close(self) -> None:
        """End the update's unit if `ChatService.end` did not: an error ended the update,
        and what it wrote is rolled back ("Nothing was changed")."""
        unit, self.unit = self.unit, None
        if unit is not None and unit.open:
            await unit.rollback()


class ChatService:
    """Replays, flows in progress and activity, one turn per update."""

    def __init__(self, db: Store, boards: ShownChoicesRepository) -> None:
        self._db = db
        self._state = ChatState(db)
        self._conversations = ConversationRepository(db)
        self._updates = UpdateLog(db)
        self._answers = OutboxRepository(db)
        self._kept = KeptUpdates(db)
        # Numbered lists shown on Signal and the console, so "2" maps back to a choice.
        self._boards = boards
        self._recent: OrderedDict[str, None] = OrderedDict()
        # Chats whose person an update erased (/forget): their answers are still shown, and
        # what those leave on screen is kept by neither the database nor the messenger.
        self._erased: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def begin(
        self, key: str, channel: str, chat_id: str, now: datetime, *, private: bool
    ) -> Turn:
        """Start handling an update; Replayed if it was handled already."""
        if key and key in self._recent:
            raise Replayed(key)
        seen, conversation = await self._state.read(key, channel, chat_id, now, flow=private)
        if seen:
            raise Replayed(key)
        self._erased.pop((channel, chat_id), None)  # what comes now is kept again
        return Turn(key, channel, chat_id, now, conversation, unit=Unit())

    async def end(
        self,
        turn: Turn,
        actor: Actor,
        answers: Sequence[Envelope] = (),
        *,
        in_hand: bool = True,
        hand: Callable[[list[Delivery]], None] | None = None,
    ) -> list[Delivery]:
        """Write what the update leaves behind with what it changed, and commit it all.
        `hand` takes the rows written in hand right after the commit, before the work that
        waited for it (a role menu's refresh over the network).

        `answers` are written too when the update writes anything (in the hands of this
        process's lane: returned, to be handed to it); an update that wrote nothing keeps
        them in memory (handled again, it would answer the same) and gets [] back. Not
        `in_hand` (several processes): always written, for whichever process sends."""
        unit, turn.unit = turn.unit, None
        volunteer = actor.volunteer
        active = volunteer is not None and (
            turn.now - volunteer.last_active_at > ACTIVITY_GRANULARITY
        )
        queued: list[Delivery] = []
        try:
            if unit is not None and unit.tx is not None:
                if unit.erased:
                    answers = _marked_erased(answers, unit.erased)
                    # Before the commit: its answers go out right after it.
                    self._note_erased(unit.erased)
                queued = await self._leave(unit.tx, turn, actor, active, answers, in_hand)
            elif turn.moved or active or actor.unreachable or (answers and not in_hand):
                # (Answers for another process's sender are written anyway: with the key,
                # in one transaction, rather than in one of their own.)
                if unit is not None:
                    unit.only_writes = True
                async with self._db.transaction() as tx:
                    queued = await self._leave(tx, turn, actor, active, answers, in_hand)
            if unit is not None:
                await unit.commit((lambda: hand(queued)) if hand is not None and queued else None)
            elif hand is not None and queued:
                hand(queued)
        except Conflict:
            # The key was noted meanwhile (another process handled the same update).
            raise Replayed(turn.key) from None
        finally:
            if unit is not None and unit.open:
                await unit.rollback()
        self._remember(turn.key)
        return queued

    async def _leave(
        self,
        tx: Tx,
        turn: Turn,
        actor: Actor,
        active: bool,
        answers: Sequence[Envelope],
        in_hand: bool,
    ) -> list[Delivery]:
        # These ride with the answers' INSERT, or with the COMMIT: one round trip for all.
        if turn.key:
            UpdateLog.note(tx, turn.key, turn.now)
        if turn.moved:
            self._save(tx, turn)
        volunteer = actor.volunteer
        if active and volunteer is not None:
            VolunteerRepository.mark_active(tx, volunteer.id, turn.now)
        if actor.unreachable:
            identity = actor.identity
            VolunteerRepository.mark_reachable(tx, identity.channel, identity.user_id)
        return await OutboxRepository.add_answers(tx, answers, turn.now, in_hand=in_hand)

    def _save(self, tx: Tx, turn: Turn) -> None:
        if turn.conversation is None:
            ConversationRepository.delete(tx, turn.channel, turn.chat_id)
        else:
            ConversationRepository.put(tx, turn.channel, turn.chat_id, turn.conversation, turn.now)

    def _note_erased(self, chats: Iterable[tuple[str, str]]) -> None:
        for chat in chats:
            self._erased[chat] = None
        while len(self._erased) > ERASED_CHATS:
            self._erased.popitem(last=False)

    def _remember(self, key: str) -> None:
        if not key:
            return
        self._recent[key] = None
        if len(self._recent) > RECENT_KEYS:
            self._recent.popitem(last=False)

    # -- updates acknowledged before they are handled ------------------------------------

    def inbox(self, channel: str, now: Callable[[], datetime]) -> Inbox:
        """Where a messenger's transport keeps the updates it acknowledges before handling
        them (a slow one must not hold back every other chat's)."""
        return Inbox(self._kept, channel, now)

    # -- numbered choices, for messengers without buttons (the transports' BoardStore) ------

    async def shown(self, channel: str, chat_id: str, now: datetime) -> tuple[Any, str]:
        """The numbered choices a chat has on screen and the request pending ([], "")."""
        return await self._boards.get(channel, chat_id, now)

    async def keep_shown(
        self, channel: str, chat_id: str, shown: Any, request: str, now: datetime
    ) -> None:
        """Remember what a chat now has on screen (nothing shown and no request forgets it);
        nothing for a chat whose person was just erased."""
        if self.erased(channel, chat_id):
            return  # the erasure deleted it; the answer to /forget does not write it back
        await self._boards.put(channel, chat_id, shown, request, now)

    def erased(self, channel: str, chat_id: str) -> bool:
        """Whether an update just erased this chat's person (/forget), until the chat's next
        update: nothing of what their screen shows may be kept."""
        return (channel, chat_id) in self._erased

    async def tidy(self, now: datetime) -> None:
        """Forget expired flows and numbered lists, update keys older than Telegram keeps
        updates and the answers sent as long ago (their words may be someone's data); then
        fold into the file an erasure a long read held back."""
        await self._conversations.purge_expired(now)
        await self._updates.forget_before(now - KEYS_KEPT)
        await self._answers.forget_answers_before(now - KEYS_KEPT)
        await self._boards.purge_expired(now)
        await self._db.checkpoint_if_owed()


class Inbox:
    """One messenger's kept updates, as the JSON it sent: kept before they are
    acknowledged, handled again at the next start if the process dies first (a second
    handling of one that was is a replay, dropped), forgotten once handled."""

    def __init__(self, kept: KeptUpdates, channel: str, now: Callable[[], datetime]) -> None:
        self._kept = kept
        self._channel = channel
        self._now = now

    async def keep(self, updates: Sequence[dict[str, Any]]) -> list[int]:
        """Keep these updates durably; what names each of them until it is handled."""
        payloads = [json.dumps(update, ensure_ascii=False) for update in updates]
        return await self._kept.keep(self._channel, payloads, self._now())

    async def kept(self) -> list[tuple[int, dict[str, Any]]]:
        """The updates a process kept and did not handle, in the order they came."""
        return [(row, json.loads(payload)) for row, payload in await self._kept.kept(self._channel)]

    async def handled(self, rows: Sequence[int]) -> None:
        """These kept updates were handled: forget them."""
        await self._kept.drop(rows)


def _marked_erased(
    answers: Sequence[Envelope], erased: dict[tuple[str, str], int]
) -> list[Envelope]:
    """Answers to a chat whose person the update erased carry who that was: once sent,
    the outbox keeps nothing of where they went (`settle_many`)."""
    return [
        replace(e, volunteer_id=erased[(e.channel, e.chat_id)])
        if e.volunteer_id is None and (e.channel, e.chat_id) in erased
        else e
        for e in answers
    ]
