"""The websocket hub: one shared computation per channel per tick, fanned out to mailboxes.

Order of work: the core's change feed (and the alert service, and ``publish`` for voice)
*marks* channels (``channels.Channels``) -> the scheduler asks which are due -> each due
channel is computed once (``payloads``), encoded once (down to the websocket frame bytes),
and offered to every subscriber's ``Mailbox`` -> each mailbox is flushed to its socket in
one write when the socket takes more, else drained by the client's writer task. Fan-out
never awaits a socket, so a slow client only ever delays itself; the watchdog
(``registry.Registry.kick_stuck``) disconnects one whose send has been stuck for
``[server] ws_stuck_timeout_s``.

The parts: ``Registry`` (clients), ``Channels`` (channels and coalescing), ``admission``
(may this client follow this topic), ``VoiceRing`` (the published ``voice:`` topics),
``Timers`` (heartbeat, refresh), ``CommentRings`` (the ``comments:`` topics, read from the
archive, then fed by ``publish_comment``). Time is injected: ``clock`` (monotonic seconds) paces
frames and timers, ``wall`` (epoch ms, ``stream.clock``) stamps them. The synchronous
steps (``handle``, ``deliver``, ``housekeep``) are the whole behaviour; the tasks started
by ``start`` only call them when due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import msgspec

from server import protocol as proto
from server.admission import refusal
from server.alerts import AlertsAdapter
from server.channels import Channels
from server.commentfeed import CommentRings
from server.config import ServerSettings
from server.fanout import TopicFrame
from server.hubclient import Channel, Client
from server.limits import TokenBucket
from server.payloads import Reads, display_data, incidents_data, metrics_data
from server.registry import Caps, Registry
from server.timers import Timers
from server.voicering import VoiceRing
from server.wire import FrameSink
from stream.access import Geo, Principal
from stream.clock import Clock, wall_ms
from stream.comments import CommentNote
from stream.push import (
    CLOSE_GOING_AWAY,
    CLOSE_RATE_LIMITED,
    COMPUTED_KINDS,
    PROTOCOL,
    ClientOp,
    Heartbeat,
    Hello,
    Pong,
    Subscribed,
    Unsubscribed,
    encode,
    parse_topic,
    windows_of,
)
from stream.readmodel import CoreReader, QueryError

log = logging.getLogger("cxpulse.server.hub")
_ENC = msgspec.json.Encoder()
_ALERTS = frozenset({"alerts"})


class Hub:
    """Websocket fan-out over a ``CoreReader`` (and optionally an alert service)."""

    def __init__(self, cfg: ServerSettings, core: CoreReader, alerts: AlertsAdapter | None = None,
                 *, clock: Callable[[], float] = time.monotonic, wall: Clock = wall_ms) -> None:
        srv = cfg.server
        self.cfg = cfg
        self.core = core
        self.alerts = alerts
        self.geo = Geo.from_config(cfg)
        self.clock = clock
        self.wall = wall
        self._dirty = asyncio.Event()
        self.channels = Channels(srv.ws_max_updates_per_s, self._dirty.set)
        caps = Caps(srv.ws_max_connections, srv.ws_max_per_token, srv.ws_max_per_address)
        self.registry = Registry(self.channels, caps, srv.ws_queue_limit, lambda: TokenBucket(
            srv.ws_client_ops_per_s, srv.ws_client_ops_burst, self.clock()))
        self.voice = VoiceRing(wall=wall)
        self.comments = CommentRings(self.geo, self._comments_ready)  # loader: app, archive
        self.timers = Timers(srv.ws_heartbeat_s, srv.ws_refresh_s, srv.ws_stuck_timeout_s,
                             clock())
        self.computations = 0
        self.queries = 0
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def clients(self) -> set[Client]:
        return self.registry.clients

    @property
    def stats(self) -> dict[str, int]:
        """Counters: computed frames, metric queries, messages sent by gone clients,
        clients kicked as too slow, connections refused."""
        r = self.registry
        return {"computations": self.computations, "queries": self.queries,
                "frames": r.frames_gone, "kicked": r.kicked, "refused": r.refused}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.timers = Timers(self.cfg.server.ws_heartbeat_s, self.cfg.server.ws_refresh_s,
                             self.cfg.server.ws_stuck_timeout_s, self.clock())
        self._tasks = [asyncio.create_task(self._schedule(), name="hub-schedule"),
                       asyncio.create_task(self._pump_core(), name="hub-core-feed"),
                       asyncio.create_task(self._housekeeping(), name="hub-housekeeping")]
        if self.alerts is not None:
            self._tasks.append(asyncio.create_task(self._pump_alerts(), name="hub-alerts"))

    async def stop(self) -> None:
        """Stop the background tasks and ask every client to go away (code 1001)."""
        for client in self.registry:
            self.kick(client, CLOSE_GOING_AWAY, "server shutting down")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.comments.close()

    # -- clients ---------------------------------------------------------------------------

    def register(self, principal: Principal, sink: FrameSink | None = None,
                 address: str = "") -> Client | None:
        """A new client, greeted with ``hello``; None when a connection cap is reached
        (``registry.refusal`` says which). ``sink`` is the socket's direct frame path, when
        the server offers one; ``address`` the client's, for the per-address cap."""
        client = self.registry.add(principal, sink, address)
        if client is None:
            return None
        srv = self.cfg.server
        client.control(encode(Hello(
            server="cxpulse", protocol=PROTOCOL, client=client.id, role=principal.role,
            heartbeat_s=srv.ws_heartbeat_s, max_updates_per_s=srv.ws_max_updates_per_s)))
        client.flush()
        return client

    def unregister(self, client: Client) -> None:
        self.registry.remove(client)

    def kick(self, client: Client, code: int, reason: str) -> None:
        """Disconnect a client: it leaves every channel now; its handler closes the socket."""
        self.registry.kick(client, code, reason)

    async def drain(self, client: Client, send: Callable[[str], Awaitable[None]]) -> None:
        """The client's writer, for what ``Client.flush`` could not write at once: waits
        for a socket that is not taking more (that wait is what the watchdog times), then
        sends whatever the mailbox holds by then, controls first, latest state per topic.
        Without a frame sink every message goes through ``send`` (ASGI)."""
        box, sink = client.mailbox, client.sink
        while True:
            await client.wake.wait()
            client.wake.clear()
            if sink is not None:
                if sink.paused:
                    box.begin_send(self.clock())
                    await sink.writable()
                    box.end_send()
                data, n = box.take_wire()
                if n and sink.write(data):
                    client.sent += n
                continue
            for text in box.take():
                box.begin_send(self.clock())
                await send(text)
                box.end_send()
                client.sent += 1

    # -- operations ------------------------------------------------------------------------

    def handle(self, client: Client, text: str) -> None:
        """One message from a client: subscribe, unsubscribe or ping. Each costs one
        operation of the client's budget, and one more per further topic it names; a
        client out of budget is flooding and is closed (4029)."""
        if client.close_code is not None:  # kicked: its reader may still deliver a message
            return
        try:
            op = proto.decode_op(text)
        except proto.OpError as exc:
            if self._spend(client, 1):
                client.control(proto.error("bad_request", str(exc), field=exc.field))
                client.flush()
            return
        if not self._spend(client, max(1, len(op.topics))):
            return
        if op.op == "ping":
            client.control(encode(Pong(id=op.id, ts_ms=self.wall())))
        elif op.op == "subscribe":
            self._subscribe(client, op)
        else:
            for name in op.topics:
                self.channels.leave(client, name)
            client.control(encode(Unsubscribed(id=op.id, topics=op.topics)))
        client.flush()

    def _spend(self, client: Client, cost: int) -> bool:
        budget = client.budget
        if budget is None or budget.spend(cost, self.clock()):
            return True
        srv = self.cfg.server
        self.kick(client, CLOSE_RATE_LIMITED, f"too many messages: at most "
                  f"{srv.ws_client_ops_per_s:g} topic operations a second "
                  f"(bursts of {srv.ws_client_ops_burst})")
        return False

    def _subscribe(self, client: Client, op: ClientOp) -> None:
        """Each topic is refused with its own ``error`` or joined and sent its snapshot;
        then one ``subscribed`` lists the accepted topics."""
        accepted: list[str] = []
        for name in op.topics:
            refused = refusal(client, name, self.geo, self.core, self.alerts is not None,
                              comments_running=self.comments.enabled)
            if refused is not None:
                client.control(proto.error(refused.code, refused.message, op_id=op.id,
                                           topic=name))
                continue
            topic = parse_topic(name)
            channel = self.channels.join(client, topic, windows_of(op))
            accepted.append(topic.name)
            frame = self._snapshot(channel)
            if frame is not None:
                client.push(frame, "snapshot")
        client.control(encode(Subscribed(id=op.id, topics=accepted)))

    # -- publishing ------------------------------------------------------------------------

    def publish(self, topic: str, payload: Any) -> int:
        """Append one event to an event topic (``voice:{location}``) and push it to its
        subscribers within the rate limit. Call from the event loop's thread (see
        ``publish_threadsafe``). Returns the event's sequence number."""
        parsed = parse_topic(topic)
        if parsed.kind != "voice" or parsed.arg is None:
            raise ValueError(f"topic {topic!r} is computed by the hub; only voice:* is published")
        seq = self.voice.append(parsed.arg, payload)
        channel = self.channels.get(parsed.name)
        if channel is not None:
            self.channels.mark(channel)
        return seq

    def publish_comment(self, note: CommentNote) -> None:
        """A new comment (``server.commentfeed.CommentBridge``): into the lists of its
        location, region and network, whose ``comments:`` channels go out when due."""
        for scope in self.comments.add(note):
            self._comments_ready(scope)

    def _comments_ready(self, scope: str) -> None:
        channel = self.channels.get(f"comments:{scope}")
        if channel is not None:
            self.channels.mark(channel)

    def publish_threadsafe(self, loop: asyncio.AbstractEventLoop, topic: str, payload: Any) -> None:
        """``publish`` from another thread (a voice worker's)."""
        loop.call_soon_threadsafe(self.publish, topic, payload)

    def mark_scopes(self, scopes: set[str]) -> None:
        """The core changed these scopes: their computed channels go out when due."""
        self.channels.mark_scopes(scopes)

    # -- computing -------------------------------------------------------------------------

    def _compute(self, channel: Channel, reads: Reads) -> bytes:
        """The channel's payload as JSON."""
        topic = channel.topic
        arg = topic.arg or ""
        if topic.kind == "metrics":
            data: Any = metrics_data(reads, arg, channel.windows)
        elif topic.kind == "display":
            data = display_data(reads, self.cfg, arg)
        elif topic.kind == "incidents":
            data = incidents_data(self.core, arg)
        elif topic.kind == "voice":
            data = self.voice.data(arg)
        elif topic.kind == "comments":
            data = self.comments.data(arg)
        else:
            assert self.alerts is not None and channel.viewer is not None
            data = self.alerts.payload(channel.viewer, self.geo)
        return _ENC.encode(data)

    def _emit(self, channel: Channel, reads: Reads, now: float) -> TopicFrame | None:
        """A new frame of the channel (its next ``seq``), or None when it cannot be
        computed now; one failing topic never stops the others."""
        try:
            data = self._compute(channel, reads)
        except QueryError as exc:  # e.g. a remote roll-up still fetching: its scope follows
            log.debug("hub: %s not computed: %s", channel.key, exc)
            return None
        except Exception:  # one bad topic must not stop the others (logged)
            log.exception("hub: computing %s failed", channel.key)
            return None
        channel.seq += 1
        channel.frame = TopicFrame(channel.topic.name, channel.seq, self.wall(), data)
        channel.frame_at = now
        self.computations += 1
        return channel.frame

    def _snapshot(self, channel: Channel) -> TopicFrame | None:
        """The channel's current frame: reused when fresh, else computed now."""
        now = self.clock()
        if self.channels.fresh(channel, now):
            return channel.frame
        if channel.topic.kind == "alerts" and self.alerts is None:
            return None
        reads = Reads(self.core)
        frame = self._emit(channel, reads, now)
        self.queries += reads.queries
        return frame

    def deliver(self, now: float) -> Iterator[Channel]:
        """Emit every due channel to its subscribers, yielding after each one, so the
        caller can let the writers of one channel's clients run before the next channel
        is computed (a frame leaves soon after it is made)."""
        reads = Reads(self.core)
        try:
            for key in self.channels.due(now):
                channel = self.channels.get(key)
                if channel is None or not channel.subscribers:
                    continue
                frame = self._emit(channel, reads, now)
                if frame is None:
                    continue
                for client in channel.subscribers:
                    client.push(frame, "update")
                    client.flush()
                yield channel
        finally:
            self.queries += reads.queries

    def tick(self, now: float) -> int:
        """``deliver`` in one go; returns how many channels were sent."""
        return sum(1 for _ in self.deliver(now))

    def housekeep(self, now: float) -> None:
        """One watchdog step: kick stuck clients, send a heartbeat and mark the computed
        channels for refresh when those are due."""
        srv = self.cfg.server
        self.registry.kick_stuck(now, srv.ws_stuck_timeout_s)
        due = self.timers.due(now)
        if due.heartbeat:
            beat = encode(Heartbeat(ts_ms=self.wall()))
            for client in self.registry:
                client.control(beat)
                client.flush()
        if due.refresh:
            self.channels.mark_kinds(COMPUTED_KINDS)

    # -- background tasks ------------------------------------------------------------------

    async def _schedule(self) -> None:
        while True:
            now = self.clock()
            due_at = self.channels.next_due(now)
            if due_at is None or due_at > now:
                timeout = None if due_at is None else due_at - now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), timeout)
                self._dirty.clear()
                continue
            for _ in self.deliver(now):
                await asyncio.sleep(0)

    async def _pump_core(self) -> None:
        sub = self.core.changes.subscribe()
        try:
            async for scopes in sub:
                self.mark_scopes(scopes)
        finally:
            sub.close()

    async def _pump_alerts(self) -> None:
        assert self.alerts is not None
        async for _ in self.alerts.changes():
            self.channels.mark_kinds(_ALERTS)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.timers.step_s)
            self.housekeep(self.clock())

    def snapshot_stats(self) -> dict[str, int]:
        """Counters for /api/health and the benchmark."""
        clients = self.registry.clients
        replaced = sum(c.mailbox.replaced for c in clients)
        direct = sum(c.sink is not None for c in clients)
        stats = self.stats
        return {**stats, "frames": stats["frames"] + sum(c.sent for c in clients),
                "direct_clients": direct, "clients": len(clients),
                "channels": len(self.channels), "replaced_pending": replaced}
