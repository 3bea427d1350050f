"""Who is talking: their volunteer record, their roles, and what they may do."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Identity
from bot.messaging import RolesChanged
from bot.storage.backend import after_commit
from bot.storage.link import LinkRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.volunteers import Address, Role, Volunteer, VolunteerRepository

log = logging.getLogger(__name__)

VOLUNTEER, ORGANIZER, ADMIN = "volunteer", "organizer", "admin"
RANK = {VOLUNTEER: 0, ORGANIZER: 1, ADMIN: 2}
# Who acts when Relais itself or the admin command line does something.
SYSTEM = Identity("system", "relais")


async def roles_changed(hooks: Iterable[RolesChanged], volunteer_id: int) -> None:
    """Tell the messengers someone's roles changed (a command menu to refresh), once the
    update's transaction is committed: the hooks call messengers, and may be coroutines."""

    async def tell() -> None:
        for hook in hooks:
            try:
                result = hook(volunteer_id)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("roles_changed hook failed for volunteer %s", volunteer_id)

    await after_commit(tell)


class NotAllowed(Exception):
    """The actor's role does not allow this; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind an update, resolved once per update."""

    identity: Identity
    chat_id: str
    volunteer: Volunteer | None
    roles: tuple[Role, ...]
    is_admin: bool
    # This identity was marked unreachable (blocked the bot); writing to us undoes it.
    unreachable: bool = False
    # How many messenger accounts the volunteer has (several once linked with /link).
    accounts: int = 0

    @property
    def volunteer_id(self) -> int | None:
        return self.volunteer.id if self.volunteer else None

    @property
    def is_organizer(self) -> bool:
        return self.is_admin or any(r.role == ORGANIZER for r in self.roles)

    @property
    def is_comms(self) -> bool:
        return self.is_admin or any(r.role == "comms" for r in self.roles)

    @property
    def rank(self) -> str:
        """The highest role: volunteer, organizer or admin."""
        if self.is_admin:
            return ADMIN
        # The comms team organizes too (alerts, ripostes), even without a team of its own.
        return ORGANIZER if self.is_organizer or self.is_comms else VOLUNTEER

    def team_scope(self) -> frozenset[int] | None:
        """Teams this organizer acts on; None means every team (admins)."""
        if self.is_admin:
            return None
        return frozenset(r.team_id for r in self.roles if r.role == ORGANIZER and r.team_id)

    def require(self, rank: str) -> None:
        """Raise NotAllowed unless the actor holds at least this rank."""
        if RANK[self.rank] < RANK[rank]:
            raise NotAllowed(rank)

    @property
    def is_system(self) -> bool:
        return self.identity == SYSTEM

    @classmethod
    def system(cls) -> Actor:
        """Relais itself, or the admin at the command line: every right, every team, and
        no volunteer record (the audit log names nobody)."""
        return cls(SYSTEM, "", None, (), is_admin=True)


class Admins:
    """Who is an admin by configuration: RELAIS_ADMINS, plus the Signal account of each
    admin it names by phone number, learned when they first write (Signal names people by
    an account id, and says their number only alongside)."""

    def __init__(self, configured: frozenset[Identity]) -> None:
        self._known = set(configured)

    def __contains__(self, identity: object) -> bool:
        return identity in self._known

    def __iter__(self) -> Iterator[Identity]:
        return iter(sorted(self._known, key=str))

    def learn_signal_account(self, account: str, number: str) -> None:
        """`account` wrote from `number`: an admin if that number is one."""
        if number and Identity("signal", number) in self._known:
            self._known.add(Identity("signal", account))


class PeopleService:
    """Who people are: actors from identities, their messenger accounts, where admins are
    reached, and who blocked Relais."""

    def __init__(
        self,
        admins: Admins,
        clock: Clock,
        volunteers: VolunteerRepository,
        links: LinkRepository,
        outbox: OutboxRepository,
    ) -> None:
        self.admins = admins
        self._clock = clock
        self._volunteers = volunteers
        self._links = links
        self._outbox = outbox

    async def actor(self, identity: Identity, chat_id: str) -> Actor:
        volunteer, unreachable, roles, accounts = await self._volunteers.actor_at(
            identity.channel, identity.user_id
        )
        is_admin = identity in self.admins or any(r.role == ADMIN for r in roles)
        return Actor(identity, chat_id, volunteer, roles, is_admin, unreachable, accounts)

    async def known_as(self, identity: Identity) -> Volunteer | None:
        """The volunteer behind a messenger identity, if they joined."""
        return await self._volunteers.by_identity(identity.channel, identity.user_id)

    async def accounts(self, volunteer_id: int) -> list[tuple[str, str, str]]:
        """(channel, user_id, chat_id) of every messenger account of a volunteer."""
        return await self._volunteers.identities(volunteer_id)

    async def blocked(self, channel: str, chat_id: str) -> None:
        """The messenger says this chat blocked Relais: nothing unprompted goes there, and
        what waits for it in the outbox is dropped, until the person writes again."""
        await self._outbox.mark_unreachable(channel, chat_id, self._clock.now())

    async def admin_addresses(self) -> list[tuple[Address | None, Identity, str | None]]:
        """One address per admin (preferred messenger first), configured or by role, with
        their language if they joined; an admin who has not joined yet is written to at
        the identity as configured (no address)."""
        found: dict[tuple[str, str], tuple[Address | None, Identity, str | None]] = {}
        people: set[int] = set()
        for admin in self.admins:
            if admin.channel == "console":
                continue
            volunteer = await self._volunteers.by_identity(admin.channel, admin.user_id)
            if volunteer is not None:
                if volunteer.id in people:
                    continue
                addresses = await self._volunteers.addresses(volunteer.id)
                if addresses:
                    people.add(volunteer.id)
                    first = addresses[0]
                    found.setdefault(
                        (first.channel, first.chat_id), (first, admin, volunteer.language)
                    )
                    continue
            found.setdefault((admin.channel, admin.user_id), (None, admin, None))
        for address in await self._links.admin_addresses():
            if address.volunteer_id in people:
                continue
            people.add(address.volunteer_id)
            identity = Identity(address.channel, address.chat_id)
            volunteer = await self._volunteers.get(address.volunteer_id)
            language = volunteer.language if volunteer else None
            found.setdefault((address.channel, address.chat_id), (address, identity, language))
        return list(found.values())
