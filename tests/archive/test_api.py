"""History, records, export and erasure over HTTP: the real server, core and archive."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pytest

from archive.comments import TextHooks
from archive.service import ArchiveService
from cxpulse.config import Config, load_config_text
from server.app import create_app, serve
from stream.access import hash_token
from stream.clock import wall_ms
from stream.core import Core
from stream.nats_server import EmbeddedNats, free_port
from tests.archive.support import CONFIG, Sent, make_events
from tests.support.checks import present
from tests.support.days import one_date_ms

ApiStack = tuple[httpx.AsyncClient, Core, ArchiveService, list[Sent]]

SPAN_MS = 3_600_000
TOKENS = {"admin": ("admin", []), "sup": ("supervisor", ["r"]), "disp": ("display", [])}


def _config(tmp_path: Path) -> Config:
    tokens = "".join(
        f'[[auth.tokens]]\nname = "{n}"\nsha256 = "{hash_token("tok-" + n)}"\nrole = "{role}"\n'
        f"regions = {json.dumps(regs)}\n"
        f"locations = {json.dumps(['a'] if role == 'display' else [])}\n"
        for n, (role, regs) in TOKENS.items()
    )
    text = CONFIG.replace("[core]\n", f'[core]\ndata_dir = "{tmp_path}"\n', 1)
    return load_config_text(f"{text}\n[auth]\nenabled = true\n{tokens}")


@pytest.fixture
async def stack(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[ApiStack]:
    cfg = _config(tmp_path)
    real = wall_ms()
    shift = real - one_date_ms(real, SPAN_MS)  # every zone on one date (see tests.support.days)

    def clock() -> int:
        return wall_ms() - shift

    core = Core(cfg, nats_server.url, clock=clock)
    await core.start()
    archive = ArchiveService(cfg, present(core.nc), hooks=TextHooks.default(), clock=clock)
    await archive.start()
    port = free_port()
    task = asyncio.create_task(serve(create_app(cfg, core, None, archive), "127.0.0.1", port,
                                     started=(started := asyncio.Event())))
    await asyncio.wait_for(started.wait(), 10)
    events = make_events(600, clock(), random.Random(11), span_ms=SPAN_MS)
    for subject, body in events:
        kind, loc = subject.split(".")[1:]
        assert await core.publish_input(kind, loc, json.dumps(body).encode()) is None
    assert await core.wait_idle(20)
    assert await present(archive.writer).wait_idle(20)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield client, core, archive, events
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await archive.stop()
    await core.stop()


def _auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{name}"}


async def test_history_today_equals_live_metrics(stack: ApiStack) -> None:
    client, core, _archive, _ = stack
    # the stack's clock may run behind the wall's; the server's default `to` is the wall's today
    day = dt.datetime.fromtimestamp(core.clock() / 1000, ZoneInfo("Europe/Moscow")).date()
    for scope in ("network", "r", "a", "b"):
        live = (
            await client.get(f"/api/metrics/{scope}?window=today", headers=_auth("admin"))
        ).json()
        for metric, want in (("nps", live["nps"]), ("csat", live["csat"]),
                             ("response_rate", live["response_rate"]),
                             ("buttons.index", live["buttons"]["index"]),
                             ("flow.mean_wait_s", live["flow"]["mean_wait_s"]),
                             ("flow.contacts", live["flow"]["contacts"]),
                             ("csi.total", live["csi"]["total"]),
                             ("incidents.opened", live["incidents"]["opened"]),
                             ("incidents.within_sla", live["incidents"]["within_sla"]),
                             ("incidents.mean_first_action_s",
                              live["incidents"]["mean_first_action_s"]),
                             ("incidents.by_source.desk.opened",
                              live["incidents"]["by_source"].get("desk", {}).get("opened"))):
            r = await client.get(f"/api/history/{scope}", params={"metric": metric, "by": "day",
                                                                "to": day.isoformat()},
                                 headers=_auth("admin"))
            assert r.status_code == 200, r.text
            points = r.json()["points"]
            assert points[-1]["value"] == pytest.approx(want), (scope, metric)


async def test_access_and_errors(stack: ApiStack) -> None:
    client, *_ = stack
    h = "/api/history/network?metric=nps"
    assert (await client.get(h)).status_code == 401
    assert (await client.get(h, headers=_auth("disp"))).status_code == 403
    assert (await client.get(h, headers=_auth("sup"))).status_code == 403
    assert (await client.get("/api/history/r?metric=nps", headers=_auth("sup"))).status_code == 200
    assert (await client.get("/api/feedback?scope=a", headers=_auth("disp"))).status_code == 403
    assert (
        await client.get("/api/export/flow?scope=network", headers=_auth("sup"))
    ).status_code == 403
    r = await client.get("/api/history/r?metric=bogus", headers=_auth("admin"))
    assert r.status_code == 400 and r.json()["field"] == "metric"
    r = await client.get("/api/history/nowhere?metric=nps", headers=_auth("admin"))
    assert r.status_code == 404
    r = await client.get("/api/history/r?metric=nps&from=2025-13-01", headers=_auth("admin"))
    assert r.status_code == 400 and r.json()["field"] == "from"
    r = await client.delete("/api/feedback?session=s1", headers=_auth("sup"))
    assert r.status_code == 403


async def test_records_search_paging_export_and_erasure(stack: ApiStack) -> None:
    client, _core, archive, events = stack
    r = await client.get("/api/feedback", params={"scope": "r", "q": "очередь", "limit": 3},
                         headers=_auth("sup"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["items"] and all("очеред" in i["comment"].lower() for i in page["items"])
    assert all(i["location"] in ("a", "b") for i in page["items"])
    seen = [i["id"] for i in page["items"]]
    while page["next"]:
        page = (await client.get("/api/feedback", params={"scope": "r", "q": "очередь", "limit": 3,
                                                          "before": page["next"]},
                                 headers=_auth("sup"))).json()
        seen += [i["id"] for i in page["items"]]
    want = [
        b for s, b in events if b["location"] in ("a", "b") and "очеред" in b.get("comment", "")
    ]
    assert sorted(seen) == sorted(b["id"] for b in want)
    assert len(set(seen)) == len(seen)
    masked = (await client.get("/api/feedback", params={"q": "нагрубил"},
                               headers=_auth("admin"))).json()["items"]
    assert masked and all("916" not in i["comment"] and "[телефон]" in i["comment"] for i in masked)
    csv = await client.get("/api/export/feedback?scope=network", headers=_auth("admin"))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert len(lines) == 1 + sum(s.startswith("cx.feedback") for s, _ in events)
    assert "916 123" not in csv.text
    pq = await client.get("/api/export/flow?scope=r&format=parquet", headers=_auth("admin"))
    rows = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)",
                                    [_save(pq.content)]).fetchall()[0][0]
    assert rows == sum(s.startswith("cx.flow") and b["location"] in ("a", "b") for s, b in events)
    target = masked[0]
    r = await client.delete(
        "/api/feedback",
        params={"id": target["id"], "location": target["location"]},
        headers=_auth("admin"),
    )
    assert r.status_code == 200 and r.json()["erased"] == 1
    left = (await client.get("/api/feedback", params={"q": "нагрубил"},
                             headers=_auth("admin"))).json()["items"]
    assert target["id"] not in [i["id"] for i in left]
    audit = present(archive.store).reader().execute("SELECT who, id, rows FROM erasures").fetchall()
    assert audit == [("admin", target["id"], 1)]


def _save(data: bytes) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as fh:
        fh.write(data)
    return fh.name
