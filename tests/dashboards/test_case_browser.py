"""The wall works cases, in headless Chromium against the real system: the incidents tile
opens a case card; the card assigns, comments and resolves on behalf of the person looking
at it (the wall's own token is a supervisor's; the viewer here is an admin), and works at
390 px. Screenshots of the card at 1920 and 390 px go to ``tests/.artifacts/``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from msgspec.structs import replace

from cxpulse.config import load_config_text
from stream.nats_server import EmbeddedNats, free_port
from tests.support.browser import chromium
from tests.support.cases import cases_of
from tests.support.stack import Stack, running, until
from tests.support.wall import LOCAL, PAGE_ERRORS, WALL_TOKENS, open_wall, seed, shot
from tests.support.wall_seed import SUPERVISOR, config_text

pytestmark = pytest.mark.browser


@contextlib.asynccontextmanager
async def case_system(tmp_path: Path, nats_url: str) -> AsyncIterator[Stack]:
    """The seeded wall system; the wall (a supervisor's token) may act for its viewers."""
    text = config_text(str(tmp_path), free_port(), free_port())
    text += '[cases]\ndelegates = ["wall-supervisor"]\n'
    cfg = load_config_text(text)
    cfg = replace(cfg, dashboards=replace(cfg.dashboards, token=SUPERVISOR))  # in memory only
    async with running(cfg, tmp_path, nats_url=nats_url, tokens=WALL_TOKENS, alerts=True,
                       server=True, wall=True, prepare=seed) as stack:
        yield stack


def linked_case(now_ms: int) -> dict[str, Any]:
    """A case the rules opened from a red NPS, with what was heard at desk 2."""
    return {"id": "c-demo-open", "ts": now_ms - 600_000, "location": "msk-a",
            "incident": "c-demo", "action": "open", "category": "service",
            "severity": "normal", "source": "auto", "who": "auto:detractor",
            "text": "Ждал 40 минут, никто не поздоровался, кассир [имя] нагрубила",
            "linked": {"session": "s-77", "feedback_id": "n-77", "rating": "nps 2",
                       "encounter": {"id": "e-1", "mic": "desk-2", "start": now_ms - 900_000,
                                     "end": now_ms - 640_000, "greeting": False,
                                     "thanks": False, "farewell": False, "anger_max": 0.84,
                                     "closed_by": "feedback",
                                     "escalation_words": ["позовите менеджера"],
                                     "transcript": "Сколько можно ждать? / Позовите менеджера!"}}}


async def card(browser: Any, url: str, width: int, height: int) -> Any:
    page = await browser.new_page(viewport={"width": width, "height": height})
    page.on("pageerror", lambda e: PAGE_ERRORS.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(LOCAL)
            else PAGE_ERRORS.append(f"external request: {r.url}"))
    await page.goto(url)
    await page.locator("[data-k=case]").first.wait_for(timeout=20_000)
    return page


async def test_the_card_assigns_comments_and_resolves_for_its_viewer(
        tmp_path: Path, nats_server: EmbeddedNats) -> None:
    PAGE_ERRORS.clear()
    async with case_system(tmp_path, nats_server.url) as system, chromium() as browser:
        await system.publish(linked_case(int(time.time() * 1000)), kind="incident")
        wall = await open_wall(browser, system.page("msk-a", who="admin"))
        link = wall.locator("a.case-link[href*='incident=c-demo']")
        await link.first.wait_for(timeout=15_000)
        await link.first.click()  # the incidents tile opens the card
        await wall.locator("[data-k=case]").first.wait_for(timeout=20_000)
        summary = wall.locator("[data-k=summary]")
        assert "без приветствия" in await summary.inner_text()
        assert "повышенный голос" in await summary.inner_text()
        await shot(wall, "case-card-1920")

        await wall.locator("input[placeholder='cs-07']").fill("cs-07")
        await wall.locator("input[placeholder='cs-07']").press("Enter")
        await wall.get_by_role("button", name="Назначить").click()
        await until(lambda: shows(wall, "[data-k=assignee]", "cs-07"), 10, "assigned")
        await wall.locator("textarea").fill("Позвонили клиенту, извинились")
        await wall.locator("textarea").press("Tab")
        await wall.get_by_role("button", name="Комментировать").click()
        await until(lambda: shows(wall, "[data-k=steps]", "извинились"), 10, "commented")
        await wall.get_by_role("button", name="Решено").click()
        await until(lambda: shows(wall, "[data-k=status]", "решено"), 10, "resolved")
        [case] = [c for c in await cases_of(system, location="msk-a") if c["incident"] == "c-demo"]
        assert case["status"] == "resolved" and case["assignee"] == "cs-07"
        assert [(s["action"], s["who"]) for s in case["steps"][1:]] == [
            ("assign", "wall-admin"), ("comment", "wall-admin"), ("resolve", "wall-admin")]
        assert await wall.get_by_role("button", name="Открыть снова").is_visible()

        phone = await card(browser, case_url(system, "msk-a-i-p1"), 390, 844)
        await phone.locator("input[placeholder='cs-07']").fill("cs-11")
        await phone.locator("input[placeholder='cs-07']").press("Enter")
        await phone.get_by_role("button", name="Назначить").click()
        await until(lambda: shows(phone, "[data-k=assignee]", "cs-11"), 10, "assigned on a phone")
        wide = await phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the card overflows a 390 px screen: {wide} px"
        await phone.get_by_role("button", name="Решено").click()
        await until(lambda: shows(phone, "[data-k=status]", "решено"), 10, "resolved on a phone")
        linked = await card(browser, case_url(system, "c-demo"), 390, 844)
        await shot(linked, "case-card-390")
    assert not PAGE_ERRORS, PAGE_ERRORS


def case_url(system: Stack, incident: str, who: str = "admin") -> str:
    base = system.wall.removesuffix("/wall")
    query = {"location": "msk-a", "incident": incident, "scope": "msk-a",
             "token": system.tokens[who]}
    return f"{base}/case?{urlencode(query)}"


async def shows(page: Any, selector: str, text: str) -> bool:
    return text in await page.locator(selector).first.inner_text()
