"""Alert state in JetStream: the engine snapshot in a KV bucket, state changes in a stream.

The snapshot (live alerts with their "announced"/"notified" marks, silences, groups,
acknowledgements, recent history) is written before anything is sent, so after a restart a
firing alert is still firing and is not announced again. Every NATS state change is also
kept in the ``{PREFIX}_ALERTS`` stream (subjects ``{prefix}.alert.>``) for audit.
"""

from __future__ import annotations

import logging
import zlib

import msgspec
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from alerting.config import AlertingSettings
from alerting.model import SNAPSHOT_VERSION, EngineSnapshot
from stream.nats_io import ensure_kv, ensure_stream, stream_names
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.alerts")
SNAPSHOT_KEY = "engine"


def bucket_name(prefix: str) -> str:
    return f"{stream_names(prefix)['alerts']}_STATE"


async def ensure_alert_stream(js: JetStreamContext, cfg: AlertingSettings) -> None:
    """Create or update the stream that keeps every ``{prefix}.alert.>`` message (at most
    ``[nats] max_bytes_alerts``, the oldest dropped first)."""
    config = StreamConfig(
        name=stream_names(cfg.nats.prefix)["alerts"],
        subjects=[Subjects(cfg.nats.prefix).alert_wildcard],
        storage=StorageType.FILE, retention=RetentionPolicy.LIMITS, discard=DiscardPolicy.OLD,
        max_age=float(cfg.core.retention_days * 86400), num_replicas=cfg.nats.replicas,
        duplicate_window=cfg.nats.duplicate_window_s, max_bytes=cfg.nats.max_bytes_alerts,
        description="cxpulse alert state changes (firing/resolved)",
    )
    await ensure_stream(js, config)


def decode_snapshot(value: bytes) -> EngineSnapshot | None:
    """A stored snapshot, or None when unreadable or of a newer format (logged)."""
    try:
        snap = msgspec.json.decode(zlib.decompress(value), type=EngineSnapshot)
    except (zlib.error, msgspec.DecodeError) as exc:
        log.error("alerts: stored state unreadable (%s); starting empty", exc)
        return None
    if snap.version > SNAPSHOT_VERSION:
        log.error("alerts: stored state has version %d > %d; starting empty",
                  snap.version, SNAPSHOT_VERSION)
        return None
    return snap


class SnapshotStore:
    """One KV key holding the engine snapshot as zlib-compressed msgspec JSON (a network-wide
    outage with thousands of live alerts still fits one message)."""

    def __init__(self, js: JetStreamContext, cfg: AlertingSettings) -> None:
        self._js = js
        self._bucket = bucket_name(cfg.nats.prefix)
        self._replicas = cfg.nats.replicas
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        self._kv = await ensure_kv(self._js, self._bucket, replicas=self._replicas, history=5,
                                   description="cxpulse alert engine state")

    @property
    def kv(self) -> KeyValue:
        assert self._kv is not None, "open() first"
        return self._kv

    async def load(self) -> EngineSnapshot | None:
        """The last saved snapshot, or None (first start, or an unreadable/newer format)."""
        try:
            entry = await self.kv.get(SNAPSHOT_KEY)
        except KeyNotFoundError:
            return None
        return decode_snapshot(entry.value or b"")

    async def watcher(self) -> KeyValue.KeyWatcher:
        """A watcher of the snapshot key: ``async for entry in it`` gets each saved state
        (``entry.value``; None marks the end of the initial value), until ``stop()``."""
        return await self.kv.watch(SNAPSHOT_KEY)

    async def save(self, snap: EngineSnapshot) -> None:
        assert self._kv is not None, "open() first"
        await self._kv.put(SNAPSHOT_KEY, zlib.compress(msgspec.json.encode(snap), 6))

    async def try_save(self, snap: EngineSnapshot) -> bool:
        """Save; False (logged) when NATS is unreachable: the state stays in memory and the
        caller saves again after its next step."""
        try:
            await self.save(snap)
            return True
        except Exception as exc:  # noqa: BLE001 - kept in memory, retried on the next step
            log.warning("alerts: saving state failed (%s); will retry", exc)
            return False


async def open_store(js: JetStreamContext, cfg: AlertingSettings) -> SnapshotStore:
    """The alerts stream and the state bucket, created or updated; the store opened."""
    await ensure_alert_stream(js, cfg)
    store = SnapshotStore(js, cfg)
    await store.open()
    return store
