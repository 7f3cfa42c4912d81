"""Digests end to end: a real nats-server (lease and ledger), the archive filled with the
demo's seeded history, a real SMTP server in-process (aiosmtpd), an injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import io
import json
import re
import threading
import time
import zipfile
from typing import Any

import msgspec
import pytest

from alerting.schema import WebhookConfig
from alerting.sinks import verify
from archive.history import HistoryQuery
from archive.service import ArchiveService
from digests import fmt
from digests.ledger import STALE_SENDING_MS, SlotRecord
from digests.service import bucket_name
from tests.alerting.fakes import Receiver
from tests.support.digests import World, html_of

UTC = dt.UTC
REF = re.compile(r'<td style="[^"]*" data-ref="([^"]+)">([^<]*)</td>')


def ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc,arg-type]


async def check_numbers(archive: ArchiveService, scope: str, lang: str, page: str) -> int:
    """Every number that carries a history reference equals the history's for it."""
    checked = 0
    for ref, shown in REF.findall(page):
        kind, _, rest = ref.rpartition(":")
        metric, label, *other = rest.split("@")
        day = dt.date.fromisoformat(label)
        point = (await archive.history(HistoryQuery(scope=scope, metric=metric, by="day",
                                                    first=day, last=day))).points[0]
        if kind == "n":
            expected = fmt.count(point.n, lang)
        elif kind == "d":
            before_day = dt.date.fromisoformat(other[0])
            before = (await archive.history(HistoryQuery(
                scope=scope, metric=metric, by="day", first=before_day,
                last=before_day))).points[0]
            expected = fmt.delta(metric, point.value,
                                 before.value if before.n > 0 else None, lang).text
        else:
            expected = fmt.value(metric, point.value, lang)
        assert html.unescape(shown) == expected, (ref, shown, expected)
        checked += 1
    return checked


async def test_daily_digest_arrives_at_local_time_in_two_zones(world: World) -> None:
    a, b = await world.service(), await world.service()  # two `cxpulse run` instances
    assert a.leading != b.leading  # one sends
    inbox = world.smtp.inbox
    moments = [(ms(2025, 3, 5, 4, 59), []),            # 07:59 Moscow
               (ms(2025, 3, 5, 5, 0), ["msk"]),        # 08:00 Moscow (UTC+3)
               (ms(2025, 3, 5, 12, 59), ["msk"]),      # 07:59 New York
               (ms(2025, 3, 5, 13, 0), ["msk", "ny"]),  # 08:00 New York (EST, UTC-5)
               (ms(2025, 3, 5, 23, 0), ["msk", "ny"])]
    for moment, expected in moments:
        world.now[0] = moment
        await a.tick()
        await b.tick()
        assert [m["X-Cxpulse-Digest"].split(".")[1].removeprefix("daily-")
                for m in inbox.messages] == expected
    msk, ny = inbox.messages
    assert msk["X-Cxpulse-Digest"] == "slot.daily-msk.2025-03-04"
    assert "Москва" in msk["Subject"] and "4 марта 2025" in msk["Subject"]
    assert inbox.envelopes[1] == ("cxpulse@example.test", ["ny@example.test",
                                                           "boss@example.test"])
    assert ny["Subject"].startswith("Daily digest · New York · Tuesday, 4 March 2025")
    for msg, scope, lang in ((msk, "msk", "ru"), (ny, "ny", "en")):
        page = html_of(msg)
        assert ("nps-drop" in page) == (scope == "msk")  # 12:30 Moscow on the 4th
        assert "red-buttons" not in page  # the day before
        assert "<script" not in page and "http://" not in page and "https://" not in page
        assert await check_numbers(world.archive, scope, lang, page) >= 30
        files = {str(p.get_filename()): p.get_content() for p in msg.iter_attachments()}
        pdf = next(v for k, v in files.items() if k.endswith(".pdf"))
        assert pdf[:5] == b"%PDF-"
        csvs = zipfile.ZipFile(io.BytesIO(next(v for k, v in files.items()
                                               if k.endswith(".zip"))))
        assert sorted(csvs.namelist()) == ["feedback.csv", "flow.csv", "incidents.csv"]
        assert csvs.read("feedback.csv").startswith(b"kind,id,ts,location,type")
    status: dict[str, Any] = (a if a.leading else b).status()
    assert status["status"] == "ok"
    assert status["digests"]["daily-ny"]["next_due"] == "2025-03-06T08:00:00-05:00"


async def test_crash_between_marked_and_sent_neither_duplicates_nor_loses(
        world: World) -> None:
    release = threading.Event()

    def stuck(*_: object) -> dict[str, str]:  # the process "dies" inside SMTP
        release.wait(10)
        raise RuntimeError("process gone")

    world.now[0] = ms(2025, 3, 5, 5, 0)
    crashing = await world.service(send=stuck)
    task = asyncio.create_task(crashing.tick())
    kv = await crashing.nc.jetstream().key_value(bucket_name("cx"))
    for _ in range(200):
        entry = await _get(kv, "slot.daily-msk.2025-03-04")
        if entry is not None and entry.state == "sending":
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the slot was never marked")
    task.cancel()  # the crash: no "sent", no lease hand-back
    release.set()
    await crashing.nc.close()
    world.now[0] += STALE_SENDING_MS + 60_000  # a restarted instance, its lease expired
    survivor = await world.service()
    assert survivor.leading
    assert await survivor.tick() == ["slot.daily-msk.2025-03-04"]
    assert await survivor.tick() == []
    again = await world.service()  # and another restart: nothing more
    await again.tick()
    inbox = world.smtp.inbox
    assert [m["X-Cxpulse-Digest"] for m in inbox.messages] == ["slot.daily-msk.2025-03-04"]
    assert "Отправлено с опозданием" in html_of(inbox.messages[0])
    plain = inbox.messages[0].get_body(("plain",))
    assert plain is not None and "была прервана" in plain.get_content()
    kv = await survivor.nc.jetstream().key_value(bucket_name("cx"))
    record = await _get(kv, "slot.daily-msk.2025-03-04")
    assert record is not None and record.state == "sent" and record.note


async def test_failing_smtp_retries_with_backoff_and_raises_the_alert(world: World) -> None:
    async with Receiver() as hook:
        await _failing_smtp(world, hook)


async def _failing_smtp(world: World, hook: Receiver) -> None:
    world.smtp.inbox.fail = True
    webhooks = (WebhookConfig(id="ops", url=hook.url, secret="s3cret"),)
    cfg = msgspec.structs.replace(
        world.cfg, alerts=msgspec.structs.replace(world.cfg.alerts, webhooks=webhooks))
    svc = await world.service(cfg=cfg)
    alerts: list[dict[str, Any]] = []

    async def on_alert(msg: Any) -> None:
        alerts.append(msgspec.json.decode(msg.data))

    await svc.nc.subscribe("cx.alert.warning.digest-failed", cb=on_alert)
    world.now[0] = ms(2025, 3, 5, 5, 0)
    assert await svc.tick() == []
    assert world.smtp.inbox.refused == 1
    health: dict[str, Any] = svc.status()
    assert health["status"] == "failing" and health["failing"] == ["daily-msk"]
    assert "451" in health["digests"]["daily-msk"]["error"]
    world.now[0] += 30_000  # before the back-off (60 s): no attempt
    await svc.tick()
    assert world.smtp.inbox.refused == 1
    world.now[0] += 31_000
    await svc.tick()  # second attempt, fails again
    assert world.smtp.inbox.refused == 2
    world.smtp.inbox.fail = False
    world.now[0] += 121_000  # back-off doubled
    assert await svc.tick() == ["slot.daily-msk.2025-03-04"]
    await asyncio.sleep(0.2)
    assert [a["status"] for a in alerts] == ["firing", "firing", "resolved"]
    assert alerts[0]["labels"]["digest"] == "daily-msk" and alerts[0]["rule"] == "digest-failed"
    assert len({a["id"] for a in alerts}) == 1
    # the alert webhooks got it too, signed: when it first fired, and when it resolved
    posts = await hook.wait(2)
    notes = [json.loads(p.body) for p in posts]
    assert [(n["kind"], n["status"], n["reason"]) for n in notes] == [
        ("alerts", "firing", "new"), ("alerts", "resolved", "resolved")]
    assert notes[0]["alerts"][0]["labels"]["digest"] == "daily-msk"
    assert notes[0]["alerts"][0]["rule"] == "digest-failed"
    assert all(verify("s3cret", p.body, p.headers["x-cxpulse-signature"],
                      p.headers["x-cxpulse-timestamp"], now_s=time.time()) for p in posts)
    assert svc.status()["status"] == "ok"
    page = html_of(world.smtp.inbox.messages[0])
    assert "Отправлено с опозданием" in page and "почтовый сервер был недоступен" in page
    await svc.stop()


async def _get(kv: Any, key: str) -> SlotRecord | None:
    try:
        entry = await kv.get(key)
    except Exception:  # noqa: BLE001 - not written yet
        return None
    return msgspec.json.decode(entry.value, type=SlotRecord)


async def test_a_new_deployment_sends_nothing_late_a_restarted_one_does(world: World) -> None:
    world.now[0] = ms(2025, 3, 5, 6, 0)  # first start at 09:00 Moscow: 08:00 already passed
    first = await world.service()
    assert await first.tick() == []  # yesterday's digest was never due for this deployment
    await first.stop()
    world.now[0] = ms(2025, 3, 6, 6, 0)  # down over the next 08:00, back at 09:00
    again = await world.service()
    assert again.since == ms(2025, 3, 5, 6, 0)  # kept in KV across the restart
    assert await again.tick() == ["slot.daily-msk.2025-03-05"]  # missed: sent late
    assert "Отправлено с опозданием" in html_of(world.smtp.inbox.messages[0])
