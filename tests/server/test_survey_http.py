"""The public QR survey over HTTP: questions, language, posting, cooldown, rate limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cxpulse.config import load_config_text
from tests.support.network import config_text, serving
from tests.support.stack import Stack


def questions(html: str) -> list[str]:
    return [q for q in re.findall(r'data-question="([^"]+)"', html) if q != "nps"]


async def test_survey_page_language_and_questions(live: Stack) -> None:
    async with live.http() as h:
        ru = await h.get("/q/msk-a")
        en = await h.get("/q/ekb")  # that location's language
        forced = await h.get("/q/msk-a?lang=en")
        missing = await h.get("/q/nowhere")
    assert ru.status_code == 200 and "Почему?" in ru.text and 'lang="ru"' in ru.text
    assert "Москва, Тверская" in ru.text
    assert "Why?" in en.text and "Why?" in forced.text
    assert len(questions(ru.text)) == 2 and set(questions(ru.text)) <= {
        "clean",
        "speed",
        "attention",
    }
    assert missing.status_code == 404
    assert "default-src 'none'" in ru.headers["content-security-policy"]
    picks = set()
    async with live.http() as h:
        for _ in range(8):
            picks.add(tuple(questions((await h.get("/q/msk-a")).text)))
    assert len(picks) > 1  # picked at random per survey


async def test_survey_posts_through_the_core_then_cools_down(live: Stack) -> None:
    async with live.http() as phone:
        r = await phone.post("/q/msk-a", json={"nps": 10, "why": "Быстро", "csi": {"speed": 5,
                                                                                 "clean": 4}})
        assert r.status_code == 202 and "cxq" in r.cookies
        again = await phone.post("/q/msk-a", json={"nps": 0})
        page = await phone.get("/q/msk-a")
        other = await phone.post("/q/msk-b", json={"nps": 9})  # the cookie is per location
    assert again.status_code == 429 and again.json()["error"] == "cooldown"
    assert "Снова можно будет через 30 мин" in page.text and 'id="survey-form"' not in page.text
    assert other.status_code == 202
    assert await live.running_core.wait_idle(20)
    m = live.running_core.metrics("msk-a", "today")
    assert (m.promoters, m.responses, m.sessions) == (1, 1, 1)
    assert m.csi.factors["responsiveness"] == 1.0 and m.csi.answers == 2
    async with live.http() as new_phone:  # another phone (User-Agent) on the same Wi-Fi
        assert (await new_phone.post("/q/msk-a", json={"nps": 3}, headers={
            "User-Agent": "Mozilla/5.0 (Linux; Android 14)"})).status_code == 202
    async with live.http() as cleared:  # the first phone without its cookie: still cooling
        assert (await cleared.post("/q/msk-a", json={"nps": 0})).status_code == 429


async def test_survey_errors_name_the_field(live: Stack) -> None:
    cases = [
        ({"nps": 11}, "nps"),
        ({"why": "x"}, "nps"),
        ({"nps": 5, "csi": {"nope": 3}}, "csi.nope"),
        ({"nps": 5, "csi": {"clean": 9}}, "csi.clean"),
        ({"nps": 5, "csi": {"clean": 1, "speed": 1, "attention": 1}}, "csi"),
        ({"nps": 5, "who": "me"}, "who"),
    ]
    async with live.http() as h:
        for body, field in cases:
            r = await h.post("/q/msk-a", json=body)
            assert (r.status_code, r.json()["field"]) == (422, field), body
        bad_json = await h.post("/q/msk-a", content=b"{",
                                headers={"content-type": "application/json"})
        assert bad_json.status_code == 422
        form = await h.post("/q/msk-a", content=b'{"nps": 10}',
                            headers={"content-type": "text/plain"})
        assert (form.status_code, form.json()["field"]) == (415, "content-type")
        assert (await h.post("/q/nowhere", json={"nps": 1})).status_code == 404


async def test_survey_rate_limit_per_client(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text(survey_rate_per_min=3)) as live, live.http() as h:
        codes = [(await h.get("/q/msk-a")).status_code for _ in range(3)]
        limited = await h.post("/q/msk-a", json={"nps": 7})
    assert codes == [200, 200, 200]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


@pytest.mark.parametrize("trusted", [(), ("127.0.0.0/8",)], ids=["no-proxy", "behind-proxy"])
async def test_survey_rate_limit_keys_on_forwarded_address_only_from_trusted_proxies(
        tmp_path: Path, trusted: tuple[str, ...]) -> None:
    """Phones behind a trusted reverse proxy each get their own limit; without
    ``trusted_proxies`` a forged X-Forwarded-For cannot dodge the limit."""
    text = config_text(survey_rate_per_min=2, trusted_proxies=list(trusted))
    async with serving(tmp_path, text) as live, live.http() as h:
        codes = []
        for phone in ("203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.3"):
            r = await h.get("/q/msk-a", headers={"X-Forwarded-For": phone})
            codes.append(r.status_code)
    if trusted:
        assert codes == [200, 200, 200, 200]  # per phone: 2, 1 and 1 requests
    else:
        assert codes == [200, 200, 429, 429]  # all from 127.0.0.1


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(Exception, match=r"server.trusted_proxies: 'proxy.local'"):
        load_config_text(config_text(trusted_proxies=["proxy.local"]))
