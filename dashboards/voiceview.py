"""The voice panel of a location (pure): anger meters per microphone, the keyword feed,
and service-standard compliance, from the utterances of the ``voice:{location}`` topic.

An utterance is the contract's ``cx.voice.{location}.{mic}`` JSON (``start``, ``end``,
``emotion.anger``, ``loudness_db``, ``keywords``: ``[{category, word, t}]``, ...), wrapped
by the hub as ``{seq, ts_ms, event}``. The mic is read from ``mic`` (else ``device``).
Compliance comes from a ``standard`` object (``{"greeting": true, ...}``, booleans or
shares) when the voice pipeline sends one; without it the wall counts the standard phrases
it heard among the keywords, and shows no percentage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dashboards.wire import VoiceItem

STANDARD = ("greeting", "thanks", "farewell")
LIVE_MS = 60_000  # a meter shows the angriest utterance of the last minute
HITS_SHOWN = 8
ANGRY = 0.6


@dataclass(frozen=True)
class MicRow:
    location: str
    mic: str
    anger: float  # 0..1, the last minute's peak
    last_ms: int  # when it last heard an utterance
    live: bool


@dataclass(frozen=True)
class Hit:
    ts_ms: int
    location: str
    mic: str
    category: str
    word: str
    angry: bool


@dataclass(frozen=True)
class StandardItem:
    name: str
    share: float | None  # None: counted from keywords only
    heard: int


@dataclass(frozen=True)
class VoiceSummary:
    mics: list[MicRow]
    hits: list[Hit]
    standard: list[StandardItem]
    utterances: int


def _mic(ev: Mapping[str, Any]) -> str:
    return str(ev.get("mic") or ev.get("device") or "mic")


def _anger(ev: Mapping[str, Any]) -> float:
    emotion = ev.get("emotion")
    value = emotion.get("anger") if isinstance(emotion, Mapping) else None
    return float(value) if isinstance(value, int | float) else 0.0


def _keywords(ev: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kws = ev.get("keywords")
    return [k for k in kws if isinstance(k, Mapping)] if isinstance(kws, list) else []


def _standard(items: list[tuple[str, VoiceItem]]) -> list[StandardItem]:
    marks: dict[str, list[float]] = {name: [] for name in STANDARD}
    heard = dict.fromkeys(STANDARD, 0)
    for _, it in items:
        std = it.event.get("standard")
        if isinstance(std, Mapping):
            for name in STANDARD:
                v = std.get(name)
                if isinstance(v, bool | int | float):
                    marks[name].append(float(v))
        for kw in _keywords(it.event):
            if kw.get("category") in heard:
                heard[str(kw["category"])] += 1
    return [StandardItem(n, sum(marks[n]) / len(marks[n]) if marks[n] else None, heard[n])
            for n in STANDARD]


def voice_summary(per_location: Mapping[str, Iterable[VoiceItem]], now_ms: int) -> VoiceSummary:
    """Everything the voice panel shows for the locations of one page."""
    items = sorted(((loc, it) for loc, its in per_location.items() for it in its),
                   key=lambda li: li[1].ts_ms)
    mics: dict[tuple[str, str], MicRow] = {}
    hits: list[Hit] = []
    for loc, it in items:
        ev, key = it.event, (loc, _mic(it.event))
        live = now_ms - it.ts_ms <= LIVE_MS
        prev = mics.get(key)
        peak = max(_anger(ev) if live else 0.0, prev.anger if prev and prev.live else 0.0)
        mics[key] = MicRow(loc, key[1], peak, it.ts_ms, live or bool(prev and prev.live))
        for kw in _keywords(ev):
            hits.append(Hit(it.ts_ms, loc, key[1], str(kw.get("category", "")),
                            str(kw.get("word", "")), _anger(ev) >= ANGRY))
    hits.reverse()
    rows = sorted(mics.values(), key=lambda m: (-m.anger, m.location, m.mic))
    return VoiceSummary(rows, hits[:HITS_SHOWN], _standard(items), len(items))
