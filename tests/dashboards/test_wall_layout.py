"""The wall on every screen, in headless Chromium against the seeded system: no tile's
content overflows its box at 1920, 1600, 1440 and 1366 px nor on a tablet (768x1024) or a
phone (390x844), for the network and a location wall; on a tablet two columns, on a phone
one, with the alerts and the open incidents (each opening its case card) first, the same
numbers as the API, and text readable without zoom. Screenshots of both walls at 1920,
1366, 768 and 390 px go to ``tests/.artifacts/`` (``wall-{scope}-{width}.png``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stream.nats_server import EmbeddedNats
from tests.dashboards.test_wall_browser import shows_api
from tests.support.stack import Stack, until
from tests.support.wall import SCREENS, font_px, overflows, wall_stack, watched
from tests.support.wall_seed import ADMIN

pytestmark = pytest.mark.browser

SHOTS = ("1920", "1366", "768", "390")
WALLS = (("network", "admin"), ("msk-a", "supervisor"))


@pytest.fixture
async def admin_system(tmp_path: Path, nats_server: EmbeddedNats) -> AsyncIterator[Stack]:
    """The seeded system whose dashboards hold an admin's token (the network wall)."""
    async with wall_stack(tmp_path, nats_server.url, token=ADMIN) as stack:
        yield stack


async def open_at(browser: Any, system: Stack, scope: str, who: str, screen: str) -> Any:
    """The wall of ``scope`` on ``screen`` once its tiles (and the leaderboard) are filled."""
    width, height = SCREENS[screen]
    page = watched(await browser.new_page(viewport={"width": width, "height": height}))
    await page.goto(system.page(scope, who))
    await page.locator("[data-k=buttons]").first.wait_for(timeout=20_000)
    await page.locator("[data-alert]").first.wait_for(timeout=20_000)
    if scope == "network":
        rows = page.locator("[data-k=board] tr[data-loc]")
        await until(lambda: _has(rows, 3), 10, "the leaderboard's three locations")
    await page.wait_for_timeout(300)  # the last tiles' layout
    return page


async def _has(locator: Any, n: int) -> bool:
    return bool(await locator.count() == n)


async def box(page: Any, selector: str) -> dict[str, float]:
    """The first match's box once it is laid out (a loaded machine renders tiles late)."""
    element = page.locator(selector).first
    await element.wait_for(state="visible", timeout=20_000)
    for _ in range(100):
        found: dict[str, float] | None = await element.bounding_box()
        if found is not None and found["width"] > 0:
            return found
        await page.wait_for_timeout(100)
    raise AssertionError(f"{selector} is never laid out")


async def test_no_tile_overflows_on_any_screen(admin_system: Stack, browser: Any) -> None:
    problems: dict[str, list[str]] = {}
    for scope, who in WALLS:
        for screen in SCREENS:
            page = await open_at(browser, admin_system, scope, who, screen)
            found = await overflows(page)
            if found:
                problems[f"{scope} at {screen}"] = found
            if screen in SHOTS:
                await page.screenshot(path=str(_artifact(f"wall-{scope}-{screen}.png")),
                                      full_page=True)
            await page.close()
    assert not problems, problems


def _artifact(name: str) -> Path:
    from tests.support.browser import artifact

    return artifact(name)


async def test_phone_and_tablet_show_alerts_and_cases_first(admin_system: Stack,
                                                            browser: Any) -> None:
    system = admin_system
    for scope, who in WALLS:
        phone = await open_at(browser, system, scope, who, "390")
        await shows_api(phone, system, scope, f"{scope} on a phone = /api/metrics")
        alerts, cases = await box(phone, "[data-alert]"), await box(phone, "[data-k=incidents]")
        nps, csat = await box(phone, "[data-k=nps-today]"), await box(phone, "[data-k=csat]")
        assert alerts["y"] < cases["y"] < nps["y"] < csat["y"]  # alerts, then cases, first
        for tile in ("[data-k=incidents]", "[data-k=csat]", "[data-k=csi]", "[data-k=flow]"):
            b = await box(phone, tile)  # one column: every tile the screen's width
            assert b["x"] < 20 and b["width"] > 340, (tile, b)
        for text in ("[data-k=incidents] td", "[data-k=csi] td", "[data-k=csat] .sub",
                     ".alert .sub"):
            assert await font_px(phone, text) >= 14, text  # readable without zoom
        assert await font_px(phone, "[data-k=nps-today] .big") >= 40
        await phone.close()

        tablet = await open_at(browser, system, scope, who, "768")
        nr, csat = await box(tablet, "[data-k=nps-nr]"), await box(tablet, "[data-k=csat]")
        assert abs(nr["y"] - csat["y"]) < 2 and csat["x"] > nr["x"] + nr["width"]  # two columns
        alerts, cases = await box(tablet, "[data-alert]"), await box(tablet, "[data-k=incidents]")
        assert alerts["y"] < cases["y"] < nr["y"]
        await tablet.close()

    # on a phone the incidents tile opens the case card
    phone = await open_at(browser, system, "msk-a", "supervisor", "390")
    await phone.locator("a.case-link").first.click()
    await phone.wait_for_url("**/case?*incident=*")
    await phone.locator("[data-k=case]").first.wait_for(timeout=20_000)  # the card itself
    await phone.close()
