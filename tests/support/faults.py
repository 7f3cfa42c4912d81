"""What every fault test shares: simulated traffic, a publisher that retries until JetStream
acknowledges, the core as a real process, and the from-scratch check.

The check is the promise of issue 7: after a fault, every metric of every scope and window
equals a fresh ``MetricsEngine`` fed the same accepted events once, the applied count is
the number of distinct valid ids (nothing lost, nothing counted twice) and the incident
views are identical.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from cxpulse.config import Config, load_config_text
from simulators.model import build_network
from simulators.traffic import Traffic, make_plan, questionnaire
from stream.config import StreamSettings
from stream.core import Core
from stream.engine import MetricsEngine
from stream.events import Rejection, encode, validate_event
from stream.query import incident_views, metrics
from stream.windows import WINDOWS

Item = tuple[str, bytes, str]  # (subject, payload, Nats-Msg-Id)
BASE_CONFIG = """
[core]
snapshot_interval_s = 0.5
snapshot_every_events = 2000
batch_size = 250
[[locations]]
id = "a"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "b"
region = "r"
timezone = "Asia/Yekaterinburg"
"""


def config(extra: str = "") -> tuple[str, Config]:
    text = BASE_CONFIG + extra
    return text, load_config_text(text)


def sim_items(cfg: Config, minutes: float, *, seed: int = 1, now_ms: int | None = None,
              scenario: str = "load") -> list[Item]:
    """The simulator's events of the last ``minutes`` of event time (configured locations
    plus one unknown one), encoded as the publisher sends them."""
    now_ms = now_ms or int(time.time() * 1000)
    network = build_network(cfg, 1)
    plan = make_plan(network, scenario, now_ms - int(minutes * 60_000), now_ms, seed)
    events = Traffic(plan, network, questionnaire(cfg)).advance(now_ms)
    return [(f"{cfg.nats.prefix}.{e.kind}.{e.location}", encode(e.event), e.event.id)
            for e in events]


async def publish_reliably(js: JetStreamContext, items: list[Item], *, chunk: int = 500,
                           pause_s: float = 0.0, deadline_s: float = 60.0,
                           ack_timeout_s: float = 3.0) -> int:
    """Publish with ``Nats-Msg-Id`` and re-send every message whose ack did not come (server
    down, timeouts) until all are acknowledged; returns how many re-sends it took."""
    resent = 0
    end = time.monotonic() + deadline_s
    for start in range(0, len(items), chunk):
        todo = items[start:start + chunk]
        while todo:
            if time.monotonic() > end:
                raise TimeoutError(f"{len(todo)} messages never acknowledged")
            futures: list[asyncio.Future[PubAck] | None] = []
            for subject, payload, msg_id in todo:
                try:
                    futures.append(await js.publish_async(
                        subject, payload, headers={"Nats-Msg-Id": msg_id}, wait_stall=2.0))
                except (nats.errors.Error, TimeoutError, OSError):
                    futures.append(None)
            live = [f for f in futures if f is not None]
            if live:  # acks of a server that went away never come: give up on them
                _, pending = await asyncio.wait(live, timeout=ack_timeout_s)
                for f in pending:
                    f.cancel()
            failed = [item for item, f in zip(todo, futures, strict=True)
                      if f is None or f.cancelled() or f.exception() is not None]
            resent += len(failed)
            todo = failed
            if failed:
                await asyncio.sleep(0.2)
        if pause_s:
            await asyncio.sleep(pause_s)
    return resent


def interleave(good: list[Item], bad: list[Item]) -> list[Item]:
    """``bad`` spread evenly through ``good``."""
    every = max(1, len(good) // max(1, len(bad)))
    out: list[Item] = []
    for k, item in enumerate(good):
        out.append(item)
        if k % every == every - 1 and k // every < len(bad):
            out.append(bad[k // every])
    return out + bad[len(good) // every:]


def scratch(cfg: StreamSettings, items: list[Item], now_ms: int) -> tuple[MetricsEngine, int]:
    """A from-scratch engine over the valid items (each applied once by id); also returns
    the number of distinct valid event ids."""
    engine = MetricsEngine(cfg)
    valid = []
    for subject, payload, _ in items:
        _, kind, location = subject.split(".", 2)
        result = validate_event(kind, location, payload, now_ms)
        if not isinstance(result, Rejection):
            valid.append(result)
    engine.apply_batch(valid)
    return engine, len({event.id for event, _ in valid})


def assert_equals_scratch(core: Core, items: list[Item], now_ms: int) -> MetricsEngine:
    """The promise: the core's metrics equal a from-scratch recomputation, every scope and
    window, and each valid event was applied exactly once."""
    fresh, distinct = scratch(core.cfg, items, now_ms)
    assert core.engine.applied == distinct, (core.engine.applied, distinct)
    scopes = ["network", *sorted({p.region for p in fresh.geo.places if p.region}),
              *sorted(p.id for p in fresh.geo.places)]
    for scope in scopes:
        for window in WINDOWS:
            got = msgspec.to_builtins(metrics(core.engine, scope, window, now_ms))
            want = msgspec.to_builtins(metrics(fresh, scope, window, now_ms))
            diff = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
            assert got == want, (scope, window, diff)
    assert incident_views(core.engine, "network", now_ms) == incident_views(
        fresh, "network", now_ms)
    return fresh


async def settled_core(cfg: Config, url: str, now_s: float, timeout_s: float = 60) -> Core:
    """An in-process core with a frozen clock that has caught up with the input stream."""
    core = Core(cfg, url, clock=lambda: int(now_s * 1000))
    await core.start()
    assert await core.wait_idle(timeout_s)
    return core


def start_core_process(url: str, config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """``cxpulse core`` as a real child process (its log kept for the failure message)."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "core", "--config",
                                 str(config_path), "--nats-url", url], stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        log.close()


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 20) -> int:
    """SIGTERM (graceful: the core snapshots), SIGKILL if it hangs; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("process did not stop on SIGTERM") from None
    return proc.returncode


async def stream_seq(js: JetStreamContext, stream: str) -> int:
    return (await js.stream_info(stream)).state.last_seq


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 10.0,
                   step_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step_s)


def malformed(i: int, now_ms: int, prefix: str = "cx") -> tuple[str, bytes, str, str]:
    """The ``i``-th of a cycle of bad inputs: (subject, payload, msg id, expected reason code)."""
    eid = f"bad-{i}"
    base = {"id": eid, "ts": now_ms - 60_000, "location": "a"}

    def js(body: object) -> bytes:
        return msgspec.json.encode(body)

    cases: list[tuple[str, bytes, str]] = [
        ("feedback.a", b"{not json" + str(i).encode(), "not_json"),
        ("feedback.a", js([base]), "not_object"),
        ("feedback.a", js({**base, "type": "nps"}), "missing_field"),
        ("feedback.a", js({**base, "type": "rating", "value": 3}), "unknown_type"),
        ("feedback.a", js({**base, "type": "nps", "value": 11}), "out_of_range"),
        ("feedback.a", js({**base, "type": "button", "value": 5, "scale": 3}), "out_of_range"),
        ("feedback.b", js({**base, "type": "nps", "value": 5}), "location_mismatch"),
        ("flow.a", js({**base, "ts": now_ms + 86_400_000, "channel": "phone"}), "future_ts"),
        ("flow.a", js({**base, "ts": now_ms - 90 * 86_400_000, "channel": "phone"}), "too_old_ts"),
        ("flow.a", js({**base, "channel": "pigeon"}), "invalid_field"),
        ("incident.a", js({**base, "incident": "i1", "action": "open"}), "invalid_field"),
        ("feedback.a", js({**base, "type": "nps", "value": 5, "comment": "x" * 70_000}),
         "too_large"),
        ("feedback.a.extra", js({**base, "type": "nps", "value": 5}), "bad_subject"),
        ("feedback.A", js({**base, "type": "nps", "value": 5}), "bad_subject"),
        ("feedback.a", b"\xff\xfe\x00garbage", "not_json"),
    ]
    subject, payload, code = cases[i % len(cases)]
    return f"{prefix}.{subject}", payload, eid, code


async def wait_caught_up(js: JetStreamContext, stream: str, proc: subprocess.Popen[bytes],
                         log_path: Path, timeout_s: float = 30) -> int:
    """Until the core process has acknowledged the whole input stream; it must stay alive."""
    last = (await js.stream_info(stream)).state.last_seq
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            info = await js.consumer_info(stream, "core")
        except NotFoundError:  # not started yet
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the core process never bound its consumer"
            await asyncio.sleep(0.1)
            continue
        if info.ack_floor.stream_seq >= last and not info.num_pending:
            return last
        assert proc.poll() is None, log_path.read_text()[-3000:]
        if time.monotonic() > deadline:
            raise AssertionError(f"core process stuck at {info.ack_floor.stream_seq}/{last}: "
                                 + log_path.read_text()[-3000:])
        await asyncio.sleep(0.1)


async def dead_letters(js: JetStreamContext, stream: str) -> list[dict[str, str]]:
    """Headers of every message in the dead-letter stream."""
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        size = len(msg.data or b"")
        out.append({**(msg.headers or {}), "_subject": msg.subject, "_len": str(size)})
    return out
