"""The ``digest-failed`` alert: a delivery that keeps failing, on the alerts subject.

It is published the way the alert service's NATS sink publishes an alert state change
(``alerting.sinks.NatsSink``): an ``AlertView`` as JSON on
``{prefix}.alert.warning.digest-failed`` through JetStream (the alerts stream keeps it and
the archive records it in ``alert_changes``; a webhook bridge or any subscriber sees it),
with ``Nats-Msg-Id`` ``{id}:{status}`` so a repeat is a no-op. ``firing`` goes out when an
attempt fails, ``resolved`` when the digest is next delivered. The firing view is kept in
the digests' KV bucket (``alert.{digest}``), so a restarted or new leader resolves it.

This keeps the digests independent of the alert service's engine (no rule, no API call):
the alert is a fact the digests state, like any other publisher of the contract's alerts.
The configured alert webhooks (``[[alerts.webhooks]]``, their matchers and signing) get it
too, through the alert service's own ``WebhookSink``: one ``alerts`` notification when it
first fires and one when it resolves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Literal

import msgspec
from nats.aio.client import Client as NATS
from nats.js.kv import KeyValue

from alerting.model import AlertView, Notification
from alerting.schema import Playbook, PlaybookText, WebhookConfig
from alerting.sinks import Outputs
from digests.ledger import Ledger
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.digests")
RULE = "digest-failed"
SEVERITY = "warning"
PLAYBOOK = Playbook(
    ru=PlaybookText(event="Дайджест не доставлен: почтовый сервер не принимает письмо",
                    tasks=("Проверить [smtp] (host, port, starttls, user) и пароль в "
                           "переменной окружения password_env",
                           "Посмотреть ошибку в /api/health (digests)"),
                    actions=("Письмо уйдёт само при следующей удачной попытке",)),
    en=PlaybookText(event="A digest was not delivered: the mail server does not accept it",
                    tasks=("Check [smtp] (host, port, starttls, user) and the password in "
                           "the password_env variable", "See the error in /api/health "
                           "(digests)"),
                    actions=("The mail goes out by itself at the next successful attempt",)),
)


def view(digest: str, scope: str, attempts: int, error: str, *, active_ms: int, now_ms: int,
         resolved: bool = False) -> AlertView:
    labels = {"digest": digest, "scope": scope, "error": error[:200]}
    fingerprint = hashlib.sha256(f"{RULE}\x1f{digest}".encode()).hexdigest()[:16]
    return AlertView(
        id=f"{fingerprint}-{active_ms}", fingerprint=fingerprint, rule=RULE,
        status="resolved" if resolved else "firing", severity=SEVERITY, scope=scope,
        labels=labels, metric="digest.failed_attempts", window="", op=">=", threshold=1.0,
        recovery=0.0, value=float(attempts), sample=None, min_sample=0, active_ms=active_ms,
        starts_ms=active_ms, ends_ms=now_ms if resolved else None, updated_ms=now_ms,
        end_reason="recovered" if resolved else "", suppressed_by=(), acknowledged=None,
        playbook=PLAYBOOK)


class DigestAlerts:
    """Raises and resolves the ``digest-failed`` alert of each digest."""

    def __init__(self, nc: NATS, kv: KeyValue, prefix: str,
                 webhooks: Sequence[WebhookConfig] = ()) -> None:
        self.nc, self.js, self.ledger = nc, nc.jetstream(), Ledger(kv)
        subjects = Subjects(prefix)
        self.subject = subjects.alert(SEVERITY, RULE)
        self.published = 0
        self.outputs = Outputs(webhooks)
        self.outputs.start(None, subjects)  # webhooks only: NATS is published above

    async def close(self) -> None:
        """Give queued webhook deliveries a moment, then close their HTTP client."""
        await self.outputs.stop()

    async def fire(self, digest: str, scope: str, attempts: int, error: str,
                   now_ms: int) -> AlertView:
        current = await self._current(digest)
        active = current.active_ms if current else now_ms
        alert = view(digest, scope, attempts, error, active_ms=active, now_ms=now_ms)
        await self._publish(alert, f"{alert.id}:firing:{attempts}")
        if current is None:
            self._notify(alert, "new")
        _, revision = await self.ledger.get_raw(f"alert.{digest}")
        await self.ledger.put_raw(f"alert.{digest}", msgspec.json.encode(alert), revision)
        return alert

    async def resolve(self, digest: str, now_ms: int) -> AlertView | None:
        current = await self._current(digest)
        if current is None:
            return None
        done = msgspec.structs.replace(current, status="resolved", ends_ms=now_ms,
                                       updated_ms=now_ms, end_reason="recovered")
        await self._publish(done, f"{done.id}:resolved")
        self._notify(done, "resolved")
        await self.ledger.delete(f"alert.{digest}")
        return done

    def _notify(self, alert: AlertView, reason: Literal["new", "resolved"]) -> None:
        """One grouped message (the digest's alert alone) to each webhook that selects it."""
        note = Notification(id=f"{alert.id}:{alert.status}", ts_ms=alert.updated_ms,
                            group={"rule": RULE, "digest": alert.labels["digest"]},
                            status=alert.status,  # type: ignore[arg-type]
                            reason=reason,
                            alerts=(alert,))
        for sink in self.outputs.webhooks:
            sink.offer(note)

    async def _current(self, digest: str) -> AlertView | None:
        raw, _ = await self.ledger.get_raw(f"alert.{digest}")
        if not raw:
            return None
        try:
            return msgspec.json.decode(raw, type=AlertView)
        except msgspec.DecodeError:
            return None

    async def _publish(self, alert: AlertView, msg_id: str) -> None:
        body = msgspec.json.encode(alert)
        try:
            await self.js.publish(self.subject, body, headers={"Nats-Msg-Id": msg_id},
                                  timeout=2.0)
        except Exception as exc:  # noqa: BLE001 - subscribers got it; no stream stored it
            # (a JetStream publish is a core publish that asks for an ack: without the alerts
            # stream, i.e. without an alert service, there is no ack but it did go out)
            log.debug("digests: alert not stored by JetStream (%s)", exc)
        self.published += 1
        log.warning("alert %s %s [%s] %s: %s", alert.status, RULE, SEVERITY, alert.scope,
                    alert.labels.get("error", ""))
