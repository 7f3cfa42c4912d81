"""Where rule values come from: the core's read model, voice events, device last-seen.

A source answers a ``Query`` (one rule, one concrete scope, one instant) with readings. The
core source reads ``Metrics`` through ``CoreReader``; ``EventCounter`` counts timestamped
events in a sliding window (``feeds.VoiceFeed`` records each voice event's
``voice_metrics`` into it); ``LastSeen`` turns signs of life (the core's device view,
microphone heartbeats) into silent minutes, counted from the later of the last sign of
life and the start of today's opening hours, so every terminal does not "go silent"
overnight and page at opening. A device not heard since the service started is unknown
(no reading), not silent, until it has been watched for a full silence period (the
rule's threshold) in opening hours: a fresh start, or the core still catching up on the
stream, raises no storm of ``device-silent`` alerts. ``collect`` builds the engine's
evaluations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol

import msgspec

from alerting.metricpath import (
    CORE,
    MetricRef,
    default_sample,
    parse_duration_s,
    parse_metric,
    read_path,
    read_value,
)
from alerting.model import Evaluation, Reading
from alerting.schedule import Calendars
from alerting.schema import RuleConfig
from stream.events import VoiceEvent
from stream.ids import NETWORK
from stream.readmodel import CoreReader, Metrics


class Query(msgspec.Struct, frozen=True):
    """One read: ``locations`` are the members of ``scope``; ``since_ms`` is the start of
    the rule's active period (opening time) or None for always-on rules; ``threshold`` the
    rule's (how long a device must be watched before its silence means something)."""

    metric: MetricRef
    sample: tuple[str, ...] | None
    window: str
    scope: str
    locations: tuple[str, ...]
    now_ms: int
    since_ms: int | None = None
    threshold: float | None = None


class MetricSource(Protocol):
    def read(self, query: Query) -> list[Reading]: ...


class CoreSource:
    """Reads ``Metrics`` once per (scope, window) per evaluation round."""

    def __init__(self, reader: CoreReader) -> None:
        self.reader = reader
        self._cache: dict[tuple[str, str], Metrics | None] = {}

    def begin(self) -> None:
        self._cache.clear()

    def read(self, query: Query) -> list[Reading]:
        key = (query.scope, query.window)
        if key not in self._cache:
            try:
                self._cache[key] = self.reader.metrics(query.scope, query.window)
            except (KeyError, ValueError):
                self._cache[key] = None  # a scope the core does not know (yet)
        metrics = self._cache[key]
        if metrics is None:
            return []
        sample = read_path(metrics, query.sample) if query.sample else None
        return [Reading(read_value(query.metric, metrics), None if sample is None else int(sample))]


def voice_metrics(event: VoiceEvent, anger_threshold: float) -> list[str]:
    """The ``voice.*`` metrics one utterance counts towards: ``utterances``, ``anger_events``
    (anger at or above ``[voice] anger_threshold``, as the core counts them) and
    ``keywords.{category}`` per keyword hit."""
    names = ["utterances"]
    if event.emotion.anger >= anger_threshold:
        names.append("anger_events")
    names += [f"keywords.{kw.category}" for kw in event.keywords]
    return names


class EventCounter:
    """Timestamped events per (metric, location), counted over the rule's window."""

    def __init__(self, retention_s: float = 86_400.0) -> None:
        self.retention_ms = int(retention_s * 1000)
        self._events: dict[tuple[str, str], deque[int]] = {}

    def record(self, metric: str, location: str, ts_ms: int) -> None:
        q = self._events.setdefault((metric, location), deque())
        q.append(ts_ms)
        while q and q[0] < ts_ms - self.retention_ms:
            q.popleft()

    def read(self, query: Query) -> list[Reading]:
        start = query.now_ms - int(parse_duration_s(query.window) * 1000)
        count = 0
        for loc in query.locations:
            q = self._events.get((query.metric.name, loc))
            count += sum(1 for ts in q or () if start < ts <= query.now_ms)
        return [Reading(float(count), count)]


SEEN_GRACE_MS = 60_000  # a sign of life stamped this much before the start counts as after
# it (audio and events carry the time they were taken, a little before they arrive)


class LastSeen:
    """Device heartbeats; ``silent_minutes`` per device of the scope's locations."""

    def __init__(self, feed: Callable[[], Mapping[tuple[str, str], int]] | None = None, *,
                 started_ms: int | None = None) -> None:
        """``feed`` returns the core's device view (``CoreReader.devices``: the last event
        time per device named on events, and per microphone that spoke). ``started_ms``:
        when the service started watching (``start``); None counts every device at once."""
        self._seen: dict[tuple[str, str], int] = {}
        self._unheard: set[tuple[str, str]] = set()  # configured, no sign of life yet
        self._feed = feed
        self.started_ms = started_ms

    def start(self, now_ms: int) -> None:
        """Begin watching: devices not heard from now on are unknown for a silence period."""
        self.started_ms = now_ms

    def expect(self, location: str, device: str, since_ms: int) -> None:
        """Register a configured device, silent since ``since_ms`` until first heard."""
        key = (location, device)
        if key not in self._seen:
            self._seen[key] = since_ms
            self._unheard.add(key)

    def seen(self, location: str, device: str, ts_ms: int) -> None:
        key = (location, device)
        self._seen[key] = max(ts_ms, self._seen.get(key, ts_ms))
        self._unheard.discard(key)

    def _minutes(self, key: tuple[str, str], last: int, query: Query) -> float | None:
        """Silent minutes of a device last heard (or registered) at ``last``; None while it
        is unknown: not heard since the start, and watched for less than the threshold."""
        since = query.since_ms
        minutes = max(0, query.now_ms - (last if since is None else max(last, since))) / 60_000
        started = self.started_ms
        if started is None or (last >= started - SEEN_GRACE_MS and key not in self._unheard):
            return round(minutes, 2)  # heard since the start: known
        if query.threshold is None:
            return round(minutes, 2)
        watched = max(0, query.now_ms - (started if since is None else max(started, since)))
        return round(minutes, 2) if watched / 60_000 >= query.threshold else None

    def read(self, query: Query) -> list[Reading]:
        if query.metric.name != "silent_minutes":
            return []
        if self._feed is not None:
            for (loc, dev), ts in self._feed().items():
                self.seen(loc, dev, ts)
        members = set(query.locations)
        return [Reading(self._minutes(key, last, query), None,
                        {"location": key[0], "device": key[1]})
                for key, last in sorted(self._seen.items()) if key[0] in members]


class CaseSource:
    """``case.escalation``: per overdue case of the scope's locations, the escalation level
    the case service stepped it up to (``cases.escalation``), labelled with the case, its
    assignee and its level -- so each new level is a new alert (announced, notified), the
    previous level's alert resolves for lack of data (``no_data = "resolve"``), and so does
    the last one once the case is resolved. The alert service reads the core only; the
    case service never talks to it."""

    def __init__(self, reader: CoreReader) -> None:
        self.reader = reader

    def read(self, query: Query) -> list[Reading]:
        if query.metric.name != "escalation":
            return []
        out = []
        for loc in query.locations:
            try:
                views = self.reader.incidents(loc, "open") + self.reader.incidents(loc, "assigned")
            except (KeyError, ValueError):
                continue  # a location the core does not know (yet)
            for v in views:
                if v.escalations > 0:
                    out.append(Reading(float(v.escalations), None, {
                        "location": v.location, "incident": v.incident,
                        "assignee": v.assignee or "-", "level": str(v.escalations),
                        "case_severity": v.severity or "normal", "category": v.category}))
        return out


class ScopeRef(msgspec.Struct, frozen=True):
    """A concrete scope a selector stands for: its id, member locations and labels."""

    id: str
    locations: tuple[str, ...]
    labels: dict[str, str]


class Topology(msgspec.Struct, frozen=True):
    """Locations and their regions, for scope selectors and scope labels."""

    regions_of: dict[str, str | None]

    def resolve(self, selector: str) -> list[ScopeRef]:
        """``network``, ``each_location``, ``each_region``, ``region:<id>``,
        ``location:<id>`` (a location the core has not seen yet still resolves)."""
        if selector == NETWORK:
            return [ScopeRef(NETWORK, tuple(sorted(self.regions_of)), {})]
        if selector == "each_location":
            return [self._location(loc) for loc in sorted(self.regions_of)]
        if selector == "each_region":
            return [self._region(r) for r in sorted({r for r in self.regions_of.values() if r})]
        kind, ident = selector.split(":", 1)
        return [self._location(ident) if kind == "location" else self._region(ident)]

    def _location(self, loc: str) -> ScopeRef:
        region = self.regions_of.get(loc)
        return ScopeRef(loc, (loc,), {"location": loc, "region": region} if region
                        else {"location": loc})

    def _region(self, region: str) -> ScopeRef:
        members = tuple(sorted(loc for loc, r in self.regions_of.items() if r == region))
        return ScopeRef(region, members, {"region": region})


def topology_of(locations: Iterable[tuple[str, str | None]]) -> Topology:
    return Topology({loc: region for loc, region in locations})


def collect(
    rules: Iterable[RuleConfig],
    topology: Topology,
    sources: Mapping[str, MetricSource],
    calendars: Calendars,
    now_ms: int,
    changed: Collection[str] | None = None,
) -> list[Evaluation]:
    """Read every (rule, scope) pair, or only those whose scope is in ``changed``.

    A rule outside its business hours is not read (the engine ends its alerts); a source
    that is not registered yields no readings (no data)."""
    out = []
    for rule in rules:
        ref = parse_metric(rule.metric)
        sample = tuple(rule.sample.split(".")) if rule.sample else default_sample(ref)
        source = sources.get(CORE if ref.source == CORE else ref.source)
        for ref_scope in topology.resolve(rule.scope):
            scope = ref_scope.id
            if changed is not None and scope not in changed:
                continue
            since = None
            if rule.schedule == "business_hours":
                since = calendars.of(scope).open_since_ms(now_ms)
                if since is None:
                    continue
            query = Query(ref, sample, rule.window, scope, ref_scope.locations, now_ms, since,
                          rule.threshold)
            readings = source.read(query) if source is not None else []
            out.append(Evaluation(rule.id, scope, ref_scope.labels, tuple(readings)))
    return out
