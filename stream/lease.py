"""Which instance leads: a lease in a KV bucket, taken by compare-and-set.

Several ``cxpulse run`` processes (more websocket capacity, or a hot standby) each start the
singleton services (the alert service; the archive writer). Exactly one *leads* each: for
alerts it evaluates the rules, writes the state and sends notifications. The others
*follow*: they mirror the leader's saved state for reads and forward acknowledgements and
silences to it. When the leader stops it hands the lease back at once; when it dies, a
follower takes over once the lease has expired (``[alerts] lease_s``), restores the saved
state and so neither re-announces nor loses an alert.

``next_step`` is the rule (pure); ``LeaseKeeper`` applies it to the KV bucket;
``keep_lease`` is the loop a leading service runs to renew it and change role.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyValueError
from nats.js.kv import KeyValue

log = logging.getLogger("cxpulse.alerts")
LEASE_KEY = "leader"
Step = Literal["create", "renew", "take", "follow"]


class LeaseRecord(msgspec.Struct, frozen=True):
    """Who leads, and until when (wall-clock ms) unless renewed."""

    owner: str
    expires_ms: int


def next_step(record: LeaseRecord | None, me: str, now_ms: int) -> Step:
    """What ``me`` does with the lease as found: no lease: create it; mine: renew it;
    someone else's that has expired: take it; else follow."""
    if record is None:
        return "create"
    if record.owner == me:
        return "renew"
    return "take" if record.expires_ms <= now_ms else "follow"


def instance_name() -> str:
    """A name for this process that no other instance shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    """Holds or watches the lease; call ``tick`` every ``ttl_ms / 3``."""

    def __init__(self, kv: KeyValue, me: str, ttl_ms: int, clock: Callable[[], int]) -> None:
        self.kv, self.me, self.ttl_ms, self.clock = kv, me, ttl_ms, clock
        self.leading = False
        self.holder: str | None = None  # the leader as last seen
        self._revision = 0
        self._expires_ms = 0

    async def tick(self) -> bool:
        """Renew, take or just look; True while this instance leads. A leader that cannot
        reach the bucket keeps leading only until its own lease would expire."""
        now = self.clock()
        try:
            record, revision = await self._read()
            step = next_step(record, self.me, now)
            if step == "follow":
                self.leading, self.holder = False, record.owner if record else None
                return False
            value = msgspec.json.encode(LeaseRecord(self.me, now + self.ttl_ms))
            if step == "create":
                self._revision = await self.kv.create(LEASE_KEY, value)
            else:
                self._revision = await self.kv.update(LEASE_KEY, value, last=revision)
        except KeyValueError:  # another instance wrote first: it leads
            self.leading = False
            return False
        except Exception as exc:  # noqa: BLE001 - NATS unreachable: decide on our own clock
            if self.leading and now >= self._expires_ms:
                log.warning("alerts: lease not renewed (%s); stepping down", exc)
                self.leading = False
            return self.leading
        if not self.leading:
            log.info("alerts: this instance (%s) leads%s", self.me,
                     "" if step == "create" else f" ({step})")
        self.leading, self.holder, self._expires_ms = True, self.me, now + self.ttl_ms
        return True

    async def release(self) -> None:
        """Hand the lease back (a clean stop), so a follower takes over at once."""
        if not self.leading:
            return
        self.leading = False
        try:
            await self.kv.delete(LEASE_KEY, last=self._revision)
        except Exception as exc:  # noqa: BLE001 - it will expire instead
            log.debug("alerts: releasing the lease failed: %s", exc)

    async def _read(self) -> tuple[LeaseRecord | None, int]:
        try:
            entry = await self.kv.get(LEASE_KEY)
        except (KeyNotFoundError, KeyDeletedError):  # never written, or released
            return None, 0
        try:
            return msgspec.json.decode(entry.value or b"", type=LeaseRecord), entry.revision or 0
        except msgspec.DecodeError:
            return LeaseRecord("?", 0), entry.revision or 0  # unreadable: treat as expired


async def keep_lease(lease: LeaseKeeper, period_s: float, service: str,
                     leading: Callable[[], bool], lead: Callable[[], Awaitable[None]],
                     follow: Callable[[], Awaitable[None]]) -> None:
    """Renew ``lease`` every ``period_s`` (until cancelled); ``lead`` when it becomes ours,
    ``follow`` when another instance took it. A failed change of role is logged and tried
    again on the next renewal."""
    while True:
        await asyncio.sleep(period_s)
        ours = await lease.tick()
        try:
            if ours and not leading():
                await lead()
            elif not ours and leading():
                log.warning("%s: no longer leading (now %s)", service, lease.holder)
                await follow()
        except Exception:
            log.exception("%s: changing role failed", service)
