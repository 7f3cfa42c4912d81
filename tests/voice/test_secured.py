"""The voice path on a secured NATS, as ``cxpulse run`` starts it: a microphone publishes
as a device, the voice worker, the ASR worker, the core and the alert service each as
their own user; every step works and the server logs no permission violation (the stack
checks that when it stops). A device cannot listen to the audio it sends, read the
transcripts or answer recognition requests."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nats.errors import Error as NatsError

from cxpulse.config import load_config_text
from tests.support.stack import running
from tests.support.voice import FAST, clip_frames, play, voice_config

RULES = """
[[alerts.rules]]
id = "anger"
metric = "voice.anger_events"
window = "15m"
op = ">="
threshold = 3
[[alerts.rules]]
id = "mic-silent"
metric = "device.silent_minutes"
op = ">="
threshold = 30
"""


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_a_device_microphone_through_a_secured_stack(tmp_path: Path,
                                                         clips: dict[str, Any]) -> None:
    base = voice_config(str(tmp_path))
    cfg = load_config_text(f'[core]\ndata_dir = "{tmp_path}"\n' + RULES, "test")
    cfg = msgspec.structs.replace(base, alerts=cfg.alerts)  # plus voice and mic rules
    async with running(cfg, tmp_path, alerts=True, voice=FAST) as stack:
        assert stack.logins, "the stack's own server is secured"
        device = await stack.nats("device")
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        device._error_cb = on_error
        frames = clip_frames(clips, ["ru_greeting_1.wav"], now_ms())
        await play(device, "cx.audio.ru1.desk1", frames, paced=True)
        out = stack.voice.out
        await out.wait(lambda: bool(out.on("cx.voice.ru1.desk1")))
        [utterance] = out.on("cx.voice.ru1.desk1")
        assert utterance["asr"] == "ok" and utterance["transcript"]
        # a visit from the same location's terminal closes the encounter (the voice worker
        # reads cx.feedback as its own user)
        visit = {"id": "v-1", "ts": now_ms(), "location": "ru1", "type": "visit"}
        await device.jetstream().publish("cx.feedback.ru1", json.dumps(visit).encode(),
                                         headers={"Nats-Msg-Id": "ru1:v-1"})
        await out.wait(lambda: bool(out.on("cx.encounter.ru1.desk1")))
        assert stack.core is not None
        assert await stack.core.wait_idle()
        assert stack.core.metrics("ru1", "today").voice.encounters == 1
        # bad audio is dead-lettered by the voice worker (metadata only)
        await device.publish("cx.audio.ru1.desk1", bytes(3201),
                             headers={"Cx-Seq": "999", "Cx-Ts": str(now_ms())})
        await asyncio.sleep(0.3)
        assert stack.voice.worker.rejected["odd_length"] == 1

        # what a device may not do with it
        with pytest.raises(NatsError):  # read the transcripts kept in CX_VOICE
            await device.jetstream().subscribe("cx.voice.>", stream="CX_VOICE",
                                               ordered_consumer=True)
        await device.subscribe("cx.audio.>")
        await device.subscribe("cx.asr.transcribe", queue="asr")
        await device.flush()
        await asyncio.sleep(0.2)
        denied = " ".join(errors).lower()
        assert "permissions violation" in denied
        assert "cx.audio.>" in denied and "cx.asr.transcribe" in denied
