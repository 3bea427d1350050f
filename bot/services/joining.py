"""Joining the campaign: consent given (with the invitation that brought someone, if any),
and a member's /start again, with a code to use on the way.

Each is one use case for the joining flow: the consent and the invitation are recorded by
one call, and the flow words what came of both (handlers/joining_text.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.teams import InviteProblem, Redeemed, TeamService
from bot.services.volunteers import Agreement, Return, Volunteer, VolunteerService


@dataclass(frozen=True, slots=True)
class Invitation:
    """What an invitation code did for the person who used it: `redeemed`, or the
    `problem` saying why it could not be used (joining goes on without it)."""

    redeemed: Redeemed | None = None
    problem: InviteProblem | None = None


@dataclass(frozen=True, slots=True)
class Joined:
    """Someone who just agreed to the privacy notice, and their invitation's outcome."""

    volunteer: Volunteer
    invitation: Invitation | None = None


@dataclass(frozen=True, slots=True)
class Restart:
    """Someone who sends /start again: their invitation's outcome, and for a member (not
    someone still answering the questions) how they come back."""

    invitation: Invitation | None
    back: Return | None


class JoiningService:
    """Consent and invitations, as the joining flow asks for them."""

    def __init__(self, profiles: VolunteerService, teams: TeamService) -> None:
        self._profiles = profiles
        self._teams = teams

    async def agree(
        self, volunteer: Volunteer | None, agreement: Agreement, invite: str = ""
    ) -> Joined:
        """Record the consent to the notice they were shown: the volunteer is created
        unless they are known already; then their invitation, if any, is used."""
        if volunteer is None or volunteer.status == "erased":
            volunteer = await self._profiles.join(agreement)
        invitation = await self._use(volunteer, invite, new_member=True) if invite else None
        return Joined(volunteer, invitation)

    async def restart(self, volunteer: Volunteer, invite: str = "") -> Restart:
        """/start from someone known: their code is used (a recruiter gets credit only for
        someone still joining); a member is asked to consent again if the notice changed,
        or gets their messages back if they had stopped."""
        onboarding = volunteer.status == "onboarding"
        invitation = await self._use(volunteer, invite, new_member=onboarding) if invite else None
        back = None if onboarding else await self._profiles.come_back(volunteer)
        return Restart(invitation, back)

    async def _use(self, volunteer: Volunteer, code: str, *, new_member: bool) -> Invitation:
        try:
            return Invitation(await self._teams.redeem(volunteer, code, new_member=new_member))
        except InviteProblem as problem:
            return Invitation(problem=problem)
