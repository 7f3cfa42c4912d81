"""Figures of the masker and the tagger on labelled sets (used by tests and bench/text.py).

Two plain-text formats, so that a network can label its own comments and measure a
changed config the same way:

- masking: one sentence a line, personal data annotated inline as ``{kind:value}``
  (kinds as in ``text.mask.PLACEHOLDERS``); ``#`` starts a comment line.
- comments: tab-separated ``topics  urgent  polarity  rating  text`` (topics comma-
  separated or ``-``; urgent 0/1; polarity ``+ - 0 ±``; rating ``nps:7``, ``csat:2`` or
  empty).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from text.mask import Span
from text.sentiment import ScaleKind
from text.tagger import Tagger

_ANNOTATION_RE = re.compile(r"\{([a-z]+):([^{}]+)\}")


@dataclass(frozen=True)
class PiiExample:
    """A sentence and the spans of personal data in it."""

    text: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class CommentExample:
    """A labelled comment."""

    text: str
    topics: frozenset[str]
    urgent: bool
    polarity: str
    rating: float | None
    scale_kind: ScaleKind


@dataclass
class Counts:
    """True positives, false positives and false negatives of one class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _lines(path: Path) -> Iterable[str]:
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line


def load_pii(path: Path) -> list[PiiExample]:
    """Read a masking set: ``{kind:value}`` annotations become spans of the plain text."""
    out: list[PiiExample] = []
    for line in _lines(path):
        parts: list[str] = []
        spans: list[Span] = []
        pos = length = 0
        for m in _ANNOTATION_RE.finditer(line):
            parts.append(line[pos : m.start()])
            length += m.start() - pos
            spans.append(Span(length, length + len(m.group(2)), m.group(1)))
            parts.append(m.group(2))
            length += len(m.group(2))
            pos = m.end()
        parts.append(line[pos:])
        out.append(PiiExample("".join(parts), tuple(spans)))
    return out


def load_comments(path: Path) -> list[CommentExample]:
    """Read a labelled comment set (tab-separated, see the module docstring)."""
    out: list[CommentExample] = []
    for line in _lines(path):
        topics, urgent, polarity, rating, text = line.split("\t", 4)
        kind, _, value = rating.partition(":")
        out.append(CommentExample(
            text=text,
            topics=frozenset() if topics == "-" else frozenset(topics.split(",")),
            urgent=urgent == "1",
            polarity=polarity,
            rating=float(value) if value else None,
            scale_kind=cast(ScaleKind, kind or "nps"),
        ))
    return out


@dataclass
class PiiReport:
    """Per-kind recall (an annotated span counts as masked when any found span covers
    all of it; ``kind_ok`` also needs the right kind) and precision (found spans that
    overlap no annotation are false positives)."""

    per_kind: dict[str, Counts] = field(default_factory=dict)
    kind_ok: dict[str, int] = field(default_factory=dict)
    false_positives: list[tuple[str, str]] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)


def evaluate_pii(
    examples: Sequence[PiiExample], find: Callable[[str], list[Span]]
) -> PiiReport:
    """Compare ``find`` with the annotations of ``examples``."""
    report = PiiReport()
    for ex in examples:
        found = find(ex.text)
        for gold in ex.spans:
            counts = report.per_kind.setdefault(gold.kind, Counts())
            cover = [f for f in found if f.start <= gold.start and gold.end <= f.end]
            if cover:
                counts.tp += 1
                if any(f.kind == gold.kind for f in cover):
                    report.kind_ok[gold.kind] = report.kind_ok.get(gold.kind, 0) + 1
            else:
                counts.fn += 1
                report.missed.append((gold.kind, ex.text))
        for f in found:
            if not any(f.start < g.end and g.start < f.end for g in ex.spans):
                report.per_kind.setdefault(f.kind, Counts()).fp += 1
                report.false_positives.append((f.kind, ex.text[f.start : f.end]))
    return report


@dataclass
class TagReport:
    """Per-topic and micro counts, urgent counts, and the sign accuracy of sentiment."""

    per_topic: dict[str, Counts] = field(default_factory=dict)
    micro: Counts = field(default_factory=Counts)
    urgent: Counts = field(default_factory=Counts)
    polarity_ok: int = 0
    polarity_n: int = 0
    errors: list[str] = field(default_factory=list)


def evaluate_tags(examples: Sequence[CommentExample], tagger: Tagger) -> TagReport:
    """Tag every example and count agreement with its labels."""
    report = TagReport()
    for topic in tagger.cfg.topics:
        report.per_topic[topic.id] = Counts()
    for ex in examples:
        tags = tagger.tag(ex.text, ex.rating, ex.scale_kind)
        got = set(tags.topics)
        for topic_id, counts in report.per_topic.items():
            hit, want = topic_id in got, topic_id in ex.topics
            counts.tp += hit and want
            counts.fp += hit and not want
            counts.fn += want and not hit
        if got != ex.topics:
            report.errors.append(f"{sorted(ex.topics)} got {sorted(got)}: {ex.text}")
        report.urgent.tp += tags.urgent and ex.urgent
        report.urgent.fp += tags.urgent and not ex.urgent
        report.urgent.fn += ex.urgent and not tags.urgent
        if tags.urgent != ex.urgent:
            report.errors.append(f"urgent={ex.urgent} got {tags.urgent}: {ex.text}")
        if ex.polarity in "+-":
            report.polarity_n += 1
            report.polarity_ok += (tags.sentiment > 0) == (ex.polarity == "+")
    for counts in report.per_topic.values():
        report.micro.tp += counts.tp
        report.micro.fp += counts.fp
        report.micro.fn += counts.fn
    return report
