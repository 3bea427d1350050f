"""Settings: defaults, validation with one clear line naming the variable, secrets hidden."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, Identity, Settings, read_dotenv


def test_defaults_need_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.database_path == Path("data/relais.sqlite3")
    assert settings.language == "fr"
    assert str(settings.timezone) == "Europe/Paris"
    assert settings.quiet_hours is not None and str(settings.quiet_hours) == "21:00-09:00"
    assert not settings.telegram_token


def test_admins_are_parsed_by_numeric_id() -> None:
    settings = Settings.from_env({"RELAIS_ADMINS": "telegram:1, signal:+33612345678"})
    assert settings.admins == {Identity("telegram", "1"), Identity("signal", "+33612345678")}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RELAIS_ADMINS": "telegram:@alice"}, "RELAIS_ADMINS"),
        ({"RELAIS_TIMEZONE": "Paris"}, "RELAIS_TIMEZONE"),
        ({"RELAIS_LANGUAGE": "de"}, "RELAIS_LANGUAGE"),
        ({"DATABASE_URL": "postgres://x"}, "DATABASE_URL"),
        ({"PORT": "http"}, "PORT"),
        ({"RELAIS_QUIET_HOURS": "22h"}, "RELAIS_QUIET_HOURS"),
        ({"RELAIS_WEBHOOK_URL": "http://insecure"}, "RELAIS_WEBHOOK_URL"),
        ({"RELAIS_WEBHOOK_URL": "https://x.org"}, "RELAIS_WEBHOOK_SECRET"),
        ({"RELAIS_WEBHOOK_SECRET": "has spaces"}, "RELAIS_WEBHOOK_SECRET"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({"RELAIS_RETENTION_DAYS": "-3"}, "RELAIS_RETENTION_DAYS"),
        ({"RELAIS_PAID_BROADCAST": "maybe"}, "RELAIS_PAID_BROADCAST"),
        ({"RELAIS_RESEND_AFTER_CRASH": "twice"}, "RELAIS_RESEND_AFTER_CRASH"),
        ({"RELAIS_PG_POOL": "2"}, "RELAIS_PG_POOL"),
        ({"RELAIS_PG_TURNS": "many"}, "RELAIS_PG_TURNS"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert str(error.value).startswith(variable + ":")
    assert "\n" not in str(error.value)


def test_each_workers_postgresql_connections_are_settings() -> None:
    settings = Settings.from_env({})
    assert (settings.pg_pool, settings.pg_turns) == (10, 8)
    settings = Settings.from_env({"RELAIS_PG_POOL": "6", "RELAIS_PG_TURNS": "4"})
    assert (settings.pg_pool, settings.pg_turns) == (6, 4)
    with pytest.raises(ConfigError, match="Connection budget"):
        Settings.from_env({"RELAIS_PG_TURNS": "0"})


def test_messages_in_flight_at_a_crash_are_resent_unless_the_campaign_says_no() -> None:
    assert Settings.from_env({}).resend_after_crash is True
    assert Settings.from_env({"RELAIS_RESEND_AFTER_CRASH": "no"}).resend_after_crash is False


def test_quiet_hours_can_be_disabled_and_wrap_midnight() -> None:
    assert Settings.from_env({"RELAIS_QUIET_HOURS": ""}).quiet_hours is None
    quiet = Settings.from_env({}).quiet_hours
    assert quiet is not None
    assert quiet.contains(time(23, 30)) and quiet.contains(time(8, 59))
    assert not quiet.contains(time(9, 0)) and not quiet.contains(time(20, 59))


def test_the_token_never_shows_in_a_repr() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123456:SECRET-value"})
    assert "SECRET" not in repr(settings)
    assert settings.telegram_token.value == "123456:SECRET-value"


def test_dotenv_lines_are_read_and_comments_skipped(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nRELAIS_LANGUAGE=en\nRELAIS_CONTROLLER='Campagne X'\n\n")
    assert read_dotenv(env_file) == {"RELAIS_LANGUAGE": "en", "RELAIS_CONTROLLER": "Campagne X"}
