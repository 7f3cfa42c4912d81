"""Config structs: defaults, validation naming the key, and the TOML in docs/comments.md."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from text import CommentsConfig, TopicConfig, default_topics

DOCS = Path(__file__).resolve().parents[2] / "docs" / "comments.md"


def test_default_topics_are_the_domain_set() -> None:
    ids = [t.id for t in CommentsConfig().topics]
    assert ids == ["wait", "staff", "price", "product", "cleanliness", "process", "digital",
                   "praise"]
    assert all(t.words_ru and t.words_en for t in default_topics())


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"id": "Wait"}, "comments.topics[Wait].id"),
    ({"name_ru": " "}, "comments.topics[wait].name_ru"),
    ({"words_ru": ("очередь", "")}, "comments.topics[wait].words_ru"),
    ({"words_en": ("qu*eue",)}, "comments.topics[wait].words_en"),
    ({"words_ru": ("долгое ожид*",)}, "comments.topics[wait].words_ru"),
    ({"words_ru": (), "words_en": ()}, "comments.topics[wait].words_ru"),
])
def test_topic_validation_names_the_key(kwargs: dict[str, object], key: str) -> None:
    base: dict[str, object] = {"id": "wait", "name_ru": "Ожидание", "name_en": "Waiting",
                               "words_ru": ("очередь",), "words_en": ("queue",)}
    with pytest.raises(ValueError, match=re.escape(key)):
        TopicConfig(**{**base, **kwargs})  # type: ignore[arg-type]


def test_comments_validation_names_the_key() -> None:
    topic = TopicConfig(id="wait", name_ru="Ожидание", name_en="W", words_ru=("очередь",))
    with pytest.raises(ValueError, match=re.escape("comments.topics[wait].id")):
        CommentsConfig(topics=(topic, topic))
    with pytest.raises(ValueError, match=re.escape("comments.text_weight")):
        CommentsConfig(text_weight=1.5)
    with pytest.raises(ValueError, match=re.escape("comments.urgent_words_en")):
        CommentsConfig(urgent_words_en=("",))


def test_unknown_keys_are_refused_when_decoding() -> None:
    with pytest.raises(msgspec.ValidationError, match="colour"):
        msgspec.convert({"colour": "red"}, CommentsConfig)
    with pytest.raises(msgspec.ValidationError, match=re.escape("comments.topics[x].words_ru")):
        msgspec.convert({"topics": [{"id": "x", "name_ru": "x", "name_en": "x"}]},
                        CommentsConfig)


def test_docs_toml_equals_the_defaults() -> None:
    text = DOCS.read_text("utf-8")
    block = re.search(r"```toml\n(\[comments\].*?)```", text, re.S)
    assert block, "docs/comments.md has no [comments] toml block"
    parsed = tomllib.loads(block.group(1))["comments"]
    assert msgspec.convert(parsed, CommentsConfig) == CommentsConfig()
