"""The core survives a nats-server restart and connects with credentials."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import msgspec
import nats.errors

from cxpulse.config import Config, load_config_text
from stream.config import NatsConfig
from stream.core import Core
from stream.nats_server import EmbeddedNats

CFG = load_config_text("[[locations]]\nid = 'a'\n")


def nps(i: int) -> bytes:
    return json.dumps({"id": f"e{i}", "ts": int(time.time() * 1000), "location": "a",
                       "type": "nps", "value": 9}).encode()


async def test_core_reconnects_after_nats_restart(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "js").start()
    core = Core(CFG, server.url)
    await core.start()
    try:
        for i in range(20):
            assert await core.publish_input("feedback", "a", nps(i)) is None
        assert await core.wait_idle()
        server.stop()
        server = EmbeddedNats(tmp_path / "js", port=server.port).start()  # same port, same data
        for i in range(20, 40):  # publishers retry until JetStream answers again
            deadline = time.monotonic() + 20
            while True:
                try:
                    assert await core.publish_input("feedback", "a", nps(i)) is None
                    break
                except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
        assert await core.wait_idle(15)
        assert core.metrics("a", "1h").responses == 40
        assert core.health()["status"] == "ok"
    finally:
        await core.stop()
        server.stop()


async def test_user_password_auth(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "js", extra_args=["--user", "cx", "--pass", "s3cret"]).start()
    cfg = msgspec.structs.replace(Config(), nats=NatsConfig(user="cx", password="s3cret"))
    core = Core(cfg, server.url)
    await core.start()
    try:
        assert await core.publish_input("feedback", "a", nps(1)) is None
        assert await core.wait_idle()
        assert core.metrics("a", "1h").responses == 1
    finally:
        await core.stop()
        server.stop()
