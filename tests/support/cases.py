"""Helpers of the case tests: the small network with the case service, and what the
electronic mystery shopper publishes (utterances, encounters) as the voice worker would."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Any

import msgspec

from tests.support.network import config_text, now_ms, serving
from tests.support.stack import Stack, until


def cases_stack(tmp_path: Path, text: str | None = None,
                **parts: Any) -> contextlib.AbstractAsyncContextManager[Stack]:
    """Core, case service and server of the small network (``tests.support.network``)."""
    return serving(tmp_path, text if text is not None else config_text(), cases=True, **parts)


def nps(location: str, value: int, comment: str | None = None, session: str | None = None,
        **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"id": f"n-{uuid.uuid4().hex}", "ts": now_ms() - 500,
                          "location": location, "type": "nps", "value": value, **extra}
    if comment is not None:
        ev["comment"] = comment
    if session is not None:
        ev["session"] = session
    return ev


def utterance(location: str, mic: str, start_ms: int, text: str, anger: float,
              words: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"id": f"v-{location}-{mic}-{start_ms}", "ts": start_ms + 2000, "location": location,
            "mic": mic, "start": start_ms, "end": start_ms + 2000,
            "emotion": {"arousal": anger, "anger": anger}, "loudness_db": -18.0,
            "keywords": [{"category": "escalation", "word": w, "t": start_ms + 500}
                         for w in words], "transcript": text, "language": "ru", "asr": "ok"}


def encounter(location: str, mic: str, start_ms: int, end_ms: int, closed_ms: int, *,
              greeting: bool = False, anger_max: float = 0.0,
              closed_by: str = "feedback") -> dict[str, Any]:
    return {"id": f"e-{location}-{mic}-{start_ms}", "ts": closed_ms, "location": location,
            "mic": mic, "start": start_ms, "end": end_ms, "utterances": 2, "greeting": greeting,
            "thanks": False, "farewell": False, "anger_max": anger_max, "closed_by": closed_by,
            "rating": 0.3}


async def publish_voice(stack: Stack, *events: dict[str, Any]) -> None:
    """Utterances and encounters to the voice stream, as the voice worker sends them."""
    core = stack._core()
    js = (await stack.nats("voice")).jetstream()
    for ev in events:
        kind = "encounter" if "utterances" in ev else "voice"
        subject = (core.subjects.encounter if kind == "encounter" else core.subjects.voice)(
            ev["location"], ev["mic"])
        await js.publish(subject, msgspec.json.encode(ev),
                              headers={"Nats-Msg-Id": f"{ev['location']}:{ev['id']}"})


async def publish_feedback(stack: Stack, *events: dict[str, Any], msg_id: str = "") -> None:
    """Feedback straight to JetStream (``msg_id`` overrides the header: a re-send after
    the duplicate window)."""
    core = stack._core()
    js = (await stack.nats("device")).jetstream()
    for ev in events:
        await js.publish(core.subjects.feedback(ev["location"]), msgspec.json.encode(ev),
                              headers={"Nats-Msg-Id": msg_id or f"{ev['location']}:{ev['id']}"})


async def cases_of(stack: Stack, who: str = "admin", **params: str) -> list[dict[str, Any]]:
    async with stack.http(who) as client:
        r = await client.get("/api/incidents", params=params)
        r.raise_for_status()
        found: list[dict[str, Any]] = r.json()
        return found


async def wait_case(stack: Stack, check: Any, timeout_s: float = 5.0,
                    **params: str) -> list[dict[str, Any]]:
    """``/api/incidents`` once ``check(items)`` holds."""
    seen: list[dict[str, Any]] = []

    async def ok() -> bool:
        seen[:] = await cases_of(stack, **params)
        return bool(check(seen))

    await until(ok, timeout_s, "the case", detail=lambda: seen)
    return seen
