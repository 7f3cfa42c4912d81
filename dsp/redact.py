"""Masking of phone and payment-card numbers in transcripts before they are stored.

Whisper writes numbers as digit groups ("8 800 555-35-35", "4276 3800 1234 5678") and
sometimes as words ("восемь девятьсот ..."). A run of digit groups joined by spaces,
dashes, dots, brackets or a leading plus is a *number run*; runs of 13-19 digits that pass
the Luhn check, or that come as four groups of four, become ``[card]``; runs of 7-15
digits become ``[phone]``. Runs of seven or more spelled-out digits (Russian or English
number words) become ``[number]``. Shorter numbers (prices, times, counts) stay.
"""

from __future__ import annotations

import re

_RUN_RE = re.compile(r"(?<![\w])\+?\(?\d[\d\s\-().]{5,}\d(?![\w])")
_CARD_GROUPS_RE = re.compile(r"^\d{4}([\s\-]\d{4}){3}$")
_NUMBER_WORDS = frozenset("""
ноль нуль один одна два две три четыре пять шесть семь восемь девять десять одиннадцать
двенадцать тринадцать четырнадцать пятнадцать шестнадцать семнадцать восемнадцать
девятнадцать двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто
сто двести триста четыреста пятьсот шестьсот семьсот восемьсот девятьсот
zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred double triple
""".split())


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_run(m: re.Match[str]) -> str:
    run = m.group(0).strip()
    digits = re.sub(r"\D", "", run)
    if 13 <= len(digits) <= 19 and (luhn_ok(digits) or _CARD_GROUPS_RE.match(run)):
        return "[card]"
    if 7 <= len(digits) <= 15:
        return "[phone]"
    return m.group(0)


def _mask_words(text: str, min_words: int = 7) -> str:
    out, pos = [], 0
    tokens = list(re.finditer(r"[A-Za-zА-Яа-яЁё]+", text))
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j].group(0).lower().replace("ё", "е") in _NUMBER_WORDS:
            j += 1
        if j - i >= min_words:
            out.append(text[pos : tokens[i].start()])
            out.append("[number]")
            pos = tokens[j - 1].end()
            i = j
        else:
            i = max(j, i + 1)
    out.append(text[pos:])
    return "".join(out)


def redact(text: str) -> str:
    """``text`` with phone numbers, card numbers and long spelled-out numbers masked."""
    return _mask_words(_RUN_RE.sub(_mask_run, text))
