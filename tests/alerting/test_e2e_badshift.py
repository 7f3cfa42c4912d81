"""End to end: the simulator's bad-shift through NATS, the core, the alert service and the
server. Event time is driven by a virtual clock shared by the core and the alert service,
so four hours of traffic replay in seconds while every component runs for real.

The alert must fire within 30 s (event time) of the moment the metric crosses its
threshold, reach NATS, the websocket and a webhook receiver, survive a restart of the alert
service without firing again, and resolve after the location recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import websockets
from nats.aio.msg import Msg

from alerting.service import AlertService
from alerting.sinks import verify
from cxpulse.config import Config, load_config_text
from server.app import create_app, serve
from simulators.model import build_network
from simulators.traffic import generate, make_plan, questionnaire
from stream.core import Core
from stream.events import ButtonEvent, encode
from stream.nats_server import EmbeddedNats, free_port
from tests.alerting.fakes import Receiver
from tests.support.checks import present

MIN = 60_000
STEP_MS = 10_000
SECRET = "s3cret"
CONFIG = """
[[locations]]
id = "bad"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "good"
region = "r"
timezone = "Europe/Moscow"
[auth]
[[auth.tokens]]
name = "admin"
sha256 = "cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c"
role = "admin"
[alerts]
group_wait_s = 0
group_interval_s = 0
eval_interval_s = 3600
min_eval_gap_s = 0
[[alerts.rules]]
id = "red-button"
metric = "buttons.shares.1"
window = "1h"
scope = "each_location"
op = ">"
threshold = 0.3
recovery = 0.2
min_sample = 10
for_s = 10
severity = "critical"
playbook.ru.event = "Клиенты жмут красную кнопку"
playbook.ru.tasks = ["Дать клиенту высказаться"]
playbook.ru.actions = ["Позвать менеджера"]
[[alerts.webhooks]]
id = "ops"
url = "WEBHOOK"
secret = "s3cret"
"""


def traffic(cfg: Config, start_ms: int, phase_end_ms: int, end_ms: int) -> list:
    """bad-shift until ``phase_end_ms`` (the target degrades a quarter in), then a normal
    day: the location recovers."""
    network = build_network(cfg)
    quiz = questionnaire(cfg)
    # bad-shift degrades its target a quarter into the run: make that 30 min in
    run_end = start_ms + 4 * 30 * MIN
    bad = generate(make_plan(network, "bad-shift", start_ms, run_end, seed=5, target="bad"),
                   network, quiz)
    calm = generate(make_plan(network, "normal-day", phase_end_ms, end_ms, seed=6), network, quiz)
    return ([e for e in bad if e.ts_ms < phase_end_ms]
            + [e for e in calm if e.ts_ms >= phase_end_ms])


def daytime_start(real_now_ms: int) -> int:
    """10:00 Moscow time (07:00 UTC) of the latest day on which three hours from then have
    passed: the replay has daytime traffic whatever hour the suite runs at (at night the
    simulator's few presses stay under the rule's minimum sample and nothing resolves)."""
    day, latest = 86_400_000, real_now_ms - 3 * 3_600_000
    start = latest // day * day + 7 * 3_600_000
    return start if start <= latest else start - day


class VirtualClock:
    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms

    def seconds(self) -> float:
        return self.ms / 1000

    def millis(self) -> int:
        return self.ms


def red_share(events: list, now_ms: int) -> tuple[float, int]:
    """Reference: share of button 1 at "bad" over the last 60 minute buckets."""
    lo = now_ms // MIN - 59
    presses = [e.event for e in events if isinstance(e.event, ButtonEvent) and e.location == "bad"
               and lo <= e.ts_ms // MIN and e.ts_ms <= now_ms]
    reds = sum(p.value == 1 for p in presses)
    return (reds / len(presses) if presses else 0.0), len(presses)


async def test_bad_shift_alert_fires_reaches_every_sink_survives_restart_and_resolves(
        nats_server: EmbeddedNats, tmp_path: Path) -> None:
    async with Receiver() as hook:
        cfg = load_config_text(CONFIG.replace("WEBHOOK", hook.url)
                               .replace("[auth]", f'[core]\ndata_dir = "{tmp_path}"\n[auth]'))
        start = daytime_start(int(time.time() * 1000))
        end = start + 3 * 3_600_000
        phase_end = start + 90 * MIN  # 30 min normal, 60 min degraded, 90 min recovery
        events = sorted(traffic(cfg, start, phase_end, end), key=lambda e: e.ts_ms)
        clock = VirtualClock(start)
        core = Core(cfg, nats_server.url, clock=clock.millis)
        await core.start()
        alerts = AlertService(cfg, core.nc, core, clock=clock.millis)
        await alerts.start()
        port = free_port()
        ready = asyncio.Event()
        server = asyncio.create_task(serve(create_app(cfg, core, alerts), "127.0.0.1", port,
                                           started=ready))
        await asyncio.wait_for(ready.wait(), 10)
        on_nats: list[tuple[str, Any]] = []

        async def got_alert(msg: Msg) -> None:
            on_nats.append((msg.subject, json.loads(msg.data)))

        await present(core.nc).subscribe("cx.alert.>", cb=got_alert)
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws?token=demo-admin")
        await ws.send(json.dumps({"op": "subscribe", "topics": ["alerts"]}))
        ws_frames: list = []

        async def read_ws() -> None:
            with contextlib.suppress(Exception):
                async for raw in ws:
                    ws_frames.append(json.loads(raw))

        reader = asyncio.create_task(read_ws())
        crossed = fired = resolved = None
        restarted = False
        i = 0
        now = start
        try:
            while now < end:
                # fine steps where the alert is being decided, coarse ones elsewhere
                share, _ = red_share(events, now)
                deciding = (fired is None and share > 0.2) or (
                    fired and not resolved and share < 0.25
                )
                now += STEP_MS if deciding else 30 * STEP_MS
                batch = []
                while i < len(events) and events[i].ts_ms <= now:
                    batch.append(events[i])
                    i += 1
                js = present(core.js)
                for e in batch:
                    await js.publish_async(f"cx.{e.kind}.{e.location}", encode(e.event),
                                           headers={"Nats-Msg-Id": e.event.id})
                await js.publish_async_completed()
                clock.ms = now
                assert await core.wait_idle(10)
                await alerts.evaluate()
                share, n = red_share(events, now)  # the reference, at this instant
                if crossed is None and share > 0.3 and n >= 10:
                    crossed = now
                elif fired is None and crossed is not None and (share <= 0.3 or n < 10):
                    crossed = None  # a dip restarts the rule's for-duration, as it should
                state = {
                    a.rule: a.status
                    for a in alerts.list_alerts()
                    if a.labels.get("location") == "bad"
                }
                if fired is None and state.get("red-button") == "firing":
                    fired = now
                if fired and not restarted and now - fired >= 5 * MIN:
                    await alerts.stop()  # a restart while the alert fires
                    alerts = AlertService(cfg, core.nc, core, clock=clock.millis)
                    await alerts.start()
                    restarted = True
                if restarted and "red-button" not in state and resolved is None:
                    resolved = now
                    break
            await asyncio.sleep(0.5)
            assert crossed is not None and fired is not None, "the degradation was not detected"
            assert fired - crossed <= 30_000, (fired - crossed) / 1000
            assert restarted and resolved is not None, "no recovery"
            firing_msgs = [d for s, d in on_nats if s == "cx.alert.critical.red-button"
                           and d.get("status") == "firing"]
            assert len(firing_msgs) == 1  # the restart did not fire it again
            assert firing_msgs[0]["labels"]["location"] == "bad"
            assert any(d.get("status") == "resolved" for s, d in on_nats
                       if s == "cx.alert.critical.red-button")
            assert hook.requests, "the webhook received nothing"
            first = hook.requests[0]
            headers = {k.lower(): v for k, v in first.headers.items()}
            assert verify(SECRET, first.body, headers["x-cxpulse-signature"],
                          headers["x-cxpulse-timestamp"], now_s=time.time())
            assert b"red-button" in first.body
            ws_alerts = [a for f in ws_frames if f.get("topic") == "alerts"
                         for a in f.get("data", {}).get("alerts", [])]
            assert any(a["rule"] == "red-button" and a["status"] == "firing" for a in ws_alerts)
            good = [a for a in alerts.history() if a.labels.get("location") == "good"]
            assert not good  # the healthy location never alerted
        finally:
            reader.cancel()
            await ws.close()
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
            await alerts.stop()
            await core.stop(snapshot_state=False)

