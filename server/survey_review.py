"""``/api/survey/held``: survey answers held out of the metrics as a suspected burst
(``server.survey_guard``), for a supervisor of their location or an admin to accept
(published through the core as they were received) or reject (dropped)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server.context import ServerContext
from server.errors import ApiError, rejection_error
from server.survey_guard import HeldAnswer
from stream.access import Principal, decide


class HeldListing(msgspec.Struct, frozen=True):
    items: list[HeldAnswer]
    dropped: int  # answers the bounded queue let go, oldest first, since start-up


def _visible(ctx: ServerContext, p: Principal, location: str) -> bool:
    return decide(p, "survey_review", location, ctx.geo).allowed


@get("/api/survey/held", summary="Survey answers held as a suspected burst, oldest first")
async def list_held(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    location: Annotated[str | None, QueryParameter(description="one location")] = None,
) -> HeldListing:
    p = ctx.authorize(principal, "survey_review", location)
    items = [h for h in ctx.survey.held.listing()
             if (location is None or h.location == location) and _visible(ctx, p, h.location)]
    return HeldListing(items, ctx.survey.held.dropped)


def _held(ctx: ServerContext, principal: Principal | None, held_id: str) -> HeldAnswer:
    """The held answer, when the caller may review it (404 also for another's location)."""
    ctx.authorize(principal, "survey_review", None)
    held = ctx.survey.held.get(held_id)
    if held is None or principal is None or not _visible(ctx, principal, held.location):
        raise ApiError(404, f"no held answer {held_id!r}", field="held_id")
    return held


@post("/api/survey/held/{held_id:str}/accept", status_code=202,
      summary="Accept a held survey answer: it is published and counted")
async def accept_held(ctx: NamedDependency[ServerContext],
                      principal: NamedDependency[Principal | None],
                      held_id: FromPath[str]) -> Response[dict[str, Any]]:
    held = _held(ctx, principal, held_id)
    events = ctx.survey.held.take(held_id) or []
    for payload in events:
        rejection = await ctx.core.publish_input("feedback", held.location, payload)
        if rejection is not None:  # e.g. held past the retention window
            raise rejection_error(rejection)
    return Response({"status": "accepted", "id": held_id, "events": len(events)},
                    status_code=202)


@post("/api/survey/held/{held_id:str}/reject", status_code=200,
      summary="Reject a held survey answer: it is dropped")
async def reject_held(ctx: NamedDependency[ServerContext],
                      principal: NamedDependency[Principal | None],
                      held_id: FromPath[str]) -> dict[str, str]:
    _held(ctx, principal, held_id)
    ctx.survey.held.take(held_id)
    return {"status": "rejected", "id": held_id}


ROUTES = [list_held, accept_held, reject_held]
