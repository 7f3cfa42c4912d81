"""Who is asking and what they may see: tokens, roles and scopes (pure, no I/O).

Tokens live in config only as sha256 hex digests; a presented token is hashed and compared
with every configured digest using ``hmac.compare_digest``. Roles:

- ``admin`` — everything;
- ``supervisor`` — the configured locations and regions (a region includes its locations),
  never the whole network;
- ``display`` — the display-safe data of its location(s) only: no metrics beyond the
  display subset, no incidents, staff ids, comments, alerts or voice;
- ``terminal`` — a feedback terminal or web form posting ``/api/feedback`` for its
  location(s); it reads nothing. Supervisors read but do not post feedback.

``decide`` returns the HTTP status the adapters use: 200 allowed, 401 no/unknown token,
403 out of role or scope.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Literal

import msgspec

from stream.config import Section
from stream.geography import Geo

Role = Literal["display", "supervisor", "admin", "terminal"]


class TokenConfig(Section, frozen=True):
    name: str
    sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    role: Role
    locations: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


class AuthConfig(Section, frozen=True):
    enabled: bool = True
    tokens: tuple[TokenConfig, ...] = ()



# What a request touches; each needs a scope except the unscoped ones below.
Action = Literal[
    "metrics", "profile", "incidents", "locations", "feedback", "alerts", "alerts_ack",
    "display", "voice", "survey_review",
]
UNSCOPED: frozenset[str] = frozenset({"locations", "alerts"})  # results are filtered instead
DISPLAY_ACTIONS: frozenset[str] = frozenset({"display", "locations"})
TERMINAL_ACTIONS: frozenset[str] = frozenset({"feedback"})


class Principal(msgspec.Struct, frozen=True):
    """An authenticated caller."""

    name: str
    role: Role
    locations: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()


ANONYMOUS_ADMIN = Principal("auth-disabled", "admin")


class Decision(msgspec.Struct, frozen=True):
    status: int  # 200, 401 or 403
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200


ALLOWED = Decision(200)


def hash_token(token: str) -> str:
    """The sha256 hex digest stored in config for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    """Configured tokens, keyed by nothing but their digests."""

    def __init__(self, tokens: Iterable[TokenConfig]) -> None:
        self._entries = [
            (t.sha256.encode(), Principal(t.name, t.role, frozenset(t.locations),
                                          frozenset(t.regions)))
            for t in tokens
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, presented: str | None) -> Principal | None:
        """The principal of a presented plain-text token, or None (every digest is compared,
        so the time taken does not depend on which one matches)."""
        if not presented:
            return None
        digest = hash_token(presented).encode()
        found = None
        for stored, principal in self._entries:
            if hmac.compare_digest(stored, digest):
                found = principal
        return found

    def lookup_digest(self, digest: str) -> Principal | None:
        """The principal of a stored token digest (a page session holds the digest, never
        the token), or None once that token is no longer configured."""
        found = None
        for stored, principal in self._entries:
            if hmac.compare_digest(stored, digest.encode()):
                found = principal
        return found


def token_from(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """``Authorization: Bearer <token>`` first, then ``?token=``."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query.get("token") or None


def scope_allowed(p: Principal, scope: str, geo: Geo) -> bool:
    """May ``p`` read data of ``scope`` (network, region or location id)?"""
    if p.role == "admin":
        return True
    kind = geo.kind(scope)
    if kind == "network":
        return False
    if kind == "region":
        return scope in p.regions
    return scope in p.locations or geo.region_of(scope) in p.regions


def decide(p: Principal | None, action: Action, scope: str | None, geo: Geo) -> Decision:
    """The authorisation decision for one request or websocket subscription."""
    if p is None:
        return Decision(401, "missing or unknown token")
    if p.role == "display" and action not in DISPLAY_ACTIONS:
        return Decision(403, f"a display token may not access {action}")
    if p.role == "terminal" and action not in TERMINAL_ACTIONS:
        return Decision(403, f"a terminal token may not access {action}")
    if p.role == "supervisor" and action == "feedback":
        return Decision(403, "supervisors may not post feedback (use a terminal or admin token)")
    if scope is None or action in UNSCOPED:
        return ALLOWED
    if not scope_allowed(p, scope, geo):
        return Decision(403, f"scope {scope!r} is outside this token's locations and regions")
    return ALLOWED


def alert_visible(labels: Mapping[str, str], locations: Collection[str] | None,
                  regions: Collection[str] | None) -> bool:
    """May a viewer limited to ``locations`` / ``regions`` see an alert with these labels?
    An alert belongs to the location and region it is labelled with; ``None`` for both
    means no limit (admins). The alert service filters with this, the server checks with
    ``sees_alert``."""
    if locations is None and regions is None:
        return True
    return ((locations is not None and labels.get("location") in locations)
            or (regions is not None and labels.get("region") in regions))


def alert_limits(p: Principal) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The (locations, regions) ``p``'s alert listings are limited to; (None, None): all."""
    return (None, None) if p.role == "admin" else (p.locations, p.regions)


def sees_alert(p: Principal, labels: Mapping[str, str]) -> bool:
    return alert_visible(labels, *alert_limits(p))


def visible_scopes(p: Principal) -> list[str] | None:
    """The scopes a listing covers for ``p``: None means everything (admin)."""
    if p.role == "admin":
        return None
    return sorted(p.regions) + sorted(p.locations)
