"""Numbered choices on the console (as on Signal): what a person types after a list.

The console chat is driven line by line through the real router and handlers; what the
numbers stood for lives in the database, so a new console (a restart) still knows it.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.tasks import TaskDraft
from bot.messaging import Choice, Inbound, Outbound, choices
from bot.router import FloodGate, Router
from bot.services import Services
from bot.services.people import Actor
from bot.transports.console import ConsoleTransport
from bot.transports.numbered import Board, Offer, Reading, read
from tests.factories import make_volunteer


class Console:
    """A console chat whose printed lines can be read back."""

    def __init__(self, router: Router, services: Services, user: str = "1") -> None:
        self.out = io.StringIO()
        self.console = ConsoleTransport(
            router.dispatch,
            "fr",
            stdout=self.out,
            boards=services.chats,
            clock=services.clock,
        )
        self.console.user_id = user

    async def type(self, line: str) -> str:
        """Type a line; what Relais printed in answer."""
        start = self.out.tell()
        await self.console.handle_line(line)
        return self.out.getvalue()[start:]


async def test_choices_stay_answerable_after_a_wrong_answer_in_newtask(
    router: Router, services: Services
) -> None:
    router.flood = FloodGate(limit=1000)
    await make_volunteer(services, "1", channel="console", role="admin")
    console = Console(router, services)
    await console.type("/newtask")
    assert "Pour quelle équipe" in await console.type("1")  # kind: share
    assert "numéro d’un choix ci-dessus" in await console.type("deux cents")
    # Before: the list was forgotten after that answer, and "1" was read as text.
    assert "titre" in await console.type("1")


async def test_a_count_is_typed_and_an_old_list_says_it_expired_after_a_restart(
    router: Router, services: Services
) -> None:
    router.flood = FloodGate(limit=1000)
    await make_volunteer(services, "5", channel="console")
    await services.tasks.create(Actor.system(), TaskDraft(kind="text", title="Écrire à des amis"))
    console = Console(router, services, "5")
    card = await console.type("/task")
    assert "A1. ✅ Accepter" in card
    await console.type("1")
    asked = await console.type("1")  # Done
    assert "À combien de personnes" in asked and "1. 0" not in asked
    # Before: the list 1. 0  2. 1  3. 2… made "3" store 2.
    assert "+1 point" in await console.type("3")
    assert await services.db.fetch_value("SELECT people_reached FROM outcomes") == 3
    # A new console on the same database (a restart) still knows the lists shown.
    again = Console(router, services, "5")
    assert "a expiré" in await again.type("A2")
    assert "a expiré" in await again.type("Z9")


async def test_keep_typed_at_a_profile_s_name_question_keeps_the_current_name(
    router: Router, services: Services
) -> None:
    await make_volunteer(services, "5", channel="console", first_name="Jean-Pierre")
    console = Console(router, services, "5")
    await console.type("/profil")
    asked = await console.type("1")  # ✏️ Prénom
    assert "Garder « Jean-Pierre »" in asked
    assert "Prénom : Jean-Pierre" in await console.type("1")


def test_reading_a_line_against_what_is_on_screen() -> None:
    older = Offer("A", "10", ("t:a", "t:b"), ("Pause", "Modifier"))
    newer = Offer("B", "11", ("t:c", "t:d"), ("Pause", "Clore"))
    board = Board((older, newer))
    assert read("1", board).choice == "t:c"  # the newest
    assert read("A2", board).choice == "t:b" and read("a 2", board).offer == older
    assert read("2", board, quoted="10").choice == "t:b"  # quoting the older message
    assert read("clore", board).choice == "t:d"
    assert read("C1", board).stale and not read("C1", board).choice
    assert read("3", board).choice == "" and not read("3", board).stale
    counting = Board((older,), answer="number")
    assert read("2", counting).choice == "" and read("A2", counting).choice == "t:b"
    assert read("1", Board()).stale
    # A typed question after the list (a date, a text): a bare number answers the question.
    asked = board.shown(Outbound("Quand ?", answer="date"), "12")
    assert read("1", asked).choice == "" and read("A1", asked).choice == "t:a"
    # A question with its own choices: the number is one of them.
    skip = asked.shown(
        Outbound("Preuve ?", choices=choices(Choice("Sans", "o:p")), answer="text"), "13"
    )
    assert read("1", skip).choice == "o:p"
    assert read("1", Board(), quoted="99").stale


def test_a_board_is_kept_as_json_and_read_back_even_from_before_letters() -> None:
    board = Board((Offer("B", "7", ("t:a", "t:b"), ("Pause", "Clore")),), "number", "", False)
    assert Board.restored(board.stored()) == board
    # What an older Relais kept: the last list only, as [payload, label] pairs.
    legacy = Board.restored([["t:a", "Pause"], ["t:b", "Clore"]], "location")
    assert read("2", legacy).choice == "t:b" and legacy.request == "location"
    assert Board.restored([], "") == Board() and not Board().stored()


async def test_prompts_on_the_console_never_say_tap(router: Router, services: Services) -> None:
    router.flood = FloodGate(limit=1000)
    await make_volunteer(services, "7", channel="console")
    await services.tasks.create(Actor.system(), TaskDraft(kind="canvass", title="Portes"))
    console = Console(router, services, "7")
    shown = [
        await console.type(line)
        for line in ("/quiet", "/cancel", "/timezone", "/cancel", "/pause", "/cancel")
    ]
    shown += [await console.type(line) for line in ("/task", "1", "1", "3", "2", "1")]
    printed = "\n".join(shown)
    assert "répondez par le numéro d’un choix" in printed.lower()
    assert "Répondez « Fait »" in printed and "Pas de commentaire" in printed
    assert "ouchez" not in printed  # neither "Touchez" nor "touchez"


async def test_a_list_shown_while_an_answer_is_handled_stays_answerable(
    router: Router, services: Services
) -> None:
    """The lane prints what Relais sends on its own (an offer, a broadcast) whenever it is
    due, also while a typed line is being handled. A list printed then is on screen: the
    answer to that line (here the task card it edits away) must not forget it."""
    router.flood = FloodGate(limit=1000)
    await make_volunteer(services, "5", channel="console")
    for title in ("Écrire à des amis", "Partager la vidéo"):
        await services.tasks.create(Actor.system(), TaskDraft(kind="text", title=title))
    console = Console(router, services, "5")
    await console.type("/task")
    assert "Voici quoi faire" in await console.type("1")  # accepted: Done, Can't
    offered: list[str] = []

    async def dispatch(inbound: Inbound) -> list[Outbound]:
        if inbound.choice and not offered:
            # An offer of the next task is printed while "Can't" is being handled.
            offer = replace(inbound, choice="", offer="", text="/task", update_key="offer")
            [card] = await router.dispatch(offer)
            offered.append(card.text)
            await console.console.deliver("5", card)
        return await router.dispatch(inbound)

    console.console.dispatch = dispatch
    assert "retourne dans la file" in await console.type("2")  # Can't: its card edited
    assert offered and "Partager la vidéo" in offered[0]
    answer = await console.type("1")  # accept the task just offered
    assert "a expiré" not in answer
    assert "Partager la vidéo" in answer and "Voici quoi faire" in answer


class SlowFirstRead:
    """The chat's lists as kept in the database, the first read held until let go."""

    def __init__(self, services: Services) -> None:
        self.chats = services.chats
        self.reading = asyncio.Event()
        self.go = asyncio.Event()

    async def shown(self, channel: str, chat_id: str, now: datetime) -> tuple[Any, str]:
        found = await self.chats.shown(channel, chat_id, now)
        if not self.reading.is_set():
            self.reading.set()
            await self.go.wait()
        return found

    async def keep_shown(
        self, channel: str, chat_id: str, shown: Any, request: str, now: datetime
    ) -> None:
        await self.chats.keep_shown(channel, chat_id, shown, request, now)

    def erased(self, channel: str, chat_id: str) -> bool:
        return self.chats.erased(channel, chat_id)


async def test_a_list_printed_while_the_chat_is_first_read_stays_answerable(
    router: Router, services: Services
) -> None:
    """At start-up the lane prints what waited (an offer) while the first typed line reads
    the chat's lists from the database: that older read does not hide the offer."""
    router.flood = FloodGate(limit=1000)
    await make_volunteer(services, "5", channel="console")
    await services.tasks.create(Actor.system(), TaskDraft(kind="text", title="Partager"))
    store = SlowFirstRead(services)
    console = Console(router, services, "5")
    console.console.boards = store
    offer = Inbound(channel="console", user_id="5", chat_id="5", update_key="offer", text="/task")
    [card] = await router.dispatch(offer)
    typed = asyncio.create_task(console.type("/aide"))
    await store.reading.wait()
    await console.console.deliver("5", card)  # the lane prints the offer meanwhile
    store.go.set()
    assert "Ce que je sais faire" in await typed
    answer = await console.type("1")  # accept the task offered
    assert "a expiré" not in answer and "Voici quoi faire" in answer


async def test_a_list_sent_while_a_question_waits_leaves_the_numbers_to_the_question(
    services: Services,
) -> None:
    """On the console as on Signal: an offer or a page that comes while a count is asked
    is answered by its letter; "2" stays the count."""
    typed: list[Inbound] = []

    async def dispatch(inbound: Inbound) -> list[Outbound]:
        typed.append(inbound)
        return []

    out = io.StringIO()
    console = ConsoleTransport(
        dispatch, "fr", stdout=out, boards=services.chats, clock=services.clock
    )
    await console.deliver("1", Outbound("Combien de portes ?", answer="number"))
    offer = choices([Choice("✅ Accepter", "t:accept:7"), Choice("Passer", "t:skip:7")])
    await console.deliver("1", Outbound("Nouvelle tâche", offer))
    assert "A1. ✅ Accepter" in out.getvalue()
    assert "répondez par sa lettre et son numéro, par exemple A1" in out.getvalue()
    assert "(répondez par un numéro)" not in out.getvalue()
    await console.handle_line("2")
    assert (typed[-1].text, typed[-1].choice) == ("2", "")  # before: "t:skip:7"
    await console.handle_line("A2")
    assert typed[-1].choice == "t:skip:7"
    # Once they answered, a new list takes the bare numbers again.
    await console.deliver("1", Outbound("Autre tâche", offer))
    await console.handle_line("1")
    assert typed[-1].choice == "t:accept:7"


def test_a_question_with_its_own_list_keeps_the_numbers_when_a_page_comes() -> None:
    own = choices(Choice("Sans preuve", "o:p"))
    page = choices([Choice("✋ Je m'en occupe", "i:take:1"), Choice("Pas pertinent", "i:no:1")])
    asked = Board().shown(Outbound("Preuve ?", own, answer="text"), "1")
    paged = asked.shown(Outbound("🚨 Alerte", page), "2")
    assert read("1", paged).choice == "o:p" and read("B2", paged).choice == "i:no:1"
    assert Board.restored(paged.stored()) == paged
    assert read("2", paged.heard().shown(Outbound("🚨 Alerte", page), "3")).choice == "i:no:1"


async def test_astreinte_on_the_console_is_relais_duty_not_the_consoles_as(
    router: Router, services: Services
) -> None:
    router.flood = FloodGate(limit=1000)
    await make_volunteer(services, "1", channel="console", role="admin")
    console = Console(router, services)
    # Before: "— usage: /as <numeric id> [fr|en]", and Relais never saw the command.
    assert "Vous êtes de permanence" in await console.type("/astreinte on")
    assert "you are now user 42" in await console.type("/as 42")


def test_a_typed_word_picks_a_choice_only_when_it_clearly_names_it() -> None:
    preview = Offer(
        "C",
        "20",
        ("b:now", "b:schedule", "b:abort"),
        ("✅ Envoyer maintenant", "🕒 Programmer", "Annuler"),
    )
    board = Board((preview,))
    assert read("maintenant", board).choice == "b:now"  # one label has it: that choice
    assert read("programmer", board).choice == "b:schedule"
    # A question without choices came after the list: the word is its answer, not a choice.
    asked = board.shown(Outbound("Quand l'envoyer ?", answer="date"), "21")
    assert read("maintenant", asked) == read("now", asked) == Reading()
    assert read("C1", asked).choice == "b:now"  # its letter and number still reach it
    # A question taking text beside its choices: a whole label only.
    titled = board.shown(
        Outbound("Titre ?", choices=choices(Choice("Sans titre", "o:none")), answer="text"), "22"
    )
    assert read("sans titre", titled).choice == "o:none"
    assert read("titre", titled) == Reading()
    # A small word names nothing, even in one label only.
    small = Board((Offer("D", "23", ("a", "b"), ("Plus de détails", "Fermer")),))
    assert read("de", small) == Reading() and read("détails", small).choice == "a"


async def test_an_erasure_from_the_command_line_leaves_none_of_their_lists_on_the_console(
    router: Router, services: Services
) -> None:
    """As on Signal: the console forgets the lists it kept for someone erased outside the
    chat (`python -m bot forget`, the retention job), as /forget in the chat does."""
    router.flood = FloodGate(limit=1000)
    ana = await make_volunteer(services, "6", channel="console")
    console = Console(router, services, "6")
    services.messengers.watch_erasures(console.console.forget)  # as bot/app.py does
    assert "A1." in await console.type("/profil")
    await services.privacy.erase_at_command_line(ana.id)
    assert "6" not in console.console._boards
    assert "a expiré" in await console.type("1")
