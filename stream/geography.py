"""Locations, regions and the network: who is where, by which name, in which time zone.

``Geo`` is the one model of geography. It is built from config (``[[regions]]``,
``[[locations]]``) and learns the locations that only events (the core) or
``/api/locations`` (the wall) name. The engine numbers its scopes over it
(``ScopeIndex``), access control asks it what an id denotes (``stream.access``) and the wall
draws its pages from it.

In the engine every scope is an *entity* of the metric tables: the network (entity 0), each
region and each location. An event of a location is written to its location, its region and
the network, so 1h/7d/30d reads of any scope touch one entity. A location's hour buckets
are aligned to its own local hours (zones such as +05:30 shift them), regions and the
network use UTC hours; "today" of a region or the network sums each member's own local day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from stream.config import StreamSettings
from stream.ids import NETWORK
from stream.readmodel import LocationView
from stream.windows import HOUR_MS
from stream.workcal import WorkCalendar, location_calendar

Kind = Literal["network", "region", "location"]
_REFERENCE = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


@dataclass
class Geo:
    """Regions and locations by id. A location without a region (one only events named)
    belongs to the network alone."""

    default_tz: str
    region_names: dict[str, str] = field(default_factory=dict)
    region_tz: dict[str, str] = field(default_factory=dict)
    places: dict[str, LocationView] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: StreamSettings) -> Geo:
        geo = cls(cfg.core.default_timezone)
        for r in cfg.regions:
            geo.region_names[r.id] = r.name or r.id
            geo.region_tz[r.id] = r.timezone or cfg.core.default_timezone
        geo.add(LocationView(loc.id, loc.name or loc.id, loc.region, cfg.timezone_of(loc.id),
                             True) for loc in cfg.locations)
        return geo

    def add(self, locations: Iterable[LocationView]) -> None:
        """Learn locations (and their regions) not known yet; known ones keep their entry."""
        for loc in locations:
            if loc.id not in self.places:
                self.places[loc.id] = loc
                if loc.region:
                    self.region_names.setdefault(loc.region, loc.region)

    def learn(self, location: str) -> LocationView:
        """The entry of a location id, adding an unknown one (default zone, no region)."""
        found = self.places.get(location)
        if found is None:
            found = self.places[location] = LocationView(location, location, "",
                                                         self.default_tz, False)
        return found

    def kind(self, scope: str) -> Kind:
        """What an id denotes: any id that is not the network or a region is a location
        (perhaps one that has not sent anything yet). Access control decides by this."""
        return self.known_kind(scope) or "location"

    def known_kind(self, scope: str) -> Kind | None:
        """What a known id is; None for an id nobody named yet."""
        if scope == NETWORK:
            return "network"
        if scope in self.places:
            return "location"
        return "region" if scope in self.region_names else None

    def region_of(self, location: str) -> str | None:
        place = self.places.get(location)
        return (place.region or None) if place else None

    def name(self, scope: str, network_name: str) -> str:
        if scope == NETWORK:
            return network_name
        if scope in self.places:
            return self.places[scope].name
        return self.region_names.get(scope, scope)

    def timezone(self, scope: str) -> ZoneInfo:
        """A location's own zone; a region's configured one; else the default zone."""
        if scope in self.places:
            return ZoneInfo(self.places[scope].timezone)
        return ZoneInfo(self.region_tz.get(scope, self.default_tz))

    def members(self, scope: str) -> list[str]:
        """Location ids inside ``scope`` (itself for a location), sorted."""
        kind = self.known_kind(scope)
        if kind == "location":
            return [scope]
        if kind == "network":
            return sorted(self.places)
        return sorted(p.id for p in self.places.values() if p.region == scope)

    def parent(self, scope: str) -> str | None:
        """Where "up" leads from a scope: a location's region (or the network), a region's
        network; None from the network."""
        kind = self.known_kind(scope)
        if kind == "location":
            return self.region_of(scope) or NETWORK
        return NETWORK if kind == "region" else None

    def regions(self) -> list[str]:
        return sorted(self.region_names)

    def scopes_of(self, location: str) -> tuple[str, ...]:
        """The scopes an event of ``location`` counts in: itself, its region, the network."""
        region = self.region_of(location)
        return (location, region, NETWORK) if region else (location, NETWORK)


def hour_offset_ms(tz: ZoneInfo) -> int:
    """Sub-hour part of the zone's UTC offset (0 for most zones, 30 min for +05:30), taken at
    a fixed reference instant so bucket alignment never changes between runs."""
    offset = _REFERENCE.astimezone(tz).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() * 1000) % HOUR_MS


@dataclass
class Place:
    """One location in the engine: its entity rows, time zone, calendar, local-day cache."""

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

    def view(self) -> LocationView:
        return LocationView(self.id, self.name, self.region or "", self.tz.key, self.configured)


class ScopeIndex:
    """The engine's numbering of scopes into table entities, over ``Geo``; a location is
    added on first sight (events of unknown locations count too)."""

    def __init__(self, cfg: StreamSettings) -> None:
        self.cfg = cfg
        self.geo = Geo.from_config(cfg)
        self.places: list[Place] = []
        self.by_id: dict[str, Place] = {}
        self.scope_entity: dict[str, int] = {NETWORK: 0}
        self.region_members: dict[str, list[int]] = {}
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
            self.region_members.setdefault(region, [])
        return self.scope_entity[region]

    def place(self, location: str) -> Place:
        """The place of a location id, registering an unknown one."""
        found = self.by_id.get(location)
        if found is not None:
            return found
        info = self.geo.learn(location)
        tz = ZoneInfo(info.timezone)
        region = info.region or None
        ent = len(self.scope_entity)
        self.scope_entity[location] = ent
        entities, offsets = [ent], [hour_offset_ms(tz)]
        if region is not None:
            entities.append(self._region_entity(region))
            offsets.append(0)
        entities.append(0)
        offsets.append(0)
        place = Place(len(self.places), location, info.name, region, tz,
                      location_calendar(self.cfg, location), info.configured, tuple(entities),
                      tuple(offsets))
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

    def known(self, scope: str) -> bool:
        return scope in self.scope_entity

    def timezone(self, scope: str) -> ZoneInfo:
        return self.geo.timezone(scope)

    def scopes_of(self, location: str) -> tuple[str, ...]:
        return self.geo.scopes_of(location)

    def locations(self) -> list[LocationView]:
        return [p.view() for p in self.places]
