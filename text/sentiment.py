# ruff: noqa: RUF002  (Russian text and typographic signs by design)
"""Sentiment in [−1, 1]: a small ru/en lexicon with negation, blended with the rating.

Text score: each lexicon word (text.lexicon) adds its weight, multiplied by a preceding
intensifier («очень», "very") and by −0.75 when negated («не», «нет», «без», "not",
"no", "without" within three tokens before it in the same clause); a run of ``))`` adds
+1 and of ``((`` adds −1. The sum ``S`` is squashed as ``S / sqrt(S² + 4)`` (VADER's
normalisation with α = 4), so one mild word gives ±0.45 and one strong word ±0.71.

Rating: normalised to [−1, 1] by its scale (``normalise_rating``). Blend:
``sentiment = w·text + (1 − w)·rating`` with ``w = text_weight`` (default 0.6) when the
text has lexicon words and a rating came, ``rating`` alone when the text has none, the
text alone when there is no rating.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from text.lemmas import Token
from text.lexicon import INTENSIFIERS, SENTIMENT_EN, SENTIMENT_RU
from text.matcher import NEGATORS, negated

ScaleKind = Literal["nps", "csat", "ces", "button", "csi", "unit"]

_SENTIMENT_NEGATORS = NEGATORS | {"нет", "без", "no", "without", "nothing"}
_NEGATION_FACTOR = -0.75
_ALPHA = 4.0
_SMILE_RE = re.compile(r"\){2,}|\)\s*$|:\)|:-\)")
_FROWN_RE = re.compile(r"\({2,}|:\(|:-\(")
_LEXICON = {**SENTIMENT_EN, **SENTIMENT_RU}
_PREFIXES = {k[:-1]: v for k, v in _LEXICON.items() if k.endswith("*")}
_PREFIX_LENGTHS = sorted({len(p) for p in _PREFIXES})


def normalise_rating(value: float, kind: ScaleKind, scale: int | None = None) -> float:
    """A rating mapped linearly to [−1, 1] (worst → −1, best → +1).

    ``nps`` 0..10, ``csat`` 1..5, ``ces`` 1..7, ``button`` and ``csi`` 1..``scale``
    (default 5), ``unit`` already in [−1, 1]. Out-of-range values are clamped.
    """
    if kind == "unit":
        return _clamp(value)
    low, high = {
        "nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0),
    }.get(kind, (1.0, float(scale or 5)))
    if high <= low:
        raise ValueError(f"scale of {kind!r} must be at least 2, got {scale}")
    return _clamp(2.0 * (value - low) / (high - low) - 1.0)


def _clamp(x: float) -> float:
    return max(-1.0, min(1.0, x))


def _weight(tok: Token) -> float:
    w = _LEXICON.get(tok.lemma)
    if w is None:
        w = _LEXICON.get(tok.word)
    if w is None:
        for n in _PREFIX_LENGTHS:
            w = _PREFIXES.get(tok.lemma[:n]) or _PREFIXES.get(tok.word[:n])
            if w is not None:
                break
    return w or 0.0


def text_score(text: str, toks: Sequence[Token]) -> tuple[float, int]:
    """(score in [−1, 1], number of sentiment-bearing items) of a text."""
    total, count = 0.0, 0
    for i, tok in enumerate(toks):
        w = _weight(tok)
        if not w:
            continue
        if i and toks[i - 1].clause == tok.clause:
            w *= INTENSIFIERS.get(toks[i - 1].word, 1.0)
        if negated(toks, i, _SENTIMENT_NEGATORS):
            w *= _NEGATION_FACTOR
        total += w
        count += 1
    smiles, frowns = len(_SMILE_RE.findall(text)), len(_FROWN_RE.findall(text))
    total += smiles - frowns
    count += smiles + frowns
    return total / math.sqrt(total * total + _ALPHA), count


def blend(text: float, items: int, rating: float | None, text_weight: float) -> float:
    """The documented blend of the text score and the normalised rating."""
    if rating is None:
        return round(text, 3)
    if items == 0:
        return round(rating, 3)
    return round(_clamp(text_weight * text + (1.0 - text_weight) * rating), 3)
