"""The websocket hub: one shared computation per topic per tick, fanned out to mailboxes.

Order of work: the core's change feed (and the alert service, and ``publish`` for voice)
*marks* channels dirty -> the scheduler asks the ``RateGate`` which are due -> each due
channel is computed once (``payloads``), encoded once (down to the websocket frame bytes),
and offered to every subscriber's ``Mailbox`` -> each mailbox is flushed to its socket in
one write when the socket takes more, else drained by the client's writer task. Fan-out
never awaits a socket, so a slow client only ever delays itself; the watchdog disconnects
one whose send has been stuck for ``[server] ws_stuck_timeout_s``.

A *channel* is a topic plus its variant: the requested windows for ``metrics:``, the
caller's visibility for ``alerts``. Clients of the same channel share every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

import msgspec

from server import protocol as proto
from server.alerts import AlertsAdapter
from server.config import ServerSettings
from server.fanout import FrameKind, Mailbox, RateGate, TopicFrame
from server.hubclient import Channel, Client
from server.payloads import Reads, display_data, incidents_data, metrics_data
from server.wire import FrameSink
from stream.access import Geo, Principal, decide
from stream.readmodel import CoreReader, QueryError

log = logging.getLogger("cxpulse.server.hub")
VOICE_KEEP = 50  # utterances kept per voice topic (the snapshot a new subscriber gets)
_ENC = msgspec.json.Encoder()
_ACTION = {"metrics": "metrics", "display": "display", "incidents": "incidents",
           "voice": "voice", "alerts": "alerts"}


class VoiceData(msgspec.Struct, frozen=True):
    """Payload of ``voice:{location}``: the latest utterances, oldest first, each with the
    hub's sequence number so a client can tell which it has already shown."""

    location: str
    last_seq: int
    events: list[dict[str, Any]]


class Hub:
    """Websocket fan-out over a ``CoreReader`` (and optionally an alert service)."""

    def __init__(self, cfg: ServerSettings, core: CoreReader, alerts: AlertsAdapter | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.core = core
        self.alerts = alerts
        self.geo = Geo.from_config(cfg)
        self.clock = clock
        self.gate = RateGate(cfg.server.ws_max_updates_per_s)
        self.clients: set[Client] = set()
        self.channels: dict[str, Channel] = {}
        self._by_scope: dict[str, set[Channel]] = {}
        self._voice: dict[str, deque[dict[str, Any]]] = {}
        self._voice_seq = count(1)
        self._ids = count(1)
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = {"computations": 0, "queries": 0, "frames": 0, "kicked": 0, "refused": 0}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._schedule(), name="hub-schedule"),
                       asyncio.create_task(self._pump_core(), name="hub-core-feed"),
                       asyncio.create_task(self._housekeeping(), name="hub-housekeeping")]
        if self.alerts is not None:
            self._tasks.append(asyncio.create_task(self._pump_alerts(), name="hub-alerts"))

    async def stop(self) -> None:
        """Stop the background tasks and ask every client to go away (code 1001)."""
        for client in list(self.clients):
            self.kick(client, proto.CLOSE_GOING_AWAY, "server shutting down")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # -- clients ---------------------------------------------------------------------------

    def register(self, principal: Principal, sink: FrameSink | None = None) -> Client | None:
        """A new client, or None when ``[server] ws_max_connections`` are connected.
        ``sink`` is the socket's direct frame path, when the server offers one."""
        if len(self.clients) >= self.cfg.server.ws_max_connections:
            self.stats["refused"] += 1
            return None
        client = Client(next(self._ids), principal, Mailbox(self.cfg.server.ws_queue_limit),
                        sink)
        self.clients.add(client)
        client.control(proto.control(
            "hello", server="cxpulse", protocol=1, client=client.id,
            role=principal.role, heartbeat_s=self.cfg.server.ws_heartbeat_s,
            max_updates_per_s=self.cfg.server.ws_max_updates_per_s))
        client.flush()
        return client

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)
        self.stats["frames"] += client.sent  # a gone client's count stays in the total
        client.sent = 0
        for name in list(client.channels):
            self._leave(client, name)

    def kick(self, client: Client, code: int, reason: str) -> None:
        """Disconnect a client: it leaves every channel now; its handler closes the socket."""
        if client.close_code is None:
            client.close_code, client.close_reason = code, reason
            if code == proto.CLOSE_TOO_SLOW:
                self.stats["kicked"] += 1
                log.warning("ws client %d (%s) disconnected: %s", client.id,
                            client.principal.name, reason)
        self.unregister(client)
        client.kicked.set()

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
        """One message from a client: subscribe, unsubscribe or ping."""
        try:
            op = proto.decode_op(text)
        except proto.OpError as exc:
            client.control(proto.error("bad_request", str(exc), field=exc.field))
            client.flush()
            return
        if op.op == "ping":
            client.control(proto.control("pong", id=op.id, ts_ms=int(time.time() * 1000)))
        elif op.op == "subscribe":
            self._subscribe(client, op)
        else:
            for name in op.topics:
                self._leave(client, name)
            client.control(proto.control("unsubscribed", id=op.id, topics=op.topics))
        client.flush()

    def _subscribe(self, client: Client, op: proto.ClientOp) -> None:
        accepted: list[str] = []
        for name in op.topics:
            problem = self._check(client, name)
            if problem is not None:
                code, message = problem
                client.control(proto.error(code, message, op_id=op.id, topic=name))
                continue
            topic = proto.parse_topic(name)
            channel = self._channel(topic, proto.windows_of(op), client.principal)
            if client.channels.get(topic.name) is not channel:
                self._leave(client, topic.name)
                client.channels[topic.name] = channel
                channel.subscribers.add(client)
            accepted.append(topic.name)
            frame = self._snapshot(channel)
            if frame is not None:
                client.push(frame, "snapshot")
        client.control(proto.control("subscribed", id=op.id, topics=accepted))

    def _check(self, client: Client, name: str) -> tuple[str, str] | None:
        """Why ``client`` may not subscribe to topic ``name`` (code, message), or None."""
        try:
            topic = proto.parse_topic(name)
        except proto.TopicError as exc:
            return "bad_topic", str(exc)
        scope = topic.arg
        if topic.kind in proto.LOCATION_KINDS and self.geo.kind(scope or "") != "location":
            return "bad_topic", f"topic `{topic.kind}:` takes a location id, not {scope!r}"
        decision = decide(client.principal, _ACTION[topic.kind], scope, self.geo)  # type: ignore[arg-type]
        if not decision.allowed:
            return ("unauthorized" if decision.status == 401 else "forbidden"), decision.reason
        if topic.kind == "alerts" and self.alerts is None:
            return "not_found", "alerting is not running on this server"
        if topic.kind in ("metrics", "display", "incidents") and not self.core.known_scope(scope or ""):
            return "not_found", f"unknown scope {scope!r}"
        if topic.name not in client.channels and len(client.channels) >= client.mailbox.limit:
            return "too_many_topics", f"at most {client.mailbox.limit} topics per connection"
        return None

    def _channel(self, topic: proto.Topic, windows: tuple[str, ...], p: Principal) -> Channel:
        if topic.kind == "metrics":
            key, viewer = f"{topic.name}|{','.join(windows)}", None
        elif topic.kind == "alerts":
            vis = "*" if p.role == "admin" else ",".join(sorted(p.regions) + ["/"] + sorted(p.locations))
            key, viewer = f"alerts|{vis}", p
        else:
            key, viewer = topic.name, None
        channel = self.channels.get(key)
        if channel is None:
            channel = Channel(key, topic, windows, viewer)
            self.channels[key] = channel
            if topic.arg is not None:
                self._by_scope.setdefault(topic.arg, set()).add(channel)
        return channel

    def _leave(self, client: Client, name: str) -> None:
        channel = client.channels.pop(name, None)
        client.greeted.discard(name)
        client.mailbox.discard(name)
        if channel is None:
            return
        channel.subscribers.discard(client)
        if not channel.subscribers:
            self.channels.pop(channel.key, None)
            self.gate.forget(channel.key)
            if channel.topic.arg is not None:
                group = self._by_scope.get(channel.topic.arg)
                if group is not None:
                    group.discard(channel)
                    if not group:
                        del self._by_scope[channel.topic.arg]

    # -- publishing ------------------------------------------------------------------------

    def publish(self, topic: str, payload: Any) -> int:
        """Append one event to an event topic (``voice:{location}``) and push it to its
        subscribers within the rate limit. Call from the event loop's thread (see
        ``publish_threadsafe``). Returns the event's sequence number."""
        parsed = proto.parse_topic(topic)
        if parsed.kind != "voice" or parsed.arg is None:
            raise ValueError(f"topic {topic!r} is computed by the hub; only voice:* is published")
        seq = next(self._voice_seq)
        ring = self._voice.setdefault(parsed.arg, deque(maxlen=VOICE_KEEP))
        ring.append({"seq": seq, "ts_ms": int(time.time() * 1000), "event": payload})
        channel = self.channels.get(parsed.name)
        if channel is not None:
            self._mark(channel)
        return seq

    def publish_threadsafe(self, loop: asyncio.AbstractEventLoop, topic: str, payload: Any) -> None:
        """``publish`` from another thread (a voice worker's)."""
        loop.call_soon_threadsafe(self.publish, topic, payload)

    def _mark(self, channel: Channel) -> None:
        self.gate.mark(channel.key)
        self._dirty.set()

    def mark_scopes(self, scopes: set[str]) -> None:
        for scope in scopes:
            for channel in self._by_scope.get(scope, ()):
                if channel.topic.kind != "voice":
                    self._mark(channel)

    # -- computing -------------------------------------------------------------------------

    def _compute(self, channel: Channel, reads: Reads) -> bytes:
        topic = channel.topic
        arg = topic.arg or ""
        if topic.kind == "metrics":
            data: Any = metrics_data(reads, arg, channel.windows)
        elif topic.kind == "display":
            data = display_data(reads, self.cfg, arg)
        elif topic.kind == "incidents":
            data = incidents_data(self.core, arg)
        elif topic.kind == "voice":
            ring = self._voice.get(arg, ())
            data = VoiceData(arg, ring[-1]["seq"] if ring else 0, list(ring))
        else:
            assert self.alerts is not None and channel.viewer is not None
            data = self.alerts.payload(channel.viewer, self.geo)
        return _ENC.encode(data)

    def _emit(self, channel: Channel, reads: Reads, now: float) -> TopicFrame | None:
        try:
            data = self._compute(channel, reads)
        except QueryError as exc:  # e.g. a remote roll-up still fetching: its scope follows
            log.debug("hub: %s not computed: %s", channel.key, exc)
            return None
        except Exception:  # noqa: BLE001 - one bad topic must not stop the others
            log.exception("hub: computing %s failed", channel.key)
            return None
        channel.seq += 1
        channel.frame = TopicFrame(channel.topic.name, channel.seq, int(time.time() * 1000), data)
        channel.frame_at = now
        self.stats["computations"] += 1
        return channel.frame

    def _snapshot(self, channel: Channel) -> TopicFrame | None:
        """The channel's current frame: reused when fresh (clean, or younger than one
        interval), else computed now."""
        now = self.clock()
        frame = channel.frame
        if frame is not None and (not self.gate.is_dirty(channel.key)
                                  or now - channel.frame_at < self.gate.interval_s):
            return frame
        if channel.topic.kind == "alerts" and self.alerts is None:
            return None
        reads = Reads(self.core)
        frame = self._emit(channel, reads, now)
        self.stats["queries"] += reads.queries
        return frame

    async def _tick(self, now: float) -> None:
        """Emit every due channel; the writers of one channel's clients run before the next
        channel is computed, so a frame leaves soon after it is made."""
        reads = Reads(self.core)
        for key in self.gate.due(now):
            channel = self.channels.get(key)
            if channel is None or not channel.subscribers:
                continue
            frame = self._emit(channel, reads, now)
            if frame is not None:
                for client in channel.subscribers:
                    client.push(frame, "update")
                    client.flush()
                await asyncio.sleep(0)
        self.stats["queries"] += reads.queries

    async def _schedule(self) -> None:
        while True:
            now = self.clock()
            due_at = self.gate.next_due(now)
            if due_at is None or due_at > now:
                timeout = None if due_at is None else due_at - now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), timeout)
                self._dirty.clear()
                continue
            await self._tick(now)

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
            for channel in list(self.channels.values()):
                if channel.topic.kind == "alerts":
                    self._mark(channel)

    async def _housekeeping(self) -> None:
        """Watchdog for stuck clients, heartbeats, and periodic refresh of computed topics
        (sliding windows move and SLA deadlines pass without any new event)."""
        srv = self.cfg.server
        step = min(1.0, srv.ws_stuck_timeout_s / 4, srv.ws_heartbeat_s)
        last_beat = last_refresh = self.clock()
        while True:
            await asyncio.sleep(step)
            now = self.clock()
            for client in list(self.clients):
                if client.mailbox.stuck(now, srv.ws_stuck_timeout_s):
                    why = ("too many unsent replies" if client.mailbox.overflow else
                           f"no progress sending for {srv.ws_stuck_timeout_s:g} s")
                    self.kick(client, proto.CLOSE_TOO_SLOW, f"client too slow: {why}")
            if now - last_beat >= srv.ws_heartbeat_s:
                last_beat = now
                beat = proto.control("heartbeat", ts_ms=int(time.time() * 1000))
                for client in self.clients:
                    client.control(beat)
                    client.flush()
            if now - last_refresh >= srv.ws_refresh_s:
                last_refresh = now
                for channel in list(self.channels.values()):
                    if channel.topic.kind in ("metrics", "display", "incidents"):
                        self._mark(channel)

    def snapshot_stats(self) -> dict[str, int]:
        """Counters for /api/health and the benchmark."""
        replaced = sum(c.mailbox.replaced for c in self.clients)
        direct = sum(c.sink is not None for c in self.clients)
        return {**self.stats, "frames": self.stats["frames"] + sum(c.sent for c in self.clients),
                "direct_clients": direct, "clients": len(self.clients), "channels": len(self.channels),
                "replaced_pending": replaced}


__all__ = ["Channel", "Client", "FrameKind", "Hub", "VoiceData"]
