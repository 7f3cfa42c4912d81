"""Locations, regions and the network: who rolls up into what, in which time zone.

Every scope is an *entity* of the metric tables: the network (entity 0), each region and
each location. An event of a location is written to its location, its region and the
network, so 1h/7d/30d reads of any scope touch one entity. A location's hour buckets are
aligned to its own local hours (zones such as +05:30 shift them), regions and the network
use UTC hours; "today" of a region or the network sums each member's own local day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from stream.config import StreamSettings
from stream.ids import NETWORK
from stream.windows import HOUR_MS
from stream.workcal import WorkCalendar, location_calendar

_REFERENCE = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


def hour_offset_ms(tz: ZoneInfo) -> int:
    """Sub-hour part of the zone's UTC offset (0 for most zones, 30 min for +05:30), taken at
    a fixed reference instant so bucket alignment never changes between runs."""
    at = _REFERENCE
    offset = at.astimezone(tz).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() * 1000) % HOUR_MS


@dataclass
class Place:
    """One location: its entity rows, time zone, calendar and a cache of its local day."""

    idx: int
    id: str
    name: str
    region: str | None
    tz: ZoneInfo
    calendar: WorkCalendar
    configured: bool
    entities: tuple[int, ...] = ()  # (location, region?, network)
    offsets_ms: tuple[int, ...] = ()  # hour-bucket alignment per entity
    _day: tuple[int, int, int] = field(default=(0, -1, 0), repr=False)

    @property
    def entity(self) -> int:
        return self.entities[0]

    def day_of(self, ms: int) -> int:
        """Local calendar day of ``ms`` as a date ordinal (cached for the current day)."""
        start, end, ordinal = self._day
        if start <= ms < end:
            return ordinal
        day = dt.datetime.fromtimestamp(ms / 1000, self.tz).date()
        start = self.calendar.day_start_ms(day)
        end = self.calendar.day_start_ms(day + dt.timedelta(days=1))
        self._day = (start, end, day.toordinal())
        return day.toordinal()

    def day_start_ms(self, ms: int) -> int:
        self.day_of(ms)
        return self._day[0]

    def hour_bucket(self, ms: int) -> int:
        return (ms - self.offsets_ms[0]) // HOUR_MS


class Geography:
    """Registry of places and scopes; unknown locations are added on first sight."""

    def __init__(self, cfg: StreamSettings) -> None:
        self.cfg = cfg
        self.places: list[Place] = []
        self.by_id: dict[str, Place] = {}
        self.scope_entity: dict[str, int] = {NETWORK: 0}
        self.scope_tz: dict[str, ZoneInfo] = {NETWORK: ZoneInfo(cfg.core.default_timezone)}
        self.region_members: dict[str, list[int]] = {}
        self.region_names: dict[str, str] = {r.id: r.name for r in cfg.regions}
        for r in cfg.regions:
            self._region_entity(r.id)
        for loc in cfg.locations:
            self.place(loc.id)

    @property
    def entity_count(self) -> int:
        return len(self.scope_entity)

    def _region_entity(self, region: str) -> int:
        if region not in self.scope_entity:
            self.scope_entity[region] = len(self.scope_entity)
            rc = next((r for r in self.cfg.regions if r.id == region), None)
            tzname = (rc.timezone if rc and rc.timezone else "") or self.cfg.core.default_timezone
            self.scope_tz[region] = ZoneInfo(tzname)
            self.region_members.setdefault(region, [])
        return self.scope_entity[region]

    def place(self, location: str) -> Place:
        """The place of a location id, registering an unknown one under the default zone."""
        found = self.by_id.get(location)
        if found is not None:
            return found
        lc = self.cfg.location(location)
        tz = ZoneInfo(self.cfg.timezone_of(location))
        region = lc.region if lc else None
        ent = len(self.scope_entity)
        self.scope_entity[location] = ent
        self.scope_tz[location] = tz
        entities = [ent]
        offsets = [hour_offset_ms(tz)]
        if region is not None:
            entities.append(self._region_entity(region))
            offsets.append(0)
        entities.append(0)
        offsets.append(0)
        cal = location_calendar(self.cfg, location)
        place = Place(len(self.places), location, (lc.name if lc else "") or location, region,
                      tz, cal, lc is not None, tuple(entities), tuple(offsets))
        self.places.append(place)
        self.by_id[location] = place
        if region is not None:
            self.region_members[region].append(place.idx)
        return place

    def members(self, scope: str) -> list[Place]:
        """Locations inside a scope (network: all; region: its members; location: itself)."""
        if scope == NETWORK:
            return list(self.places)
        if scope in self.region_members:
            return [self.places[i] for i in self.region_members[scope]]
        place = self.by_id.get(scope)
        return [place] if place else []

    def is_region(self, scope: str) -> bool:
        return scope in self.region_members

    def known(self, scope: str) -> bool:
        return scope in self.scope_entity

    def scopes_of(self, location: str) -> tuple[str, ...]:
        place = self.by_id.get(location)
        if place is None:
            return (location, NETWORK)
        return (location, place.region, NETWORK) if place.region else (location, NETWORK)

    def entity_offsets(self) -> dict[int, int]:
        """Hour alignment of every entity (locations own, aggregates 0)."""
        out = {0: 0}
        for p in self.places:
            for e, o in zip(p.entities, p.offsets_ms, strict=True):
                out[e] = o
        return out

    def place_entities(self) -> np.ndarray:
        return np.array([p.entity for p in self.places], dtype=np.int64)
