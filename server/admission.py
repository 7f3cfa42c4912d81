"""May this client subscribe to this topic? The websocket's per-topic authorization (pure).

The same ``stream.access`` decision as the HTTP API (a display token sees only its
locations' ``display:``, a supervisor only its scopes), plus what the protocol adds: the
topic must parse, location topics take a location, the scope must exist, alerts need a
running alert service, comments a running archive (they are read as supervisors read
``/api/feedback``: no display token), and a connection follows at most ``ws_queue_limit``
topics.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.hubclient import Client
from stream.access import Action, Geo, decide
from stream.push import COMPUTED_KINDS, LOCATION_KINDS, ErrorCode, TopicError, parse_topic
from stream.readmodel import CoreReader

ACTION: dict[str, Action] = {"metrics": "metrics", "display": "display",
                             "incidents": "incidents", "voice": "voice", "alerts": "alerts",
                             "comments": "metrics"}


@dataclass(frozen=True)
class Refusal:
    """Why a topic was refused: the ``error`` message's code and text."""

    code: ErrorCode
    message: str


def refusal(client: Client, name: str, geo: Geo, core: CoreReader,
            alerts_running: bool, *, comments_running: bool = False) -> Refusal | None:
    """Why ``client`` may not subscribe to topic ``name``, or None when it may."""
    try:
        topic = parse_topic(name)
    except TopicError as exc:
        return Refusal("bad_topic", str(exc))
    scope = topic.arg
    if topic.kind in LOCATION_KINDS and geo.kind(scope or "") != "location":
        return Refusal("bad_topic", f"topic `{topic.kind}:` takes a location id, not {scope!r}")
    decision = decide(client.principal, ACTION[topic.kind], scope, geo)
    if not decision.allowed:
        return Refusal("unauthorized" if decision.status == 401 else "forbidden",
                       decision.reason)
    if topic.kind == "alerts" and not alerts_running:
        return Refusal("not_found", "alerting is not running on this server")
    if topic.kind == "comments" and not comments_running:
        return Refusal("not_found", "the archive (where comments come from) is not running")
    if topic.kind in COMPUTED_KINDS and not core.known_scope(scope or ""):
        return Refusal("not_found", f"unknown scope {scope!r}")
    if (topic.kind == "comments" and not core.known_scope(scope or "")
            and geo.known_kind(scope or "") is None):
        return Refusal("not_found", f"unknown scope {scope!r}")
    limit = client.mailbox.limit
    if topic.name not in client.channels and len(client.channels) >= limit:
        return Refusal("too_many_topics", f"at most {limit} topics per connection")
    return None
