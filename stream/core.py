"""The streaming core in one process: the NATS consumer and the reader of its engine.

``CoreConsumer`` (``stream.consumer``) feeds the pure ``MetricsEngine`` from JetStream and
snapshots it; ``LocalReader`` (``stream.local``) answers ``CoreReader`` reads from it. With
``[scale] workers > 1`` the consumers run as ``cxpulse core`` processes and readers use
``stream.remote.RemoteReader`` instead, which implements the same ``CoreReader``.
"""

from __future__ import annotations

from nats.aio.client import Client as NATS
from nats.js.client import JetStreamContext

from stream.clock import Clock, wall_ms
from stream.config import StreamSettings
from stream.consumer import CoreConsumer
from stream.engine import MetricsEngine
from stream.events import Limits, Rejection
from stream.local import LocalReader
from stream.natscreds import Login
from stream.subjects import Subjects


class Core(LocalReader):
    """``CoreReader`` of the engine that this process's consumer feeds, plus the consumer's
    lifecycle (``start``/``stop``), writes (``publish_input``) and ``wait_idle``."""

    def __init__(self, cfg: StreamSettings, nats_url: str, *, clock: Clock = wall_ms,
                 name: str = "cxpulse-core", login: Login | None = None) -> None:
        """``login``: the core's own NATS user (``stream.natscreds``); None connects with
        the ``[nats]`` credentials."""
        self.consumer = CoreConsumer(cfg, nats_url, clock=clock, name=name, login=login)
        super().__init__(lambda: self.consumer.engine, self.consumer.changes, clock,
                         self.consumer.status)
        self.cfg = cfg
        self.url = nats_url
        self.clock = clock
        self.limits: Limits = self.consumer.limits
        self.subjects: Subjects = self.consumer.subjects

    @property
    def engine(self) -> MetricsEngine:
        return self.consumer.engine

    @property
    def nc(self) -> NATS | None:
        return self.consumer.nc

    @property
    def js(self) -> JetStreamContext | None:
        return self.consumer.js

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self, *, snapshot_state: bool = True) -> None:
        await self.consumer.stop(snapshot_state=snapshot_state)

    async def save_snapshot(self) -> int:
        return await self.consumer.save_snapshot()

    async def wait_idle(self, timeout_s: float = 10.0) -> bool:
        return await self.consumer.wait_idle(timeout_s)

    async def publish_input(self, kind: str, location: str, payload: bytes) -> Rejection | None:
        return await self.consumer.publish_input(kind, location, payload)
