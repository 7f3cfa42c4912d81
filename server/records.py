"""Archived records: ``GET /api/feedback`` (pages, comment search), ``DELETE /api/feedback``
(admin erasure) and ``GET /api/export/{kind}`` (streamed CSV or Parquet).

Display tokens get 403; supervisors read their locations and regions only (``stream.access``);
erasure is for admins. Comments come back masked: the archive never stored them raw.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from archive.records import EXPORT_KINDS, FeedbackPage, FeedbackQuery
from server.context import ServerContext
from server.errors import ApiError
from server.history import archive_of, call, parse_date
from stream.access import Principal
from stream.ids import NETWORK

_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def parse_bound(text: str | None, field: str) -> tuple[dt.date | None, int | None]:
    """``from``/``to``: a local date (YYYY-MM-DD) or an RFC 3339 time -> (date, epoch ms)."""
    if not text:
        return None, None
    if len(text) == 10:
        return parse_date(text, field), None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"`{field}`: {text!r} is neither a date nor an RFC 3339 time",
                       field=field) from None
    if moment.tzinfo is None:
        raise ApiError(400, f"`{field}`: an RFC 3339 time needs an offset", field=field)
    return None, int(moment.timestamp() * 1000)


def default_scope(p: Principal) -> str:
    """Admins default to the network; others must name one of their scopes when they
    have several."""
    if p.role == "admin":
        return NETWORK
    own = sorted(p.regions) + sorted(p.locations)
    if len(own) == 1:
        return own[0]
    raise ApiError(400, "`scope`: give one of your locations or regions", field="scope")


@get("/api/feedback", summary="Archived feedback, newest first, with comment search")
async def list_feedback(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    scope_id: Annotated[str | None, QueryParameter(name="scope")] = None,
    first: Annotated[str | None, QueryParameter(name="from")] = None,
    last: Annotated[str | None, QueryParameter(name="to")] = None,
    type_: Annotated[Literal["button", "nps", "csat", "ces", "csi", "visit"] | None,
                     QueryParameter(name="type")] = None,
    min_value: FromQuery[int | None] = None,
    max_value: FromQuery[int | None] = None,
    has_comment: FromQuery[bool | None] = None,
    topic: FromQuery[str | None] = None,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    staff: FromQuery[str | None] = None,
    touchpoint: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    before: FromQuery[str | None] = None,
) -> FeedbackPage:
    p = ctx.authorize(principal, "metrics", scope_id)
    scope = scope_id or default_scope(p)
    ctx.authorize(p, "metrics", scope)
    first_day, since_ms = parse_bound(first, "from")
    last_day, until_ms = parse_bound(last, "to")
    query = FeedbackQuery(scope=scope, since_ms=since_ms, until_ms=until_ms, first=first_day,
                          last=last_day, type=type_, min_value=min_value, max_value=max_value,
                          has_comment=has_comment, topic=topic, q=q, staff=staff,
                          touchpoint=touchpoint, limit=limit, before=before)
    return await call(archive_of(ctx).feedback(query))


@delete("/api/feedback", status_code=200,
        summary="Erase the personal content of a survey (admin): comment, session, device")
async def erase_feedback(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    session: FromQuery[str | None] = None,
    id_: Annotated[str | None, QueryParameter(name="id")] = None,
    location: FromQuery[str | None] = None,
) -> dict[str, Any]:
    p = ctx.authorize(principal, "metrics", location)
    if p.role != "admin":
        raise ApiError(403, "erasure is for admin tokens")
    if not (session or id_):
        raise ApiError(400, "give `session` or `id`", field="session")
    rows = await call(archive_of(ctx).erase(p.name, location=location, session=session,
                                            event_id=id_))
    return {"erased": rows, "session": session, "id": id_, "location": location}


@get("/api/export/{kind:str}", summary="Every archived row of a scope and period, streamed")
async def export(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    kind: FromPath[str],
    scope_id: Annotated[str | None, QueryParameter(name="scope")] = None,
    first: Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
    last: Annotated[str | None, QueryParameter(name="to", description="YYYY-MM-DD")] = None,
    format_: Annotated[Literal["csv", "parquet"], QueryParameter(name="format")] = "csv",
) -> Stream:
    if kind not in EXPORT_KINDS:
        raise ApiError(404, f"no export {kind!r}; one of {', '.join(EXPORT_KINDS)}", field="kind")
    p = ctx.authorize(principal, "metrics", scope_id)
    target = scope_id or default_scope(p)
    ctx.authorize(p, "metrics", target)
    since, until = parse_date(first, "from"), parse_date(last, "to")
    service = archive_of(ctx)
    if not service.leading:  # fail with a status before the stream starts
        await call(service.status())
    chunks = service.export(kind, target, since, until, format_)
    name = f"cxpulse-{kind}-{target}-{since or 'all'}-{until or 'now'}.{format_}"
    return Stream(chunks, media_type=_MEDIA[format_],
                  headers={"Content-Disposition": f'attachment; filename="{name}"'})


ROUTES: list[Any] = [list_feedback, erase_feedback, export]
