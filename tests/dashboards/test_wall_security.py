"""The wall's doors (issue 14: #2, #3, #9) against the running system: a URL token is
exchanged once for an HttpOnly cookie and dropped from the address bar; pages carry
no-referrer, a CSP and DENY framing; a live session cannot be taken over by someone who
knows its id; ``/stats`` needs an admin token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bokeh.util.token import generate_jwt_token, get_session_id, get_token_payload

from dashboards.feed import AckError
from dashboards.widgets import AlertsPanel
from stream.nats_server import EmbeddedNats
from tests.support.stack import Stack
from tests.support.wall import (
    COOKIE,
    attaches,
    open_wall,
    page_token,
    shot,
    wall_client,
    wall_stack,
    wall_url,
    watched,
)
from tests.support.wall_seed import ADMIN

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def admin_system(tmp_path: Path, nats_server: EmbeddedNats) -> AsyncIterator[Stack]:
    """The seeded system whose dashboards follow the server with an admin token, as in
    ``cxpulse run`` (its generated in-process token is an admin's)."""
    async with wall_stack(tmp_path, nats_server.url, token=ADMIN) as stack:
        yield stack


async def test_a_url_token_becomes_an_httponly_cookie_and_leaves_the_address(system: Stack) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=20) as client:
        url = wall_url(system, "msk-a", token=system.tokens["supervisor"], lang="en",
                       who="Ivanova")
        hops: list[httpx.Response] = []
        r = await client.get(url)
        while r.status_code in (302, 303) and len(hops) < 4:  # via Bokeh's login page
            hops.append(r)
            r = await client.get(r.url.join(r.headers["location"]))
        assert hops, f"no redirect: {r.status_code}"
        assert all(h.headers["referrer-policy"] == "no-referrer" for h in hops)
        target = hops[-1].headers["location"]
        assert "token=" not in target and "scope=msk-a" in target and "who=Ivanova" in target
        cookie = hops[-1].headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower() and system.tokens["supervisor"] not in cookie
        page = r
        assert page.status_code == 200
        for header, value in (("referrer-policy", "no-referrer"), ("x-frame-options", "DENY")):
            assert page.headers[header] == value
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        # neither the URL token nor the HttpOnly cookie reaches the page's scripts
        html = page.text
        assert system.tokens["supervisor"] not in html
        assert client.cookies[COOKIE] not in html and COOKIE not in str(
            get_token_payload(page_token(html)))
        # links on the wall keep no token
        assert "token=" not in html


async def test_without_a_token_or_with_a_wrong_one_the_page_says_so(system: Stack) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=20, follow_redirects=True) as client:
        r = await client.get(system.wall, params={"scope": "msk"})
        assert r.status_code == 401 and "токен" in r.text.lower() and COOKIE not in client.cookies
        r = await client.get(system.wall, params={"scope": "msk", "token": "wrong"})
        assert r.status_code == 401 and COOKIE not in client.cookies
        r = await client.get(system.wall, params={"scope": "msk", "lang": "en",
                                                  "token": "<b>x</b>"})
        assert r.status_code == 401 and "<b>x</b>" not in r.text and "token" in r.text.lower()
    # an open redirect through the exchange is not possible
    async with httpx.AsyncClient(trust_env=False, timeout=20) as client:
        base = system.wall.removesuffix("/wall")
        r = await client.get(f"{base}/login", params={
            "next": f"//evil.example/wall?token={system.tokens['supervisor']}"})
        assert r.status_code in (302, 303) and r.headers["location"].startswith("/wall")


async def test_stats_needs_an_admin_token(system: Stack) -> None:
    stats = system.wall.removesuffix("/wall") + "/stats"
    async with httpx.AsyncClient(trust_env=False, timeout=20) as client:
        assert (await client.get(stats)).status_code == 401
        sup = {"Authorization": f"Bearer {system.tokens['supervisor']}"}
        assert (await client.get(stats, headers=sup)).status_code == 403
        in_url = await client.get(stats, params={"token": system.tokens["admin"]})
        assert in_url.status_code == 401  # never from the address
    async with wall_client(system, "admin") as admin:
        html = (await admin.get(wall_url(system, "network"))).text
        live = get_session_id(page_token(html))
        r = await admin.get(stats, headers={"Authorization": f"Bearer {system.tokens['admin']}"})
        assert r.status_code == 200 and r.json()["status"] in ("ok", "connecting")
        assert live not in r.text  # live session ids are never listed


async def test_a_known_session_id_does_not_attach_to_someone_elses_wall(system: Stack) -> None:
    async with wall_client(system, "admin") as admin, wall_client(system, "supervisor") as other:
        victim = page_token((await admin.get(wall_url(system, "network"))).text)
        session_id = get_session_id(victim)
        assert await attaches(system, victim, admin.cookies.get(COOKIE))  # the admin's own wall
        stranger = other.cookies.get(COOKIE)
        forged = generate_jwt_token(session_id, secret_key=None, signed=False,
                                    extra_payload=get_token_payload(victim))
        assert not await attaches(system, forged, None)  # no cookie at all
        assert not await attaches(system, forged, stranger)  # unsigned: refused
        wrong_key = generate_jwt_token(session_id, secret_key=b"x" * 32, signed=True)
        assert not await attaches(system, wrong_key, stranger)
        assert not await attaches(system, victim, stranger)  # the real token, another viewer
        # the page handler does not hand out a token for an existing session id either
        r = await other.get(system.wall, params={"bokeh-session-id": session_id})
        assert r.status_code == 403 and session_id not in r.text
        r = await other.get(system.wall, headers={"Bokeh-Session-Id": session_id})
        assert r.status_code == 403


async def test_a_refused_acknowledgement_shows_the_servers_text_as_text() -> None:
    async def refuse(alert_id: str, who: str) -> None:
        raise AckError(f"409: {EVIL}")

    panel = AlertsPanel("en", "", refuse)
    slot = panel.slots[0]
    slot.alert_id = "a-1"
    await panel._ack(slot)
    assert panel.message.visible and "<img" not in panel.message.object
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.message.object


@pytest.mark.browser
async def test_markup_in_the_address_is_shown_as_text_and_never_runs(admin_system: Stack,
                                                                     browser: Any) -> None:
    page = watched(await browser.new_page(viewport={"width": 1920, "height": 1080}))
    dialogs: list[str] = []
    dismissing: set[asyncio.Task[None]] = set()

    def dialog(d: Any) -> None:
        dialogs.append(d.message)
        task = asyncio.ensure_future(d.dismiss())
        dismissing.add(task)
        task.add_done_callback(dismissing.discard)

    page.on("dialog", dialog)
    await page.goto(wall_url(admin_system, EVIL, token=admin_system.tokens["admin"]))
    banner = page.locator(".banner").first
    await banner.wait_for(timeout=20_000)
    await page.wait_for_timeout(2_000)
    assert dialogs == [] and await page.locator("img[src=x]").count() == 0
    assert EVIL in await banner.inner_text()  # the markup is shown as text
    await shot(page, "wall-markup-in-scope")


@pytest.mark.browser
async def test_admin_opens_the_network_by_url_token_and_acknowledges(admin_system: Stack,
                                                                      browser: Any) -> None:
    url = wall_url(admin_system, "network", token=admin_system.tokens["admin"], who="Petrova")
    page = await open_wall(browser, url)
    assert "token=" not in page.url and "scope=network" in page.url
    assert COOKIE not in await page.evaluate("document.cookie")  # HttpOnly
    assert await page.locator("a[href*='token=']").count() == 0
    assert await page.locator("[data-k=board] tr[data-loc]").count() >= 2  # live data
    card = page.locator("[data-alert]").first
    await card.wait_for(timeout=20_000)
    await page.get_by_role("button", name="Принять").first.click()
    await page.locator("[data-k=acked]").first.wait_for(timeout=10_000)
    assert "Petrova" in await page.locator("[data-k=acked]").first.inner_text()
    await shot(page, "wall-network-admin-acknowledged")
    await page.reload()  # the cookie keeps the viewer; no token needed any more
    await page.locator("[data-k=buttons]").first.wait_for(timeout=20_000)
    await page.locator(".hdr .nav a").first.click()  # into a region, still without a token
    await page.wait_for_url("**/wall?scope=*")
    assert "token=" not in page.url
    await page.locator("[data-k=board]").first.wait_for(timeout=20_000)
    await shot(page, "wall-region-by-cookie")
