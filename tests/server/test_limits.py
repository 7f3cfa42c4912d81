"""Issue 14 #7 and #9 (server): bodies are refused before they are read, dead letters fit
NATS, websocket connections are capped per token and per address, a flooding client is
closed with its own code, the voice bridge passes only contract voice events, and the open
health check tells strangers nothing but the status."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path

import msgspec
import pytest
import websockets
from litestar import Litestar
from litestar.routes import HTTPRoute

from stream.nats_io import stream_names
from stream.nats_server import EmbeddedNats
from stream.push import CLOSE_RATE_LIMITED, CLOSE_TOO_MANY
from tests.server.test_alerts import ALERTS
from tests.support.network import NAMED_TOKENS, config_text, now_ms, serving, token
from tests.support.stack import Stack, close_frame, running

BIG = b'{"pad": "' + b"x" * 2_000_000 + b'"}'


def post_paths(app: Litestar) -> list[str]:
    """Every POST path of the app, path parameters filled in."""
    out = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and "POST" in route.methods:
            out.append(re.sub(r"\{[^}]+\}", "msk-a", route.path))
    return sorted(out)


async def test_every_post_route_refuses_a_2_mb_body_with_413(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text() + ALERTS, alerts=True) as live:
        paths = post_paths(live.app)
        assert "/api/feedback" in paths and "/q/msk-a" in paths and len(paths) >= 3
        async with live.http("admin") as h:
            got = {p: (await h.post(p, content=BIG, headers={
                "content-type": "application/json"})).status_code for p in paths}
            health = (await h.get("/api/health")).json()
    assert got == dict.fromkeys(paths, 413)
    assert health["status"] == "ok"


def _raw_post(port: int, path: str, length: int) -> bytes:
    """Send only the headers of a POST announcing ``length`` bytes; what comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Authorization: Bearer {token('admin')}\r\n"
                   f"Content-Length: {length}\r\n\r\n").encode())
        return s.recv(4096)


async def test_413_comes_before_the_body_is_sent(live: Stack) -> None:
    t0 = time.monotonic()
    reply = await asyncio.to_thread(_raw_post, live.port, "/api/feedback", 2_000_000)
    assert reply.startswith(b"HTTP/1.1 413") and time.monotonic() - t0 < 3


async def test_dead_letters_are_truncated_to_fit_nats(tmp_path: Path) -> None:
    nats = EmbeddedNats(tmp_path / "nats", max_payload=32 * 1024).start()
    try:
        async with running(config_text(), tmp_path, nats_url=nats.url, server=True,
                           tokens=NAMED_TOKENS) as live:
            body = b'{"id": "x", "location": "msk-a", "junk": "' + b"y" * 60_000 + b'"'
            async with live.http("admin") as h:
                r = await h.post("/api/feedback", content=body,
                                 headers={"content-type": "application/json"})
            assert r.status_code == 422
            js = live.js
            msg = await js.get_last_msg(stream_names("cx")["dlq"], "cx.dlq.api")
            assert msg.data is not None and msg.headers is not None
            assert len(msg.data) < 32 * 1024 and body.startswith(msg.data)
            assert msg.headers["Cx-Truncated-From"] == str(len(body))
    finally:
        nats.stop()


async def test_websocket_connections_are_capped_per_token_and_per_address(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text(ws_max_per_token=2, ws_max_per_address=3)) as live:
        await live.ws("admin")
        await live.ws("admin")
        third = await live.ws("admin", hello=False)
        with pytest.raises(websockets.ConnectionClosed) as by_token:
            await asyncio.wait_for(third.conn.recv(), 5)
        await live.ws("sup_msk")
        fourth = await live.ws("sup_ekb", hello=False)
        with pytest.raises(websockets.ConnectionClosed) as by_address:
            await asyncio.wait_for(fourth.conn.recv(), 5)
    assert close_frame(by_token.value).code == CLOSE_TOO_MANY
    assert "per token" in close_frame(by_token.value).reason
    assert close_frame(by_address.value).code == CLOSE_TOO_MANY
    assert "per address" in close_frame(by_address.value).reason


async def test_a_subscribe_flood_is_closed_with_a_rate_limit_code(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text(ws_client_ops_per_s=5, ws_client_ops_burst=10)
                       ) as live:
        ws = await live.ws("admin")
        calm = await live.ws("admin")
        with pytest.raises(websockets.ConnectionClosed) as info:
            for i in range(200):
                await ws.send(op="subscribe" if i % 2 == 0 else "unsubscribe",
                              topics=["metrics:msk-a"])
            while True:
                await asyncio.wait_for(ws.conn.recv(), 5)
        await calm.send(op="ping", id="still-here")
        assert (await calm.next(type="pong"))["id"] == "still-here"
    assert close_frame(info.value).code == CLOSE_RATE_LIMITED == 4029
    assert "too many" in close_frame(info.value).reason


async def test_the_voice_bridge_passes_contract_voice_events_only(live: Stack) -> None:
    ws = await live.ws("sup_msk")
    await ws.send(op="subscribe", topics=["voice:msk-a"])
    await ws.next(type="snapshot", topic="voice:msk-a")
    good = {"id": "u1", "ts": now_ms(), "location": "msk-a", "mic": "desk-2",
            "start": now_ms() - 2000, "end": now_ms() - 500,
            "emotion": {"arousal": 0.8, "anger": 0.7}, "loudness_db": -12.0,
            "keywords": [{"category": "escalation", "word": "жалоба", "t": now_ms() - 900}]}
    bad = [{"html": "<img src=x onerror=alert(1)>"},  # any object used to pass through
           {**good, "id": "u2", "location": "msk-b"},  # another location's subject
           {**good, "id": "u3", "mic": "desk-9"},
           {**good, "id": "u4", "emotion": {"arousal": 7, "anger": 0.1}}]
    voice = await live.nats("voice")  # as the voice worker publishes
    for event in bad:
        await voice.publish("cx.voice.msk-a.desk-2", json.dumps(event).encode())
    await voice.publish("cx.voice.msk-a.desk-2", msgspec.json.encode({**good, "extra": "<b>x</b>"}))
    update = await ws.next(type="update", topic="voice:msk-a")
    (event,) = [e["event"] for e in update["data"]["events"]]
    assert event["id"] == "u1" and event["mic"] == "desk-2" and "extra" not in event


async def test_health_without_an_admin_token_shows_only_the_status(live: Stack) -> None:
    async with live.http() as anyone, live.http("sup_msk") as sup, live.http("admin") as admin:
        bare = (await anyone.get("/api/health")).json()
        supervisor = (await sup.get("/api/health")).json()
        full = (await admin.get("/api/health")).json()
    assert bare == {"status": "ok"} and supervisor == {"status": "ok"}
    assert full["status"] == "ok" and full["nats"] == "connected" and "server" in full
