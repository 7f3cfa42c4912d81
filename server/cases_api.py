"""Case actions (contract v2 "Cases"): ``POST /api/incidents`` opens one,
``POST /api/incidents/{incident}/{assign|comment|resolve|reopen}`` adds a step.

Each publishes the v1 ``cx.incident.{location}`` event (``source: "api"``, ``who``: the
acting token's name, text masked; ``cases.actions`` builds it) with ``Nats-Msg-Id``
``{location}:{id}`` and answers 202 ``{"incident", "id", "location"}``; the core, the
archive, ``/api/incidents``, the ``incidents:`` topic and the metrics see it like any
desk's step. Order of checks: 401 (no token), 403 (a display token), 422 naming the field
(nothing is published), 404 (no such incident), 409 (two locations hold that id: give
``location``), 403 (a location outside the token's scopes).

**Acting on behalf of a viewer.** The wall calls this API with its own token (a server-
side HTTP client) but acts for the person looking at it: it sends
``X-Cxpulse-On-Behalf-Of: <the viewer's token name>``. The server honours that header
only from a token listed in ``[cases] delegates`` (``cxpulse run`` adds the wall's own
token); the step is then authorised for, and signed by, the viewer's principal, so
``who`` is the viewer's name and a supervisor's scopes apply. From any other token the
header is refused with 403; an unknown viewer name likewise.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from cases.actions import (
    CaseInputError,
    check_step,
    checked,
    decode_open,
    decode_step,
    open_event,
    step_event,
)
from cases.config import CasesConfig
from cases.ids import msg_id
from server.context import ServerContext, read
from server.errors import ApiError
from stream.access import Principal
from stream.clock import wall_ms
from stream.events import IncidentEvent, Limits

ON_BEHALF = "x-cxpulse-on-behalf-of"


class CaseAccepted(msgspec.Struct, frozen=True):
    incident: str
    id: str
    location: str


def _cases(ctx: ServerContext) -> CasesConfig:
    found = getattr(ctx.cfg, "cases", None)
    return found if isinstance(found, CasesConfig) else CasesConfig()


@functools.cache
def _by_name(tokens: tuple[Any, ...]) -> dict[str, Principal]:
    return {t.name: Principal(t.name, t.role, frozenset(t.locations), frozenset(t.regions))
            for t in tokens}


def acting(ctx: ServerContext, request: Request[Any, Any, Any],
           principal: Principal | None) -> Principal:
    """Who acts: the caller, or the viewer a delegate (the wall) acts for."""
    caller = ctx.authorize(principal, "incidents", None)
    name = request.headers.get(ON_BEHALF, "").strip()
    if not name:
        return caller
    if not ctx.auth_enabled:
        return Principal(name[:256], "admin")
    if caller.name not in _cases(ctx).delegates:
        raise ApiError(403, f"token {caller.name!r} may not act on behalf of another "
                       "(not in [cases] delegates)", field=ON_BEHALF)
    viewer = _by_name(tuple(ctx.cfg.auth.tokens)).get(name)
    if viewer is None:
        raise ApiError(403, f"unknown viewer {name!r}", field=ON_BEHALF)
    return ctx.authorize(viewer, "incidents", None)


def _invalid(exc: CaseInputError) -> ApiError:
    return ApiError(422, str(exc), field=exc.field)


async def _publish(ctx: ServerContext, event: IncidentEvent) -> CaseAccepted:
    now = wall_ms()
    try:
        payload = checked(event, now, Limits.from_config(ctx.cfg.core))
    except CaseInputError as exc:
        raise _invalid(exc) from None
    await ctx.core.js.publish(ctx.core.subjects.incident(event.location), payload,
                              headers={"Nats-Msg-Id": msg_id(event.location, event.id)})
    return CaseAccepted(event.incident, event.id, event.location)


@post("/api/incidents", status_code=202, summary="Open a case (publishes cx.incident open)",
      description="Body `{\"location\", \"category\", \"text\", \"severity\"?, \"assignee\"?}`; "
      "202 `{\"incident\", \"id\"}`; 422 naming the field, nothing published.")
async def open_case(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                    principal: NamedDependency[Principal | None]) -> CaseAccepted:
    actor = acting(ctx, request, principal)
    try:
        body = decode_open(await request.body())
    except CaseInputError as exc:
        raise _invalid(exc) from None
    ctx.authorize(actor, "incidents", body.location)
    seen = ctx.geo.kind(body.location) == "location" and ctx.core.known_scope(body.location)
    if ctx.cfg.location(body.location) is None and not seen:
        raise ApiError(422, f"`location`: unknown location {body.location!r}", field="location")
    return await _publish(ctx, open_event(body, actor.name, wall_ms()))


async def locate(ctx: ServerContext, incident: str, location: str | None) -> str:
    """The location holding ``incident`` (404 none, 409 several and none named)."""
    scope = location if location and ctx.core.known_scope(location) else "network"
    views = await read(ctx.core, lambda: ctx.core.incidents(scope))
    found = sorted({v.location for v in views if v.incident == incident
                    and (location is None or v.location == location)})
    if not found:
        raise ApiError(404, f"no incident {incident!r}" + (f" at {location!r}" if location
                                                           else ""), field="incident")
    if len(found) > 1:
        raise ApiError(409, f"incident {incident!r} exists at {', '.join(found)}: give "
                       "`location`", field="location")
    return found[0]


@post("/api/incidents/{incident:str}/{action:str}", status_code=202,
      summary="Add a step to a case: assign, comment, resolve or reopen",
      description="Body `{\"assignee\"?, \"text\"?, \"location\"?}` (`assignee` to assign, "
      "`text` to comment); 202 `{\"incident\", \"id\"}`.")
async def case_step(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                    principal: NamedDependency[Principal | None], incident: FromPath[str],
                    action: FromPath[str]) -> CaseAccepted:
    actor = acting(ctx, request, principal)
    try:
        body = decode_step(await request.body())
        step = check_step(action, body)
    except CaseInputError as exc:
        raise _invalid(exc) from None
    location = await locate(ctx, incident, body.location or request.query_params.get("location"))
    ctx.authorize(actor, "incidents", location)
    return await _publish(ctx, step_event(location, incident, step, body, actor.name,
                                          wall_ms()))


ROUTES: list[Any] = [open_case, case_step]
