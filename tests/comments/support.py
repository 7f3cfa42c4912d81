"""Helpers of the comments tests: commented survey answers and one tagging configuration
with an extra topic (the "new topic" a re-tag must apply to the past)."""

from __future__ import annotations

import json

from stream.events import InputEvent, Rejection, validate_event
from text.config import CommentsConfig, TopicConfig, default_topics

PARKING = TopicConfig(id="parking", name_ru="Парковка", name_en="Parking",
                      words_ru=("парковка", "припарковаться"), words_en=("parking",))
WITH_PARKING = CommentsConfig(topics=(*default_topics(), PARKING))

# (NPS, comment) of a shift: waits and rudeness, praise, parking, one urgent, one with PII
SHIFT = (
    (2, "Очень долго ждал в очереди, касса одна"),
    (3, "Кассир нахамил, грубость страшная"),
    (1, "Стоял в очереди 40 минут и продавец грубил"),
    (10, "Спасибо, всё отлично, рекомендую!"),
    (9, "Быстро обслужили, спасибо"),
    (4, "Негде припарковаться, парковка забита"),
    (0, "Мне стало плохо в зале, вызывали скорую, никто не помог"),
    (5, "Перезвоните мне +7 916 123-45-67, долго ждала ответа"),
    (7, "Нормально, но цены высокие"),
    (8, None),
)


def answers(location: str, start_ms: int, step_ms: int = 60_000, *, prefix: str = "c",
            rows: tuple[tuple[int, str | None], ...] = SHIFT) -> list[dict]:
    """NPS answers with their comments, one a ``step_ms``, each its own session; every
    third comment sits on a CSAT answer of the same session (as terminals send them)."""
    out: list[dict] = []
    for i, (nps, text) in enumerate(rows):
        ts = start_ms + i * step_ms
        session = f"{prefix}-s{i}"
        on_csat = text is not None and i % 3 == 2
        base = {"location": location, "ts": ts, "session": session}
        nps_ev = {**base, "id": f"{prefix}{i}n", "type": "nps", "value": nps}
        if text is not None and not on_csat:
            nps_ev["comment"] = text
        out.append(nps_ev)
        if on_csat:
            out.append({**base, "id": f"{prefix}{i}c", "type": "csat", "value": 2,
                        "ts": ts + 1000, "comment": text})
    return out


def validated(events: list[dict], now_ms: int) -> list[tuple[InputEvent, int]]:
    out = []
    for body in events:
        result = validate_event("feedback", body["location"], json.dumps(body).encode(),
                                now_ms)
        assert not isinstance(result, Rejection), result
        out.append(result)
    return out
