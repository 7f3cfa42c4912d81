from __future__ import annotations

import pytest

from dsp.redact import luhn_ok, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("Мой номер 8 800 555-35-35, перезвоните.", "Мой номер [phone], перезвоните."),
    ("Номер +7 916 123 45 67.", "Номер [phone]."),
    ("Call me at +1 (415) 555-0100 please", "Call me at [phone] please"),
    ("Карта 4276 3800 1234 5678", "Карта [card]"),
    ("card 4111111111111111 ok", "card [card] ok"),
    ("восемь девять один шесть пять пять пять один два три четыре", "[number]"),
    ("Цена 1500 рублей, в 10:30, заказ 12345", "Цена 1500 рублей, в 10:30, заказ 12345"),
])
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
