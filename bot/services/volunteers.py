"""Volunteers joining and looking after their profile: consent, answers, pause and stop."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from bot.clock import Clock
from bot.config import Settings
from bot.domain.errors import Invalid as Invalid  # refused answers: `kind`, no words
from bot.places import MAX_CHOICES, Place, normalize, places, profile_columns, typed_coordinates
from bot.services.areas import looks_like_postcode, parse_postcode
from bot.storage.volunteers import Volunteer as Volunteer  # what handlers are given
from bot.storage.volunteers import VolunteerRepository
from bot.text import MAX_NAME, clean, clean_name
from bot.vocabulary import plain

# Bump when the consent text changes in substance: members are asked again at /start.
CONSENT_VERSION = "2026-11-1"
SKILLS = ("share", "canvass", "call", "text", "events")
AVAILABILITY = ("evenings", "weekends", "daytime")
MAX_PLACE = 200
MAX_PAUSE_DAYS = 366


def consent_fingerprint(text: str) -> str:
    """SHA-256 of the exact text shown, kept with the consent record."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_NOT_A_NAME = re.compile(r"[\d\s.,;:#+()/-]+")


def parse_name(text: str) -> str:
    """A first name as stored: cleaned; raises Invalid if empty or too long."""
    name = clean_name(text)
    if not name:
        raise Invalid("name.missing")
    if len(name) > MAX_NAME:
        raise Invalid("name.too_long", limit=MAX_NAME)
    if _NOT_A_NAME.fullmatch(name):
        # "2" typed where the list has no choice 2: a number, not a first name.
        raise Invalid("name.number", typed=name)
    return name


class Ambiguous(Invalid):
    """A typed place with several French communes of that name (or close spellings)."""

    def __init__(self, kind: str, places: tuple[Place, ...], **data: Any) -> None:
        super().__init__(kind, **data)
        self.places = places


_POSTCODE_AND_NAME = re.compile(
    r"^(?:(?P<code>\d{5})\s+(?P<name>\D.*)|(?P<name2>\D.*?)\s+(?P<code2>\d{5}))$"
)


def place_columns(place: Place) -> dict[str, Any]:
    """Profile columns for a French commune (see bot.places.profile_columns)."""
    return dict(profile_columns(place))


def parse_place(text: str) -> dict[str, Any]:
    """Profile columns for a typed place: a French commune or postcode, a position typed as
    coordinates, or a town abroad with its country. Raises Ambiguous for homonyms."""
    if (position := typed_coordinates(text)) is not None:
        return parse_location(*position)
    if looks_like_postcode(text):
        return _postcode_columns(text)
    place = clean_name(text)
    if not place:
        raise Invalid("place.missing")
    if len(place) > MAX_PLACE:
        raise Invalid("place.too_long", limit=MAX_PLACE)
    abroad = "," in place and not normalize(place).endswith("france")
    if not abroad and (match := _POSTCODE_AND_NAME.match(place)):
        # "69100 Villeurbanne", "Villeurbanne 69100", "29242 Hameau de Kerber": the postcode
        # decides, and the name picks among the communes that share it.
        postcode, name = match["code"] or match["code2"], match["name"] or match["name2"]
        columns = _postcode_columns(postcode)
        named = [p for p in places().find(postcode).places if normalize(p.name) == normalize(name)]
        return {**place_columns(named[0]), "postcode": postcode} if len(named) == 1 else columns
    found = places().find(place)
    if len(found.places) == 1:
        return place_columns(found.places[0])
    if found.places:
        raise Ambiguous(
            "place.homonyms",
            found.places[:MAX_CHOICES],
            name=place,
            more=len(found.places) > MAX_CHOICES,
        )
    town, comma, country = place.rpartition(",")
    if comma and not _has_letters(town) and not _has_letters(country):
        # "0, 0", "48, 2": numbers, not a town and its country; no position either.
        raise Invalid("location.impossible")
    if comma and town.strip() and country.strip():
        # Abroad: the town and its country, as typed.
        return {
            "postcode": None,
            "department": None,
            "place": place,
            "latitude": None,
            "longitude": None,
            "commune": None,
        }
    if found.suggestions:
        raise Ambiguous("place.suggestions", found.suggestions, name=place)
    raise Invalid("place.unknown", name=place)


def _has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _postcode_columns(text: str) -> dict[str, Any]:
    postcode = parse_postcode(text)
    if postcode is None:
        raise Invalid("postcode.unknown", code="".join(text.split())[:12])
    communes = places().find(postcode.code).places
    if len(communes) == 1:
        return {**place_columns(communes[0]), "postcode": postcode.code}
    # Several communes share it (or none is known): the postcode and its area's centre.
    centre = places().postcode_centre(postcode.code)
    return {
        "postcode": postcode.code,
        "department": postcode.department,
        "place": None,
        "latitude": centre[0] if centre else None,
        "longitude": centre[1] if centre else None,
        "commune": None,
    }


def parse_location(latitude: float, longitude: float) -> dict[str, Any]:
    """Profile columns for a shared position: the commune whose centre is nearest (in
    France), else the coordinates alone."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise Invalid("location.impossible")
    if latitude == 0 and longitude == 0:
        raise Invalid("location.impossible")  # the sea off Africa: a position not found
    nearest = places().nearest(latitude, longitude)
    columns: dict[str, Any] = (
        place_columns(nearest)
        if nearest is not None
        else {"postcode": None, "department": None, "place": None, "commune": None}
    )
    # The position itself is kept (rounded to ~1 m): distances are measured from it.
    return {**columns, "latitude": round(latitude, 5), "longitude": round(longitude, 5)}


def parse_quiet_hours(text: str) -> str | None:
    """'22:00-08:00', '22h-8h', '22-8' → '22:00-08:00'; None if it is not two times."""
    match = re.fullmatch(
        r"(\d{1,2})(?:[:h.](\d{2})?)?\s*(?:-|–|à|to)\s*(\d{1,2})(?:[:h.](\d{2})?)?h?",
        clean(text).lower().replace(" ", ""),
    )
    if match is None:
        return None
    h1, m1, h2, m2 = (int(g or 0) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        return None
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


# "GMT+2", "UTC-5", "+2": an offset as people write it (east of Greenwich is +).
_OFFSET = re.compile(r"^(?:gmt|utc)?\s*([+-])\s*(\d{1,2})(?:[:h]00)?$")


def find_zone(name: str) -> str | None:
    """An IANA time zone by its name or its city, accents and case ignored ('london',
    'Montréal' → 'America/Montreal'), or a whole-hour offset ('GMT+2' → Etc/GMT-2, whose
    POSIX sign is the other way round); None if there is none."""
    if offset := _OFFSET.match(clean(name).casefold()):
        sign, hours = offset[1], int(offset[2])
        if hours == 0:
            return "Etc/UTC"
        if hours > (12 if sign == "-" else 14):
            return None
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    wanted = plain(clean(name)).replace(" ", "_")
    if not wanted:
        return None
    zones = available_timezones()
    for zone_name in sorted(zones):
        if plain(zone_name) == wanted:
            return zone_name
    cities = [z for z in sorted(zones) if "/" in z and plain(z.rsplit("/", 1)[1]) == wanted]
    return cities[0] if cities else None


def next_step(volunteer: Volunteer) -> str | None:
    """The first onboarding question a volunteer has not answered yet, or None."""
    if not volunteer.first_name:
        return "name"
    if not volunteer.has_place:
        return "where"
    if not volunteer.skills:
        return "skills"
    if not volunteer.availability:
        return "availability"
    return None


@dataclass(frozen=True, slots=True)
class Agreement:
    """Someone agreeing to the privacy notice: who, in which chat and language, by which
    update, and `notice`, the exact text they were shown."""

    channel: str
    user_id: str
    chat_id: str
    language: str
    update_key: str
    notice: str


@dataclass(frozen=True, slots=True)
class Return:
    """A member who sends /start again: as they are now, whether they must read the privacy
    notice again first, and whether their messages were switched back on."""

    volunteer: Volunteer
    needs_consent: bool
    resumed: bool


class VolunteerService:
    """Joining, answering the onboarding questions, editing the profile, pausing, stopping."""

    def __init__(self, settings: Settings, clock: Clock, volunteers: VolunteerRepository) -> None:
        self._settings = settings
        self._clock = clock
        self._volunteers = volunteers

    async def join(self, agreement: Agreement) -> Volunteer:
        """Create the volunteer with the consent they just gave to the notice they were
        shown: its fingerprint is kept with the consent."""
        a = agreement
        return await self._volunteers.join(
            a.channel,
            a.user_id,
            a.chat_id,
            a.language,
            (CONSENT_VERSION, consent_fingerprint(a.notice), a.update_key),
        )

    async def reconsent(
        self, volunteer: Volunteer, channel: str, update_key: str, notice: str
    ) -> None:
        """Record a member's consent to the current notice (`notice`: the text shown)."""
        await self._volunteers.record_consent(
            volunteer.id, channel, (CONSENT_VERSION, consent_fingerprint(notice), update_key)
        )

    async def needs_consent(self, volunteer: Volunteer) -> bool:
        """True if their last consent was to an older text (or withdrawn)."""
        consents = await self._volunteers.consents(volunteer.id)
        return not consents or consents[-1].text_version != CONSENT_VERSION

    async def come_back(self, volunteer: Volunteer) -> Return:
        """A member sends /start: they are asked to consent again if the notice changed;
        otherwise, if they had stopped, messages are on again."""
        if await self.needs_consent(volunteer):
            return Return(volunteer, needs_consent=True, resumed=False)
        if volunteer.status == "stopped":
            return Return(await self.resume(volunteer), needs_consent=False, resumed=True)
        return Return(volunteer, needs_consent=False, resumed=False)

    async def set_name(self, volunteer: Volunteer, text: str) -> Volunteer:
        return await self._volunteers.update(volunteer.id, first_name=parse_name(text))

    async def set_place(self, volunteer: Volunteer, text: str) -> Volunteer:
        return await self._volunteers.update(volunteer.id, **parse_place(clean(text)))

    async def set_commune(self, volunteer: Volunteer, code: str) -> Volunteer:
        """A commune picked among homonyms (by its INSEE code)."""
        place = places().by_code.get(code)
        if place is None:
            raise Invalid("button.expired")
        return await self._volunteers.update(volunteer.id, **place_columns(place))

    async def set_location(
        self, volunteer: Volunteer, latitude: float, longitude: float
    ) -> Volunteer:
        return await self._volunteers.update(volunteer.id, **parse_location(latitude, longitude))

    async def set_skills(self, volunteer: Volunteer, codes: set[str]) -> Volunteer:
        chosen = frozenset(codes) & frozenset(SKILLS)
        if not chosen:
            raise Invalid("choices.none")
        return await self._volunteers.update(volunteer.id, skills=chosen)

    async def set_availability(self, volunteer: Volunteer, codes: set[str]) -> Volunteer:
        chosen = frozenset(codes) & frozenset(AVAILABILITY)
        if not chosen:
            raise Invalid("choices.none")
        return await self._volunteers.update(volunteer.id, availability=chosen)

    async def set_language(self, volunteer: Volunteer, language: str) -> Volunteer:
        if language not in ("fr", "en"):
            raise Invalid("button.expired")
        return await self._volunteers.update(volunteer.id, language=language)

    async def set_rapid_response(self, volunteer: Volunteer, on: bool) -> Volunteer:
        """Join (or leave) the rapid-response ring that ripostes call first."""
        return await self._volunteers.update(volunteer.id, rapid_response=int(on))

    async def set_leaderboard(self, volunteer: Volunteer, on: bool) -> Volunteer:
        """Show (or hide) their first name and points on the leaderboard."""
        return await self._volunteers.update(volunteer.id, leaderboard=int(on))

    async def set_digest(self, volunteer: Volunteer, on: bool) -> Volunteer:
        """Receive (or stop) the organizers' evening digest."""
        return await self._volunteers.update(volunteer.id, digest=int(on))

    async def set_quiet_hours(self, volunteer: Volunteer, hours: str | None) -> Volunteer:
        """Their own quiet hours ('22:00-08:00'), none (''), or the campaign's (None)."""
        if hours is not None and hours.strip():
            parsed = parse_quiet_hours(hours)
            if parsed is None:
                raise Invalid("quiet_hours.unreadable")
            hours = parsed
        return await self._volunteers.update(volunteer.id, quiet_hours=hours)

    async def set_timezone(self, volunteer: Volunteer, name: str) -> Volunteer:
        """Their own time zone ('Europe/London', or a city: 'London'); '' for the campaign's."""
        if not name.strip():
            return await self._volunteers.update(volunteer.id, timezone=None)
        found = find_zone(name)
        if found is None:
            raise Invalid("timezone.unknown", name=clean(name)[:60])
        return await self._volunteers.update(volunteer.id, timezone=found)

    async def finish_onboarding(self, volunteer: Volunteer) -> Volunteer:
        """All questions answered: the volunteer becomes active."""
        if next_step(volunteer) is not None:
            raise Invalid("onboarding.unfinished")
        return await self._volunteers.set_status(volunteer.id, "active")

    async def pause(self, volunteer: Volunteer, until: datetime) -> Volunteer:
        now = self._clock.now()
        if until <= now:
            raise Invalid("pause.past")
        if (until - now).days > MAX_PAUSE_DAYS:
            raise Invalid("pause.too_long", days=MAX_PAUSE_DAYS)
        return await self._volunteers.set_status(volunteer.id, "paused", until)

    async def resume(self, volunteer: Volunteer) -> Volunteer:
        """Back to active (after a pause or a /stop)."""
        return await self._volunteers.set_status(volunteer.id, "active")

    async def stop(self, volunteer: Volunteer) -> Volunteer:
        """No more messages they did not ask for, until /start or /resume."""
        return await self._volunteers.set_status(volunteer.id, "stopped")
