"""Which of several alert services evaluates: the lease, the followers' mirror of the saved
state, and the changes followers forward to the leader.

``Leadership`` keeps the lease (``lease.py``) ticking every ``lease_s / 3`` and tells the
service when it gains it (``lead``: from the state the last leader saved, on a takeover)
or loses it (``follow``). While following it mirrors every state the leader saves
(``store.py``'s watcher, ``mirror``); while leading it serves the acknowledgements and
silences followers forward (``control.py``, ``serve``), and a follower sends its own with
``forward``. Without NATS there is no ``Leadership``: the service leads alone.

Order at stop: ``stop`` (no more watching, no more serving: the service follows), then the
service saves what is unsaved, then ``release`` hands the lease over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from alerting.control import AlertsUnavailable, ControlReply, ControlRequest
from alerting.engine import AlertInputError
from alerting.model import EngineSnapshot
from alerting.store import SnapshotStore, decode_snapshot
from stream.lease import LeaseKeeper

log = logging.getLogger("cxpulse.alerts")
CONTROL_TIMEOUT_S = 5.0


class Led(Protocol):
    """What ``Leadership`` drives: the alert service."""

    leading: bool

    async def lead(self, *, reload: bool) -> None:
        """Start evaluating; ``reload``: first adopt the state the last leader saved."""

    async def follow(self) -> None:
        """Stop evaluating (the lease is someone else's)."""

    async def mirror(self, snapshot: EngineSnapshot) -> None:
        """While following: take the leader's newly saved state for reads."""

    async def serve(self, request: ControlRequest) -> ControlReply:
        """While leading: apply a change a follower forwarded."""


class Leadership:
    """The lease, the mirror and the control subject of one alert service."""

    def __init__(self, nc: NATS, store: SnapshotStore, control_subject: str, lease_s: float,
                 me: str, clock: Callable[[], int], led: Led) -> None:
        self.nc = nc
        self.store = store
        self.subject = control_subject
        self.lease_s = lease_s
        self.led = led
        self.lease = LeaseKeeper(store.kv, me, int(lease_s * 1000), clock)
        self._tasks: list[asyncio.Task[None]] = []
        self._control_sub: Any = None
        self._watcher: Any = None
        self._stopping = False

    @property
    def holder(self) -> str | None:
        """The leader as last seen."""
        return self.lease.holder

    async def start(self) -> None:
        """Take the lease if it is free (and lead at once), then keep and watch it."""
        self._stopping = False
        if await self.lease.tick():
            await self._lead(reload=False)
        self._tasks = [asyncio.create_task(self._keep_lease(), name="alerts-lease"),
                       asyncio.create_task(self._mirror_state(), name="alerts-follow")]

    async def stop(self) -> None:
        """Stop watching and serving; the service follows. The lease is still held:
        ``release`` it once the service has saved its state."""
        self._stopping = True
        if self._watcher is not None:
            with contextlib.suppress(Exception):
                await self._watcher.stop()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        self._tasks = []
        await self._follow()

    async def release(self) -> None:
        await self.lease.release()

    async def forward(self, request: ControlRequest) -> ControlReply:
        """Send a change to the leader; raises its ``AlertInputError``, or
        ``AlertsUnavailable`` when no instance leads right now."""
        try:
            msg = await self.nc.request(self.subject, msgspec.json.encode(request),
                                        timeout=CONTROL_TIMEOUT_S)
        except (NoRespondersError, NatsTimeout) as exc:
            raise AlertsUnavailable(f"no alert service is leading right now ({exc!r}); "
                                    "retry in a few seconds") from exc
        reply = msgspec.json.decode(msg.data, type=ControlReply)
        if reply.error:
            raise AlertInputError(reply.error)
        return reply

    # ---- gaining and losing the lease ---------------------------------------------------

    async def _lead(self, *, reload: bool) -> None:
        await self.led.lead(reload=reload)
        if self._control_sub is None:
            self._control_sub = await self.nc.subscribe(self.subject, cb=self._on_control)

    async def _follow(self) -> None:
        await self.led.follow()
        if self._control_sub is not None:
            with contextlib.suppress(Exception):
                await self._control_sub.unsubscribe()
            self._control_sub = None

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            leading = await self.lease.tick()
            if leading and not self.led.leading:
                await self._lead(reload=True)
            elif not leading and self.led.leading:
                log.warning("alerts: no longer leading (now %s)", self.lease.holder)
                await self._follow()

    async def _mirror_state(self) -> None:
        """While following: mirror each state the leader saves, for reads and the wall.
        ``stop`` ends it by stopping the watcher (cancelling a task inside nats-py's watch
        set-up can be swallowed there)."""
        while not self._stopping:
            watcher = None
            try:
                watcher = self._watcher = await self.store.watcher()
                if self._stopping:
                    break
                async for entry in watcher:
                    snap = decode_snapshot(entry.value) if entry and entry.value else None
                    if snap is not None and not self.led.leading:
                        await self.led.mirror(snap)
            except Exception as exc:  # noqa: BLE001 - NATS away: watch again shortly
                log.debug("alerts: state watch ended (%s); again", exc)
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            if not self._stopping:
                await asyncio.sleep(1.0)

    async def _on_control(self, msg: Any) -> None:
        """A follower's forwarded change, applied here (only the leader subscribes)."""
        try:
            request = msgspec.json.decode(msg.data, type=ControlRequest)
            reply = await self.led.serve(request)
        except (AlertInputError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            reply = ControlReply(error=str(exc))
        with contextlib.suppress(Exception):
            await msg.respond(msgspec.json.encode(reply))
