"""Readable one-line logs that never show the bot token."""

from __future__ import annotations

import logging
import re
import sys

# Bot API URLs carry the token as /bot<token>/method; it must not reach a log line.
_TOKEN_RE = re.compile(r"bot\d+:[A-Za-z0-9_-]+|\b\d{6,}:[A-Za-z0-9_-]{20,}")


class RedactingFormatter(logging.Formatter):
    """Formats a record, exception text included, then masks any bot token in it."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        self._secrets = tuple(s for s in secrets if len(s) >= 4)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _TOKEN_RE.sub("bot***", text)


def setup_logging(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    """Send logs to stderr, one line per event, tokens masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (token included) at INFO; PTB's own examples silence it.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
