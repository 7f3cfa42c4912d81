"""The ``[alerts]`` section of config.toml: rules, webhooks, inhibition, maintenance windows.

Decoded by msgspec as part of ``stream.config.Config`` and checked in ``__post_init__``, so
a bad rule stops start-up with a ``ConfigError`` naming the rule and key, e.g.
``alerts.rules[nps-drop].recovery``. This module must not import ``stream.config`` (that
module imports this one).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from alerting.matchers import LABEL_NAME, parse_matchers
from alerting.metricpath import CORE, check_core_path, check_window, parse_metric
from stream.ids import ID_CHARS, Id
from stream.timeofday import WEEKDAYS, parse_span

Seconds = Annotated[float, msgspec.Meta(ge=0)]
Severity = Literal["info", "warning", "critical"]
Op = Literal["<", "<=", ">", ">="]
SCOPE_RE = re.compile(rf"^(network|each_location|each_region|(region|location):{ID_CHARS})\Z")
RESERVED_LABELS = ("rule", "severity", "scope")
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class PlaybookText(_Section, frozen=True):
    """One language of a playbook: the service standard's Event -> Tasks -> Actions."""

    event: str
    tasks: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()


class Playbook(_Section, frozen=True):
    ru: PlaybookText | None = None
    en: PlaybookText | None = None


class RuleConfig(_Section, frozen=True):
    """One threshold rule: ``metric`` of ``scope`` over ``window`` compared with ``threshold``.

    Fires after the breach has held ``for_s``; resolves once the value is on the good side
    of ``recovery`` (hysteresis) for ``resolve_for_s``.
    """

    id: Id
    metric: str
    op: Op
    threshold: float
    recovery: float | None = None
    scope: str = "each_location"
    window: str = "1h"
    min_sample: Annotated[int, msgspec.Meta(ge=0)] = 0
    sample: str = ""
    for_s: Seconds = 0.0
    resolve_for_s: Seconds = 0.0
    severity: Severity = "warning"
    labels: dict[str, str] = {}
    repeat_interval_s: Seconds = 4 * 3600.0
    schedule: Literal["always", "business_hours"] = "always"
    no_data: Literal["keep", "resolve"] = "keep"
    enabled: bool = True
    playbook: Playbook = Playbook()

    def __post_init__(self) -> None:
        key = f"alerts.rules[{self.id}]"
        try:
            ref = parse_metric(self.metric)
        except ValueError as exc:
            raise ValueError(f"{key}.metric: {exc}") from None
        try:
            check_window(ref, self.window)
        except ValueError as exc:
            raise ValueError(f"{key}.window: {exc}") from None
        _check_sample(self, ref.source, key)
        for name, value in (("threshold", self.threshold), ("recovery", self.recovery)):
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{key}.{name}: must be a finite number")
        rec = self.recovery
        below = self.op[0] == "<"
        if rec is not None and (rec < self.threshold if below else rec > self.threshold):
            side = ">=" if self.op[0] == "<" else "<="
            raise ValueError(f"{key}.recovery: must be {side} threshold {self.threshold} "
                             f"(it is the level at which the alert resolves)")
        if not SCOPE_RE.match(self.scope):
            raise ValueError(f"{key}.scope: expected network, each_location, each_region, "
                             f"region:<id> or location:<id>, got {self.scope!r}")
        for name in self.labels:
            if not LABEL_NAME.match(name) or name in RESERVED_LABELS:
                raise ValueError(f"{key}.labels: bad or reserved label name {name!r}")

    @property
    def recovery_level(self) -> float:
        return self.threshold if self.recovery is None else self.recovery


def _check_sample(rule: RuleConfig, source: str, key: str) -> None:
    from alerting.metricpath import default_sample

    if rule.sample:
        if source != CORE:
            raise ValueError(f"{key}.sample: external metrics carry their own sample size")
        try:
            check_core_path(tuple(rule.sample.split(".")))
        except ValueError as exc:
            raise ValueError(f"{key}.sample: {exc}") from None
    elif rule.min_sample and source == CORE and default_sample(parse_metric(rule.metric)) is None:
        raise ValueError(f"{key}.sample: {rule.metric!r} has no default sample counter; "
                         f"name one (e.g. 'incidents.opened') or set min_sample = 0")


class WebhookConfig(_Section, frozen=True):
    """An HTTP receiver of grouped notifications, signed with HMAC-SHA256 when a secret is set."""

    id: Id
    url: Annotated[str, msgspec.Meta(pattern=r"^https?://")]
    secret: str = ""
    secret_env: str = ""
    matchers: tuple[str, ...] = ()
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 5.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 3
    backoff_s: Annotated[float, msgspec.Meta(gt=0)] = 0.5
    backoff_max_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    queue_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 100
    headers: dict[str, str] = {}

    def __post_init__(self) -> None:
        _check_matchers(self.matchers, f"alerts.webhooks[{self.id}].matchers")

    def resolved_secret(self) -> str:
        """The secret, from ``secret_env`` when set (keeps secrets out of the file)."""
        return os.environ.get(self.secret_env, "") if self.secret_env else self.secret


class InhibitConfig(_Section, frozen=True):
    """While a ``source`` alert fires, ``target`` alerts with ``equal`` labels stay quiet."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    equal: tuple[str, ...] = ("location",)

    def __post_init__(self) -> None:
        _check_matchers(self.source, "alerts.inhibit.source")
        _check_matchers(self.target, "alerts.inhibit.target")


class MaintenanceConfig(_Section, frozen=True):
    """A window that mutes matching alerts: one-off (``start``/``end``, RFC 3339 with offset)
    or weekly (``weekdays`` + ``hours`` in ``timezone``, default: each alert's own zone)."""

    id: Id
    matchers: tuple[str, ...] = ()
    start: str = ""
    end: str = ""
    weekdays: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = ()
    hours: str = ""
    timezone: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        key = f"alerts.maintenance[{self.id}]"
        _check_matchers(self.matchers, f"{key}.matchers")
        if bool(self.start) != bool(self.end):
            raise ValueError(f"{key}.end: give both start and end, or neither")
        if self.start:
            for name in ("start", "end"):
                _check_instant(getattr(self, name), f"{key}.{name}")
            if dt.datetime.fromisoformat(self.end) <= dt.datetime.fromisoformat(self.start):
                raise ValueError(f"{key}.end: must be after start")
        elif not self.hours:
            raise ValueError(f"{key}.hours: a window needs start/end or hours (and weekdays)")
        if self.hours:
            try:
                parse_span(self.hours)
            except ValueError as exc:
                raise ValueError(f"{key}.hours: {exc}") from None
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{key}.timezone: unknown IANA time zone {self.timezone!r}") from None
        assert set(self.weekdays) <= set(WEEKDAYS)


class AlertsConfig(_Section, frozen=True):
    """Alerting: evaluation cadence, notification grouping, silence policy and the lists."""

    enabled: bool = True
    eval_interval_s: Annotated[float, msgspec.Meta(ge=0.05, le=3600)] = 15.0
    min_eval_gap_s: Annotated[float, msgspec.Meta(ge=0, le=600)] = 1.0
    group_by: tuple[str, ...] = ("location",)
    group_wait_s: Seconds = 10.0
    group_interval_s: Seconds = 60.0
    silence_reminder_s: Seconds = 900.0
    max_silence_s: Annotated[float, msgspec.Meta(gt=0)] = 7 * 86400.0
    history_limit: Annotated[int, msgspec.Meta(ge=0, le=5000)] = 500
    # with several instances on one NATS, one leads; a dead leader is replaced after this
    lease_s: Annotated[float, msgspec.Meta(ge=1, le=600)] = 10.0
    rules: tuple[RuleConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    inhibit: tuple[InhibitConfig, ...] = ()
    maintenance: tuple[MaintenanceConfig, ...] = ()

    def __post_init__(self) -> None:
        for name, items in (("rules", self.rules), ("webhooks", self.webhooks),
                            ("maintenance", self.maintenance)):
            ids = [item.id for item in items]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"alerts.{name}: duplicate id {dupes[0]!r}")
        for name in self.group_by:
            if not LABEL_NAME.match(name):
                raise ValueError(f"alerts.group_by: bad label name {name!r}")

    def rule(self, rule_id: str) -> RuleConfig | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def _check_matchers(texts: tuple[str, ...], key: str) -> None:
    try:
        parse_matchers(texts)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _check_instant(text: str, key: str) -> None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise ValueError(f"{key}: {text!r} needs a UTC offset (e.g. +03:00)")


_LIST_ITEM = re.compile(r"alerts\.(rules|webhooks|maintenance)\[(\d+)\]")


def name_list_items(message: str, toml_text: str) -> str:
    """Replace ``alerts.rules[3]`` in an error message by ``alerts.rules[<its id>]``, so an
    error names the rule, not its position in the file."""
    if not _LIST_ITEM.search(message):
        return message
    try:
        raw = msgspec.toml.decode(toml_text.encode())
        alerts = raw.get("alerts", {}) if isinstance(raw, dict) else {}
    except (msgspec.DecodeError, AttributeError):
        return message

    def _sub(m: re.Match[str]) -> str:
        items = alerts.get(m.group(1), []) if isinstance(alerts, dict) else []
        idx = int(m.group(2))
        item = items[idx] if isinstance(items, list) and idx < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        return f"alerts.{m.group(1)}[{ident}]" if isinstance(ident, str) and ident else m.group(0)

    return _LIST_ITEM.sub(_sub, message)
