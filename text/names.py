
"""Person names in Russian and English text, found by rules over a morphological dictionary.

Russian: pymorphy3 marks given names, surnames and patronymics (grammemes ``Name``,
``Surn``, ``Patr``) in every case («Ивановой Марии», «Насте»). A word is a name when
- it follows a role word («менеджер Олег», «кассир светлана», «по имени Алина»), or
- it is capitalised inside a sentence and has a name reading (≥ 0.1 of its parses), or
- it starts a sentence with a strong name reading (≥ 0.5, or any for names that are
  not also common nouns, see ``_AMBIGUOUS_RU``), or is followed by a patronymic, or
- it is lower-case with a dominant given-name reading («спасибо олегу»).
Adjacent name words, patronymics, surnames and initials («Григорьев А.В.») join one span.

English: the commonest given names of the US census (``data/en_first_names.txt``), a
title (Mr, Mrs, Ms, Dr…) or a role word before a capitalised word; a capitalised word
after a given name is taken as the surname. Names that are also common words (Will, May,
Mark…) need a title, a role or a surname.

natasha's NER finds the same and more but runs at ~55 sentences/s here (docs/comments.md);
these rules run at thousands per second.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from text.lemmas import morph

_WORD_RE = re.compile(r"[A-Za-zА-Яа-яЁё]+(?:-[A-Za-zА-Яа-яЁё]+)?")
_INITIALS_RE = re.compile(r"\s*[А-ЯЁA-Z]\.\s?(?:[А-ЯЁA-Z]\.?)?")
_SENTENCE_END = frozenset(".!?…\n")
_TITLE_RE = re.compile(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Mx)\.?$")



def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


_ROLES = _words("""
менеджер кассир кассирша продавец продавщица консультант администратор админ врач доктор
охранник операционист операционистка официант официантка медсестра сотрудник сотрудница
специалист директор управляющий управляющая курьер мастер оператор девушка парень
сестра брат коллега сотрудника кассиру кассира врача доктору консультанта менеджера
имени зовут звать
manager cashier consultant guard waiter waitress doctor nurse agent assistant
receptionist named called thank thanks clerk teller officer pharmacist operator
courier driver
""")
_AMBIGUOUS_RU = _words(
    "пол вера надежда любовь слава роза лев мила дана ира мир май март лилия заря луна "
    "сила победа марта ева ангелина виктория злата свет"
)
_AMBIGUOUS_EN = _words("""
will may june april august mark bill grace hope faith joy rose lily art frank jack pat sue
rich guy ray dawn page kim lane long young ben don van gene christian norman iris ivy ruby
holly amber crystal pearl summer autumn violet daisy angel precious lucky buck drew chase
wade dean miles price penny sandy rusty carol robin sterling king major royal else star
""")
_STOP_EN = _words(
    "The A An And Or But At In On To For Of From With By Is Was Were Be I We You He She It "
    "They My Our Your Thanks Thank Great Good Very Please"
)


class NameSpan(NamedTuple):
    start: int
    end: int


@lru_cache(maxsize=1)
def _en_first() -> frozenset[str]:
    data = resources.files("text").joinpath("data/en_first_names.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in data.splitlines()
        if line.strip() and not line.startswith("#")
    )


@lru_cache(maxsize=100_000)
def _ru_scores(word: str) -> tuple[float, float, float]:
    """(given-name, surname, patronymic) shares of a Russian word's parses."""
    name = surn = patr = 0.0
    for p in morph().parse(word):
        tag = p.tag
        if "Name" in tag:
            name += p.score
        elif "Surn" in tag:
            surn += p.score
        elif "Patr" in tag:
            patr += p.score
    return name, surn, patr


def _is_cyr(word: str) -> bool:
    return "а" <= word[0].lower() <= "я" or word[0] in "ёЁ"


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"«(-—":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _ru_kind(word: str, prev: str, at_start: bool) -> str:
    """``"name"`` / ``"part"`` (joins a neighbouring name only) / ``""`` for a Russian word."""
    low = word.lower().replace("ё", "е")
    name, surn, patr = _ru_scores(low)
    if patr >= 0.5:
        return "name"
    cap = word[0].isupper() and not word.isupper()
    if prev in _ROLES and (cap or name + surn >= 0.3):
        return "name"
    if cap and not at_start and name + surn >= 0.1:
        return "name"
    if cap and at_start and (name >= 0.5 or (name >= 0.1 and low not in _AMBIGUOUS_RU)):
        return "name"
    if cap and at_start and surn >= 0.6:
        return "name"
    if not cap and name >= 0.6 and low not in _AMBIGUOUS_RU:
        return "name"
    return "part" if (cap and name + surn > 0) else ""


def _en_kind(word: str, prev: str, prev_raw: str, at_start: bool) -> str:
    cap = word[0].isupper() and not word.isupper()
    if not cap or word in _STOP_EN:
        return ""
    low = word.lower()
    if _TITLE_RE.match(prev_raw):
        return "name"
    if prev in _ROLES and not at_start:
        return "name"
    if low in _en_first():
        return "part" if low in _AMBIGUOUS_EN else "name"
    return "part" if not at_start else ""


def find_names(text: str, skip: list[tuple[int, int]] | None = None) -> list[NameSpan]:
    """Spans of person names in ``text``, not overlapping the ``skip`` spans."""
    words = [m for m in _WORD_RE.finditer(text) if not _inside(m.start(), skip)]
    kinds: list[str] = []
    prev, prev_raw = "", ""
    for m in words:
        word = m.group(0)
        at_start = _sentence_start(text, m.start())
        if _is_cyr(word):
            kinds.append(_ru_kind(word, prev, at_start))
        else:
            kinds.append(_en_kind(word, prev, prev_raw, at_start))
        prev, prev_raw = word.lower(), word
    return _join(text, words, kinds)


def _inside(pos: int, skip: list[tuple[int, int]] | None) -> bool:
    return bool(skip) and any(a <= pos < b for a, b in skip or ())


def _join(text: str, words: list[re.Match[str]], kinds: list[str]) -> list[NameSpan]:
    """Merge runs of adjacent name words; a "part" counts only next to a "name"."""
    spans: list[NameSpan] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and kinds[j] and _adjacent(text, words, i, j):
            j += 1
        run = range(i, j)
        if any(kinds[k] == "name" for k in run):
            start, end = words[i].start(), words[j - 1].end()
            title = re.search(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Mx)\.?\s+$", text[:start])
            if title:
                start = title.start()
            m = _INITIALS_RE.match(text, end)
            if m and m.group(0).strip():
                end = m.end()
            spans.append(NameSpan(start, end))
        i = max(j, i + 1)
    return spans


def _adjacent(text: str, words: list[re.Match[str]], i: int, j: int) -> bool:
    """Word ``j`` continues the run that starts at ``i`` (only spaces between)."""
    return j == i or not text[words[j - 1].end() : words[j].start()].strip()
