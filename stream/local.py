"""The core read in this process: ``CoreReader`` over the engine the consumer feeds.

Every read runs the pure queries (``stream.query``, ``stream.incident_views``) on the
current engine at the injected clock's now; there is nothing to wait for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from stream import query
from stream.clock import Clock
from stream.engine import MetricsEngine
from stream.ids import NETWORK
from stream.incident_views import incident_views
from stream.readmodel import ChangeFeed, FlowProfile, IncidentView, LocationView, Metrics

T = TypeVar("T")


class LocalReader:
    """``CoreReader`` of an engine in this process. ``engine_of`` returns the current engine
    (the consumer replaces it when it loads a snapshot); ``status`` the consumer's state."""

    def __init__(self, engine_of: Callable[[], MetricsEngine], changes: ChangeFeed,
                 clock: Clock, status: Callable[[], dict[str, object]]) -> None:
        self._engine_of = engine_of
        self.changes = changes
        self._clock = clock
        self._status = status

    def metrics(self, scope: str, window: str, *, staff: str | None = None,
                touchpoint: str | None = None) -> Metrics:
        if staff or touchpoint:
            return query.dimension_metrics(self._engine_of(), scope, window, self._clock(),
                                           staff=staff, touchpoint=touchpoint)
        return query.metrics(self._engine_of(), scope, window, self._clock())

    def flow_profile(self, scope: str) -> FlowProfile:
        return query.flow_profile(self._engine_of(), scope, self._clock())

    def incidents(self, scope: str = NETWORK, status: str | None = None,
                  breached: bool | None = None) -> list[IncidentView]:
        return incident_views(self._engine_of(), scope, self._clock(), status, breached)

    def locations(self) -> list[LocationView]:
        return self._engine_of().geo.locations()

    def scopes_of(self, location: str) -> tuple[str, ...]:
        return self._engine_of().geo.scopes_of(location)

    def known_scope(self, scope: str) -> bool:
        return self._engine_of().geo.known(scope)

    def devices(self) -> dict[tuple[str, str], int]:
        """Last event time (epoch ms) per (location, device or microphone)."""
        return dict(self._engine_of().devices)

    def health(self) -> dict[str, object]:
        e = self._engine_of()
        return {**self._status(), "applied": e.applied, "duplicates": e.duplicates,
                "rejected": dict(e.rejects), "last_seq": e.last_seq,
                "locations": len(e.geo.places), "state_bytes": e.state_nbytes()}

    async def wait(self, call: Callable[[], T]) -> T:
        """In process every read answers at once."""
        return call()
