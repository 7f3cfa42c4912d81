"""Who may look at which wall (pure): the token a viewer brings (once, in the URL; then
the login cookie holds its digest, ``dashboards.login``) is checked against the same
token table and scope rules as the server's API (``stream.access``), so a supervisor sees
only their regions and locations even though the process's one feed may see more. With
``[auth] enabled = false`` everyone is an admin, as on the server."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from dashboards.config import WallSettings
from stream.access import ANONYMOUS_ADMIN, Geo, Principal, TokenTable, decide
from stream.ids import NETWORK


@dataclass(frozen=True)
class Gate:
    enabled: bool
    tokens: TokenTable
    geo: Geo
    digests: Mapping[str, Principal] = field(default_factory=dict)  # sha256 -> principal

    @classmethod
    def from_config(cls, cfg: WallSettings) -> Gate:
        digests = {tok.sha256: Principal(tok.name, tok.role, frozenset(tok.locations),
                                         frozenset(tok.regions)) for tok in cfg.auth.tokens}
        return cls(cfg.auth.enabled, TokenTable(cfg.auth.tokens), Geo.from_config(cfg), digests)

    def viewer(self, token: str | None) -> Principal | None:
        """The page's viewer, or None for a missing or unknown token."""
        return ANONYMOUS_ADMIN if not self.enabled else self.tokens.lookup(token)

    def by_digest(self, digest: str) -> Principal | None:
        """The viewer whose token has this sha256 (a login cookie), or None."""
        if not self.enabled:
            return ANONYMOUS_ADMIN
        found = None
        for stored, principal in self.digests.items():
            if hmac.compare_digest(stored.encode(), digest.encode()):
                found = principal
        return found

    def by_name(self, name: str) -> Principal | None:
        """The viewer of a token name (a session's signed claim); names are unique."""
        if not self.enabled:
            return ANONYMOUS_ADMIN if name == ANONYMOUS_ADMIN.name else None
        return next((p for p in self.digests.values() if p.name == name), None)

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
