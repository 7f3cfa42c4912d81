"""The cache (trend thinning, listeners, errors), the feed's pure helpers, and the HTML."""

from __future__ import annotations

import datetime as dt

from msgspec.structs import replace

from cxpulse.config import Config
from dashboards import render, render_live
from dashboards.alertview import AlertCard
from dashboards.cache import TREND_STEP_MS, Cache
from dashboards.feed import backoff_s, server_urls
from dashboards.fmt import Score, nps_score
from stream.geography import Geo
from stream.push import Ack, Alert, MetricsData, PlaybookText, envelope, payload, subscribe
from stream.readmodel import Metrics
from tests.support.checks import present


def metrics(nps: float | None, n: int) -> MetricsData:
    m = Metrics(scope="a", window="1h", start_ms=0, end_ms=0, nps=nps, responses=n)
    return MetricsData("a", {"1h": m, "today": replace(m, window="today")})


def test_cache_thins_the_trend_skips_small_samples_and_notifies() -> None:
    cache = Cache(Geo("UTC"), min_sample=10)
    seen: list[str] = []
    cache.listen(seen.append)
    for i, (nps, n) in enumerate([(10, 20), (11, 20), (12, 5), (13, 20), (None, 0)]):
        cache.put("metrics:a", metrics(nps, n), i, 1_000 + i * TREND_STEP_MS // 2 * 2, 0)
    assert [p[1] for p in cache.trends["a"]] == [10.0, 11.0, 13.0]
    cache.put("metrics:a", metrics(50, 20), 9, cache.trends["a"][-1][0] + 1, 0)  # too soon
    assert len(cache.trends["a"]) == 3
    assert cache.trend_since("a", cache.trends["a"][0][0]) == list(cache.trends["a"])[1:]
    cache.fail("metrics:x", "forbidden", "no")
    assert cache.errors["metrics:x"] == ("forbidden", "no") and seen[-1] == "metrics:x"

    def broken(_: str) -> None:
        raise RuntimeError("a broken session")

    cache.listen(broken)
    cache.put("alerts", None, 1, 0, 5)  # the other listeners still hear about it
    assert seen[-1] == "alerts" and cache.age_ms("alerts", 7) == 2


def test_backoff_doubles_to_a_cap_with_jitter() -> None:
    assert backoff_s(0, 0.5) == 0.5 and backoff_s(1, 0.5) == 1.0 and backoff_s(10, 0.5) == 10.0
    assert 0.375 <= backoff_s(0, 0.0) < backoff_s(0, 0.999) < 0.63
    assert backoff_s(10_000, 0.5) == 10.0


def test_server_urls() -> None:
    cfg = Config()
    assert server_urls(cfg) == ("http://127.0.0.1:8700", "ws://127.0.0.1:8700/ws")
    wild = replace(cfg, server=replace(cfg.server, host="0.0.0.0", port=9000),
                   dashboards=replace(cfg.dashboards, public_origins=("wall.example",)))
    assert server_urls(wild)[1] == "ws://127.0.0.1:9000/ws"
    v6 = replace(cfg, server=replace(cfg.server, host="::1"))
    assert server_urls(v6)[0] == "http://[::1]:8700"
    remote = replace(cfg, dashboards=replace(cfg.dashboards, server_url="https://cx.example/"))
    assert server_urls(remote) == ("https://cx.example", "wss://cx.example/ws")


def test_wire_roundtrip() -> None:
    env = envelope(b'{"type":"update","topic":"metrics:a","seq":3,"ts_ms":9,"data":'
                   b'{"scope":"a","windows":{"1h":{"scope":"a","window":"1h","start_ms":0,'
                   b'"end_ms":1,"nps":12.5,"responses":4,"future_field":1}}}}')
    data = payload(present(env.topic, "topic"), env.data)
    assert isinstance(data, MetricsData) and data.windows["1h"].nps == 12.5
    assert payload("news:a", env.data) is None  # a topic kind the contract does not know
    assert subscribe(["a"], ["1h"], 1) == \
        '{"op":"subscribe","topics":["a"],"windows":["1h"],"id":1}'


def test_a_tile_with_too_few_answers_shows_no_score() -> None:
    few = nps_score(-80.0, 3, 10, 50)
    html = render.tile("nps-nr", "NPS", "today", few, -80.0, "ru", 10)
    assert "мало ответов: 3 из 10" in html and "80" not in html
    assert 'data-v=""' in html and 'data-n="3"' in html
    ok = render.tile("csat", "CSAT", "1h", Score("91%", "ok", "good", 40), 91.2, "en", 10)
    assert 'data-v="91.2"' in ok and "1 h · n=40" in ok and 'class="big good"' in ok


def test_buttons_bar_and_data_attributes() -> None:
    html = render.buttons({"1": 0.25, "3": 0.75}, {"1": 5, "3": 15}, 20, 75.0, "en", 10)
    assert 'data-presses="20"' in html and 'data-s1="0.25"' in html and 'data-s2="0"' in html
    assert "75%" in html and "index" in html
    assert "too few answers: 4 of 10" in render.buttons({"1": 1.0}, {"1": 4}, 4, 0.0, "en", 10)


def test_header_links_keep_the_scope_and_language_but_no_token() -> None:
    html = render_live.header("Moscow", "region", [("network", "↑ All")], ("bad", "lost"),
                              "12:00:00", "msk", "en")
    assert 'data-v="bad"' in html and "lost" in html
    assert 'href="./wall?scope=msk&amp;lang=ru"' in html
    assert 'href="./wall?scope=network&amp;lang=en"' in html and "token" not in html


def test_a_banner_shows_markup_as_text() -> None:
    assert render_live.banner("refused: <img src=x onerror=alert(1)>") == \
        '<div class="banner">refused: &lt;img src=x onerror=alert(1)&gt;</div>'


def test_alert_card_shows_event_tasks_actions_and_who_took_it() -> None:
    pb = PlaybookText("Red button", ["Listen", "Fix"], ["Apologise"])
    a = Alert(id="x1", rule="red", status="firing", severity="critical", scope="a",
              labels={"location": "a"}, metric="buttons.shares.1", value=0.41, op=">",
              threshold=0.3, starts_ms=0, acknowledged=Ack("wall", 60_000, "Ivanova"))
    html = render_live.alert_card(AlertCard(a, pb, "a"), {"a": "Arbat"}, dt.UTC, "en")
    for text in ("Red button", "Arbat", "Listen", "Apologise", "taken by Ivanova · 00:01",
                 "critical", "0.41 &gt; 0.3"):
        assert text in html, text
    compact = render_live.alert_card(AlertCard(a, pb, "a"), {}, dt.UTC, "en", full=False)
    assert "Listen" not in compact and "Red button" in compact


def test_gate_checks_the_page_token_and_its_scope() -> None:
    from cxpulse.config import load_config_text
    from dashboards.access import Gate
    from tests.support.wall_seed import ADMIN, SUPERVISOR, config_text

    gate = Gate.from_config(load_config_text(config_text("/tmp", 1, 2)))
    sup, admin = gate.viewer(SUPERVISOR), gate.viewer(ADMIN)
    assert gate.viewer(None) is None and gate.viewer("nope") is None
    assert sup is not None and admin is not None and sup.name == "wall-supervisor"
    assert gate.refusal(sup, "msk") is None and gate.refusal(sup, "msk-a") is None
    assert gate.refusal(sup, "network") is not None and gate.refusal(admin, "network") is None
    assert gate.home(admin) == "network" and gate.home(sup) == "msk"
    cfg = Config()
    open_gate = Gate.from_config(replace(cfg, auth=replace(cfg.auth, enabled=False)))
    assert present(open_gate.viewer(None), "viewer").role == "admin"
