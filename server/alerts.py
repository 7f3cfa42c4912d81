"""The server's view of the alert service (``alerting.service.AlertService``).

Only what the API and the ``alerts`` topic need, with the caller's visibility applied:
admins see every alert; supervisors the ones labelled with their locations or regions
(the service's own filter); display tokens none (``stream.access`` refuses them first).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import Any, Protocol

import msgspec

from stream.access import Geo, Principal, alert_limits, sees_alert
from stream.push import Alert, AlertsData, Silence


class AlertServiceLike(Protocol):
    """The subset of ``AlertService`` used here."""

    def list_alerts(self, **filters: Any) -> list[Any]: ...
    def get_alert(self, alert_id: str) -> Any | None: ...
    def history(self, **filters: Any) -> list[Any]: ...
    def silences(self, *, include_expired: bool = False) -> list[Any]: ...
    async def acknowledge(self, alert_id: str, who: str, comment: str = "") -> Any: ...
    def subscribe(self) -> Any: ...
    def status(self) -> dict[str, object]: ...


_ALERTS = msgspec.json.Decoder(list[Alert])
_SILENCES = msgspec.json.Decoder(list[Silence])


def alerts_data(alerts: list[Any], silences: list[Any]) -> AlertsData:
    """The ``alerts`` payload from the service's views, field for field (each view becomes
    the contract's ``Alert`` / ``Silence``, which mirror them; tests/server/test_push.py
    keeps the two in step)."""
    enc = msgspec.json.encode
    return AlertsData(_ALERTS.decode(enc(alerts)), _SILENCES.decode(enc(silences)))


def visibility(p: Principal) -> dict[str, Any]:
    """Keyword filters for the service (none for admins); the rule: ``stream.access``."""
    locations, regions = alert_limits(p)
    return {} if locations is None and regions is None else {"locations": locations,
                                                              "regions": regions}


class AlertsAdapter:
    def __init__(self, service: AlertServiceLike) -> None:
        self.service = service

    def list(self, p: Principal, **filters: Any) -> list[Any]:
        return self.service.list_alerts(**filters, **visibility(p))

    def history(self, p: Principal, **filters: Any) -> builtins.list[Any]:  # `list`: the method
        return self.service.history(**filters, **visibility(p))

    def visible(self, p: Principal, alert: Any) -> bool:
        return sees_alert(p, getattr(alert, "labels", {}) or {})

    def payload(self, p: Principal, geo: Geo) -> AlertsData:
        del geo  # visibility follows the alert's labels, like the service's own filter
        silences = self.service.silences() if p.role == "admin" else []
        return alerts_data(self.list(p), silences)

    async def changes(self) -> AsyncIterator[object]:
        """Yields whenever an alert or silence changed (coalesced)."""
        sub = self.service.subscribe()
        try:
            async for update in sub:
                yield update
        finally:
            sub.close()

    def status(self) -> dict[str, object]:
        return self.service.status()
