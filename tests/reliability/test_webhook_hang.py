"""A webhook receiver that accepts the connection and never answers, during a burst.

Proven: ingest is not held up (metrics equal a from-scratch recomputation as soon as the
burst is in), alerts still reach NATS and a healthy webhook, the hanging one times out
and retries without blocking anything, and once the receiver answers again the pending
notification is delivered. Stopping the alert service does not hang on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from nats.aio.msg import Msg

from alerting.service import AlertService
from stream.core import Core
from stream.nats_io import connect, ensure_streams
from stream.nats_server import EmbeddedNats
from tests.support.checks import present
from tests.support.faults import (
    assert_equals_scratch,
    config,
    publish_reliably,
    sim_items,
    wait_for,
)


def sink_stats(service: AlertService, sink: str) -> dict[str, Any]:
    """A sink's counters as the service's status (``/api/health``) shows them."""
    sinks = service.status()["sinks"]
    assert isinstance(sinks, dict)
    stats: dict[str, Any] = sinks[sink]
    return stats


class Receiver:
    """A tiny HTTP/1.1 server: hangs while ``hang`` is set, else answers 200 and keeps bodies."""

    def __init__(self) -> None:
        self.hang = False
        self.bodies: list[bytes] = []
        self.hung = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                if self.hang:
                    self.hung += 1
                    await asyncio.sleep(3600)  # until the client gives up and disconnects
                self.bodies.append(body)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


RULES = """
[alerts]
group_wait_s = 0
group_interval_s = 0
eval_interval_s = 0.2
min_eval_gap_s = 0
[[alerts.rules]]
id = "flow-surge"
metric = "flow.contacts"
op = ">"
threshold = 50
scope = "each_location"
"""


def webhook(id_: str, url: str) -> str:
    return (f'[[alerts.webhooks]]\nid = "{id_}"\nurl = "{url}"\ntimeout_s = 0.5\n'
            f"retries = 20\nbackoff_s = 0.2\nbackoff_max_s = 0.5\n")


async def test_hanging_webhook_holds_up_nothing(nats_server: EmbeddedNats) -> None:
    hanging, healthy = Receiver(), Receiver()
    hanging.hang = True
    extra = RULES + webhook("hangs", await hanging.start()) + webhook("ok", await healthy.start())
    _, cfg = config(extra)
    items = sim_items(cfg, 30, seed=21)
    nc = await connect(cfg.nats, nats_server.url, "burst")
    alerts_seen: list[str] = []

    async def on_alert(msg: Msg) -> None:
        alerts_seen.append(msg.subject)

    await nc.subscribe("cx.alert.>", cb=on_alert)
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    core = Core(cfg, nats_server.url)
    await core.start()
    service = AlertService(cfg, present(core.nc), core)
    await service.start()
    try:
        t0 = time.monotonic()
        await publish_reliably(js, items, chunk=500)
        assert await core.wait_idle(10)
        ingest_s = time.monotonic() - t0
        now_ms = int(time.time() * 1000)
        assert_equals_scratch(core, items, now_ms)

        async def delivered_elsewhere() -> bool:
            return bool(alerts_seen) and bool(healthy.bodies) and hanging.hung >= 2

        await wait_for(delivered_elsewhere, 20)
        hangs = sink_stats(service, "webhook:hangs")
        assert hangs["delivered"] == 0
        assert hangs["retries"] >= 1
        assert "Timeout" in hangs["last_error"]
        assert ingest_s < 10

        hanging.hang = False  # the receiver comes back: the retry gets through

        async def recovered() -> bool:  # received, and its answer counted by the sink
            return bool(hanging.bodies) and sink_stats(service, "webhook:hangs")["delivered"] >= 1

        await wait_for(recovered, 20)
        assert b"flow-surge" in hanging.bodies[0]
    finally:
        t_stop = time.monotonic()
        await service.stop()
        assert time.monotonic() - t_stop < 5
        await core.stop(snapshot_state=False)
        await nc.close()
        await hanging.stop()
        await healthy.stop()
