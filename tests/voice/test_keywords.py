from __future__ import annotations

import pytest

from voice.config import VoiceConfig
from voice.keywords import KeywordMatcher, normalise, phonetic, stem


@pytest.fixture(scope="module")
def matcher() -> KeywordMatcher:
    return KeywordMatcher(VoiceConfig().lexicons())


def cats(m: KeywordMatcher, text: str, lang: str) -> list[str]:
    return sorted({h.category for h in m.match(text, lang)})


def test_normalise_stem_and_sound_key() -> None:
    assert normalise("Ещё раз, ПОЗОВИТЕ «менеджера»!") == "еще раз позовите менеджера"
    assert stem("жалобу", "ru") == "жалоб" and stem("refunds", "en") == "refund"
    assert phonetic("позовите", "ru") == phonetic("позавити", "ru")


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("Здравствуйте! Чем могу помочь?", "ru", ["greeting"]),
    ("Я хочу написать жалобу.", "ru", ["escalation"]),                  # inflected
    ("Я хочу написать жалубу.", "ru", ["escalation"]),                  # misheard vowel
    ("Здравствуйте, позавите меня джера.", "ru", ["escalation", "greeting"]),  # split word
    ("позовите имене джер", "ru", ["escalation"]),                      # letter glued on
    ("Позавить имене от жир немедленно.", "ru", ["escalation"]),
    ("Издравствуйте, чем могу помочь?", "ru", ["greeting"]),
    ("Здраствуйте, позовите менеджира", "ru", ["escalation", "greeting"]),
    ("Верните деньги! Это безобразие.", "ru", ["escalation"]),
    ("До свидания! Всего доброго!", "ru", ["farewell"]),
    ("Большое спасибо, вы очень помогли.", "ru", ["thanks"]),
    ("Какой же вы идиот!", "ru", ["profanity"]),
    ("I want my money back, this is broken", "en", ["escalation"]),
    ("Thanks a lot, goodbye!", "en", ["farewell", "thanks"]),
    ("Call the managers", "en", ["escalation"]),
])
def test_hits_tolerate_endings_and_asr_mangling(matcher: KeywordMatcher, text: str, lang: str,
                                                 expected: list[str]) -> None:
    assert cats(matcher, text, lang) == expected


@pytest.mark.parametrize(("text", "lang"), [
    ("Пожалуйста, подождите одну минуту.", "ru"),
    ("Подскажите, где находится касса?", "ru"),
    ("Сколько стоит доставка до дома?", "ru"),
    ("Ваш заказ будет готов завтра.", "ru"),
    ("Давайте я проверю наличие на складе.", "ru"),
    ("Очередь движется очень медленно.", "ru"),
    ("Всё идёт хорошо, у нас в саду хорошо.", "ru"),
    ("Сегодня суббота, в суде выходной.", "ru"),
    ("Hello there", "en"),  # greeting only: "hell" must not fire inside "hello"
    ("Where can I find the fitting rooms?", "en"),
    ("How much does the delivery cost?", "en"),
    ("Your order will be ready tomorrow.", "en"),
    ("The queue is moving very slowly.", "en"),
])
def test_no_false_hits(matcher: KeywordMatcher, text: str, lang: str) -> None:
    assert cats(matcher, text, lang) in ([], ["greeting"] if text.startswith("Hello") else [])


def test_hit_positions_point_into_the_normalised_text(matcher: KeywordMatcher) -> None:
    hits = matcher.match("Ну, здравствуйте. Позовите менеджера!", "ru")
    norm = normalise("Ну, здравствуйте. Позовите менеджера!")
    assert [norm[h.start_char : h.end_char] for h in hits] == ["здравствуйте", "позовите менеджера"]
    assert matcher.match("", "ru") == [] and matcher.match("hello", "de") == []


def test_a_lexicon_category_outside_the_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="'rudeness'"):
        KeywordMatcher({"ru": {"rudeness": ("хам",)}})
