"""The CSI report of domain.md (pure): factor -> question -> index and answer count.

Factors are listed by index, best first, as in the seed reports; each factor's questions
likewise. The weakest questions of the whole questionnaire (the lowest indices among those
with at least ``min_sample`` answers) are flagged so the wall can highlight them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stream.readmodel import CsiResult


@dataclass(frozen=True)
class QuestionRow:
    question: str
    text: str
    index: float | None
    answers: int
    few: bool
    weakest: bool


@dataclass(frozen=True)
class FactorRow:
    factor: str
    index: float | None
    answers: int
    few: bool
    questions: list[QuestionRow]


def weakest_count(reliable: int) -> int:
    """How many questions to flag: one of up to three, two of more."""
    if reliable == 0:
        return 0
    return 1 if reliable <= 3 else 2


def csi_report(csi: CsiResult, texts: Mapping[tuple[str, str], str],
               min_sample: int) -> list[FactorRow]:
    """Factors with their questions; ``texts`` maps (factor, question id) to its wording."""
    reliable = sorted((q for q in csi.questions if q.index is not None and q.answers >= min_sample),
                      key=lambda q: (q.index, q.factor, q.question))
    weak = {(q.factor, q.question) for q in reliable[:weakest_count(len(reliable))]}
    factors: list[FactorRow] = []
    for factor, index in csi.factors.items():
        qs = [QuestionRow(q.question, texts.get((factor, q.question), q.question), q.index,
                          q.answers, q.answers < min_sample, (factor, q.question) in weak)
              for q in csi.questions if q.factor == factor]
        qs.sort(key=lambda r: (-(r.index if r.index is not None else -1.0), r.question))
        answers = csi.factor_answers.get(factor, sum(q.answers for q in qs))
        factors.append(FactorRow(factor, index, answers, answers < min_sample, qs))
    factors.sort(key=lambda f: (-(f.index if f.index is not None else -1.0), f.factor))
    return factors
