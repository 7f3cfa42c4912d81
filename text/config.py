"""Configuration of comment tagging: ``[comments]`` and ``[[comments.topics]]``.

Frozen msgspec structs that reject unknown keys; ``__post_init__`` checks values and
raises ``ValueError`` naming the key (``comments.topics[wait].words_ru``), which the
app's config loader reports as is. ``CommentsConfig()`` is the default set of domain.md.
"""

from __future__ import annotations

import re

import msgspec

from text import defaults

_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_WORD_CHARS = 80
_MAX_WORDS = 2000


def _check_words(key: str, words: tuple[str, ...]) -> None:
    if len(words) > _MAX_WORDS:
        raise ValueError(f"{key}: at most {_MAX_WORDS} entries, got {len(words)}")
    for word in words:
        stripped = word.strip()
        if not stripped or stripped == "*":
            raise ValueError(f"{key}: empty entry")
        if len(word) > _MAX_WORD_CHARS:
            raise ValueError(f"{key}: entry longer than {_MAX_WORD_CHARS} chars: {word[:20]!r}…")
        if "*" in stripped[:-1]:
            raise ValueError(f"{key}: '*' is allowed only at the end of an entry: {word!r}")
        if stripped.endswith("*") and " " in stripped:
            raise ValueError(f"{key}: a prefix entry must be one word: {word!r}")


class TopicConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One topic: an id (``[a-z][a-z0-9_]*``), display names and ru/en word lists.

    Entries are words, phrases (words in order) or prefixes (``хам*``), matched on
    lemmas; a topic matches a comment when any entry of the comment's language does
    (the other language's list is tried too, for mixed texts).
    """

    id: str
    name_ru: str
    name_en: str
    words_ru: tuple[str, ...] = ()
    words_en: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        key = f"comments.topics[{self.id}]"
        if not _ID_RE.fullmatch(self.id):
            raise ValueError(f"{key}.id: must match [a-z][a-z0-9_]{{0,31}}")
        if not self.name_ru.strip():
            raise ValueError(f"{key}.name_ru: must not be empty")
        if not self.name_en.strip():
            raise ValueError(f"{key}.name_en: must not be empty")
        if not self.words_ru and not self.words_en:
            raise ValueError(f"{key}.words_ru: a topic needs words_ru or words_en")
        _check_words(f"{key}.words_ru", self.words_ru)
        _check_words(f"{key}.words_en", self.words_en)


def default_topics() -> tuple[TopicConfig, ...]:
    """The default topic set of domain.md."""
    return tuple(
        TopicConfig(id=i, name_ru=ru, name_en=en, words_ru=w_ru, words_en=w_en)
        for i, ru, en, w_ru, w_en in defaults.TOPICS
    )


class CommentsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``[comments]``: topics, urgency words and the sentiment blend.

    ``text_weight`` is the share of the text in the blended sentiment when a rating came
    with the comment and the text has sentiment words (docs/comments.md has the
    formula); ``default_language`` is used for texts with no letters.
    """

    topics: tuple[TopicConfig, ...] = msgspec.field(default_factory=default_topics)
    urgent_words_ru: tuple[str, ...] = defaults.URGENT_RU
    urgent_words_en: tuple[str, ...] = defaults.URGENT_EN
    text_weight: float = 0.6
    default_language: str = "ru"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for topic in self.topics:
            if topic.id in seen:
                raise ValueError(f"comments.topics[{topic.id}].id: duplicate topic id")
            seen.add(topic.id)
        _check_words("comments.urgent_words_ru", self.urgent_words_ru)
        _check_words("comments.urgent_words_en", self.urgent_words_en)
        if not 0.0 <= self.text_weight <= 1.0:
            raise ValueError("comments.text_weight: must be in [0, 1]")
        if self.default_language not in ("ru", "en"):
            raise ValueError("comments.default_language: must be 'ru' or 'en'")
