"""Every HTTP endpoint against the real core and a real nats-server."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from pytest import LogCaptureFixture

from tests.support.network import button, config_text, now_ms, serving
from tests.support.stack import Stack


async def test_health_is_open_and_reports_the_core_to_admins(live: Stack) -> None:
    async with live.http() as h, live.http("admin") as admin:
        r = await h.get("/api/health")
        full = (await admin.get("/api/health")).json()
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert full["status"] == "ok" and full["nats"] == "connected" and full["core"] == "running"
    assert full["server"]["clients"] == 0


async def test_metrics_follow_published_events(live: Stack) -> None:
    await live.publish(
        *[button("msk-a", v) for v in (3, 3, 3, 2, 1)],
        {
            "id": "n1",
            "ts": now_ms(),
            "location": "msk-a",
            "type": "nps",
            "value": 10,
            "staff": "s7",
        },
        {"id": "n2", "ts": now_ms(), "location": "msk-b", "type": "nps", "value": 2},
    )
    async with live.http("admin") as h:
        loc = (await h.get("/api/metrics/msk-a", params={"window": "today"})).json()
        region = (await h.get("/api/metrics/msk?window=1h")).json()
        staff = (await h.get("/api/metrics/msk-a?window=today&staff=s7")).json()
        default = await h.get("/api/metrics/network")
    assert loc["buttons"]["presses"] == 5 and loc["buttons"]["shares"]["3"] == pytest.approx(0.6)
    assert loc["nps"] == 100 and loc["csat"] is None and loc["incidents"]["open"] == 0
    assert set(loc["csi"]) >= {"total", "factors"} and set(loc["flow"]) >= {
        "contacts",
        "by_channel",
    }
    assert region["responses"] == 2 and region["nps"] == 0 and region["window"] == "1h"
    assert staff["responses"] == 1 and staff["staff"] == "s7"
    assert default.status_code == 200 and default.json()["window"] == "today"


@pytest.mark.parametrize(("path", "status", "field"), [
    ("/api/metrics/msk-a?window=2h", 400, "window"),
    ("/api/metrics/nowhere", 404, "scope"),
    ("/api/metrics/msk-a?window=1h&staff=s1", 400, "window"),
    ("/api/incidents?status=lost", 400, "status"),
    ("/api/incidents?location=msk-a&scope=msk", 400, "scope"),
    ("/api/display/msk", 400, "location"),
    ("/api/nothing-here", 404, None),
])
async def test_errors_are_json_naming_the_field(live: Stack, path: str, status: int,
                                                field: str | None) -> None:
    async with live.http("admin") as h:
        r = await h.get(path)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and body["field"] == field and body["message"]


async def test_flow_profile(live: Stack) -> None:
    async with live.http("admin") as h:
        r = await h.get("/api/metrics/network/profile")
    assert r.status_code == 200
    body = r.json()
    assert body["scope"] == "network" and len(body["contacts"]) == 7
    assert all(len(row) == 24 for row in body["contacts"])


def incident(location: str, inc: str, action: str = "open", **extra: Any) -> dict[str, Any]:
    body = {"id": f"i-{uuid.uuid4().hex}", "ts": now_ms() - 1000, "location": location,
            "incident": inc, "action": action, **extra}
    if action == "open":
        body.setdefault("category", "claim")
    return body


async def test_incidents_filters_and_scope(live: Stack) -> None:
    await live.publish(incident("msk-a", "A1", text="грубость"), incident("ekb", "E1"),
                       incident("msk-b", "B1", category="thanks"), kind="incident")
    async with live.http("admin") as h:
        every = (await h.get("/api/incidents")).json()
        only_a = (await h.get("/api/incidents", params={"location": "msk-a"})).json()
        region = (await h.get("/api/incidents", params={"scope": "msk", "status": "open"})).json()
        late = (await h.get("/api/incidents", params={"breached": "true"})).json()
    assert {v["incident"] for v in every} == {"A1", "E1", "B1"}
    assert [v["incident"] for v in only_a] == ["A1"] and only_a[0]["text"] == "грубость"
    assert [v["incident"] for v in region] == ["A1"]  # thanks are resolved at once
    assert late == []
    async with live.http("sup_msk") as h:
        mine = (await h.get("/api/incidents")).json()
        theirs = await h.get("/api/incidents", params={"location": "ekb"})
    assert {v["incident"] for v in mine} == {"A1", "B1"} and theirs.status_code == 403


async def test_locations_are_filtered_by_token(live: Stack) -> None:
    seen = {}
    for who in ("admin", "sup_msk", "sup_ekb", "display_a"):
        async with live.http(who) as h:
            seen[who] = sorted(v["id"] for v in (await h.get("/api/locations")).json())
    assert seen == {"admin": ["ekb", "msk-a", "msk-b"], "sup_msk": ["msk-a", "msk-b"],
                    "sup_ekb": ["ekb"], "display_a": ["msk-a"]}


async def test_display_endpoint_has_only_display_data(live: Stack) -> None:
    await live.publish(*[button("msk-a", v, comment="Иванов нагрубил", staff="ivanov")
                         for v in (3, 3, 1)])
    async with live.http("display_a") as h:
        r = await h.get("/api/display/msk-a")
    body = r.json()
    assert r.status_code == 200 and body["ratings"] == 3 and body["buttons"] == 3
    assert body["shares"] == pytest.approx([1 / 3, 0, 2 / 3]) and body["counts"] == [1, 0, 2]
    assert "ivanov" not in r.text and "нагрубил" not in r.text and "incidents" not in r.text


async def dead_letters(live: Stack, subject: str) -> list:
    js = live.js
    sub = await js.subscribe(subject, ordered_consumer=True)
    out = []
    try:
        while True:
            out.append(await sub.next_msg(timeout=0.5))
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return out


async def test_post_feedback_accepts_and_rejects_with_dead_letters(live: Stack) -> None:
    good = button("msk-a", 2)
    bad_value = {**button("msk-a", 2), "value": 9}
    async with live.http("admin") as h:
        ok = await h.post("/api/feedback", json=good)
        again = await h.post("/api/feedback", json=good)  # same id: counted once
        r1 = await h.post("/api/feedback", content=json.dumps(bad_value))
        r2 = await h.post("/api/feedback", content=b"{not json")
        r3 = await h.post("/api/feedback", json={"id": "x", "ts": now_ms(), "type": "nps",
                                                  "value": 5})
        r4 = await h.post("/api/feedback", json={**button("msk-a", 1), "ts": now_ms() + 3_600_000})
    assert ok.status_code == 202 and ok.json() == {"status": "accepted", "id": good["id"],
                                                   "subject": "cx.feedback.msk-a"}
    assert again.status_code == 202
    assert (r1.status_code, r1.json()["field"], r1.json()["error"]) == (
        422,
        "value",
        "out_of_range",
    )
    assert (r2.status_code, r2.json()["field"], r2.json()["error"]) == (422, None, "not_json")
    assert (r3.status_code, r3.json()["field"]) == (422, "location")
    assert (r4.status_code, r4.json()["field"], r4.json()["error"]) == (422, "ts", "future_ts")
    assert await live.running_core.wait_idle(20)
    assert live.running_core.metrics("msk-a", "today").buttons.presses == 1
    letters = await dead_letters(live, "cx.dlq.api")
    assert len(letters) == 4
    assert letters[0].data == json.dumps(bad_value).encode()  # the payload unchanged
    assert letters[0].headers["Cx-Original-Subject"] == "cx.feedback.msk-a"
    assert letters[0].headers["Cx-Reason-Code"] == "out_of_range"
    assert letters[0].headers["Cx-Api-Client"] == "admin"
    assert letters[2].headers["Cx-Original-Subject"] == "cx.feedback"


async def test_openapi_is_published(live: Stack) -> None:
    async with live.http() as h:
        r = await h.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/api/health", "/api/metrics/{scope_id}", "/api/incidents", "/api/locations",
            "/api/feedback"} <= set(paths)
    assert "Metrics" in r.json()["components"]["schemas"]


async def test_cors_is_off_by_default(live: Stack) -> None:
    async with live.http("admin") as h:
        r = await h.get("/api/locations", headers={"Origin": "https://evil.example"})
        pre = await h.options("/api/locations", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in pre.headers


async def test_cors_when_configured(tmp_path: Path) -> None:
    text = config_text(cors_origins=["https://wall.example"])
    async with serving(tmp_path, text) as live, live.http("admin") as h:
        r = await h.get("/api/locations", headers={"Origin": "https://wall.example"})
    assert r.headers["access-control-allow-origin"] == "https://wall.example"


async def test_auth_disabled_is_loud_and_open(tmp_path: Path, caplog: LogCaptureFixture) -> None:
    text = config_text().replace("enabled = true", "enabled = false")
    with caplog.at_level(logging.WARNING, logger="cxpulse.server"):
        async with serving(tmp_path, text) as live, live.http() as h:
            r = await h.get("/api/metrics/network")
    assert r.status_code == 200
    assert any("enabled = false" in rec.getMessage() for rec in caplog.records)
