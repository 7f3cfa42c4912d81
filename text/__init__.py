"""Pure text layer: masking of personal data, lemmas, topics, sentiment and urgency.

Imports nothing from the project's other packages (same layer as ``dsp``).

    from text import CommentsConfig, Tagger, mask
    tagger = Tagger(CommentsConfig())          # once; compiles the word lists
    safe = mask("Позвоните +7 916 123-45-67, Ольга")   # 'Позвоните [телефон], [имя]'
    tags = tagger.tag(safe, rating=3, scale_kind="nps")
"""

from __future__ import annotations

from text.config import CommentsConfig, TopicConfig, default_topics
from text.lemmas import detect_language, lemma
from text.mask import PLACEHOLDERS, Span, find_pii, mask
from text.sentiment import ScaleKind, normalise_rating
from text.tagger import Tagger, Tags

__all__ = [
    "PLACEHOLDERS",
    "CommentsConfig",
    "ScaleKind",
    "Span",
    "Tagger",
    "Tags",
    "TopicConfig",
    "default_topics",
    "detect_language",
    "find_pii",
    "lemma",
    "mask",
    "normalise_rating",
]
