"""The wall's comments tile in headless Chromium against the real system (core, archive
writer, server, dashboards): the newest comments with their scores and topic chips, the
urgent one first and in red, the topic chart for today and 7 days with its changes, the
whole tile inside its box at 1920x1080, in Russian and in English. Screenshots go to
tests/.artifacts/comments-tile-{ru,en}.png."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from msgspec.structs import replace

from archive.comments import TextHooks
from archive.service import ArchiveService
from cxpulse.config import Config, load_config_text
from dashboards.serve import serve_dashboards
from server.app import create_app, serve
from simulators.comments import write_comment
from stream.core import Core
from stream.nats_server import EmbeddedNats, free_port
from tests.support.browser import artifact, chromium
from tests.support.checks import present
from tests.support.stack import until
from tests.support.wall import PAGE_ERRORS
from tests.support.wall_seed import SUPERVISOR, Seeder, config_text

if TYPE_CHECKING:
    from playwright.async_api import Locator

DAY_MS = 86_400_000
URGENT = "Охранник угрожал и толкнул меня, я буду писать в прокуратуру!"


def comments(now_ms: int) -> list[dict[str, Any]]:
    """Thirteen days of commented NPS answers at three locations (waits and staff rising
    at msk-a lately), today's inside the last minutes, one urgent, one with a phone."""
    seed = Seeder(now_ms)
    rng = random.Random(3)
    out: list[dict[str, Any]] = []
    for day in range(13, -1, -1):
        for loc in ("msk-a", "msk-b", "ekb"):
            bad = loc == "msk-a" and day <= 1
            for i in range(14 if day else 9):
                nps = rng.choice((1, 2, 3, 5, 6) if bad else (3, 6, 8, 9, 9, 10, 10))
                ago = day * DAY_MS + (0 if day else seed.window_ms * i // 10)
                text = write_comment(rng, "ru" if loc != "ekb" or i % 3 else "en", nps / 10,
                                     (("wait", 4.0), ("staff", 4.0)) if bad else ())
                out.append(seed.ev(loc, ago + 1000 * i, type="nps", value=nps, comment=text,
                                   session=f"{loc}-{day}-{i}"))
    out.append(seed.ev("msk-b", 5_000, type="nps", value=0, comment=URGENT))
    out.append(seed.ev("msk-a", 3_000, type="csat", value=2,
                       comment="Перезвоните мне 8 916 123-45-67, жду возврат уже неделю"))
    return out


@contextlib.asynccontextmanager
async def system(tmp_path: Path, nats_url: str) -> AsyncIterator[Config]:
    cfg = load_config_text(config_text(str(tmp_path), free_port(), free_port()))
    cfg = replace(cfg, dashboards=replace(cfg.dashboards, token=SUPERVISOR))  # in memory only
    core = Core(cfg, nats_url)
    await core.start()
    archive = ArchiveService(cfg, present(core.nc), hooks=TextHooks.default(cfg.comments))
    await archive.start()
    for ev in comments(int(time.time() * 1000)):
        import msgspec

        assert await core.publish_input("feedback", ev["location"], msgspec.json.encode(ev)) \
            is None
    assert await core.wait_idle(20) and await present(archive.writer).wait_idle(20)
    started = asyncio.Event()
    server = asyncio.create_task(serve(create_app(cfg, core, None, archive), "127.0.0.1",
                                       cfg.server.port, started=started))
    await asyncio.wait_for(started.wait(), 10)
    wall_started = asyncio.Event()
    wall = asyncio.create_task(serve_dashboards(cfg, started=wall_started))
    await asyncio.wait_for(wall_started.wait(), 10)
    try:
        yield cfg
    finally:
        for task in (wall, server):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await archive.stop()
        await core.stop()


async def _fits(tile: Locator) -> bool:
    return bool(await tile.evaluate("e => e.scrollHeight <= e.clientHeight + 1 && "
                                    "e.scrollWidth <= e.clientWidth + 1"))


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_comments_tile_fits_at_1920_in_both_languages(nats_server: EmbeddedNats,
                                                             tmp_path: Path, lang: str) -> None:
    PAGE_ERRORS.clear()
    async with system(tmp_path, nats_server.url) as cfg, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        page.on("pageerror", lambda e: PAGE_ERRORS.append(str(e)))
        url = (f"http://127.0.0.1:{cfg.dashboards.port}/wall?scope=msk&token={SUPERVISOR}"
               f"&lang={lang}")
        await page.goto(url)
        tile = page.locator(".card[data-k=comments]")
        await tile.wait_for(timeout=20_000)
        rows = page.locator("[data-k=comment]")

        async def filled() -> bool:
            return bool(await rows.count() >= 10
                        and await page.locator("[data-k=topic]").count() >= 5)

        await until(filled, 20, "comments and topics on the tile")
        first = rows.first
        assert "urgent" in (await first.get_attribute("class") or "")
        assert URGENT[:20] in await first.inner_text()
        texts = " ".join(await rows.all_inner_texts())
        assert "916" not in texts and "[телефон]" in texts
        assert "Тверская" in texts or "Арбат" in texts  # a region page names the location
        head = await tile.locator(".h").inner_text()
        assert ("What customers say" if lang == "en" else "Что говорят клиенты") in head.title() \
            or ("WHAT CUSTOMERS SAY" if lang == "en" else "ЧТО ГОВОРЯТ КЛИЕНТЫ") in head
        chart = await page.locator(".cm-topics").inner_text()
        assert ("7 days" if lang == "en" else "7 дней") in chart
        assert ("Waiting" if lang == "en" else "Ожидание") in chart or "Wait" in chart
        assert await page.locator("[data-k=delta]").count() >= 5
        await tile.scroll_into_view_if_needed()
        await tile.screenshot(path=str(artifact(f"comments-tile-{lang}.png")))
        await page.screenshot(path=str(artifact(f"comments-wall-{lang}.png")), full_page=True)
        sizes = await tile.evaluate("e => [e.scrollHeight, e.clientHeight, e.scrollWidth, "
                                    "e.clientWidth]")
        assert await _fits(tile), f"the comments tile overflows its box: {sizes}"
        box = await tile.bounding_box()
        assert box is not None and box["width"] <= 1920
    assert not PAGE_ERRORS, PAGE_ERRORS
