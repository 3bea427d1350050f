"""Fill translations from a file of `msgid` → `msgstr` pairs: `python locales/fill.py fr FILE`.

FILE is JSON: {"English text": "Texte français", "{n} task": ["{n} tâche", "{n} tâches"]}.
Only the entries named are touched; run `make i18n` first so they exist.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent


def main(language: str, source: str) -> int:
    path = HERE / language / "LC_MESSAGES" / "messages.po"
    pairs = json.loads(Path(source).read_text(encoding="utf-8"))
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    unknown = []
    for message_id, translation in pairs.items():
        key = message_id
        message = catalog.get(key)
        if message is None:
            # Plural entries are keyed by (singular, plural) in Babel's catalog.
            message = next(
                (m for m in catalog if isinstance(m.id, tuple) and m.id[0] == message_id), None
            )
        if message is None:
            unknown.append(message_id)
            continue
        message.string = tuple(translation) if isinstance(translation, list) else translation
        message.flags.discard("fuzzy")
    with path.open("wb") as f:
        write_po(f, catalog, no_location=True, sort_output=True, ignore_obsolete=True)
    for message_id in unknown:
        print(f"not in the catalog (run make i18n?): {message_id!r}")
    return 1 if unknown else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
