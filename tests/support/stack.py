"""The one running stack of the integration tests, all in the test's event loop.

``running(config, data_dir, ...)`` starts what a test asks for, in the order production
starts it, and stops it in reverse:

- a real nats-server: its own, secured like ``cxpulse run``'s (the generated users of
  ``cxpulse.connections.embedded_auth``; every part below connects as its own user), or
  ``nats_url`` of the ``nats_server`` fixture (open, no users);
- the core (``core=True``; off for tests of the voice workers alone);
- the alert service (``alerts=True``);
- the case service (``cases=True``: rules, links, escalation);
- ``prepare(stack)``, e.g. seeding events before anything serves them;
- the HTTP/websocket server (``server=True``) on ``[server] port``;
- the dashboards (``wall=True``) on ``[dashboards] port``, fed by that server;
- a voice worker and an ASR worker (``voice=VoiceWorkerOptions``, ``asr=``).

The ``Stack`` it yields has the helpers the tests share: ``http(who)`` and ``ws(who)``
(``who`` names a token of ``tokens``), ``publish`` (as the server publishes input),
``nats(role)`` (a connection as a NATS user: ``device``, ``voice``, ``admin``...), the
wall's page URL, and ``start_server`` / ``stop_server`` / ``restart`` for restart tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
import websockets
from nats.js import JetStreamContext
from websockets.frames import Close

from cxpulse.config import Config, load_config_text
from cxpulse.connections import ServerCore, connect_as, embedded_auth
from stream.core import Core
from stream.events import Rejection
from stream.nats_io import publish_input
from stream.nats_server import EmbeddedNats
from stream.natscreds import Login, login_for

Prepare = Callable[["Stack"], Awaitable[None]]


def close_frame(closed: websockets.ConnectionClosed) -> Close:
    """The close frame the server sent (fails the test if the connection dropped without)."""
    assert closed.rcvd is not None, f"closed without a close frame: {closed}"
    return closed.rcvd


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0,
                what: str = "condition", detail: Callable[[], object] | None = None) -> None:
    """Poll ``check`` every 0.1 s until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            extra = f"; last seen: {detail()}" if detail is not None else ""
            raise AssertionError(f"timed out waiting for {what}{extra}")
        await asyncio.sleep(0.1)


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
            msg: dict[str, Any] = json.loads(await asyncio.wait_for(self.conn.recv(), left))
            self.seen.append(msg)
            if all(msg.get(k) == v for k, v in match.items()):
                return msg

    async def close(self) -> None:
        await self.conn.close()


def with_data_dir(text: str, data_dir: Path) -> str:
    """``text`` with ``[core] data_dir`` set to ``data_dir`` unless it names one."""
    if "data_dir" in text:
        return text
    if "[core]\n" in text:
        return text.replace("[core]\n", f'[core]\ndata_dir = "{data_dir}"\n', 1)
    return f'[core]\ndata_dir = "{data_dir}"\n{text}'


@dataclass
class Stack:
    """What runs (``None`` for a part that was not asked for) and the shared helpers."""

    cfg: Config
    nats_url: str
    tokens: Mapping[str, str] = field(default_factory=dict)
    logins: dict[str, Login] = field(default_factory=dict)  # empty: an open server
    server_nats: Any = None  # embedded servers: ``EmbeddedNats`` (tests kill/restart it)
    core: Core | None = None
    alerts: Any = None  # alerting.service.AlertService
    cases: Any = None  # cases.service.CaseService
    voice: Any = None  # tests.support.voice.voice_stack's parts
    app: Any = None
    direct_frames: bool = True
    server_task: asyncio.Task[None] | None = None
    wall_task: asyncio.Task[None] | None = None
    clients: list[WsClient] = field(default_factory=list)
    connections: dict[str, Any] = field(default_factory=dict)

    # -- where things are ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.cfg.server.port

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def wall(self) -> str:
        return f"http://127.0.0.1:{self.cfg.dashboards.port}/wall"

    @property
    def hub(self) -> Any:
        return self.app.state.ctx.hub

    def page(self, scope: str, who: str | None = "supervisor", **params: str) -> str:
        """The wall of ``scope`` as token ``who`` opens it (no token for None)."""
        query = {"scope": scope, **({"token": self.tokens[who]} if who else {}), **params}
        return f"{self.wall}?{urlencode(query)}"

    # -- talking to the server -------------------------------------------------------------

    def http(self, who: str | None = None) -> httpx.AsyncClient:
        """An HTTP client of the server with token ``who`` (none for None)."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10, trust_env=False)

    async def ws(self, who: str | None = "admin", *, hello: bool = True, **kw: Any) -> WsClient:
        """A websocket client with ``?token=`` of ``who``, past its ``hello`` by default."""
        query = f"?token={self.tokens[who]}" if who else ""
        conn = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws{query}", **kw)
        client = WsClient(conn)
        self.clients.append(client)
        if hello:
            await client.next(type="hello")
        return client

    async def metrics(self, scope: str, window: str = "today", who: str = "admin") -> Any:
        """``GET /api/metrics/{scope}`` as JSON."""
        async with self.http(who) as client:
            r = await client.get(f"/api/metrics/{scope}", params={"window": window})
            r.raise_for_status()
            return r.json()

    # -- NATS as one of its users, feeding the core ------------------------------------------

    async def nats(self, role: str = "admin") -> Any:
        """A connection as NATS user ``role`` (kept open until the stack stops); on an open
        server (no users) an anonymous one."""
        if role not in self.connections:
            self.connections[role] = await connect_as(self.cfg, self.nats_url, role,
                                                      f"test-{role}", self.logins)
        return self.connections[role]

    async def publish_input(self, kind: str, location: str, payload: bytes) -> Rejection | None:
        """Validate and publish one input event as the HTTP server does (``server`` user)."""
        core = self._core()
        js = (await self.nats("server")).jetstream()
        return await publish_input(js, core.subjects, kind, location, payload, core.clock(),
                                   core.limits)

    async def publish(self, *events: dict[str, Any], kind: str = "feedback") -> None:
        """Publish contract events as the server does and wait until the core applied them;
        kind ``encounter`` goes to the core's voice stream as the voice worker sends it."""
        core = self._core()
        if kind == "encounter":
            await self._publish_encounters(list(events))
            return
        for ev in events:
            rejection = await self.publish_input(kind, ev["location"], msgspec.json.encode(ev))
            assert rejection is None, (rejection, ev)
        assert await core.wait_idle(20)

    async def _publish_encounters(self, events: list[dict[str, Any]]) -> None:
        core = self._core()
        js = (await self.nats("voice")).jetstream()
        for ev in events:
            await js.publish(core.subjects.encounter(ev["location"], ev["mic"]),
                             msgspec.json.encode(ev),
                             headers={"Nats-Msg-Id": f"{ev['location']}:{ev['id']}"})
        locations = {ev["location"] for ev in events}

        async def counted() -> bool:
            got = [core.metrics(loc, "today").voice.encounters for loc in locations]
            return sum(got) >= len(events)

        await until(counted, 10, "encounters counted by the core")

    def _core(self) -> Core:
        assert self.core is not None, "this stack runs no core"
        return self.core

    @property
    def running_core(self) -> Core:
        """The core (fails the test if this stack runs none)."""
        return self._core()

    @property
    def js(self) -> JetStreamContext:
        """The core's JetStream context (fails the test if this stack runs no core)."""
        js = self._core().js
        assert js is not None, "the core has not started"
        return js

    # -- parts that tests stop and start ---------------------------------------------------

    async def start_server(self) -> None:
        from server.app import create_app, serve

        reporters = {"cases": self.cases.status} if self.cases is not None else None
        self.app = create_app(self.cfg, ServerCore(self._core(), await self.nats("server")),
                              self.alerts, reporters=reporters)
        started = asyncio.Event()
        self.server_task = asyncio.create_task(serve(
            self.app, "127.0.0.1", self.port, started=started, direct_frames=self.direct_frames))
        await asyncio.wait_for(started.wait(), 10)

    async def stop_server(self) -> None:
        await _cancel(self.server_task)
        self.server_task = None

    async def restart(self) -> None:
        """Stop the HTTP server and start a fresh app on the same port."""
        await self.stop_server()
        await self.start_server()

    async def start_wall(self) -> None:
        from dashboards.serve import serve_dashboards

        started = asyncio.Event()
        self.wall_task = asyncio.create_task(serve_dashboards(self.cfg, started=started))
        await asyncio.wait_for(started.wait(), 10)

    async def stop_wall(self) -> None:
        await _cancel(self.wall_task)
        self.wall_task = None


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _start(stack: Stack, *, core: bool, alerts: bool, server: bool, wall: bool,
                 voice: Any, asr: Any, prepare: Prepare | None, cases: bool = False) -> None:
    if core:
        stack.core = Core(stack.cfg, stack.nats_url, login=login_for(stack.logins, "core"))
        await stack.core.start()
    if alerts:
        from alerting.service import AlertService

        stack.alerts = AlertService(stack.cfg, await stack.nats("alerts"), stack._core())
        await stack.alerts.start()
    if cases:
        from cases.service import CaseService

        stack.cases = CaseService(stack.cfg, await stack.nats("cases"), stack._core())
        await stack.cases.start()
    if prepare is not None:
        await prepare(stack)
    if server:
        await stack.start_server()
    if wall:
        await stack.start_wall()
    if voice is not None:
        from tests.support.voice import voice_stack

        stack.voice = await voice_stack(stack.nats_url, stack.cfg, asr=asr, options=voice,
                                        logins=stack.logins)


async def _stop(stack: Stack) -> None:
    if stack.voice is not None:
        from tests.support.voice import close_stack

        await close_stack(stack.voice)
    for client in stack.clients:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 2)
    await stack.stop_wall()
    await stack.stop_server()
    if stack.cases is not None:
        await stack.cases.stop()
    if stack.alerts is not None:
        await stack.alerts.stop()
    if stack.core is not None:
        await stack.core.stop(snapshot_state=False)
    for nc in stack.connections.values():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 2)


@contextlib.asynccontextmanager
async def running(config: str | Config, data_dir: Path, *, nats_url: str | None = None,
                  tokens: Mapping[str, str] | None = None, core: bool = True,
                  alerts: bool = False, server: bool = False, wall: bool = False,
                  voice: Any = None, asr: Any = True, direct_frames: bool = True,
                  prepare: Prepare | None = None, cases: bool = False) -> AsyncIterator[Stack]:
    """Start the parts asked for (see the module docstring); a config text gets ``[core]
    data_dir`` = ``data_dir`` unless it names one. ``voice`` is the voice worker's
    ``VoiceWorkerOptions``; ``asr`` as ``tests.support.voice.voice_stack`` takes it."""
    cfg = (load_config_text(with_data_dir(config, data_dir)) if isinstance(config, str)
           else config)
    nats = None
    logins: dict[str, Login] = {}
    if nats_url is None:  # secured as `cxpulse run` secures its embedded server
        auth_conf, logins = embedded_auth(cfg)
        nats = EmbeddedNats(data_dir / "jetstream", auth_conf=auth_conf).start()
        nats_url = nats.url
    stack = Stack(cfg, nats_url, dict(tokens or {}), logins, nats, direct_frames=direct_frames)
    try:
        await _start(stack, core=core, alerts=alerts, server=server, wall=wall, voice=voice,
                     asr=asr, prepare=prepare, cases=cases)
        yield stack
    finally:
        await _stop(stack)
        if nats is not None:
            nats.stop()
    if nats is not None:  # every part did its job within its user's permissions
        denied = permission_violations(nats)
        assert not denied, f"NATS permission violations: {denied[:5]}"


def permission_violations(nats: EmbeddedNats) -> list[str]:
    """The permission violations of the services (not of devices: a test may probe what a
    device may not do) an embedded server logged: user and subject."""
    if not nats.log_file.exists():
        return []
    lines = nats.log_file.read_text(errors="replace").splitlines()
    return [line.split(" - ", 2)[-1] for line in lines
            if "Violation" in line and '"$G/user:device' not in line]
