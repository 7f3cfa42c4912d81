"""Issue 14 #6 and #9 (survey): one phone cannot stuff a location's NPS, bursts are held
for a supervisor instead of reaching the metrics, odd cookies are ignored, and a public
listener without ``trusted_proxies`` is warned about at start-up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pytest import LogCaptureFixture

from cxpulse.config import load_config_text
from server.context import startup_warnings
from tests.support.network import config_text, serving
from tests.support.stack import Stack

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1"


async def responses(live: Stack, location: str = "msk-a") -> int:
    assert await live.running_core.wait_idle(20)
    return live.running_core.metrics(location, "today").responses


async def test_ten_zero_scores_from_one_phone_count_once(live: Stack) -> None:
    """The attack of the issue: drop the cookie, post again; ten {"nps": 0} fire nps-drop."""
    codes = []
    for _ in range(10):
        async with live.http() as fresh:  # no cookie each time
            r = await fresh.post("/q/msk-a", json={"nps": 0}, headers={"User-Agent": PHONE})
            codes.append(r.status_code)
    assert codes == [202] + [429] * 9
    assert await responses(live) == 1
    async with live.http() as fresh:  # the page, too, says "already answered"
        page = await fresh.get("/q/msk-a", headers={"User-Agent": PHONE})
    assert 'id="survey-form"' not in page.text


async def test_a_burst_from_one_address_is_held_for_a_supervisor(live: Stack) -> None:
    """Changing the User-Agent each time passes the device cooldown; from the fourth answer
    of one address within 10 minutes the answers are held out of the metrics."""
    for i in range(10):
        async with live.http() as fresh:
            r = await fresh.post("/q/msk-a", json={"nps": 0, "why": f"плохо {i}"},
                                 headers={"User-Agent": f"{PHONE} v{i}"})
            assert r.status_code == 202  # the sender is not told
    assert await responses(live) == 3
    async with live.http("sup_ekb") as other, live.http("display_a") as display:
        assert (await other.get("/api/survey/held", params={"location": "msk-a"})
                ).status_code == 403
        assert (await display.get("/api/survey/held", params={"location": "msk-a"})
                ).status_code == 403
    async with live.http("sup_msk") as sup:
        held = (await sup.get("/api/survey/held", params={"location": "msk-a"})).json()
        assert len(held["items"]) == 7 and held["dropped"] == 0
        first = held["items"][0]
        assert first["location"] == "msk-a" and first["nps"] == 0 and first["reason"] == "address"
        assert first["why"].startswith("плохо")
        ok = await sup.post(f"/api/survey/held/{first['id']}/accept")
        no = await sup.post(f"/api/survey/held/{held['items'][1]['id']}/reject")
        twice = await sup.post(f"/api/survey/held/{first['id']}/accept")
        left = (await sup.get("/api/survey/held", params={"location": "msk-a"})).json()
    assert (ok.status_code, no.status_code, twice.status_code) == (202, 200, 404)
    assert len(left["items"]) == 5
    assert await responses(live) == 4  # the accepted one counts, once


async def test_a_burst_at_one_location_from_many_addresses_is_held(tmp_path: Path) -> None:
    text = config_text(survey_burst_per_location=4, trusted_proxies=["127.0.0.0/8"])
    async with serving(tmp_path, text) as live:
        for i in range(6):
            async with live.http() as phone:
                r = await phone.post("/q/msk-b", json={"nps": 1}, headers={
                    "X-Forwarded-For": f"198.51.100.{i}", "User-Agent": PHONE})
                assert r.status_code == 202
        assert await responses(live, "msk-b") == 4
        async with live.http("admin") as admin:
            held = (await admin.get("/api/survey/held")).json()["items"]
        assert [h["reason"] for h in held] == ["location", "location"]


@pytest.mark.parametrize("cookie", [b"9" * 5000, "١٢٣.abc".encode(), b"12.\xff\xfe",
                                    b"99999999999999999999999.00", b"."])
async def test_odd_survey_cookies_are_ignored(live: Stack, cookie: bytes) -> None:
    async with live.http() as h:
        headers = [(b"cookie", b"cxq=" + cookie), (b"user-agent", PHONE.encode())]
        page = await h.get("/q/msk-a", headers=headers)
        post = await h.post("/q/msk-a", json={"nps": 8}, headers=headers)
    assert page.status_code == 200 and 'id="survey-form"' in page.text
    assert post.status_code == 202


def test_a_public_listener_without_trusted_proxies_is_warned_about(
    caplog: LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="cxpulse.server")
    wall = '\n[dashboards]\npublic_origins = ["cx.shop.example:8701"]\n'
    public = load_config_text(config_text(host="0.0.0.0") + wall)
    behind = load_config_text(config_text(host="0.0.0.0", trusted_proxies=["10.0.0.5"]) + wall)
    local = load_config_text(config_text())
    assert any("trusted_proxies" in w for w in startup_warnings(public))
    assert not any("trusted_proxies" in w for w in startup_warnings(behind))
    assert not any("trusted_proxies" in w for w in startup_warnings(local))


async def test_server_text_reaches_the_pages_as_text_only(tmp_path: Path) -> None:
    """A location name is configuration, but never markup: escaped in the survey page and
    kept inside the display's JSON config (the display script sets text, not HTML)."""
    evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>'
    text = config_text().replace('name = "Москва, Тверская"', f"name = '{evil}'")
    async with serving(tmp_path, text) as live, live.http() as h:
        survey = (await h.get("/q/msk-a")).text
        display = (await h.get("/display/msk-a", params={"token": "t-display-a"},
                               follow_redirects=True)).text
    for page in (survey, display):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in survey
    assert "\\u003c/script>\\u003cscript>alert(1)" in display  # inert JSON text
