"""Every decoder of outside input, fuzzed: the only way out is a result or the decoder's own
refusal (``Rejection``, ``OpError``/``TopicError``, ``ConfigError``), never an exception.

Inputs: arbitrary bytes, arbitrary JSON-ish structures, and valid events with one field
replaced by anything (the case that gets past the JSON parser into the range checks).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxpulse.config import load_config_text
from server import protocol
from stream import push
from stream.config import ConfigError
from stream.events import Limits, Rejection, encode, validate_event
from stream.subjects import Subjects

NOW_MS = int(time.time() * 1000)
KINDS = ("feedback", "flow", "incident", "audio", "voice", "")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40))
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=12), kids, max_size=4), max_leaves=12)
timestamps = (st.integers(NOW_MS - 40 * 86_400_000, NOW_MS + 86_400_000)
              | st.sampled_from(["2026-01-01T10:00:00+03:00", "2026-13-01T00:00:00Z", "yesterday",
                                 "2026-01-01T10:00:00", ""]) | json_values)

VALID: dict[str, list[dict[str, object]]] = {
    "feedback": [
        {"type": "nps", "value": 9, "session": "s1", "channel": "qr"},
        {"type": "button", "value": 2, "scale": 3, "device": "btn-1"},
        {"type": "csat", "value": 4}, {"type": "ces", "value": 6},
        {"type": "csi", "factor": "tangibles", "question": "clean", "value": 4},
        {"type": "visit", "staff": "ann"},
    ],
    "flow": [{"channel": "phone", "answered": True, "wait_s": 12.5, "handle_s": 80}],
    "incident": [{"incident": "i-1", "action": "open", "category": "claim", "severity": "high"},
                 {"incident": "i-1", "action": "resolve"}],
}
FIELDS = sorted(
    {k for bodies in VALID.values() for b in bodies for k in b} | {"id", "ts", "location"}
)


def check(kind: str, location: str, payload: bytes) -> None:
    result = validate_event(kind, location, payload, NOW_MS, Limits())
    if isinstance(result, Rejection):
        assert result.code and result.reason
        return
    event, ts_ms = result
    assert event.location == location
    assert NOW_MS - Limits().retention_ms <= ts_ms <= NOW_MS + Limits().max_clock_skew_ms
    again = validate_event(kind, location, encode(event), NOW_MS, Limits())  # round trip
    assert not isinstance(again, Rejection) and again[1] == ts_ms


@FUZZ
@given(kind=st.sampled_from(KINDS), location=st.text(max_size=70), payload=st.binary(max_size=300))
def test_validate_event_on_arbitrary_bytes(kind: str, location: str, payload: bytes) -> None:
    check(kind, location, payload)


@FUZZ
@given(kind=st.sampled_from(KINDS), body=json_values)
def test_validate_event_on_arbitrary_json(kind: str, body: object) -> None:
    check(kind, "a", msgspec.json.encode(body) if _encodable(body) else b"{}")


@FUZZ
@given(data=st.data())
def test_validate_event_on_valid_events_with_one_field_replaced(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(VALID)))
    body = {"id": "e1", "ts": NOW_MS - 1000, "location": "a",
            **data.draw(st.sampled_from(VALID[kind]))}
    field = data.draw(st.sampled_from(FIELDS))
    body[field] = data.draw(timestamps if field == "ts" else json_values)
    if data.draw(st.booleans()):
        del body[data.draw(st.sampled_from(sorted(body)))]
    check(kind, "a", msgspec.json.encode(body) if _encodable(body) else b"{}")


def _encodable(value: object) -> bool:
    """JSON has no NaN/inf; msgspec writes them as null, which is fine, but keep it honest."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    if isinstance(value, dict):
        return all(_encodable(v) for v in value.values())
    return True


@FUZZ
@given(subject=st.text(max_size=80) | st.lists(
    st.sampled_from(["cx", "feedback", "flow", "a", "A", "", "*", ">", "x" * 65]), max_size=5
).map(".".join))
def test_subject_parser(subject: str) -> None:
    parsed = Subjects("cx").input_of(subject)
    if parsed is not None:
        _kind, location, published = parsed  # the kind is checked by validate_event
        assert Subjects("cx").input_of(published) == parsed and location


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200) | json_values.map(
    lambda v: msgspec.json.encode(v).decode() if _encodable(v) else "{}")
    | st.fixed_dictionaries({"op": st.sampled_from(["subscribe", "unsubscribe", "ping", "x"])},
                            optional={"topics": json_values, "windows": json_values,
                                      "id": json_values}).map(
        lambda v: msgspec.json.encode(v).decode() if _encodable(v) else "{}"))
def test_websocket_client_message_parser(text: str | bytes) -> None:
    try:
        op = protocol.decode_op(text)
    except protocol.OpError as exc:
        assert str(exc)
        return
    assert op.op in ("subscribe", "unsubscribe", "ping")
    push.windows_of(op)
    for name in op.topics:
        try:
            topic = push.parse_topic(name)
        except push.TopicError as exc:
            assert str(exc)
        else:
            assert topic.kind in push.TOPIC_KINDS


SECTIONS = ["core", "nats", "sla", "calendar", "server", "auth", "dashboards", "csi", "alerts",
            "regions", "locations", "bogus"]
KEYS = ["id", "region", "timezone", "url", "port", "prefix", "batch_size", "hours", "rules",
        "enabled", "tokens", "retention_days", "mon", "metric", "op", "threshold", "webhooks"]
toml_scalars = (st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=30)
                | st.floats(allow_nan=False) | st.sampled_from(["Europe/Moscow", "09:00-18:00",
                                                                "http://x", "nps", "<"]))
toml_values = st.recursive(toml_scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
    st.sampled_from(KEYS), kids, max_size=3), max_leaves=10)


Table = dict[str, object]


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # strings, numbers, booleans: same in TOML


def to_toml(doc: Mapping[str, Table | list[Table]]) -> str:
    """A small TOML writer for the generated documents (tables and arrays of tables)."""
    lines: list[str] = []
    for name, body in doc.items():
        for table in body if isinstance(body, list) else [body]:
            lines.append(f"[[{name}]]" if isinstance(body, list) else f"[{name}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(SECTIONS), st.dictionaries(
    st.sampled_from(KEYS), toml_values, max_size=4) | st.lists(st.dictionaries(
        st.sampled_from(KEYS), toml_values, max_size=4), max_size=3), max_size=4))
def test_config_loader_on_structured_toml(doc: dict[str, Table | list[Table]]) -> None:
    try:
        load_config_text(to_toml(doc))
    except ConfigError as exc:
        assert "config.toml" in str(exc)


@FUZZ
@given(text=st.text(max_size=300))
def test_config_loader_on_arbitrary_text(text: str) -> None:
    try:
        load_config_text(text)
    except ConfigError as exc:
        assert str(exc)
