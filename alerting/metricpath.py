"""Metric expressions of alert rules: a dotted path into ``Metrics`` or a ratio of two paths.

``nps``, ``buttons.shares.1``, ``incidents.open_breached`` read one number from the core's
``Metrics``; ``flow.this_hour / flow.usual_this_hour`` divides two. Paths under ``voice.``,
``device.`` and ``comments.`` (or any other registered source) name metrics of external
sources, which are read by name. Paths are checked against the ``Metrics`` struct at
start-up, so a typo is a config error, not a silent "no data" alert.
"""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from typing import Any, Union

import msgspec

from stream.readmodel import Metrics
from stream.windows import WINDOWS

CORE = "core"
EXTERNAL_SOURCES = ("voice", "device", "comments", "case")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)*$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

# Default sample counter per first path segment (what "n" a value is computed over).
_DEFAULT_SAMPLE: dict[str, str] = {
    "nps": "responses",
    "promoters": "responses",
    "passives": "responses",
    "detractors": "responses",
    "nps_with_non_responders": "visits",
    "response_rate": "visits",
    "csat": "csat_responses",
    "ces": "ces_responses",
    "csi": "csi.answers",
    "buttons": "buttons.presses",
    "flow": "flow.contacts",
}


class MetricRef(msgspec.Struct, frozen=True):
    """A parsed metric expression: ``source`` is ``core`` or an external source name."""

    text: str
    source: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """The metric name inside an external source: ``voice.anger_events`` ->
        ``anger_events``."""
        return ".".join(self.numerator[1:]) if self.source != CORE else self.text


def parse_duration_s(text: str) -> float:
    """``"15m"`` -> 900.0; accepts s, m, h, d units."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"expected a duration like '15m', '1h', '30s', got {text!r}")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def _leaf_type(tp: Any) -> Any:
    """Strip ``X | None`` to ``X``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


@cache
def _hints(struct: type) -> dict[str, Any]:
    return typing.get_type_hints(struct)


def check_core_path(path: tuple[str, ...]) -> None:
    """Raise ValueError unless ``path`` leads to a number inside ``Metrics``."""
    tp: Any = Metrics
    for i, part in enumerate(path):
        tp = _leaf_type(tp)
        where = ".".join(path[: i + 1])
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            hints = _hints(tp)
            if part not in hints:
                raise ValueError(f"unknown metric {where!r} "
                                 f"(known here: {', '.join(sorted(hints))})")
            tp = hints[part]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            raise ValueError(f"{'.'.join(path[:i])!r} is a number; nothing below it")
    tp = _leaf_type(tp)
    if tp not in (int, float) or tp is bool:
        raise ValueError(f"metric {'.'.join(path)!r} is not a number")


def _split(text: str) -> tuple[str, ...]:
    text = text.strip()
    if not _NAME.match(text):
        raise ValueError(f"bad metric path {text!r}")
    return tuple(text.split("."))


@cache
def parse_metric(text: str) -> MetricRef:
    """Parse and validate ``path`` or ``path / path``; external sources take a single path."""
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"at most one '/' in a metric, got {text!r}")
    num = _split(parts[0])
    den = _split(parts[1]) if len(parts) == 2 else None
    if num[0] in EXTERNAL_SOURCES:
        if den is not None or len(num) < 2:
            raise ValueError(f"{text!r}: an external metric is 'source.name', without a ratio")
        return MetricRef(text.strip(), num[0], num)
    check_core_path(num)
    if den is not None:
        check_core_path(den)
    return MetricRef(" / ".join(".".join(p) for p in (num, den) if p), CORE, num, den)


def default_sample(ref: MetricRef) -> tuple[str, ...] | None:
    """The counter a metric is computed over, used for ``min_sample`` unless configured:
    a ratio of a count (``flow.this_hour / ...``) is sized by that count."""
    if ref.source != CORE:
        return None
    if ref.denominator is not None and _is_count(ref.numerator):
        return ref.numerator
    sample = _DEFAULT_SAMPLE.get(ref.numerator[0])
    return tuple(sample.split(".")) if sample else None


def _is_count(path: tuple[str, ...]) -> bool:
    tp: Any = Metrics
    for part in path:
        tp = _leaf_type(tp)
        tp = _hints(tp)[part] if isinstance(tp, type) else typing.get_args(tp)[1]
    return _leaf_type(tp) is int


def check_window(ref: MetricRef, window: str) -> None:
    """Core metrics use the read model's windows; external ones also take durations."""
    if ref.source == CORE:
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    elif window != "today":
        parse_duration_s(window)
    else:
        raise ValueError("external metrics take a duration window like '15m', not 'today'")


def read_path(metrics: Metrics, path: tuple[str, ...]) -> float | None:
    """The number at ``path`` (None when missing or null, e.g. a button never pressed)."""
    obj: Any = metrics
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if obj is None:
            return None
    return float(obj) if isinstance(obj, int | float) else None


def read_value(ref: MetricRef, metrics: Metrics) -> float | None:
    """Value of a core metric expression; a ratio with a zero or null denominator is None."""
    num = read_path(metrics, ref.numerator)
    if ref.denominator is None or num is None:
        return num
    den = read_path(metrics, ref.denominator)
    if not den:
        return None
    return num / den
