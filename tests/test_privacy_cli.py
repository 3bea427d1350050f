"""An admin exercises the rights of someone who can no longer use the chat."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.storage.db import Database
from tests.factories import make_volunteer
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on


async def seed(path: Path) -> int:
    db = Database(path)
    await db.open()
    await db.migrate()
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{path}"})
    try:
        volunteer = await make_volunteer(
            services_on(settings, FakeClock(), db), "900", first_name="Céleste"
        )
        return volunteer.id
    finally:
        await db.close()


def test_export_then_erase_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "relais.sqlite3"
    volunteer_id = asyncio.run(seed(path))
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert main(["export-volunteer", str(volunteer_id)]) == 0
    assert json.loads(capsys.readouterr().out)["profile"]["first_name"] == "Céleste"
    assert main(["erase-volunteer", str(volunteer_id)]) == 0
    assert "ajoutez --yes" in capsys.readouterr().out
    assert main(["erase-volunteer", str(volunteer_id), "--yes"]) == 0
    assert f"Bénévole n°{volunteer_id} effacé·e." in capsys.readouterr().out
    assert b"C\xc3\xa9leste" not in path.read_bytes()
    assert main(["export-volunteer", str(volunteer_id)]) == 1
    assert "déjà effacé·e" in capsys.readouterr().err
