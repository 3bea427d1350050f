"""Files in the chat: a screenshot as a share's proof, a call list sent as a CSV document."""

from __future__ import annotations

import io
from collections.abc import Callable

from bot.config import Identity
from bot.messaging import InboundFile
from bot.router import FloodGate
from bot.services import Services
from bot.services.reports import proof_cell
from bot.transports import TransientFailure
from tests.fakes.chat import Chat
from tests.task_factories import task, team, volunteer

ChatFactory = Callable[..., Chat]
LIST = (
    b"name,phone,notes\n"
    b"Camille Martin,06 12 34 56 78,Sympathisante 2022\n"
    b"Jean Dupont,+33 1 42 68 53 00,\n"
    b"Awa Diallo,07 98 76 54 32,Le soir\n"
)
SCREENSHOT = InboundFile("photo", "AgACAgQ-screenshot-1", size=48_000)


class FakeDownloads:
    """Stands in for a messenger's file server: file_id → bytes, and what was fetched."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []

    def add(self, file_id: str, name: str, content: bytes, mime: str = "text/csv") -> InboundFile:
        self.files[file_id] = content
        return InboundFile("document", file_id, name=name, size=len(content), mime=mime)

    async def __call__(self, file: InboundFile) -> bytes:
        self.fetched.append(file.file_id)
        if file.file_id not in self.files:
            raise TransientFailure("file server unreachable")
        return self.files[file.file_id]


def downloads(services: Services) -> FakeDownloads:
    fake = FakeDownloads()
    services.messengers.serve("telegram", download=fake)
    return fake


async def organizer_with_call_task(
    services: Services, chat: ChatFactory, language: str
) -> tuple[Chat, int]:
    north = await team(services, "Nord")
    await volunteer(services, "400", organizer_of=[north], language=language)
    call = await task(services, "call", title="Appels du Nord", team_id=north)
    boss = chat("400", language=language)
    boss.router.flood = FloodGate(limit=1000)  # a test types faster than any organizer
    return boss, call.id


async def test_a_screenshot_is_a_share_proof_in_french(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "410", skills=["share"])
    await task(services, "share", link="https://example.org/v", proof_wanted=True)
    ana = chat("410")
    await ana.send("/task")
    await ana.tap("Accepter")
    await ana.tap("Fait")
    assert "capture d’écran" in ana.last_text
    await ana.send("", file=SCREENSHOT)
    assert "C’est noté" in ana.last_text and "+1 point" in ana.last_text
    proof = await services.db.fetch_value("SELECT proof FROM outcomes")
    assert proof == "telegram-photo:AgACAgQ-screenshot-1"
    admin = await services.people.actor(Identity("telegram", "1"), "1")
    sink = io.BytesIO()
    await services.reports.export(admin, "outcomes", sink)
    exported = sink.getvalue().decode("utf-8-sig")
    assert "screenshot (telegram)" in exported
    assert "AgACAgQ" not in exported  # the file reference stays in the database
    await ana.send("/forget")
    await ana.tap("fg:yes")
    assert await services.db.fetch_value("SELECT proof FROM outcomes") is None


async def test_a_share_proof_in_english_takes_images_but_not_other_files(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "411", language="en", skills=["share"])
    await task(services, "share", link="https://example.org/v")
    ana = chat("411", language="en")
    await ana.send("/task")
    await ana.tap("Accept")
    await ana.tap("Done")
    assert "screenshot" in ana.last_text
    await ana.send(
        "", file=InboundFile("document", "BQ-pdf", name="post.pdf", mime="application/pdf")
    )
    assert ana.last_text == "Send a link starting with https://, a screenshot, or tap No proof."
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outcomes") == 0
    # A screenshot sent "as a file" (uncompressed) is an image document: also a screenshot.
    image = InboundFile("document", "BQ-png", name="capture.png", mime="image/png")
    await ana.send("", file=image)
    assert "Recorded" in ana.last_text
    assert await services.db.fetch_value("SELECT proof FROM outcomes") == "telegram-document:BQ-png"
    # Typing something that looks like a reference is not a screenshot.
    assert proof_cell("telegram-photo:x") == "screenshot (telegram)"
    assert proof_cell("https://social.example/p") == "https://social.example/p"
    assert proof_cell(None) == ""


async def test_typed_text_shaped_like_a_reference_is_not_a_screenshot(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "412", language="en", skills=["share"])
    await task(services, "share", link="https://example.org/v")
    ana = chat("412", language="en")
    await ana.send("/task")
    await ana.tap("Accept")
    await ana.tap("Done")
    await ana.send("telegram-photo:forged")
    assert ana.last_text == "Send a link starting with https://, a screenshot, or tap No proof."


async def test_a_file_where_none_is_expected_gets_a_helpful_answer(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "413", language="en", skills=["canvass"])
    ana = chat("413", language="en")
    await ana.send("", file=SCREENSHOT)
    assert "I only use files when I ask for one" in ana.last_text
    lea = chat("414")
    await lea.send("", file=SCREENSHOT)
    assert "Je n’utilise un fichier que quand je vous en demande un" in lea.last_text
    # A forwarded post with a picture is still a post: the alarm is offered, as for text.
    await ana.send("Vote for nobody https://social.example/p/1", forwarded=True, file=SCREENSHOT)
    assert "Is this a post attacking the campaign?" in ana.last_text
    await ana.tap("No, thanks")
    # While a flow waits for typed answers (a canvass count), a file is refused politely.
    await task(services, "canvass", title="Porte-à-porte")
    await ana.send("/task")
    await ana.tap("Accept")
    await ana.tap("Done")
    await ana.send("", file=SCREENSHOT)
    assert (
        ana.last_text == "I can't use a file here. Please answer with a message, or send /cancel."
    )
    await ana.send("12")
    assert "conversations" in ana.last_text


async def test_an_organizer_sends_a_csv_call_list_in_french(
    services: Services, chat: ChatFactory
) -> None:
    files = downloads(services)
    boss, call_id = await organizer_with_call_task(services, chat, "fr")
    await boss.send("/tasks")
    await boss.tap("Ajouter des personnes à appeler")
    assert "fichier CSV" in boss.last_text
    await boss.send("", file=files.add("BQ-1", "appels.csv", LIST))
    assert "3 personnes ajoutées" in boss.last_text
    assert "Liste d’appels : 3 personnes, à appeler 3" in boss.last_text
    bad = b"nom;t\xc3\xa9l\xc3\xa9phone\nL\xc3\xa9a;06 11 22 33 44\nPaul;123\n"
    await boss.send("", file=files.add("BQ-2", "autres.csv", bad))
    assert "Rien n’a été ajouté" in boss.last_text
    assert "ligne 3 : « 123 » n’est pas un numéro de téléphone valide" in boss.last_text
    assert (await services.call_repo.summary(call_id)).get("ready") == 3
    await boss.send("", file=files.add("BQ-3", "sans-entete.csv", b"Awa,0798765432\n"))
    assert "la ligne 1 doit nommer les colonnes : nom, téléphone" in boss.last_text
    await boss.send("", file=files.add("BQ-4", "appels.csv", b"\xff\xfe\x00n"))
    assert "le fichier n’est pas du texte UTF-8" in boss.last_text
    big = files.add("BQ-5", "enorme.csv", b"name,phone\n" + b"x" * 2_000_000)
    await boss.send("", file=big)
    assert "le fichier dépasse 1 Mo" in boss.last_text
    pdf = files.add("BQ-6", "appels.pdf", b"%PDF-1.7", mime="application/pdf")
    await boss.send("", file=pdf)
    assert "je ne sais lire une liste d’appels qu’en fichier CSV ou texte" in boss.last_text
    await boss.send("", file=SCREENSHOT)
    assert "en fichier CSV ou texte" in boss.last_text
    # Refused files were never downloaded: the messenger's declared size and type suffice.
    assert files.fetched == ["BQ-1", "BQ-2", "BQ-3", "BQ-4"]
    assert (await services.call_repo.summary(call_id)).get("ready") == 3
    await boss.tap("Terminé")
    assert "Liste d’appels : 3 personnes" in boss.last_text


async def test_an_organizer_sends_a_csv_call_list_in_english(
    services: Services, chat: ChatFactory
) -> None:
    files = downloads(services)
    boss, call_id = await organizer_with_call_task(services, chat, "en")
    await boss.send("/tasks")
    await boss.tap("Add people to call")
    await boss.send("", file=files.add("BQ-1", "list.csv", LIST + b"Bad Row,42\n"))
    assert "Nothing was added. Please fix and send again:" in boss.last_text
    assert "line 5: “42” is not a valid phone number" in boss.last_text
    assert (await services.call_repo.summary(call_id)) == {}
    # A file the messenger cannot hand over: said so, nothing added, the list can be resent.
    lost = InboundFile("document", "BQ-gone", name="list.csv", size=10, mime="text/csv")
    await boss.send("", file=lost)
    assert boss.last_text == "Nothing was added: I could not fetch the file. Please send it again."
    # A file with no name counts by its type; the declared size is checked before download.
    unnamed = files.add("BQ-2", "", LIST, mime="text/plain")
    await boss.send("", file=unnamed)
    assert "Added 3 people" in boss.last_text
    huge = InboundFile("document", "BQ-big", name="list.csv", size=2_000_000, mime="text/csv")
    await boss.send("", file=huge)
    assert boss.last_text == (
        "Nothing was added: the file is over 1 MB. Split the list and send the parts."
    )
    assert "BQ-big" not in files.fetched
    # A messenger without a downloader (the console) says so instead of failing.
    services.messengers.serve("telegram", download=None)
    await boss.send("", file=files.add("BQ-3", "more.csv", LIST))
    assert "I cannot read files on this messenger yet" in boss.last_text
