"""The websocket hub against the real core: snapshots, updates, coalescing, slow clients,
the connection cap, heartbeats, the voice hook and reconnecting after a server restart."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

from tests.support.network import button, config_text, serving
from tests.support.stack import Stack, close_frame


@pytest.fixture(params=[True, False], ids=["direct-frames", "asgi-send"])
async def live_paths(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The live server with frames written straight to the socket (the default) or through
    ASGI sends (another ASGI server)."""
    async with serving(tmp_path, config_text(), direct_frames=request.param) as server:
        yield server


async def test_snapshot_then_update(live_paths: Stack) -> None:
    live = live_paths
    await live.publish(button("msk-a", 3), button("msk-a", 1))
    ws = await live.ws("admin")
    await ws.send(op="subscribe", topics=["display:msk-a", "metrics:msk-a"], id="s1")
    assert (await ws.next(type="subscribed"))["id"] == "s1"
    snap = await ws.next(type="snapshot", topic="display:msk-a")
    metrics = await ws.next(type="snapshot", topic="metrics:msk-a")
    assert snap["data"]["ratings"] == 2 and snap["data"]["shares"] == [0.5, 0, 0.5]
    assert set(metrics["data"]["windows"]) == {"1h", "today", "7d", "30d"}
    assert metrics["data"]["windows"]["today"]["buttons"]["presses"] == 2
    await live.publish(button("msk-a", 3))
    update = await ws.next(type="update", topic="display:msk-a")
    assert update["seq"] > snap["seq"] and update["data"]["ratings"] == 3
    m2 = await ws.next(type="update", topic="metrics:msk-a")
    assert m2["data"]["windows"]["1h"]["buttons"]["presses"] == 3
    stats = live.hub.snapshot_stats()
    assert stats["direct_clients"] == int(live.direct_frames)
    assert stats["frames"] >= 6  # hello, subscribed, 2 snapshots, 2 updates


async def test_windows_option_and_unsubscribe(live: Stack) -> None:
    ws = await live.ws("sup_msk")
    await ws.send(op="subscribe", topics=["metrics:msk"], windows=["today"])
    snap = await ws.next(type="snapshot", topic="metrics:msk")
    assert list(snap["data"]["windows"]) == ["today"]
    await ws.send(op="unsubscribe", topics=["metrics:msk"], id=2)
    await ws.next(type="unsubscribed", id=2)
    await live.publish(button("msk-b", 2))
    await ws.send(op="ping", id=3)
    await ws.next(type="pong", id=3)
    await asyncio.sleep(0.3)
    await ws.send(op="ping", id=4)
    await ws.next(type="pong", id=4)
    assert not [m for m in ws.seen if m["type"] == "update"]
    assert len(live.hub.channels) == 0


async def test_bad_messages_get_errors_naming_the_field(live: Stack) -> None:
    ws = await live.ws("admin")
    await ws.conn.send("{nope")
    assert (await ws.next(type="error"))["code"] == "bad_request"
    await ws.send(op="subscribe", topics=["metrics:msk"], windows=["2h"])
    assert (await ws.next(type="error"))["field"] == "windows"
    await ws.send(op="subscribe", topics=["display:msk", "metrics:nowhere"])
    codes = [(await ws.next(type="error"))["code"] for _ in range(2)]
    assert codes == ["bad_topic", "not_found"]


async def test_heartbeats(live: Stack) -> None:
    ws = await live.ws("display_a")
    beats = [await ws.next(type="heartbeat", timeout=3) for _ in range(2)]
    assert beats[1]["ts_ms"] > beats[0]["ts_ms"]


async def test_updates_are_coalesced_and_computed_once_per_tick(live: Stack) -> None:
    clients = [await live.ws("admin") for _ in range(20)]
    for c in clients:
        await c.send(op="subscribe", topics=["display:msk-a"])
        await c.next(type="snapshot", topic="display:msk-a")
    before = live.hub.stats["computations"]
    started = time.monotonic()
    for burst in range(10):  # 200 events over ~1 s
        for i in range(20):
            rejection = await live.publish_input(
                "feedback", "msk-a", json.dumps(button("msk-a", 1 + (burst + i) % 3)).encode())
            assert rejection is None
        await asyncio.sleep(0.1)
    assert await live.running_core.wait_idle(10)
    elapsed = time.monotonic() - started
    for c in clients:  # every client ends on the final state
        while True:
            msg = await c.next(type="update", topic="display:msk-a")
            if msg["data"]["ratings"] == 200:
                break
    updates = [sum(1 for m in c.seen if m["type"] == "update") for c in clients]
    limit = live.cfg.server.ws_max_updates_per_s * (time.monotonic() - started) + 2
    assert max(updates) <= limit, (updates, elapsed)
    assert min(updates) >= 3  # but they did get intermediate states
    computed = live.hub.stats["computations"] - before
    assert computed <= max(updates) + 1  # one computation per tick, not one per client


async def test_slow_client_is_isolated_then_disconnected(live_paths: Stack) -> None:
    """A client that stops reading: others keep their rate; it is cut off with 4008."""
    live = live_paths
    hub = live.hub
    blob = base64.b64encode(os.urandom(7_500)).decode()
    for i in range(50):  # fill the topic's ring: every frame is then ~500 KB
        hub.publish("voice:msk-a", {"utterance": -i, "pad": blob})
    fast = await live.ws("admin", max_size=None)
    sock = socket.socket()  # a small receive buffer, as on a phone on a bad network
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.connect(("127.0.0.1", live.port))
    slow = await live.ws("admin", max_queue=1, max_size=None, sock=sock)  # stops reading
    for c in (fast, slow):
        await c.send(op="subscribe", topics=["voice:msk-a"])
        await c.next(type="snapshot", topic="voice:msk-a")
    received: list[float] = []
    give_up = time.monotonic() + 20.0
    while hub.stats["kicked"] == 0 and time.monotonic() < give_up:
        seq = hub.publish("voice:msk-a", {"utterance": len(received), "pad": blob})
        msg = await fast.next(type="update", topic="voice:msk-a", timeout=1.0)
        received.append(time.monotonic())
        assert msg["data"]["last_seq"] >= seq - 1  # never behind
    assert hub.stats["kicked"] == 1 and len(hub.clients) == 1
    gaps = [b - a for a, b in itertools.pairwise(received)]
    assert len(received) > 20 and max(gaps) < 1.0  # never held up for the 2 s stuck timeout
    with pytest.raises(websockets.ConnectionClosed) as info:  # now drain the slow one
        while True:
            await asyncio.wait_for(slow.conn.recv(), 10)
    assert info.value.rcvd is not None and close_frame(info.value).code == 4008
    assert "too slow" in close_frame(info.value).reason


async def test_connection_cap(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text(ws_max_connections=2)) as live:
        await live.ws("admin")
        await live.ws("sup_msk")
        third = await live.ws("admin", hello=False)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(third.conn.recv(), 5)
        assert close_frame(info.value).code == 1013 and live.hub.stats["refused"] == 1


async def test_voice_hook_keeps_recent_utterances(live: Stack) -> None:
    hub = live.hub
    for i in range(3):
        hub.publish("voice:msk-b", {"start": i, "end": i + 1, "keywords": []})
    ws = await live.ws("sup_msk")
    await ws.send(op="subscribe", topics=["voice:msk-b"])
    snap = await ws.next(type="snapshot", topic="voice:msk-b")
    assert [e["event"]["start"] for e in snap["data"]["events"]] == [0, 1, 2]
    seq = hub.publish("voice:msk-b", {"start": 9, "end": 10, "emotion": {"anger": 0.9}})
    update = await ws.next(type="update", topic="voice:msk-b")
    assert update["data"]["last_seq"] == seq and update["data"]["events"][-1]["event"]["start"] == 9
    with pytest.raises(ValueError):
        hub.publish("metrics:msk", {})


async def test_voice_utterances_on_nats_reach_the_topic(live: Stack) -> None:
    ws = await live.ws("sup_msk")
    await ws.send(op="subscribe", topics=["voice:msk-a"])
    await ws.next(type="snapshot", topic="voice:msk-a")
    now = int(time.time() * 1000)
    utterance = {"id": "u-1", "ts": now, "location": "msk-a", "mic": "desk-2",
                 "start": now - 2500, "end": now - 1000,
                 "emotion": {"arousal": 0.8, "anger": 0.7}, "loudness_db": -12.0,
                 "keywords": [{"category": "escalation", "word": "жалоба", "t": now - 1400}]}
    voice = await live.nats("voice")  # as the voice worker publishes
    await voice.publish("cx.voice.msk-a.desk-2", json.dumps(utterance).encode())
    await voice.publish("cx.voice.msk-a.desk-2", b"not json")  # ignored
    update = await ws.next(type="update", topic="voice:msk-a")
    (event,) = [e["event"] for e in update["data"]["events"]]
    assert {k: event[k] for k in utterance} == utterance


async def test_reconnect_after_server_restart(live: Stack) -> None:
    ws = await live.ws("display_a")
    await ws.send(op="subscribe", topics=["display:msk-a"])
    assert (await ws.next(type="snapshot"))["data"]["ratings"] == 0
    await live.stop_server()
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(ws.conn.recv(), 5)
    assert close_frame(info.value).code in (1001, 1012)  # going away / service restart
    await live.publish(button("msk-a", 3))  # while the server is down
    await live.start_server()  # a fresh app on the same port
    again = await live.ws("display_a")
    await again.send(op="subscribe", topics=["display:msk-a"])
    snap = await again.next(type="snapshot", topic="display:msk-a")
    assert snap["data"]["ratings"] == 1
    await live.publish(button("msk-a", 1))
    assert (await again.next(type="update"))["data"]["ratings"] == 2
