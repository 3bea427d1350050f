"""Chat state across updates: replays dropped, flows in progress, activity noted.

An update is handled as one turn. Its start reads, in one round trip, whether the update
was handled already and the chat's flow in progress. Its end writes, in at most one
transaction, what must outlive the process: the update's key, the flow's new step, the
volunteer's activity. The key is written with the first thing the update changes (in that
same transaction when a service writes first), so a crash keeps the change and the key
together or neither; an update that changes nothing (/help, a menu) writes nothing and
costs no fsync. It was never acknowledged as a change, so handling it again after a
restart answers the same words and changes nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.conversation import Conversation
from bot.storage.backend import FIRST_WRITE, FirstWrite, Store, Tx
from bot.storage.conversations import ChatState, ConversationRepository, UpdateLog
from bot.storage.numbered import ShownChoicesRepository
from bot.storage.volunteers import VolunteerRepository

if TYPE_CHECKING:
    from contextvars import Token

    from bot.services.people import Actor

# last_active_at is written at most this often per volunteer (retention counts in days).
ACTIVITY_GRANULARITY = timedelta(minutes=10)
# How long a handled update's key is kept against replays: Telegram keeps updates 24 hours.
KEYS_KEPT = timedelta(days=2)
# Keys of recent updates remembered in memory, so a replay in the same run costs no read.
RECENT_KEYS = 10_000


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
    rider: FirstWrite | None = None
    token: Token[FirstWrite | None] | None = field(default=None, repr=False)

    def move(self, conversation: Conversation | None) -> None:
        self.conversation = conversation
        self.moved = True

    def close(self) -> None:
        """Stop carrying the key into transactions (the update is over, however it ended)."""
        if self.rider is not None:
            self.rider.open = False
        if self.token is not None:
            FIRST_WRITE.reset(self.token)
            self.token = None


class ChatService:
    """Replays, flows in progress and activity, one turn per update."""

    def __init__(self, db: Store, boards: ShownChoicesRepository) -> None:
        self._db = db
        self._state = ChatState(db)
        self._conversations = ConversationRepository(db)
        self._updates = UpdateLog(db)
        # Numbered lists shown on Signal and the console, so "2" maps back to a choice.
        self._boards = boards
        self._recent: OrderedDict[str, None] = OrderedDict()

    async def begin(
        self, key: str, channel: str, chat_id: str, now: datetime, *, private: bool
    ) -> Turn:
        """Start handling an update; Replayed if it was handled already."""
        if key and key in self._recent:
            raise Replayed(key)
        seen, conversation = await self._state.read(key, channel, chat_id, now, flow=private)
        if seen:
            raise Replayed(key)
        turn = Turn(key, channel, chat_id, now, conversation)
        if key:

            async def note_key(tx: Tx) -> None:
                if not await UpdateLog.record(tx, key, now):
                    raise Replayed(key)

            turn.rider = FirstWrite(note_key)
            turn.token = FIRST_WRITE.set(turn.rider)
        return turn

    async def end(self, turn: Turn, actor: Actor) -> None:
        """Write what the update leaves behind, in one transaction if there is any."""
        turn.close()
        volunteer = actor.volunteer
        active = volunteer is not None and (
            turn.now - volunteer.last_active_at > ACTIVITY_GRANULARITY
        )
        key_owed = bool(turn.key) and turn.rider is not None and not turn.rider.written
        if turn.moved or active or actor.unreachable:
            async with self._db.transaction() as tx:
                if key_owed and not await UpdateLog.record(tx, turn.key, turn.now):
                    raise Replayed(turn.key)
                if turn.moved:
                    await self._save(tx, turn)
                if active and volunteer is not None:
                    await VolunteerRepository.mark_active(tx, volunteer.id, turn.now)
                if actor.unreachable:
                    identity = actor.identity
                    await VolunteerRepository.mark_reachable(tx, identity.channel, identity.user_id)
        self._remember(turn.key)

    async def _save(self, tx: Tx, turn: Turn) -> None:
        if turn.conversation is None:
            await ConversationRepository.delete(tx, turn.channel, turn.chat_id)
        else:
            await ConversationRepository.put(
                tx, turn.channel, turn.chat_id, turn.conversation, turn.now
            )

    def _remember(self, key: str) -> None:
        if not key:
            return
        self._recent[key] = None
        if len(self._recent) > RECENT_KEYS:
            self._recent.popitem(last=False)

    # -- numbered choices, for messengers without buttons (the transports' BoardStore) ------

    async def shown(self, channel: str, chat_id: str, now: datetime) -> tuple[Any, str]:
        """The numbered choices a chat has on screen and the request pending ([], "")."""
        return await self._boards.get(channel, chat_id, now)

    async def keep_shown(
        self, channel: str, chat_id: str, shown: Any, request: str, now: datetime
    ) -> None:
        """Remember what a chat now has on screen (nothing shown and no request forgets it)."""
        await self._boards.put(channel, chat_id, shown, request, now)

    async def tidy(self, now: datetime) -> None:
        """Forget expired flows and numbered lists and update keys older than Telegram
        keeps updates; then fold into the file an erasure a long read held back."""
        await self._conversations.purge_expired(now)
        await self._updates.forget_before(now - KEYS_KEPT)
        await self._boards.purge_expired(now)
        await self._db.checkpoint_if_owed()
