"""The wall's test stack and page helpers: the seeded scenario (``tests.support.wall_seed``)
served by the whole system, and a page opened once the wall's tiles have rendered."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import websockets
from msgspec.structs import replace
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cxpulse.config import load_config_text
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
    cfg = load_config_text(config_text(str(tmp_path), free_port(), free_port()))
    cfg = replace(cfg, dashboards=replace(cfg.dashboards, token=token))  # in memory only
    return running(cfg, tmp_path, nats_url=nats_url, tokens=WALL_TOKENS, alerts=True,
                   server=True, wall=True, prepare=seed if seeded else None)


def watched(page: Any) -> Any:
    """``page`` with its uncaught errors, external requests and Content-Security-Policy
    violations recorded in ``PAGE_ERRORS`` (the ``browser`` fixture fails on any)."""
    page.on("pageerror", lambda e: PAGE_ERRORS.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(LOCAL)
            else PAGE_ERRORS.append(f"external request (the machine is offline): {r.url}"))
    page.on("console", lambda m: PAGE_ERRORS.append(m.text) if m.type == "error"
            and "Content Security Policy" in m.text else None)
    return page


async def open_wall(browser: Any, url: str) -> Any:
    """A 1920x1080 page on ``url`` once the wall's tiles have rendered."""
    page = watched(await browser.new_page(viewport={"width": 1920, "height": 1080}))
    await page.goto(url)
    await page.locator("[data-k=buttons]").first.wait_for(timeout=20_000)
    return page


async def shot(page: Any, name: str) -> Path:
    path = artifact(f"{name}.png")
    await page.screenshot(path=str(path))
    return path


# -- the wall over plain HTTP and websockets (no browser) ----------------------------------

COOKIE = "cxpulse_wall"  # the wall's login cookie (``dashboards.login.COOKIE``)


@contextlib.asynccontextmanager
async def wall_client(stack: Stack, who: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the wall that opened ``/wall?token=`` of ``who`` once (following
    the redirects, keeping whatever cookie the wall set)."""
    async with httpx.AsyncClient(trust_env=False, timeout=20, follow_redirects=True) as client:
        await client.get(stack.page("msk-a" if who != "admin" else "network", who))
        yield client


def wall_url(stack: Stack, scope: str, **params: str) -> str:
    """The wall of ``scope`` with ``params`` and no token unless one is among them (else the
    cookie says who is looking)."""
    return f"{stack.wall}?{urlencode({'scope': scope, **params})}"


def page_token(html: str) -> str:
    """The Bokeh session token a wall page embeds for its websocket."""
    found = re.search(r'"token"\s*:\s*"([^"]+)"', html.replace('\\"', '"'))
    assert found, "no session token in the page"
    return found.group(1)


async def attaches(stack: Stack, token: str, cookie: str | None) -> bool:
    """Whether a websocket with ``token`` (and the wall cookie ``cookie``) is accepted by
    the wall's Bokeh server: it answers a session it serves with an ``ACK``."""
    port = stack.cfg.dashboards.port
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    try:
        async with websockets.connect(
                f"ws://127.0.0.1:{port}/wall/ws", subprotocols=["bokeh", token],  # type: ignore[list-item]
                origin=f"http://127.0.0.1:{port}", additional_headers=headers,  # type: ignore[arg-type]
                open_timeout=5, proxy=None) as ws:
            first = await asyncio.wait_for(ws.recv(), 5)
    except (InvalidStatus, ConnectionClosed, TimeoutError, OSError):
        return False
    return '"ACK"' in str(first)


# -- layout: every screen, no clipping ------------------------------------------------------

SCREENS = {"1920": (1920, 1080), "1600": (1600, 900), "1440": (1440, 900),
           "1366": (1366, 768), "768": (768, 1024), "390": (390, 844)}

# Every tile (an element with ``data-k`` that is a ``.card``, or a Panel pane's box) in
# every shadow root: its content must fit its box, the box must lie inside the page's
# width, and no numeric cell may be cut short. Returns one line per problem.
_OVERFLOW_JS = """() => {
  const out = [], vw = document.documentElement.clientWidth;
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const el of roots[i].querySelectorAll('*')) {
      if (el.shadowRoot) roots.push(el.shadowRoot);
    }
  }
  const name = el => {
    const k = el.closest('[data-k]');
    return (k ? k.getAttribute('data-k') : el.className || el.tagName);
  };
  for (const root of roots) {
    const boxes = '.card, .alert, .hdr, td.n, th.n, .legend, .sub, .pair';
    for (const el of root.querySelectorAll(boxes)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const what = name(el) + ' ' + el.tagName.toLowerCase() + '.' + (el.className || '');
      if (el.scrollWidth > el.clientWidth + 1)
        out.push(`${what}: content ${el.scrollWidth}px wide in a ${el.clientWidth}px box`);
      if (el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible')
        out.push(`${what}: content ${el.scrollHeight}px tall in a ${el.clientHeight}px box`);
      if (r.left < -1 || r.right > vw + 1)
        out.push(`${what}: box ${Math.round(r.left)}..${Math.round(r.right)} ` +
                 `outside the page (${vw}px)`);
    }
  }
  if (document.documentElement.scrollWidth > vw + 1)
    out.push(`page: ${document.documentElement.scrollWidth}px wide on a ${vw}px screen`);
  return out;
}"""


async def overflows(page: Any) -> list[str]:
    """What on the page does not fit (see ``_OVERFLOW_JS``); empty when everything fits."""
    found: list[str] = await page.evaluate(_OVERFLOW_JS)
    return found


async def font_px(page: Any, selector: str) -> float:
    """The rendered font size of the first ``selector`` (CSS px on the screen, zoom
    included): "readable without zoom" is at least 14 px on a phone."""
    element = page.locator(selector).first
    for _ in range(50):  # a live tile re-renders: a replaced element has no computed style
        await element.wait_for(state="visible", timeout=20_000)
        size: float = await element.evaluate(
            "el => parseFloat(getComputedStyle(el).fontSize) * "
            "(parseFloat(getComputedStyle(document.body).zoom) || 1)")
        if math.isfinite(size):
            return size
        await page.wait_for_timeout(100)
    raise AssertionError(f"{selector} never has a computed font size")
