"""kill -9 of the core under load, restart, and every metric equals a from-scratch replay."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from cxpulse.config import load_config_text
from stream.consumer import CONSUMER
from stream.core import Core
from stream.engine import MetricsEngine
from stream.events import Rejection, validate_event
from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats
from stream.query import incident_views, metrics

CONFIG = """
[core]
snapshot_interval_s = 0.3
snapshot_every_events = 1000
batch_size = 200
[[locations]]
id = "a"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "b"
region = "r"
timezone = "Asia/Yekaterinburg"
"""
CFG = load_config_text(CONFIG)


async def caught_up(js: Any, timeout_s: float = 60.0) -> None:
    """Wait until the core's consumer has acknowledged the whole input stream."""
    stream = stream_names(CFG.nats.prefix)["input"]
    last = (await js.stream_info(stream)).state.last_seq
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            info = await js.consumer_info(stream, CONSUMER)
            if info.ack_floor.stream_seq >= last:
                return
        except Exception:  # noqa: BLE001 - the consumer is being (re)created
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the core did not catch up")


def make_events(n: int, now_ms: int, rng: random.Random,
                locations: tuple[str, ...] = ("a", "b", "c")) -> list[tuple[str, dict]]:
    out = []
    for i in range(n):
        loc = rng.choice(locations)
        ts = now_ms - rng.randint(0, 2 * 3_600_000)
        base = {"id": f"e{i}", "ts": ts, "location": loc}
        r = rng.random()
        if r < 0.3:
            out.append((f"cx.feedback.{loc}", {**base, "type": "nps", "value": rng.randint(0, 10),
                                               "session": f"s{rng.randint(0, n // 3)}"}))
        elif r < 0.5:
            out.append((f"cx.feedback.{loc}", {**base, "type": "button", "scale": 3,
                                               "value": rng.randint(1, 3), "staff": "ann"}))
        elif r < 0.6:
            out.append((f"cx.feedback.{loc}", {**base, "type": "visit"}))
        elif r < 0.7:
            out.append((f"cx.feedback.{loc}", {**base, "type": "csi", "factor": "tangibles",
                                               "question": "clean", "value": rng.randint(1, 5)}))
        elif r < 0.95:
            out.append((f"cx.flow.{loc}", {**base, "channel": "phone",
                                           "answered": rng.random() < 0.9,
                                           "wait_s": round(rng.uniform(0, 300), 1)}))
        else:
            action = rng.choice(["open", "assign", "resolve"])
            body = {**base, "incident": f"i{rng.randint(0, 40)}", "action": action}
            if action == "open":
                body["category"] = rng.choice(["claim", "service", "thanks"])
            out.append((f"cx.incident.{loc}", body))
    return out


def start_core(url: str, cfg_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "core", "--config",
                             str(cfg_path), "--nats-url", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_kill_minus_nine_under_load_then_restart(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(CONFIG)
    rng = random.Random(7)
    now_ms = int(time.time() * 1000)
    events = make_events(12_000, now_ms, rng)
    # redeliveries: the same event id again under another Nats-Msg-Id
    resent = [events[i] for i in rng.sample(range(len(events)), 500)]
    nc = await connect(CFG.nats, nats_server.url, "load")
    js = nc.jetstream()
    await ensure_streams(js, CFG)
    proc = start_core(nats_server.url, cfg_path)
    kills = 0
    stream = [(s, b, b["id"]) for s, b in events] + [(s, b, f"again-{b['id']}") for s, b in resent]
    rng.shuffle(stream)
    core_started = time.monotonic()
    for k, (subject, body, msg_id) in enumerate(stream):
        await js.publish_async(subject, json.dumps(body).encode(), headers={"Nats-Msg-Id": msg_id})
        if k % 500 == 499:
            await js.publish_async_completed()
            await asyncio.sleep(0.08)  # ~6k events/s: the kills land mid-burst
        if k % 2500 == 2499:  # let the new core get going, then kill it mid-stream
            await asyncio.sleep(
                max(0.0, core_started + 1.5 + rng.random() * 0.5 - time.monotonic())
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = start_core(nats_server.url, cfg_path)
            core_started = time.monotonic()
    await js.publish_async_completed()
    await caught_up(js)  # the last core applied everything and snapshotted (a slow start on
    await asyncio.sleep(1.0)  # a loaded machine must not leave the run without a snapshot)
    proc.send_signal(signal.SIGKILL)  # and once more at the very end
    proc.wait()
    await nc.close()
    assert kills == 5

    fixed_now = time.time()
    core = Core(CFG, nats_server.url, clock=lambda: int(fixed_now * 1000))
    await core.start()
    assert core.engine.last_seq > 0  # it restarted from a snapshot, not from nothing
    assert await core.wait_idle(30)

    scratch = MetricsEngine(CFG)
    valid = []
    for subject, body in events:
        kind, loc = subject.split(".")[1:]
        result = validate_event(kind, loc, json.dumps(body).encode(), int(fixed_now * 1000))
        assert not isinstance(result, Rejection)
        valid.append(result)
    scratch.apply_batch(valid)
    assert core.engine.applied == len(events)
    assert core.engine.duplicates == len(resent)
    now = int(fixed_now * 1000)
    for scope in ("network", "r", "a", "b", "c"):
        for window in ("1h", "today", "7d", "30d"):
            got = msgspec.to_builtins(core.metrics(scope, window))
            want = msgspec.to_builtins(metrics(scratch, scope, window, now))
            assert got == want, (scope, window)
    assert incident_views(scratch, "network", now) == core.incidents("network")
    await core.stop()
