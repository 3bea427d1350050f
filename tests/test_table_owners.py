"""One owner per table: only one module of Relais writes each table.

A table's rules (who may be messaged, what erasure keeps, how a row changes state) then live
in one place. Writers are found in SQL string literals (INSERT, UPDATE, DELETE, REPLACE);
migrations and data migrations are not counted. Tables written from several modules today
are listed in SHARED; the list may only shrink (`python tests/test_table_owners.py` prints
today's writers).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)",
    re.IGNORECASE,
)
_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
EXEMPT = {"bot/storage/data_migrations.py"}

# Tables written from more than one module today, and by which. Only ever shrink this.
SHARED: dict[str, set[str]] = {}


def tables() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot" / "storage" / "migrations").rglob("*.sql"):
        found.update(name.lower() for name in _TABLE.findall(path.read_text(encoding="utf-8")))
    return found


def writers() -> dict[str, set[str]]:
    """table -> the modules whose SQL writes it."""
    known = tables()
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "handlers").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if name in EXEMPT:
            continue
        text = path.read_text(encoding="utf-8")
        kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        sql = "\n".join(t.string for t in tokens if t.type in kinds)
        for table in _WRITE.findall(sql):
            if table.lower() in known:
                found[table.lower()].add(name)
    return found


def test_each_table_has_one_writer_or_is_known_to_share() -> None:
    shared = {
        table: sorted(modules - SHARED.get(table, set()))
        for table, modules in writers().items()
        if len(modules) > 1 and not modules <= SHARED.get(table, set())
    }
    assert not shared, f"a table gained a second writer; let its owner write it: {shared}"


def test_the_shared_list_shrinks_when_a_table_finds_its_owner() -> None:
    found = writers()
    stale = {
        table: sorted(modules - found.get(table, set()))
        for table, modules in SHARED.items()
        if not modules <= found.get(table, set()) or len(found.get(table, set())) < 2
    }
    assert not stale, f"remove these from SHARED (no longer writers): {stale}"


if __name__ == "__main__":
    for table, modules in sorted(writers().items()):
        if len(modules) > 1:
            print(f"    {table!r}: {sorted(modules)},")
