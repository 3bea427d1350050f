"""Settings read from the environment (and an optional `.env` file), checked at start."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("fr", "en")


def pick_language(code: str | None, default: str) -> str:
    """The supported language closest to a messenger's language code ('fr-BE' → 'fr')."""
    if code:
        base = code.replace("-", "_").split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return default


DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_PATH = Path("data/relais.sqlite3")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(ValueError):
    """A variable is missing or wrong; the message names it in one line."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that never shows in logs or reprs."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')" if self.value else "Secret('')"

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True, slots=True)
class Identity:
    """A person's address on one messenger: ("telegram", "12345")."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Hours during which nobody is messaged unless they asked or it is urgent."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Relais needs to know about its deployment."""

    telegram_token: Secret = Secret("")
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    database_path: Path = DEFAULT_DATABASE_PATH
    # postgresql://user@host:port/name when the campaign lives in PostgreSQL ('' for SQLite,
    # in `database_path`). Files Relais keeps beside its database stay in database_path's folder.
    database_url: str = ""
    admins: frozenset[Identity] = frozenset()
    language: str = "fr"
    timezone: ZoneInfo = ZoneInfo("Europe/Paris")
    webhook_url: str = ""
    webhook_secret: Secret = Secret("")
    # Where the webhook listens: loopback, behind the HTTPS reverse proxy that faces Telegram.
    webhook_listen: str = "127.0.0.1"
    port: int = 8443
    retention_days: int = 730
    quiet_hours: QuietHours | None = QuietHours(time(21, 0), time(9, 0))
    daily_offer_cap: int = 2
    alert_ack_minutes: int = 5
    digest_time: time = time(20, 0)
    paid_broadcast: bool = False
    # Paid broadcasts' pace (Telegram allows 1000/s); benchmarks raise it to find the ceiling.
    paid_broadcast_rate: int = 990
    # Messages per second on the Telegram lane; None keeps just under Telegram's 30. Raised
    # only for a benchmark's fake server (Telegram itself refuses more, with 429s).
    telegram_rate: int | None = None
    signal_cli_url: str = ""
    signal_account: str = ""
    # Messages per second on Signal's outbox lane: its limits are unpublished and strict.
    signal_rate: float = 0.5
    # After a kill -9, messages that were being sent go out again (a few may arrive twice);
    # False: they are marked uncertain and never resent (a few may never arrive).
    resend_after_crash: bool = True
    # Who is responsible for the data; empty: "the campaign team", in each reader's language.
    controller: str = ""
    pseudonym_key: Secret = Secret("")
    log_level: str = "INFO"
    # The organizers' dashboard, served by Relais itself: its public base ("" = off).
    dashboard_url: str = ""
    # Where it listens behind the HTTPS proxy (on RELAIS_WEBHOOK_LISTEN) when that is public.
    dashboard_port: int = 8090
    # PostgreSQL only: each worker's connections (docs/deploy-postgresql.md, "Connection
    # budget"): its storage pool, and the chats' turns (one per update being handled). With
    # the one that elects and LISTENs, a worker holds up to pg_pool + pg_turns + 1 (19 here).
    pg_pool: int = 10
    pg_turns: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from variables; raise ConfigError naming the first bad one."""
        env = {k: v.strip() for k, v in environ.items()}

        def get(name: str, default: str = "") -> str:
            return env.get(name) or default

        secret = get("RELAIS_WEBHOOK_SECRET")
        if secret and not _SECRET_RE.match(secret):
            raise ConfigError(
                "RELAIS_WEBHOOK_SECRET: use 1 to 256 characters among A-Z, a-z, 0-9, _ and -"
            )
        webhook_url = get("RELAIS_WEBHOOK_URL")
        if webhook_url and not webhook_url.startswith("https://"):
            raise ConfigError("RELAIS_WEBHOOK_URL: must start with https://")
        if webhook_url and not secret:
            raise ConfigError("RELAIS_WEBHOOK_SECRET: required when RELAIS_WEBHOOK_URL is set")
        token = get("TELEGRAM_BOT_TOKEN")
        if token and not re.match(r"^\d+:[A-Za-z0-9_-]+$", token) and token != "x":
            raise ConfigError("TELEGRAM_BOT_TOKEN: expected the form 123456:ABC-… from @BotFather")
        base_url = get("TELEGRAM_API_BASE_URL", DEFAULT_API_BASE_URL)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError("TELEGRAM_API_BASE_URL: must be an http:// or https:// address")
        signal_url = get("SIGNAL_CLI_URL").rstrip("/")
        if signal_url and not signal_url.startswith(("http://", "https://")):
            raise ConfigError("SIGNAL_CLI_URL: expected http://host:port of signal-cli's daemon")
        database = _database(get("DATABASE_URL", "sqlite:///data/relais.sqlite3"))
        language = get("RELAIS_LANGUAGE", "fr")
        if language not in LANGUAGES:
            raise ConfigError(f"RELAIS_LANGUAGE: must be one of {', '.join(LANGUAGES)}")
        return cls(
            telegram_token=Secret(token),
            telegram_api_base_url=base_url,
            database_path=database[0],
            database_url=database[1],
            admins=_admins(get("RELAIS_ADMINS")),
            language=language,
            timezone=_timezone("RELAIS_TIMEZONE", get("RELAIS_TIMEZONE", "Europe/Paris")),
            webhook_url=webhook_url,
            webhook_secret=Secret(secret),
            webhook_listen=_address(
                "RELAIS_WEBHOOK_LISTEN", get("RELAIS_WEBHOOK_LISTEN", "127.0.0.1")
            ),
            port=_integer("PORT", get("PORT", "8443"), 1, 65535),
            retention_days=_integer(
                "RELAIS_RETENTION_DAYS", get("RELAIS_RETENTION_DAYS", "730"), 31, 36500
            ),
            quiet_hours=_quiet_hours(env.get("RELAIS_QUIET_HOURS", "21:00-09:00")),
            daily_offer_cap=_integer(
                "RELAIS_DAILY_OFFER_CAP", get("RELAIS_DAILY_OFFER_CAP", "2"), 0, 100
            ),
            alert_ack_minutes=_integer(
                "RELAIS_ALERT_ACK_MINUTES", get("RELAIS_ALERT_ACK_MINUTES", "5"), 1, 1440
            ),
            digest_time=_clock_time("RELAIS_DIGEST_TIME", get("RELAIS_DIGEST_TIME", "20:00")),
            paid_broadcast=_boolean("RELAIS_PAID_BROADCAST", get("RELAIS_PAID_BROADCAST", "no")),
            paid_broadcast_rate=_integer(
                "RELAIS_PAID_BROADCAST_RATE", get("RELAIS_PAID_BROADCAST_RATE", "990"), 1, 100_000
            ),
            telegram_rate=_integer("RELAIS_TELEGRAM_RATE", rate, 1, 100_000)
            if (rate := get("RELAIS_TELEGRAM_RATE"))
            else None,
            signal_cli_url=signal_url,
            signal_account=get("SIGNAL_ACCOUNT"),
            signal_rate=_rate("RELAIS_SIGNAL_RATE", get("RELAIS_SIGNAL_RATE", "0.5")),
            resend_after_crash=_boolean(
                "RELAIS_RESEND_AFTER_CRASH", get("RELAIS_RESEND_AFTER_CRASH", "yes")
            ),
            controller=get("RELAIS_CONTROLLER"),
            pseudonym_key=Secret(get("RELAIS_PSEUDONYM_KEY")),
            log_level=_log_level(get("RELAIS_LOG_LEVEL", "INFO")),
            dashboard_url=_dashboard_url(get("RELAIS_DASHBOARD_URL")),
            dashboard_port=_integer(
                "RELAIS_DASHBOARD_PORT", get("RELAIS_DASHBOARD_PORT", "8090"), 1, 65535
            ),
            # The pool keeps 2 connections for reads: at least one more for writes.
            pg_pool=_connections("RELAIS_PG_POOL", get("RELAIS_PG_POOL", "10"), 3),
            pg_turns=_connections("RELAIS_PG_TURNS", get("RELAIS_PG_TURNS", "8"), 1),
        )


def read_dotenv(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines from a `.env` file; comments and blank lines are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment over `.env` (the environment wins)."""
    env = dict(read_dotenv(Path(".env")))
    env.update(os.environ if environ is None else environ)
    return Settings.from_env(env)


def _database(url: str) -> tuple[Path, str]:
    """(SQLite file, PostgreSQL URL) for DATABASE_URL: sqlite:///relative/path and
    sqlite:////absolute/path as SQLAlchemy spells them, a bare path, or postgresql://."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                "DATABASE_URL: name the server and the database, "
                "e.g. postgresql://relais@localhost/relais"
            )
        return DEFAULT_DATABASE_PATH, url
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")), ""
    if url and "://" not in url:
        return Path(url), ""
    raise ConfigError(
        "DATABASE_URL: expected sqlite:///path/to/file.sqlite3 or postgresql://user@host/database"
    )


def _admins(text: str) -> frozenset[Identity]:
    admins = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        channel, _, user_id = item.partition(":")
        if channel == "telegram" and user_id.isdigit():
            admins.add(Identity("telegram", user_id))
        elif channel == "signal" and re.match(r"^(\+\d{6,15}|[0-9a-f-]{36})$", user_id):
            admins.add(Identity("signal", user_id))
        else:
            raise ConfigError(
                f"RELAIS_ADMINS: {item!r} is not telegram:<numeric id> or signal:<number or uuid>"
            )
    return frozenset(admins)


def _address(name: str, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ConfigError(
            f"{name}: expected an IP address to listen on, e.g. 127.0.0.1 (behind a proxy) "
            f"or 0.0.0.0 (every interface), got {value!r}"
        ) from None


def _timezone(name: str, value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}: unknown time zone {value!r} (e.g. Europe/Paris)") from None


def _integer(name: str, value: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ConfigError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _connections(name: str, value: str, low: int) -> int:
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= 1000:
        raise ConfigError(
            f"{name}: expected a number of PostgreSQL connections from {low} to 1000, got "
            f"{value!r} (each worker holds up to RELAIS_PG_POOL + RELAIS_PG_TURNS + 1; see "
            "docs/deploy-postgresql.md, Connection budget)"
        )
    return int(value)


def _rate(name: str, value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0.01 <= rate <= 50:
        raise ConfigError(f"{name}: expected messages per second from 0.01 to 50, got {value!r}")
    return rate


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}: expected yes or no, got {value!r}")


def _clock_time(name: str, value: str) -> time:
    match = re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", value)
    if not match:
        raise ConfigError(f"{name}: expected HH:MM, got {value!r}")
    return time(int(match[1]), int(match[2]))


def _quiet_hours(value: str) -> QuietHours | None:
    value = value.strip()
    if not value:
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise ConfigError(f"RELAIS_QUIET_HOURS: expected HH:MM-HH:MM or empty, got {value!r}")
    return QuietHours(
        _clock_time("RELAIS_QUIET_HOURS", start.strip()),
        _clock_time("RELAIS_QUIET_HOURS", end.strip()),
    )


def _dashboard_url(value: str) -> str:
    """https://… in production; plain http only on this machine (127.0.0.1 or localhost)."""
    value = value.rstrip("/")
    if not value:
        return ""
    match = re.match(
        r"^(https?)://([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?(/[\w./-]*)?$", value
    )
    local = bool(match) and match[2] in ("127.0.0.1", "localhost", "[::1]")  # type: ignore[index]
    if not match or (match[1] == "http" and not local):
        raise ConfigError(
            "RELAIS_DASHBOARD_URL: expected https://your.domain (or http://127.0.0.1:PORT on "
            f"this machine), got {value!r}"
        )
    return value


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("RELAIS_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
    return level
