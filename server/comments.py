"""``GET /api/comments/topics/{scope}?from=&to=``: comment topics of a period against the
period of the same length before it (contract v2 "Comments"; ``archive.topics``).

Authorized like ``/api/metrics`` (display tokens 403, supervisors their locations and
regions only). ``from``/``to`` are local dates (YYYY-MM-DD, inclusive, each location's
own calendar day) or RFC 3339 times (``to`` exclusive), both of one kind; without them
the period is today in the scope's zone; a date ``from`` alone runs to today, a time
``from`` alone to now. Mounted when ``create_app`` is given an archive.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from archive.topics import TopicsQuery, TopicsResult
from server.context import ServerContext
from server.errors import ApiError
from server.history import archive_of, call, today_in
from server.records import parse_bound
from stream.access import Principal


def period(ctx: ServerContext, scope: str, first: str | None, last: str | None) -> TopicsQuery:
    """The query's period from the ``from``/``to`` parameters (see the module docstring)."""
    first_day, since_ms = parse_bound(first, "from")
    last_day, until_ms = parse_bound(last, "to")
    if (first_day or last_day) and (since_ms or until_ms):
        raise ApiError(400, "`from`/`to`: give both as dates or both as RFC 3339 times",
                       field="from")
    if since_ms is not None or until_ms is not None:
        until = until_ms if until_ms is not None else int(time.time() * 1000)
        if since_ms is None:
            raise ApiError(400, "`from`: needed with a time `to`", field="from")
        if until <= since_ms:
            raise ApiError(400, "`to`: must be after `from`", field="to")
        return TopicsQuery(scope=scope, since_ms=since_ms, until_ms=until)
    to = last_day or today_in(ctx, scope)
    since = first_day or to
    if to < since:
        raise ApiError(400, "`to`: must not be before `from`", field="to")
    if (to - since) > dt.timedelta(days=3660):
        raise ApiError(400, "`from`: at most ten years at once", field="from")
    return TopicsQuery(scope=scope, first=since, last=to)


@get("/api/comments/topics/{scope_id:str}",
     summary="Comment topics of a period against the period before")
async def comment_topics(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    scope_id: FromPath[str],
    first: Annotated[str | None, QueryParameter(
        name="from", description="YYYY-MM-DD or an RFC 3339 time")] = None,
    last: Annotated[str | None, QueryParameter(
        name="to", description="YYYY-MM-DD (inclusive) or an RFC 3339 time")] = None,
) -> TopicsResult:
    ctx.authorize(principal, "metrics", scope_id)
    return await call(archive_of(ctx).topics(period(ctx, scope_id, first, last)))


ROUTES: list[Any] = [comment_topics]
