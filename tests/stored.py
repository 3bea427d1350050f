"""What is left of a campaign where someone could read it, on either backend: for erasure
tests, which look for an erased person's words in it.

On SQLite, the database file with its WAL and shared memory, as anyone with the disk reads
them (secure_delete must have overwritten her). On PostgreSQL, every table of the campaign's
schema as pg_dump writes it (the server's files keep dead rows until VACUUM, as any
PostgreSQL does: what Relais answers for is what a query or a dump can still read)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.storage.connect import is_postgres


def file_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            data += candidate.read_bytes()
    return data


async def _run(*command: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    return out


async def stored_bytes(db: Any) -> bytes:
    """The campaign as stored: the SQLite file, or a plain dump of the PostgreSQL schema."""
    if not is_postgres(db):
        return file_bytes(db.path)
    from bot.storage.postgres import _libpq

    url, schema = _libpq(db.url)
    return await _run("pg_dump", "--format=plain", f"--dbname={url}", f"--schema={schema}")


async def backup_bytes(db: Any, target: Path) -> bytes:
    """A backup taken with `python -m bot backup`'s code (db.backup), as it can be read."""
    await db.backup(target)
    if not is_postgres(db):
        return file_bytes(target)
    return await _run("pg_restore", "--file=-", str(target))
