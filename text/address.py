
"""Street addresses in Russian and English text, by pattern.

An address is a street word (ул., улица, проспект, пр-т, пер., бульвар, шоссе, наб.,
мкр.; street, st, avenue, road…) next to a street name *and a house number*, with the
optional city before and building/flat parts after («г. Москва, ул. Тверская, д. 7,
стр. 2, кв. 5»; «Tverskaya st. 7»; «221B Baker Street, apt 4»), or a bare «д. 5, кв. 12».
A street without a number («магазин на ул. Ленина») names a shop's place, not a person's
home, and stays.
"""

from __future__ import annotations

import re

_RU_STREET = (
    r"(?:ул\.?|улиц[аеуы]|пр-т\.?|пр-кт\.?|просп\.?|проспект[аеу]?|пер\.?|переул[ок][кау]?\w*"
    r"|б-р\.?|бульвар[аеу]?|ш\.|шоссе|наб\.?|набережн\w+|пл\.|площад[ьи]|проезд[аеу]?"
    r"|мкр\.?|микрорайон[аеу]?|аллея|аллее|тупик|квартал|тракт[аеу]?)"
)
_RU_NAME = r"(?:[А-ЯЁA-Z0-9][\w\-]*|[а-яё][а-яё\-]{2,})"
_RU_HOUSE = r",?\s*(?:(?:д\.|дом|д)\s*)?\d{1,4}[а-яА-Я]?(?:\s?[/\-]\s?\d{1,4})?(?!\d)"
_RU_PARTS = (
    r"(?:,?\s*(?:корп\.?|корпус|к\.|стр\.?|строение|кв\.?|квартира|оф\.|офис|под\.|подъезд"
    r"|эт\.|этаж)\s*\d{1,4}[а-яА-Я]?)*"
)
_RU_CITY = r"(?:(?:г\.|город)\s*[А-ЯЁ][\w\-]+,?\s*)?"
_RU_STREET_FIRST = re.compile(
    r"(?<![\w-])" + _RU_CITY + _RU_STREET + r"\s*" + _RU_NAME + r"(?:\s+" + _RU_NAME
    + r"){0,2}?" + r"\s*" + _RU_HOUSE + _RU_PARTS,
)
_RU_NAME_FIRST = re.compile(
    r"(?<![\w-])" + _RU_CITY + r"[А-ЯЁ][\w\-]+\s+" + _RU_STREET + r",?\s*" + _RU_HOUSE
    + _RU_PARTS,
)
_RU_HOUSE_FLAT = re.compile(
    r"(?<![\w-])(?:д\.|дом)\s*\d{1,4}[а-яА-Я]?(?:\s?[/\-]\s?\d{1,4})?"
    r"(?:,?\s*(?:корп\.?|корпус|к\.|стр\.?)\s*\d{1,4})?,?\s*(?:кв\.?|квартира)\s*\d{1,4}",
)
_EN_STREET = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|place|pl"
    r"|square|sq|court|ct|highway|hwy|terrace|crescent|close|alley|embankment)\.?"
)
_EN_UNIT = r"(?:,?\s*(?:apt|apartment|flat|suite|unit|fl|floor)\.?\s*#?\d{1,4}[A-Za-z]?)?"
_EN_NUMBER_FIRST = re.compile(
    r"(?<![\w-])\d{1,5}[A-Za-z]?\s+(?:[A-Z][\w\-]*\s+){1,3}(?i:" + _EN_STREET + r")(?!\w)"
    + _EN_UNIT,
)
_EN_NAME_FIRST = re.compile(
    r"(?<![\w-])(?:[A-Z][\w\-]*\s+){1,3}(?i:" + _EN_STREET + r")(?!\w),?\s*\d{1,5}[A-Za-z]?"
    r"(?![\w])" + _EN_UNIT,
)
_PATTERNS = (_RU_STREET_FIRST, _RU_NAME_FIRST, _RU_HOUSE_FLAT, _EN_NUMBER_FIRST, _EN_NAME_FIRST)


def find_addresses(text: str) -> list[tuple[int, int]]:
    """(start, end) of every address in ``text``; overlapping matches merged."""
    spans = sorted(
        (m.start(), m.end()) for pattern in _PATTERNS for m in pattern.finditer(text)
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
