"""What every handler shares: config, the core, the hub, the alert service, the token table.

``ServerContext.caller`` / ``authorize`` are the single place HTTP handlers and the
websocket endpoint turn a request into a ``Principal`` and a decision (``stream.access``):
a token (``Authorization: Bearer`` or ``?token=``) for everything, the page session
cookie (``server.sessions``) for the pages and ``/ws`` only. Wrong tokens are counted per
client address (``[server] auth_failures_per_min``, then 429). The client address is
uvicorn's: ``X-Forwarded-For`` is believed only from ``[server] trusted_proxies``.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from litestar.connection import ASGIConnection

from server.alerts import AlertsAdapter
from server.config import ServerSettings
from server.errors import ApiError
from server.hub import Hub
from server.limits import Strikes
from server.sessions import COOKIE, PageSessions, same_origin
from server.survey_guard import SurveyGuard
from stream.access import ANONYMOUS_ADMIN, Action, Geo, Principal, TokenTable, decide, token_from
from stream.events import Rejection
from stream.readmodel import CoreReader
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.server")


class LiveCore(CoreReader, Protocol):
    """The parts of ``stream.core.Core`` the server uses besides reading."""

    @property
    def js(self) -> Any: ...
    @property
    def subjects(self) -> Subjects: ...

    async def publish_input(self, kind: str, location: str, payload: bytes) -> Rejection | None: ...


T = TypeVar("T")


async def read(core: Any, call: Callable[[], T]) -> T:
    """Run a read of the core; a remote reader (``stream.remote``) may first need to fetch
    it from the core workers, which ``core.wait`` awaits. The in-process core answers at once."""
    waiter = getattr(core, "wait", None)
    if waiter is None:
        return call()
    result: T = await waiter(call)
    return result


@dataclass
class ServerContext:
    cfg: ServerSettings
    core: LiveCore
    hub: Hub
    alerts: AlertsAdapter | None
    tokens: TokenTable
    geo: Geo
    survey: SurveyGuard
    sessions: PageSessions
    strikes: Strikes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth_enabled(self) -> bool:
        return self.cfg.auth.enabled

    async def caller(self, conn: ASGIConnection[Any, Any, Any, Any], *,
                     page: bool = False) -> Principal | None:
        """The caller, or None for missing or unknown credentials. ``page``: the session
        cookie counts too (pages and ``/ws``, from this server's origin only). Raises
        ApiError 429 while the client's address is throttled for wrong tokens."""
        if not self.auth_enabled:
            return ANONYMOUS_ADMIN
        presented = token_from(conn.headers, conn.query_params)
        sid = conn.cookies.get(COOKIE) if page and presented is None else None
        if presented is None and not sid:
            return None
        key, now = client_address(conn), time.monotonic()
        wait = self.strikes.retry_after_s(key, now)
        if wait > 0:
            raise ApiError(429, "too many failed authentications from this address; try "
                           "again later", code="rate_limited",
                           headers={"Retry-After": str(round(wait))})
        if presented is not None:
            found = self.tokens.lookup(presented)
        elif same_origin(conn.headers, self.cfg.server.cors_origins):
            found = await self.sessions.principal(sid)
        else:
            return None  # another site's page: the cookie is not this caller's
        if found is None:
            self.strikes.strike(key, now)
        return found

    def authorize(self, principal: Principal | None, action: Action,
                  scope: str | None = None) -> Principal:
        """The principal when allowed; raises ApiError 401/403 otherwise."""
        decision = decide(principal, action, scope, self.geo)
        if not decision.allowed:
            raise ApiError(decision.status, decision.reason,
                           field="token" if decision.status == 401 else None)
        assert principal is not None
        return principal


def client_address(conn: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address (the phone's behind a trusted proxy; see module docstring)."""
    return conn.client.host if conn.client else "unknown"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: assume it resolves to a reachable address


def startup_warnings(cfg: ServerSettings) -> list[str]:
    """What an operator should fix before exposing the server (logged at start-up)."""
    srv = cfg.server
    out = []
    if not _loopback(srv.host) and not srv.trusted_proxies:
        out.append(f"server listens on {srv.host}:{srv.port} without [server] "
                   "trusted_proxies: behind a reverse proxy every client shares the proxy's "
                   "address (one survey rate limit, cooldown and throttle for all); list the "
                   "proxy there, or ignore this if clients connect directly")
    return out


def warn_if_open(cfg: ServerSettings) -> None:
    """The loud start-up warning when ``[auth] enabled = false``."""
    for warning in startup_warnings(cfg):
        log.warning("%s", warning)
    if cfg.auth.enabled:
        if not cfg.auth.tokens:
            log.warning("auth: no [[auth.tokens]] configured; every API request will get 401")
        return
    bar = "!" * 78
    log.warning("%s\n!!  [auth] enabled = false: EVERY request is served as admin, with no "
                "token.\n!!  Anyone who can reach %s:%d sees all data, staff ids and "
                "comments.\n!!  Use this only on a trusted machine.\n%s", bar,
                cfg.server.host, cfg.server.port, bar)
