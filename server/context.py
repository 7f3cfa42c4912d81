"""What every handler shares: config, the core, the hub, the alert service, the token table.

``ServerContext.authenticate`` / ``authorize`` are the single place HTTP handlers and the
websocket endpoint turn a request into a ``Principal`` and a decision (``stream.access``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from server.alerts import AlertsAdapter
from server.config import ServerSettings
from server.errors import ApiError
from server.hub import Hub
from server.survey import SurveyGuard
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
    return await waiter(call)


@dataclass
class ServerContext:
    cfg: ServerSettings
    core: LiveCore
    hub: Hub
    alerts: AlertsAdapter | None
    tokens: TokenTable
    geo: Geo
    survey: SurveyGuard
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth_enabled(self) -> bool:
        return self.cfg.auth.enabled

    def authenticate(self, headers: Mapping[str, str], query: Mapping[str, str]) -> Principal | None:
        """The caller's principal, or None for a missing/unknown token."""
        if not self.auth_enabled:
            return ANONYMOUS_ADMIN
        return self.tokens.lookup(token_from(headers, query))

    def authorize(self, principal: Principal | None, action: Action,
                  scope: str | None = None) -> Principal:
        """The principal when allowed; raises ApiError 401/403 otherwise."""
        decision = decide(principal, action, scope, self.geo)
        if not decision.allowed:
            raise ApiError(decision.status, decision.reason,
                           field="token" if decision.status == 401 else None)
        assert principal is not None
        return principal


def warn_if_open(cfg: ServerSettings) -> None:
    """The loud start-up warning when ``[auth] enabled = false``."""
    if cfg.auth.enabled:
        if not cfg.auth.tokens:
            log.warning("auth: no [[auth.tokens]] configured; every API request will get 401")
        return
    bar = "!" * 78
    log.warning("%s\n!!  [auth] enabled = false: EVERY request is served as admin, with no "
                "token.\n!!  Anyone who can reach %s:%d sees all data, staff ids and "
                "comments.\n!!  Use this only on a trusted machine.\n%s", bar,
                cfg.server.host, cfg.server.port, bar)
