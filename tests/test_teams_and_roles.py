"""Organizers and admins: teams, roles, the audit log and the volunteer directory, each
within its scope, and refused to everyone else."""

from __future__ import annotations

from collections.abc import Callable

from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat

ChatFactory = Callable[..., Chat]
REFUSED = "Désolé, ceci est réservé aux organisateurs."
ADMINS_ONLY = "Désolé, ceci est réservé aux admins."


async def test_organizer_and_admin_commands_are_refused_to_volunteers_and_strangers(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "300")
    for user_id in ("300", "301"):  # a member, then someone Relais does not know
        person = chat(user_id, language="fr")
        for command in ("/teams", "/volunteers", "/promote 1", "/demote 1", "/audit"):
            await person.send(command)
            expected = REFUSED if command in ("/teams", "/volunteers") else ADMINS_ONLY
            assert person.last_text == expected, (user_id, command)
        for forged in ("tm:new", "tm:ren:1", "iv:org:1", "iv:team:1", "pr:admin:300:0"):
            await person.tap_data(forged)
            assert "Ce bouton a expiré" in person.last_text, forged
    assert await services.db.fetch_value("SELECT COUNT(*) FROM roles") == 0
    assert await services.db.fetch_value("SELECT COUNT(*) FROM teams") == 0


async def test_admin_commands_are_refused_to_organizers(
    chat: ChatFactory, services: Services
) -> None:
    volunteer = await make_volunteer(services, "310", teams=("Lyon",), team_role="organizer")
    olga = chat("310", language="fr")
    for command in (f"/promote {volunteer.id}", f"/demote {volunteer.id}", "/audit"):
        await olga.send(command)
        assert olga.last_text == ADMINS_ONLY
    await olga.tap_data(f"pr:admin:{volunteer.id}:0")
    assert "Ce bouton a expiré" in olga.last_text
    await olga.send("/invite")
    labels = [c.label for row in olga.last.choices for c in row]
    assert labels == ["🙋 Mon lien personnel", "👥 Lien d'inscription : Lyon"]
    assert [r.role for r in await services.volunteers.roles(volunteer.id)] == ["organizer"]


async def test_admin_creates_and_renames_teams(admin_chat: Chat, services: Services) -> None:
    await admin_chat.send("/teams")
    assert "Aucune équipe pour l'instant." in admin_chat.last_text
    await admin_chat.tap("Nouvelle équipe")
    await admin_chat.send("x" * 61)
    assert admin_chat.last_text == "Un nom d'équipe compte de 1 à 60 caractères."
    await admin_chat.send("Paris <11e>")
    assert admin_chat.last.text.startswith("Équipe Paris &lt;11e&gt; créée.")
    await admin_chat.send("/teams")
    await admin_chat.tap("Nouvelle équipe")
    await admin_chat.send("paris <11E>")
    assert admin_chat.last_text == "Une équipe porte déjà ce nom."
    await admin_chat.send("/cancel")
    await admin_chat.send("/teams")
    assert "• Paris <11e> — 0" in admin_chat.last_text
    await admin_chat.tap("Renommer Paris")
    await admin_chat.send("Paris 11e")
    assert admin_chat.last_text == "L'équipe s'appelle désormais Paris 11e."
    actions = [e.action for e in await services.audit.recent()]
    assert actions == ["team.rename", "team.create"]


async def test_organizers_see_and_rename_only_their_teams(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "320", language="en", teams=("Lyon",), team_role="organizer")
    await make_volunteer(services, "321", teams=("Lille",))
    olga = chat("320", language="en")
    await olga.send("/teams")
    assert "• Lyon — 1" in olga.last_text and "Lille" not in olga.last_text
    assert all("New team" not in c.label for row in olga.last.choices for c in row)
    lille = next(t for t in await services.team_repo.in_scope(None) if t.name == "Lille")
    await olga.tap_data(f"tm:ren:{lille.id}")
    assert "This button has expired" in olga.last_text
    await olga.tap_data(f"iv:team:{lille.id}")
    assert "This button has expired" in olga.last_text


async def test_admin_promotes_and_demotes_with_the_menu_refreshed(
    chat: ChatFactory, admin_chat: Chat, services: Services
) -> None:
    changed: list[int] = []
    services.messengers.watch_roles(changed.append)
    await services.team_repo.create("Bordeaux")
    volunteer = await make_volunteer(services, "330", first_name="<i>Bea</i>")
    await admin_chat.send("/promote")
    assert admin_chat.last_text.startswith("Utilisation : /promote NUMÉRO")
    await admin_chat.send("/promote 999")
    assert admin_chat.last_text == "Aucun·e bénévole n'a le numéro 999."
    await admin_chat.send(f"/promote #{volunteer.id}")
    assert f"Quel rôle pour #{volunteer.id} &lt;i&gt;Bea&lt;/i&gt; ?" in admin_chat.last.text
    await admin_chat.tap("Organisateur de Bordeaux")
    assert admin_chat.last_text == f"C'est fait : #{volunteer.id} a le nouveau rôle."
    assert changed == [volunteer.id]
    notices = await services.db.fetch_all("SELECT chat_id, payload FROM outbox")
    assert [r["chat_id"] for r in notices] == ["330"]
    assert "Vous êtes maintenant organisateur de Bordeaux" in notices[0]["payload"]

    bea = chat("330", language="fr")
    await bea.send("/volunteers")
    assert "Bénévoles" in bea.last_text  # she is an organizer now
    await bea.send("/profile")
    assert "Rôles : organisateur de Bordeaux" in bea.last_text

    await admin_chat.send(f"/demote {volunteer.id}")
    await admin_chat.tap("Organisateur de Bordeaux")
    assert admin_chat.last_text == f"C'est fait : #{volunteer.id} n'a plus ce rôle."
    assert changed == [volunteer.id, volunteer.id]
    await bea.send("/volunteers")
    assert bea.last_text == REFUSED
    await admin_chat.tap_data(f"dm:organizer:{volunteer.id}:1")  # the same button again
    assert "Ce bouton a expiré" in admin_chat.last_text

    await admin_chat.send("/audit")
    audit = admin_chat.last_text
    assert f"a nommé bénévole n°{volunteer.id} organisateur·rice" in audit
    assert f"a retiré le rôle d'organisateur·rice : bénévole n°{volunteer.id}" in audit
    # looking someone up is audited too
    assert f"a consulté le profil : bénévole n°{volunteer.id}" in audit
    assert "un admin (configuration)" in audit
    assert "role." not in audit and "volunteer:" not in audit and ".view" not in audit


async def test_an_admin_can_make_another_admin(
    chat: ChatFactory, admin_chat: Chat, services: Services
) -> None:
    volunteer = await make_volunteer(services, "340")
    await admin_chat.send(f"/promote {volunteer.id}")
    await admin_chat.tap("Admin (tout)")
    newcomer = chat("340", language="fr")
    await newcomer.send("/audit")
    assert "Dernières actions des organisateurs" in newcomer.last_text


async def test_the_directory_stays_within_the_organizers_teams(
    chat: ChatFactory, services: Services
) -> None:
    olga = await make_volunteer(
        services, "350", first_name="Olga", teams=("Lyon",), team_role="organizer"
    )
    await make_volunteer(
        services,
        "351",
        first_name="Léon",
        postcode="69003",
        teams=("Lyon",),
        skills=("canvass", "call"),
        availability=("weekends",),
    )
    await make_volunteer(
        services, "352", first_name="Lou", postcode="69007", teams=("Lyon",), status="paused"
    )
    await make_volunteer(services, "353", first_name="Lina", postcode="59000", teams=("Lille",))
    await make_volunteer(services, "354", first_name="Nadia", postcode="13001")
    organizer = chat("350", language="fr")
    await organizer.send("/volunteers")
    text = organizer.last_text
    assert "actifs : 2 · en pause : 1 · arrêtés : 0" in text
    assert "Léon — 69 — porte-à-porte, appels" in text  # skills in words, never codes
    assert "Par équipe : Lyon 3" in text
    assert "Par département : 69 2, 75 1" in text
    assert "🚪 Porte-à-porte 1" in text
    for name in ("Olga", "Léon", "Lou"):
        assert name in text
    assert "Lina" not in text and "Nadia" not in text and "Lille" not in text
    await organizer.send("/volunteers canvass 69")
    assert "Léon" in organizer.last_text and "Olga" not in organizer.last_text
    assert "actifs : 1 ·" in organizer.last_text
    await organizer.send("/volunteers 59")
    assert "Personne ne correspond." in organizer.last_text  # Lille is not her scope
    await organizer.send("/volunteers <script>")
    assert "Je ne connais pas le filtre « <script> »" in organizer.last_text
    entries = await services.audit.recent()
    assert [e.action for e in entries] == ["volunteers.list"] * 3
    assert all(e.actor_id == olga.id for e in entries)


async def test_admins_see_everyone(admin_chat: Chat, services: Services) -> None:
    await make_volunteer(services, "360", first_name="Lina", teams=("Lille",))
    await make_volunteer(services, "361", first_name="Nadia", postcode="13001")
    await admin_chat.send("/volunteers")
    assert "Lina" in admin_chat.last_text and "Nadia" in admin_chat.last_text


async def test_organizer_commands_in_a_group_are_refused(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "370", teams=("Lyon",), team_role="organizer")
    group = chat("370", language="fr", private=False)
    for command in ("/volunteers", "/teams", "/invite", "/mydata", "/forget", "/profile"):
        await group.send(command)
        assert group.last_text == "Écrivez-moi en message privé pour cela.", command


async def test_admin_puts_someone_on_the_comms_team_and_takes_them_off(
    chat: ChatFactory, admin_chat: Chat, services: Services
) -> None:
    """/promote offers the comms team and /demote names it in words (before: "comms"), and
    taking it away ends their duty as /comms remove does; the menu is refreshed each time."""
    changed: list[int] = []
    services.messengers.watch_roles(changed.append)
    volunteer = await make_volunteer(services, "360", first_name="Léa")
    await admin_chat.send(f"/promote {volunteer.id}")
    await admin_chat.tap("Équipe communication (alertes, permanence)")
    assert admin_chat.last_text == f"C'est fait : #{volunteer.id} a le nouveau rôle."
    assert changed == [volunteer.id]
    await chat("360", language="fr").send("/duty on")
    assert await services.db.fetch_value("SELECT COUNT(*) FROM duty WHERE state = 'on'") == 1
    await admin_chat.send(f"/demote {volunteer.id}")
    await admin_chat.tap("Équipe communication (alertes, permanence)")
    assert admin_chat.last_text == f"C'est fait : #{volunteer.id} n'a plus ce rôle."
    assert changed == [volunteer.id, volunteer.id]
    assert await services.db.fetch_value("SELECT COUNT(*) FROM duty WHERE state = 'on'") == 0
