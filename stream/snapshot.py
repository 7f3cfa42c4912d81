"""Engine state <-> bytes: what the core stores in JetStream to restart in seconds.

A snapshot is taken between batches, so it holds exactly the effect of the input stream up
to ``last_seq``; restoring it and replaying from ``last_seq + 1`` gives the same state as
a from-scratch replay. Arrays travel zlib-compressed one by one in msgpack (most ring
rows are zeros). Incidents keep their steps and their derived records, so a load re-derives
nothing.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np

from stream.buckets import RingTable
from stream.config import StreamSettings
from stream.dedup import IdIndex
from stream.engine import MetricsEngine
from stream.events import IncidentEvent
from stream.incidents import RANK, Details, Step

FORMAT = 2


CHUNK_BYTES = 4 << 20


class ArrayBlob(msgspec.Struct, array_like=True):
    """One numpy array: raw bytes while captured, zlib chunks once encoded (chunks inflate
    in parallel on load; zlib releases the GIL)."""

    dtype: str
    shape: tuple[int, ...]
    chunks: list[bytes]
    compressed: bool = False

    @classmethod
    def of(cls, a: np.ndarray) -> ArrayBlob:
        raw = np.ascontiguousarray(a).tobytes()
        return cls(a.dtype.str, tuple(a.shape),
                   [raw[i:i + CHUNK_BYTES] for i in range(0, len(raw), CHUNK_BYTES)] or [b""])

    def array(self, pool: ThreadPoolExecutor | None = None) -> np.ndarray:
        """A writable array over one fresh buffer."""
        parts = self.chunks
        if self.compressed:
            parts = list(pool.map(zlib.decompress, parts)) if pool else [zlib.decompress(c) for c in parts]
        raw = bytearray(b"".join(parts))
        return np.frombuffer(raw, dtype=np.dtype(self.dtype)).reshape(self.shape)


class TableBlob(msgspec.Struct, array_like=True):
    data: ArrayBlob
    tags: ArrayBlob


class IncidentStep(msgspec.Struct, array_like=True):
    ts_ms: int
    event: IncidentEvent


class IncidentDetail(msgspec.Struct, array_like=True):
    location: int
    incident: str
    status: int
    severity: str | None
    channel: str | None
    department: str | None
    assignee: str | None
    text: str | None
    reopens: int


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
    incident_rows: list[IncidentDetail]  # in row order, with what people read
    incident_columns: dict[str, ArrayBlob]  # the derived records (no re-derivation on load)
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
    book = engine.incidents
    steps = [IncidentStep(s.ts_ms, s.event) for lst in book.steps.values() for s in lst]
    place_of = {row: pidx for (pidx, _), row in book.rows.items()}
    rows = [IncidentDetail(place_of[i], d.incident, d.status, d.severity, d.channel, d.department,
                           d.assignee, d.text, d.reopens) for i, d in enumerate(book.details)]
    columns: dict[str, ArrayBlob] = {name: ArrayBlob.of(book.cols.view(name))
                                     for name in book.cols.NAMES}
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
        incident_steps=steps, incident_rows=rows, incident_columns=columns, devices=[(loc, dev, ts) for (loc, dev), ts in engine.devices.items()],
        rejects=dict(engine.rejects), applied=engine.applied, duplicates=engine.duplicates,
        voice_seq=engine.voice_seq,
    )


def _blobs(snap: EngineSnapshot) -> list[ArrayBlob]:
    return [snap.minutes.data, snap.minutes.tags, snap.hours.data, snap.hours.tags,
            snap.dims.data, snap.dims.tags, snap.id_keys, snap.id_stamps, snap.session_keys,
            snap.session_ts, *snap.incident_columns.values()]


def encode(snap: EngineSnapshot) -> bytes:
    """Compress every array chunk on a thread pool, then msgpack (run it off the loop)."""
    blobs = [b for b in _blobs(snap) if not b.compressed]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for blob in blobs:
            blob.chunks = list(pool.map(lambda c: zlib.compress(c, 1), blob.chunks))
            blob.compressed = True
    return msgspec.msgpack.encode(snap)


def decode(blob: bytes) -> EngineSnapshot:
    return msgspec.msgpack.decode(blob, type=EngineSnapshot)


def _inflate_all(snap: EngineSnapshot) -> dict[int, np.ndarray]:
    """Every array of the snapshot, inflated on a thread pool (zlib releases the GIL)."""
    blobs = _blobs(snap)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return {id(b): b.array(pool) for b in blobs}


def _load_table(t: RingTable, blob: TableBlob, arrays: dict[int, np.ndarray]) -> None:
    data, tags = arrays[id(blob.data)], arrays[id(blob.tags)]
    if data.shape[0] and data.shape[2] >= t.columns:
        t.data, t.tags = data, tags  # adopt the buffers; ``ensure`` grows them when needed
        return
    t.ensure(max(data.shape[0], 1), data.shape[2])
    t.data[: data.shape[0], :, : data.shape[2]] = data
    t.tags[: tags.shape[0]] = tags


def _load_incidents(engine: MetricsEngine, snap: EngineSnapshot, arrays: dict[int, np.ndarray]) -> None:
    """Steps, row map, details and derived columns as saved: nothing is re-derived."""
    book = engine.incidents
    for step in snap.incident_steps:
        key = (engine.geo.place(step.event.location).idx, step.event.incident)
        book.steps.setdefault(key, []).append(Step(step.ts_ms, RANK[step.event.action],
                                                   step.event.id, step.event))
    for row, d in enumerate(snap.incident_rows):
        book.rows[(d.location, d.incident)] = row
        book.details.append(Details(d.incident, d.status, d.severity, d.channel, d.department,
                                    d.assignee, d.text, d.reopens))
    size = len(snap.incident_rows)
    cols = book.cols
    cols.size = 0
    while cols.place.shape[0] < size:
        cols.size = cols.place.shape[0]
        cols.new_row()
    for name, blob in snap.incident_columns.items():
        getattr(cols, name)[:size] = arrays[id(blob)]
    cols.size = size


def restore(cfg: StreamSettings, snap: EngineSnapshot) -> MetricsEngine:
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
    arrays = _inflate_all(snap)
    _load_table(engine.minutes, snap.minutes, arrays)
    _load_table(engine.hours, snap.hours, arrays)
    _load_table(engine.dims, snap.dims, arrays)
    engine.ids = IdIndex(1)
    engine.ids.keys, engine.ids.stamps = arrays[id(snap.id_keys)], arrays[id(snap.id_stamps)]
    engine.ids.count = snap.id_count
    engine.sessions = dict(zip(arrays[id(snap.session_keys)].tolist(),
                               arrays[id(snap.session_ts)].tolist(),
                               strict=True))
    _load_incidents(engine, snap, arrays)
    engine.devices = {(loc, dev): ts for loc, dev, ts in snap.devices}
    engine.rejects = Counter(snap.rejects)
    engine.applied, engine.duplicates, engine.last_seq = snap.applied, snap.duplicates, snap.last_seq
    engine.voice_seq = snap.voice_seq
    return engine
