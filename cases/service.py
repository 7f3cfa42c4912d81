"""``CaseService``: the case rules and escalation in a ``cxpulse run`` process.

    cases = CaseService(cfg, nc, core)        # core: a CoreReader (in process or remote)
    await cases.start()                       # leads (lease) or follows
    await cases.stop()                        # hands the lease back

One instance per deployment *leads* through a lease in the ``{P}_CASES`` KV bucket
(``stream.lease``, as the alert service and the archive writer do). The leader binds two
durable pull consumers of its own -- ``cases-feedback`` on ``{P}_INPUT`` (feedback only)
and ``cases-voice`` on ``{P}_VOICE`` -- off the core's hot path, feeds every batch to the
``CaseWorker``, publishes the steps it decides (JetStream, ``Nats-Msg-Id`` =
``{location}:{id}``, awaiting each ack) and only then acknowledges the batch. The ids are
derived from the events (``cases.ids``), so a redelivery after a crash or a takeover
publishes the same ids and JetStream's duplicate window or the core's id index drops
them: exactly one case per session, by construction. Every ``[cases] escalate_check_s``
it reads the core's open incidents and publishes the escalation steps due.

A new ``cases-feedback`` consumer starts at the newest message (history opens nothing);
``cases-voice`` starts ``link_before_min`` back, so a rating right after a start-up still
finds what was heard before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from cases.config import CasesSettings
from cases.ids import msg_id
from cases.worker import CaseWorker
from stream.clock import wall_ms
from stream.events import IncidentEvent, encode
from stream.lease import LeaseKeeper, instance_name, keep_lease
from stream.nats_io import ensure_kv, stream_names
from stream.pull import BatchPuller
from stream.readmodel import CoreReader
from stream.subjects import Subjects
from stream.tasks import cancel_all
from text import Tagger

log = logging.getLogger("cxpulse.cases")
ACK_WAIT_S = 30.0
BATCH = 500


def lease_bucket(prefix: str) -> str:
    """The KV bucket of the case service's lease: ``{P}_CASES``."""
    return stream_names(prefix)["cases"]


class CaseService:
    def __init__(self, cfg: CasesSettings, nc: NATS, reader: CoreReader, *,
                 clock: Callable[[], int] = wall_ms, tagger: Tagger | None = None) -> None:
        self.cfg, self.nc, self.reader, self.clock = cfg, nc, reader, clock
        self.js = nc.jetstream()
        self.subjects = Subjects(cfg.nats.prefix)
        self.names = stream_names(cfg.nats.prefix)
        self.worker = CaseWorker(cfg, clock, tagger)
        self.me = instance_name()
        self.leading = False
        self.published = 0
        self._lease: LeaseKeeper | None = None
        self._pullers: list[BatchPuller] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._lead_tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if not self.cfg.cases.enabled:
            return
        kv = await ensure_kv(self.js, lease_bucket(self.cfg.nats.prefix),
                             replicas=self.cfg.nats.replicas,
                             description="cxpulse case service lease")
        self._lease = LeaseKeeper(kv, self.me, int(self.cfg.cases.lease_s * 1000), wall_ms)
        if await self._lease.tick():
            await self._lead()
        self._tasks = [asyncio.create_task(self._keep_lease(), name="cases-lease")]
        log.info("cases: %s", "leading" if self.leading else f"following {self._lease.holder}")

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        await self._follow()
        if self._lease is not None:
            await self._lease.release()

    async def _keep_lease(self) -> None:
        assert self._lease is not None
        await keep_lease(self._lease, self.cfg.cases.lease_s / 3, "cases", lambda: self.leading,
                         self._lead, self._follow)

    async def _lead(self) -> None:
        feedback = await self._bind(self.names["input"], "cases-feedback",
                                    f"{self.subjects.prefix}.part.*.feedback.*",
                                    DeliverPolicy.NEW, None)
        back_s = self.cfg.cases.link_before_min * 60
        since = dt.datetime.fromtimestamp(self.clock() / 1000 - back_s, dt.UTC)
        voice = await self._bind(self.names["voice"], "cases-voice", None,
                                 DeliverPolicy.BY_START_TIME, since)
        self.leading = True
        self._lead_tasks = [
            asyncio.create_task(self._consume(feedback, self.worker.on_input), name="cases-in"),
            asyncio.create_task(self._consume(voice, self.worker.on_voice), name="cases-voice"),
            asyncio.create_task(self._escalate_loop(), name="cases-escalate")]

    async def _follow(self) -> None:
        self.leading = False
        await cancel_all(self._lead_tasks)
        self._lead_tasks = []
        for puller in self._pullers:
            with contextlib.suppress(Exception):
                await puller.stop()
        self._pullers = []

    async def _bind(self, stream: str, durable: str, subject: str | None,
                    policy: DeliverPolicy, since: dt.datetime | None) -> BatchPuller:
        """The durable consumer as it is (resuming), or created with ``policy``."""
        try:
            await self.js.consumer_info(stream, durable)
        except NotFoundError:
            await self.js.add_consumer(stream, ConsumerConfig(
                durable_name=durable, filter_subject=subject, deliver_policy=policy,
                opt_start_time=since,
                ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S, max_ack_pending=-1,
                num_replicas=self.cfg.nats.replicas))
        puller = await BatchPuller(self.nc, stream, durable, linger_s=0.002).start()
        self._pullers.append(puller)
        return puller

    async def _consume(self, puller: BatchPuller,
                       handle: Callable[[str, bytes], list[IncidentEvent]]) -> None:
        """Fetch, decide, publish, then ack; a failed publish is retried, never acked."""
        while True:
            try:
                msgs = await puller.fetch(BATCH, 1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down or reconnecting
                log.warning("cases: fetch failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
                continue
            if msgs:
                await self._settle(puller, msgs, handle)

    async def _settle(self, puller: BatchPuller, msgs: list[Msg],
                      handle: Callable[[str, bytes], list[IncidentEvent]]) -> None:
        steps: list[IncidentEvent] = []
        for msg in msgs:
            try:
                steps += handle(msg.subject, msg.data)
            except Exception:  # a bug must not stall the feed: log it, skip the message
                log.exception("cases: message on %s not handled", msg.subject)
        await self._retrying(lambda: self.publish(steps))
        await self._retrying(lambda: puller.ack(msgs))

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> None:
        while True:
            try:
                await call()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down: try again
                log.warning("cases: %s; retrying", exc)
                await asyncio.sleep(1.0)

    async def publish(self, steps: list[IncidentEvent]) -> None:
        """Each step to ``cx.incident.{location}`` with its per-location message id."""
        for step in steps:
            await self.js.publish(self.subjects.incident(step.location), encode(step),
                                  headers={"Nats-Msg-Id": msg_id(step.location, step.id)})
            self.published += 1

    async def escalate_once(self) -> list[IncidentEvent]:
        """One escalation round (the loop's body; tests call it with an injected clock)."""
        views = await self.reader.wait(lambda: self.reader.incidents("network"))
        steps = self.worker.escalate(views)
        await self.publish(steps)
        return steps

    async def _escalate_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.cases.escalate_check_s)
            try:
                await self.escalate_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cases: escalation round failed")

    def status(self) -> dict[str, object]:
        return {"leading": self.leading, "published": self.published,
                **dict(self.worker.counts)}
