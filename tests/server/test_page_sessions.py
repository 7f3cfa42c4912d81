"""Issue 14 #3: tokens leave the browser's address bar, pages and the API carry security
headers, and wrong tokens are throttled per client address.

The display page exchanges ``?token=`` once for an HttpOnly session cookie and redirects to
the same URL without it; the page's websocket then authenticates with that cookie (and only
from the server's own origin). The API keeps ``Authorization: Bearer`` and ``?token=``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
import websockets
from pytest import LogCaptureFixture
from websockets.typing import Origin

from tests.support.network import config_text, serving, token
from tests.support.stack import Stack, close_frame

COOKIE = "cx_session"


def session_of(set_cookie: str) -> str:
    name, _, rest = set_cookie.partition("=")
    assert name == COOKIE, set_cookie
    return rest.split(";")[0]


async def exchange(live: Stack, location: str = "msk-a", who: str = "display_a",
                   **params: str) -> httpx.Response:
    """The display page opened with ``?token=`` (not following the redirect)."""
    async with live.http() as h:
        return await h.get(f"/display/{location}", params={"token": token(who), **params})


async def test_display_token_is_exchanged_once_for_a_session_cookie(live: Stack) -> None:
    r = await exchange(live, lang="en")
    assert r.status_code == 303
    assert r.headers["location"] == "/display/msk-a?lang=en"  # the token is gone, lang stays
    cookie = r.headers["set-cookie"]
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= attrs and "secure" not in attrs
    assert any(a.startswith("max-age=") for a in attrs)
    sid = session_of(cookie)
    assert token("display_a") not in cookie and len(sid) >= 32
    async with live.http() as h:
        page = await h.get("/display/msk-a?lang=en", cookies={COOKIE: sid})
        other = await h.get("/display/ekb", cookies={COOKIE: sid})  # the token's scope holds
        bare = await h.get("/display/msk-a")
        forged = await h.get("/display/msk-a", cookies={COOKIE: "f" * 64})
    assert page.status_code == 200 and "How was it with us today?" in page.text
    assert token("display_a") not in page.text
    assert other.status_code == 403 and bare.status_code == 401 and forged.status_code == 401


async def test_the_page_websocket_authenticates_with_the_cookie_from_its_own_origin(
    live: Stack,
) -> None:
    sid = session_of((await exchange(live)).headers["set-cookie"])
    url = f"ws://127.0.0.1:{live.port}/ws"
    same = f"http://127.0.0.1:{live.port}"
    async with websockets.connect(url, additional_headers={"Cookie": f"{COOKIE}={sid}"},
                                  origin=Origin(same)) as ws:
        hello = await asyncio.wait_for(ws.recv(), 5)
        assert '"role":"display"' in hello
    async with websockets.connect(url, additional_headers={"Cookie": f"{COOKIE}={sid}"},
                                  origin=Origin("http://evil.example")) as ws:
        assert '"unauthorized"' in await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
    assert close_frame(info.value).code == 4001


async def test_a_session_survives_a_server_restart(live: Stack) -> None:
    sid = session_of((await exchange(live)).headers["set-cookie"])
    await live.restart()
    async with live.http() as h:
        assert (await h.get("/display/msk-a", cookies={COOKIE: sid})).status_code == 200


async def test_the_cookie_is_secure_behind_an_https_proxy(tmp_path: Path) -> None:
    text = config_text(trusted_proxies=["127.0.0.0/8"])
    async with serving(tmp_path, text) as live, live.http() as h:
        r = await h.get("/display/msk-a", params={"token": token("display_a")},
                        headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 303
    assert "secure" in {a.strip().lower() for a in r.headers["set-cookie"].split(";")}


async def test_the_api_takes_no_session_cookie(live: Stack) -> None:
    sid = session_of((await exchange(live, who="admin")).headers["set-cookie"])
    async with live.http() as h:
        r = await h.get("/api/metrics/msk-a", cookies={COOKIE: sid})
    assert r.status_code == 401  # cookies would open the API to cross-site requests


async def test_tokens_are_never_logged(live: Stack, caplog: LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with live.http() as h:
        await h.get("/api/metrics/msk", params={"token": token("sup_msk")})
        await h.get("/api/metrics/msk", params={"token": "wrong-secret-123"})
        await h.get("/display/msk-a", params={"token": token("display_a")})
    server_side = ("cxpulse", "uvicorn", "litestar")  # not the test's own httpx client
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    assert token("sup_msk") not in text and "wrong-secret-123" not in text
    assert token("display_a") not in text


HEADERS = {"referrer-policy": "no-referrer", "x-frame-options": "DENY",
           "x-content-type-options": "nosniff"}


async def test_security_headers_on_every_page_and_api_response(live: Stack) -> None:
    sid = session_of((await exchange(live)).headers["set-cookie"])
    async with live.http() as h:
        responses = {
            "health": await h.get("/api/health"),
            "401": await h.get("/api/metrics/msk"),
            "404": await h.get("/api/nothing-here"),
            "schema": await h.get("/schema/openapi.json"),
            "survey": await h.get("/q/msk-a"),
            "display": await h.get("/display/msk-a", cookies={COOKIE: sid}),
            "redirect": await exchange(live),
            "413": await h.post("/q/msk-a", content=b"{" * 300_000,
                                headers={"content-type": "application/json"}),
        }
    for name, r in responses.items():
        got = {k: r.headers.get(k) for k in HEADERS}
        assert got == HEADERS, (name, r.status_code, got)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, (name, csp)
    for page in ("survey", "display"):  # strict: inline code only by its hash
        csp = responses[page].headers["content-security-policy"]
        assert "'unsafe-inline'" not in csp and "'sha256-" in csp, csp
        assert "ws:" not in csp.split() and "wss:" not in csp.split(), csp  # no other host


async def test_wrong_tokens_are_throttled_per_client_address(tmp_path: Path) -> None:
    text = config_text(auth_failures_per_min=5, trusted_proxies=["127.0.0.0/8"])
    async with serving(tmp_path, text) as live, live.http() as h:
        here = {"X-Forwarded-For": "203.0.113.7"}
        codes = [(await h.get("/api/metrics/msk", params={"token": f"guess-{i}"},
                              headers=here)).status_code for i in range(5)]
        assert codes == [401] * 5
        limited = await h.get("/api/metrics/msk", params={"token": "guess-5"}, headers=here)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        right = await h.get("/api/metrics/msk", headers={
            **here, "Authorization": f"Bearer {token('sup_msk')}"})
        assert right.status_code == 429  # a right guess is not told apart while throttled
        page = await h.get("/display/msk-a", params={"token": "guess-6"}, headers=here)
        assert page.status_code == 429
        elsewhere = await h.get("/api/metrics/msk", headers={
            "X-Forwarded-For": "203.0.113.8", "Authorization": f"Bearer {token('sup_msk')}"})
        assert elsewhere.status_code == 200
        missing = [(await h.get("/api/metrics/msk", headers={"X-Forwarded-For": "203.0.113.9"})
                    ).status_code for _ in range(8)]
        assert missing == [401] * 8  # no token is no guess
        async with websockets.connect(f"ws://127.0.0.1:{live.port}/ws?token=guess-7",
                                      additional_headers=here) as ws:
            first = await asyncio.wait_for(ws.recv(), 5)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
        assert '"rate_limited"' in first and close_frame(info.value).code == 4029
