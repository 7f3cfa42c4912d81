"""``DigestService``: the scheduler in a ``cxpulse run`` process.

    digests = DigestService(cfg, nc, archive, live=core)  # an ArchiveService, the core
    await digests.start()   # takes the lease or follows; the leader sends what is due
    digests.status()        # for /api/health
    await digests.stop()    # hands the lease back

One instance per deployment sends: the leader of the ``leader`` key in the ``{P}_DIGESTS``
KV bucket (``stream.lease``, as the alert service and the archive writer lead), renewed by
its own task every ``[archive] lease_s / 3`` while digests are built and sent. Every
``poll_s`` (and right at a slot's due time) the leader looks at each digest's slots due
within its catch-up window and the KV record of each (``digests.ledger``): it marks a slot
``sending`` before building and sending it and ``sent`` after; a failed attempt becomes
``retrying`` with a doubling back-off (``[smtp] retries``, ``backoff_s``) and raises the
``digest-failed`` alert (``digests.alert``), which the next delivery resolves.

A slot due before the deployment's scheduler first ran (the ``since`` key, written once)
was never missed: a new deployment does not send yesterday's digest late.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from nats.aio.client import Client as NATS

from digests import mail
from digests.alert import DigestAlerts
from digests.build import build_digest
from digests.config import DigestConfig, DigestSettings, SmtpConfig
from digests.ledger import LATE_AFTER_MS, Ledger, SlotRecord, backoff_ms, decide
from digests.schedule import Slot, next_slot, slots_between
from digests.source import Archive
from digests.words import say
from stream.clock import wall_ms
from stream.geography import Geo
from stream.lease import LeaseKeeper, instance_name
from stream.nats_io import ensure_kv, stream_names
from stream.readmodel import CoreReader
from stream.tasks import cancel_all, within

log = logging.getLogger("cxpulse.digests")
RETRY_HORIZON_MS = 3 * 86_400_000  # how far back a slot that is still retrying is looked at
Sender = Callable[[EmailMessage, SmtpConfig, tuple[str, ...]], dict[str, str]]


SINCE_KEY = "since"


async def first_run(kv: Any, now_ms: int) -> int:
    """The time this deployment's scheduler first ran: read, or written now (create-only,
    so concurrent first starts agree on one value)."""
    for _ in range(3):
        with contextlib.suppress(Exception):  # not written yet
            return int((await kv.get(SINCE_KEY)).value)
        with contextlib.suppress(Exception):  # another instance wrote it first
            await kv.create(SINCE_KEY, str(now_ms).encode())
            return now_ms
    raise RuntimeError("digests: the 'since' key can be neither read nor written")


def bucket_name(prefix: str) -> str:
    """The digests' KV bucket: ``{P}_DIGESTS``."""
    return stream_names(prefix)["digests"]


class DigestService:
    def __init__(self, cfg: DigestSettings, nc: NATS, archive: Archive, *,
                 clock: Callable[[], int] = wall_ms, poll_s: float = 15.0,
                 send: Sender = mail.send, live: CoreReader | None = None) -> None:
        self.cfg, self.nc, self.archive, self.live = cfg, nc, archive, live
        self.clock, self.poll_s, self._send = clock, poll_s, send
        self.me = instance_name()
        self.specs = tuple(d for d in cfg.digests if d.enabled)
        geo = Geo.from_config(cfg)
        self.zones = {d.id: geo.timezone(d.scope) for d in self.specs}
        self.lease: LeaseKeeper | None = None
        self.ledger: Ledger | None = None
        self.alerts: DigestAlerts | None = None
        self.in_flight: set[str] = set()
        self.final: set[str] = set()  # keys known sent or failed (no need to read them again)
        self.since = 0  # when this deployment's scheduler first ran (``first_run``)
        self.last: dict[str, dict[str, Any]] = {d.id: {} for d in self.specs}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()

    @property
    def leading(self) -> bool:
        return bool(self.lease and self.lease.leading)

    async def start(self, *, background: bool = True) -> None:
        """Open the bucket and take the lease if free; ``background``: keep the lease and
        run the passes in tasks (tests drive ``tick`` themselves with their clock)."""
        kv = await ensure_kv(self.nc.jetstream(), bucket_name(self.cfg.nats.prefix),
                             replicas=self.cfg.nats.replicas,
                             description="cxpulse digests: lease and slots sent")
        self.ledger = Ledger(kv)
        self.since = await first_run(kv, self.clock())
        self.alerts = DigestAlerts(self.nc, kv, self.cfg.nats.prefix, self.cfg.alerts.webhooks)
        self.lease = LeaseKeeper(kv, self.me, int(self.cfg.archive.lease_s * 1000), self.clock)
        await self.lease.tick()
        if background:
            self._tasks = [asyncio.create_task(self._keep_lease(), name="digests-lease"),
                           asyncio.create_task(self._run(), name="digests")]
        log.info("digests: %d scheduled, %s", len(self.specs),
                 "leading" if self.leading else f"following {self.lease.holder}")

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        if self.alerts is not None:
            await within(self.alerts.close(), 5, "digests: webhook deliveries")
        if self.lease is not None:
            await self.lease.release()

    async def _keep_lease(self) -> None:
        assert self.lease is not None
        while True:
            await asyncio.sleep(self.cfg.archive.lease_s / 3)
            was = self.leading
            if await self.lease.tick() and not was:
                self._wake.set()  # just took over: look at the slots now

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("digests: scheduling pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._delay_s())

    def _delay_s(self) -> float:
        """Until the next pass: ``poll_s``, or less when a slot falls due sooner."""
        now = self.clock()
        due = [next_slot(d, self.zones[d.id], now).due_ms for d in self.specs]
        return max(0.05, min([self.poll_s, *((t - now) / 1000 + 0.05 for t in due)]))

    async def tick(self) -> list[str]:
        """One pass (when leading): handle every due slot; returns the keys delivered."""
        if not self.leading:
            return []
        done = []
        for spec in self.specs:
            now = self.clock()
            tz = self.zones[spec.id]
            horizon = int(spec.catch_up_h * 3_600_000) + RETRY_HORIZON_MS
            for slot in slots_between(spec, tz, max(now - horizon, self.since - 1), now):
                if slot.due_ms < self.since:
                    continue  # due before this deployment scheduled anything: not missed
                if slot.key not in self.final and await self._handle(spec, slot):
                    done.append(slot.key)
        return done

    async def _handle(self, spec: DigestConfig, slot: Slot) -> bool:
        assert self.ledger is not None
        now = self.clock()
        record, revision = await self.ledger.get(slot.key)
        action = decide(record, due_ms=slot.due_ms, now_ms=now,
                        catch_up_ms=int(spec.catch_up_h * 3_600_000),
                        in_flight=slot.key in self.in_flight)
        if action == "skip":
            if record is not None and record.state in ("sent", "failed"):
                self.final.add(slot.key)
            return False
        note = self._late_note(spec, slot, record, action, now)
        attempts = record.attempts if record else 0
        mark = SlotRecord(state="sending", owner=self.me, due_ms=slot.due_ms, marked_ms=now,
                          attempts=attempts, note=note)
        revision_now = await self.ledger.put(slot.key, mark, revision)
        if revision_now is None:
            return False  # another instance moved it first
        self.in_flight.add(slot.key)
        try:
            return await self._attempt(spec, slot, mark, revision_now)
        finally:
            self.in_flight.discard(slot.key)

    async def _attempt(self, spec: DigestConfig, slot: Slot, mark: SlotRecord,
                       revision: int) -> bool:
        assert self.ledger is not None and self.alerts is not None
        error = ""
        try:
            built = await build_digest(self.cfg, spec, slot, self.archive, self.clock(),
                                       late_note=mark.note, live=self.live)
            msg = mail.compose(built, sender=self.cfg.smtp.sender, to=spec.to, key=slot.key,
                               date_s=self.clock() / 1000)
            refused = await asyncio.to_thread(self._send, msg, self.cfg.smtp, spec.to)
        except Exception as exc:  # noqa: BLE001 - any failure is retried and reported
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = self.clock()
        if not error:
            sent = SlotRecord(state="sent", owner=self.me, due_ms=slot.due_ms,
                              marked_ms=mark.marked_ms, attempts=mark.attempts, sent_ms=now,
                              note=mark.note, error="; ".join(f"{a}: {e}" for a, e in
                                                              refused.items()))
            await self.ledger.put(slot.key, sent, revision)
            self.final.add(slot.key)
            self.last[spec.id] = {"period": slot.label, "state": "sent", "sent_ms": now,
                                  "refused": refused, "note": mark.note}
            await self.alerts.resolve(spec.id, now)
            log.info("digests: %s sent to %d recipient(s)%s", slot.key, len(spec.to),
                     f" ({mark.note})" if mark.note else "")
            return True
        await self._failed(spec, slot, mark, revision, error, now)
        return False

    async def _failed(self, spec: DigestConfig, slot: Slot, mark: SlotRecord, revision: int,
                      error: str, now: int) -> None:
        assert self.ledger is not None and self.alerts is not None
        smtp = self.cfg.smtp
        attempts = mark.attempts + 1
        give_up = attempts > smtp.retries
        record = SlotRecord(state="failed" if give_up else "retrying", owner=self.me,
                            due_ms=slot.due_ms, marked_ms=mark.marked_ms, attempts=attempts,
                            next_ms=None if give_up else now + backoff_ms(
                                attempts, smtp.backoff_s, smtp.backoff_max_s),
                            error=error, note=mark.note)
        await self.ledger.put(slot.key, record, revision)
        if give_up:
            self.final.add(slot.key)
        self.last[spec.id] = {"period": slot.label, "state": record.state,
                              "attempts": attempts, "error": error, "next_ms": record.next_ms}
        log.warning("digests: %s attempt %d failed: %s%s", slot.key, attempts, error,
                    "; giving up" if give_up else "")
        await self.alerts.fire(spec.id, spec.scope, attempts, error, now)

    def _late_note(self, spec: DigestConfig, slot: Slot, record: SlotRecord | None,
                   action: str, now: int) -> str:
        from digests.fmt import stamp

        lang, tz = spec.lang or self.cfg.core.language, self.zones[spec.id]
        due = stamp(slot.due_ms, tz)
        if action == "resume" and record is not None:
            why = say(lang, "late.resumed", due=due, marked=stamp(record.marked_ms, tz))
        elif action == "retry" and record is not None:
            why = say(lang, "late.retry", due=due, attempts=record.attempts)
        elif now - slot.due_ms > LATE_AFTER_MS:
            why = say(lang, "late.missed", due=due)
        else:
            return ""
        return say(lang, "late", why=why)

    def status(self) -> dict[str, object]:
        """For ``/api/health``: the role, and per digest its next slot and last outcome."""
        now = self.clock()
        failing = [d for d, last in self.last.items() if last.get("state") in ("retrying",
                                                                               "failed")]
        out: dict[str, object] = {
            "status": "failing" if failing else "ok",
            "role": "leading" if self.leading else "following",
            "leader": self.lease.holder if self.lease else None,
            "failing": failing,
        }
        digests: dict[str, object] = {}
        for spec in self.specs:
            tz = self.zones[spec.id]
            nxt = next_slot(spec, tz, now)
            digests[spec.id] = {"scope": spec.scope, "period": spec.period,
                                "next_due": _iso(nxt.due_ms, tz), "next_period": nxt.label,
                                **{k: (_iso(v, tz) if k.endswith("_ms") and v else v)
                                   for k, v in self.last[spec.id].items()}}
        out["digests"] = digests
        return out


def _iso(ms: int, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")
