
"""Masking of personal data in free text: comments, incident text, voice transcripts.

One pass collects spans from every detector, resolves overlaps (earlier detector wins,
then the longer span) and replaces each span by its placeholder (contract v2):

==========  ================  ======================================================
kind        placeholder       how it is found
==========  ================  ======================================================
email       ``[email]``       ``local@domain.tld``
account     ``[счёт]``        IBAN (mod-97 check, or the word IBAN before it); any run
                              of exactly 20 digits (Russian account, grouped or not)
passport    ``[паспорт]``     digits after «паспорт», «серия», "passport" (4+6 RU,
                              2+7 foreign RU, 6–9 alphanumerics), «код подразделения»
card        ``[карта]``       13–19 digits passing Luhn, or 16 digits, or grouped 4-4-4-4,
                              or after «карта»/"card"
phone       ``[телефон]``     +country…, 8/7 + 10 digits, 10 digits from 9, (xxx)…,
                              xxx-xx-xx, xxx-xxx-xxxx, 0xxxx xxxxxx, or 7–15 digits after
                              a phone word (тел, звоните, WhatsApp, call, phone…)
document    ``[документ]``    СНИЛС and ИНН/ОМС by checksum (ru-pii) — an extension
address     ``[адрес]``       street word (ул., проспект, пер., street, St…) with a
                              name and a house number, «д. 5, кв. 12» (text.address)
name        ``[имя]``         Russian and English person names (text.names)
number      ``[номер]``       7+ spelled-out digits («восемь девять один…»), as Whisper
                              writes dictated numbers; runs of 40+ digits
==========  ================  ======================================================

Prices, times, dates, order and ticket numbers stay: a phone needs a phone shape or a
phone word before it. ``mask`` is pure; the name rules load pymorphy3 on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from ru_pii import checksums
from ru_pii import find as ru_pii_find

from text.address import find_addresses
from text.names import find_names

PLACEHOLDERS: dict[str, str] = {
    "email": "[email]", "account": "[счёт]", "passport": "[паспорт]", "card": "[карта]",
    "phone": "[телефон]", "document": "[документ]", "address": "[адрес]", "name": "[имя]",
    "number": "[номер]",
}


class Span(NamedTuple):
    """A piece of personal data: ``text[start:end]`` of kind ``kind``."""

    start: int
    end: int
    kind: str


_SEP = r"[ \t\-.]?"
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_DIGITS20_RE = re.compile(r"(?<![\d\w])\d(?:[ \t\-]?\d){19}(?![\d\w]|[ \t\-]\d)")
_CARD_RE = re.compile(r"(?<![\d\w])\d(?:[ \t\-]?\d){12,18}(?![\d\w]|[ \t\-]\d)")
_CARD_GROUPS_RE = re.compile(r"\d{4}([ \t\-])\d{4}\1\d{4}\1\d{4}")
_PASSPORT_CUE_RE = re.compile(
    r"(?i)(?<!\w)(?:\w*паспорт\w*|серия|серии|сер\.|passport)(?:[\s:,.]+|$)"
)
_PASSPORT_NUM_RE = re.compile(
    r"(?i)(?:(?:номер|серия|№|n|no\.?|number|is|данные|#|:)\s*)*"
    r"(\d{2} ?\d{2}\s*(?:(?:номер|№|n|no\.?)\s*)?\d{6}(?!\d)"
    r"|\d{2} \d{7}(?!\d)"
    r"|\d{4}(?!\d)(?:\s*(?:номер|№)\s*\d{6}(?!\d))?"
    r"|(?=(?:[A-Z]*\d){4})[A-Z0-9]{6,9}(?![A-Za-z0-9]))"
)
_DEPT_RE = re.compile(r"(?i)(?:код\s+)?подразделени\w*\s*:?\s*(\d{3}\s?-\s?\d{3})(?!\d)")
_PHONE_RES = (
    re.compile(r"(?<![\w+])\+\d{1,3}" + _SEP + r"\(?\d{1,5}\)?(?:" + _SEP + r"\d){4,11}(?!\d)"),
    re.compile(r"(?<![\w+])[78]" + _SEP + r"\(?\d{3}\)?(?:" + _SEP + r"\d){7}(?!\d)"),
    re.compile(r"(?<![\w+])\(?9\d{2}\)?(?:" + _SEP + r"\d){7}(?!\d)"),
    re.compile(r"(?<![\w+])\(\d{3,5}\) ?\d{1,4}(?:" + _SEP + r"\d){3,7}(?!\d)"),
    re.compile(r"(?<![\w+\-])\d{3}-\d{2}-\d{2}(?![\d\-])"),
    re.compile(r"(?<![\w+\-])\d{3}-\d{3}-\d{4}(?![\d\-])"),
    re.compile(r"(?<![\w+])0\d{2,4}[ \-]?\d{3,4}[ \-]?\d{3,4}(?![\d])"),
)
_PHONE_CUE_RE = re.compile(
    r"(?i)(?:тел\w*|звон\w*|позвон\w*|перезвон\w*|моб\w*|сотов\w*|ватсап|вотсап|"
    r"whats\s?app|viber|вайбер|телеграм\w*|telegram|связ\w*|call|phone|mobile|cell|"
    r"text me|reach me|contact)\W{1,12}$"
)
_ANY_DIGITS_RE = re.compile(r"(?<![\w+])\+?\(?\d(?:[ \t\-.()]{0,2}\d){6,14}(?![\d\w])")
_NUMBER_WORDS_TEXT = """
ноль нуль один одна два две три четыре пять шесть семь восемь девять десять одиннадцать
двенадцать тринадцать четырнадцать пятнадцать шестнадцать семнадцать восемнадцать
девятнадцать двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто
сто двести триста четыреста пятьсот шестьсот семьсот восемьсот девятьсот
zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred double triple
"""
_NUMBER_WORDS = frozenset(_NUMBER_WORDS_TEXT.split())
_MIN_NUMBER_WORDS = 7
# 40+ digits in one run are no single identifier (but may hide several): masked whole,
# and hidden from the other detectors, whose scans would be quadratic on them.
_LONG_RUN_RE = re.compile(r"\d(?:[ \t\-.()]?\d){39,}")


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL_RE.finditer(text):
        yield Span(m.start(), m.end(), "email")


def _accounts(text: str) -> Iterator[Span]:
    for m in _IBAN_RE.finditer(text):
        cue = "iban" in text[max(0, m.start() - 20) : m.start()].lower()
        if cue or checksums.iban(m.group(0)):
            yield Span(m.start(), m.end(), "account")
    for m in _DIGITS20_RE.finditer(text):
        yield Span(m.start(), m.end(), "account")


def _passports(text: str) -> Iterator[Span]:
    for cue in _PASSPORT_CUE_RE.finditer(text):
        m = _PASSPORT_NUM_RE.match(text, cue.end())
        if m:
            yield Span(m.start(1), m.end(1), "passport")
    for m in _DEPT_RE.finditer(text):
        yield Span(m.start(1), m.end(1), "passport")


def _cards(text: str) -> Iterator[Span]:
    for m in _CARD_RE.finditer(text):
        run, digits = m.group(0), _digits(m.group(0))
        cue = re.search(r"(?i)(карт\w*|card)\W{0,20}$", text[max(0, m.start() - 30) : m.start()])
        if checksums.card(digits) or len(digits) == 16 or _CARD_GROUPS_RE.fullmatch(run) or cue:
            yield Span(m.start(), m.end(), "card")


def _phones(text: str) -> Iterator[Span]:
    for pattern in _PHONE_RES:
        for m in pattern.finditer(text):
            if 7 <= len(_digits(m.group(0))) <= 15:
                yield Span(m.start(), m.end(), "phone")
    for m in _ANY_DIGITS_RE.finditer(text):
        if _PHONE_CUE_RE.search(text[max(0, m.start() - 40) : m.start()]):
            yield Span(m.start(), m.end(), "phone")


def _documents(text: str) -> Iterator[Span]:
    if not re.search(r"\d{9}|\d{3}[ \-]\d{3}[ \-]\d{3}", text):
        return
    for found in ru_pii_find(text, kinds=("SNILS", "INN", "OMS")):
        yield Span(found.start, found.end, "document")


def _spelled_numbers(text: str) -> Iterator[Span]:
    run: list[re.Match[str]] = []
    for m in re.finditer(r"[A-Za-zА-Яа-яЁё]+|[^\sA-Za-zА-Яа-яЁё]+", text):
        word = m.group(0).lower().replace("ё", "е")
        if word in _NUMBER_WORDS:
            run.append(m)
            continue
        if word in {",", "-"} and run:
            continue
        if len(run) >= _MIN_NUMBER_WORDS:
            yield Span(run[0].start(), run[-1].end(), "number")
        run = []
    if len(run) >= _MIN_NUMBER_WORDS:
        yield Span(run[0].start(), run[-1].end(), "number")


_DETECTORS: tuple[Callable[[str], Iterator[Span]], ...] = (
    _emails, _accounts, _passports, _cards, _phones, _documents, _spelled_numbers,
)


def _resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, in text order: the earlier detector wins, then the longer."""
    kept: list[Span] = []
    for span in spans:
        if all(span.end <= k.start or k.end <= span.start for k in kept):
            kept.append(span)
    return sorted(kept)


def find_pii(text: str, *, names: bool = True, addresses: bool = True) -> list[Span]:
    """Every piece of personal data in ``text``, non-overlapping, in text order."""
    spans = [Span(m.start(), m.end(), "number") for m in _LONG_RUN_RE.finditer(text)]
    scan = _LONG_RUN_RE.sub(lambda m: "#" * len(m.group(0)), text) if spans else text
    for detect in _DETECTORS:
        found = sorted(detect(scan), key=lambda s: s.start - s.end)
        spans.extend(found)
        spans = _resolve(spans)
    if addresses:
        spans = _resolve([*spans, *(Span(a, b, "address") for a, b in find_addresses(scan))])
    if names:
        taken = [(s.start, s.end) for s in spans]
        spans = _resolve([*spans, *(Span(a, b, "name") for a, b in find_names(scan, taken))])
    return spans


def mask(text: str, *, names: bool = True, addresses: bool = True) -> str:
    """``text`` with every piece of personal data replaced by its placeholder."""
    out: list[str] = []
    pos = 0
    for span in find_pii(text, names=names, addresses=addresses):
        out.append(text[pos : span.start])
        out.append(PLACEHOLDERS[span.kind])
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
