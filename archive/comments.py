
"""Free text on its way into the archive: masked, tagged and lemmatised, never stored raw.

``TextHooks`` bundles three injectable callables so the composition layer decides which
masker and tagger run (the ``[comments]`` configuration lives there):

- ``mask(text) -> text`` replaces personal data by placeholders (``text.mask.mask``);
- ``tag(masked, rating, scale_kind, scale) -> Tagging | None`` gives topics, sentiment and
  urgency (``text.tagger.Tagger.tag``), or None to leave those columns empty;
- ``lemmas(masked) -> str`` the space-separated lemmas the comment search matches
  (``text.lemmas``: «очереди» and «очередь» both become «очередь»).

``TextHooks.default()`` uses the text package with its default configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

_PLACEHOLDER = re.compile(r"\[[a-zа-яё]+\]")


class Tagging(Protocol):
    """What a tagger returns (``text.tagger.Tags`` has these)."""

    @property
    def topics(self) -> Sequence[str]: ...
    @property
    def sentiment(self) -> float: ...
    @property
    def urgent(self) -> bool: ...


Masker = Callable[[str], str]
TagFn = Callable[[str, float | None, str, int | None], Tagging | None]
Lemmatizer = Callable[[str], str]


class CommentRow(NamedTuple):
    """The archived form of one comment."""

    masked: str
    lemmas: str
    topics: list[str] | None
    sentiment: float | None
    urgent: bool | None


def lemma_text(text: str) -> str:
    """Lemmas of ``text`` joined by single spaces, padded with a space at both ends so a
    whole-word search is ``LIKE '% lemma %'`` (lower case, ё → е)."""
    from text.lemmas import tokens

    words = [t.lemma for t in tokens(_PLACEHOLDER.sub(" ", text))
             if t.lemma and not t.lemma.isdigit()]
    return f" {' '.join(words)} " if words else ""


def query_lemmas(query: str) -> list[str]:
    """The lemmas a search for ``query`` must all find (same lemmatiser as ``lemma_text``)."""
    return [w for w in lemma_text(query).split() if w]


def _no_tags(text: str, rating: float | None, kind: str, scale: int | None) -> Tagging | None:
    del text, rating, kind, scale
    return None


@dataclass(frozen=True)
class TextHooks:
    mask: Masker
    tag: TagFn = _no_tags
    lemmas: Lemmatizer = lemma_text
    topic_ids: tuple[str, ...] = ()  # the configured topics, in config order

    @classmethod
    def default(cls, comments_config: object | None = None) -> TextHooks:
        """The text package's masker, tagger (``comments_config``: a
        ``text.config.CommentsConfig``, default when None) and lemmatiser."""
        from text.config import CommentsConfig
        from text.mask import mask
        from text.tagger import Tagger

        cfg = comments_config if isinstance(comments_config, CommentsConfig) else None
        tagger = Tagger(cfg)

        def tag(text: str, rating: float | None, kind: str, scale: int | None) -> Tagging:
            return tagger.tag(text, rating, kind, scale)  # type: ignore[arg-type]

        return cls(mask=mask, tag=tag, lemmas=lemma_text,
                   topic_ids=tuple(t.id for t in tagger.cfg.topics))

    def process(self, text: str, rating: float | None, kind: str,
                scale: int | None) -> CommentRow:
        """Mask first; tags and lemmas are computed from the masked text only."""
        masked = self.mask(text)
        tags = self.tag(masked, rating, kind, scale)
        return CommentRow(masked, self.lemmas(masked),
                          list(tags.topics) if tags is not None else None,
                          float(tags.sentiment) if tags is not None else None,
                          bool(tags.urgent) if tags is not None else None)
