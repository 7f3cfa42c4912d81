"""Engine snapshots <-> bytes: what the core stores in JetStream to restart in seconds.

The engine owns its state (``MetricsEngine.snapshot()`` / ``MetricsEngine.restore()``, the
value types in ``stream.state``); this module only turns a snapshot into bytes and back.
A snapshot is taken between batches, so it holds exactly the effect of the input stream up
to ``last_seq``; restoring it and replaying from ``last_seq + 1`` gives the same state as a
from-scratch replay. Arrays travel zlib-compressed chunk by chunk in msgpack (most ring rows
are zeros); chunks are compressed and inflated on a thread pool (zlib releases the GIL).
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import msgspec

from stream.state import EngineSnapshot, SnapshotMismatch, map_chunks

__all__ = ["EngineSnapshot", "SnapshotMismatch", "decode", "encode"]
_DECODER = msgspec.msgpack.Decoder(EngineSnapshot)


def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))


def _compress(chunk: bytes) -> bytes:
    return zlib.compress(chunk, 1)


def encode(snap: EngineSnapshot) -> bytes:
    """The snapshot as bytes (compresses every array; run it off the event loop)."""
    with _pool() as pool:
        return msgspec.msgpack.encode(map_chunks(snap, _compress, compressed=True, pool=pool))


def decode(blob: bytes) -> EngineSnapshot:
    """The snapshot stored as ``blob``, its arrays inflated (raises ``msgspec.DecodeError``
    or ``zlib.error`` for damaged bytes)."""
    snap = _DECODER.decode(blob)
    with _pool() as pool:
        return map_chunks(snap, zlib.decompress, compressed=False, pool=pool)
