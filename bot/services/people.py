"""Who is talking: their volunteer record, their roles, and what they may do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.config import Identity
from bot.storage.volunteers import Role, Volunteer, VolunteerRepository

VOLUNTEER, ORGANIZER, ADMIN = "volunteer", "organizer", "admin"
RANK = {VOLUNTEER: 0, ORGANIZER: 1, ADMIN: 2}
# Who acts when Relais itself or the admin command line does something.
SYSTEM = Identity("system", "relais")


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
    """Resolves actors from identities."""

    def __init__(self, admins: Admins, volunteers: VolunteerRepository) -> None:
        self.admins = admins
        self.volunteers = volunteers

    async def actor(self, identity: Identity, chat_id: str) -> Actor:
        volunteer, unreachable = await self.volunteers.by_identity_with_reach(
            identity.channel, identity.user_id
        )
        roles = await self.volunteers.roles(volunteer.id) if volunteer else ()
        is_admin = identity in self.admins or any(r.role == ADMIN for r in roles)
        return Actor(identity, chat_id, volunteer, roles, is_admin, unreachable)
