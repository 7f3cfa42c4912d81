"""The JSON API of the wire contract (thin handlers over the core, ``auth`` and ``payloads``).

Each handler: authenticate (dependency ``principal``) -> authorize for its action and
scope -> one call into the core -> a msgspec struct. Errors are ``ApiError`` (see
``server.errors``).
"""

from __future__ import annotations

import functools
import time
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, PathParameter, QueryParameter
from nats.errors import MaxPayloadError

from server.context import ServerContext, read
from server.errors import ApiError, rejection_error
from server.payloads import Reads, display_data
from stream.access import Principal, scope_allowed
from stream.clock import wall_ms
from stream.events import MAX_PAYLOAD_BYTES, Rejection, validate_event
from stream.ids import is_id
from stream.incident_views import by_urgency
from stream.nats_io import publish_dead_letter
from stream.push import DisplayData
from stream.readmodel import FlowProfile, IncidentView, LocationView, Metrics, QueryError
from stream.windows import WINDOWS, Window


async def provide_principal(request: Request[Any, Any, Any],
                            ctx: NamedDependency[ServerContext]) -> Principal | None:
    """The caller by token (None for a missing or unknown one; handlers decide 401 vs
    open). The page session cookie does not count here: a cookie would let other sites'
    pages call the API in a logged-in browser."""
    return await ctx.caller(request)


class Accepted(msgspec.Struct, frozen=True):
    status: str
    id: str
    subject: str


def _known(ctx: NamedDependency[ServerContext], scope: str) -> None:
    if not ctx.core.known_scope(scope):
        raise ApiError(404, f"unknown scope {scope!r}", field="scope")


@get("/api/health", summary="Liveness: NATS connected and the core running (no token)",
     description="`{\"status\": \"ok\"}` (200) or `unavailable` (503) for anyone; the "
     "details (NATS, core, hub and alert counters) with an admin token only.")
async def health(ctx: NamedDependency[ServerContext],
                 principal: NamedDependency[Principal | None]) -> Response[dict[str, Any]]:
    details: dict[str, Any] = dict(ctx.core.health())
    ok = details.get("status") == "ok"
    status = "ok" if ok else "unavailable"
    if principal is None or principal.role != "admin":  # no host, pid or webhook errors
        return Response({"status": status}, status_code=200 if ok else 503)
    details["server"] = ctx.hub.snapshot_stats()
    if ctx.alerts is not None:
        details["alerts"] = ctx.alerts.status()
    for name, report in ctx.extra.get("reporters", {}).items():
        details[name] = report()  # e.g. digests: failing deliveries and their errors
    details["status"] = status
    return Response(details, status_code=200 if ok else 503)


@get("/api/metrics/{scope_id:str}", summary="Every metric of a scope over a window")
async def get_metrics(
    ctx: NamedDependency[ServerContext],
    principal: NamedDependency[Principal | None],
    scope_id: Annotated[str, PathParameter(description="`network`, a region or a location id")],
    window: FromQuery[Window] = "today",
    staff: Annotated[str | None, QueryParameter(description="one staff member's feedback")] = None,
    touchpoint: Annotated[
        str | None, QueryParameter(description="one touchpoint's feedback")
    ] = None,
) -> Metrics:
    ctx.authorize(principal, "metrics", scope_id)
    _known(ctx, scope_id)
    try:
        return await read(ctx.core, lambda: ctx.core.metrics(scope_id, window, staff=staff,
                                                             touchpoint=touchpoint))
    except QueryError as exc:
        raise ApiError(400, str(exc), field="window") from None


@get("/api/metrics/{scope_id:str}/profile", summary="Mean contacts per weekday x local hour")
async def get_profile(
    ctx: NamedDependency[ServerContext],
    principal: NamedDependency[Principal | None],
    scope_id: FromPath[str],
) -> FlowProfile:
    ctx.authorize(principal, "profile", scope_id)
    _known(ctx, scope_id)
    return await read(ctx.core, lambda: ctx.core.flow_profile(scope_id))


@get("/api/incidents", summary="Incidents of a scope, most urgent first")
async def get_incidents(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None],
    location: Annotated[str | None, QueryParameter(description="one location")] = None,
    scope_filter: Annotated[str | None, QueryParameter(
        name="scope", description="network, a region or a location")] = None,
    status: FromQuery[Literal["open", "assigned", "resolved"] | None] = None,
    breached: FromQuery[bool | None] = None,
) -> list[IncidentView]:
    target = location or scope_filter
    if location and scope_filter and location != scope_filter:
        raise ApiError(400, "give either `location` or `scope`, not both", field="scope")
    p = ctx.authorize(principal, "incidents", target)
    if target is not None:
        _known(ctx, target)
        return await read(ctx.core, lambda: ctx.core.incidents(target, status, breached))
    if p.role == "admin":
        return await read(ctx.core, lambda: ctx.core.incidents("network", status, breached))
    seen: dict[tuple[str, str], IncidentView] = {}
    for s in sorted(p.regions) + sorted(p.locations):
        if ctx.core.known_scope(s):
            incidents = functools.partial(ctx.core.incidents, s, status, breached)
            for v in await read(ctx.core, incidents):
                seen[(v.location, v.incident)] = v
    return by_urgency(list(seen.values()), wall_ms())


@get("/api/locations", summary="Locations the caller may see")
async def get_locations(
    ctx: NamedDependency[ServerContext], principal: NamedDependency[Principal | None]
) -> list[LocationView]:
    p = ctx.authorize(principal, "locations")
    return [loc for loc in ctx.core.locations() if scope_allowed(p, loc.id, ctx.geo)]


@get("/api/display/{location:str}", summary="The loyalty display's data (display-safe)")
async def get_display(
    ctx: NamedDependency[ServerContext],
    principal: NamedDependency[Principal | None],
    location: FromPath[str],
) -> DisplayData:
    ctx.authorize(principal, "display", location)
    if ctx.geo.kind(location) != "location":
        raise ApiError(400, f"{location!r} is not a location", field="location")
    _known(ctx, location)
    return await read(ctx.core, lambda: display_data(Reads(ctx.core), ctx.cfg, location))


class _LocationOnly(msgspec.Struct):
    location: Any = None


def _sniff_location(payload: bytes) -> str | None:
    try:
        loc = msgspec.json.decode(payload, type=_LocationOnly).location
    except msgspec.MsgspecError:
        return None
    return loc if isinstance(loc, str) and is_id(loc) else None


DLQ_HEADROOM = 8 * 1024  # the dead letter's headers: subject, reason (<= 1,000 chars), ids


def fit_dead_letter(payload: bytes, max_payload: int) -> tuple[bytes, dict[str, str]]:
    """The payload cut to fit NATS's ``max_payload`` with the dead letter's headers, and
    the header that says so (``Cx-Truncated-From``: the original length)."""
    limit = max(1024, max_payload - DLQ_HEADROOM)
    if len(payload) <= limit:
        return payload, {}
    return payload[:limit], {"Cx-Truncated-From": str(len(payload))}


async def dead_letter(ctx: NamedDependency[ServerContext], location: str | None, payload: bytes,
                      rejection: Rejection, client: str) -> None:
    """Bad API input goes to ``{prefix}.dlq.api`` like any rejected input (truncated to
    fit when the NATS server's ``max_payload`` is smaller than the input)."""
    core = ctx.core
    subject = core.subjects.feedback(location) if location else f"{core.subjects.prefix}.feedback"
    max_payload = getattr(getattr(core, "nc", None), "max_payload", None) or MAX_PAYLOAD_BYTES * 16
    data, cut = fit_dead_letter(payload, max_payload)
    await publish_dead_letter(core.js, core.subjects, "api", subject,
                              {"Cx-Api-Client": client, **cut}, data, rejection)


@post("/api/feedback", status_code=202, summary="Submit one cx.feedback event (integrators)",
      description="The body is the same JSON as a `cx.feedback.{location}` message (at most "
      "64 KiB: 413 beyond, before it is read). 202 when accepted (published to JetStream "
      "with `Nats-Msg-Id` = `{location}:{id}`); 422 naming the field otherwise, and the "
      "input is dead-lettered to `cx.dlq.api`. Admin and terminal tokens only (a terminal "
      "for its locations); supervisors and displays get 403.")
async def post_feedback(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                        principal: NamedDependency[Principal | None]) -> Accepted:
    ctx.authorize(principal, "feedback", None)
    assert principal is not None
    payload = await request.body()
    location = _sniff_location(payload)
    if location is None:
        now_ms = int(time.time() * 1000)
        result = validate_event("feedback", "", payload, now_ms)
        rejection = result if isinstance(result, Rejection) else Rejection(
            "invalid_field", "field `location`: must be an id of [a-z0-9_-]{1,64}")
        await dead_letter(ctx, None, payload, rejection, principal.name)
        raise rejection_error(rejection)
    ctx.authorize(principal, "feedback", location)
    try:
        refusal = await ctx.core.publish_input("feedback", location, payload)
    except MaxPayloadError:
        raise ApiError(413, "the event is larger than the NATS server's max_payload",
                       code="too_large") from None
    if refusal is not None:
        await dead_letter(ctx, location, payload, refusal, principal.name)
        raise rejection_error(refusal)
    event_id = msgspec.json.decode(payload)["id"]
    return Accepted("accepted", event_id, ctx.core.subjects.feedback(location))


ROUTES = [health, get_metrics, get_profile, get_incidents, get_locations, get_display,
          post_feedback]
__all__ = ["ROUTES", "WINDOWS", "provide_principal"]
