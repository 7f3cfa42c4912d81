
"""Masking of personal data: the labelled sets, formats one by one, and no over-masking."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.paths import DATA
from text import PLACEHOLDERS, find_pii, mask
from text.evaluate import PiiReport, evaluate_pii, load_comments, load_pii

MUST_RECALL = ("phone", "email", "card", "passport", "name")


@pytest.fixture(scope="module", params=["pii_labelled.txt", "pii_heldout.txt"])
def report(request: pytest.FixtureRequest) -> PiiReport:
    return evaluate_pii(load_pii(DATA / request.param), find_pii)


def test_labelled_sets_are_large_enough() -> None:
    examples = load_pii(DATA / "pii_labelled.txt")
    assert len(examples) >= 150
    clean = [ex for ex in examples if not ex.spans]
    assert len(clean) >= 40


def test_every_phone_email_card_passport_and_name_is_masked(report: PiiReport) -> None:
    for kind in MUST_RECALL:
        assert report.per_kind[kind].fn == 0, [t for k, t in report.missed if k == kind]


def test_accounts_and_addresses_are_masked(report: PiiReport) -> None:
    for kind in ("account", "address"):
        assert report.per_kind[kind].recall >= 0.9, report.missed


def test_masked_with_the_right_placeholder(report: PiiReport) -> None:
    for kind, counts in report.per_kind.items():
        assert report.kind_ok.get(kind, 0) == counts.tp, kind


def test_precision(report: PiiReport) -> None:
    for kind in ("phone", "card", "email", "passport", "account"):
        assert report.per_kind[kind].fp == 0, report.false_positives
    assert report.per_kind["name"].precision >= 0.9, report.false_positives


@pytest.mark.parametrize("text", [
    "Цена 1500 рублей, в 10:30, заказ 12345",
    "Заплатила 1 500 000 рублей",
    "Заказ № 12345678 не привезли",
    "номер заказа 456789123, чек 000123 от 12.03.2024",
    "Ждала с 10:30 до 12:15, работают 3 кассы из 10",
    "Order #12345678, paid $1,500, waited from 10:30 to 11:45",
    "Трек номер RA123456789RU не отслеживается",
    "артикул 4607001234567 отсутствует",
])
def test_numbers_that_are_not_personal_stay(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("Позвоните +7 (916) 123-45-67", "Позвоните [телефон]"),
    ("перезвоните 8-916-123-45-67 вечером", "перезвоните [телефон] вечером"),
    ("пишите на ivanova.m@mail.ru", "пишите на [email]"),
    ("карта 4276 3800 1234 5678", "карта [карта]"),
    ("счёт 40817810099910004312", "счёт [счёт]"),
    ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [счёт]"),
    ("паспорт серия 4510 номер 123456", "паспорт серия [паспорт]"),
    ("СНИЛС 112-233-445 95", "СНИЛС [документ]"),
    ("Спасибо Ивановой Марии", "Спасибо [имя]"),
    ("менеджер олег не перезвонил", "менеджер [имя] не перезвонил"),
    ("John Smith was rude", "[имя] was rude"),
    ("Живу: ул. Ленина, д. 5, кв. 12", "Живу: [адрес]"),
    ("deliver to Tverskaya st. 7", "deliver to [адрес]"),
])
def test_each_kind(text: str, expected: str) -> None:
    assert mask(text) == expected


def test_covers_dsp_redact() -> None:
    """Every case of the former dsp.redact (transcripts; now masked with text.mask)."""
    cases = {
        "Мой номер 8 800 555-35-35, перезвоните.": "Мой номер [телефон], перезвоните.",
        "Номер +7 916 123 45 67.": "Номер [телефон].",
        "Call me at +1 (415) 555-0100 please": "Call me at [телефон] please",
        "Карта 4276 3800 1234 5678": "Карта [карта]",
        "card 4111111111111111 ok": "card [карта] ok",
        "восемь девять один шесть пять пять пять один два три четыре": "[номер]",
        "Цена 1500 рублей, в 10:30, заказ 12345": "Цена 1500 рублей, в 10:30, заказ 12345",
    }
    for text, expected in cases.items():
        assert mask(text) == expected


def test_names_and_addresses_can_be_left_to_a_later_pass() -> None:
    text = "Ольга, ул. Ленина, д. 5, тел. 8 916 123 45 67"
    assert mask(text, names=False, addresses=False) == "Ольга, ул. Ленина, д. 5, тел. [телефон]"
    assert mask(text) == "[имя], [адрес], тел. [телефон]"


def test_spans_are_ordered_and_disjoint() -> None:
    text = "Петров Сергей, тел 8 903 123 45 67, карта 4276 1600 1234 5678, petrov@mail.ru"
    spans = find_pii(text)
    assert [s.kind for s in spans] == ["name", "phone", "card", "email"]
    assert all(a.end <= b.start for a, b in pairwise(spans))
    assert set(PLACEHOLDERS) >= {s.kind for s in spans}


def test_masking_is_idempotent() -> None:
    text = "Спасибо Марине, звоните +7 916 111-22-33, ул. Гагарина 24 кв 56"
    once = mask(text)
    assert mask(once) == once


_PIECES = st.sampled_from([
    " ", ", ", "8", "+7", "(916)", "-", "123", "45", "@", "mail.ru", "ул.", "д.", "кв.",
    "Олег", "олегу", "Smith", "John", "паспорт", "серия", "карта", "IBAN", "DE89", "4276",
    "восемь", "один", "no", "\n", "№", "очередь", "0000000000",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_any_text_masks_to_disjoint_spans(text: str) -> None:
    spans = find_pii(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in pairwise(spans))
    assert isinstance(mask(text), str)


def test_long_digit_runs_are_masked_whole_and_fast() -> None:
    assert mask("1" * 5000) == "[номер]"
    assert mask("id " + "12-" * 30 + "1 end") == "id [номер] end"


def test_ordinary_comments_lose_only_names() -> None:
    """The topic sets hold prices, times and counts but no contact data: only names go."""
    changed = 0
    for name in ("dev", "heldout", "heldout2"):
        for ex in load_comments(DATA / f"comments_{name}.tsv"):
            spans = find_pii(ex.text)
            assert {s.kind for s in spans} <= {"name"}, ex.text
            changed += bool(spans)
    assert 0 < changed <= 12
