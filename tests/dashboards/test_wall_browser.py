"""The wall in headless Chromium against the real system on a seeded scenario: the same
numbers as ``/api/metrics``, live updates, the leaderboard, an alert from the core that is
acknowledged from the wall, and recovery after a server restart. Screenshots (1920x1080)
go to ``tests/.artifacts/``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from dashboards import fmt
from tests.support.stack import Stack, until
from tests.support.wall import open_wall, shot
from tests.support.wall_seed import Seeder

pytestmark = pytest.mark.browser


async def attr(page: Any, selector: str, name: str = "data-v") -> str | None:
    value: str | None = await page.locator(selector).first.get_attribute(name)
    return value


async def num(page: Any, selector: str, name: str = "data-v") -> float | None:
    value = await attr(page, selector, name)
    return float(value) if value not in (None, "") else None


async def wall_matches(page: Any, system: Stack, scope: str) -> bool:
    """NPS (1h, today), CSAT, button shares and open incidents equal the API's."""
    today, hour = await system.metrics(scope, "today"), await system.metrics(scope, "1h")
    checks = [
        (await num(page, "[data-k=nps-today]"), today["nps"]),
        (await num(page, "[data-k=nps-1h]"), hour["nps"]),
        (await num(page, "[data-k=csat]"), today["csat"]),
        (await num(page, "[data-k=open]"), today["incidents"]["open"]),
        (await num(page, "[data-k=buttons]", "data-presses"), today["buttons"]["presses"]),
    ]
    for v in ("1", "2", "3"):
        checks.append((await num(page, "[data-k=buttons]", f"data-s{v}"),
                       today["buttons"]["shares"].get(v, 0.0)))
    ok = all(a is not None and b is not None and abs(a - b) < 1e-4 for a, b in checks)
    LAST_CHECKS[:] = checks
    return ok


LAST_CHECKS: list[tuple[float | None, float | None]] = []  # (wall, api) pairs, for failures


async def shows_api(page: Any, system: Stack, scope: str, what: str) -> None:
    """Wait until the wall of ``scope`` shows the API's numbers."""
    await until(lambda: wall_matches(page, system, scope), 15, what, lambda: LAST_CHECKS)


async def test_wall_shows_the_api_numbers_and_follows_updates(system: Stack,
                                                               browser: Any) -> None:
    page = await open_wall(browser, system.page("msk-a"))
    await shows_api(page, system, "msk-a", "wall = /api/metrics")
    today = await system.metrics("msk-a")
    tile = page.locator("[data-k=nps-today] .big")
    assert await tile.inner_text() == fmt.signed(today["nps"])
    assert "n=" in await page.locator("[data-k=nps-today]").inner_text()
    assert await page.locator("[data-k=csat] .big").inner_text() == f"{today['csat']:.0f}%"
    weak = page.locator("tr.weak")  # only the question clearly below the rest is flagged
    assert await weak.count() == 1 and await weak.get_attribute("data-q") == "speed"
    assert await weak.get_attribute("data-n") == "40"
    assert await page.locator("tr.breach").count() >= 1  # the two-day-old claim is breached
    assert await page.locator(".tag.bad", has_text="ПРОБЛЕМА").count() >= 1
    assert await attr(page, "[data-k=conn]") == "ok"
    for utterance in utterances(int(time.time() * 1000)):  # what the voice worker publishes
        system.app.state.ctx.hub.publish("voice:msk-a", utterance)
    await page.locator("[data-k=voice] [data-mic=desk-2]").wait_for(timeout=10_000)
    voice = await page.locator("[data-k=voice]").inner_text()
    assert "менеджера" in voice and "приветствие" in voice
    compliance = today["voice"]["compliance"]  # from the core's encounters
    standard = await page.locator("[data-k=standard]").inner_text()
    assert f"встреч {today['voice']['encounters']}" in standard
    assert f"приветствие {fmt.pct(compliance['greeting'])}" in standard
    await page.wait_for_timeout(500)
    await shot(page, "wall-location-ru")

    # live: more answers move the numbers, pushed without a reload
    s = Seeder(int(time.time() * 1000), seed=11)
    await system.publish(*[s.ev("msk-a", 2_000, type="nps", value=0) for _ in range(9)],
                         *[s.ev("msk-a", 2_000, type="button", value=1, scale=3) for _ in range(4)])
    after = await system.metrics("msk-a")
    assert after["responses"] == today["responses"] + 9 and after["nps"] < today["nps"]
    assert after["buttons"]["presses"] == today["buttons"]["presses"] + 4
    await shows_api(page, system, "msk-a", "wall follows the update")
    assert await tile.inner_text() == fmt.signed(after["nps"])

    # ekb has three NPS answers: the tile says so instead of showing a score
    await page.goto(system.page("ekb", lang="en"))
    few = page.locator("[data-k=nps-today] .few")
    await few.wait_for(timeout=15_000)
    assert "too few answers: 3 of 10" in await few.inner_text()
    await shot(page, "wall-few-answers-en")


def utterances(now_ms: int) -> list[dict[str, Any]]:
    """Finished utterances as on ``cx.voice.{location}.{mic}``: a calm greeting at desk 1,
    an angry escalation at desk 2."""
    def utt(mic: str, ago_s: float, anger: float, keywords: list[tuple[str, str]],
            text: str) -> dict[str, Any]:
        start = now_ms - int(ago_s * 1000)
        return {"mic": mic, "start": start, "end": start + 2500, "loudness_db": -18 + 12 * anger,
                "emotion": {"arousal": anger, "anger": anger}, "transcript": text,
                "keywords": [{"category": c, "word": w, "t": 0.4} for c, w in keywords]}
    return [utt("desk-1", 40, 0.1, [("greeting", "здравствуйте")],
                "Здравствуйте! Чем могу помочь?"),
            utt("desk-1", 20, 0.05, [("thanks", "спасибо"), ("farewell", "до свидания")],
                "Спасибо за покупку, до свидания!"),
            utt("desk-2", 10, 0.85, [("escalation", "менеджера"), ("complaint", "жалобу")],
                "Позовите менеджера, я напишу жалобу!")]


async def test_region_leaderboard_worst_first_and_click_into_location(system: Stack,
                                                                      browser: Any) -> None:
    page = await open_wall(browser, system.page("msk"))
    await shows_api(page, system, "msk", "region wall = /api/metrics")
    rows = page.locator("[data-k=board] tr[data-loc]")
    await until(lambda: _count_is(rows, 2), 10, "two locations on the board")
    a, b = await system.metrics("msk-a"), await system.metrics("msk-b")
    worst_first = [loc for loc, _ in sorted((("msk-a", a["nps"]), ("msk-b", b["nps"])),
                                            key=lambda x: x[1])]
    assert [await rows.nth(i).get_attribute("data-loc") for i in range(2)] == worst_first
    await shot(page, "wall-region-ru")
    network = await browser.new_page(viewport={"width": 1920, "height": 1080})
    await network.goto(system.page("network"))  # a supervisor token: no network
    await network.locator(".banner").wait_for(timeout=15_000)
    await network.close()
    stranger = await browser.new_page(viewport={"width": 1920, "height": 1080})  # no cookie
    await stranger.goto(system.page("msk", who=None))  # no token: nothing but the notice
    await stranger.locator(".banner", has_text="токен").wait_for(timeout=15_000)
    assert await stranger.locator("[data-k=buttons]").count() == 0
    await stranger.close()
    await rows.first.locator("a").click()
    await page.wait_for_url(f"**/wall?scope={worst_first[0]}*")
    await shows_api(page, system, worst_first[0], "location wall after click")


async def _count_is(locator: Any, n: int) -> bool:
    count: int = await locator.count()
    return count == n


async def test_alert_from_the_core_appears_and_is_acknowledged(system: Stack, browser: Any) -> None:
    page = await open_wall(browser, system.page("msk-a"))
    card = page.locator("[data-alert]").first
    await card.wait_for(timeout=20_000)  # red-button: 9 of 24 presses today are red
    text = await card.inner_text()
    assert "Клиенты жмут красную кнопку" in text and "Позвать администратора" in text
    await page.get_by_placeholder("имя супервайзера").fill("Иванова")
    await page.get_by_role("button", name="Принять").first.click()
    await page.locator("[data-k=acked]").first.wait_for(timeout=10_000)
    assert "Иванова" in await page.locator("[data-k=acked]").first.inner_text()
    async with system.http("admin") as client:
        alerts = (await client.get("/api/alerts")).json()
    acked = next(a for a in alerts if a["rule"] == "red-button")["acknowledged"]
    assert acked["by"] == "wall-supervisor" and acked["comment"] == "Иванова"
    assert await page.get_by_role("button", name="Принято").first.is_disabled()
    await shot(page, "wall-alert-acknowledged")


async def test_page_recovers_after_a_server_restart(system: Stack, browser: Any) -> None:
    page = await open_wall(browser, system.page("msk-a"))
    await shows_api(page, system, "msk-a", "wall before the restart")
    await system.stop_server()
    await until(lambda: _attr_is(page, "[data-k=conn]", "bad"), 10, "connection shown as lost")
    assert "нет связи" in await page.locator("[data-k=conn]").inner_text()
    await shot(page, "wall-server-down")
    before = system.running_core.metrics("msk-a", "today").buttons.presses  # the core still runs
    s = Seeder(int(time.time() * 1000), seed=13)
    await system.publish(*[s.ev("msk-a", 1_000, type="button", value=3, scale=3)
                           for _ in range(7)])
    assert system.running_core.metrics("msk-a", "today").buttons.presses == before + 7
    assert await num(page, "[data-k=buttons]", "data-presses") == before  # nothing new yet
    await asyncio.sleep(0.5)
    await system.start_server()
    await until(lambda: _attr_is(page, "[data-k=conn]", "ok"), 20, "connection back")
    await shows_api(page, system, "msk-a", "fresh data after the restart")
    assert await num(page, "[data-k=buttons]", "data-presses") == before + 7
    await shot(page, "wall-after-restart")


async def _attr_is(page: Any, selector: str, value: str) -> bool:
    return await attr(page, selector) == value
