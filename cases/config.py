"""The ``[cases]`` section: auto-open rules, the topic -> category map, escalation, links.

Decoded as part of ``cxpulse.config.Config``; a bad rule stops start-up with a message
naming ``cases.rules[<id>].<key>``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

import msgspec

from stream.config import Section, StreamSettings
from stream.ids import Id
from text.config import CommentsConfig

Category = Literal["claim", "consultation", "product_quality", "certificate", "service",
                   "other"]
Severity = Literal["low", "normal", "high", "critical"]
Source = Literal["desk", "api", "auto"]
RuleKind = Literal["detractor", "button_burst", "urgent", "voice"]


class CaseRule(Section, frozen=True):
    """One auto-open rule (``kind`` says which keys matter; docs/cases.md).

    - ``detractor``: an NPS answer <= ``nps_max`` or a CSAT answer <= ``csat_max``, with a
      comment unless ``comment_required = false``;
    - ``urgent``: a comment the tagger calls urgent (threats, health, legal action, fraud);
    - ``button_burst``: ``presses`` presses of button ``button`` (1 = worst) at one device
      within ``window_min`` minutes;
    - ``voice``: the contactless incident sensor reported an episode at a microphone
      (``cx.voice`` ``escalation``) with anger >= ``min_anger``, and escalation words
      unless ``words_required = false``.
    """

    id: Id
    kind: RuleKind
    enabled: bool = True
    severity: Severity = "normal"
    category: Category | None = None  # None: from the topics / the sensor / "service"
    nps_max: Annotated[int, msgspec.Meta(ge=0, le=10)] = 6
    csat_max: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2
    comment_required: bool = True
    button: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    presses: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    window_min: Annotated[float, msgspec.Meta(gt=0, le=1440)] = 10.0
    min_anger: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    words_required: bool = True


DEFAULT_RULES = (
    CaseRule(id="detractor", kind="detractor"),
    CaseRule(id="urgent-comment", kind="urgent", severity="high"),
    CaseRule(id="red-burst", kind="button_burst", category="service"),
    CaseRule(id="voice-escalation", kind="voice", severity="high", min_anger=0.5),
)
# first entry whose topic the comment has wins (docs/cases.md)
DEFAULT_CATEGORIES: dict[str, Category] = {
    "product": "product_quality", "price": "claim", "process": "consultation",
    "staff": "service", "wait": "service", "cleanliness": "service", "digital": "service",
}


class CasesConfig(Section, frozen=True):
    enabled: bool = True
    who: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "cases"
    rules: tuple[CaseRule, ...] = DEFAULT_RULES
    categories: dict[str, Category] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_CATEGORIES))
    default_category: Category = "service"
    max_age_h: Annotated[float, msgspec.Meta(gt=0)] = 24.0  # older ratings open nothing
    link_before_min: Annotated[float, msgspec.Meta(ge=0, le=240)] = 15.0
    link_after_min: Annotated[float, msgspec.Meta(ge=0, le=60)] = 2.0
    link_wait_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 120.0
    escalate_sources: tuple[Source, ...] = ("auto", "api")
    escalate_check_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    lease_s: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    delegates: tuple[str, ...] = ()  # token names that may act on behalf of a viewer

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"cases.rules[{rule.id}].id: used twice")
            seen.add(rule.id)


class CasesSettings(StreamSettings, Protocol):
    """What the case service reads: its section, the comment tagger's and the stream's."""

    @property
    def cases(self) -> CasesConfig: ...
    @property
    def comments(self) -> CommentsConfig: ...
