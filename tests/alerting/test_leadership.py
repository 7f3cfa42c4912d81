"""Several alert services on one NATS: one leads (evaluates, saves, notifies), the others
follow the saved state and forward acknowledgements; a dead leader is replaced after its
lease expires, and the new leader neither re-announces nor loses the live alert."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

from alerting.engine import AlertInputError
from alerting.service import AlertService
from cxpulse.config import Config
from stream.lease import LeaseRecord, next_step
from stream.nats_io import connect
from stream.nats_server import EmbeddedNats
from tests.alerting.fakes import FakeReader, Receiver
from tests.alerting.test_service import MIN_MS, Clock, config, nats_messages, reader, until, webhook
from tests.support.checks import present

__all__ = ["reader"]  # the fixture, shared with test_service


def test_lease_rule() -> None:
    me = "a"
    assert next_step(None, me, 100) == "create"
    assert next_step(LeaseRecord("a", 50), me, 100) == "renew"  # ours, even if late
    assert next_step(LeaseRecord("b", 101), me, 100) == "follow"
    assert next_step(LeaseRecord("b", 100), me, 100) == "take"  # expired


def ha_config(webhooks: str) -> Config:
    base = config(webhooks)
    return msgspec.structs.replace(base, alerts=msgspec.structs.replace(base.alerts, lease_s=1.0))


async def test_one_leader_notifies_followers_mirror_and_take_over(
    nats_server: EmbeddedNats, reader: FakeReader
) -> None:
    async with Receiver() as rx:
        cfg = ha_config(webhook("ops", rx.url))
        watch = await connect(cfg.nats, nats_server.url, "watch")
        got = await nats_messages(watch)
        clock = Clock()
        nc_a = await connect(cfg.nats, nats_server.url, "a")
        nc_b = await connect(cfg.nats, nats_server.url, "b")
        a = AlertService(cfg, nc_a, reader, clock=clock)
        b = AlertService(cfg, nc_b, reader, clock=clock)
        await a.start()
        await b.start()
        assert (a.leading, b.leading) == (True, False)
        assert b.status()["role"] == "follower" and b.status()["leader"] == a.me

        await a.evaluate()
        assert (await b.evaluate()).changes == ()  # a follower never evaluates
        await until(lambda: [s["status"] for _, s in got] == ["firing"])
        await rx.wait(1)
        await until(lambda: [x.status for x in b.list_alerts()] == ["firing"])  # mirrored

        alert = b.list_alerts()[0]
        view = await b.acknowledge(alert.id, "Ольга", "иду")  # forwarded to the leader
        assert view.acknowledged is not None and view.acknowledged.by == "Ольга"
        assert present(present(a.get_alert(alert.id)).acknowledged).by == "Ольга"
        with pytest.raises(AlertInputError, match="alert_id"):
            await b.acknowledge("no-such-alert", "Ольга")

        await nc_a.close()  # the leader's process is gone: it renews nothing any more
        clock.now += 1_500  # its lease has expired
        await until(lambda: b.leading, timeout_s=20)
        restored = b.list_alerts()
        assert [(x.id, x.status, present(x.acknowledged).by) for x in restored] == [
            (alert.id, "firing", "Ольга")]
        result = await b.evaluate()  # still bad: nothing re-announced
        assert result.changes == () and result.notifications == ()

        reader.set("loc-a", nps=50.0, responses=40)
        clock.now += MIN_MS
        await b.evaluate()
        await until(lambda: len(got) == 2)
        await asyncio.sleep(0.2)
        assert [(s["status"], s["id"]) for _, s in got] == [("firing", alert.id),
                                                           ("resolved", alert.id)]
        assert [json.loads(r.body)["status"] for r in rx.requests] == ["firing", "resolved"]
        await a.stop()
        await b.stop()
        await nc_b.close()
        await watch.close()


async def test_a_clean_stop_hands_the_lease_over_at_once(
    nats_server: EmbeddedNats, reader: FakeReader
) -> None:
    cfg = ha_config("")
    clock = Clock()
    ncs = [await connect(cfg.nats, nats_server.url, n) for n in ("a", "b")]
    a, b = (AlertService(cfg, nc, reader, clock=clock) for nc in ncs)
    await a.start()
    await b.start()
    await a.evaluate()
    await a.stop()  # no clock advance: the released lease is free now
    await until(lambda: b.leading, timeout_s=20)
    assert [x.status for x in b.list_alerts()] == ["firing"]
    await b.stop()
    for nc in ncs:
        await nc.close()
