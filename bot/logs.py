"""Readable one-line logs that never show the bot token nor anything about a person.

Relais' own modules log ids and counts, never names, numbers, places or what people
wrote. Libraries are another matter: at DEBUG, python-telegram-bot logs every update and
every request's parameters, aiosqlite every statement with its parameters. So
RELAIS_LOG_LEVEL=DEBUG applies to Relais' own loggers only; libraries never log below
INFO. As a last guard, phone numbers, Signal account ids and long numeric ids (Telegram
users and chats) are masked in every line, exception text included.
"""

from __future__ import annotations

import logging
import re
import sys

# Bot API URLs carry the token as /bot<token>/method; it must not reach a log line.
_TOKEN_RE = re.compile(r"bot\d+:[A-Za-z0-9_-]+|\b\d{6,}:[A-Za-z0-9_-]{20,}")
# A phone number (+33612345678), a Signal account id (a UUID), a Telegram user or chat id.
_PERSON_RE = re.compile(
    r"\+\d[\d ]{6,16}\d"
    r"|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    r"|(?<![\w.:-])-?\d{7,}(?![\w.:-])"
)
# Relais' own loggers; everything else is a library.
OWN_LOGGERS = ("bot", "handlers", "__main__")
LIBRARY_FLOOR = logging.INFO


class RedactingFormatter(logging.Formatter):
    """Formats a record, exception text included, then masks tokens and people's ids."""

    def __init__(self, secrets: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        self._secrets = tuple(s for s in secrets if len(s) >= 4)
        # Relais' own Signal account may be named (the CAPTCHA instructions need it).
        self._keep = frozenset(k for k in keep if k)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _TOKEN_RE.sub("bot***", text)
        return _PERSON_RE.sub(self._mask, text)

    def _mask(self, match: re.Match[str]) -> str:
        return match[0] if match[0] in self._keep else "***"


def setup_logging(
    level: str = "INFO", secrets: tuple[str, ...] = (), keep: tuple[str, ...] = ()
) -> None:
    """Send logs to stderr, one line per event, tokens and people's ids masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, keep))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    wanted = logging.getLevelName(level.upper())
    wanted = wanted if isinstance(wanted, int) else logging.INFO
    root.setLevel(max(wanted, LIBRARY_FLOOR))
    for own in OWN_LOGGERS:
        logging.getLogger(own).setLevel(wanted)
    # httpx logs every request URL (token included) at INFO; PTB's own examples silence it.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
