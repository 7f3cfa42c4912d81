"""Where alerts go: NATS, HTTP webhooks, the log and an in-process feed for the websocket.

Every network sink owns a bounded queue and one worker task, so the engine only ever does
a non-blocking ``offer``: a failing or hanging receiver delays nobody but itself, and when
its queue is full the oldest message is dropped (and counted), never the engine.
``Outputs`` holds the network sinks of one service and fans each engine step out to them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import httpx
import msgspec

from alerting.matchers import match_all, parse_matchers
from alerting.model import AlertView, Notification, SilenceNotice, SilenceView, StepResult
from alerting.schema import WebhookConfig
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.alerts")
SIGNATURE_HEADER = "X-Cxpulse-Signature"
TIMESTAMP_HEADER = "X-Cxpulse-Timestamp"
MAX_AGE_S = 300  # what receivers should accept (docs/alerting.md), either side of their clock
Message = Notification | SilenceNotice
_encoder = msgspec.json.Encoder()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "{timestamp}." + raw body)>``: the time is signed
    with the body, so a captured request cannot be replayed once it is ``MAX_AGE_S`` old,
    nor its timestamp refreshed without the secret."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str, timestamp: str, *, now_s: float,
           max_age_s: float = MAX_AGE_S) -> bool:
    """What a receiver checks: the timestamp header is a Unix time within ``max_age_s`` of
    its clock, and the signature covers it and the body."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now_s - int(timestamp)) > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, body, int(timestamp)), signature)


@dataclass
class SinkStats:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0
    last_error: str = ""


class _Worker(abc.ABC):
    """A bounded queue drained by one task; ``offer`` never blocks."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.stats = SinkStats()
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=size)
        self._task: asyncio.Task[None] | None = None

    def _put(self, item: object) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.stats.dropped += 1
            log.warning("alerts: %s queue full, dropped the oldest message", self.name)
        self._queue.put_nowait(item)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"alerts-{self.name}")

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception as exc:  # a sink error must not kill the worker
                self.stats.failed += 1
                self.stats.last_error = repr(exc)
                log.exception("alerts: %s failed", self.name)
            finally:
                self._queue.task_done()

    @abc.abstractmethod
    async def _handle(self, item: object) -> None:
        """Deliver one queued item (raising counts it as failed)."""

    async def stop(self, drain_s: float = 1.0) -> None:
        """Give queued messages ``drain_s`` to go out, then cancel the worker."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


class WebhookSink(_Worker):
    """POSTs notifications as JSON, signed, with a timeout and retries with backoff."""

    def __init__(self, cfg: WebhookConfig, client: httpx.AsyncClient,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(f"webhook:{cfg.id}", cfg.queue_size)
        self.cfg = cfg
        self._client = client
        self._secret = cfg.resolved_secret()
        self._matchers = parse_matchers(cfg.matchers)
        self._sleep = sleep
        self._clock = clock

    def offer(self, message: Message) -> bool:
        """Queue a message, keeping only the alerts this webhook's matchers select."""
        if isinstance(message, Notification) and self._matchers:
            alerts = tuple(a for a in message.alerts if match_all(self._matchers, a.labels))
            if not alerts:
                return False
            message = msgspec.structs.replace(message, alerts=alerts)
        self._put(message)
        return True

    def headers(self, message: Message, body: bytes) -> dict[str, str]:
        """Headers of one attempt: signed now (a retry is signed afresh, so a receiver's
        maximum age applies to each delivery, not to when the alert happened)."""
        out = {**self.cfg.headers, "Content-Type": "application/json",
               "X-Cxpulse-Delivery": message.id,
               "X-Cxpulse-Event": "alerts" if isinstance(message, Notification) else "silence"}
        if self._secret:
            now = int(self._clock())
            out[TIMESTAMP_HEADER] = str(now)
            out[SIGNATURE_HEADER] = sign(self._secret, body, now)
        return out

    async def _handle(self, item: object) -> None:
        assert isinstance(item, Notification | SilenceNotice)
        body = _encoder.encode(item)
        for attempt in range(self.cfg.retries + 1):
            error = await self._post(body, self.headers(item, body))
            if error is None:
                self.stats.delivered += 1
                return
            self.stats.last_error = error
            if error.startswith("HTTP 4") and not error.startswith("HTTP 429"):
                break  # the receiver rejects it: retrying will not help
            if attempt < self.cfg.retries:
                self.stats.retries += 1
                await self._sleep(min(self.cfg.backoff_s * 2 ** attempt, self.cfg.backoff_max_s))
        self.stats.failed += 1
        log.warning("alerts: webhook %s gave up on %s: %s", self.cfg.id, item.id,
                    self.stats.last_error)

    async def _post(self, body: bytes, headers: dict[str, str]) -> str | None:
        try:
            resp = await self._client.post(self.cfg.url, content=body, headers=headers,
                                           timeout=self.cfg.timeout_s)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if resp.status_code < 300 else f"HTTP {resp.status_code}"


class NatsSink(_Worker):
    """Publishes per-alert state changes on ``{prefix}.alert.{severity}.{rule}`` through
    JetStream (the alerts stream keeps them); ``Nats-Msg-Id`` makes a resend a no-op."""

    def __init__(self, js: object, subjects: Subjects, size: int = 10_000,
                 attempts: int = 5) -> None:
        super().__init__("nats", size)
        self._js = js
        self._subjects = subjects
        self._attempts = attempts

    def offer(self, view: AlertView) -> None:
        self._put(view)

    async def _handle(self, item: object) -> None:
        assert isinstance(item, AlertView)
        subject = self._subjects.alert(item.severity, item.rule)
        headers = {"Nats-Msg-Id": f"{item.id}:{item.status}"}
        delay = 0.2
        for attempt in range(self._attempts):
            try:
                await self._js.publish(subject, _encoder.encode(item), headers=headers,  # type: ignore[attr-defined]
                                       timeout=2.0)
                self.stats.delivered += 1
                return
            except Exception as exc:  # retried, then counted
                self.stats.last_error = repr(exc)
                if attempt + 1 == self._attempts:
                    raise
                self.stats.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def log_step(changes: Iterable[AlertView], notifications: Iterable[Notification],
             notices: Iterable[SilenceNotice]) -> None:
    """The log sink: one line per state change, notification and silence notice."""
    for v in changes:
        log.info("alert %s %s [%s] %s value=%s threshold=%s%s labels=%s", v.status, v.rule,
                 v.severity, v.scope, v.value, v.op, v.threshold, v.labels)
    for n in notifications:
        log.info("alert notification %s (%s) group=%s alerts=%d", n.status, n.reason, n.group,
                 len(n.alerts))
    for s in notices:
        level = logging.WARNING if s.alerts else logging.INFO
        log.log(level, "silence %s %s by %s matchers=%s; muted alerts still live: %s", s.silence.id,
                s.event, s.silence.created_by, list(s.silence.matchers), list(s.alerts))


class Outputs:
    """The network sinks of one alert service: NATS (when connected) and the configured
    webhooks, sharing one HTTP client (the caller's, or one of its own)."""

    def __init__(self, webhooks: Iterable[WebhookConfig],
                 http: httpx.AsyncClient | None = None) -> None:
        self._configs = tuple(webhooks)
        self._http, self._own_http = http, http is None
        self.webhooks: list[WebhookSink] = []
        self.nats: NatsSink | None = None

    def start(self, js: object | None, subjects: Subjects) -> None:
        """Start the NATS sink (``js``: a JetStream context, or None without NATS) and one
        sink per webhook."""
        if js is not None:
            self.nats = NatsSink(js, subjects)
            self.nats.start()
        if self._configs and self._http is None:
            self._http = httpx.AsyncClient()
        for cfg in self._configs:
            assert self._http is not None
            sink = WebhookSink(cfg, self._http)
            sink.start()
            self.webhooks.append(sink)

    async def stop(self) -> None:
        """Give queued messages a moment to go out, then close what this object opened."""
        for sink in self.sinks:
            await sink.stop()
        self.webhooks, self.nats = [], None
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def sinks(self) -> list[WebhookSink | NatsSink]:
        return [*self.webhooks, *([self.nats] if self.nats else [])]

    def offer(self, result: StepResult) -> None:
        """One engine step out: the log, per-alert changes to NATS, grouped messages to
        every webhook. Never blocks."""
        log_step(result.changes, result.notifications, result.notices)
        if self.nats is not None:
            for view in result.changes:
                self.nats.offer(view)
        messages: tuple[Message, ...] = (*result.notifications, *result.notices)
        for message in messages:
            for sink in self.webhooks:
                sink.offer(message)

    def stats(self) -> dict[str, dict[str, object]]:
        return {s.name: vars(s.stats) for s in self.sinks}


@dataclass
class AlertUpdate:
    """What changed since a subscriber last looked: the latest view of each changed alert
    and silence (coalesced by id) and the silence notices in order (bounded)."""

    alerts: list[AlertView] = field(default_factory=list)
    silences: list[SilenceView] = field(default_factory=list)
    notices: list[SilenceNotice] = field(default_factory=list)


class AlertFeed:
    """In-process fan-out for the server's ``alerts`` websocket topic; never blocks."""

    def __init__(self) -> None:
        self._subs: set[AlertSubscription] = set()

    def subscribe(self) -> AlertSubscription:
        sub = AlertSubscription(self)
        self._subs.add(sub)
        return sub

    def publish(self, alerts: Iterable[AlertView] = (), silences: Iterable[SilenceView] = (),
                notices: Iterable[SilenceNotice] = ()) -> None:
        alerts, silences, notices = list(alerts), list(silences), list(notices)
        if not (alerts or silences or notices):
            return
        for sub in self._subs:
            sub._add(alerts, silences, notices)

    def _drop(self, sub: AlertSubscription) -> None:
        self._subs.discard(sub)


class AlertSubscription:
    """``await next()`` returns an ``AlertUpdate``; a slow reader gets the latest state."""

    MAX_NOTICES = 100

    def __init__(self, feed: AlertFeed) -> None:
        self._feed = feed
        self._alerts: dict[str, AlertView] = {}
        self._silences: dict[str, SilenceView] = {}
        self._notices: list[SilenceNotice] = []
        self._event = asyncio.Event()

    def _add(self, alerts: list[AlertView], silences: list[SilenceView],
             notices: list[SilenceNotice]) -> None:
        self._alerts.update((a.id, a) for a in alerts)
        self._silences.update((s.id, s) for s in silences)
        self._notices = (self._notices + notices)[-self.MAX_NOTICES:]
        self._event.set()

    async def next(self) -> AlertUpdate:
        await self._event.wait()
        self._event.clear()
        update = AlertUpdate(list(self._alerts.values()), list(self._silences.values()),
                             self._notices)
        self._alerts, self._silences, self._notices = {}, {}, []
        return update

    def close(self) -> None:
        self._feed._drop(self)

    def __aiter__(self) -> AlertSubscription:
        return self

    async def __anext__(self) -> AlertUpdate:
        return await self.next()
