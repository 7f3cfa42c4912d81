"""Feedback devices of one location: presence sensor, loyalty buttons, survey terminal, QR form.

A survey session is one customer's answers (NPS, often CSAT/CES, 1-2 CSI questions picked
at random from the questionnaire), all sharing ``session``; they follow a visit, so the
response rate (sessions / visits) is the location's own. Each answer derives from one
latent satisfaction per customer, so NPS, CSAT and CSI move together as real ones do;
CSI answers sit on their factor's and question's own level (``simulators.csi``). About a
quarter to a third of sessions carry a comment, detractors' far more often
(``simulators.comments``), on the NPS answer or now and then on the CSAT one.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Literal, TypedDict

from simulators.comments import comment_chance, write_comment
from simulators.csi import CsiProfile, answer
from simulators.model import Emission, Ids, SimLocation
from simulators.profiles import on_scale, satisfaction, zone
from simulators.scenarios import NORMAL, Conditions
from stream.config import CsiQuestion
from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    CsiEvent,
    FeedbackEvent,
    NpsEvent,
    VisitEvent,
    ts_to_ms,
)

# SERVQUAL questionnaire used when the config defines none.
DEFAULT_QUESTIONS: tuple[CsiQuestion, ...] = (
    CsiQuestion(id="clean", factor="tangibles"),
    CsiQuestion(id="promise", factor="reliability"),
    CsiQuestion(id="speed", factor="responsiveness"),
    CsiQuestion(id="competence", factor="assurance"),
    CsiQuestion(id="attention", factor="empathy"),
)


SurveyChannel = Literal["terminal", "qr", "web", "sms"]
COMMENT_ON_CSAT = 0.2  # share of comments written under the CSAT answer instead of the NPS one


class _SessionFields(TypedDict):
    """Fields every answer of one survey session shares."""

    location: str
    session: str
    staff: str
    touchpoint: str
    channel: SurveyChannel
    device: str | None


@dataclass(frozen=True)
class Questionnaire:
    """CSI questions to pick from and how many at most per survey session."""

    questions: tuple[CsiQuestion, ...] = DEFAULT_QUESTIONS
    per_survey: int = 2


class FeedbackGen:
    """Seeded generator of one location's feedback events; time is always passed in."""

    def __init__(self, loc: SimLocation, rng: random.Random, ids: Ids, quiz: Questionnaire,
                 csi: CsiProfile | None = None) -> None:
        self.loc = loc
        self.rng = rng
        self.ids = ids
        self.quiz = quiz
        self.csi = csi or CsiProfile(loc.id, 0)

    def _emit(self, event: FeedbackEvent) -> Emission:
        return Emission(ts_to_ms(event.ts), "feedback", self.loc.id, event)

    def staff_member(self) -> tuple[str, float]:
        """Who served the customer, and that person's quality offset."""
        i = self.rng.randrange(len(self.loc.staff))
        return self.loc.staff[i], self.loc.staff_skill[i]

    def visit(self, ts_ms: int, staff: str) -> Emission:
        """One served visitor, counted by the presence sensor at the entrance."""
        return self._emit(VisitEvent(
            id=self.ids.next("v"), ts=ts_ms, location=self.loc.id,
            device=f"{self.loc.id}-sensor1", staff=staff, touchpoint="entrance",
        ))

    def press(self, ts_ms: int, quality: float, device: str, touchpoint: str,
              value: int | None = None, served: tuple[str, float] | None = None) -> Emission:
        """A loyalty-button press; ``value`` forces a button (red-press bursts); ``served``
        is (staff, satisfaction) of a customer whose visit is already known (a desk's)."""
        scale = self.loc.button_scale
        staff, skill = served if served is not None else self.staff_member()
        if value is None:
            u = skill if served is not None else satisfaction(self.rng, quality + skill)
            value = on_scale(self.rng, u, 1, scale, 0.3)
        return self._emit(ButtonEvent(
            id=self.ids.next("b"), ts=ts_ms, location=self.loc.id, value=value, scale=scale,
            device=device, touchpoint=touchpoint,
            staff=staff if served or self.rng.random() < 0.8 else None,
        ))

    def session(self, ts_ms: int, quality: float, staff: str, skill: float,
                channel: SurveyChannel, cond: Conditions = NORMAL,
                u: float | None = None) -> list[Emission]:
        """One survey session, answers a few seconds apart; ``u`` is the customer's latent
        satisfaction when already known (a desk customer), else drawn from ``quality``."""
        rng, loc = self.rng, self.loc
        if u is None:
            u = satisfaction(rng, quality + skill)
        session = self.ids.next("s")
        touchpoint = rng.choice(("consultation", "cashdesk", "pickup"))
        device = loc.terminal if channel == "terminal" else None
        tz = zone(loc.timezone) if channel == "terminal" else dt.UTC
        common: _SessionFields = {"location": loc.id, "session": session, "staff": staff,
                                  "touchpoint": touchpoint, "channel": channel, "device": device}
        t = ts_ms
        nps = on_scale(rng, u, 0, 10, 0.8)
        text = None
        if rng.random() < comment_chance(nps / 10):
            text = write_comment(rng, loc.language, nps / 10, cond.complaint_bias)
        on_csat = text is not None and rng.random() < COMMENT_ON_CSAT
        events: list[FeedbackEvent] = [NpsEvent(id=self.ids.next("n"), ts=at_time(t, tz), value=nps,
                                                comment=None if on_csat else text, **common)]
        if rng.random() < (0.6 if channel == "terminal" else 0.4):
            t += rng.randint(3000, 15000)
            events.append(CsatEvent(id=self.ids.next("c"), ts=at_time(t, tz),
                                    value=on_scale(rng, u, 1, 5),
                                    comment=text if on_csat else None, **common))
        if rng.random() < 0.5:
            t += rng.randint(3000, 15000)
            events.append(CesEvent(id=self.ids.next("e"), ts=at_time(t, tz),
                                   value=on_scale(rng, u, 1, 7, 0.6), **common))
        deltas = dict(cond.factor_delta)
        for q in self._pick_questions():
            t += rng.randint(3000, 15000)
            level = self.csi.level(q.factor, q.id, t) + deltas.get(q.factor, 0.0)
            events.append(CsiEvent(
                id=self.ids.next("q"), ts=at_time(t, tz), factor=q.factor, question=q.id,
                value=answer(rng, level, u - loc.quality, q.scale), scale=q.scale, **common,
            ))
        return [self._emit(e) for e in events]

    def _pick_questions(self) -> list[CsiQuestion]:
        qs, most = self.quiz.questions, min(self.quiz.per_survey, len(self.quiz.questions))
        if most <= 0:
            return []
        return self.rng.sample(qs, self.rng.randint(1, min(most, 2)))


def at_time(ts_ms: int, tz: dt.tzinfo) -> dt.datetime:
    """RFC 3339 event time as terminals send it (whole milliseconds, their own offset)."""
    return dt.datetime.fromtimestamp(ts_ms // 1000, tz).replace(microsecond=(ts_ms % 1000) * 1000)
