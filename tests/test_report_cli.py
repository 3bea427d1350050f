"""`python -m bot report`: the same figures, as text, JSON or CSV, for scripts."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services import Services
from tests.postgres import url_of
from tests.report_data import build_campaign

ROOT = Path(__file__).resolve().parent.parent


def report(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    return bot(services, "report", *args)


def bot(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url_of(services.settings),
        "TELEGRAM_BOT_TOKEN": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def campaign(services: Services) -> Services:
    await build_campaign(services.db)
    return services


async def test_json(campaign: Services) -> None:
    done = report(campaign, "--period", "campaign", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["people"]["total"] == 7
    assert data["people"]["erased"] == 1
    assert data["funnel"]["canvass"] == {"offered": 1, "accepted": 4, "done": 3}
    assert data["work"]["doors_knocked"] == 95
    assert data["calls"]["made"] == 5
    assert data["teams"]["Évry Sud"]["done"] == 7
    assert data["since"] is None


async def test_csv_for_one_team(campaign: Services) -> None:
    done = report(campaign, "--period", "campaign", "--team", "Paris 11e", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["figure", "key", "value"]
    assert ["people", "total", "2"] in rows
    assert ["calls", "made", "4"] in rows
    assert ["funnel.call", "done", "1"] in rows


async def test_text_and_unknown_team(campaign: Services) -> None:
    done = report(campaign, "--period", "campaign", "--language", "en")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("📊 The whole campaign\nUntil ")
    assert "Doors knocked: 95" in done.stdout
    unknown = report(campaign, "--team", "Atlantide")
    assert unknown.returncode == 2
    assert "Équipe inconnue : Atlantide" in unknown.stderr  # the campaign's language


async def test_export_from_the_command_line(campaign: Services, tmp_path: Path) -> None:
    target = tmp_path / "outcomes.csv"
    done = bot(campaign, "export", "outcomes", str(target))
    assert done.returncode == 0, done.stderr
    assert "12 lignes écrites" in done.stdout
    content = target.read_bytes()
    assert content.startswith("\ufeffassignment,task,title".encode())
    assert len(content.decode("utf-8-sig").splitlines()) == 13
    entries = await campaign.audit.recent()
    assert entries[0].action == "export" and entries[0].actor_id is None
