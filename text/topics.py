"""Topics of a comment from the configured word lists, negation-aware.

A topic is hit when one of its entries (either language) matches a lemma, phrase or
prefix of the comment. A single word under a negator («не», «ни», "not", "never",
"n't") is ignored when it is evaluative — in Russian a verb, adjective, adverb,
participle or predicative (pymorphy3's POS), in English any word, since simplemma
gives no POS: «не грубили» is no staff complaint, «не было очереди» is still about the
wait. Phrases are never negated (they may start with «не» themselves: «не подошёл»).
"""

from __future__ import annotations

from collections.abc import Sequence

from text.config import TopicConfig
from text.lemmas import EVALUATIVE_POS, Token
from text.matcher import PhraseMatcher, negated


class TopicMatcher:
    """Compiled topic word lists. Built once from the config; ``topics`` is pure."""

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        self._order = {t.id: n for n, t in enumerate(topics)}
        self._matcher = PhraseMatcher(
            (t.id, word) for t in topics for word in (*t.words_ru, *t.words_en)
        )

    def topics(self, toks: Sequence[Token]) -> tuple[str, ...]:
        """Ids of the topics hit in ``toks``, in config order."""
        found: set[str] = set()
        for hit in self._matcher.find(toks):
            if hit.label in found:
                continue
            if hit.length == 1 and _suppressed(toks, hit.start):
                continue
            found.add(hit.label)
        return tuple(sorted(found, key=self._order.__getitem__))


def _suppressed(toks: Sequence[Token], i: int) -> bool:
    tok = toks[i]
    evaluative = tok.pos in EVALUATIVE_POS or not tok.pos
    return evaluative and negated(toks, i)
