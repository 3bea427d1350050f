"""Volunteer references in exports are keyed hashes, even when no key was configured."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.services.reports import pseudonym, pseudonym_key


def test_without_a_configured_key_references_use_a_random_key_kept_beside_the_database(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}"})
    key = pseudonym_key(settings)
    assert len(key) == 64 and key == pseudonym_key(settings)  # created once, then reused
    assert (tmp_path / "r.sqlite3.pseudonym-key").stat().st_mode & 0o777 == 0o600
    assert pseudonym(key, 1) != pseudonym("", 1)


def test_a_configured_key_is_used_as_is(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}", "RELAIS_PSEUDONYM_KEY": "k"}
    )
    assert pseudonym_key(settings) == "k"
    assert not (tmp_path / "r.sqlite3.pseudonym-key").exists()
