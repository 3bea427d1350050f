"""The router's promises, whatever the flow: replays, floods, groups, cancel, bad input."""

from __future__ import annotations

from collections.abc import Callable

from bot.messaging import Inbound
from bot.router import FloodGate, Router
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock


async def test_cancel_with_nothing_in_progress_says_so(chat: Callable[..., Chat]) -> None:
    ana = chat("42", language="en")
    await ana.send("/cancel")
    assert ana.last_text == "There is nothing to cancel."


async def test_cancel_ends_a_flow_in_progress(router: Router, chat: Callable[..., Chat]) -> None:
    async def ask(request):  # type: ignore[no-untyped-def]
        await request.begin("demo", "question")
        return None

    router.command("demo", ask, description="demo")
    ana = chat("42", language="fr")
    await ana.send("/demo")
    await ana.send("/cancel")
    assert ana.last_text == "Annulé. Rien de plus n'a été enregistré."
    await ana.send("/cancel")
    assert ana.last_text == "Il n'y a rien à annuler."


async def test_unknown_commands_and_text_get_a_helpful_answer(chat: Callable[..., Chat]) -> None:
    ana = chat("42", language="en")
    await ana.send("/frobnicate")
    assert "I don't know the command /frobnicate" in ana.last_text
    await ana.send("hello?")
    assert "To join, send /start" in ana.last_text  # not joined yet


async def test_personal_commands_are_refused_in_groups(chat: Callable[..., Chat]) -> None:
    group = chat("42", language="en", private=False)
    await group.send("/start")
    assert group.last_text == "Write to me in a private chat for that."
    replies = await group.send("just chatting in the group")
    assert replies == []  # Relais stays quiet in groups unless addressed by a command


async def test_text_over_4096_characters_is_refused(chat: Callable[..., Chat]) -> None:
    ana = chat("42", language="en")
    await ana.send("x" * 5000)
    assert "too long" in ana.last_text


async def test_a_forged_button_has_expired(chat: Callable[..., Chat]) -> None:
    ana = chat("42", language="fr")
    await ana.send("/start")
    await ana.tap_data("nope:forged:999")
    assert ana.last_text == "Ce bouton a expiré. Rien n'a été modifié."


async def test_a_replayed_update_changes_nothing(router: Router) -> None:
    inbound = Inbound("telegram", "42", "42", text="/help", language_code="en", update_key="7")
    assert await router.dispatch(inbound)
    assert await router.dispatch(inbound) == []


async def test_a_flooding_user_is_warned_once_then_dropped(router: Router) -> None:
    router.flood = FloodGate(limit=5, window=60)
    answers = []
    for n in range(50):
        inbound = Inbound(
            "telegram", "66", "66", text="/help", language_code="en", update_key=f"flood-{n}"
        )
        answers.append(await router.dispatch(inbound))
    assert all(answers[:5])
    assert "too fast" in answers[5][0].text
    assert all(a == [] for a in answers[6:])
    # Someone else is unaffected.
    other = Inbound("telegram", "67", "67", text="/help", language_code="en", update_key="o")
    assert await router.dispatch(other)


async def test_organizer_commands_are_refused_to_volunteers(
    router: Router, chat: Callable[..., Chat]
) -> None:
    async def secret(request):  # type: ignore[no-untyped-def]
        return None

    router.command("secret", secret, rank="organizer", description="x")
    ana = chat("42", language="en")
    await ana.send("/secret")
    assert ana.last_text == "Sorry, this is for organizers only."


async def test_admin_commands_say_they_are_for_admins(
    router: Router, chat: Callable[..., Chat]
) -> None:
    async def settings(request):  # type: ignore[no-untyped-def]
        return None

    router.command("settings_demo", settings, rank="admin", description="x")
    ana = chat("42", language="en")
    await ana.send("/settings_demo")
    assert ana.last_text == "Sorry, this is for admins only."


async def test_someone_who_blocked_the_bot_is_reachable_again_once_they_write(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    volunteer = await make_volunteer(services, "77")
    await services.outbox.mark_unreachable("telegram", "77", clock.now())
    assert await services.volunteers.addresses(volunteer.id) == []
    await chat("77", language="en").send("/help")  # a minute later, well within the hour
    assert [a.chat_id for a in await services.volunteers.addresses(volunteer.id)] == ["77"]
