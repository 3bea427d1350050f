"""Data steps of numbered migrations: what SQL alone cannot do, run in the same transaction
right after the migration's SQL (see Database.migrate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.places import places, profile_columns
from bot.storage.backend import Tx

DataStep = Callable[[Tx], Awaitable[None]]


def _placed(
    postcode: str | None, place: str | None, latitude: Any, longitude: Any
) -> dict[str, Any]:
    """The place columns a volunteer gets today for what they answered then; {} to keep it."""
    communes = places()
    if latitude is not None and longitude is not None:
        nearest = communes.nearest(float(latitude), float(longitude))
        if nearest is None:
            return {}
        # The shared position itself stays: distances are measured from it.
        return {**profile_columns(nearest), "latitude": latitude, "longitude": longitude}
    if postcode:
        found = communes.find(postcode).places
        if len(found) == 1:
            return {**profile_columns(found[0]), "postcode": postcode}
        centre = communes.postcode_centre(postcode)
        return {"latitude": centre[0], "longitude": centre[1]} if centre else {}
    found = communes.find(place or "").places
    # Homonyms or a place abroad: kept as typed (the volunteer can pick in /profile).
    return profile_columns(found[0]) if len(found) == 1 else {}


async def place_volunteers(tx: Tx) -> None:
    """0008: give every volunteer who typed a town or a postcode, or shared a position, the
    commune, département and centre a new answer gets."""
    rows = await tx.fetch_all(
        "SELECT id, postcode, place, latitude, longitude FROM volunteers"
        " WHERE status != 'erased' AND commune IS NULL"
        " AND (postcode IS NOT NULL OR place IS NOT NULL OR latitude IS NOT NULL)"
    )
    for volunteer_id, postcode, place, latitude, longitude in rows:
        columns = _placed(postcode, place, latitude, longitude)
        if columns:
            assignments = ", ".join(f"{name} = :{name}" for name in columns)
            await tx.execute(
                f"UPDATE volunteers SET {assignments} WHERE id = :volunteer_id",
                {**columns, "volunteer_id": volunteer_id},
            )


STEPS: dict[int, DataStep] = {8: place_volunteers}
