"""Data steps of numbered migrations: what SQL alone cannot do, run in the same transaction
right after the migration's SQL (see Database.migrate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

DataStep = Callable[[aiosqlite.Connection], Awaitable[None]]


async def place_volunteers(conn: aiosqlite.Connection) -> None:
    """0008: give every volunteer who typed a town, a postcode or shared a position its
    commune, département and centre (as a new answer would)."""
    # Imported here: the migration runs before any service, and only once.
    from bot.services.volunteers import Invalid, parse_location, parse_place

    async with conn.execute(
        "SELECT id, postcode, place, latitude, longitude FROM volunteers"
        " WHERE status != 'erased' AND commune IS NULL"
        " AND (postcode IS NOT NULL OR place IS NOT NULL OR latitude IS NOT NULL)"
    ) as cursor:
        rows = list(await cursor.fetchall())
    for volunteer_id, postcode, place, latitude, longitude in rows:
        try:
            if latitude is not None and longitude is not None:
                columns = parse_location(latitude, longitude)
            else:
                columns = parse_place(postcode or place)
        except Invalid:
            continue  # homonyms or unknown: kept as typed; the volunteer can pick in /profile
        if columns.get("commune") is None and columns.get("department") is None:
            continue  # abroad: kept as typed
        if postcode and not columns.get("postcode"):
            columns["postcode"] = postcode
        assignments = ", ".join(f"{name} = ?" for name in columns)
        await conn.execute(
            f"UPDATE volunteers SET {assignments} WHERE id = ?", (*columns.values(), volunteer_id)
        )


STEPS: dict[int, DataStep] = {8: place_volunteers}
