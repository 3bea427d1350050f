"""The storage boundary, as far as it holds today: no new SQLite-only SQL.

PostgreSQL is the next backend (ARCHITECTURE.md). Every construct only SQLite accepts,
positional `?` parameters included, is counted per file outside the SQLite backend
(`bot/storage/db.py`); the counts may only go down. `python tests/test_architecture.py`
prints today's counts to paste into KNOWN.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What PostgreSQL refuses or reads differently, with the portable way to say it.
SQLITE_ONLY = {
    "lastrowid": (r"\blastrowid\b", "INSERT … RETURNING id"),
    "IFNULL": (r"\bIFNULL\s*\(", "COALESCE"),
    "julianday": (r"\bjulianday\s*\(", "compute the interval in Python or per dialect"),
    "group_concat": (r"\bgroup_concat\s*\(", "string_agg per dialect, or aggregate in Python"),
    "instr": (r"\binstr\s*\(", "POSITION / LIKE"),
    "COLLATE NOCASE": (r"COLLATE\s+NOCASE", "lower() on both sides"),
    "rowid": (r"\browid\b", "the table's own id"),
    "sqlite_master": (r"\bsqlite_(master|schema)\b", "the backend's catalogue query"),
    "INSERT OR": (r"\bINSERT\s+OR\s+(IGNORE|REPLACE)\b", "ON CONFLICT … DO NOTHING/UPDATE"),
    "datetime()": (r"\b(datetime|strftime|date)\s*\(\s*'now'", "a parameter from the Clock"),
    "two-argument MAX/MIN": (r"\b(MAX|MIN)\s*\([^()]*,[^()]*\)", "GREATEST/LEAST per dialect"),
    "PRAGMA": (r"\bPRAGMA\b", "the SQLite backend only"),
    "trigger": (r"\bCREATE\s+TRIGGER\b", "a dialect file (PostgreSQL triggers call functions)"),
    "positional ?": (
        r"(=|<|>|,|\(|\bIN|\bVALUES|\bLIKE|\bAND|\bOR|\bTHEN|\bELSE|\bLIMIT|\bOFFSET)\s*\?",
        ":name parameters (bot.storage.backend.in_list for IN lists)",
    ),
    "SUM(boolean)": (
        r"\bSUM\s*\([^()]*(=|<|>|\bIS\b|\bIN\b|\bLIKE\b)",
        "COUNT(*) FILTER (WHERE …) or SUM(CASE WHEN … THEN 1 ELSE 0 END)",
    ),
    "substr(x, -n)": (r"\bsubstr\s*\([^(),]*,\s*-", "substr(x, length(x) - n + 1)"),
    # In capitals only: "indexed by name" is English.
    "INDEXED BY": (r"(?-i:\bINDEXED\s+BY\b)", "dialect.indexed_by(index)"),
    "EXPLAIN QUERY PLAN": (r"\bEXPLAIN\s+QUERY\s+PLAN\b", "the SQLite backend only"),
}

# Known today (what issue "One boundary around storage" removes). Only ever lower these.
KNOWN: dict[str, int] = {}


def _sources() -> list[Path]:
    files = sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "handlers").rglob("*.py"))
    # A shared migration with a PostgreSQL twin of the same number is SQLite's own file.
    migrations = ROOT / "bot" / "storage" / "migrations"
    twins = {path.name[:4] for path in (migrations / "postgresql").glob("*.sql")}
    files += [path for path in sorted(migrations.glob("*.sql")) if path.name[:4] not in twins]
    # The connection layers are the backends: their dialect (SQLite's PRAGMAs and catalogue,
    # PostgreSQL's placeholders) is their job.
    return [f for f in files if f.name not in ("db.py", "postgres.py")]


def _sql_text(path: Path) -> str:
    """A migration whole; of a Python module, only its string literals (where SQL lives)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        return text
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return "\n".join(t.string for t in tokens if t.type in kinds)


def count_constructs() -> Counter[str]:
    """'path: construct' -> how many times it appears."""
    found: Counter[str] = Counter()
    for path in _sources():
        sql, code = _sql_text(path), path.read_text(encoding="utf-8")
        for name, (pattern, _instead) in SQLITE_ONLY.items():
            # The cursor's lastrowid is Python, not SQL: look for it in the code itself.
            text = code if name == "lastrowid" else sql
            if name == "positional ?" and "storage" not in path.parts:
                continue  # elsewhere a "?" is a regular expression's or a sentence's
            hits = len(re.findall(pattern, text, flags=re.IGNORECASE))
            if hits:
                found[f"{path.relative_to(ROOT)}: {name}"] = hits
    return found


def test_no_new_sqlite_only_sql() -> None:
    found = count_constructs()
    grown = {
        key: (KNOWN.get(key, 0), n) for key, n in sorted(found.items()) if n > KNOWN.get(key, 0)
    }
    advice = {key: SQLITE_ONLY[key.split(": ", 1)[1]][1] for key in grown}
    assert not grown, f"SQLite-only SQL added (known, now) and what to write instead: {advice}"


def test_the_known_list_shrinks_when_code_is_fixed() -> None:
    found = count_constructs()
    stale = {key: (n, found.get(key, 0)) for key, n in KNOWN.items() if found.get(key, 0) < n}
    assert not stale, f"lower these counts in KNOWN (known, now): {stale}"


# Where a backend is chosen, built or copied between: the only storage modules that may name
# SQLite's or PostgreSQL's classes. Every repository takes a `Backend`.
BACKEND_MODULES = {"db.py", "postgres.py", "connect.py", "copy.py", "process_lock.py"}


def test_repositories_are_typed_on_the_backend_interface() -> None:
    storage = ROOT / "bot" / "storage"
    naming = re.compile(r"\bbot\.storage\.(db|postgres)\b|\b(aiosqlite|asyncpg)\b")
    reaching = sorted(
        path.name
        for path in storage.glob("*.py")
        if path.name not in BACKEND_MODULES and naming.search(path.read_text(encoding="utf-8"))
    )
    assert not reaching, f"take a bot.storage.backend.Backend instead of a backend: {reaching}"


def test_services_holds_services_only() -> None:
    """Handlers, jobs, the command line and the dashboard reach storage only through a
    service's methods: no field of the bundle is a repository (or the database)."""
    from dataclasses import fields
    from typing import get_type_hints

    from bot.services import Services

    hints = get_type_hints(Services)
    storage = {
        f.name: hints[f.name]
        for f in fields(Services)
        if getattr(hints[f.name], "__module__", "").startswith("bot.storage")
    }
    assert not storage, f"make these private collaborators of a service: {storage}"


# Services whose repositories handlers, the command line or other services still reach, one
# by one: none any more, and the list may only stay empty.
STILL_REACHABLE: set[str] = set()


def _public_storage_attributes() -> set[str]:
    """'service.attribute' for every public attribute of a service in the bundle whose
    value is a repository or the database (anything defined in bot.storage)."""
    from dataclasses import fields

    from bot.alert_text import AlertText
    from bot.broadcast_text import BroadcastText
    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.privacy_text import PrivacyText
    from bot.services import Services
    from bot.storage.connect import database_for

    settings = Settings.from_env({"RELAIS_PSEUDONYM_KEY": "k"})
    # Built, never opened: constructors touch no database.
    db = database_for(ROOT / "never-opened.db", None)
    services = Services.build(
        settings,
        SystemClock(),
        db,
        alert_words=AlertText(settings),
        privacy_words=PrivacyText(),
        broadcast_words=BroadcastText(settings),
    )
    found = set()
    for field in fields(services):
        service = getattr(services, field.name)
        attributes = dict(getattr(service, "__dict__", {}))
        for slot in getattr(type(service), "__slots__", ()):
            if hasattr(service, slot):
                attributes[slot] = getattr(service, slot)
        found |= {
            f"{field.name}.{name}"
            for name, value in attributes.items()
            if not name.startswith("_") and type(value).__module__.startswith("bot.storage")
        }
    return found


def test_no_repository_is_reachable_through_a_service() -> None:
    """A handler, the command line or the dashboard calls a service's methods: no service
    lets it reach one of its repositories (or the database) as an attribute, so one action
    is one use-case call and the rules stay in the service."""
    reachable = _public_storage_attributes()
    assert reachable <= STILL_REACHABLE, (
        f"make these private (a leading _) and give the service a method: "
        f"{sorted(reachable - STILL_REACHABLE)}"
    )
    assert reachable == STILL_REACHABLE, (
        f"remove from STILL_REACHABLE: {sorted(STILL_REACHABLE - reachable)}"
    )


if __name__ == "__main__":
    # Print today's counts, to paste into KNOWN after a change lowers them.
    for key, n in sorted(count_constructs().items()):
        print(f'    "{key}": {n},')


def test_what_the_product_imports_is_installed_with_it() -> None:
    """`python -m bot seed` works from an installed Relais, not only from a checkout."""
    import tomllib

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = {
        pattern.rstrip("*")
        for pattern in settings["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    own = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    reached = set()
    for package in installed:
        for source in (ROOT / package).rglob("*.py"):
            for found in re.finditer(r"^\s*(?:from|import)\s+(\w+)", source.read_text(), re.M):
                if found.group(1) in own:
                    reached.add(found.group(1))
    assert reached <= installed, f"imported but not installed: {sorted(reached - installed)}"
