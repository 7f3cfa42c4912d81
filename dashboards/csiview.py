"""The CSI report of domain.md (pure): factor -> question -> index and answer count.

Factors are listed by index, best first, as in the seed reports; each factor's questions
likewise. A question is flagged «слабое место» only when it is below its factor (or, for a
factor of one question, below the whole scope) beyond doubt: the upper end of its 95 %
Wilson interval (``stream.confidence``) lies under the reference. 0.832 against 0.837 is
noise and is not flagged, however many questions there are; a clear gap is, whatever its
rank. Questions with fewer than ``min_sample`` answers are never flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stream.confidence import wilson
from stream.readmodel import CsiQuestionResult, CsiResult


@dataclass(frozen=True)
class QuestionRow:
    question: str
    text: str
    index: float | None
    answers: int
    few: bool
    weakest: bool
    interval: tuple[float, float] | None = None  # 95 % (Wilson), None without answers
    reference: float | None = None  # what it was compared with


@dataclass(frozen=True)
class FactorRow:
    factor: str
    index: float | None
    answers: int
    few: bool
    questions: list[QuestionRow]


def reference_of(csi: CsiResult, factor: str) -> float | None:
    """What a question of ``factor`` is compared with: its factor's index when the factor
    has other questions with answers, else the scope's total."""
    siblings = [q for q in csi.questions if q.factor == factor and q.index is not None]
    factor_index = csi.factors.get(factor)
    return factor_index if len(siblings) > 1 and factor_index is not None else csi.total


def question_row(q: CsiQuestionResult, text: str, reference: float | None,
                 min_sample: int) -> QuestionRow:
    few = q.answers < min_sample
    interval = wilson(q.index, q.answers) if q.index is not None and q.answers else None
    weak = (not few and interval is not None and reference is not None
            and interval[1] < reference)
    return QuestionRow(q.question, text, q.index, q.answers, few, weak, interval, reference)


def csi_report(csi: CsiResult, texts: Mapping[tuple[str, str], str],
               min_sample: int) -> list[FactorRow]:
    """Factors with their questions; ``texts`` maps (factor, question id) to its wording."""
    factors: list[FactorRow] = []
    for factor, index in csi.factors.items():
        ref = reference_of(csi, factor)
        qs = [question_row(q, texts.get((factor, q.question), q.question), ref, min_sample)
              for q in csi.questions if q.factor == factor]
        qs.sort(key=lambda r: (-(r.index if r.index is not None else -1.0), r.question))
        answers = csi.factor_answers.get(factor, sum(q.answers for q in qs))
        factors.append(FactorRow(factor, index, answers, answers < min_sample, qs))
    factors.sort(key=lambda f: (-(f.index if f.index is not None else -1.0), f.factor))
    return factors
