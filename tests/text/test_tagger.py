
"""Topics, sentiment and urgency: rules one by one, then the labelled sets' targets."""

from __future__ import annotations

import math

import pytest

from tests.support.paths import DATA
from text import CommentsConfig, Tagger, TopicConfig, normalise_rating
from text.evaluate import TagReport, evaluate_tags, load_comments


@pytest.mark.parametrize("text", [
    "Очереди огромные", "стояли с очередью", "постояли в очереди", "queues everywhere",
])
def test_word_forms_hit_the_same_topic(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text).topics == ("wait",)


def test_negated_evaluation_is_no_complaint(tagger: Tagger) -> None:
    assert "staff" not in tagger.tag("не грубили, всё ок").topics
    assert "staff" in tagger.tag("грубили, всё плохо").topics
    assert "staff" in tagger.tag("Продавцы не грубили").topics  # the noun is about staff
    assert tagger.tag("не было очереди").topics == ("wait",)  # nouns are not negated
    assert tagger.tag("they were not rude").topics == ()
    assert tagger.tag("the cashier was not rude").topics == ("staff",)  # the noun counts


def test_phrases_and_prefixes() -> None:
    topic = TopicConfig(id="parking", name_ru="Парковка", name_en="Parking",
                        words_ru=("негде встать", "парков*"), words_en=("parking lot",))
    tagger = Tagger(CommentsConfig(topics=(topic,)))
    assert tagger.tag("Негде встать на машине").topics == ("parking",)
    assert tagger.tag("встать негде").topics == ()
    assert tagger.tag("парковочных мест мало").topics == ("parking",)
    assert tagger.tag("the parking lot is full").topics == ("parking",)
    assert tagger.tag("the lot is full").topics == ()


def test_topics_come_in_config_order(tagger: Tagger) -> None:
    assert tagger.tag("Спасибо, но очередь и цены ужас").topics == ("wait", "price", "praise")


def test_placeholders_are_not_words(tagger: Tagger) -> None:
    assert tagger.tag("[телефон] [имя] [адрес] [карта]").topics == ()


@pytest.mark.parametrize(("value", "kind", "scale", "expected"), [
    (0, "nps", None, -1.0), (10, "nps", None, 1.0), (5, "nps", None, 0.0),
    (1, "csat", None, -1.0), (4, "csat", None, 0.5), (7, "ces", None, 1.0),
    (1, "button", 3, -1.0), (2, "button", 3, 0.0), (4, "csi", 4, 1.0), (0.3, "unit", None, 0.3),
    (12, "nps", None, 1.0),
])
def test_rating_normalisation(value: float, kind: str, scale: int | None,
                              expected: float) -> None:
    assert math.isclose(normalise_rating(value, kind, scale), expected)  # type: ignore[arg-type]


def test_sentiment_lexicon_negation_and_blend(tagger: Tagger) -> None:
    assert tagger.tag("Всё отлично").sentiment > 0.5
    assert tagger.tag("Ужасно").sentiment < -0.5
    assert tagger.tag("не грубили").sentiment > 0
    assert tagger.tag("очень долго").sentiment < tagger.tag("долго").sentiment < 0
    assert tagger.tag("без проблем").sentiment > 0
    # no sentiment words: the rating alone; no rating: the text alone
    assert tagger.tag("Когда откроетесь?", 0, "nps").sentiment == -1.0
    text_only = tagger.tag("Ужасно").sentiment
    blended = tagger.tag("Ужасно", 10, "nps").sentiment
    assert math.isclose(blended, round(0.6 * text_only + 0.4, 3), abs_tol=2e-3)
    weighted = Tagger(CommentsConfig(text_weight=0.0)).tag("Ужасно", 10, "nps")
    assert weighted.sentiment == 1.0
    assert -1.0 <= tagger.tag("ужасно ужасно ужасно хамство", 0).sentiment <= 1.0


@pytest.mark.parametrize(("text", "urgent"), [
    ("Подам в суд", True), ("Отравилась вашей едой", True),
    ("Жалоба в Роспотребнадзор", True), ("мошенники!", True), ("мне стало плохо", True),
    ("He threatened me", True), ("I will sue", True), ("there was smoke in the hall", True),
    ("Очередь огромная", False), ("Цены упали", False), ("thanks, all good", False),
])
def test_urgency(tagger: Tagger, text: str, urgent: bool) -> None:
    assert tagger.tag(text).urgent is urgent


def test_language_and_mask_and_tag(tagger: Tagger) -> None:
    masked, tags = tagger.mask_and_tag("Кассир Ольга хамит, тел. +7 916 123-45-67", 2)
    assert masked == "Кассир [имя] хамит, тел. [телефон]"
    assert tags.topics == ("staff",) and tags.language == "ru" and tags.sentiment < 0
    assert tagger.tag("The line was slow").language == "en"


@pytest.fixture(scope="module")
def reports(tagger: Tagger) -> dict[str, TagReport]:
    return {
        name: evaluate_tags(load_comments(DATA / f"comments_{name}.tsv"), tagger)
        for name in ("dev", "heldout", "heldout2")
    }


def test_labelled_set_size() -> None:
    examples = [
        ex for name in ("dev", "heldout", "heldout2")
        for ex in load_comments(DATA / f"comments_{name}.tsv")
    ]
    assert len(examples) >= 300
    english = [ex for ex in examples if ex.text.isascii()]
    assert 0.15 <= len(english) / len(examples) <= 0.3
    assert sum(ex.urgent for ex in examples) >= 40


def test_targets_on_the_dev_set(reports: dict[str, TagReport]) -> None:
    dev = reports["dev"]
    assert dev.micro.f1 >= 0.85, dev.errors
    assert dev.urgent.recall >= 0.95 and dev.urgent.precision >= 0.8, dev.errors


def test_held_out_sets_stay_close(reports: dict[str, TagReport]) -> None:
    """Held-out parts were written after tuning and measured blind (docs/comments.md has
    the figures; heldout2 misses the 0.85 target). These floors only guard regressions."""
    for name in ("heldout", "heldout2"):
        report = reports[name]
        assert report.micro.f1 >= 0.75, report.errors
        assert report.urgent.recall >= 0.8 and report.urgent.precision >= 0.8, report.errors


def test_sentiment_sign_agrees_with_labels(reports: dict[str, TagReport]) -> None:
    for report in reports.values():
        assert report.polarity_ok >= 0.95 * report.polarity_n
