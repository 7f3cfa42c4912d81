"""Emotion baselines survive a voice-worker restart (JetStream KV), and only changed ones
are written."""

from __future__ import annotations

from pathlib import Path

from dsp.emotion import Baseline
from stream.nats_server import EmbeddedNats
from tests.support.voice import close_stack, voice_config, voice_stack
from voice.baselines import BaselineStore


async def test_store_round_trip_writes_only_what_learnt(nats: EmbeddedNats, tmp_path: Path) -> None:
    from stream.nats_io import connect

    cfg = voice_config(str(tmp_path), prefix="bl")
    nc = await connect(cfg.nats, nats.url, "test-baselines")
    first = BaselineStore(nc.jetstream(), "bl")
    await first.open()
    learnt = Baseline(utterances=7)
    learnt.location["level"] += 4.5
    assert (
        await first.save_changed({("loc-a", "desk-1"): learnt, ("loc-a", "desk-2"): Baseline()})
        == 2
    )
    assert await first.save_changed({("loc-a", "desk-1"): learnt}) == 0  # nothing new learnt
    learnt.utterances += 1
    assert await first.save_changed({("loc-a", "desk-1"): learnt}) == 1

    second = BaselineStore(nc.jetstream(), "bl")
    await second.open()
    loaded = await second.load_all()
    assert loaded[("loc-a", "desk-1")].snapshot() == learnt.snapshot()
    assert loaded[("loc-a", "desk-2")].utterances == 0
    assert await second.save_changed(loaded) == 0  # as loaded: nothing to write
    await nc.close()


async def test_a_restarted_worker_resumes_each_mics_baseline(
    nats: EmbeddedNats, tmp_path: Path
) -> None:
    cfg = voice_config(str(tmp_path), prefix="blw")
    s = await voice_stack(nats.url, cfg, asr=False)
    mic = s.worker._mic("msk-a", "desk-9")  # the mic as created by its first audio
    mic.pipeline.baseline.utterances = 40
    mic.pipeline.baseline.location["pitch"] = 3.25
    await close_stack(s)  # stop saves what was learnt

    s = await voice_stack(nats.url, cfg, asr=False)
    resumed = s.worker._mic("msk-a", "desk-9").pipeline.baseline
    assert (resumed.utterances, resumed.location["pitch"]) == (40, 3.25)
    assert s.worker._mic("msk-a", "desk-8").pipeline.baseline.utterances == 0  # a new mic
    await close_stack(s)
