"""One running Relais per SQLite file: a second one refuses to start and names the first.

Two processes on one file would run two senders (twice Telegram's rate) and two schedulers,
and each would take the other's messages in flight for lost. The lock is an exclusive
`flock` on `<database>.lock`, which holds the owner's pid; the kernel releases it when the
process ends, even by `kill -9`, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.i18n import _
from bot.storage.db import StorageError, make_folder


class AlreadyRunning(StorageError):
    """Another process runs Relais on this database."""


class ProcessLock:
    """The right to run Relais on one database file, held until `release` or exit."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._descriptor: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning naming the process that holds it."""
        make_folder(self.database)
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(
                _("cannot create {path}: {reason}").format(path=self.path, reason=exc.strerror)
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise AlreadyRunning(
                _(
                    "another Relais (pid {pid}) is already running on {path}; stop it first "
                    "(SQLite allows one Relais process)"
                ).format(pid=holder, path=self.database)
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._descriptor = descriptor

    def release(self) -> None:
        """Let another process start (the file stays: removing it would race a newcomer)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
