"""The wall's test stack and page helpers: the seeded scenario (``tests.support.wall_seed``)
served by the whole system, and a page opened once the wall's tiles have rendered."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from stream.nats_server import free_port
from tests.support.browser import artifact
from tests.support.stack import Stack, running
from tests.support.wall_seed import ADMIN, SUPERVISOR, config_text, scenario

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "blob:http://127.0.0.1", "data:")
PAGE_ERRORS: list[str] = []  # uncaught errors / external requests of the current test's pages
WALL_TOKENS = {"admin": ADMIN, "supervisor": SUPERVISOR}


async def seed(stack: Stack) -> None:
    """Publish the seeded scenario, kind by kind, before anything serves it."""
    for kind, events in scenario(int(time.time() * 1000)).items():
        await stack.publish(*events, kind=kind)


def wall_stack(tmp_path: Path, nats_url: str, token: str = SUPERVISOR,
               seeded: bool = True) -> contextlib.AbstractAsyncContextManager[Stack]:
    """Core, alerts, server and dashboards of the seeded network; the dashboards connect
    with ``token``."""
    text = config_text(str(tmp_path), free_port(), free_port(), token)
    return running(text, tmp_path, nats_url=nats_url, tokens=WALL_TOKENS, alerts=True,
                   server=True, wall=True, prepare=seed if seeded else None)


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
    path = artifact(f"{name}.png")
    await page.screenshot(path=str(path))
    return path
