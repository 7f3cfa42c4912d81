
"""Matching configured words, phrases and prefixes against lemmatised tokens.

An entry is compiled once into one of three forms: a single lemma (looked up in a dict),
a phrase (a tuple of lemmas, indexed by its first lemma) or a prefix (``хам*``, looked up
by slicing each token's lemma and surface word at the known prefix lengths). Matching is
then a dict lookup or two per token, which keeps tagging in the tens of microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from text.lemmas import Token, lemmatize_phrase

# «не», «ни» and English "not" negate the next evaluative word; «нет», «без», "no" only
# flip sentiment (see text.sentiment): «без очереди» is still about the wait.
NEGATORS = frozenset(
    {"не", "ни", "not", "never", "n't", "dont", "don't", "didnt", "didn't", "wasnt",
     "wasn't", "isnt", "isn't", "werent", "weren't", "doesnt", "doesn't", "cant", "can't",
     "couldnt", "couldn't", "wont", "won't", "aren't", "arent", "hasn't", "haven't"}
)
# Words that may stand between a negator and the word it negates.
NEGATION_SKIP = frozenset(
    {"очень", "особо", "особенно", "слишком", "так", "совсем", "сильно", "быть", "было",
     "был", "была", "были", "всегда", "нам", "мне", "меня", "нас", "со", "с",
     "very", "too", "so", "really", "be", "was", "were", "a", "an", "the", "any", "at",
     "all", "that", "been"}
)
_NEGATION_REACH = 3


class Hit(NamedTuple):
    """A matched entry: its label, the first token index and the number of tokens."""

    label: str
    start: int
    length: int


def _norm(word: str) -> str:
    return word.strip().lower().replace("ё", "е")


class PhraseMatcher:
    """Finds labelled entries in a token list. Built once; ``find`` is pure."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        """``entries``: (label, entry) pairs; an entry is a word, a phrase or ``prefix*``."""
        self._words: dict[str, set[str]] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._prefixes: dict[str, set[str]] = {}
        for label, entry in entries:
            self._add(label, _norm(entry))
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})

    def _add(self, label: str, entry: str) -> None:
        if entry.endswith("*"):
            self._prefixes.setdefault(entry[:-1], set()).add(label)
            return
        lemmas = lemmatize_phrase(entry)
        if len(lemmas) == 1:
            self._words.setdefault(lemmas[0], set()).add(label)
            if " " not in entry:
                self._words.setdefault(entry, set()).add(label)
        elif lemmas:
            self._phrases.setdefault(lemmas[0], []).append((lemmas, label))

    def find(self, toks: Sequence[Token]) -> list[Hit]:
        """Every hit in ``toks`` (a label may be hit several times)."""
        hits: list[Hit] = []
        words, phrases, prefixes = self._words, self._phrases, self._prefixes
        for i, tok in enumerate(toks):
            labels = words.get(tok.lemma)
            if labels:
                hits.extend(Hit(label, i, 1) for label in labels)
            surface = words.get(tok.word) if tok.word != tok.lemma else None
            if surface:
                hits.extend(Hit(label, i, 1) for label in surface - (labels or set()))
            for n in self._prefix_lengths:
                for key in {tok.lemma[:n], tok.word[:n]}:
                    found = prefixes.get(key)
                    if found and len(key) == n:
                        hits.extend(Hit(label, i, 1) for label in found)
            for lemmas, label in phrases.get(tok.lemma, ()):
                if _phrase_at(toks, i, lemmas):
                    hits.append(Hit(label, i, len(lemmas)))
        return hits


def _phrase_at(toks: Sequence[Token], i: int, lemmas: tuple[str, ...]) -> bool:
    n = len(lemmas)
    if i + n > len(toks):
        return False
    clause = toks[i].clause
    for k in range(1, n):
        tok = toks[i + k]
        if tok.clause != clause or (tok.lemma != lemmas[k] and tok.word != lemmas[k]):
            return False
    return True


def negated(toks: Sequence[Token], i: int, negators: frozenset[str] = NEGATORS) -> bool:
    """Whether token ``i`` is negated: a negator within three tokens before it in the
    same clause, with only skip words (aux verbs, intensifiers, articles) between."""
    clause = toks[i].clause
    for j in range(i - 1, max(-1, i - 1 - _NEGATION_REACH), -1):
        tok = toks[j]
        if tok.clause != clause:
            return False
        if tok.word in negators or tok.word.endswith("n't"):
            return True
        if tok.word not in NEGATION_SKIP and tok.lemma not in NEGATION_SKIP:
            return False
    return False
