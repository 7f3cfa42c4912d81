"""The loyalty display and the QR survey in a real browser (Debian chromium, headless).

Screenshots go to tests/.artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import artifact, chromium
from tests.support.network import button, config_text, now_ms, serving, token
from tests.support.stack import Stack

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


def shot(name: str) -> str:
    return str(artifact(name))


async def shown_shares(page: Page) -> dict[str, str]:
    cells = page.locator(".button")
    out = {}
    for i in range(await cells.count()):
        cell = cells.nth(i)
        value = await cell.get_attribute("data-value")
        assert value is not None
        out[value] = await cell.locator(".pct").inner_text()
    return out


async def api_shares(live: Stack, location: str) -> dict[str, str]:
    async with live.http("admin") as h:
        m = (await h.get(f"/api/metrics/{location}", params={"window": "today"})).json()
    return {v: f"{round(s * 100)}%" for v, s in m["buttons"]["shares"].items() if int(v) <= 3}


async def test_display_shows_todays_shares_and_follows_events(
    live: Stack, browser: Browser
) -> None:
    await live.publish(*[button("msk-a", v) for v in [3] * 17 + [2] * 4 + [1] * 2])
    # bypass_csp: the page forbids eval, which playwright's wait_for_function uses
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    await page.goto(f"{live.url}/display/msk-a?token={token('display_a')}")
    await page.wait_for_function("document.querySelectorAll('.button').length === 3")
    assert await page.locator("h1").inner_text() == "Как Вам у нас сегодня?"
    assert await shown_shares(page) == await api_shares(live, "msk-a") == {
        "3": "74%", "2": "17%", "1": "9%"}
    assert "Оценок сегодня: 23" in await page.locator("#count").inner_text()
    await page.wait_for_timeout(900)  # bars animate
    await page.screenshot(path=shot("display.png"))

    await live.publish(*[button("msk-a", 1) for _ in range(7)])  # a bad spell
    await page.wait_for_function(
        "document.querySelector('.pct[data-value=\"1\"]').textContent === '30%'", timeout=5000)
    assert await shown_shares(page) == await api_shares(live, "msk-a")
    assert "Оценок сегодня: 30" in await page.locator("#count").inner_text()
    await page.wait_for_timeout(900)
    await page.screenshot(path=shot("display-updated.png"))

    await live.stop_server()  # the display notices, says so discreetly, and comes back by itself
    await page.wait_for_selector("#status.visible", timeout=5000)
    assert await page.locator("#status-text").inner_text() == "Обновляем данные…"
    await page.screenshot(path=shot("display-reconnecting.png"))
    await live.publish(button("msk-a", 3))
    await live.start_server()
    await page.wait_for_function("!document.querySelector('#status').classList.contains('visible')",
                                 timeout=15000)
    assert "Оценок сегодня: 31" in await page.locator("#count").inner_text()
    assert await shown_shares(page) == await api_shares(live, "msk-a")

    tablet = await browser.new_page(viewport={"width": 800, "height": 1280}, bypass_csp=True)
    await tablet.goto(f"{live.url}/display/msk-a?token={token('display_a')}&lang=en")
    await tablet.wait_for_function("document.querySelectorAll('.button').length === 3")
    assert await tablet.locator("h1").inner_text() == "How was it with us today?"
    await tablet.wait_for_timeout(900)
    await tablet.screenshot(path=shot("display-portrait-en.png"))


async def test_display_refuses_a_foreign_token(live: Stack, browser: Browser) -> None:
    page = await browser.new_page()
    r = await page.goto(f"{live.url}/display/ekb?token={token('display_a')}")
    assert r is not None and r.status == 403
    assert "does not give access" in await page.locator("h2").inner_text()  # ekb speaks en


async def test_qr_survey_in_the_browser_changes_nps(live: Stack, browser: Browser) -> None:
    await live.publish({"id": "n0", "ts": now_ms(), "location": "msk-a", "type": "nps", "value": 3})
    async with live.http("admin") as h:
        before = (await h.get("/api/metrics/msk-a?window=today")).json()
    assert before["nps"] == -100
    context = await browser.new_context(viewport={"width": 390, "height": 844},
                                        device_scale_factor=2, is_mobile=True, has_touch=True)
    page = await context.new_page()  # under the page's own strict CSP
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text else None)
    await page.goto(f"{live.url}/q/msk-a")
    await page.screenshot(path=shot("survey.png"), full_page=True)
    submit = page.locator("button.submit")
    assert await submit.is_disabled()
    await page.locator('.nps button[data-value="10"]').click()
    await page.locator("textarea").fill("Быстро обслужили, спасибо!")
    for group in await page.locator(".scale.csi").all():
        await group.locator('button[data-value="5"]').click()
    assert await submit.is_enabled()
    await page.screenshot(path=shot("survey-filled.png"), full_page=True)
    await submit.click()
    await page.wait_for_selector(".done h2")
    assert await page.locator(".done h2").inner_text() == "Спасибо!"
    await page.screenshot(path=shot("survey-done.png"), full_page=True)
    assert await live.running_core.wait_idle(20)
    await asyncio.sleep(0)
    async with live.http("admin") as h:
        after = (await h.get("/api/metrics/msk-a?window=today")).json()
    assert (after["responses"], after["promoters"], after["nps"]) == (2, 1, 0)
    assert after["csi"]["answers"] == 2
    await page.goto(f"{live.url}/q/msk-a")  # the same phone, right after: thanked, no form
    assert await page.locator("form").count() == 0
    assert blocked == []
    await context.close()


async def test_display_before_the_first_rating_and_with_five_buttons(
    tmp_path: Path, browser: Browser
) -> None:
    async with serving(tmp_path, config_text(display_buttons=5)) as live:
        page = await browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        await page.goto(f"{live.url}/display/msk-b?token={token('admin')}")
        await page.wait_for_function("document.querySelectorAll('.button').length === 5")
        assert set((await shown_shares(page)).values()) == {"—"}
        assert await page.locator("#count").inner_text() == "Будьте первым, кто оценит нас сегодня"
        await page.screenshot(path=shot("display-empty-5.png"))
        await live.publish(*[button("msk-b", v, scale=5) for v in (5, 5, 4, 3, 1)])
        await page.wait_for_function("document.querySelector('#count').textContent.includes('5')")
        assert await shown_shares(page) == {"5": "40%", "4": "20%", "3": "20%", "2": "0%",
                                            "1": "20%"}
        await page.wait_for_timeout(900)
        await page.screenshot(path=shot("display-5.png"))


async def test_display_opened_from_another_site_drops_its_token_and_stays_live(
    live: Stack, browser: Browser
) -> None:
    """A display link shared in a chat or an e-mail (another site: here ``localhost`` links
    to ``127.0.0.1``): the token leaves the address bar and the history, the page runs under
    its strict CSP (not bypassed) and its websocket authenticates with the session cookie."""
    await live.publish(*[button("msk-a", v) for v in (3, 3, 1)])
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"http://localhost:{live.port}/q/msk-b")
    target = f"{live.url}/display/msk-a?token={token('display_a')}"
    await page.evaluate("""(href) => { const a = document.createElement('a');
        a.href = href; a.id = 'go'; a.textContent = 'display'; document.body.append(a); }""",
                        target)
    await page.click("#go")
    await page.wait_for_url(f"{live.url}/display/msk-a")
    await page.locator(".button").nth(2).wait_for()
    assert await page.locator("#count").inner_text() == "Оценок сегодня: 3"
    assert token("display_a") not in await page.evaluate("location.href + document.referrer")
    cookies = {c["name"]: c for c in await context.cookies(live.url)}
    assert cookies["cx_session"]["httpOnly"] and cookies["cx_session"]["sameSite"] == "Lax"
    await live.publish(button("msk-a", 3))  # pushed over the cookie-authenticated websocket
    await page.locator("#count", has_text="Оценок сегодня: 4").wait_for(timeout=5000)
    await page.screenshot(path=shot("display-from-link.png"))
    await page.go_back()
    assert page.url == f"http://localhost:{live.port}/q/msk-b"  # the token URL is not in history
    assert not [e for e in errors if "Content Security Policy" in e], errors
    await context.close()
