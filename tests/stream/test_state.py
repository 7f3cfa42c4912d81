"""The engine's own ``snapshot()`` / ``restore()`` and the byte form (``stream.snapshot``):
engine -> snapshot -> bytes -> restore gives an engine that answers and continues exactly
like the original."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from cxpulse.config import load_config_text
from stream import snapshot
from stream.engine import MetricsEngine
from stream.events import EncounterEvent, InputEvent, validate_event
from stream.incident_views import incident_views
from stream.query import dimension_metrics, flow_profile, metrics
from stream.state import SnapshotMismatch, blobs
from tests.stream.test_crash import make_events

CONFIG = """
[[locations]]
id = "a"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "b"
region = "r"
timezone = "Asia/Kolkata"
[[csi.questions]]
id = "clean"
factor = "tangibles"
"""
CFG = load_config_text(CONFIG)
NOW = 1_772_615_400_000  # Wed 2026-03-04 09:10 UTC
SCOPES = ("network", "r", "a", "b", "c")


def items(n: int, seed: int, now_ms: int = NOW) -> list[tuple[InputEvent, int]]:
    out = []
    for subject, body in make_events(n, now_ms, random.Random(seed)):
        kind, loc = subject.split(".")[1:]
        body["id"] = f"s{seed}-{body['id']}"  # unique across seeds
        if seed % 2 and body.get("type") == "button":
            body["device"] = f"term-{loc}"
        result = validate_event(kind, loc, json.dumps(body).encode(), now_ms)
        assert isinstance(result, tuple)
        out.append(result)
    enc = EncounterEvent(id=f"enc-{seed}", ts=now_ms - 60_000, location="a", mic="m1",
                         start=now_ms - 120_000, end=now_ms - 60_000, utterances=4,
                         greeting=True, thanks=True, farewell=False, rating=0.8)
    return [*out, (enc, now_ms - 60_000)]


def answers(engine: MetricsEngine) -> list[object]:
    out: list[object] = []
    for scope in SCOPES:
        for window in ("1h", "today", "7d", "30d"):
            out.append(msgspec.to_builtins(metrics(engine, scope, window, NOW)))
        out.append(msgspec.to_builtins(dimension_metrics(engine, scope, "7d", NOW, staff="ann")))
        out.append(msgspec.to_builtins(flow_profile(engine, scope, NOW)))
        out.append(msgspec.to_builtins(incident_views(engine, scope, NOW)))
    return [*out, dict(engine.devices), dict(engine.rejects), engine.applied,
            engine.duplicates, engine.last_seq, engine.voice_seq]


def test_round_trip_through_bytes_answers_and_continues_the_same() -> None:
    engine = MetricsEngine(CFG)
    engine.apply_batch(items(3000, 1), 3000)
    engine.apply_batch([], voice_seq=7)
    engine.reject("not_json")
    restored = MetricsEngine.restore(CFG, snapshot.decode(snapshot.encode(engine.snapshot())))
    assert answers(restored) == answers(engine)
    # both go on alike: the same new events, and the old ones again (known ids: duplicates)
    more = items(500, 3) + items(3000, 1)[:200]
    for e in (engine, restored):
        e.apply_batch(more, 3700)
    assert answers(restored) == answers(engine)
    assert restored.duplicates == engine.duplicates >= 200


def test_a_snapshot_is_a_copy_and_encoding_leaves_it_untouched() -> None:
    engine = MetricsEngine(CFG)
    engine.apply_batch(items(500, 5), 500)
    snap = engine.snapshot()
    first = snapshot.encode(snap)
    engine.apply_batch(items(500, 6), 1000)  # the engine moves on; the snapshot does not
    assert not any(b.compressed for b in blobs(snap))
    assert snapshot.encode(snap) == first
    assert MetricsEngine.restore(CFG, snapshot.decode(first)).last_seq == 500


def test_a_snapshot_of_other_locations_or_questions_is_refused() -> None:
    engine = MetricsEngine(CFG)
    engine.apply_batch(items(200, 7), 200)
    snap = snapshot.decode(snapshot.encode(engine.snapshot()))
    moved = load_config_text(CONFIG.replace('region = "r"\ntimezone = "Asia/Kolkata"',
                                            'region = "s"\ntimezone = "Asia/Kolkata"'))
    with pytest.raises(SnapshotMismatch, match="locations or regions"):
        MetricsEngine.restore(moved, snap)
    other = load_config_text(CONFIG.replace('id = "clean"', 'id = "tidy"'))
    with pytest.raises(SnapshotMismatch, match="CSI"):
        MetricsEngine.restore(other, snap)
    with pytest.raises(SnapshotMismatch, match="format"):
        MetricsEngine.restore(CFG, msgspec.structs.replace(snap, format=1))


def test_damaged_bytes_do_not_decode() -> None:
    blob = snapshot.encode(MetricsEngine(CFG).snapshot())
    with pytest.raises(msgspec.DecodeError):
        snapshot.decode(blob[: len(blob) // 2])
