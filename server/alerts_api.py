"""``/api/alerts``: live alerts, history and acknowledgement (mounted when alerts run)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from alerting.control import AlertsUnavailable
from server.alerts import AlertsAdapter
from server.context import ServerContext
from server.errors import ApiError
from stream.access import Principal


class AckBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""


def _alerts(ctx: NamedDependency[ServerContext]) -> AlertsAdapter:
    if ctx.alerts is None:  # pragma: no cover - routes are only mounted with a service
        raise ApiError(404, "alerting is not running")
    return ctx.alerts


@get("/api/alerts", summary="Live alerts (pending and firing) the caller may see")
async def list_alerts(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    status: FromQuery[Literal["pending", "firing"] | None] = None,
    severity: FromQuery[str | None] = None,
) -> list[Any]:
    p = ctx.authorize(principal, "alerts")
    return _alerts(ctx).list(p, status=status, severity=severity)


@get("/api/alerts/history", summary="Resolved alerts, newest first")
async def alert_history(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    rule: FromQuery[str | None] = None,
) -> list[Any]:
    p = ctx.authorize(principal, "alerts")
    return _alerts(ctx).history(p, limit=limit, rule=rule)


@post("/api/alerts/{alert_id:str}/ack", status_code=200,
      summary="Acknowledge an alert: who took it and a comment")
async def acknowledge(
    ctx: NamedDependency[ServerContext],
    principal: NamedDependency[Principal | None],
    alert_id: FromPath[str],
    data: JSONBody[AckBody | None] = None,
) -> Any:
    p = ctx.authorize(principal, "alerts_ack", None)
    adapter = _alerts(ctx)
    alert = adapter.service.get_alert(alert_id)
    if alert is None:
        raise ApiError(404, f"no live alert {alert_id!r}", field="alert_id")
    if not adapter.visible(p, alert):
        raise ApiError(403, f"alert {alert_id!r} is outside this token's scope")
    try:
        return await adapter.service.acknowledge(alert_id, p.name, (data or AckBody()).comment)
    except AlertsUnavailable as exc:  # this instance follows and no leader answers
        raise ApiError(503, str(exc)) from None
    except ValueError as exc:  # AlertInputError: the message starts with the field
        field = str(exc).split(":", 1)[0] if ":" in str(exc) else None
        raise ApiError(404 if field == "alert_id" else 422, str(exc), field=field) from None


ROUTES = [list_alerts, alert_history, acknowledge]
