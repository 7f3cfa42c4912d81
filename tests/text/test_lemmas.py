"""Lemmas and language detection."""

from __future__ import annotations

import pytest

from text import detect_language, lemma
from text.lemmas import tokens


@pytest.mark.parametrize(("word", "expected"), [
    ("очереди", "очередь"), ("очередью", "очередь"), ("Кассиры", "кассир"),
    ("грубили", "грубить"), ("лучшие", "лучший"), ("дороже", "дороже"),
    ("queues", "queue"), ("waited", "wait"), ("best", "best"),
])
def test_lemma(word: str, expected: str) -> None:
    assert lemma(word) == expected


def test_tokens_split_hyphens_and_count_clauses() -> None:
    toks = tokens("Продавец-консультант хамит, очередь!")
    assert [t.lemma for t in toks] == ["продавец", "консультант", "хамить", "очередь"]
    assert [t.clause for t in toks] == [0, 0, 0, 1]


@pytest.mark.parametrize(("text", "expected"), [
    ("Очередь огромная", "ru"), ("The queue was huge", "en"), ("ok, спасибо", "ru"),
    ("Great, спс", "en"), ("12:30", "ru"), ("", "ru"),
])
def test_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected
