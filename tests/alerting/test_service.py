"""Adapter tests with a real nats-server: NATS, signed webhooks, isolation of a hanging
webhook, the in-process feed, and state that survives a restart without re-firing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from alerting.service import AlertService
from alerting.sinks import MAX_AGE_S, verify
from alerting.store import bucket_name
from cxpulse.config import Config, load_config_text
from stream.nats_io import connect, stream_names
from stream.nats_server import EmbeddedNats
from tests.alerting.fakes import FakeReader, Receiver
from tests.support.checks import present

MIN_MS = 60_000
T0 = 1_772_614_800_000  # 2026-03-04 09:00 UTC


def config(webhooks: str = "") -> Config:
    return load_config_text(f"""
[[locations]]
id = "loc-a"
region = "r1"
timezone = "UTC"
[[locations]]
id = "loc-b"
region = "r1"
timezone = "UTC"
[alerts]
group_wait_s = 0
group_interval_s = 0
eval_interval_s = 60
min_eval_gap_s = 0
[[alerts.rules]]
id = "nps-drop"
metric = "nps"
op = "<"
threshold = 20
recovery = 30
min_sample = 10
playbook.ru.event = "NPS упал ниже 20"
playbook.ru.actions = ["Выйти в зал"]
{webhooks}
""")


def webhook(id: str, url: str, **opts: object) -> str:
    extra = "\n".join(f"{k} = {json.dumps(v)}" for k, v in opts.items())
    return f'[[alerts.webhooks]]\nid = "{id}"\nurl = "{url}"\n{extra}\n'


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


async def nats_messages(nc: NATS, subject: str = "cx.alert.>") -> list[tuple[str, Any]]:
    got: list[tuple[str, Any]] = []

    async def on_msg(msg: Msg) -> None:
        got.append((msg.subject, json.loads(msg.data)))

    await nc.subscribe(subject, cb=on_msg)
    return got


def sink_count(svc: AlertService, sink: str, counter: str) -> int:
    """A sink's counter as the service's status (``/api/health``) shows it."""
    sinks = svc.status()["sinks"]
    assert isinstance(sinks, dict)
    value = sinks[sink][counter]
    assert isinstance(value, int)
    return value


async def until(predicate: Callable[[], object], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def reader() -> FakeReader:
    r = FakeReader({"loc-a": "r1", "loc-b": "r1"})
    r.set("loc-a", nps=5.0, responses=40)
    return r


async def test_alerts_reach_nats_a_signed_webhook_and_the_feed(
    nats_server: EmbeddedNats, reader: FakeReader
) -> None:
    async with Receiver() as rx:
        cfg = config(webhook("ops", rx.url, secret="s3cret"))
        nc = await connect(cfg.nats, nats_server.url, "test")
        got = await nats_messages(nc)
        clock = Clock()
        svc = AlertService(cfg, nc, reader, clock=clock)
        await svc.start()
        feed = svc.subscribe()
        await svc.evaluate()

        req = (await rx.wait(1))[0]
        sig, ts = req.headers["x-cxpulse-signature"], req.headers["x-cxpulse-timestamp"]
        now = time.time()
        assert verify("s3cret", req.body, sig, ts, now_s=now)
        assert not verify("s3cret", req.body + b" ", sig, ts, now_s=now)
        # replayed later: refused; the timestamp refreshed without the secret: refused
        assert not verify("s3cret", req.body, sig, ts, now_s=now + MAX_AGE_S + 1)
        assert not verify("s3cret", req.body, sig, str(int(now) + 60), now_s=now + 60)
        body = json.loads(req.body)
        assert (body["kind"], body["status"], body["group"]) == ("alerts", "firing",
                                                                 {"location": "loc-a"})
        assert body["alerts"][0]["playbook"]["ru"]["actions"] == ["Выйти в зал"]

        await until(lambda: got)
        subject, msg = got[0]
        assert subject == "cx.alert.warning.nps-drop"
        assert (msg["status"], msg["value"], msg["threshold"], msg["recovery"]) == (
            "firing", 5.0, 20.0, 30.0)
        assert msg["labels"] == {"location": "loc-a", "region": "r1", "rule": "nps-drop",
                                 "severity": "warning", "scope": "loc-a"}
        assert msg["starts_ms"] == T0 and msg["playbook"]["ru"]["event"] == "NPS упал ниже 20"
        update = await asyncio.wait_for(feed.next(), 1)
        assert [a.status for a in update.alerts] == ["firing"]

        reader.set("loc-a", nps=45.0, responses=40)
        clock.now += MIN_MS
        await svc.evaluate()
        await until(lambda: len(got) == 2)
        assert got[1][1]["status"] == "resolved" and got[1][1]["ends_ms"] == T0 + MIN_MS
        resolved = json.loads((await rx.wait(2))[1].body)
        assert (resolved["status"], resolved["reason"]) == ("resolved", "resolved")
        assert [a.rule for a in svc.history()] == ["nps-drop"]
        await svc.stop()
        await nc.close()


async def test_a_hanging_or_failing_webhook_blocks_nobody(
    nats_server: EmbeddedNats, reader: FakeReader
) -> None:
    async with Receiver(hang=True) as slow, Receiver(status=500) as broken, Receiver() as good:
        cfg = config(webhook("slow", slow.url, timeout_s=0.5, retries=1, backoff_s=0.05)
                     + webhook("broken", broken.url, retries=2, backoff_s=0.01)
                     + webhook("good", good.url))
        nc = await connect(cfg.nats, nats_server.url, "test")
        clock = Clock()
        svc = AlertService(cfg, nc, reader, clock=clock)
        await svc.start()
        started = time.monotonic()
        await svc.evaluate()
        assert time.monotonic() - started < 0.3  # the engine never waits for receivers
        await good.wait(1, timeout_s=1.0)
        await slow.wait(1)
        reader.set("loc-b", nps=0.0, responses=30)
        clock.now += MIN_MS
        await svc.evaluate()
        await good.wait(2, timeout_s=1.0)  # while "slow" is still stuck on its first message
        assert len(slow.requests) == 1
        await broken.wait(6)  # 1 + 2 retries for each of the two messages
        await until(lambda: sink_count(svc, "webhook:broken", "failed") == 2)
        await until(lambda: sink_count(svc, "webhook:slow", "retries") >= 1)
        assert sink_count(svc, "webhook:good", "delivered") == 2
        await svc.stop()
        await nc.close()


async def test_state_survives_a_restart_without_refiring(
    nats_server: EmbeddedNats, reader: FakeReader
) -> None:
    async with Receiver() as rx:
        cfg = config(webhook("ops", rx.url))
        nc = await connect(cfg.nats, nats_server.url, "test")
        got = await nats_messages(nc)
        clock = Clock()
        first = AlertService(cfg, nc, reader, clock=clock)
        await first.start()
        await first.evaluate()
        alert = first.list_alerts()[0]
        await first.acknowledge(alert.id, "Ольга", "разбираюсь")
        silence = await first.add_silence(["location=loc-b"], created_by="ops", duration_s=3600)
        await first.stop()
        await rx.wait(1)

        clock.now += 5 * MIN_MS
        second = AlertService(cfg, nc, reader, clock=clock)
        await second.start()
        restored = second.list_alerts()
        assert [(a.id, a.status, present(a.acknowledged).by) for a in restored] == [
            (alert.id, "firing", "Ольга")]
        assert [s.id for s in second.silences()] == [silence.id]
        result = await second.evaluate()  # still bad: no new firing, no new notification
        assert result.changes == () and result.notifications == ()
        await asyncio.sleep(0.2)
        assert [m["status"] for _, m in got] == ["firing"] and len(rx.requests) == 1

        reader.set("loc-a", nps=50.0, responses=40)
        clock.now += MIN_MS
        await second.evaluate()
        await until(lambda: len(got) == 2)
        assert got[1][1]["status"] == "resolved" and got[1][1]["id"] == alert.id
        js = nc.jetstream()
        info = await js.stream_info(stream_names("cx")["alerts"])
        assert info.state.messages == 2  # the alerts stream keeps every state change
        assert (await js.key_value(bucket_name("cx"))) is not None
        await second.stop()
        await nc.close()


async def test_change_feed_tick_evaluates_the_changed_scopes(
    nats_server: EmbeddedNats, reader: FakeReader
) -> None:
    cfg = config()
    nc = await connect(cfg.nats, nats_server.url, "test")
    got = await nats_messages(nc)
    svc = AlertService(cfg, nc, reader, clock=Clock())
    await svc.start()  # timer is 60 s: only the change feed can trigger this evaluation
    await asyncio.sleep(0.05)
    reader.changes.publish({"loc-a"})
    await until(lambda: got, timeout_s=15)
    assert got[0][1]["scope"] == "loc-a"
    await svc.stop()
    await nc.close()


async def test_shipped_rules_catch_a_bad_shift_without_nats(repo_root: Path) -> None:
    from cxpulse.config import load_config
    from stream.readmodel import ButtonsResult, FlowResult, IncidentsResult

    cfg = load_config(repo_root / "config.toml")
    reader = FakeReader({"msk-tverskaya": "msk", "msk-arbat": "msk"})
    reader.set("msk-tverskaya", "1h", nps=-10.0, responses=25)
    reader.set("msk-tverskaya", "today", response_rate=0.5, visits=200,
               buttons=ButtonsResult(shares={"1": 0.45, "3": 0.55}, presses=80),
               flow=FlowResult(contacts=300, this_hour=60, usual_this_hour=30.0),
               incidents=IncidentsResult(open=3, open_breached=1))
    clock = Clock()
    clock.now = 1_772_615_400_000  # Wed 2026-03-04 09:10 UTC = 12:10 in Moscow
    svc = AlertService(cfg, None, reader, clock=clock)
    await svc.start()
    for _ in range(3):
        svc.voice.record("anger_events", "msk-tverskaya", clock.now - 60_000)
    await svc.evaluate()
    clock.now += 11 * MIN_MS
    await svc.evaluate()
    state = {a.rule: a.status for a in svc.list_alerts()}
    assert state == {"nps-drop": "firing", "red-button": "firing", "flow-surge": "firing",
                     "sla-breached": "firing", "low-response-rate": "pending",
                     "anger-burst": "firing"}
    assert all(a.labels["location"] == "msk-tverskaya" for a in svc.list_alerts())
    assert svc.list_alerts(locations={"msk-arbat"}) == []
    assert len(svc.list_alerts(regions={"msk"}, status="firing")) == 5
    await svc.stop()


async def test_bad_api_requests_name_the_field(reader: FakeReader) -> None:
    from alerting.service import AlertInputError

    svc = AlertService(config(), None, reader, clock=Clock())
    await svc.start()
    with pytest.raises(AlertInputError, match=r"^alert_id:"):
        await svc.acknowledge("nope", "ops")
    with pytest.raises(AlertInputError, match=r"^ends:"):
        await svc.add_silence(["rule=nps-drop"], created_by="ops")
    with pytest.raises(AlertInputError, match=r"^created_by:"):
        await svc.add_silence(["rule=nps-drop"], created_by=" ", duration_s=60)
    with pytest.raises(AlertInputError, match=r"^silence_id:"):
        await svc.remove_silence("sil-404", "ops")
    await svc.stop()
