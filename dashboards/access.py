"""Who may look at which wall (pure): the ``?token=`` of the page is checked against the
same token table and scope rules as the server's API (``stream.access``), so a supervisor
sees only their regions and locations even though the process's one feed may see more.
With ``[auth] enabled = false`` everyone is an admin, as on the server."""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.config import WallSettings
from stream.access import ANONYMOUS_ADMIN, Geo, Principal, TokenTable, decide
from stream.ids import NETWORK


@dataclass(frozen=True)
class Gate:
    enabled: bool
    tokens: TokenTable
    geo: Geo

    @classmethod
    def from_config(cls, cfg: WallSettings) -> Gate:
        return cls(cfg.auth.enabled, TokenTable(cfg.auth.tokens), Geo.from_config(cfg))

    def viewer(self, token: str | None) -> Principal | None:
        """The page's viewer, or None for a missing or unknown token."""
        return ANONYMOUS_ADMIN if not self.enabled else self.tokens.lookup(token)

    def refusal(self, viewer: Principal | None, scope: str) -> str | None:
        """Why ``viewer`` may not see ``scope``'s wall, or None when allowed."""
        decision = decide(viewer, "metrics", scope, self.geo)
        return None if decision.allowed else decision.reason

    def home(self, viewer: Principal) -> str:
        """The wall a viewer lands on without ``?scope=``: the network for an admin, else
        their first region, else their first location."""
        if viewer.role == "admin":
            return NETWORK
        return (sorted(viewer.regions) + sorted(viewer.locations) + [NETWORK])[0]
