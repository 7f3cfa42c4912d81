"""``comments:{scope}`` over the websocket and ``/api/comments/topics`` over HTTP, on the
real core, archive writer (the comments service) and server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.admission import refusal
from server.fanout import Mailbox
from server.hubclient import Client
from stream.access import Geo, Principal
from stream.nats_server import EmbeddedNats
from tests.comments.stack import Live, live
from tests.comments.support import SHIFT, answers
from tests.support.days import KOLKATA, MOSCOW, YEKATERINBURG, today_span
from tests.support.stack import WsClient

COMMENTED = sum(1 for _, text in SHIFT if text)


@pytest.fixture
async def stack(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[Live]:
    async with live(nats_server.url, tmp_path) as s:
        # today for a, b and k alike in the network's and region r's zone, whatever the hour
        # older than the newer comments the tests add (the last 60 s)
        first, last = await today_span((MOSCOW, YEKATERINBURG, KOLKATA), MOSCOW, 10 * 60_000,
                                       age_ms=120_000)
        step = (last - first) // len(SHIFT)
        await s.publish(answers("a", first, step) + answers("b", first, step, prefix="b")
                        + answers("k", first, step, prefix="k"))
        yield s


async def snapshots(ws: WsClient, topics: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The snapshot of each of ``topics``, in whatever order they come."""
    got: dict[str, list[dict[str, Any]]] = {}
    while set(got) != topics:
        msg = await ws.next(type="snapshot", timeout=10)
        got[msg["topic"]] = msg["data"]["comments"]
    return got


async def test_snapshot_of_the_latest_then_each_new_comment(stack: Live) -> None:
    ws = await stack.ws("sup")
    await ws.send(op="subscribe", topics=["comments:r"], id=1)
    snap = await ws.next(type="snapshot", topic="comments:r", timeout=10)
    items = snap["data"]["comments"]
    assert len(items) == 2 * COMMENTED
    assert {i["location"] for i in items} == {"a", "b"}  # region r: never k
    assert [i["ts_ms"] for i in items] == sorted((i["ts_ms"] for i in items), reverse=True)
    assert all("916" not in i["comment"] for i in items)  # masked
    assert any("[телефон]" in i["comment"] for i in items)
    assert sum(i["urgent"] for i in items) == 2 and any("wait" in i["topics"] for i in items)
    assert snap["data"]["last_seq"] == max(i["seq"] for i in items)
    # the snapshot comes once the archive answered, so usually after `subscribed`
    assert any(m["type"] == "subscribed" and m["topics"] == ["comments:r"] for m in ws.seen)
    now = int(time.time() * 1000)
    await stack.publish([{"id": "late-k", "location": "k", "ts": now, "type": "nps", "value": 1,
                          "comment": "Грязно и воняет"},
                         {"id": "new-a", "location": "a", "ts": now, "type": "nps", "value": 2,
                          "comment": "Ждали полчаса, позвоните 8 916 555 44 33"}])
    update = await ws.next(type="update", topic="comments:r", timeout=10)
    newest = update["data"]["comments"][0]
    assert (newest["id"], newest["location"], newest["value"]) == ("new-a", "a", 2)
    assert newest["seq"] > snap["data"]["last_seq"] and "[телефон]" in newest["comment"]
    assert "wait" in newest["topics"] and newest["sentiment"] < 0
    assert "late-k" not in {i["id"] for i in update["data"]["comments"]}
    assert len(update["data"]["comments"]) == 2 * COMMENTED + 1
    await ws.close()


async def test_the_list_keeps_the_latest_fifty(stack: Live) -> None:
    now = int(time.time() * 1000)
    await stack.publish([{"id": f"many{i}", "location": "b", "ts": now - 1000 * (60 - i),
                          "type": "csat", "value": 4, "comment": f"Всё хорошо, касса {i}"}
                         for i in range(60)])
    ws = await stack.ws("admin")
    await ws.send(op="subscribe", topics=["comments:b", "comments:network"])
    got = await snapshots(ws, {"comments:b", "comments:network"})
    for items in got.values():
        assert [i["id"] for i in items] == [f"many{i}" for i in range(59, 9, -1)]
    await ws.close()


async def test_token_scoping_of_the_topic(stack: Live) -> None:
    for who, topic, code in (("disp", "comments:a", "forbidden"),
                             ("sup", "comments:network", "forbidden"),
                             ("sup", "comments:k", "forbidden"),
                             ("supk", "comments:r", "forbidden"),
                             ("admin", "comments:nowhere", "not_found")):
        ws = await stack.ws(who)
        await ws.send(op="subscribe", topics=[topic], id=7)
        err = await ws.next(type="error", topic=topic)
        assert err["code"] == code, (who, topic, err)
        assert (await ws.next(type="subscribed", id=7))["topics"] == []
        await ws.close()
    ws = await stack.ws("supk")
    await ws.send(op="subscribe", topics=["comments:k"])
    items = (await ws.next(type="snapshot", topic="comments:k", timeout=10))["data"]["comments"]
    assert items and {i["location"] for i in items} == {"k"}
    await ws.close()


def test_without_an_archive_the_topic_is_not_found() -> None:
    from server.hub import Hub  # noqa: F401 - the hub passes comments_running to refusal

    client = Client(1, Principal("a", "admin"), Mailbox(16))
    geo = Geo("Europe/Moscow")

    class Core:
        def known_scope(self, scope: str) -> bool:
            return True

    why = refusal(client, "comments:network", geo, Core(), False)  # type: ignore[arg-type]
    assert why is not None and why.code == "not_found"
    assert refusal(client, "comments:network", geo, Core(), False,  # type: ignore[arg-type]
                   comments_running=True) is None


async def test_topics_endpoint_numbers_and_scoping(stack: Live) -> None:
    async with stack.http("disp") as http:
        assert (await http.get("/api/comments/topics/a")).status_code == 403
    async with stack.http("sup") as http:
        assert (await http.get("/api/comments/topics/network")).status_code == 403
        assert (await http.get("/api/comments/topics/k")).status_code == 403
        r = await http.get("/api/comments/topics/r")
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"scope", "comments", "topics"} and body["scope"] == "r"
        assert body["comments"] == 2 * COMMENTED  # today (the fixture's shift is today's)
        first = body["topics"][0]
        assert set(first) >= {"topic", "count", "share", "mean_nps", "previous_count"}
        topics = {t["topic"]: t for t in body["topics"]}
        assert set(topics) >= {"wait", "staff", "price", "product", "cleanliness", "process",
                               "digital", "praise"}
        assert topics["wait"]["count"] >= 6 and topics["wait"]["share"] == pytest.approx(
            topics["wait"]["count"] / body["comments"], abs=1e-3)
        assert topics["wait"]["mean_nps"] < 6 < topics["praise"]["mean_nps"]
        one = (await http.get("/api/comments/topics/a")).json()
        assert one["comments"] == COMMENTED
        now = time.time()
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 4 * 3600))  # the fixture's
        # shift may be up to 2.5 h old (see tests.support.days.today_span)
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60))
        timed = (await http.get("/api/comments/topics/r", params={"from": iso, "to": end})).json()
        assert timed["comments"] == 2 * COMMENTED and timed["previous_comments"] == 0
        bad = await http.get("/api/comments/topics/r", params={"from": "2025-02-30"})
        assert bad.status_code == 400 and bad.json()["field"] == "from"
        mixed = await http.get("/api/comments/topics/r", params={"from": "2025-01-01",
                                                                 "to": end})
        assert mixed.status_code == 400
    async with stack.http("admin") as http:
        assert (await http.get("/api/comments/topics/network")).json()["comments"] == \
            3 * COMMENTED
        assert (await http.get("/api/comments/topics/nowhere")).status_code == 404
