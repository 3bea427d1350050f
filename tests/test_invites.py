"""Deep links: /start CODE joins a team, makes an organizer, or credits a recruiter."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from bot.config import Identity
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.test_onboarding import join

ChatFactory = Callable[..., Chat]
CODE = re.compile(r"/start ([A-Za-z0-9_-]+)")


def code_in(text: str) -> str:
    match = CODE.search(text)
    assert match, text
    return match[1]


async def finish_joining(c: Chat) -> None:
    await c.tap("ob:consent:yes")
    await c.tap("ob:name:keep")
    await c.send("69003")
    await c.tap("ob:skill:share")
    await c.tap("ob:skill:done")
    await c.tap("ob:avail:weekends")
    await c.tap("ob:avail:done")


async def test_a_team_link_made_by_an_organizer_lets_a_newcomer_join_the_team(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "10", teams=("Lyon 3e",), team_role="organizer")
    olga = chat("10", language="fr")
    await olga.send("/invite")
    await olga.tap("Lien d'inscription : Lyon 3e")
    assert "Lien pour rejoindre Lyon 3e (valable 30 jours, jusqu'à 500 personnes)" in olga.last_text
    code = code_in(olga.last_text)
    assert 32 <= len(code) <= 64

    newcomer = chat("11", language="fr", first_name="Noé")
    await newcomer.send(f"/start {code}")
    assert "Bonjour Noé" in newcomer.last_text
    await newcomer.tap("Français")
    await finish_joining(newcomer)
    assert "Vous avez rejoint l'équipe Lyon 3e." in newcomer.texts()
    assert "Bienvenue dans l'équipe, Noé" in newcomer.last_text
    volunteer = await services.volunteers.by_identity("telegram", "11")
    assert volunteer is not None
    assert [t.name for t in await services.team_repo.of_volunteer(volunteer.id)] == ["Lyon 3e"]
    invite = await services.team_repo.invite(code)
    assert invite is not None and invite.uses == 1


async def test_an_organizer_invite_grants_the_role_once(
    chat: ChatFactory, admin_chat: Chat, services: Services
) -> None:
    await services.team_repo.create("Marseille")
    await admin_chat.send("/invite")
    await admin_chat.tap("Invitation d'organisateur : Marseille")
    assert "elle ne sert qu'une fois, pendant 7 jours" in admin_chat.last_text
    code = code_in(admin_chat.last_text)

    member = chat("20", language="en")
    await join(member)
    await member.send(f"/start {code}")
    assert "You are now an organizer of Marseille." in member.texts(member.replies[-2:])
    actor = await services.people.actor(Identity("telegram", "20"), "20")
    assert actor.is_organizer and actor.team_scope() == frozenset({1})

    other = chat("21", language="en")
    await other.send(f"/start {code}")
    assert (
        "This invitation link has already been used as many times as allowed. "
        "Let's continue without it." in other.texts()
    )
    assert "Which language" in other.last_text  # onboarding goes on without the code
    await other.tap("English")
    await finish_joining(other)
    volunteer = await services.volunteers.by_identity("telegram", "21")
    assert volunteer is not None and await services.volunteers.roles(volunteer.id) == ()


async def test_expired_and_unknown_codes_get_a_clear_message(
    chat: ChatFactory, admin_chat: Chat, services: Services, clock: FakeClock
) -> None:
    await services.team_repo.create("Lille")
    await admin_chat.send("/invite")
    await admin_chat.tap("Lien d'inscription : Lille")
    code = code_in(admin_chat.last_text)
    clock.advance(days=31)
    late = chat("30", language="fr")
    await late.send(f"/start {code}")
    assert "Ce lien d'invitation a expiré. Continuons sans lui." in late.texts()
    for bad in ("nope", "x" * 65, "<script>", "A" * 32):
        stranger = chat("31", language="en")
        await stranger.send(f"/start {bad}")
        assert "I don't know this invitation link. Let's continue without it." in stranger.texts()
    assert await services.db.fetch_value("SELECT COUNT(*) FROM volunteers") == 0


async def test_a_personal_link_credits_the_recruiter(chat: ChatFactory, services: Services) -> None:
    ana = chat("40", language="fr")
    await join(ana)
    await ana.send("/invite")
    assert "Votre lien personnel pour inviter des ami·es" in ana.last_text
    assert "Jusqu'ici : 0." in ana.last_text
    code = code_in(ana.last_text)
    await ana.send("/invite")
    assert code_in(ana.last_text) == code  # the same link every time

    await ana.send(f"/start {code}")  # her own link changes nothing
    assert "Vous êtes déjà inscrit·e" in ana.texts(ana.replies[-2:])

    friend = chat("41", language="en", first_name="Bo")
    await friend.send(f"/start {code}")
    await friend.tap("English")
    await finish_joining(friend)
    assert "Thanks for coming through a friend's invitation!" in friend.texts()
    recruit = await services.volunteers.by_identity("telegram", "41")
    recruiter = await services.volunteers.by_identity("telegram", "40")
    assert recruit is not None and recruiter is not None
    assert recruit.recruited_by == recruiter.id
    await ana.send("/invite")
    assert "Jusqu'ici : 1." in ana.last_text


async def test_a_member_using_a_team_link_joins_at_once(
    chat: ChatFactory, admin_chat: Chat, services: Services
) -> None:
    await services.team_repo.create("Nantes")
    await admin_chat.send("/invite")
    await admin_chat.tap("Lien d'inscription : Nantes")
    code = code_in(admin_chat.last_text)
    await make_volunteer(services, "50")
    member = chat("50", language="fr")
    await member.send(f"/start {code}")
    assert "Vous avez rejoint l'équipe Nantes." in member.texts(member.replies[-2:])
    await member.send(f"/start {code}")
    assert "Vous êtes déjà membre de Nantes." in member.texts(member.replies[-2:])


async def test_a_recruit_code_is_long_random_and_lasts_a_year(services: Services) -> None:
    volunteer = await make_volunteer(services, "60")
    actor = await services.people.actor(Identity("telegram", "60"), "60")
    invite = await services.teams.invite(actor, "recruit")
    assert invite.created_by == volunteer.id and invite.kind == "recruit"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,64}", invite.code)
    assert invite.expires_at - services.clock.now() == timedelta(days=365)
    assert services.messengers.invite_link("console", invite.code) == f"/start {invite.code}"


async def test_a_link_sent_while_still_answering_the_questions_still_credits(
    chat: ChatFactory, services: Services
) -> None:
    recruiter = await make_volunteer(services, "70")
    actor = await services.people.actor(Identity("telegram", "70"), "70")
    invite = await services.teams.invite(actor, "recruit")
    late = chat("71", language="en")
    await late.send("/start")
    await late.tap("English")
    await late.tap("I agree")
    await late.send(f"/start {invite.code}")
    assert "Thanks for coming through a friend's invitation!" in late.texts(late.replies[-2:])
    assert "What first name" in late.last_text
    volunteer = await services.volunteers.by_identity("telegram", "71")
    assert volunteer is not None and volunteer.recruited_by == recruiter.id
