# ruff: noqa: RUF001  (Russian text and typographic signs by design)
"""Tokens, language and lemmas of short Russian and English texts.

Russian lemmas and parts of speech come from ``pymorphy3`` with its dictionaries
(``pymorphy3-dicts-ru``, shipped in the wheel); English lemmas from ``simplemma``. Both
work offline. The analyser loads lazily, once per process (~0.1 s, ~35 MB); every word's
analysis is cached (``lru_cache``), because comments repeat the same few thousand words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    import pymorphy3

Language = Literal["ru", "en"]

# Words: letters joined by apostrophes (didn't); hyphens split (продавец-консультант).
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|[.,!?;:()\[\]—–\-…/\"«»]")
_CLAUSE_BREAK = frozenset(".,!?;:()[]—–…\"«»")
_CYR_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LAT_RE = re.compile(r"[a-z]", re.IGNORECASE)

# Parts of speech that carry an evaluation and so flip under «не» (nouns do not:
# «не было очереди» is still about the wait).
EVALUATIVE_POS = frozenset(
    {"VERB", "INFN", "ADJF", "ADJS", "ADVB", "PRTF", "PRTS", "GRND", "COMP", "PRED"}
)


# simplemma maps these to good/bad; praise and sentiment need the degree kept.
_EN_DEGREES = frozenset({"best", "better", "worst", "worse"})


class Token(NamedTuple):
    """One word of a text: surface form (lower case, ё → е), lemma, POS, clause number."""

    word: str
    lemma: str
    pos: str
    clause: int


_MORPH: pymorphy3.MorphAnalyzer | None = None


def morph() -> pymorphy3.MorphAnalyzer:
    """The shared Russian analyser, created on first use."""
    global _MORPH
    if _MORPH is None:
        import pymorphy3

        _MORPH = pymorphy3.MorphAnalyzer(lang="ru")
    return _MORPH


def detect_language(text: str, default: Language = "ru") -> Language:
    """``"ru"`` when Cyrillic letters are at least as many as Latin ones, else ``"en"``.

    Comments are short and the two scripts never share letters, so counting is enough;
    a text with no letters gets ``default``.
    """
    cyr = len(_CYR_RE.findall(text))
    lat = len(_LAT_RE.findall(text))
    if cyr == 0 and lat == 0:
        return default
    return "ru" if cyr >= lat else "en"


@lru_cache(maxsize=200_000)
def analyse(word: str) -> tuple[str, str]:
    """(lemma, part of speech) of one lower-case word; POS is ``""`` for English.

    Russian: the most probable pymorphy3 parse. English: simplemma's lemma.
    """
    if _CYR_RE.search(word):
        parse = morph().parse(word)[0]
        pos = str(parse.tag.POS or "")
        if pos == "COMP":  # «лучше», «дороже»: pymorphy3 would give «хороший», «дорогой»
            return word, pos
        if "Supr" in parse.tag:  # «лучшие» → «лучший», not «хороший»
            return _superlative(parse, word), pos
        return parse.normal_form.replace("ё", "е"), pos
    if _LAT_RE.search(word):
        if word in _EN_DEGREES:
            return word, ""
        import simplemma

        return str(simplemma.lemmatize(word, lang="en")).lower(), ""
    return word, ""


def _superlative(parse: pymorphy3.analyzer.Parse, word: str) -> str:
    """The masculine nominative of a superlative sharing the longest prefix with ``word``
    (the lexeme of «лучшие» holds «наихороший», «лучший», «наилучший»)."""
    forms = [
        f.word for f in parse.lexeme
        if {"masc", "sing", "nomn"} in f.tag and "Supr" in f.tag
    ]
    if not forms:
        return word

    def shared(form: str) -> int:
        n = 0
        while n < min(len(form), len(word)) and form[n] == word[n]:
            n += 1
        return n

    return str(max(forms, key=shared)).replace("ё", "е")


def lemma(word: str) -> str:
    """The lemma of one word (any case)."""
    return analyse(word.lower().replace("ё", "е"))[0]


def tokens(text: str) -> list[Token]:
    """Words of ``text`` with lemmas; punctuation only advances the clause number."""
    out: list[Token] = []
    clause = 0
    for m in _WORD_RE.finditer(text):
        raw = m.group(0)
        if raw in _CLAUSE_BREAK:
            clause += 1
            continue
        if raw == "-" or raw == "/":
            continue
        word = raw.lower().replace("ё", "е").replace("’", "'")
        lem, pos = analyse(word)
        out.append(Token(word, lem, pos, clause))
    return out


def lemmatize_phrase(phrase: str) -> tuple[str, ...]:
    """Lemmas of a configured word or phrase, the same way texts are lemmatised."""
    return tuple(t.lemma for t in tokens(phrase))
