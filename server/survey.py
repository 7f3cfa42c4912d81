"""The QR web survey's rules (pure): question choice, answers -> contract events, limits.

- ``pick_questions`` — ``[csi] questions_per_survey`` questions at random (domain.md: few
  questions per customer, picked from a list).
- ``survey_events`` — one NPS answer (the "why" as its comment) and the CSI answers, all
  ``channel: "qr"`` with one ``session``, as contract ``cx.feedback`` JSON.
- ``CooldownCookie`` — one survey per device per N minutes: the cookie holds only the time
  of the last survey and an HMAC over it and the location (the server-side half, keyed on
  the address and User-Agent, is ``server.survey_guard.DeviceCooldown``).
- ``RateLimiter`` — requests per client address per minute (bounded memory).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Annotated

import msgspec

from server.config import ServerSettings
from stream.config import CsiQuestion

COOKIE = "cxq"
_COOKIE_VALUE = re.compile(r"([0-9]{1,12})\.([0-9a-f]{32})")  # what ``issue`` writes


class SurveyAnswers(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the survey page posts."""

    nps: Annotated[int, msgspec.Meta(ge=0, le=10)]
    why: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    csi: dict[str, int] = {}


class SurveyError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def pick_questions(
    questions: Sequence[CsiQuestion], k: int, rng: random.Random
) -> list[CsiQuestion]:
    return rng.sample(list(questions), min(k, len(questions)))


def survey_events(cfg: ServerSettings, location: str, answers: SurveyAnswers, session: str,
                  now_ms: int) -> list[bytes]:
    """The contract events of one submitted survey; raises SurveyError naming the field."""
    by_id = {q.id: q for q in cfg.csi.questions}
    common = {"ts": now_ms, "location": location, "channel": "qr", "session": session}
    nps: dict[str, object] = {"id": f"qr-{session}-nps", "type": "nps", "value": answers.nps,
                              **common}
    why = " ".join(answers.why.split())
    if why:
        nps["comment"] = why
    events = [nps]
    for qid, value in sorted(answers.csi.items()):
        q = by_id.get(qid)
        if q is None:
            raise SurveyError(f"unknown question {qid!r}", f"csi.{qid}")
        if not 1 <= value <= q.scale:
            raise SurveyError(f"answer to {qid!r} must be 1..{q.scale}", f"csi.{qid}")
        events.append({"id": f"qr-{session}-{qid}", "type": "csi", "factor": q.factor,
                       "question": q.id, "value": value, "scale": q.scale, **common})
    return [msgspec.json.encode(e) for e in events]


class CooldownCookie:
    """Signed ``<epoch s>.<mac>`` cookie: when this device last answered at a location."""

    def __init__(self, secret: bytes, cooldown_s: float) -> None:
        self.secret = secret
        self.cooldown_s = cooldown_s

    def _mac(self, location: str, stamp: int) -> str:
        digest = hmac.new(self.secret, f"{location}:{stamp}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def issue(self, location: str, now_s: float) -> str:
        stamp = int(now_s)
        return f"{stamp}.{self._mac(location, stamp)}"

    def wait_s(self, value: str | None, location: str, now_s: float) -> float:
        """Seconds until this device may answer again (0: now). Bad cookies are ignored."""
        if not value or self.cooldown_s <= 0:
            return 0.0
        m = _COOKIE_VALUE.fullmatch(value)  # anything else (5,000 digits, non-ASCII): ignored
        if m is None:
            return 0.0
        stamp = int(m.group(1))
        if not hmac.compare_digest(m.group(2), self._mac(location, stamp)):
            return 0.0
        return max(0.0, stamp + self.cooldown_s - now_s)


class RateLimiter:
    """At most ``per_min`` requests per key in any 60 s; remembers ``max_keys`` keys."""

    def __init__(self, per_min: int, max_keys: int = 10_000) -> None:
        self.per_min = per_min
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now_s: float) -> bool:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now_s - 60.0:
            hits.popleft()
        if len(hits) >= self.per_min:
            return False
        hits.append(now_s)
        return True

    def retry_after_s(self, key: str, now_s: float) -> float:
        hits = self._hits.get(key)
        return max(0.0, hits[0] + 60.0 - now_s) if hits else 0.0
