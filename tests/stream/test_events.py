from __future__ import annotations

import json

import pytest

from stream.events import NpsEvent, Rejection, validate_event

NOW = 1_795_849_200_000


def payload(**fields: object) -> bytes:
    base = {"id": "e1", "ts": NOW, "location": "loc"}
    base.update(fields)
    return json.dumps(base).encode()


def test_valid_feedback_with_rfc3339_ts() -> None:
    result = validate_event("feedback", "loc", payload(type="nps", value=9,
                            ts="2026-11-28T10:00:00+03:00"), NOW)
    assert not isinstance(result, Rejection)
    event, ts_ms = result
    assert isinstance(event, NpsEvent) and ts_ms == NOW


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("feedback", b"not json", "not_json"),
        ("feedback", b"[1, 2]", "not_object"),
        ("feedback", payload(type="nps", value="9"), "invalid_field"),
        ("feedback", payload(type="nps", value=11), "out_of_range"),
        ("feedback", payload(type="button", value=4, scale=3), "out_of_range"),
        ("feedback", payload(type="smile", value=1), "unknown_type"),
        ("feedback", payload(type="nps", value=9, location="other"), "location_mismatch"),
        ("feedback", payload(type="nps", value=9, ts=NOW + 3_600_000), "future_ts"),
        ("feedback", payload(type="nps", value=9, ts=NOW - 40 * 86_400_000), "too_old_ts"),
        ("feedback", payload(type="nps", value=9, ts="2026-11-28T10:00:00"), "invalid_field"),
        ("feedback", payload(type="nps", value=9, comment="x" * 70_000), "too_large"),
        ("flow", payload(channel="pigeon"), "invalid_field"),
        ("flow", payload(channel="phone", wait_s=-1), "out_of_range"),
        ("incident", payload(incident="i1", action="open"), "invalid_field"),
        ("incident", payload(action="open", category="claim"), "missing_field"),
    ],
)
def test_each_class_of_bad_input_has_a_reason(kind: str, body: bytes, code: str) -> None:
    result = validate_event(kind, "loc", body, NOW)
    assert isinstance(result, Rejection)
    assert result.code == code, result
    assert len(result.reason) > 10
