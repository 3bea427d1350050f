"""Raising the alarm and the escalation ladder, driven as people would, with a moved clock."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.messaging import Outbound
from bot.services import Services
from bot.storage.rapid_response import erase_alerts
from tests import alert_factories as make
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on

TWEET = "https://x.com/Opposant/status/1862512345678901234"


def pages_to(rows: list[dict[str, object]], chat_id: str) -> list[str]:
    return [
        Outbound.from_json(str(r["payload"])).text
        for r in rows
        if r["chat_id"] == chat_id and r["kind"] == "alert"
    ]


async def raise_alarm(chat: Chat, link: str, comment: str = "") -> str:
    await chat.send(f"/alerte {link} {comment}".strip())
    if not comment:
        await chat.tap("alr:send")
    return chat.last_text


async def test_a_volunteer_raises_the_alarm_in_french_and_duty_is_paged_at_once(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.volunteer(services, "42", name="Ana")
    lea = chat("7")
    await lea.send("/duty on")
    assert "Vous êtes de permanence" in lea.last_text
    ana = chat("42")
    await ana.send("/alerte")
    assert "Envoyez-moi le lien" in ana.last_text
    await ana.send(f"{TWEET}?s=20")
    assert "x.com/i/status/1862512345678901234" in ana.last_text
    await ana.send("Vieille photo sortie de son contexte, déjà 2000 partages")
    assert "Merci" in ana.last_text and "alerte n° 1" in ana.last_text
    # Paged in the same request, urgent, before any scheduler tick.
    rows = await make.outbox(services, "alert")
    assert [r["chat_id"] for r in rows] == ["7"]
    assert rows[0]["priority"] == 0
    page = Outbound.from_json(str(rows[0]["payload"]))
    assert "Alerte n° 1" in page.text and "1 signalement" in page.text
    assert "Vieille photo sortie de son contexte" in page.text
    assert [c.label for row in page.choices for c in row] == [
        "✋ Je m'en occupe",
        "🚫 Pas pertinent",
        "📣 Escalader",
    ]


async def test_english_volunteer_pastes_a_link_and_is_offered_to_raise_the_alarm(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42", name="Sam", language="en")
    sam = chat("42", language="en")
    await sam.send(f"look at this {TWEET}", extra={"urls": []})
    assert "Is this a post attacking the campaign?" in sam.last_text
    await sam.tap("Raise the alarm")
    assert "Add a comment" in sam.last_text
    await sam.tap("Send without comment")
    assert "The comms team on duty has been alerted (alert #1)" in sam.last_text
    await sam.tap("Tell me when it is handled")
    assert "I will tell you when the comms team has handled it" in sam.last_text


async def test_a_forwarded_post_without_a_link_is_a_report_too(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42")
    ana = chat("42")
    await ana.send("Le candidat a menti sur son programme, partagez !", forwarded=True)
    await ana.tap("Donner l'alerte")
    await ana.tap("Envoyer sans commentaire")
    assert "alerte n° 1" in ana.last_text
    # The same forwarded text from someone else joins the same incident.
    await make.volunteer(services, "43")
    bob = chat("43")
    await bob.send("Le candidat a menti  sur son programme, partagez !", forwarded=True)
    await bob.tap("Donner l'alerte")
    await bob.tap("Envoyer sans commentaire")
    assert "2 signalements" in bob.last_text


async def test_plain_chat_without_link_is_not_taken_for_a_report(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42")
    ana = chat("42")
    await ana.send("bonjour, comment ça va ?")
    assert "Je n'ai pas compris" in ana.last_text


async def test_someone_who_never_joined_is_asked_to_join_first(chat: Callable[..., Chat]) -> None:
    stranger = chat("99", language="en")
    await stranger.send(f"/alert {TWEET}")
    assert "Join the campaign first" in stranger.last_text


async def test_twenty_reports_of_one_post_make_one_incident(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.comms(services, "7", name="Léa")
    variants = [
        f"{TWEET}?s=20",
        "https://twitter.com/opposant/status/1862512345678901234?t=abc&utm_source=x",
        "https://mobile.twitter.com/Opposant/status/1862512345678901234/",
        "x.com/i/web/status/1862512345678901234#top",
    ]
    for n in range(20):
        await make.volunteer(services, str(100 + n), name=f"V{n}")
        reply = await raise_alarm(chat(str(100 + n)), variants[n % 4], f"vu à {n}h")
        clock.advance(seconds=30)
    assert "20 signalements" in reply
    incidents = await services.incident_repo.recent()
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.reports == 20
    assert incident.first_seen_at < incident.last_seen_at
    assert (await services.incident_repo.comments(incident.id))[:2] == ["vu à 0h", "vu à 1h"]
    # Nobody on duty: the whole comms team was paged once, not twenty times, and the page
    # (still waiting to leave) shows the latest count.
    pages = pages_to(await make.outbox(services, "alert"), "7")
    assert len(pages) == 1 and "20 signalements" in pages[0]


async def test_a_sent_page_is_edited_with_the_new_count_in_one_edit(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    for user in ("42", "43", "44"):
        await make.volunteer(services, user)
    await raise_alarm(chat("42"), TWEET, "vite")
    await make.deliver_all(services, first_message_id=700)
    await raise_alarm(chat("43"), TWEET, "encore")
    await raise_alarm(chat("44"), TWEET, "toujours")
    rows = await make.outbox(services, "alert")
    assert [(r["chat_id"], r["status"]) for r in rows] == [("7", "sent"), ("7", "pending")]
    edit = Outbound.from_json(str(rows[1]["payload"]))
    assert edit.edit_message_id == "700" and "3 signalements" in edit.text
    assert "✋ Je m'en occupe" in [c.label for row in edit.choices for c in row]
    await lea.tap_data("inc:take:1")
    rows = await make.outbox(services, "alert")
    assert rows[1]["status"] == "cancelled"  # the buttons do not come back after the answer


async def test_reporting_the_same_post_twice_counts_once(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42")
    ana = chat("42")
    await raise_alarm(ana, TWEET, "premier")
    reply = await raise_alarm(ana, TWEET + "?s=09", "encore plus viral")
    assert "Vous avez déjà signalé ce post" in reply
    incident = (await services.incident_repo.recent())[0]
    assert incident.reports == 1
    assert await services.incident_repo.comments(incident.id) == ["premier\nencore plus viral"]


async def test_flood_control_limits_new_incidents_but_not_duplicates(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.volunteer(services, "42")
    await make.volunteer(services, "43")
    ana, bob = chat("42"), chat("43")
    for n in range(3):
        await raise_alarm(ana, f"https://example.org/post/{n}", "x")
    reply = await raise_alarm(ana, "https://example.org/post/3", "x")
    assert "déjà donné 3 alertes dans la dernière heure" in reply
    await raise_alarm(bob, "https://example.org/post/9", "autre")
    reply = await raise_alarm(ana, "https://example.org/post/9", "moi aussi")
    assert "2 signalements" in reply
    assert len(await services.incident_repo.recent()) == 4
    clock.advance(minutes=61)
    reply = await raise_alarm(ana, "https://example.org/post/3", "x")
    assert "alerte n° 5" in reply


async def test_escalation_climbs_once_per_ring_until_the_admins(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    await make.volunteer(services, "42")
    await chat("7").send("/duty on")
    await raise_alarm(chat("42"), TWEET, "vite")
    assert [r["chat_id"] for r in await make.outbox(services, "alert")] == ["7"]
    clock.advance(minutes=4, seconds=59)
    await services.alerts.sweep()
    assert len(await make.outbox(services, "alert")) == 1
    clock.advance(seconds=2)
    for _ in range(3):
        await services.alerts.sweep()
    rows = await make.outbox(services, "alert")
    # Ring 2: the whole comms team, but Léa (already paged) is not paged again.
    assert [r["chat_id"] for r in rows] == ["7", "8"]
    assert "Personne de permanence ne l'a prise en 5 min" in pages_to(rows, "8")[0]
    clock.advance(minutes=5)
    for _ in range(3):
        await services.alerts.sweep()
    rows = await make.outbox(services, "alert")
    assert [r["chat_id"] for r in rows] == ["7", "8", "1"]  # RELAIS_ADMINS
    clock.advance(hours=2)
    await services.alerts.sweep()
    assert len(await make.outbox(services, "alert")) == 3
    events = await services.incident_repo.events(1)
    assert [(e.kind, e.ring, e.count) for e in events] == [
        ("opened", None, None),
        ("paged", 1, 1),
        ("paged", 2, 1),
        ("paged", 3, 1),
    ]


async def test_nobody_on_duty_pages_the_next_ring_at_once(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    assert [r["chat_id"] for r in await make.outbox(services, "alert")] == ["7"]
    incident = (await services.incident_repo.recent())[0]
    assert incident.ring == 2 and incident.first_paged_at == incident.first_seen_at


async def test_nobody_at_all_goes_straight_to_the_admins(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    assert [r["chat_id"] for r in await make.outbox(services, "alert")] == ["1"]


async def test_taking_it_stops_the_ladder_and_the_others_see_who(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc", language="en")
    lea, marc = chat("7"), chat("8", language="en")
    await lea.send("/duty on")
    await marc.send("/duty on")
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    await make.deliver_all(services)
    clock.advance(minutes=1)
    await lea.tap_data("inc:take:1")
    assert "Vous vous en occupez" in lea.last_text and lea.last.edit
    edits = [r for r in await make.outbox(services, "alert") if r["status"] == "pending"]
    assert [r["chat_id"] for r in edits] == ["8"]
    edit = Outbound.from_json(str(edits[0]["payload"]))
    assert edit.edit_message_id  # Marc's page is edited in place
    assert "Taken by Léa at 3:01" in edit.text and not edit.choices
    # Marc taps his old page: told who has it, nothing changes.
    await marc.tap_data("inc:take:1")
    assert "already answered" in marc.last_text and "Taken by Léa" in marc.last_text
    clock.advance(hours=1)
    await services.alerts.sweep()
    assert len(await make.outbox(services, "alert")) == 3  # 2 pages + 1 edit, no ring 2/3
    incident = (await services.incident_repo.recent())[0]
    assert incident.status == "taken" and incident.taken_by_name == "Léa"


async def test_a_page_not_yet_sent_becomes_the_taken_notice(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    await chat("7").send("/duty on")
    await chat("8").send("/duty on")
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    await chat("7").tap_data("inc:take:1")
    rows = await make.outbox(services, "alert")
    assert len(rows) == 2
    marc_page = Outbound.from_json(str(next(r for r in rows if r["chat_id"] == "8")["payload"]))
    assert "Pris en charge par Léa" in marc_page.text and not marc_page.choices


async def test_escalate_button_pages_the_next_ring_now_and_handled_tells_reporters(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    lea = chat("7")
    await lea.send("/duty on")
    await make.volunteer(services, "42")
    ana = chat("42")
    await raise_alarm(ana, TWEET, "vite")
    await ana.tap("Prévenez-moi")
    await lea.tap_data("inc:take:1")
    await lea.tap("Escalader")
    assert "l'échelon suivant a été prévenu" in lea.last_text
    assert [r["chat_id"] for r in await make.outbox(services, "alert")][:2] == ["7", "8"]
    await lea.tap_data("inc:done:1")
    assert "Marquée comme traitée" in lea.last_text
    notices = await make.outbox(services, "notice")
    assert [r["chat_id"] for r in notices] == ["42"]
    assert "la campagne a répondu au post" in json.loads(str(notices[0]["payload"]))["text"]
    await lea.tap_data("inc:done:1")
    assert "déjà reçu une réponse" in lea.last_text
    assert len(await make.outbox(services, "notice")) == 1


async def test_volunteers_and_forged_taps_cannot_answer_pages(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42")
    ana = chat("42")
    await raise_alarm(ana, TWEET, "vite")
    await ana.tap_data("inc:take:1")
    assert "réservé aux organisateurs" in ana.last_text
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    await lea.tap_data("inc:take:99")
    assert "Ce bouton a expiré" in lea.last_text
    await lea.tap_data("inc:take:abc")
    assert "Ce bouton a expiré" in lea.last_text
    await ana.tap_data("alr:notify:99")
    assert "Ce bouton a expiré" in ana.last_text
    assert (await services.incident_repo.get(1)).status == "new"  # type: ignore[union-attr]


async def test_a_restarted_sweep_never_repeats_a_ring(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    await chat("7").send("/duty on")
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    clock.advance(minutes=6)
    # A ring interrupted after its pages were queued but before it was recorded:
    incident = (await services.incident_repo.recent())[0]
    ring2 = await services.alerts.ring(2, clock.now())
    await services.page_repo.add_pages(incident.id, 2, ring2, clock.now())
    await services.notifier.send(services.alerts._pages(incident, 2, ring2, []))
    # …then Relais restarts: a fresh service bundle sweeps.
    fresh = services_on(services.settings, clock, services.db)
    await fresh.alerts.sweep()
    await fresh.alerts.sweep()
    rows = await make.outbox(services, "alert")
    assert sorted(str(r["chat_id"]) for r in rows) == ["7", "8"]
    assert (await fresh.incident_repo.get(incident.id)).ring == 2  # type: ignore[union-attr]


async def test_backup_asked_by_the_taker_says_so_on_the_next_ring(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    lea = chat("7")
    await lea.send("/duty on")
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    await lea.tap_data("inc:take:1")
    await lea.tap("Escalader")
    marc_page = pages_to(await make.outbox(services, "alert"), "8")[0]
    assert "Léa s'en occupe et demande du renfort" in marc_page


async def test_moving_on_without_answering_the_offer_drops_it(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42")
    ana = chat("42")
    await ana.send(f"tiens {TWEET}")
    await ana.send("ah non, rien")
    assert "rien n'a été envoyé" in ana.last_text
    assert await services.incident_repo.recent() == []


async def test_erasure_removes_a_reporters_comments_but_keeps_the_count(
    services: Services, chat: Callable[..., Chat]
) -> None:
    ana = await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "mon commentaire")
    async with services.db.transaction() as tx:
        await erase_alerts(tx, ana.id, services.clock.now())
    incident = await services.incident_repo.get(1)
    assert incident is not None and incident.reports == 1 and incident.opened_by is None
    assert await services.incident_repo.comments(1) == []


async def test_stopped_or_unreachable_comms_organizers_are_not_paged(
    services: Services, chat: Callable[..., Chat]
) -> None:
    stopped = await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    await make.comms(services, "9", name="Nina")
    await chat("7").send("/duty on")
    async with services.db.transaction() as tx:
        await tx.execute(
            "UPDATE volunteers SET status = 'stopped' WHERE id = :id", {"id": stopped.id}
        )
    await services.outbox.mark_unreachable("telegram", "9", services.clock.now())
    await make.volunteer(services, "42")
    await raise_alarm(chat("42"), TWEET, "vite")
    # Léa (on duty, but stopped) is skipped: the ring is empty, so the comms ring at once.
    assert [r["chat_id"] for r in await make.outbox(services, "alert")] == ["8"]


async def test_incidents_answers_clearly_when_there_is_nothing_or_a_bad_number(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Sam", language="en")
    sam = chat("7", language="en")
    await sam.send("/incidents")
    assert "No alert has been raised yet." in sam.last_text
    await sam.send("/incidents twelve")
    assert "followed by an alert number" in sam.last_text
    await sam.send("/incidents 12")
    assert "There is no alert #12." in sam.last_text


async def test_forget_erases_the_alarms_a_volunteer_raised_with_their_comments(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.volunteer(services, "42", name="Ana")
    ana = chat("42")
    await raise_alarm(ana, "https://x.com/opponent/status/123", "Zphrqx-commentaire-unique")
    await ana.send("/mydata")
    assert ana.last.attachment is not None
    assert b"Zphrqx-commentaire-unique" in ana.last.attachment.content
    await ana.send("/forget")
    await ana.tap("fg:yes")
    await services.db.checkpoint()
    if services.db.dialect.name == "sqlite":  # nothing of it left in the file's bytes either
        data = b"".join(
            p.read_bytes() for p in services.db.path.parent.glob(services.db.path.name + "*")
        )
        assert b"Zphrqx-commentaire-unique" not in data
    for table, column in (("incident_reports", "comment"), ("outbox", "payload")):
        found = await services.db.fetch_value(
            f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE '%Zphrqx%'"
        )
        assert found == 0, table
    # The incident itself stays, counted, for the comms team.
    assert await services.db.fetch_value("SELECT reports FROM incidents") == 1


async def test_the_campaign_report_shows_rapid_response_times(
    services: Services, chat: Callable[..., Chat], admin_chat: Chat, clock: FakeClock
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.volunteer(services, "42", name="Ana")
    lea = chat("7")
    await lea.send("/duty on")
    await raise_alarm(chat("42"), TWEET, "vite")
    clock.advance(minutes=3)
    await lea.tap_data("inc:take:1")
    await admin_chat.send("/report campagne")
    report = admin_chat.last_text
    assert "Réponse rapide" in report
    assert "Délai médian avant la première réponse : 3 min" in report
