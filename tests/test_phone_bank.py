"""Phone banking: importing call lists, one contact per caller, holds, do-not-call, call-backs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.domain.errors import ImportRejected
from bot.services import Services
from bot.services.calls import HOLD, normalize_phone, parse_call_list
from bot.storage.calls import CallRepository
from bot.storage.connect import database_for
from bot.storage.db import Database
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.task_factories import task, team, volunteer

ChatFactory = Callable[..., Chat]
LIST = (
    b"name,phone,notes\n"
    b"Camille Martin,06 12 34 56 78,Sympathisante 2022\n"
    b"Jean Dupont,+33 1 42 68 53 00,\n"
    b"Awa Diallo,07 98 76 54 32,Le soir\n"
)


def test_phone_numbers_are_normalized_to_e164() -> None:
    assert normalize_phone("06 12 34 56 78") == "+33612345678"
    assert normalize_phone("+33 (0)1 42 68 53 00") == "+33142685300"
    assert normalize_phone("0044 20 7946 0958") == "+442079460958"
    assert normalize_phone("12") is None
    assert normalize_phone("not a number") is None


def test_a_bad_call_list_is_rejected_whole_with_its_line_numbers() -> None:
    content = (
        "nom;téléphone\nCamille;06 12 34 56 78\n;06 12 34 56 79\nJean;123\nAwa;06.12.34.56.78\n"
    ).encode()
    with pytest.raises(ImportRejected) as rejected:
        parse_call_list(content)
    assert [(p.line, p.problem) for p in rejected.value.problems] == [
        (3, "name"),
        (4, "phone"),
        (5, "duplicate"),
    ]
    for bad, problem in ((b"who,what\nA,B\n", "header"), (b"name,phone\n", "empty"),
                         (b"\xff\xfe", "encoding")):  # fmt: skip
        with pytest.raises(ImportRejected) as rejected:
            parse_call_list(bad)
        assert rejected.value.problems[0].problem == problem
    huge = "x" * 200_000  # over the csv module's 128 KB cell limit, on line 3 or in the header
    for bad_text, line in ((f"name,phone,notes\nA,0612345678\nB,0612345679,{huge}\n", 3),
                           (f"name,phone,{huge}\n", 1)):  # fmt: skip
        with pytest.raises(ImportRejected) as rejected:
            parse_call_list(bad_text.encode())
        assert [(p.line, p.problem) for p in rejected.value.problems] == [(line, "csv")]


async def test_nothing_is_half_imported(services: Services) -> None:
    call = await task(services, "call")
    with pytest.raises(ImportRejected):
        await services.calls.import_list(call.id, LIST + b"Bad Row,42\n")
    assert (await services.call_repo.summary(call.id)) == {}
    assert await services.calls.import_list(call.id, LIST) == 3
    custom = await task(services, "custom")
    with pytest.raises(ImportRejected):
        await services.calls.import_list(custom.id, LIST)


async def test_the_caller_loop_one_contact_at_a_time_in_french(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "300")
    call = await task(services, "call", title="Appels 93", instructions="Bonjour, je suis…")
    await services.calls.import_list(call.id, LIST)
    ana = chat("300")
    await ana.send("/task")
    await ana.tap("Accepter")
    assert "une personne à la fois" in ana.last_text
    await ana.tap("Commencer les appels")
    assert "Appelez Camille Martin" in ana.last_text
    assert "+33 6 12 34 56 78" in ana.last_text
    assert "Bonjour, je suis…" in ana.last_text
    assert "Jean" not in ana.last_text
    await ana.tap("Sympathisant")
    assert "Appelez Jean Dupont" in ana.last_text
    await ana.tap("Rappeler plus tard")
    await ana.tap("Dans 1 heure")
    assert "Appelez Awa Diallo" in ana.last_text
    await ana.tap("Ne plus appeler")
    assert "Plus personne à appeler" in ana.last_text
    services.clock.advance(minutes=61)  # type: ignore[attr-defined]
    await ana.send("/mytasks")
    await ana.tap("Commencer les appels")
    assert "Appelez Jean Dupont" in ana.last_text  # the call-back is due
    await ana.tap("Indécis")
    await ana.tap("J’ai fini les appels")
    assert "+1 point" in ana.last_text
    calls_made = await services.db.fetch_value("SELECT calls_made FROM outcomes")
    assert calls_made == 4
    admin = chat("1")
    await admin.send("/tasks")
    assert "Liste d’appels : 3 personnes, à appeler 0 · sympathisants 1 · indécis 1" in (
        admin.texts(admin.replies[-2:])
    )


async def test_a_contact_is_held_by_one_caller_and_released_after_abandonment(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "310", language="en")
    await volunteer(services, "311", language="en")
    call = await task(services, "call", quota=5)
    await services.calls.import_list(call.id, LIST)
    ana, bob = chat("310", language="en"), chat("311", language="en")
    for person in (ana, bob):
        await person.send("/task")
        await person.tap("Accept")
        await person.tap("Start calling")
    assert "Camille Martin" in ana.last_text
    assert "Jean Dupont" in bob.last_text
    camille_supporter = ana.find_choice("Supporter")
    await bob.tap_data(camille_supporter)  # not Bob's contact
    assert "This button has expired" in bob.last_text
    # Ana walks away; after the hold lapses, Camille goes to the next caller.
    services.clock.advance(minutes=HOLD.total_seconds() / 60 + 1)  # type: ignore[attr-defined]
    await bob.tap("Supporter")  # a long call: nobody took Jean meanwhile, so it counts
    assert "Camille Martin" in bob.last_text
    await ana.tap_data(camille_supporter)
    assert "This button has expired" in ana.last_text
    await ana.send("/mytasks")
    await ana.tap("Start calling")
    assert "Awa Diallo" in ana.last_text
    await ana.tap("Stop for now")
    assert "Break time" in ana.last_text
    await bob.tap("Opposed")
    assert "Awa Diallo" in bob.last_text  # released at once by Ana's break
    summary = await services.call_repo.summary(call.id)
    assert summary["result_supporter"] == 1 and summary["result_opposed"] == 1


async def test_do_not_call_and_wrong_numbers_are_honoured_on_every_list(
    services: Services, clock: FakeClock
) -> None:
    me = await volunteer(services, "320")
    first = await task(services, "call")
    second = await task(services, "call")
    await services.calls.import_list(first.id, LIST)
    await services.calls.import_list(second.id, LIST)
    calls = services.calls
    camille = await calls.current_or_next(me, first.id)
    assert camille is not None and camille.name == "Camille Martin"
    await calls.record(me, camille.id, "do_not_call")
    jean = await calls.current_or_next(me, first.id)
    assert jean is not None and jean.name == "Jean Dupont"
    await calls.record(me, jean.id, "wrong_number")
    names = []
    while (contact := await calls.current_or_next(me, second.id)) is not None:
        names.append(contact.name)
        await calls.record(me, contact.id, "supporter")
    assert names == ["Awa Diallo"]


async def test_no_answer_comes_back_later_a_few_times(services: Services) -> None:
    me = await volunteer(services, "330")
    call = await task(services, "call")
    await services.calls.import_list(call.id, b"name,phone\nSolo,0612345678\n")
    calls = services.calls
    for attempt in range(3):
        contact = await calls.current_or_next(me, call.id)
        assert contact is not None, attempt
        await calls.record(me, contact.id, "no_answer")
        assert await calls.current_or_next(me, call.id) is None
        services.clock.advance(hours=4)  # type: ignore[attr-defined]
    assert await calls.current_or_next(me, call.id) is None  # three tries, then done


async def test_many_callers_at_once_never_get_the_same_contact(
    services: Services, settings: Settings, db: Database, clock: FakeClock
) -> None:
    callers = [await volunteer(services, str(400 + i)) for i in range(30)]
    call = await task(services, "call")
    rows = "\n".join(f"P{i},06 12 34 {i // 100:02d} {i % 100:02d}" for i in range(20))
    await services.calls.import_list(call.id, f"name,phone\n{rows}\n".encode())
    extra = [database_for(settings.database_path, settings.database_url) for _ in range(3)]
    for database in extra:
        await database.open()
    try:
        repositories = [CallRepository(d) for d in (db, *extra)]
        held = await asyncio.gather(
            *(
                repositories[i % 4].hold_next(call.id, v, clock.now(), timedelta(minutes=20))
                for i, v in enumerate(callers)
            )
        )
    finally:
        for database in extra:
            await database.close()
    got = [c.id for c in held if c is not None]
    assert len(got) == 20 and len(set(got)) == 20


async def test_call_lists_are_blanked_a_month_after_their_task_closes(
    services: Services, clock: FakeClock
) -> None:
    me = await volunteer(services, "340")
    call = await task(services, "call")
    await services.calls.import_list(call.id, LIST)
    camille = await services.calls.current_or_next(me, call.id)
    assert camille is not None
    await services.calls.record(me, camille.id, "do_not_call")
    await services.task_repo.expire(call.id, clock.now())
    clock.advance(days=29)
    await services.offers.expire_round(clock.now())
    assert (await services.call_repo.get(camille.id)).name == "Camille Martin"  # type: ignore[union-attr]
    clock.advance(days=2)
    await services.offers.expire_round(clock.now())
    blanked = await services.call_repo.get(camille.id)
    assert blanked is not None and blanked.name == "" and blanked.phone.startswith("erased:")
    assert await services.call_repo.barred("+33612345678")  # still never called again
    assert (await services.call_repo.summary(call.id))["result_do_not_call"] == 1


async def test_erasure_gives_back_slots_and_held_contacts_and_drops_comments(
    services: Services, chat: ChatFactory
) -> None:
    me = await volunteer(services, "350", language="en")
    other = await volunteer(services, "351")
    await task(services, "canvass", quota=1, priority=2)
    call = await task(services, "call", priority=1)
    await services.calls.import_list(call.id, LIST)
    ana = chat("350", language="en")
    await ana.send("/task")
    await ana.tap("Accept")
    await ana.tap("Done")
    for answer in ("10", "5", "2", "Ask for Mme Roux"):
        await ana.send(answer)
    await services.tasks.accept(me, call.id)
    held = await services.calls.current_or_next(me, call.id)
    assert held is not None
    await services.tasks.forget(me)
    assert await services.db.fetch_value("SELECT comment FROM outcomes") is None
    assert await services.db.fetch_value("SELECT doors_knocked FROM outcomes") == 10
    again = await services.calls.current_or_next(other, call.id)
    assert again is not None and again.id == held.id
    assert (await services.task_repo.get(call.id)).slots_taken == 0  # type: ignore[union-attr]


async def test_an_organizer_creates_a_phone_bank_and_pastes_the_list_in_the_chat(
    services: Services, chat: ChatFactory
) -> None:
    from bot.router import FloodGate

    north = await team(services, "Nord")
    await volunteer(services, "360", organizer_of=[north])
    await volunteer(services, "361", teams=[north], skills=["call"])
    boss = chat("360")
    boss.router.flood = FloodGate(limit=1000)  # a test types faster than any organizer
    await boss.send("/newtask")
    await boss.tap("Appels")  # one team only: no team question
    await boss.send("Appels du Nord")
    await boss.send("Bonjour, je suis bénévole pour la campagne…")
    await boss.send("-")  # no area restriction
    await boss.tap("Seulement ceux qui ont choisi « appels »")
    await boss.send("-")
    await boss.send("-")
    assert "Cette tâche touche 1 bénévole" in boss.last_text
    await boss.tap("Publier")
    assert "Collez les personnes à appeler" in boss.last_text
    await boss.send("Camille Martin, 06 12 34 56 78, sympathisante\nJean Dupont, 123\n, 0698765432")
    assert "Rien n’a été ajouté" in boss.last_text
    assert "ligne 2 : « 123 » n’est pas un numéro de téléphone valide" in boss.last_text
    assert "ligne 3 : le nom manque" in boss.last_text
    await boss.send("Camille Martin; 06 12 34 56 78; sympathisante\nJean Dupont; 01 42 68 53 00")
    assert "2 personnes ajoutées" in boss.last_text
    await boss.tap("Terminé")
    assert "Liste d’appels : 2 personnes, à appeler 2" in boss.last_text
    await boss.send("/tasks")
    await boss.tap("Ajouter des personnes à appeler")
    await boss.send("Awa Diallo\t07 98 76 54 32")
    assert "1 personne ajoutée" in boss.last_text

    caller = chat("361")
    await caller.send("/task")
    await caller.tap("Accepter")
    await caller.tap("Commencer les appels")
    assert "Appelez Camille Martin" in caller.last_text
    assert "sympathisante" in caller.last_text
