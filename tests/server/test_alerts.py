"""``/api/alerts`` and the ``alerts`` topic wired to the real AlertService."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.network import button, config_text, serving
from tests.support.stack import Stack

ALERTS = """
[alerts]
eval_interval_s = 0.2
min_eval_gap_s = 0
group_wait_s = 0
[[alerts.rules]]
id = "red-button"
metric = "buttons.shares.1"
op = ">"
threshold = 0.5
window = "today"
severity = "critical"
[alerts.rules.playbook.ru]
event = "Клиент нажал красную кнопку"
tasks = ["Дать клиенту высказаться"]
actions = ["Я искренне прошу прощения…"]
"""


@pytest.fixture
async def live_alerts(tmp_path: Path) -> AsyncIterator[Stack]:
    async with serving(tmp_path, config_text() + ALERTS, alerts=True) as live:
        yield live


async def test_alerts_topic_api_and_acknowledge(live_alerts: Stack) -> None:
    live = live_alerts
    admin, sup_msk, sup_ekb = [await live.ws(w) for w in ("admin", "sup_msk", "sup_ekb")]
    for ws in (admin, sup_msk, sup_ekb):
        await ws.send(op="subscribe", topics=["alerts"])
        assert (await ws.next(type="snapshot", topic="alerts"))["data"]["alerts"] == []
    await live.publish(*[button("msk-a", 1) for _ in range(3)])
    firing = None
    while firing is None:
        msg = await admin.next(type="update", topic="alerts", timeout=10)
        firing = next((a for a in msg["data"]["alerts"] if a["status"] == "firing"), None)
    assert firing["labels"]["location"] == "msk-a" and firing["playbook"]["ru"]["event"]
    seen = await sup_msk.next(type="update", topic="alerts")
    assert [a["id"] for a in seen["data"]["alerts"]] == [firing["id"]]
    assert all(not m["data"]["alerts"] for m in sup_ekb.seen if m["type"] != "hello"
               and m.get("topic") == "alerts")

    async with live.http("admin") as h:
        assert [a["id"] for a in (await h.get("/api/alerts")).json()] == [firing["id"]]
        assert (await h.get("/api/alerts", params={"status": "pending"})).json() == []
        assert (await h.get("/api/alerts/history")).status_code == 200
        missing = await h.post("/api/alerts/nope/ack", json={"comment": "x"})
    async with live.http("sup_ekb") as h:
        assert (await h.get("/api/alerts")).json() == []
        denied = await h.post(f"/api/alerts/{firing['id']}/ack", json={"comment": "mine"})
    async with live.http("display_a") as h:
        assert (await h.get("/api/alerts")).status_code == 403
    async with live.http("sup_msk") as h:
        ack = await h.post(f"/api/alerts/{firing['id']}/ack", json={"comment": "иду"})
    assert (missing.status_code, missing.json()["field"]) == (404, "alert_id")
    assert denied.status_code == 403
    assert ack.status_code == 200
    assert ack.json()["acknowledged"]["by"] == "sup_msk"
    assert ack.json()["acknowledged"]["comment"] == "иду"
    while True:  # the topic carries the acknowledgement too
        msg = await admin.next(type="update", topic="alerts")
        if msg["data"]["alerts"] and msg["data"]["alerts"][0]["acknowledged"]:
            break
