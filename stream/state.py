"""The engine's state as an immutable, serialisable value (what ``snapshot()`` returns).

``MetricsEngine.snapshot()`` copies its state into an ``EngineSnapshot`` between batches,
and ``MetricsEngine.restore(cfg, snapshot)`` builds an engine from one; each stateful part
(ring tables, the id index, the incident book) captures and rebuilds its own piece. Arrays
travel as ``ArrayBlob``: raw bytes in chunks as captured; ``stream.snapshot`` compresses the
chunks to store them and inflates them again when loading. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
import numpy.typing as npt

from stream.events import IncidentEvent, IncidentLink

FORMAT = 3  # bump when the layout below changes incompatibly (a restart then replays)
# 3: the id index is keyed by (location, id) (``stream.dedup.event_key``); a format-2 index
# holds hashes of the bare id, which cannot be re-keyed, so a restart replays the stream
CHUNK_BYTES = 4 << 20


class SnapshotMismatch(ValueError):
    """The snapshot does not fit this engine (another format, other locations, regions or
    CSI questions): replay the stream from the start instead."""


class ArrayBlob(msgspec.Struct, array_like=True, frozen=True):
    """One numpy array: raw bytes in chunks while captured, zlib chunks once encoded (chunks
    inflate in parallel on load; zlib releases the GIL)."""

    dtype: str
    shape: tuple[int, ...]
    chunks: list[bytes]
    compressed: bool = False

    @classmethod
    def of(cls, a: npt.NDArray[np.generic]) -> ArrayBlob:
        raw = np.ascontiguousarray(a).tobytes()
        return cls(a.dtype.str, tuple(a.shape),
                   [raw[i:i + CHUNK_BYTES] for i in range(0, len(raw), CHUNK_BYTES)] or [b""])

    def array(self) -> npt.NDArray[np.generic]:
        """A writable array over one fresh buffer (of a blob that is not compressed)."""
        if self.compressed:
            raise ValueError("inflate the blob first (stream.snapshot.decode does)")
        raw = bytearray(b"".join(self.chunks))
        return np.frombuffer(raw, dtype=np.dtype(self.dtype)).reshape(self.shape)


class TableBlob(msgspec.Struct, array_like=True, frozen=True):
    data: ArrayBlob
    tags: ArrayBlob


class IncidentStep(msgspec.Struct, array_like=True, frozen=True):
    ts_ms: int
    event: IncidentEvent


class IncidentDetail(msgspec.Struct, array_like=True, frozen=True):
    location: int
    incident: str
    status: int
    severity: str | None
    channel: str | None
    department: str | None
    assignee: str | None
    text: str | None
    reopens: int
    source: str = "desk"
    who: str | None = None
    linked: IncidentLink | None = None
    escalations: int = 0


class EngineSnapshot(msgspec.Struct, frozen=True):
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


def blobs(snap: EngineSnapshot) -> list[ArrayBlob]:
    """Every array of a snapshot."""
    return [snap.minutes.data, snap.minutes.tags, snap.hours.data, snap.hours.tags,
            snap.dims.data, snap.dims.tags, snap.id_keys, snap.id_stamps, snap.session_keys,
            snap.session_ts, *snap.incident_columns.values()]


def with_blobs(snap: EngineSnapshot, new: dict[int, ArrayBlob]) -> EngineSnapshot:
    """A copy of ``snap`` whose arrays are replaced by ``new[id(old blob)]``."""

    def table(t: TableBlob) -> TableBlob:
        return TableBlob(new[id(t.data)], new[id(t.tags)])

    return msgspec.structs.replace(
        snap, minutes=table(snap.minutes), hours=table(snap.hours), dims=table(snap.dims),
        id_keys=new[id(snap.id_keys)], id_stamps=new[id(snap.id_stamps)],
        session_keys=new[id(snap.session_keys)], session_ts=new[id(snap.session_ts)],
        incident_columns={k: new[id(b)] for k, b in snap.incident_columns.items()})


def map_chunks(snap: EngineSnapshot, fn: Callable[[bytes], bytes], *, compressed: bool,
               pool: ThreadPoolExecutor) -> EngineSnapshot:
    """A copy of ``snap`` with ``fn`` applied to every chunk of the arrays whose
    ``compressed`` flag differs from the wanted one, on a thread pool."""
    new = {}
    for blob in blobs(snap):
        if blob.compressed == compressed:
            new[id(blob)] = blob
        else:
            chunks = list(pool.map(fn, blob.chunks))
            new[id(blob)] = msgspec.structs.replace(blob, chunks=chunks, compressed=compressed)
    return with_blobs(snap, new)
