"""A lean JetStream pull loop: batches without a task per message, and low latency.

nats-py's ``PullSubscription.fetch`` wraps every message in ``wait_for`` + a new task, which
caps a consumer near 30k msg/s on two cores, and it holds a partial batch until the pull
request expires. This puller sends the same ``MSG.NEXT`` requests of the JetStream API,
received through one callback subscription, and:

- keeps at most one request open, counting the messages it still owes (delivered messages
  carry their own subject, so with one open request every message belongs to it; a status
  404/408/409 closes it);
- returns a batch as soon as it is full, or ``linger_s`` after its first message arrived,
  so a lone event waits milliseconds, not until the request expires.

Messages are never dropped (unlimited pending), so batches concatenate to exactly the
consumer's delivery order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

_END_STATUSES = {"404", "408", "409"}  # no messages / request expired / request closed


class BatchPuller:
    """``await fetch(batch, timeout_s)`` returns up to ``batch`` messages in delivery order."""

    def __init__(self, nc: NATS, stream: str, consumer: str, linger_s: float = 0.003) -> None:
        self.nc = nc
        self.subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self.linger_s = linger_s
        self._inbox = ""
        self._buf: list[Msg] = []
        self._want = 0
        self._owed = 0  # messages the open request still owes (0: no request open)
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._sub: Subscription | None = None

    async def start(self) -> BatchPuller:
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(self._inbox, cb=self._on_msg,
                                            pending_msgs_limit=-1, pending_bytes_limit=-1)
        return self

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _on_msg(self, msg: Msg) -> None:
        headers = msg.headers
        if headers and not msg.data and "Status" in headers:
            if headers["Status"] in _END_STATUSES:
                self._owed = 0
                self._arrived.set()
            return  # 100 = idle heartbeat
        self._owed = max(self._owed - 1, 0)
        self._buf.append(msg)
        self._arrived.set()
        if len(self._buf) >= self._want:
            self._full.set()

    async def _request(self, batch: int, timeout_s: float) -> None:
        self._owed = batch
        request = {"batch": batch, "expires": int(timeout_s * 1e9)}
        await self.nc.publish(self.subject, json.dumps(request).encode(), reply=self._inbox)

    async def fetch(self, batch: int, timeout_s: float) -> list[Msg]:
        """Up to ``batch`` messages; waits at most ``timeout_s`` for the first one."""
        self._want = batch
        if not self._buf:
            self._arrived.clear()
        self._full.clear()
        if not self._owed:
            await self._request(batch, timeout_s)
        if not self._buf:
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s + 1.0)
            except TimeoutError:
                self._owed = 0  # a request lost in a reconnect: ask again next time
        if self._buf and len(self._buf) < batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.linger_s)
        out, self._buf = self._buf, []
        return out

    async def ack(self, msgs: list[Msg]) -> None:
        """Acknowledge each message (explicit acks) in one write to the socket.

        One ``PUB <reply> 4 +ACK`` per message, as ``msg.ack()`` would send, but joined into
        a single buffer: per-message ``publish`` calls cost more than the whole batch's
        processing. Falls back to plain publishes if the client's internals change.
        """
        send = getattr(self.nc, "_send_command", None)
        flush = getattr(self.nc, "_flush_pending", None)
        if send is None or flush is None or not self.nc.is_connected:
            for msg in msgs:
                await self.nc.publish(msg.reply, b"+ACK")
            return
        await send(b"".join(b"PUB %s 4\r\n+ACK\r\n" % m.reply.encode() for m in msgs))
        await flush()


def delivery(msg: Msg) -> tuple[int, int]:
    """(stream sequence, stored time in epoch ms) of a JetStream message, read straight
    from its ack subject ``$JS.ACK.[<domain>.<account>.]<stream>.<consumer>.<delivered>.
    <stream seq>.<consumer seq>.<ns>.<pending>[.<token>]``: what ``msg.metadata`` gives,
    without building its objects (a per-message cost on the archive's hot path)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[5]), int(tokens[7]) // 1_000_000
    if len(tokens) >= 11:
        return int(tokens[7]), int(tokens[9]) // 1_000_000
    meta = msg.metadata  # raises the client's own error for anything else
    return meta.sequence.stream, int(meta.timestamp.timestamp() * 1000)


def pending_after(msg: Msg) -> int:
    """How many messages the consumer still had to deliver after ``msg`` (the last token
    of a v1 ack subject, the one before the last of a v2 one): its backlog."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[8])
    if len(tokens) >= 11:
        return int(tokens[10])
    return int(msg.metadata.num_pending)
