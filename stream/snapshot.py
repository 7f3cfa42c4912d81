"""Engine state <-> bytes: what the core stores in JetStream to restart in seconds.

A snapshot is taken between batches, so it holds exactly the effect of the input stream up
to ``last_seq``; restoring it and replaying from ``last_seq + 1`` gives the same state as
a from-scratch replay. Arrays travel as raw bytes in msgpack, zlib-compressed (most ring
rows are zeros). Incidents are stored as their steps and re-derived on load.
"""

from __future__ import annotations

import zlib
from collections import Counter

import msgspec
import numpy as np

from stream.buckets import RingTable
from stream.config import Config
from stream.dedup import IdIndex
from stream.engine import MetricsEngine
from stream.events import IncidentEvent

FORMAT = 1


class ArrayBlob(msgspec.Struct, array_like=True):
    dtype: str
    shape: tuple[int, ...]
    data: bytes

    @classmethod
    def of(cls, a: np.ndarray) -> ArrayBlob:
        a = np.ascontiguousarray(a)
        return cls(a.dtype.str, tuple(a.shape), a.tobytes())

    def array(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape).copy()


class TableBlob(msgspec.Struct, array_like=True):
    data: ArrayBlob
    tags: ArrayBlob


class IncidentStep(msgspec.Struct, array_like=True):
    ts_ms: int
    event: IncidentEvent


class EngineSnapshot(msgspec.Struct):
    format: int
    last_seq: int
    scopes: dict[str, int]
    places: list[str]
    csi_keys: list[tuple[str, str]]
    dim_keys: list[tuple[str, int, str]]
    minutes: TableBlob
    hours: TableBlob
    dims: TableBlob
    id_keys: ArrayBlob
    id_stamps: ArrayBlob
    id_count: int
    session_keys: ArrayBlob
    session_ts: ArrayBlob
    incident_steps: list[IncidentStep]
    devices: list[tuple[str, str, int]]
    rejects: dict[str, int]
    applied: int
    duplicates: int
    voice_seq: int = 0


class SnapshotMismatch(ValueError):
    """The snapshot was made with another set of locations/regions: replay from scratch."""


def _table(t: RingTable, entities: int, columns: int) -> TableBlob:
    return TableBlob(ArrayBlob.of(t.data[:entities, :, :columns]), ArrayBlob.of(t.tags[:entities]))


def capture(engine: MetricsEngine) -> EngineSnapshot:
    """An immutable copy of the engine state (cheap memcpy; encode it off the event loop)."""
    nent = engine.geo.entity_count
    ncols = engine.minutes.columns
    steps = [IncidentStep(s.ts_ms, s.event) for lst in engine.incidents.steps.values() for s in lst]
    keys = np.fromiter(engine.sessions.keys(), np.int64, len(engine.sessions))
    vals = np.fromiter(engine.sessions.values(), np.int64, len(engine.sessions))
    return EngineSnapshot(
        format=FORMAT, last_seq=engine.last_seq, scopes=dict(engine.geo.scope_entity),
        places=[p.id for p in engine.geo.places], csi_keys=list(engine.csi_keys),
        dim_keys=list(engine.dim_keys),
        minutes=_table(engine.minutes, nent, ncols), hours=_table(engine.hours, nent, ncols),
        dims=_table(engine.dims, len(engine.dim_keys), engine.dims.columns),
        id_keys=ArrayBlob.of(engine.ids.keys), id_stamps=ArrayBlob.of(engine.ids.stamps),
        id_count=engine.ids.count, session_keys=ArrayBlob.of(keys), session_ts=ArrayBlob.of(vals),
        incident_steps=steps, devices=[(loc, dev, ts) for (loc, dev), ts in engine.devices.items()],
        rejects=dict(engine.rejects), applied=engine.applied, duplicates=engine.duplicates,
        voice_seq=engine.voice_seq,
    )


def encode(snap: EngineSnapshot) -> bytes:
    return zlib.compress(msgspec.msgpack.encode(snap), 1)


def decode(blob: bytes) -> EngineSnapshot:
    return msgspec.msgpack.decode(zlib.decompress(blob), type=EngineSnapshot)


def _load_table(t: RingTable, blob: TableBlob) -> None:
    data, tags = blob.data.array(), blob.tags.array()
    t.ensure(max(data.shape[0], 1), data.shape[2])
    t.data[: data.shape[0], :, : data.shape[2]] = data
    t.tags[: tags.shape[0]] = tags


def restore(cfg: Config, snap: EngineSnapshot) -> MetricsEngine:
    """A new engine holding the snapshot's state; raises SnapshotMismatch if the scopes of
    the current config would get other entity numbers than the snapshot's."""
    if snap.format != FORMAT:
        raise SnapshotMismatch(f"snapshot format {snap.format}, expected {FORMAT}")
    engine = MetricsEngine(cfg)
    for loc in snap.places:
        engine.geo.place(loc)
    if engine.geo.scope_entity != snap.scopes:
        raise SnapshotMismatch("locations or regions changed since the snapshot")
    if list(engine.csi_keys)[: len(snap.csi_keys)] != [tuple(k) for k in snap.csi_keys][: len(engine.csi_keys)]:
        raise SnapshotMismatch("CSI questionnaire changed since the snapshot")
    for factor, question in snap.csi_keys:
        engine._csi_column(factor, question)
    engine.dim_keys = {tuple(k): i for i, k in enumerate(snap.dim_keys)}  # type: ignore[misc]
    _load_table(engine.minutes, snap.minutes)
    _load_table(engine.hours, snap.hours)
    _load_table(engine.dims, snap.dims)
    engine.ids = IdIndex(1)
    engine.ids.keys, engine.ids.stamps = snap.id_keys.array(), snap.id_stamps.array()
    engine.ids.count = snap.id_count
    engine.sessions = dict(zip(snap.session_keys.array().tolist(), snap.session_ts.array().tolist(),
                               strict=True))
    for step in snap.incident_steps:
        engine.incidents.apply(engine.geo.place(step.event.location), step.event, step.ts_ms)
    engine.devices = {(loc, dev): ts for loc, dev, ts in snap.devices}
    engine.rejects = Counter(snap.rejects)
    engine.applied, engine.duplicates, engine.last_seq = snap.applied, snap.duplicates, snap.last_seq
    engine.voice_seq = snap.voice_seq
    return engine
