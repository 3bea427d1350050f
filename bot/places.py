"""French communes by name, postcode or position: where a volunteer, a task or an area is.

The data is bot/data/communes.csv.gz (INSEE, La Poste and IGN open data under the
Licence Ouverte / Etalab 2.0; tools/build_communes.py says how it is built). It is read
once, on first use, and kept in memory (~37,000 places).
"""

from __future__ import annotations

import bisect
import difflib
import gzip
import math
import re
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).resolve().parent / "data" / "communes.csv.gz"
COLUMNS = ("code", "name", "kind", "parent", "department", "postcodes", "lat", "lon", "population")
KM_PER_DEGREE = 111.2
# A shared position farther than this from every commune centre is not in France.
_IN_FRANCE_KM = 20.0
_IN_FRANCE_KM_WIDE = {"973": 120.0, "974": 30.0, "976": 30.0}
# Up to this many homonyms are offered as choices; beyond, the postcode narrows it down.
MAX_CHOICES = 8
# A commune whose name only starts with the typed one is offered from this size on
# ("Boulogne" → Boulogne-Billancourt), or when it is bigger than the exact homonyms.
BIG_TOWN = 5000


class Place(NamedTuple):
    """A French commune, municipal arrondissement, or former commune merged into another."""

    code: str  # INSEE code
    name: str
    kind: str  # c: commune, a: arrondissement (Paris, Lyon, Marseille), d: former commune
    parent: str  # the commune an arrondissement or former commune belongs to
    department: str
    postcodes: tuple[str, ...]
    latitude: float | None
    longitude: float | None
    population: int

    @property
    def postcode(self) -> str | None:
        """The postcode, when the place has exactly one."""
        return self.postcodes[0] if len(self.postcodes) == 1 else None

    def label(self) -> str:
        """'Saint-Denis (93)', 'Annecy-le-Vieux (Annecy, 74)': names a homonym apart."""
        if self.kind == "d":
            parent = places().by_code.get(self.parent)
            if parent is not None:
                return f"{self.name} ({parent.name}, {self.department})"
        return f"{self.name} ({self.department})"


def _ranked(exact: list[Place], longer: list[Place]) -> list[Place]:
    """Live communes before former ones, then the most populated first: what a short or
    shared name most likely means comes first. The live communes named exactly as typed are
    all among the first MAX_CHOICES offered: the bigger towns whose name only begins with it
    fill the room they leave ("Villeneuve" offers the six Villeneuve and the two biggest
    Villeneuve-*, not eight Villeneuve-*)."""
    everything = sorted([*exact, *longer], key=_likeliest)
    named = [p for p in everything if p in exact and p.kind != "d"][:MAX_CHOICES]
    room = MAX_CHOICES - len(named)
    others = [p for p in everything if p not in named]
    offered = sorted([*named, *others[:room]], key=_likeliest)
    return offered + others[room:]


def _likeliest(place: Place) -> tuple[bool, int]:
    return place.kind == "d", -place.population


@dataclass(frozen=True, slots=True)
class Found:
    """What a typed place resolved to: one place, several to choose from, or suggestions."""

    places: tuple[Place, ...] = ()
    suggestions: tuple[Place, ...] = ()  # close spellings, when nothing matched exactly


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SAINT = re.compile(r"\bste?\b")
_SAINTS = {"st": "saint", "ste": "sainte"}


def _fold(text: str) -> str:
    """Lower case, no accents, letters and digits only, separated by single spaces."""
    text = text.casefold().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub(" ", text)


# The same folding for every Latin letter at once (names of communes are all Latin): one
# str.translate instead of per-name Unicode normalization, as the 37,000 names load.
_LATIN = {code: _fold(chr(code)) for code in range(0x250)}


def normalize(text: str) -> str:
    """'Saint-Étienne', 'st etienne', 'ST-ETIENNE' → 'saint etienne'."""
    text = text.translate(_LATIN) if text.isascii() or max(text) < "\u0250" else _fold(text)
    text = " ".join(text.split())
    return _SAINT.sub(lambda m: _SAINTS[m[0]], text) if "st" in text else text


# "Paris 11e", "Paris 11ème arrondissement", "Lyon 3", "Marseille 1er", "11e arrondissement
# de Paris": the commune's name and the arrondissement's number.
_ORDINAL = r" ?(?:e|er|eme|ieme|re)?"
_ARRONDISSEMENT = re.compile(r"^(\D+?) (\d{1,2})" + _ORDINAL + r"(?: arrondissement| arr)?$")
_ARRONDISSEMENT_FIRST = re.compile(
    r"^(\d{1,2})" + _ORDINAL + r" (?:arrondissement|arr) (?:de )?(\D+)$"
)
# "Saint-Denis (93)", "Saint-Denis 974", "Saint-Denis, 93": a département narrows it down.
_WITH_DEPARTMENT = re.compile(r"^(.*?)[\s,(]+(\d{2,3}|2a|2b)\)?$", re.I)
_POSTCODE = re.compile(r"^\d{5}$")
_FRANCE = re.compile(r"^(.*?)[\s,]+france$")


class Places:
    """Every place, indexed by normalized name, postcode and INSEE code."""

    def __init__(self, rows: list[Place]) -> None:
        self.rows = rows
        self.by_code: dict[str, Place] = {}
        self.by_postcode: dict[str, list[Place]] = defaultdict(list)
        for place in rows:
            if place.kind != "d" or place.code not in self.by_code:
                self.by_code[place.code] = place
        self._has_arrondissements = {p.parent for p in rows if p.kind == "a"}
        for place in rows:
            if place.kind != "d" and place.code not in self._has_arrondissements:
                for postcode in place.postcodes:
                    self.by_postcode[postcode].append(place)
        # The name and position indexes are built on first use: a bot that is only asked
        # postcodes never pays for them.
        self._building = threading.Lock()
        self._by_key: dict[str, list[Place]] | None = None
        self._keys_by_initial: dict[str, list[str]] = {}
        self._centres: list[Place] | None = None
        self._latitudes: list[float] = []

    @property
    def by_key(self) -> dict[str, list[Place]]:
        """Normalized name → the places of that name, largest first."""
        if self._by_key is None:
            with self._building:
                if self._by_key is None:
                    self._by_key = self._index_names()
        return self._by_key

    def _index_names(self) -> dict[str, list[Place]]:
        by_key: dict[str, list[Place]] = defaultdict(list)
        for place in self.rows:
            by_key[normalize(place.name)].append(place)
        for homonyms in by_key.values():
            if len(homonyms) > 1:
                homonyms.sort(key=lambda p: (p.kind == "d", -p.population))
        # Close spellings are looked for among names with the same first letter (a typo
        # rarely touches it): a few thousand names to compare rather than 33,000.
        initials: dict[str, list[str]] = defaultdict(list)
        for key in sorted(by_key):
            initials[key[:1]].append(key)
        self._keys_by_initial = initials
        return by_key

    def centres(self) -> tuple[list[Place], list[float]]:
        """Places with a centre, by latitude (and their latitudes), for nearest-centre search.

        A commune with arrondissements is left out: the arrondissement is the finer answer.
        """
        if self._centres is None:
            with self._building:
                if self._centres is None:
                    centres = sorted(
                        (
                            p
                            for p in self.rows
                            if p.latitude is not None
                            and p.kind != "d"
                            and not (p.kind == "c" and p.code in self._has_arrondissements)
                        ),
                        key=lambda p: p.latitude or 0.0,
                    )
                    self._latitudes = [p.latitude or 0.0 for p in centres]
                    self._centres = centres
        return self._centres, self._latitudes

    def find(self, text: str) -> Found:
        """The places a typed name (or postcode) means; homonyms sorted by population."""
        key = normalize(text)
        if not key:
            return Found()
        if _POSTCODE.match(key):
            return Found(tuple(self.by_postcode.get(key, ())))
        if match := _FRANCE.match(key):
            key = match[1]
        exact = self._lookup(key)
        if exact:
            return Found(tuple(_ranked(exact, self._longer_names(key, exact))))
        if match := _WITH_DEPARTMENT.match(key):
            name, department = match[1].strip(), match[2].upper()
            named = self._lookup(name) + self._longer_names(name, [], smallest=0)
            narrowed = [p for p in named if p.department == department]
            if narrowed:
                return Found(tuple(_ranked(narrowed, [])))
        if longer := self._longer_names(key, []):
            return Found(tuple(_ranked(longer, [])))
        by_key = self.by_key
        close = difflib.get_close_matches(
            key, self._keys_by_initial.get(key[:1], []), n=4, cutoff=0.85
        )
        suggestions = [p for k in close for p in by_key[k]]
        return Found(suggestions=tuple(suggestions[:MAX_CHOICES]))

    def _longer_names(self, key: str, exact: list[Place], smallest: int = BIG_TOWN) -> list[Place]:
        """Communes whose name starts with the typed one and are bigger than every exact
        match: "Boulogne" is also Boulogne-Billancourt, "Saint-Ouen" Saint-Ouen-sur-Seine."""
        if len(key) < 3 or key in ("saint", "sainte"):
            return []
        floor = max([smallest, *(p.population for p in exact if p.kind != "d")])
        by_key = self.by_key
        start = key + " "
        return [
            p
            for k in self._keys_by_initial.get(key[:1], [])
            if k.startswith(start)
            for p in by_key[k]
            if p.kind == "c" and p.population >= floor
        ]

    def _lookup(self, key: str) -> list[Place]:
        if key in self.by_key:
            return self.by_key[key]
        match = _ARRONDISSEMENT.match(key) or _ARRONDISSEMENT_FIRST.match(key)
        if match is None:
            return []
        number, city = (match[2], match[1]) if match.re is _ARRONDISSEMENT else (match[1], match[2])
        ordinal = "1er" if number in ("1", "01") else f"{int(number)}e"
        return self.by_key.get(normalize(f"{city} {ordinal} arrondissement"), [])

    def nearest(self, latitude: float, longitude: float) -> Place | None:
        """The place whose centre is nearest, if the position is in France."""
        best: Place | None = None
        best_km = math.inf
        centres, latitudes = self.centres()
        # Only centres within a band of latitude can be nearer than the band is wide.
        for band in (0.2, 1.2):
            low = bisect.bisect_left(latitudes, latitude - band)
            high = bisect.bisect_right(latitudes, latitude + band)
            for place in centres[low:high]:
                assert place.latitude is not None and place.longitude is not None
                km = distance_km(latitude, longitude, place.latitude, place.longitude)
                if km < best_km:
                    best, best_km = place, km
            if best_km <= band * KM_PER_DEGREE:
                break
        if best is None or best_km > _IN_FRANCE_KM_WIDE.get(best.department, _IN_FRANCE_KM):
            return None
        return best

    def postcode_centre(self, postcode: str) -> tuple[float, float] | None:
        """The mean centre of the communes sharing a postcode."""
        points = [
            (p.latitude, p.longitude)
            for p in self.by_postcode.get(postcode, ())
            if p.latitude is not None and p.longitude is not None
        ]
        if not points:
            return None
        return (
            round(sum(lat for lat, _ in points) / len(points), 4),
            round(sum(lon for _, lon in points) / len(points), 4),
        )


def profile_columns(place: Place) -> dict[str, object]:
    """A volunteer's place columns for a French commune: its postcode (if it has just one),
    département, name, centre and INSEE code."""
    return {
        "postcode": place.postcode,
        "department": place.department,
        "place": place.name,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "commune": place.code,
    }


# A position typed as latitude, longitude: "48.85, 2.35", "48.8566;2.3522", and the French
# way too, decimal commas with the two numbers apart by a space, ";" or ", " ("48,85 2,35").
# Whole numbers ("48 2", "0, 0") are no position: a postcode typed with a space, a slip.
_COORDINATES = re.compile(r"^(-?\d{1,2}[.,]\d+)\s*(?:[; ]|,\s)\s*(-?\d{1,3}[.,]\d+)$")
_COORDINATES_DOT = re.compile(r"^(-?\d{1,2}\.\d+)\s*[,; ]\s*(-?\d{1,3}\.\d+)$")


def typed_coordinates(text: str) -> tuple[float, float] | None:
    """'48.85, 2.35' → (48.85, 2.35); None if the text is not written as a position."""
    match = _COORDINATES_DOT.match(text.strip()) or _COORDINATES.match(text.strip())
    if match is None:
        return None
    return float(match[1].replace(",", ".")), float(match[2].replace(",", "."))


def typed_position(text: str) -> tuple[float, float] | None:
    """A position typed where one is asked, if it can be one on Earth: written with
    decimals, in range, and not 0, 0 (the sea off Africa: a position not found)."""
    position = typed_coordinates(text)
    if position is None:
        return None
    latitude, longitude = position
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or position == (0, 0):
        return None
    return position


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _read(path: Path) -> list[Place]:
    """The rows of communes.csv.gz (plain CSV: no field holds a comma or a quote)."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
    if tuple(lines[0].split(",")) != COLUMNS:
        raise ValueError(f"{path}: unexpected columns")
    places = []
    for line in lines[1:]:
        code, name, kind, parent, department, postcodes, lat, lon, population = line.split(",")
        places.append(
            Place(
                code,
                name,
                kind,
                parent,
                department,
                tuple(postcodes.split()),
                float(lat) if lat else None,
                float(lon) if lon else None,
                int(population or 0),
            )
        )
    return places


_loading = threading.Lock()
_loaded: list[Places] = []


def places() -> Places:
    """All French places, read on first use (once, even when asked from two threads)."""
    if not _loaded:
        with _loading:
            if not _loaded:
                _loaded.append(Places(_read(DATA)))
    return _loaded[0]


def preload() -> None:
    """Read the places in the background, so the first volunteer to answer does not wait."""
    threading.Thread(target=places, name="relais-places", daemon=True).start()


# "10 km autour de Villeurbanne", "à 10 km de Lyon", "within 10 km of Villeurbanne",
# "10km around Lyon": a radius around a place.
_RADIUS = re.compile(
    r"^(?:(?:within|à|a|dans un rayon de)\s+)?(\d{1,3}(?:[.,]\d+)?)\s*km\s+"
    r"(?:autour\s+de|autour\s+d'|around|of|from|de|d'|near)\s*(.+)$",
    re.I,
)


def parse_radius(text: str) -> tuple[float, str] | None:
    """(km, place text) if `text` asks for a radius around a place, else None."""
    match = _RADIUS.match(" ".join(text.split()))
    if match is None:
        return None
    km = float(match[1].replace(",", "."))
    return (km, match[2].strip()) if 0 < km <= 500 else None
