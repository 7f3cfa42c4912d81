"""The whole system for the wall's tests, in one event loop: a real nats-server (the
``nats_server`` fixture), the real ``Core`` and ``AlertService``, the real server app on a
free port (``server.app.serve``) and the dashboards on another; plus a headless Chromium
driven by playwright's async API (it awaits, so the servers keep running meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from alerting.service import AlertService
from cxpulse.config import Config, load_config_text
from dashboards.serve import serve_dashboards
from server.app import create_app, serve
from stream.core import Core
from stream.nats_server import free_port
from tests.dashboards.seed import ADMIN, SUPERVISOR, config_text, dumps, scenario

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "blob:http://127.0.0.1", "data:")
PAGE_ERRORS: list[str] = []  # uncaught errors / external requests of the current test's pages
ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class System:
    cfg: Config
    core: Core
    alerts: AlertService
    server_task: asyncio.Task[None] | None = None
    dash_task: asyncio.Task[None] | None = None
    app: Any = None
    pages: list[Any] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.cfg.server.port}"

    @property
    def wall(self) -> str:
        return f"http://127.0.0.1:{self.cfg.dashboards.port}/wall"

    def page(self, scope: str, token: str | None = SUPERVISOR, **params: str) -> str:
        """The wall of ``scope`` as a supervisor of msk and ural opens it."""
        query = {"scope": scope, **({"token": token} if token else {}), **params}
        return f"{self.wall}?{urlencode(query)}"

    def http(self, token: str = ADMIN) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api, headers={"Authorization": f"Bearer {token}"},
                                 timeout=10, trust_env=False)

    async def metrics(self, scope: str, window: str = "today") -> dict[str, Any]:
        async with self.http() as client:
            r = await client.get(f"/api/metrics/{scope}", params={"window": window})
            r.raise_for_status()
            return r.json()

    async def publish(self, kind: str, events: list[dict[str, Any]]) -> None:
        if kind == "encounter":  # the voice worker's output, on the core's voice stream
            await self.publish_encounters(events)
            return
        for ev in events:
            rejection = await self.core.publish_input(kind, ev["location"], dumps(ev))
            assert rejection is None, (rejection, ev)
        assert await self.core.wait_idle(20)

    async def publish_encounters(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            await self.core.js.publish(self.core.subjects.encounter(ev["location"], ev["mic"]),
                                       dumps(ev), headers={"Nats-Msg-Id": ev["id"]})
        locations = {ev["location"] for ev in events}

        async def counted() -> bool:
            got = [self.core.metrics(loc, "today").voice.encounters for loc in locations]
            return sum(got) >= len(events)

        await until(counted, 10, "encounters counted by the core")

    async def start_server(self) -> None:
        self.app = create_app(self.cfg, self.core, self.alerts)
        started = asyncio.Event()
        self.server_task = asyncio.create_task(
            serve(self.app, "127.0.0.1", self.cfg.server.port, started=started))
        await asyncio.wait_for(started.wait(), 10)

    async def stop_server(self) -> None:
        if self.server_task is not None:
            self.server_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.server_task
            self.server_task = None

    async def start_dashboards(self) -> None:
        started = asyncio.Event()
        self.dash_task = asyncio.create_task(serve_dashboards(self.cfg, started=started))
        await asyncio.wait_for(started.wait(), 10)


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0,
                what: str = "condition", detail: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            extra = f"; last seen: {detail()}" if detail is not None else ""
            raise AssertionError(f"timed out waiting for {what}{extra}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running(tmp_path: Path, nats_url: str, token: str = SUPERVISOR,
                  seed: bool = True) -> AsyncIterator[System]:
    cfg = load_config_text(config_text(str(tmp_path), free_port(), free_port(), token))
    core = Core(cfg, nats_url)
    await core.start()
    alerts = AlertService(cfg, core.nc, core)
    await alerts.start()
    system = System(cfg, core, alerts)
    try:
        if seed:
            for kind, events in scenario(int(time.time() * 1000)).items():
                await system.publish(kind, events)
        await system.start_server()
        await system.start_dashboards()
        yield system
    finally:
        for task in (system.dash_task,):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await system.stop_server()
        await alerts.stop()
        await core.stop(snapshot_state=False)


@pytest.fixture
async def system(tmp_path: Path, nats_server: Any) -> AsyncIterator[System]:
    async with running(tmp_path, nats_server.url) as sys_:
        yield sys_


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("needs Debian chromium at /usr/bin/chromium")
    PAGE_ERRORS.clear()
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
    assert not PAGE_ERRORS, f"errors in the wall's pages: {PAGE_ERRORS}"


async def open_wall(browser: Any, url: str) -> Any:
    """A 1920x1080 page on ``url`` once the wall's tiles have rendered."""
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    page.on("pageerror", lambda e: PAGE_ERRORS.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(LOCAL)
            else PAGE_ERRORS.append(f"external request (the machine is offline): {r.url}"))
    await page.goto(url)
    await page.locator("[data-k=buttons]").first.wait_for(timeout=20_000)
    return page


async def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path
