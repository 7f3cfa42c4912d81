"""Tokens, roles and scopes: the pure decisions behind every request and subscription."""

from __future__ import annotations

import pytest

from cxpulse.config import load_config_text
from stream.access import (
    Action,
    Geo,
    Principal,
    TokenConfig,
    TokenTable,
    decide,
    hash_token,
    scope_allowed,
    token_from,
)

CFG = load_config_text("""
[[regions]]
id = "msk"
[[regions]]
id = "ural"
[[locations]]
id = "msk-a"
region = "msk"
[[locations]]
id = "msk-b"
region = "msk"
[[locations]]
id = "ekb"
region = "ural"
""")
GEO = Geo.from_config(CFG)
ADMIN = Principal("a", "admin")
SUP = Principal("s", "supervisor", regions=frozenset({"msk"}))
SUP_LOC = Principal("s2", "supervisor", locations=frozenset({"ekb"}))
DISPLAY = Principal("d", "display", locations=frozenset({"msk-a"}))
TERMINAL = Principal("t", "terminal", locations=frozenset({"msk-a"}))


def test_tokens_are_matched_by_digest_only() -> None:
    table = TokenTable([TokenConfig(name="x", sha256=hash_token("secret"), role="admin"),
                        TokenConfig(name="y", sha256=hash_token("other"), role="display",
                                    locations=("msk-a",))])
    assert table.lookup("secret") == Principal("x", "admin")
    assert table.lookup("other") == Principal("y", "display", frozenset({"msk-a"}))
    assert table.lookup("nope") is None and table.lookup("") is None and table.lookup(None) is None
    assert table.lookup(hash_token("secret")) is None  # the digest itself is no token
    assert table.lookup_digest(hash_token("secret")) == Principal("x", "admin")  # a page session
    assert table.lookup_digest(hash_token("gone")) is None


def test_token_sources() -> None:
    assert token_from({"authorization": "Bearer abc"}, {"token": "zzz"}) == "abc"
    assert token_from({"authorization": "bearer  abc "}, {}) == "abc"
    assert token_from({"authorization": "Basic abc"}, {"token": "q"}) == "q"
    assert token_from({}, {}) is None


def test_geography_kinds() -> None:
    assert GEO.kind("network") == "network"
    assert GEO.kind("msk") == "region" and GEO.kind("msk-a") == "location"
    assert GEO.kind("somewhere-new") == "location"


@pytest.mark.parametrize(("who", "scope", "ok"), [
    (ADMIN, "network", True), (ADMIN, "unknown-place", True),
    (SUP, "network", False), (SUP, "msk", True), (SUP, "msk-a", True), (SUP, "ural", False),
    (SUP, "ekb", False), (SUP, "unknown-place", False),
    (SUP_LOC, "ekb", True), (SUP_LOC, "ural", False), (SUP_LOC, "msk-a", False),
    (DISPLAY, "msk-a", True), (DISPLAY, "msk-b", False), (DISPLAY, "msk", False),
])
def test_scope_rules(who: Principal, scope: str, ok: bool) -> None:
    assert scope_allowed(who, scope, GEO) is ok


@pytest.mark.parametrize(("who", "action", "scope", "status"), [
    (None, "metrics", "msk-a", 401), (None, "display", "msk-a", 401),
    (DISPLAY, "display", "msk-a", 200), (DISPLAY, "display", "msk-b", 403),
    (DISPLAY, "metrics", "msk-a", 403), (DISPLAY, "incidents", "msk-a", 403),
    (DISPLAY, "voice", "msk-a", 403), (DISPLAY, "alerts", None, 403),
    (DISPLAY, "feedback", "msk-a", 403), (DISPLAY, "profile", "msk-a", 403),
    (DISPLAY, "locations", None, 200),
    (SUP, "metrics", "msk", 200), (SUP, "metrics", "network", 403),
    (SUP, "incidents", "msk-b", 200), (SUP, "incidents", "ekb", 403),
    (SUP, "feedback", "msk-a", 403), (SUP, "feedback", "ekb", 403),  # supervisors read only
    (TERMINAL, "feedback", "msk-a", 200), (TERMINAL, "feedback", "msk-b", 403),
    (TERMINAL, "metrics", "msk-a", 403), (TERMINAL, "display", "msk-a", 403),
    (TERMINAL, "locations", None, 403), (SUP, "survey_review", "msk-a", 200),
    (SUP, "survey_review", "ekb", 403), (DISPLAY, "survey_review", "msk-a", 403),
    (SUP, "alerts", None, 200), (SUP, "alerts_ack", None, 200), (SUP, "voice", "msk-a", 200),
    (ADMIN, "metrics", "network", 200), (ADMIN, "feedback", "anything", 200),
])
def test_decisions(who: Principal | None, action: Action, scope: str | None, status: int) -> None:
    assert decide(who, action, scope, GEO).status == status
