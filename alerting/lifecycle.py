"""The state machine of one alert: inactive -> pending -> firing -> resolved.

Pending needs the breach at every evaluation (a single good reading resets it, as in
Prometheus); firing needs the value to cross the separate *recovery* level and stay there
``resolve_for_s`` before it resolves. The dead band between the two is what stops an NPS
hovering around 20 from paging every minute. Missing data (no value or a sample below
``min_sample``) never starts an alert and, by default, never ends one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from alerting.model import AlertState, Reading
from alerting.schema import RuleConfig

Transition = Literal["fired", "resolved", "dropped"] | None


def fingerprint(labels: dict[str, str]) -> str:
    """Stable hash of a label set: the identity used for de-duplication and persistence."""
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compare(value: float, op: str, level: float) -> bool:
    if op == "<":
        return value < level
    if op == "<=":
        return value <= level
    if op == ">":
        return value > level
    return value >= level


def has_data(rule: RuleConfig, reading: Reading | None) -> bool:
    if reading is None or reading.value is None:
        return False
    return rule.min_sample == 0 or (reading.sample or 0) >= rule.min_sample


def breaches(rule: RuleConfig, reading: Reading | None) -> bool:
    return has_data(rule, reading) and compare(reading.value, rule.op, rule.threshold)  # type: ignore[union-attr,arg-type]


def recovered(rule: RuleConfig, reading: Reading | None) -> bool:
    """On the good side of the recovery level (not merely back across the threshold)."""
    return has_data(rule, reading) and not compare(
        reading.value, rule.op, rule.recovery_level)  # type: ignore[union-attr,arg-type]


def open_alert(
    rule: RuleConfig, labels: dict[str, str], scope: str, reading: Reading, now_ms: int
) -> AlertState:
    """A new pending alert for a breaching reading."""
    fp = fingerprint(labels)
    return AlertState(
        id=f"{fp}-{now_ms:x}", fingerprint=fp, rule=rule.id, severity=rule.severity,
        scope=scope, labels=labels, status="pending", active_ms=now_ms, updated_ms=now_ms,
        value=reading.value, sample=reading.sample,
    )


def advance(alert: AlertState, rule: RuleConfig, reading: Reading | None,
            now_ms: int) -> Transition:
    """Apply one evaluation (``reading`` None = no reading for this alert) at ``now_ms``."""
    if reading is not None and reading.value is not None:
        alert.value, alert.sample = reading.value, reading.sample
    if alert.status == "pending":
        if not breaches(rule, reading):
            return close(alert, now_ms, "recovered")
        if now_ms - alert.active_ms >= rule.for_s * 1000:
            alert.status, alert.starts_ms, alert.updated_ms = "firing", now_ms, now_ms
            return "fired"
        return None
    if alert.status != "firing":
        return None
    if not has_data(rule, reading):
        alert.recovering_ms = None
        return close(alert, now_ms, "no_data") if rule.no_data == "resolve" else None
    if not recovered(rule, reading):
        alert.recovering_ms = None
        return None
    if alert.recovering_ms is None:
        alert.recovering_ms = now_ms
    if now_ms - alert.recovering_ms >= rule.resolve_for_s * 1000:
        return close(alert, now_ms, "recovered")
    return None


def close(alert: AlertState, now_ms: int, reason: str) -> Transition:
    """End an alert: a pending one is dropped, a firing one resolves."""
    if alert.status == "pending":
        alert.status, alert.ends_ms, alert.end_reason = "resolved", now_ms, reason
        return "dropped"
    if alert.status == "firing":
        alert.status, alert.ends_ms, alert.end_reason = "resolved", now_ms, reason
        alert.updated_ms = now_ms
        return "resolved"
    return None
