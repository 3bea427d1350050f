"""Joining the campaign: consent given (with the invitation that brought someone, if any),
each question answered (the same questions edit the profile), and a member's /start again,
with a code to use on the way.

Each is one use case for the joining flow: the consent and the invitation are recorded by
one call, an answer and what it leads to (the end of joining, or the profile card shown
again) by one call, and the flow words what came of them (handlers/joining_text.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.teams import InviteProblem, Membership, Redeemed, TeamService
from bot.services.volunteers import (
    Agreement,
    Invalid,
    Return,
    Volunteer,
    VolunteerService,
    next_step,
)

# An answer as the flow took it: a typed name or place, a shared location (latitude,
# longitude), a commune's code picked among homonyms, or the codes ticked.
Answer = str | tuple[float, float] | set[str]


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
class Answered:
    """A question of the joining flow answered: the volunteer as they are now (active once
    nothing is left to ask), and for an answer given from /profile, what else the profile
    card shows (their teams, roles and recruits)."""

    volunteer: Volunteer
    membership: Membership | None = None


@dataclass(frozen=True, slots=True)
class Restart:
    """Someone who sends /start again: their invitation's outcome, and for a member (not
    someone still answering the questions) how they come back."""

    invitation: Invitation | None
    back: Return | None
    # Someone still joining, as they are now (active if nothing was left to ask).
    volunteer: Volunteer | None = None


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
        return Joined(await self._finished(volunteer), invitation)

    async def answer(
        self, volunteer: Volunteer, step: str, answer: Answer, *, from_profile: bool = False
    ) -> Answered:
        """Record the answer to `step`: "name", "where" (a typed place, or a shared
        location), "commune" (picked among homonyms), "skills" or "availability". The last
        question answered, someone joining becomes active; from /profile, the answer comes
        back with their membership, for the card shown again. Refusals are the profile's
        (`Invalid`, `Ambiguous` with the homonyms to offer); nothing is saved then."""
        volunteer = await self._finished(await self._record(volunteer, step, answer))
        membership = await self._teams.membership(volunteer) if from_profile else None
        return Answered(volunteer, membership)

    async def _record(self, volunteer: Volunteer, step: str, answer: Answer) -> Volunteer:
        profiles = self._profiles
        if step == "name" and isinstance(answer, str):
            return await profiles.set_name(volunteer, answer)
        if step == "where" and isinstance(answer, tuple):
            return await profiles.set_location(volunteer, *answer)
        if step == "where" and isinstance(answer, str):
            return await profiles.set_place(volunteer, answer)
        if step == "commune" and isinstance(answer, str):
            return await profiles.set_commune(volunteer, answer)
        if step == "skills" and isinstance(answer, set):
            return await profiles.set_skills(volunteer, answer)
        if step == "availability" and isinstance(answer, set):
            return await profiles.set_availability(volunteer, answer)
        raise Invalid("button.expired")

    async def _finished(self, volunteer: Volunteer) -> Volunteer:
        """Someone joining who has answered everything becomes active."""
        if volunteer.status == "onboarding" and next_step(volunteer) is None:
            return await self._profiles.finish_onboarding(volunteer)
        return volunteer

    async def restart(self, volunteer: Volunteer, invite: str = "") -> Restart:
        """/start from someone known: their code is used (a recruiter gets credit only for
        someone still joining, who comes back as they are now); a member is asked to
        consent again if the notice changed, or gets their messages back if they had
        stopped."""
        onboarding = volunteer.status == "onboarding"
        invitation = await self._use(volunteer, invite, new_member=onboarding) if invite else None
        if onboarding:
            return Restart(invitation, None, await self._finished(volunteer))
        return Restart(invitation, await self._profiles.come_back(volunteer))

    async def _use(self, volunteer: Volunteer, code: str, *, new_member: bool) -> Invitation:
        try:
            return Invitation(await self._teams.redeem(volunteer, code, new_member=new_member))
        except InviteProblem as problem:
            return Invitation(problem=problem)
