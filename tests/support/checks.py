"""Small assertions that also tell the type checker what a test has established."""

from __future__ import annotations

from typing import TypeVar

from stream.events import InputEvent, Rejection, validate_event

T = TypeVar("T")


def present(value: T | None, what: str = "value") -> T:
    """``value``, failing the test if it is None (an optional the test expects to be set)."""
    assert value is not None, f"expected a {what}, got None"
    return value


def accepted(kind: str, location: str, data: bytes, now_ms: int) -> tuple[InputEvent, int]:
    """(event, ts_ms) of a payload the core's gate (``validate_event``) must accept."""
    result = validate_event(kind, location, data, now_ms)
    assert not isinstance(result, Rejection), result
    return result
