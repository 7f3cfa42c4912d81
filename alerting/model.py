"""Alert state, its public views and the engine's outputs, all msgspec structs.

``AlertState`` and ``SilenceState`` are the engine's internal records; ``EngineSnapshot``
bundles them into one serialisable value the adapter persists (JetStream KV) and restores.
``AlertView`` / ``SilenceView`` are the frozen shapes the server, NATS and webhooks see.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from alerting.schema import Playbook

Status = Literal["pending", "firing", "resolved"]
SNAPSHOT_VERSION = 1


class Ack(msgspec.Struct, frozen=True):
    """An acknowledgement: who took the alert, when, and what they said."""

    by: str
    at_ms: int
    comment: str = ""


class AlertState(msgspec.Struct, kw_only=True):
    """One alert instance (a rule x a label set) through pending -> firing -> resolved."""

    id: str  # fingerprint + first breach time: unique per occurrence
    fingerprint: str  # hash of the labels: one live alert per label set (de-duplication)
    rule: str
    severity: str
    scope: str
    labels: dict[str, str]
    status: Status
    active_ms: int  # first breach of this occurrence
    updated_ms: int
    value: float | None = None
    sample: int | None = None
    starts_ms: int | None = None  # when it started firing
    ends_ms: int | None = None
    end_reason: str = ""  # recovered | no_data | out_of_hours | rule_removed
    recovering_ms: int | None = None  # first evaluation on the good side of recovery
    suppressed_by: list[str] = []  # silence:<id> | maintenance:<id> | inhibited:<alert id>
    announced: bool = False  # its "firing" went out on NATS
    notified_ms: int | None = None  # last notification that carried it as firing
    resolved_notified: bool = False
    ack: Ack | None = None


class SilenceState(msgspec.Struct, kw_only=True):
    id: str
    matchers: list[str]
    starts_ms: int
    ends_ms: int
    created_by: str
    created_ms: int
    comment: str = ""
    reminded: bool = False
    expired: bool = False
    removed_by: str = ""


class GroupState(msgspec.Struct, kw_only=True):
    key: str
    labels: dict[str, str]
    first_ms: int | None = None  # first pending need since the last send (group_wait)
    last_sent_ms: int | None = None


class EngineSnapshot(msgspec.Struct, kw_only=True):
    """Everything the engine needs to resume after a restart."""

    version: int = SNAPSHOT_VERSION
    taken_ms: int = 0
    alerts: list[AlertState] = []
    silences: list[SilenceState] = []
    groups: list[GroupState] = []
    history: list[AlertState] = []
    seq: int = 0


class AlertView(msgspec.Struct, frozen=True, kw_only=True):
    """An alert as the API, the websocket, NATS (``cx.alert.{severity}.{rule}``) and
    webhooks show it; the playbook of its rule travels with it."""

    id: str
    fingerprint: str
    rule: str
    status: Status
    severity: str
    scope: str
    labels: dict[str, str]
    metric: str
    window: str
    op: str
    threshold: float
    recovery: float
    value: float | None
    sample: int | None
    min_sample: int
    active_ms: int
    starts_ms: int | None
    ends_ms: int | None
    updated_ms: int
    end_reason: str
    suppressed_by: tuple[str, ...]
    acknowledged: Ack | None
    playbook: Playbook


class SilenceView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    matchers: tuple[str, ...]
    starts_ms: int
    ends_ms: int
    created_by: str
    created_ms: int
    comment: str
    state: Literal["pending", "active", "expired"]
    removed_by: str = ""


class Notification(msgspec.Struct, frozen=True, kw_only=True, tag="alerts", tag_field="kind"):
    """One grouped message for webhooks and the log: the group's firing alerts plus the ones
    that just resolved. ``reason`` is the strongest cause: new > resolved > repeat."""

    id: str
    ts_ms: int
    group: dict[str, str]
    status: Literal["firing", "resolved"]
    reason: Literal["new", "resolved", "repeat"]
    alerts: tuple[AlertView, ...]


class SilenceNotice(msgspec.Struct, frozen=True, kw_only=True, tag="silence", tag_field="kind"):
    """A silence is about to expire (``expiring``) or just did (``expired``); ``alerts`` are
    the ids of live alerts it mutes (expiring) or muted and that still fire (expired)."""

    id: str
    ts_ms: int
    event: Literal["expiring", "expired"]
    silence: SilenceView
    alerts: tuple[str, ...]


class StepResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one engine step produced, for the adapter to persist and fan out.

    ``changes``: per-alert firing/resolved events (NATS); ``notifications``/``notices``:
    grouped messages (webhooks, log); ``updated``/``silences``: views whose state changed
    (in-process feed); ``significant``: the snapshot changed beyond live values.
    """

    changes: tuple[AlertView, ...] = ()
    notifications: tuple[Notification, ...] = ()
    notices: tuple[SilenceNotice, ...] = ()
    updated: tuple[AlertView, ...] = ()
    silences: tuple[SilenceView, ...] = ()
    significant: bool = False


class Reading(msgspec.Struct, frozen=True):
    """One value a source read for a rule and scope; ``labels`` add dimensions (a device)."""

    value: float | None
    sample: int | None = None
    labels: dict[str, str] = {}


class Evaluation(msgspec.Struct, frozen=True):
    """All readings of one rule for one concrete scope at one instant. Alerts of this
    (rule, scope) that no reading matches have no data; other pairs are left alone."""

    rule: str
    scope: str
    labels: dict[str, str]
    readings: tuple[Reading, ...]
