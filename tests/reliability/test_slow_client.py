"""A websocket client that stops reading while a burst goes through NATS, the core and the
server (tests/server/test_ws.py covers the hub's isolation in detail; this is the whole
path under load).

Proven: the burst is applied at full pace and equals a from-scratch recomputation, the
stuck client is cut off with 4008 within the stuck timeout, the client that reads keeps
getting updates and its last ``metrics:network`` frame equals both the HTTP API and the
from-scratch numbers.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from pathlib import Path

import msgspec

from cxpulse.connections import connect_as
from stream.query import metrics
from tests.support.faults import assert_equals_scratch, publish_reliably, sim_items
from tests.support.network import config_text, serving


async def test_slow_client_during_burst(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text(ws_max_updates_per_s=10)) as live:
        blob = base64.b64encode(os.urandom(7_500)).decode()
        for i in range(50):  # large voice frames fill a stuck socket quickly
            live.hub.publish("voice:msk-a", {"utterance": -i, "pad": blob})
        topics = ["metrics:network", "voice:msk-a"]
        fast = await live.ws("admin", max_size=None)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        sock.connect(("127.0.0.1", live.port))
        slow = await live.ws("admin", max_queue=1, max_size=None, sock=sock)
        for c in (fast, slow):
            await c.send(op="subscribe", topics=topics, windows=["today"])
            await c.next(type="subscribed")

        updates = 0

        async def read_fast() -> None:
            nonlocal updates
            while True:
                await fast.next(type="update", timeout=30)
                updates += 1

        async def voice() -> None:
            for i in range(400):
                live.hub.publish("voice:msk-a", {"utterance": i, "pad": blob})
                await asyncio.sleep(0.02)

        reader = asyncio.create_task(read_fast())
        talker = asyncio.create_task(voice())
        items = sim_items(live.cfg, 20, seed=31)
        nc = await connect_as(live.cfg, live.running_core.url, "device", "burst", live.logins)
        t0 = time.monotonic()
        await publish_reliably(nc.jetstream(), items, chunk=500, pause_s=0.05)
        assert await live.running_core.wait_idle(20)
        burst_s = time.monotonic() - t0
        await nc.close()
        deadline = time.monotonic() + 10
        while live.hub.stats["kicked"] == 0:
            assert time.monotonic() < deadline, "the stuck client was never cut off"
            await asyncio.sleep(0.1)
        talker.cancel()
        await asyncio.sleep(0.5)  # the hub's last coalesced update after the burst
        reader.cancel()
        await asyncio.gather(reader, talker, return_exceptions=True)

        now_ms = int(time.time() * 1000)
        fresh = assert_equals_scratch(live.running_core, items, now_ms)
        assert burst_s < 15 and updates > 20 and len(live.hub.clients) == 1
        last = next(m for m in reversed(fast.seen)
                    if m.get("topic") == "metrics:network" and m["type"] in ("update", "snapshot"))
        want = msgspec.to_builtins(metrics(fresh, "network", "today", now_ms))
        async with live.http("admin") as http:
            api = (await http.get("/api/metrics/network", params={"window": "today"})).json()
        for key in ("responses", "visits", "nps", "csat"):
            assert last["data"]["windows"]["today"][key] == want[key] == api[key], key
        assert last["data"]["windows"]["today"]["flow"]["contacts"] == want["flow"]["contacts"]
