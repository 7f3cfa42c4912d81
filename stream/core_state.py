"""Where the core keeps its snapshots: a JetStream object store plus a KV manifest.

The manifest (``snapshot`` key) names the object and the last applied input sequence; the
object is written first under the name the manifest does *not* point to, so a crash in the
middle of a write leaves the previous snapshot intact.

Reading goes through a pull consumer on the object's chunks rather than nats-py's
``ObjectStore.get`` (a push consumer): 5 MB in 10-20 ms instead of 500 ms, measured, which
is most of a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError

from stream.clock import Clock, wall_ms
from stream.nats_io import ensure_kv

log = logging.getLogger("cxpulse.core")


class Manifest(msgspec.Struct):
    object: str
    last_seq: int
    size: int
    sha256: str
    created_ms: int


class SnapshotStore:
    """Load and save snapshot blobs in JetStream."""

    def __init__(self, js: JetStreamContext, names: dict[str, str], replicas: int = 1,
                 key: str = "core", clock: Clock = wall_ms) -> None:
        """``key`` names this worker's snapshot (one per partition set)."""
        self.js = js
        self.clock = clock
        self.names = names
        self.replicas = replicas
        self.key = key
        self.manifest: Manifest | None = None

    async def open(self) -> None:
        self.kv = await ensure_kv(self.js, self.names["kv"], replicas=self.replicas)
        try:
            self.obs = await self.js.object_store(self.names["objects"])
        except BucketNotFoundError:
            self.obs = await self.js.create_object_store(
                self.names["objects"], storage=StorageType.FILE, replicas=self.replicas)

    async def load(self) -> bytes | None:
        """The latest complete snapshot, or None when there is none (or it is damaged)."""
        try:
            entry = await self.kv.get(f"snapshot.{self.key}")
        except (KeyNotFoundError, NotFoundError):
            return None
        if not entry.value:
            return None
        manifest = msgspec.json.decode(entry.value, type=Manifest)
        try:
            data = await self._read_object(manifest.object)
        except NotFoundError:
            log.warning("core: snapshot object %s is missing", manifest.object)
            return None
        except Exception as exc:  # noqa: BLE001 - a replay from the start is slower, not wrong
            log.warning("core: snapshot object %s could not be read (%r)", manifest.object, exc)
            return None
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            log.warning("core: snapshot %s is damaged (checksum mismatch)", manifest.object)
            return None
        self.manifest = manifest
        return data

    async def _read_object(self, name: str) -> bytes:
        """The object's bytes, its chunks pulled in big batches."""
        info = await self.obs.get_info(name)
        if not info.size or not info.nuid:
            return b""
        bucket = self.names["objects"]
        psub = await self.js.pull_subscribe(
            f"$O.{bucket}.C.{info.nuid}", durable=None, stream=f"OBJ_{bucket}",
            config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL,
                                  inactive_threshold=30.0, mem_storage=True))
        parts: list[bytes] = []
        total = 0
        try:
            while total < info.size:
                for msg in await psub.fetch(256, timeout=10):
                    parts.append(msg.data)
                    total += len(msg.data)
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()
        return b"".join(parts)

    async def save(self, blob: bytes, last_seq: int) -> Manifest:
        a, b = f"{self.key}-a", f"{self.key}-b"
        name = b if self.manifest and self.manifest.object == a else a
        await self.obs.put(name, blob)
        manifest = Manifest(name, last_seq, len(blob), hashlib.sha256(blob).hexdigest(),
                            self.clock())
        await self.kv.put(f"snapshot.{self.key}", msgspec.json.encode(manifest))
        self.manifest = manifest
        return manifest
