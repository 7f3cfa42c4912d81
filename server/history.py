"""``GET /api/history/{scope}``: a metric per local day, ISO week or month (the archive).

Thin: authorize like ``/api/metrics`` (display tokens 403, supervisors their locations and
regions), parse the dates, ask the archive service (``archive.service.ArchiveService``,
which forwards to the writer when this instance does not hold the file), map its errors.
Mounted when ``create_app`` is given an archive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from archive.history import HistoryQuery, HistoryResult
from archive.service import ArchiveError, ArchiveService, ArchiveUnavailable
from server.context import ServerContext
from server.errors import ApiError
from stream.access import Principal

T = TypeVar("T")
DEFAULT_SPAN_DAYS = {"day": 30, "week": 7 * 12, "month": 365}


def archive_of(ctx: ServerContext) -> ArchiveService:
    service = ctx.extra.get("archive")
    if service is None:  # pragma: no cover - routes are mounted with a service only
        raise ApiError(503, "the archive is not running")
    assert isinstance(service, ArchiveService)
    return service


async def call(awaitable: Awaitable[T]) -> T:
    """Await an archive call, its errors as API errors."""
    try:
        return await awaitable
    except ArchiveUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    except ArchiveError as exc:
        raise ApiError(exc.status, str(exc), field=_field(str(exc))) from None


def _field(message: str) -> str | None:
    head = message.split(" ", 2)
    if message.startswith(("unknown metric", "metric ")):
        return "metric"
    if message.startswith("unknown scope"):
        return "scope"
    return head[0].rstrip(":") if head and head[0].endswith(":") else None


def parse_date(text: str | None, field: str) -> dt.date | None:
    if text is None or text == "":
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"`{field}`: {text!r} is not a YYYY-MM-DD date", field=field) from None


def today_in(ctx: ServerContext, scope: str) -> dt.date:
    """Today in the scope's zone (a location's, a region's, else the default)."""
    cfg = ctx.cfg
    zone = next((r.timezone for r in cfg.regions if r.id == scope and r.timezone), "")
    zone = zone or cfg.timezone_of(scope)
    return dt.datetime.now(ZoneInfo(zone)).date()


@get("/api/history/{scope_id:str}", summary="A metric per local day, ISO week or month")
async def get_history(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    scope_id: FromPath[str],
    metric: Annotated[str, QueryParameter(description="e.g. nps, csi.total, buttons.shares.1")],
    by: FromQuery[Literal["day", "week", "month"]] = "day",
    first: Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
    last: Annotated[str | None, QueryParameter(name="to", description="YYYY-MM-DD")] = None,
    compare: FromQuery[Literal["previous", "year"] | None] = None,
    staff: FromQuery[str | None] = None,
    touchpoint: FromQuery[str | None] = None,
) -> HistoryResult:
    ctx.authorize(principal, "metrics", scope_id)
    if staff and touchpoint:
        raise ApiError(400, "give either `staff` or `touchpoint`, not both", field="staff")
    to = parse_date(last, "to") or today_in(ctx, scope_id)
    since = parse_date(first, "from") or to - dt.timedelta(days=DEFAULT_SPAN_DAYS[by])
    query = HistoryQuery(scope=scope_id, metric=metric, by=by, first=since, last=to,
                         compare=compare, staff=staff or None, touchpoint=touchpoint or None)
    return await call(archive_of(ctx).history(query))


ROUTES: list[Any] = [get_history]
