"""Voice end to end through a real NATS with the real core: live audio frames in; voice
events, incidents, encounters, metrics and dead letters out; ASR on a queue group."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from simulators.audio import Clip
from stream.nats_io import ORIGINAL_SUBJECT_HEADER as ORIG
from stream.nats_io import PAYLOAD_BYTES_HEADER, REASON_CODE_HEADER, REASON_HEADER
from stream.nats_server import EmbeddedNats
from tests.support.voice import (
    FAST,
    clip_frames,
    close_stack,
    frames_of,
    play,
    voice_config,
    voice_stack,
)
from voice.asr_worker import AsrWorker

pytestmark = pytest.mark.asyncio(loop_scope="module")


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_agitated_complaint_is_reported_calm_greeting_is_not(
    stack: SimpleNamespace, clips: dict[str, Clip]
) -> None:
    t0 = now_ms()
    angry = clip_frames(clips, ["en_complaint_2.wav"], t0)
    calm = clip_frames(clips, ["ru_greeting_1.wav"], t0, seed=1)
    await asyncio.gather(play(stack.client, "cx.audio.en1.desk1", angry, paced=True),
                         play(stack.client, "cx.audio.ru1.desk1", calm, paced=True))
    out = stack.out
    await out.wait(lambda: out.on("cx.voice.en1.desk1") and out.on("cx.voice.ru1.desk1"))
    [complaint], [greeting] = out.on("cx.voice.en1.desk1"), out.on("cx.voice.ru1.desk1")

    assert complaint["asr"] == "ok" and complaint["language"] == "en"
    assert complaint["emotion"]["anger"] >= 0.7 and "money" in complaint["transcript"].lower()
    assert {k["category"] for k in complaint["keywords"]} == {"escalation"}
    assert all(complaint["start"] <= k["t"] <= complaint["end"] for k in complaint["keywords"])
    assert complaint["id"] == f"v-en1-desk1-{complaint['start']}"
    assert greeting["asr"] == "ok" and greeting["emotion"]["anger"] < 0.7
    assert {k["category"] for k in greeting["keywords"]} == {"greeting"}

    arrived = {s: t for t, s, _ in out.items}
    for subject, ev in (("cx.voice.en1.desk1", complaint), ("cx.voice.ru1.desk1", greeting)):
        speech_end_ms = ev["end"] - stack.cfg.voice.pad_ms
        print(
            f"\n{subject}: end of speech -> voice event "
            f"{arrived[subject] * 1000 - speech_end_ms:.0f} ms "
            f"({(ev['end'] - ev['start']) / 1000:.1f} s utterance, asr {ev['asr']})"
        )

    # a rating at ru1 closes the greeting's encounter
    button = {
        "id": "b-1",
        "ts": now_ms(),
        "location": "ru1",
        "type": "button",
        "value": 5,
        "scale": 5,
    }
    await stack.core.publish_input("feedback", "ru1", json.dumps(button).encode())
    await out.wait(lambda: out.on("cx.encounter.ru1.desk1"))
    [enc] = out.on("cx.encounter.ru1.desk1")
    assert (enc["greeting"], enc["thanks"], enc["farewell"], enc["closed_by"], enc["rating"]) == \
        (True, False, False, "feedback", 1.0)

    core = stack.core
    await asyncio.sleep(0.3)
    assert await core.wait_idle()
    # the sensor reports the episode on the utterance; the case rules (cases/) open the case
    assert complaint["escalation"]["category"] == "claim"
    assert "escalation" in complaint["escalation"]["reason"] and greeting["escalation"] is None
    assert core.incidents("en1") == [] and core.incidents("ru1") == []
    en, ru = core.metrics("en1", "1h"), core.metrics("ru1", "1h")
    assert (
        en.voice.utterances == 1
        and en.voice.anger_events == 1
        and en.voice.keywords["escalation"] == 1
    )
    assert en.incidents.opened == 0 and ru.incidents.opened == 0
    assert ru.voice.anger_events == 0 and ru.voice.keywords["greeting"] == 1
    assert ru.voice.encounters == 1 and ru.voice.compliance["greeting"] == 1.0
    assert ru.voice.rating_with_greeting == 1.0 and ru.voice.rating_without_greeting is None
    assert not (Path(stack.cfg.core.data_dir) / "audio").exists()  # store_audio = false


async def test_silence_and_noise_produce_no_utterance(stack: SimpleNamespace) -> None:
    n = 16000 * 8
    rng = np.random.default_rng(5)
    t = np.arange(n) / 16000
    signals = {
        "quiet": np.zeros(n, np.float32),
        "hiss": (rng.standard_normal(n) * 900).astype(np.float32),
        "hum": (1500 * np.sin(2 * np.pi * 50 * t) + 600 * np.sin(2 * np.pi * 150 * t)).astype(
            np.float32
        ),
    }
    before = stack.worker.counts["chunks"]
    t0 = now_ms() - 10_000
    sent = 0
    for mic, x in signals.items():
        frames = frames_of(x, t0, noise_rms=0.0 if mic == "quiet" else 50.0)
        sent += len(frames)
        await play(stack.client, f"cx.audio.ru1.{mic}", frames)
    await stack.out.wait(lambda: stack.worker.counts["chunks"] - before == sent, 10)
    await asyncio.sleep(FAST.idle_flush_s + 3 * FAST.tick_s)  # idle mics are flushed
    assert not [s for _, s, _ in stack.out.items if s.split(".")[-1] in signals]
    assert all(stack.worker.mics[("ru1", m)].utterances == 0 for m in signals)


BAD = [
    ("cx.audio.ru1.bad", bytes(3201), {"Cx-Seq": "1", "Cx-Ts": "{ts}"}, "odd_length"),
    ("cx.audio.ru1.bad", bytes(3200), {"Cx-Ts": "{ts}"}, "missing_header"),
    ("cx.audio.ru1.bad", bytes(3200), None, "missing_header"),
    ("cx.audio.ru1.bad", bytes(3200), {"Cx-Seq": "2", "Cx-Ts": "yesterday"}, "bad_header"),
    ("cx.audio.ru1.bad", bytes(3200), {"Cx-Seq": "x1", "Cx-Ts": "{ts}"}, "bad_header"),
    (
        "cx.audio.ru1.bad",
        bytes(3200),
        {"Cx-Seq": "3", "Cx-Ts": "{ts}", "Cx-Rate": "44100"},
        "bad_rate",
    ),
    ("cx.audio.ru1.bad", bytes(64000), {"Cx-Seq": "4", "Cx-Ts": "{ts}"}, "too_long"),
    ("cx.audio.RU1.bad", bytes(3200), {"Cx-Seq": "5", "Cx-Ts": "{ts}"}, "bad_subject"),
]


async def test_bad_audio_goes_to_the_dlq_with_its_reason(stack: SimpleNamespace) -> None:
    sub = await stack.js.subscribe("cx.dlq.audio", ordered_consumer=True)
    ts = str(now_ms())
    for subject, payload, headers, _ in BAD:
        hdrs = {k: v.replace("{ts}", ts) for k, v in headers.items()} if headers else None
        await stack.client.publish(subject, payload, headers=hdrs)
    got = [await sub.next_msg(timeout=5) for _ in BAD]
    await sub.unsubscribe()
    assert [m.headers[REASON_CODE_HEADER] for m in got] == [code for *_, code in BAD]
    for m, (subject, payload, _, _) in zip(got, BAD, strict=True):
        assert m.headers[ORIG] == subject and m.headers[REASON_HEADER]
        # metadata only: the audio itself is never stored (store_audio is off)
        assert m.data == b"" and m.headers[PAYLOAD_BYTES_HEADER] == str(len(payload))
    assert "even byte count" in got[0].headers[REASON_HEADER]
    assert sum(stack.worker.rejected.values()) == len(BAD)


async def test_a_second_asr_worker_in_the_queue_group_shares_the_load(
    stack: SimpleNamespace, clips: dict[str, Clip], nats: EmbeddedNats
) -> None:
    second = AsrWorker(stack.cfg, stack.asr_nc, name="asr-2")
    await second.start()
    try:
        before = dict(stack.worker.asr.workers)
        t0 = now_ms() - 20_000
        plays = {"ru1.s1": ["ru_greeting_2.wav", "ru_question_1.wav", "ru_farewell_1.wav"],
                 "ru1.s2": ["ru_thanks_1.wav", "ru_neutral_1.wav", "ru_question_2.wav"],
                 "en1.s3": ["en_greeting_2.wav", "en_question_1.wav", "en_farewell_1.wav"],
                 "en1.s4": ["en_thanks_1.wav", "en_neutral_1.wav", "en_complaint_1.wav"]}
        rates = [16000, 8000, 16000, 32000]
        for i, (mic, names) in enumerate(plays.items()):
            frames = clip_frames(clips, names, t0, rate_hz=rates[i], seed=10 + i)
            await play(stack.client, f"cx.audio.{mic}", frames)
        subjects = [f"cx.voice.{m}" for m in plays]
        out = stack.out
        await out.wait(lambda: sum(len(out.on(s)) for s in subjects) == 12, 60)
        events = [e for s in subjects for e in out.on(s)]
        assert {e["asr"] for e in events} == {"ok"}
        served = {w: n - before.get(w, 0) for w, n in stack.worker.asr.workers.items()}
        assert served.get("asr-1", 0) > 0 and served.get("asr-2", 0) > 0, served
        assert sum(served.values()) == 12
        farewells = [
            k
            for e in out.on("cx.voice.en1.s3")
            for k in e["keywords"]
            if k["category"] == "farewell"
        ]
        assert farewells
    finally:
        await second.stop()


async def test_without_asr_workers_utterances_still_arrive(
    nats: EmbeddedNats, clips: dict[str, Clip], tmp_path: Path
) -> None:
    """No ASR worker; also: mic heartbeats, a dropout, audio stored only because config says so."""
    s = await voice_stack(
        nats.url, voice_config(str(tmp_path), prefix="solo", store_audio=True), asr=False
    )
    await s.client.subscribe("solo.mic.>", cb=s.out.on_msg)
    try:
        frames = clip_frames(clips, ["en_shouting_1.wav"], now_ms() - 10_000, rate_hz=48000)
        del frames[5:8]  # a dropout before the speech: Cx-Seq 6-8 never arrive
        await play(s.client, "solo.audio.en1.desk1", frames)
        await s.out.wait(lambda: s.out.on("solo.voice.en1.desk1"), 10)
        [ev] = s.out.on("solo.voice.en1.desk1")
        assert ev["asr"] == "no_worker" and ev["transcript"] is None and ev["keywords"] == []
        assert ev["emotion"]["anger"] >= 0.7
        health = s.worker.health()
        assert health["asr"]["outcomes"] == {"no_worker": 1}
        assert health["audio"]["gaps"] == 1 and health["audio"]["lost"] == 3
        beats = s.out.on("solo.mic.en1.desk1")  # the first chunk's, then one per 15 s of audio
        assert beats and beats[0] == {"location": "en1", "mic": "desk1", "ts": frames[0].ts_ms}
        [wav] = (tmp_path / "audio" / "en1" / "desk1").glob("*.wav")
        assert wav.name == f"{ev['id']}.wav" and wav.stat().st_size > 16000 * 2
    finally:
        await close_stack(s)


async def test_when_asr_falls_behind_utterances_skip_it_and_say_why(
    nats: EmbeddedNats, stack: SimpleNamespace, clips: dict[str, Clip], tmp_path: Path
) -> None:
    cfg = voice_config(str(tmp_path), prefix="burst", max_asr_backlog_s=4)
    s = await voice_stack(nats.url, cfg, asr=stack.asr, options=replace(FAST, asr_max_inflight=1))
    try:
        t0 = now_ms() - 10_000
        names = [
            "ru_greeting_1.wav",
            "ru_thanks_1.wav",
            "ru_farewell_1.wav",
            "ru_question_2.wav",
            "ru_neutral_1.wav",
        ]
        for i, name in enumerate(names):
            await play(s.client, f"burst.audio.ru1.m{i}", clip_frames(clips, [name], t0, seed=i))
        out = s.out
        await out.wait(lambda: len([x for x in out.items if ".voice." in x[1]]) == len(names), 60)
        events = [(t, d) for t, subj, d in out.items if ".voice." in subj]
        skipped = [t for t, d in events if d["asr"] == "backlog"]
        done = [t for t, d in events if d["asr"] == "ok"]
        assert skipped and done and len(skipped) + len(done) == len(names)
        assert max(skipped) < max(done)  # the skipped ones did not wait for recognition
        assert s.worker.health()["asr"]["outcomes"]["backlog"] == len(skipped)
    finally:
        await close_stack(s)

