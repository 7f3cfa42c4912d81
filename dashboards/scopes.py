"""Scopes of the wall (pure): network, regions, locations, their names, zones and members.

Built from config plus the locations the server reports (``/api/locations`` also lists
unconfigured ids that sent events), and the topics one scope's page needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from dashboards.config import WallSettings
from stream.ids import NETWORK
from stream.push import Window

Kind = Literal["network", "region", "location"]
METRIC_WINDOWS: list[Window] = ["1h", "today"]


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    region: str
    timezone: str


@dataclass
class Geography:
    """Who is where; ``add`` learns locations the server knows and config does not."""

    default_tz: str
    region_names: dict[str, str] = field(default_factory=dict)
    region_tz: dict[str, str] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: WallSettings) -> Geography:
        geo = cls(cfg.core.default_timezone)
        for r in cfg.regions:
            geo.region_names[r.id] = r.name or r.id
            geo.region_tz[r.id] = r.timezone or cfg.core.default_timezone
        for loc in cfg.locations:
            geo.region_names.setdefault(loc.region, loc.region)
            geo.places[loc.id] = Place(loc.id, loc.name or loc.id, loc.region,
                                       cfg.timezone_of(loc.id))
        return geo

    def add(self, places: Iterable[Place]) -> None:
        for p in places:
            if p.id not in self.places:
                self.places[p.id] = p
                self.region_names.setdefault(p.region, p.region)

    def kind(self, scope: str) -> Kind | None:
        if scope == NETWORK:
            return "network"
        if scope in self.places:
            return "location"
        return "region" if scope in self.region_names else None

    def name(self, scope: str, network_name: str) -> str:
        if scope == NETWORK:
            return network_name
        if scope in self.places:
            return self.places[scope].name
        return self.region_names.get(scope, scope)

    def timezone(self, scope: str) -> ZoneInfo:
        if scope in self.places:
            return ZoneInfo(self.places[scope].timezone)
        return ZoneInfo(self.region_tz.get(scope, self.default_tz))

    def members(self, scope: str) -> list[str]:
        """Location ids inside ``scope`` (itself for a location), sorted."""
        kind = self.kind(scope)
        if kind == "location":
            return [scope]
        if kind == "network":
            return sorted(self.places)
        return sorted(p.id for p in self.places.values() if p.region == scope)

    def parent(self, scope: str) -> str | None:
        """Where "up" leads from a scope's page: a location's region, a region's network."""
        kind = self.kind(scope)
        if kind == "location":
            return self.places[scope].region
        return NETWORK if kind == "region" else None

    def regions(self) -> list[str]:
        return sorted(self.region_names)


def page_topics(geo: Geography, scope: str) -> list[str]:
    """Websocket topics one scope's wall needs: its metrics and incidents, the alerts, the
    metrics of every member location (the leaderboard) and their microphones."""
    topics = [f"metrics:{scope}", f"incidents:{scope}", "alerts"]
    members = geo.members(scope)
    if geo.kind(scope) != "location":
        topics += [f"metrics:{loc}" for loc in members]
    topics += [f"voice:{loc}" for loc in members]
    return topics
