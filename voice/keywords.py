# ruff: noqa: RUF001 - this module is about Cyrillic letters, single ones included
"""Lexicon matching in ASR transcripts, tolerant of word endings and recognition errors.

Whisper mangles words, especially on Russian: "позовите менеджера" comes out as
"позавите меня джера", i.e. with substituted letters *and* split across words. So:

1. normalise (lowercase, ё -> е, punctuation and apostrophes out, digits kept) and, for
   Russian, map words to a sound key (unstressed о/а and е/и/я merged, voicing pairs
   merged, soft/hard signs dropped, double letters collapsed);
2. glue the transcript's keys together, remembering where each word starts;
3. each lexicon phrase becomes a pattern: its words glued, the last one stemmed (Russian
   or English endings stripped), so any inflection of the last word matches;
4. at every word start (and one letter into a word, at the cost of one edit, for
   phrases of 6+ letters: whisper glues letters onto the wrong word), the edit distance
   between the pattern and the best-matching stretch of glued text that starts there
   (free end: semi-global alignment, a numba kernel) must be within the pattern's
   allowance -- per word 0 edits up to 5 letters, 1 up to 8, 2 up to 12, then 3, summed
   over the phrase: short words never match fuzzily -- and the first letter must agree;
5. the rest of the word in which a match ends must be empty or an inflectional ending
   ("hell" never matches "hello"); overlapping hits of one category keep the best.

``keyword_hits`` turns a transcript's hits into the contract's ``keywords`` entries
(``stream.events.VoiceKeyword``: category, phrase, epoch ms of the word), the one keyword
type the voice events, the incident sensor and the encounters share.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np
import numpy.typing as npt
from numba import njit

from stream.events import VOICE_CATEGORIES, VoiceCategory, VoiceKeyword
from voice.asr import Transcript, Word

I32 = npt.NDArray[np.int32]
_RU_ENDINGS = sorted("""
иями ями ами иях ях ах ией ием ий ый ой ая яя ое ее ие ые ую юю ом ем ам ям ого его ому ему ыми ими
ться тся ть ешь ет ете ут ют ит им ите ишь ат ят ал ала ало али ил ила ило или ов ев ей ия ью ью
а я о е ы и у ю ь
""".split(), key=len, reverse=True)  # noqa: SIM905 - a word list reads best as text
_EN_ENDINGS = ("ing", "ed", "es", "s", "ly")
_EN_ENDING_SET = frozenset(["", *_EN_ENDINGS, "d"])
_WORD_RE = re.compile(r"[0-9a-zа-я]+")


def normalise(text: str) -> str:
    """Lowercase, ё -> е, apostrophes dropped, everything but letters/digits -> space."""
    t = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    t = t.replace("'", "").replace("’", "")
    return " ".join(_WORD_RE.findall(t))


_RU_KEY = str.maketrans({"о": "а", "у": "а", "ю": "а", "е": "и", "я": "и", "э": "и", "ы": "и",
                         "й": "и",
                         "б": "п", "в": "ф", "г": "к", "д": "т", "ж": "ш", "з": "с", "щ": "ш",
                         "ь": None, "ъ": None})


def phonetic(word: str, lang: str) -> str:
    """Russian sound key: unstressed-vowel and voicing confusions merged, doubles collapsed.

    Whisper writes what it hears ("позавите", "менеджира", "жир"), so patterns and
    transcripts are compared on these keys. English words are kept as they are.
    """
    if lang != "ru":
        return word
    key = word.translate(_RU_KEY)
    return "".join(ch for i, ch in enumerate(key) if i == 0 or ch != key[i - 1])


_RU_ENDING_KEYS = frozenset(["", *(phonetic(e, "ru") for e in _RU_ENDINGS)])


def stem(word: str, lang: str) -> str:
    """Strip one inflectional ending, keeping at least 3 letters (4 for English)."""
    endings = _RU_ENDINGS if lang == "ru" else _EN_ENDINGS
    keep = 3 if lang == "ru" else 4
    for e in endings:
        if word.endswith(e) and len(word) - len(e) >= keep:
            return word[: -len(e)]
    return word


def allowance(n_letters: int) -> int:
    """Edits tolerated for a pattern of ``n_letters``."""
    return 0 if n_letters <= 5 else 1 if n_letters <= 8 else 2 if n_letters <= 12 else 3


@njit(cache=True)
def _anchored_distances(text: I32, start: int, pattern: I32, max_len: int) -> I32:
    """Edit distance of ``pattern`` to ``text[start:start + j]`` for every ``j <= max_len``."""
    m = pattern.shape[0]
    n = min(text.shape[0] - start, max_len)
    prev = np.arange(n + 1).astype(np.int32)
    cur = np.empty(n + 1, np.int32)
    for i in range(1, m + 1):
        cur[0] = i
        p = pattern[i - 1]
        for j in range(1, n + 1):
            cost = 0 if text[start + j - 1] == p else 1
            cur[j] = min(prev[j - 1] + cost, prev[j] + 1, cur[j - 1] + 1)
        prev, cur = cur, prev
    return prev


def is_voice_category(name: str) -> TypeGuard[VoiceCategory]:
    """A lexicon key is one of the contract's keyword categories."""
    return name in VOICE_CATEGORIES


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """A lexicon phrase found in a transcript; chars index the normalised text."""

    category: VoiceCategory
    word: str
    matched: str
    start_char: int
    end_char: int
    distance: int


@dataclass(frozen=True, slots=True)
class _Pattern:
    category: VoiceCategory
    phrase: str
    codes: I32
    allowed: int


def _codes(s: str) -> I32:
    return np.frombuffer(s.encode("utf-32-le"), dtype=np.int32).copy()


class KeywordMatcher:
    """Matches lexicons ``{lang: {category: [phrase, ...]}}`` in transcripts; a category
    outside ``VOICE_CATEGORIES`` is a ValueError."""

    def __init__(self, lexicons: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        self._patterns: dict[str, list[_Pattern]] = {}
        for lang, cats in lexicons.items():
            pats = []
            for category, phrases in cats.items():
                if not is_voice_category(category):
                    raise ValueError(f"lexicon category {category!r}: expected one of "
                                     f"{', '.join(VOICE_CATEGORIES)}")
                for phrase in phrases:
                    words = normalise(phrase).split()
                    if not words:
                        continue
                    keys = ([phonetic(w, lang) for w in words[:-1]]
                            + [phonetic(stem(words[-1], lang), lang)])
                    allowed = sum(allowance(len(k)) for k in keys)
                    pats.append(_Pattern(category, phrase, _codes("".join(keys)), allowed))
            self._patterns[lang] = pats

    def match(self, text: str, lang: str) -> list[KeywordHit]:
        """All category hits in ``text`` (best per overlapping span and category)."""
        norm = normalise(text)
        words = norm.split()
        if not words:
            return []
        keys = [phonetic(w, lang) or w for w in words]
        starts, pos = [], 0
        for k in keys:
            starts.append(pos)
            pos += len(k)
        glued = "".join(keys)
        word_end = np.empty(len(glued) + 1, np.int64)  # glued index -> end of its word
        word_of = np.empty(len(glued) + 1, np.int64)
        for w_i, (st, k) in enumerate(zip(starts, keys, strict=True)):
            word_end[st + 1 : st + len(k) + 1] = st + len(k)
            word_of[st : st + len(k) + 1] = w_i
        codes = _codes(glued)
        norm_starts = [m.start() for m in re.finditer(r"\S+", norm)]
        endings = _RU_ENDING_KEYS if lang == "ru" else _EN_ENDING_SET
        hits: list[KeywordHit] = []
        for p in self._patterns.get(lang, []):
            anchors = [(st, 0) for st in starts]
            if len(p.codes) >= 6:  # a letter of the previous word glued on: "имене джер"
                anchors += [(st + 1, 1) for st, k in zip(starts, keys, strict=True) if len(k) >= 3]
            for st, penalty in anchors:
                if codes[st] != p.codes[0]:
                    continue
                dists = _anchored_distances(codes, st, p.codes, len(p.codes) + p.allowed)
                best = None
                for j in range(1, len(dists)):
                    end, d = st + j, int(dists[j]) + penalty
                    if d > p.allowed or glued[end:word_end[end]] not in endings:
                        continue
                    rest = word_end[end] - end
                    if best is None or (d, rest) < (best[1], word_end[best[0]] - best[0]):
                        best = (end, d)
                if best is not None:
                    w0, w1 = word_of[st], word_of[best[0] - 1]
                    a, b = norm_starts[w0], norm_starts[w1] + len(words[w1])
                    hits.append(KeywordHit(p.category, p.phrase, norm[a:b], a, b, best[1]))
        return self._best(hits)

    @staticmethod
    def _best(hits: list[KeywordHit]) -> list[KeywordHit]:
        def rank(h: KeywordHit) -> tuple[int, int]:
            return h.distance, -(h.end_char - h.start_char)

        kept: list[KeywordHit] = []
        for h in sorted(hits, key=rank):
            if not any(k.category == h.category and k.start_char < h.end_char
                       and h.start_char < k.end_char for k in kept):
                kept.append(h)
        return sorted(kept, key=lambda h: h.start_char)


def keyword_hits(transcript: Transcript, start_ms: int, matcher: KeywordMatcher,
                 language: str) -> list[VoiceKeyword]:
    """The contract ``keywords`` of an utterance that started at ``start_ms`` (epoch ms):
    each lexicon hit with the time of the transcript word it starts in."""
    return [VoiceKeyword(h.category, h.word[:256],
                         start_ms + int(_word_time(transcript.words, h.start_char) * 1000))
            for h in matcher.match(transcript.text, language)]


def _word_time(words: tuple[Word, ...], start_char: int) -> float:
    """Start (s) of the transcript word holding char ``start_char`` of the normalised text."""
    pos = 0
    for w in words:
        n = len(normalise(w.text))
        if n == 0:
            continue
        if start_char < pos + n + 1:
            return w.start_s
        pos += n + 1
    return words[-1].start_s if words else 0.0
