"""The publisher and runner against a real nats-server: delivery, dedup, audio, the CLI."""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from cxpulse import simulate as cli
from cxpulse.config import Config
from simulators.model import build_network
from simulators.publisher import Publisher
from simulators.runner import RunOptions, run
from simulators.traffic import generate, make_plan, questionnaire
from stream.events import validate_event
from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats
from stream.subjects import Subjects
from tests.support.checks import accepted, present
from tests.support.sim_network import CONFIG

INPUT = stream_names("cx")["input"]


async def _publisher(cfg: Config, url: str) -> tuple[NATS, Publisher]:
    nc = await connect(cfg.nats, url, "test-sim")
    await ensure_streams(nc.jetstream(), cfg)
    return nc, Publisher(nc, Subjects(cfg.nats.prefix))


async def test_events_land_in_the_input_stream_once(cfg: Config, nats_server: EmbeddedNats) -> None:
    nc, pub = await _publisher(cfg, nats_server.url)
    network = build_network(cfg)
    now = int(time.time() * 1000)
    events = generate(make_plan(network, "normal-day", now - 3_600_000, now, 1), network,
                      questionnaire(cfg))
    assert await pub.publish_events(events) == len(events)
    assert (await pub.js.stream_info(INPUT)).state.messages == len(events)
    resent = events[:300]  # a re-sent batch: same Nats-Msg-Id (fewer at a quiet hour)
    await pub.publish_events(resent)
    assert pub.stats.duplicates == len(resent) > 0 and pub.stats.errors == 0
    assert (await pub.js.stream_info(INPUT)).state.messages == len(events)
    sub = await _all_input(pub.js, "check")
    for msg in await sub.fetch(20, timeout=2):
        kind, location = _kind_loc(msg.subject)
        event, _ = accepted(kind, location, msg.data, now)
        assert present(msg.headers)["Nats-Msg-Id"] == f"{location}:{event.id}"  # per location
    await nc.close()


async def test_demo_backfills_then_streams_events_and_audio(
    cfg: Config, nats_server: EmbeddedNats
) -> None:
    nc, pub = await _publisher(cfg, nats_server.url)
    frames: collections.defaultdict[str, list[tuple[int, int, int, int]]] = (
        collections.defaultdict(list))

    async def on_audio(msg: Msg) -> None:
        headers = present(msg.headers)
        frames[msg.subject].append((int(headers["Cx-Seq"]), int(headers["Cx-Ts"]),
                                    int(headers["Cx-Rate"]), len(msg.data)))

    await nc.subscribe(Subjects().audio_wildcard, cb=on_audio)
    started = time.time() * 1000
    code = await run(cfg, pub, RunOptions("demo", duration_s=2.5, seed=4, mic_locations=1))
    assert code == 0
    info = await pub.js.stream_info(INPUT)
    assert info.state.messages > 300  # two hours of back-fill at once (fewer at night)
    sub = await _all_input(pub.js, "ts")
    msgs = await sub.fetch(200, timeout=2)
    oldest = min(accepted(*_kind_loc(m.subject), m.data, int(started) + 5000)[1] for m in msgs)
    assert started - oldest > 3_000_000  # back-filled event time, about 2 h ago
    await nc.flush()
    assert frames, "the mics streamed"
    for seq_ts in frames.values():
        seqs = [f[0] for f in seq_ts]
        assert seqs == list(range(1, len(seqs) + 1))
        rate = seq_ts[0][2]
        assert all(f[3] == 2 * rate // 10 for f in seq_ts)  # 100 ms of PCM16
        assert abs(seq_ts[0][1] - started) < 2000
    await nc.close()


async def _all_input(js: JetStreamContext, durable: str) -> JetStreamContext.PullSubscription:
    """A pull consumer over the whole input stream (every feed's subjects)."""
    config = ConsumerConfig(ack_policy=AckPolicy.NONE)  # every stored input (partitioned subjects)
    return await js.pull_subscribe("", durable, stream=INPUT, config=config)


def _kind_loc(subject: str) -> tuple[str, str]:
    kind, location, _ = present(Subjects().input_of(subject))
    return kind, location


def test_cli_replays_hours_in_the_past_ending_now(
    tmp_path: Path, nats_server: EmbeddedNats
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    before = int(time.time() * 1000)
    argv = ["--config", str(path), "--scenario", "normal-day", "--speed", "21600",
            "--duration", "1", "--seed", "3", "--nats-url", nats_server.url, "--locations", "2"]
    assert cli.main(argv) == 0
    after = int(time.time() * 1000)

    async def inspect() -> tuple[list[int], set[str]]:
        nc = await connect(cli.load_config(path).nats, nats_server.url, "inspect")
        js = nc.jetstream()
        count = (await js.stream_info(INPUT)).state.messages
        sub = await _all_input(js, "all")
        stamps: list[int] = []
        locations: set[str] = set()
        while len(stamps) < count:
            for m in await sub.fetch(1000, timeout=2):
                kind, loc = _kind_loc(m.subject)
                result = validate_event(kind, loc, m.data, after)
                assert isinstance(result, tuple), result
                stamps.append(result[1])
                locations.add(loc)
        await nc.close()
        return stamps, locations

    stamps, locations = asyncio.run(inspect())
    assert len(stamps) > 800  # six hours of five locations (fewer at night)
    assert max(stamps) <= after and min(stamps) < before - 5 * 3_600_000
    assert {"sim-001", "sim-002", "msk-a"} <= locations


async def test_load_prints_its_rate(
    cfg: Config, nats_server: EmbeddedNats, capsys: pytest.CaptureFixture[str]
) -> None:
    nc, pub = await _publisher(cfg, nats_server.url)
    assert await run(cfg, pub, RunOptions("load", seed=1, load_events=5000)) == 0
    assert pub.stats.acked == 5000
    assert "events/s" in capsys.readouterr().out
    assert (await pub.js.stream_info(INPUT)).state.messages == 5000
    await nc.close()


async def test_outage_mic_has_seq_gaps_then_silence(cfg: Config, nats_server: EmbeddedNats) -> None:
    nc, pub = await _publisher(cfg, nats_server.url)
    frames: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)

    async def on_audio(msg: Msg) -> None:
        frames[msg.subject].append((int(present(msg.headers)["Cx-Seq"]), time.monotonic()))

    await nc.subscribe(Subjects().audio_wildcard, cb=on_audio)
    assert await run(cfg, pub, RunOptions("outage", duration_s=5.0, seed=2, mic_locations=2)) == 0
    ended = time.monotonic()
    await nc.flush()
    target = [s for s in frames if s.startswith("cx.audio.msk-a.")]
    healthy = [s for s in frames if not s.startswith("cx.audio.msk-a.")]
    assert target and healthy
    for subject in target:
        seqs = [seq for seq, _ in frames[subject]]
        assert any(b - a > 1 for a, b in itertools.pairwise(seqs))  # dropouts
        assert ended - frames[subject][-1][1] > 0.5  # then nothing (silent from ~4 s of 5)
    for subject in healthy:
        seqs = [seq for seq, _ in frames[subject]]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 40
    await nc.close()
