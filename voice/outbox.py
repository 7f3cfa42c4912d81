"""An ordered JetStream publisher with retries, so producers never wait on acks.

The voice worker's audio callback must stay real time; publishing a voice event awaits a
JetStream ack (a round trip, or seconds while NATS reconnects). ``Outbox.put`` only queues;
one task publishes in order with ``Nats-Msg-Id`` set and retries with backoff until
JetStream acks. Ids are deterministic, so a retry after a lost ack is a duplicate that
JetStream drops. The queue is bounded: when full the oldest message is dropped (counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

log = logging.getLogger("cxpulse.outbox")


class Outbox:
    def __init__(self, js: Any, max_messages: int = 10_000, *, ack_timeout_s: float = 5.0) -> None:
        self.js = js
        self.max_messages = max_messages
        self.ack_timeout_s = ack_timeout_s
        self.published = 0
        self.dropped = 0
        self.retries = 0
        self._queue: deque[tuple[str, bytes, str]] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, subject: str, payload: bytes, msg_id: str) -> None:
        if len(self._queue) >= self.max_messages:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append((subject, payload, msg_id))
        self._idle.clear()
        self._ready.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cxpulse-outbox")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Publish what is queued (up to ``timeout_s``), then stop."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._queue:
            log.warning("outbox: %d messages not published at stop", len(self._queue))

    async def _run(self) -> None:
        delay = 0.1
        while True:
            if not self._queue:
                self._idle.set()
                self._ready.clear()
                await self._ready.wait()
                continue
            subject, payload, msg_id = self._queue[0]
            try:
                await self.js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id},
                                      timeout=self.ack_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down or slow: retry, same id
                self.retries += 1
                log.warning("outbox: publish to %s failed (%s); retrying in %.1f s", subject,
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            if self._queue and self._queue[0][2] == msg_id:
                self._queue.popleft()
            self.published += 1
