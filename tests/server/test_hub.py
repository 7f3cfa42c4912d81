"""The hub on its own: a fake core, a fake clock and in-memory clients, no network.

What is checked: a subscriber gets the topic's snapshot, then an update per change;
changes coalesce to at most ``ws_max_updates_per_s`` frames per topic and clients of one
channel share each computation; each refused topic gets its own error; a client that
stops reading never holds up the others and is disconnected (4008) by the watchdog;
heartbeats and refreshes follow the injected clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from cxpulse.config import Config, load_config_text
from server.hub import Hub
from server.hubclient import Client
from stream.access import Principal, TokenTable
from stream.push import (
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_SLOW,
    MetricsData,
    VoiceData,
    envelope,
    payload,
)
from stream.readmodel import ChangeFeed, FlowProfile, IncidentView, LocationView, Metrics
from tests.support.network import config_text, token

SCOPES = {"network", "msk", "ural", "msk-a", "msk-b", "ekb"}
T0_MS = 1_772_614_805_000
T = TypeVar("T")


class FakeCore:
    """A ``CoreReader`` for the hub: metrics whose ``responses`` the test sets per scope, no
    incidents, the configured scopes; reads the hub never makes fail the test."""

    def __init__(self) -> None:
        self.changes = ChangeFeed()
        self.responses: dict[str, int] = {}
        self.reads = 0

    def metrics(self, scope: str, window: str, *, staff: str | None = None,
                touchpoint: str | None = None) -> Metrics:
        self.reads += 1
        return Metrics(scope=scope, window=window, start_ms=0, end_ms=0,
                       responses=self.responses.get(scope, 0))

    def incidents(self, scope: str = "network", status: str | None = None,
                  breached: bool | None = None) -> list[IncidentView]:
        return []

    def known_scope(self, scope: str) -> bool:
        return scope in SCOPES

    def flow_profile(self, scope: str) -> FlowProfile:
        raise AssertionError("the hub reads no flow profile")

    def locations(self) -> list[LocationView]:
        return []

    def scopes_of(self, location: str) -> tuple[str, ...]:
        raise AssertionError("the hub reads no scopes of a location")

    def devices(self) -> dict[tuple[str, str], int]:
        return {}

    def health(self) -> dict[str, object]:
        return {}

    async def wait(self, call: Callable[[], T]) -> T:
        return call()


class FakeClock:
    """Monotonic seconds for the hub's pacing, and the matching wall time in epoch ms."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> int:
        return T0_MS + int(self.now * 1000)


class FakeSink:
    """A socket that takes frames until ``paused`` (its peer stopped reading)."""

    def __init__(self) -> None:
        self.paused = False
        self.written: list[bytes] = []
        self._writable = asyncio.Event()

    async def writable(self) -> None:
        await self._writable.wait()

    def write(self, frames: bytes) -> bool:
        self.written.append(frames)
        return True


def config(**server: Any) -> Config:
    return load_config_text(config_text(**server))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def hub(core: FakeCore, clock: FakeClock) -> Hub:
    return Hub(config(), core, clock=clock, wall=clock.wall)


def principal(hub: Hub, name: str) -> Principal:
    found = TokenTable(hub.cfg.auth.tokens).lookup(token(name))
    assert found is not None
    return found


def connect(hub: Hub, name: str = "admin", sink: Any = None) -> Client:
    client = hub.register(principal(hub, name), sink)
    assert client is not None
    assert [m.type for m in inbox(client)] == ["hello"]
    return client


def inbox(client: Client) -> list[Any]:
    """What the client has been sent since the last look, as the wall reads it: written to
    its socket (a client with a frame sink) or waiting in its mailbox."""
    if isinstance(client.sink, FakeSink):
        texts = [t for chunk in client.sink.written for t in unframe(chunk)]
        client.sink.written.clear()
    else:
        texts = client.mailbox.take()
    return [envelope(text) for text in texts]


def unframe(data: bytes) -> list[bytes]:
    """The payloads of a run of unmasked websocket frames (the server's)."""
    out, i = [], 0
    while i < len(data):
        n, i = data[i + 1] & 0x7F, i + 2
        if n >= 126:
            width = 2 if n == 126 else 8
            n, i = int.from_bytes(data[i:i + width], "big"), i + width
        out.append(data[i:i + n])
        i += n
    return out


def subscribe(hub: Hub, client: Client, *topics: str, **extra: Any) -> list[Any]:
    hub.handle(client, json.dumps({"op": "subscribe", "topics": list(topics), **extra}))
    return inbox(client)


def frames(messages: list[Any]) -> list[Any]:
    return [m for m in messages if m.type in ("snapshot", "update")]


def test_a_subscriber_gets_a_snapshot_then_an_update_per_change(hub: Hub, core: FakeCore,
                                                               clock: FakeClock) -> None:
    core.responses["msk-a"] = 3
    client = connect(hub)
    got = subscribe(hub, client, "metrics:msk-a", windows=["today"], id=7)
    assert [m.type for m in got] == ["subscribed", "snapshot"]  # controls go first
    snap = got[1]
    data = payload(snap.topic, snap.data)
    assert isinstance(data, MetricsData) and list(data.windows) == ["today"]
    assert data.windows["today"].responses == 3
    assert (snap.seq, snap.ts_ms) == (1, clock.wall())

    core.responses["msk-a"] = 4
    clock.now += 1.0
    hub.mark_scopes({"msk-a"})
    assert hub.tick(clock.now) == 1
    [update] = inbox(client)
    assert update.type == "update" and update.seq == 2 and update.ts_ms == clock.wall()
    assert payload(update.topic, update.data).windows["today"].responses == 4  # type: ignore[union-attr]

    hub.mark_scopes({"msk-b"})  # another scope: nothing for this client
    assert hub.tick(clock.now + 1) == 0 and inbox(client) == []


def test_changes_coalesce_at_the_rate_limit_and_one_computation_serves_all(
        hub: Hub, core: FakeCore, clock: FakeClock) -> None:
    interval_s = 1 / hub.cfg.server.ws_max_updates_per_s
    a, b = connect(hub), connect(hub, "sup_msk")
    subscribe(hub, a, "metrics:msk-a", windows=["today"])
    subscribe(hub, b, "metrics:msk-a", windows=["today"])  # same channel: frame reused
    assert hub.stats["computations"] == 1 and len(hub.channels) == 1

    hub.mark_scopes({"msk-a"})  # the first change after a quiet spell goes out at once
    assert hub.tick(clock.now) == 1
    for n in range(1, 6):  # a burst inside one interval
        core.responses["msk-a"] = n
        hub.mark_scopes({"msk-a"})
        assert hub.tick(clock.now + n * interval_s / 10) == 0
    assert hub.channels.next_due(clock.now) == pytest.approx(clock.now + interval_s)
    assert hub.tick(clock.now + interval_s) == 1
    assert hub.stats["computations"] == 3  # snapshot, leading edge, one for the burst
    for client in (a, b):
        got = frames(inbox(client))
        assert [m.seq for m in got][-1] == 3
        assert payload(got[-1].topic, got[-1].data).windows["today"].responses == 5  # type: ignore[union-attr]


def test_the_channels_of_one_scope_are_computed_together(hub: Hub, core: FakeCore,
                                                        clock: FakeClock) -> None:
    """They share the tick's reads: a ``metrics:`` frame computed long after its location's
    ``display:`` frame would carry that older ``today`` read (stale by the whole tick)."""
    admin = connect(hub)
    subscribe(hub, admin, "display:msk-a", "display:msk-b", "metrics:msk-a", "metrics:msk-b")
    clock.now += 1.0
    hub.mark_scopes({"msk-a", "msk-b"})
    order = [channel.topic.name for channel in hub.deliver(clock.now)]
    assert order == ["display:msk-a", "metrics:msk-a", "display:msk-b", "metrics:msk-b"]


def test_each_refused_topic_gets_its_own_error(hub: Hub) -> None:
    sup = connect(hub, "sup_msk")
    got = subscribe(hub, sup, "metrics:msk-a", "metrics:network", "metrics:ekb", "display:msk",
                    "alerts", "news:x", "metrics:nowhere", id=1)
    errors = {m.topic: m.code for m in got if m.type == "error"}
    assert errors == {"metrics:network": "forbidden", "metrics:ekb": "forbidden",
                      "display:msk": "bad_topic", "alerts": "not_found", "news:x": "bad_topic",
                      "metrics:nowhere": "forbidden"}
    assert [m.topics for m in got if m.type == "subscribed"] == [["metrics:msk-a"]]
    assert [f.topic for f in frames(got)] == ["metrics:msk-a"]

    display = connect(hub, "display_a")
    got = subscribe(hub, display, "display:msk-a", "display:msk-b", "metrics:msk-a",
                    "voice:msk-a")
    assert {m.topic: m.code for m in got if m.type == "error"} == {
        "display:msk-b": "forbidden", "metrics:msk-a": "forbidden", "voice:msk-a": "forbidden"}
    assert [f.topic for f in frames(got)] == ["display:msk-a"]



def test_a_connection_follows_at_most_ws_queue_limit_topics(core: FakeCore,
                                                            clock: FakeClock) -> None:
    hub = Hub(config(ws_queue_limit=4), core, clock=clock, wall=clock.wall)
    admin = connect(hub)
    four = ["metrics:network", "metrics:msk", "metrics:ural", "metrics:msk-a"]
    assert [m.type for m in subscribe(hub, admin, *four)].count("error") == 0
    got = subscribe(hub, admin, "metrics:msk-b", "metrics:msk")  # msk: already followed
    assert [(m.topic, m.code) for m in got if m.type == "error"] == [
        ("metrics:msk-b", "too_many_topics")]
    assert [m.topics for m in got if m.type == "subscribed"] == [["metrics:msk"]]


def test_a_flooding_client_is_closed_and_then_ignored(core: FakeCore, clock: FakeClock) -> None:
    """Each message costs one operation, plus one per further topic; the budget refills
    at ``ws_client_ops_per_s``. A client out of budget is kicked (4029) and whatever its
    reader still delivers joins nothing."""
    hub = Hub(config(ws_client_ops_per_s=2, ws_client_ops_burst=6), core, clock=clock,
              wall=clock.wall)
    admin, calm = connect(hub), connect(hub)
    subscribe(hub, admin, "metrics:msk", "metrics:ural", "metrics:msk-a")  # 6 - 3 left
    hub.handle(admin, json.dumps({"op": "ping"}))  # 2 left
    clock.now += 1.0  # refilled: 4
    subscribe(hub, admin, "metrics:network")  # 3
    subscribe(hub, admin, "metrics:msk-b", "metrics:ekb")  # 1
    assert admin.close_code is None and len(hub.channels) == 6
    subscribe(hub, admin, "metrics:msk", "metrics:ural")  # costs 2 of 1: flooding
    assert admin.close_code == CLOSE_RATE_LIMITED and "too many" in admin.close_reason
    assert admin not in hub.clients and len(hub.channels) == 0
    clock.now += 60.0
    subscribe(hub, admin, "metrics:msk")  # its reader's last message: ignored
    assert len(hub.channels) == 0 and admin.close_code == CLOSE_RATE_LIMITED
    hub.handle(calm, json.dumps({"op": "ping", "id": 1}))  # others are untouched
    assert [m.type for m in inbox(calm)] == ["pong"]


def test_connections_are_capped_in_all_per_token_and_per_address(core: FakeCore,
                                                                 clock: FakeClock) -> None:
    hub = Hub(config(ws_max_connections=5, ws_max_per_token=2, ws_max_per_address=2), core,
              clock=clock, wall=clock.wall)
    admin, sup = principal(hub, "admin"), principal(hub, "sup_msk")
    first = hub.register(admin, None, "10.0.0.1")
    assert first is not None and hub.register(admin, None, "10.0.0.2") is not None
    assert hub.registry.refusal(admin, "10.0.0.3") == (
        "too many connections per token (at most 2)")
    assert hub.register(sup, None, "10.0.0.1") is not None
    assert hub.registry.refusal(sup, "10.0.0.1") == (
        "too many connections per address (at most 2)")
    hub.unregister(first)  # a slot of the token and of the address comes free
    assert hub.register(admin, None, "10.0.0.1") is not None
    assert hub.registry.refused == 2


async def test_a_client_that_stops_reading_holds_up_no_one_and_is_disconnected(
        hub: Hub, clock: FakeClock) -> None:
    fast_sink, slow_sink = FakeSink(), FakeSink()
    fast, slow = connect(hub, sink=fast_sink), connect(hub, sink=slow_sink)
    for client in (fast, slow):
        subscribe(hub, client, "voice:msk-a")
    slow_sink.paused = True  # its peer stopped reading: the writer waits for the socket
    writer = asyncio.create_task(hub.drain(slow, _never))
    try:
        stuck_s = hub.cfg.server.ws_stuck_timeout_s
        step_s = 1 / hub.cfg.server.ws_max_updates_per_s  # each publish due at once
        n = int(stuck_s / step_s * 0.75)
        for i in range(n):
            hub.publish("voice:msk-a", {"utterance": i})
            clock.now += step_s
            hub.tick(clock.now)
            await asyncio.sleep(0)
            hub.housekeep(clock.now)  # not stuck for ws_stuck_timeout_s yet
            assert slow.close_code is None
        assert len(frames(inbox(fast))) == n  # every frame written at once, never waiting
        assert slow.mailbox.replaced == n - 1  # an unsent state is replaced, never queued
        waiting = frames([envelope(text) for text in slow.mailbox.take()])
        assert [m.seq for m in waiting] == [n + 1]  # only the latest state waits
        clock.now += stuck_s / 2  # now stuck for longer than ws_stuck_timeout_s
        hub.housekeep(clock.now)
        assert slow.close_code == CLOSE_TOO_SLOW and slow.kicked.is_set()
        assert fast.close_code is None and hub.clients == {fast}
        assert hub.stats["kicked"] == 1
        hub.publish("voice:msk-a", {"utterance": "after"})
        hub.tick(clock.now + 1)
        [after] = frames(inbox(fast))  # (a heartbeat came too)
        assert payload(after.topic, after.data).events[-1].event == {"utterance": "after"}  # type: ignore[union-attr]
    finally:
        writer.cancel()


async def _never(text: str) -> None:
    raise AssertionError("a client with a frame sink is not sent through ASGI")


def test_voice_snapshot_heartbeat_and_refresh_follow_the_clock(hub: Hub, core: FakeCore,
                                                               clock: FakeClock) -> None:
    for i in range(60):
        hub.publish("voice:msk-a", {"utterance": i})
    client = connect(hub)
    got = frames(subscribe(hub, client, "voice:msk-a", "metrics:msk-a", windows=["1h"]))
    snap = next(m for m in got if m.topic == "voice:msk-a")
    voice = payload("voice:msk-a", snap.data)
    assert isinstance(voice, VoiceData) and len(voice.events) == 50 and voice.last_seq == 60
    assert voice.events[0].event == {"utterance": 10} and voice.events[-1].ts_ms == clock.wall()

    clock.now += hub.cfg.server.ws_heartbeat_s
    hub.housekeep(clock.now)
    [beat] = inbox(client)
    assert beat.type == "heartbeat" and beat.ts_ms == clock.wall()

    computed = hub.stats["computations"]
    clock.now += hub.cfg.server.ws_refresh_s
    hub.housekeep(clock.now)
    assert hub.tick(clock.now) == 1  # metrics refreshed; the voice topic only on publish
    assert hub.stats["computations"] == computed + 1
    assert [m.topic for m in frames(inbox(client))] == ["metrics:msk-a"]
