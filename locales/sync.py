"""Refresh the catalogs after changing strings: `make i18n`.

Extracts every marked string from bot/ and handlers/ into messages.pot, merges it into
the French and English catalogs, copies the source text into English entries that are
still empty, and lists the French entries that still need a translation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# French: 0 and 1 are singular (the classic gettext rule, simpler than CLDR's three forms).
PLURALS = {"fr": "nplurals=2; plural=(n > 1);", "en": "nplurals=2; plural=(n != 1);"}


def main() -> int:
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    pot = HERE / "messages.pot"
    subprocess.run(
        [
            pybabel,
            "-q",
            "extract",
            "-F",
            "pyproject.toml",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-o",
            str(pot),
            "bot",
            "handlers",
        ],
        check=True,
        cwd=ROOT,
    )
    with pot.open("rb") as f:
        template = read_po(f)
    missing = []
    for language in ("fr", "en"):
        path = HERE / language / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="Relais", fuzzy=False)
        created = catalog.creation_date  # kept, so a refresh with no new string changes nothing
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = created
        catalog.project = "Relais"
        catalog.version = ""
        catalog.fuzzy = False
        header = catalog.mime_headers
        catalog.mime_headers = [
            (k, PLURALS[language] if k == "Plural-Forms" else v) for k, v in header
        ]
        for message in catalog:
            if not message.id:
                continue
            if language == "en" and not _done(message.string):
                message.string = message.id
            elif language == "fr" and not _done(message.string):
                missing.append(message.id)
        with path.open("wb") as f:
            write_po(
                f,
                catalog,
                no_location=True,
                sort_output=True,
                ignore_obsolete=True,
                omit_header=False,
            )
    for message_id in missing:
        print(f"fr: untranslated: {message_id!r}")
    return 1 if missing else 0


def _done(string: object) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


if __name__ == "__main__":
    raise SystemExit(main())
