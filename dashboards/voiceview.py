"""The voice panel (pure): anger meters per microphone and the keyword feed from the
utterances of the ``voice:{location}`` topics, and service-standard compliance from the
core's voice metrics (``Metrics.voice``: encounters that had the greeting, the thanks, the
farewell, all three).

An utterance is the contract's ``cx.voice.{location}.{mic}`` JSON (``start``, ``end``,
``emotion.anger``, ``loudness_db``, ``keywords``: ``[{category, word, t}]``, ...), wrapped
by the hub as ``{seq, ts_ms, event}``; the mic is read from ``mic`` (else ``device``).
Compliance over fewer than ``min_sample`` encounters is not shown as a share; with no
encounters at all the wall counts the standard phrases it heard among the keywords.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stream.push import VoiceItem
from stream.readmodel import VoiceResult

STANDARD = ("greeting", "thanks", "farewell", "all")
LIVE_MS = 60_000  # a meter shows the angriest utterance of the last minute
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
    share: float | None  # None: too few encounters, or counted from keywords only
    heard: int  # keyword hits of this phrase among the live utterances


@dataclass(frozen=True)
class Standard:
    items: list[StandardItem]
    encounters: int
    few: bool  # encounters below min_sample: no shares shown
    rating_with: float | None  # mean closing rating of encounters with / without a greeting
    rating_without: float | None


@dataclass(frozen=True)
class VoiceSummary:
    mics: list[MicRow]
    hits: list[Hit]
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


def standard(voice: VoiceResult, hits: Iterable[Hit], min_sample: int) -> Standard:
    """Compliance shares per part of the standard (and ``all``) over the window's encounters;
    below ``min_sample`` encounters only the counts of phrases heard live."""
    heard = dict.fromkeys(STANDARD, 0)
    for h in hits:
        if h.category in heard:
            heard[h.category] += 1
    few = voice.encounters < min_sample
    items = [StandardItem(name, None if few else voice.compliance.get(name), heard[name])
             for name in STANDARD]
    enough = voice.rated_with_greeting >= min_sample and voice.rated_without_greeting >= min_sample
    return Standard(items, voice.encounters, few,
                    voice.rating_with_greeting if enough else None,
                    voice.rating_without_greeting if enough else None)


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
    return VoiceSummary(rows, hits, len(items))
