"""Label matchers (``severity=critical``, ``location=~msk-.*``, ``rule!=device-silent``).

The same text form as Alertmanager's: ``name op value`` with ``=``, ``!=``, ``=~``, ``!~``;
regexes are anchored (full match). Used by silences, inhibition, maintenance windows and
webhook routes. A missing label matches as the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import msgspec

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Matcher(msgspec.Struct, frozen=True):
    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """``'location=~"msk-.*"'`` -> Matcher; quotes around the value are optional."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f"bad matcher {text!r}: expected name=value, !=, =~ or !~")
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regex in matcher {text!r}: {exc}") from None
    return Matcher(name, op, value)


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts)


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher holds (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)
