"""What the core offers readers (server, dashboards, alerts): typed results and a change feed.

The shapes follow ``/api/metrics`` of the wire contract: a ratio or mean with no data is
``None`` (JSON null), counts with no data are 0, shares are fractions in [0, 1].
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Literal, Protocol, TypeVar

import msgspec

from stream.events import IncidentLink

T = TypeVar("T")


class QueryError(ValueError):
    """A read the core cannot answer (unknown scope or window, unsupported breakdown)."""


class CsiQuestionResult(msgspec.Struct, frozen=True):
    factor: str
    question: str
    index: float | None
    answers: int


class CsiResult(msgspec.Struct, frozen=True):
    total: float | None = None
    factors: dict[str, float | None] = {}
    answers: int = 0
    factor_answers: dict[str, int] = {}
    questions: list[CsiQuestionResult] = []


class ButtonsResult(msgspec.Struct, frozen=True):
    index: float | None = None
    shares: dict[str, float] = {}
    presses: int = 0
    counts: dict[str, int] = {}


class FlowResult(msgspec.Struct, frozen=True):
    contacts: int = 0
    by_channel: dict[str, int] = {}
    answered_share: float | None = None
    mean_wait_s: float | None = None
    mean_handle_s: float | None = None
    mean_hold_s: float | None = None
    fcr: float | None = None
    this_hour: int = 0
    usual_this_hour: float | None = None


class Problem(msgspec.Struct, frozen=True):
    location: str
    category: str
    count: int


class SourceResult(msgspec.Struct, frozen=True):
    """Incidents of one source (``desk``, ``api``, ``auto``) over the window: how fast
    and how well they were handled."""

    opened: int = 0
    resolved: int = 0
    within_sla: float | None = None
    same_day_share: float | None = None
    mean_first_action_s: float | None = None
    mean_resolve_s: float | None = None


class IncidentsResult(msgspec.Struct, frozen=True):
    open: int = 0
    opened: int = 0
    resolved: int = 0
    sla_breached: int = 0
    within_sla: float | None = None
    thanks_share: float | None = None
    open_breached: int = 0
    thanks: int = 0
    appeals: int = 0
    same_day_share: float | None = None
    mean_resolve_s: float | None = None
    problems: list[Problem] = []
    mean_first_action_s: float | None = None
    by_source: dict[str, SourceResult] = {}  # "desk", "api", "auto"


class VoiceResult(msgspec.Struct, frozen=True):
    """Speech analytics of a scope: utterances, anger, keyword hits, service standard."""

    utterances: int = 0
    anger_events: int = 0
    keywords: dict[str, int] = {}
    encounters: int = 0
    compliance: dict[str, float | None] = {}  # greeting / thanks / farewell / all: shares
    rating_with_greeting: float | None = None  # mean closing rating in [0, 1]
    rating_without_greeting: float | None = None
    rated_with_greeting: int = 0
    rated_without_greeting: int = 0


class Metrics(msgspec.Struct, frozen=True):
    """Every metric of one scope over one window (the body of ``/api/metrics``)."""

    scope: str
    window: str
    start_ms: int
    end_ms: int
    nps: float | None = None
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    responses: int = 0
    visits: int = 0
    sessions: int = 0
    response_rate: float | None = None
    nps_with_non_responders: float | None = None
    csat: float | None = None
    csat_responses: int = 0
    ces: float | None = None
    ces_responses: int = 0
    csi: CsiResult = CsiResult()
    buttons: ButtonsResult = ButtonsResult()
    flow: FlowResult = FlowResult()
    incidents: IncidentsResult = IncidentsResult()
    voice: VoiceResult = VoiceResult()
    staff: str | None = None
    touchpoint: str | None = None


class FlowProfile(msgspec.Struct, frozen=True):
    """Mean contacts per local hour of day (columns) and weekday (rows, Monday first)."""

    scope: str
    weeks: int
    contacts: list[list[float]]


class CaseStep(msgspec.Struct, frozen=True):
    """One step of an incident as people read it (``/api/incidents`` ``steps``)."""

    action: str
    ts: int  # epoch ms
    who: str | None = None
    text: str | None = None
    assignee: str | None = None
    severity: str | None = None
    source: str = "desk"
    escalation: int | None = None


class IncidentView(msgspec.Struct, frozen=True):
    location: str
    incident: str
    category: str
    status: Literal["open", "assigned", "resolved"]
    opened_ms: int
    assigned_ms: int | None
    resolved_ms: int | None
    transfer_deadline_ms: int | None
    resolve_deadline_ms: int
    breached: bool
    problem: bool
    severity: str | None = None
    channel: str | None = None
    department: str | None = None
    assignee: str | None = None
    text: str | None = None
    # contract v2 "Cases": who opened it and how, its link, its steps, the deadline it
    # races now (``due``, epoch ms; ``opened`` likewise) and how often it was escalated
    source: str = "desk"
    who: str | None = None
    opened: int = 0
    due: int = 0
    linked: IncidentLink | None = None
    steps: list[CaseStep] = []
    escalations: int = 0
    first_action_ms: int | None = None


class LocationView(msgspec.Struct, frozen=True):
    id: str
    name: str
    region: str
    timezone: str
    configured: bool


class ChangeFeed:
    """Fan-out of "these scopes changed" to in-process readers, coalescing per reader.

    ``publish`` never blocks: each subscription keeps a *set* of pending scopes, so a slow
    reader sees the union of what changed since it last looked, not a growing queue.
    """

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        self._subs.add(sub)
        return sub

    def _drop(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, scopes: Iterable[str]) -> None:
        scopes = set(scopes)
        if not scopes:
            return
        for sub in self._subs:
            sub._pending |= scopes
            sub._event.set()


class Subscription:
    """One reader's view of the change feed; ``await next()`` returns the changed scopes."""

    def __init__(self, feed: ChangeFeed) -> None:
        self._feed = feed
        self._pending: set[str] = set()
        self._event = asyncio.Event()

    async def next(self) -> set[str]:
        await self._event.wait()
        self._event.clear()
        scopes, self._pending = self._pending, set()
        return scopes

    def close(self) -> None:
        self._feed._drop(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> set[str]:
        return await self.next()


class CoreReader(Protocol):
    """Everything the server, the alert service and the websocket hub read of the core,
    whether it runs in this process (``stream.local.LocalReader``, ``stream.core.Core``) or
    as partitioned workers elsewhere (``stream.remote.RemoteReader``).

    Reads are synchronous and raise ``QueryError`` for what cannot be answered (unknown
    scope or window); a remote reader raises its subclass ``NotReady`` while an answer is
    being fetched, and ``await wait(call)`` runs a read, waiting for the fetch if needed.
    ``changes`` announces the scopes whose answers changed.
    """

    changes: ChangeFeed

    def metrics(
        self, scope: str, window: str, *, staff: str | None = None, touchpoint: str | None = None
    ) -> Metrics: ...

    def flow_profile(self, scope: str) -> FlowProfile: ...

    def incidents(
        self, scope: str = "network", status: str | None = None, breached: bool | None = None
    ) -> list[IncidentView]: ...

    def locations(self) -> list[LocationView]: ...

    def scopes_of(self, location: str) -> tuple[str, ...]: ...

    def known_scope(self, scope: str) -> bool: ...

    def devices(self) -> dict[tuple[str, str], int]:
        """Last event time (epoch ms) per (location, device): devices named on feedback,
        microphones on voice events."""
        ...

    def health(self) -> dict[str, object]: ...

    async def wait(self, call: Callable[[], T]) -> T:
        """``call()`` once it can be answered (at once in process)."""
        ...
