
"""The comment tagger: topics, sentiment, urgency and language of one (masked) text.

Build one ``Tagger`` per config (compiling the word lists takes a few milliseconds plus
the first load of the Russian analyser, ~0.1 s) and call ``tag`` for every comment; it
is pure and thread-compatible (only the word-analysis cache is shared). Tag the masked
text (``text.mask``): the placeholders (``[имя]``, ``[телефон]``…) are skipped, so tags
recomputed later from the archived, masked text are the same as those computed live.
"""

from __future__ import annotations

import re

import msgspec

from text.config import CommentsConfig
from text.lemmas import Language, detect_language, tokens
from text.mask import mask
from text.matcher import PhraseMatcher
from text.sentiment import ScaleKind, blend, normalise_rating, text_score
from text.topics import TopicMatcher

_PLACEHOLDER_RE = re.compile(r"\[[a-zа-яё]+\]")
_MAX_CHARS = 4000


class Tags(msgspec.Struct, frozen=True, kw_only=True):
    """What the tagger says about one comment."""

    topics: tuple[str, ...]
    sentiment: float
    urgent: bool
    language: Language


class Tagger:
    """Topics, sentiment and urgency of comments, compiled from a ``CommentsConfig``."""

    def __init__(self, cfg: CommentsConfig | None = None) -> None:
        self.cfg = cfg or CommentsConfig()
        self._topics = TopicMatcher(self.cfg.topics)
        self._urgent = PhraseMatcher(
            ("urgent", w) for w in (*self.cfg.urgent_words_ru, *self.cfg.urgent_words_en)
        )
        lang = self.cfg.default_language
        self._default_language: Language = "en" if lang == "en" else "ru"

    def tag(
        self,
        text: str,
        rating: float | None = None,
        scale_kind: ScaleKind = "nps",
        scale: int | None = None,
    ) -> Tags:
        """Tags of ``text`` (cut at 4,000 chars), with the rating given on its scale.

        ``rating`` is the answer that came with the comment (``None`` when none did);
        ``scale_kind`` and ``scale`` say how to read it (``text.sentiment``).
        Urgency ignores negation: a missed threat costs more than a false alarm.
        """
        body = _PLACEHOLDER_RE.sub(" ", text[:_MAX_CHARS])
        toks = tokens(body)
        score, items = text_score(body, toks)
        norm = None if rating is None else normalise_rating(rating, scale_kind, scale)
        return Tags(
            topics=self._topics.topics(toks),
            sentiment=blend(score, items, norm, self.cfg.text_weight),
            urgent=bool(self._urgent.find(toks)),
            language=detect_language(body, self._default_language),
        )

    def mask_and_tag(
        self,
        text: str,
        rating: float | None = None,
        scale_kind: ScaleKind = "nps",
        scale: int | None = None,
    ) -> tuple[str, Tags]:
        """``(mask(text), tag(mask(text), ...))``: the order the archive needs."""
        masked = mask(text)
        return masked, self.tag(masked, rating, scale_kind, scale)
