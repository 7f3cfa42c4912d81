"""A real nats-server, the real core and the real server on a free port, per test.

``live`` yields a ``Live`` with the base URL, the core, the app (and its hub), and helpers:
``http(token)``, ``ws(token)``, ``publish(...)`` (through the core, then ``wait_idle``),
and ``restart()`` (stop the HTTP server and start a fresh app on the same port).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import websockets

from cxpulse.config import Config, load_config_text
from server.app import create_app, serve
from stream.access import hash_token
from stream.core import Core
from stream.nats_server import EmbeddedNats, free_port

ROOT_ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
TOKENS = {
    "admin": ("t-admin", "admin", [], []),
    "sup_msk": ("t-sup-msk", "supervisor", [], ["msk"]),
    "sup_ekb": ("t-sup-ekb", "supervisor", ["ekb"], []),
    "display_a": ("t-display-a", "display", ["msk-a"], []),
}


def config_text(**server: Any) -> str:
    tokens = "\n".join(
        f'[[auth.tokens]]\nname = "{name}"\nsha256 = "{hash_token(tok)}"\nrole = "{role}"\n'
        f"locations = {json.dumps(locs)}\nregions = {json.dumps(regs)}\n"
        for name, (tok, role, locs, regs) in TOKENS.items())
    settings = {"ws_max_updates_per_s": 10, "ws_heartbeat_s": 0.5, "ws_stuck_timeout_s": 2.0,
                "ws_max_connections": 200, "survey_rate_per_min": 30, **server}
    srv = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    return f"""
[core]
snapshot_interval_s = 3600
language = "ru"
[server]
{srv}
[auth]
enabled = true
{tokens}
[[regions]]
id = "msk"
name = "Москва"
[[regions]]
id = "ural"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "msk-a"
name = "Москва, Тверская"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "msk-b"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "ekb"
name = "Екатеринбург"
region = "ural"
timezone = "Asia/Yekaterinburg"
language = "en"
[csi]
questions_per_survey = 2
[[csi.questions]]
id = "clean"
factor = "tangibles"
text_ru = "Насколько чисто и удобно в зале?"
text_en = "How clean and comfortable is the hall?"
[[csi.questions]]
id = "speed"
factor = "responsiveness"
text_ru = "Насколько быстро Вас обслужили?"
text_en = "How quickly were you served?"
[[csi.questions]]
id = "attention"
factor = "empathy"
text_ru = "Насколько внимательны были к Вам?"
text_en = "How attentive were we to you?"
"""


def token(name: str) -> str:
    return TOKENS[name][0]


def now_ms() -> int:
    return int(time.time() * 1000)


def button(location: str, value: int, scale: int = 3, **extra: Any) -> dict[str, Any]:
    return {"id": f"b-{uuid.uuid4().hex}", "ts": now_ms() - 1000, "location": location,
            "type": "button", "value": value, "scale": scale, **extra}


class WsClient:
    """A websocket client that keeps every message and waits for matching ones."""

    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []

    async def send(self, **op: Any) -> None:
        await self.conn.send(json.dumps(op))

    async def next(self, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next message whose fields equal ``match`` (others are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no message matching {match}")
            msg = json.loads(await asyncio.wait_for(self.conn.recv(), left))
            self.seen.append(msg)
            if all(msg.get(k) == v for k, v in match.items()):
                return msg

    async def close(self) -> None:
        await self.conn.close()


@dataclass
class Live:
    cfg: Config
    core: Core
    port: int
    app: Any = None
    task: asyncio.Task[None] | None = None
    alerts: Any = None
    clients: list[WsClient] = field(default_factory=list)
    direct_frames: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self) -> Any:
        return self.app.state.ctx.hub

    def http(self, who: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token(who)}"} if who else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10)

    async def ws(self, who: str | None = "admin", *, hello: bool = True, **kw: Any) -> WsClient:
        query = f"?token={token(who)}" if who else ""
        conn = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws{query}", **kw)
        client = WsClient(conn)
        self.clients.append(client)
        if hello:
            await client.next(type="hello")
        return client

    async def publish(self, *events: dict[str, Any], kind: str = "feedback") -> None:
        for ev in events:
            rejection = await self.core.publish_input(kind, ev["location"],
                                                      msgspec.json.encode(ev))
            assert rejection is None, rejection
        assert await self.core.wait_idle(10)

    async def start(self) -> None:
        self.app = create_app(self.cfg, self.core, self.alerts)
        started = asyncio.Event()
        self.task = asyncio.create_task(serve(self.app, "127.0.0.1", self.port, started=started,
                                               direct_frames=self.direct_frames))
        await asyncio.wait_for(started.wait(), 10)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def running(tmp_path: Any, text: str, *, with_alerts: bool = False,
                  direct_frames: bool = True) -> AsyncIterator[Live]:
    nats = EmbeddedNats(tmp_path / "nats").start()
    cfg = load_config_text(text.replace('[core]\n', f'[core]\ndata_dir = "{tmp_path}"\n', 1))
    core = Core(cfg, nats.url)
    await core.start()
    live = Live(cfg, core, free_port(), direct_frames=direct_frames)
    if with_alerts:
        from alerting.service import AlertService

        live.alerts = AlertService(cfg, core.nc, core)
        await live.alerts.start()
    try:
        await live.start()
        yield live
    finally:
        for client in live.clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 2)
        await live.stop()
        if live.alerts is not None:
            await live.alerts.stop()
        await core.stop(snapshot_state=False)
        nats.stop()


@pytest.fixture
async def live(tmp_path) -> AsyncIterator[Live]:
    async with running(tmp_path, config_text()) as server:
        yield server
