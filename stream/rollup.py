"""Network roll-up across partitioned core workers: scatter a query, merge the partials.

Each worker answers ``{prefix}.core.query`` with its *partial* sums (``stream.partial``) for
the locations it owns; the roll-up adds them and assembles the same ``Metrics`` one worker
holding every location would give. Workers also publish the scopes that changed on
``{prefix}.core.changed`` so remote readers know when to ask again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Literal

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from stream.clock import Clock, wall_ms
from stream.config import StreamSettings
from stream.engine import MetricsEngine
from stream.incident_views import by_urgency, incident_views
from stream.partial import Partial, dimension_partial, merge, partial
from stream.query import assemble, profile_of
from stream.readmodel import FlowProfile, IncidentView, LocationView, Metrics, QueryError
from stream.subjects import Subjects


class QueryRequest(msgspec.Struct, frozen=True):
    op: Literal["partial", "incidents", "locations", "devices"]
    now_ms: int
    scope: str = "network"
    window: str = "today"
    staff: str | None = None
    touchpoint: str | None = None
    status: str | None = None
    breached: bool | None = None


class QueryReply(msgspec.Struct):
    worker: int
    partial: Partial | None = None
    incidents: list[IncidentView] = []
    locations: list[LocationView] = []
    devices: list[tuple[str, str, int]] = []  # (location, device, last event ms)
    error: str | None = None


_REQ = msgspec.msgpack.Decoder(QueryRequest)
_REPLY = msgspec.msgpack.Decoder(QueryReply)
_ENC = msgspec.msgpack.Encoder()


def answer(engine: MetricsEngine, worker: int, req: QueryRequest) -> QueryReply:
    """A worker's reply to one roll-up query (pure)."""
    try:
        if req.op == "partial":
            if req.staff or req.touchpoint:
                p = dimension_partial(engine, req.scope, req.window, req.now_ms,
                                      staff=req.staff, touchpoint=req.touchpoint)
            else:
                p = partial(engine, req.scope, req.window, req.now_ms)
            return QueryReply(worker, partial=p)
        if req.op == "incidents":
            if not engine.geo.known(req.scope):
                return QueryReply(worker)
            return QueryReply(worker, incidents=incident_views(
                engine, req.scope, req.now_ms, req.status, req.breached))
        if req.op == "devices":
            return QueryReply(worker, devices=[(loc, dev, ts) for (loc, dev), ts
                                               in engine.devices.items()])
        return QueryReply(worker, locations=engine.geo.locations())
    except QueryError as exc:
        return QueryReply(worker, error=str(exc))


async def serve_queries(nc: NATS, subjects: Subjects, engine_of: Callable[[], MetricsEngine],
                        worker: int) -> Subscription:
    """Subscribe a worker to roll-up queries; ``engine_of()`` returns its current engine."""

    async def on_query(msg: Msg) -> None:
        try:
            req = _REQ.decode(msg.data)
        except msgspec.DecodeError as exc:
            await msg.respond(_ENC.encode(QueryReply(worker, error=f"bad query: {exc}")))
            return
        await msg.respond(_ENC.encode(answer(engine_of(), worker, req)))

    return await nc.subscribe(subjects.query, cb=on_query)


class Rollup:
    """Reads the whole network from ``workers`` partitioned core workers over NATS."""

    def __init__(self, nc: NATS, cfg: StreamSettings, clock: Clock = wall_ms) -> None:
        self.nc = nc
        self.clock = clock
        self.cfg = cfg
        self.subjects = Subjects(cfg.nats.prefix)
        self.workers = cfg.scale.workers
        self.timeout_s = cfg.scale.query_timeout_s

    async def _gather(self, req: QueryRequest) -> list[QueryReply]:
        """Publish once, collect one reply per worker (or what arrived by the timeout)."""
        inbox = self.nc.new_inbox()
        replies: list[QueryReply] = []
        done = asyncio.Event()

        async def on_reply(msg: Msg) -> None:
            replies.append(_REPLY.decode(msg.data))
            if len({r.worker for r in replies}) >= self.workers:
                done.set()

        sub = await self.nc.subscribe(inbox, cb=on_reply)
        try:
            await self.nc.publish(self.subjects.query, _ENC.encode(req), reply=inbox)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.timeout_s)
        finally:
            await sub.unsubscribe()
        if len({r.worker for r in replies}) < self.workers:
            raise TimeoutError(f"{len(replies)} of {self.workers} core workers answered")
        return replies

    async def partial(self, scope: str, window: str, now_ms: int | None = None, *,
                      staff: str | None = None, touchpoint: str | None = None) -> Partial:
        now_ms = now_ms if now_ms is not None else self.clock()
        replies = await self._gather(QueryRequest("partial", now_ms, scope, window, staff,
                                                  touchpoint))
        errors = [r.error for r in replies if r.error]
        if errors:
            raise QueryError(errors[0])
        merged = merge([r.partial for r in replies if r.partial is not None])
        if not merged.known:
            raise QueryError(f"unknown scope {scope!r}")
        return merged

    async def metrics(self, scope: str, window: str, now_ms: int | None = None, *,
                      staff: str | None = None, touchpoint: str | None = None) -> Metrics:
        p = await self.partial(scope, window, now_ms, staff=staff, touchpoint=touchpoint)
        return assemble(self.cfg, p)

    async def flow_profile(self, scope: str, now_ms: int | None = None) -> FlowProfile:
        p = await self.partial(scope, "1h", now_ms)
        return FlowProfile(scope=scope, weeks=4, contacts=profile_of(p))

    async def incidents(self, scope: str = "network", status: str | None = None,
                        breached: bool | None = None,
                        now_ms: int | None = None) -> list[IncidentView]:
        now_ms = now_ms if now_ms is not None else self.clock()
        replies = await self._gather(QueryRequest("incidents", now_ms, scope, status=status,
                                                  breached=breached))
        return by_urgency([v for r in replies for v in r.incidents], now_ms)

    async def devices(self) -> dict[tuple[str, str], int]:
        """Last event time per (location, device) over every worker (each owns its own
        locations' devices; voice microphones are worker 0's)."""
        replies = await self._gather(QueryRequest("devices", self.clock()))
        out: dict[tuple[str, str], int] = {}
        for r in replies:
            for loc, dev, ts in r.devices:
                out[(loc, dev)] = max(ts, out.get((loc, dev), ts))
        return out

    async def locations(self) -> list[LocationView]:
        replies = await self._gather(QueryRequest("locations", self.clock()))
        return sorted({v.id: v for r in replies for v in r.locations}.values(), key=lambda v: v.id)
