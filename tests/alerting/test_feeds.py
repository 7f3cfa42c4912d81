"""The voice and device feeds: what a rule set needs, what one utterance counts towards, and
the NATS feed itself (``CX_VOICE`` read back over the lookback, ``cx.mic`` heartbeats)."""

from __future__ import annotations

import asyncio
import time

import msgspec

from alerting.feeds import FeedNeeds
from alerting.service import AlertService
from alerting.sources import voice_metrics
from cxpulse.config import load_config_text
from stream.events import MicHeartbeat, VoiceEmotion, VoiceEvent, VoiceKeyword, encode
from stream.nats_io import connect, ensure_streams
from stream.nats_server import EmbeddedNats
from tests.alerting.fakes import FakeReader

CFG = load_config_text("""
[[locations]]
id = "loc-a"
region = "r1"
[alerts]
eval_interval_s = 3600
[[alerts.rules]]
id = "anger"
metric = "voice.anger_events"
window = "15m"
op = ">="
threshold = 2
[[alerts.rules]]
id = "escalations"
metric = "voice.keywords.escalation"
window = "1h"
op = ">="
threshold = 1
[[alerts.rules]]
id = "mic-silent"
metric = "device.silent_minutes"
op = ">="
threshold = 30
""")


def utterance(end_ms: int, anger: float, *categories: str, location: str = "loc-a") -> VoiceEvent:
    return VoiceEvent(id=f"v-{location}-desk1-{end_ms}", ts=end_ms, location=location,
                      mic="desk1", start=end_ms - 2000, end=end_ms,
                      emotion=VoiceEmotion(0.5, anger), loudness_db=-20.0,
                      keywords=[VoiceKeyword(c, "w", end_ms - 1000) for c in categories])  # type: ignore[arg-type]


def test_needs_and_voice_metrics() -> None:
    needs = FeedNeeds.of(CFG.alerts.rules)
    assert needs == FeedNeeds(frozenset({"anger_events", "keywords.escalation"}), 3600.0, True)
    assert FeedNeeds.of(()) == FeedNeeds()
    event = utterance(1_000, 0.7, "escalation", "escalation", "thanks")
    assert voice_metrics(event, 0.7) == ["utterances", "anger_events", "keywords.escalation",
                                         "keywords.escalation", "keywords.thanks"]
    assert voice_metrics(utterance(1_000, 0.69), 0.7) == ["utterances"]


async def test_the_feed_counts_recent_voice_events_and_heartbeats(
    nats_server: EmbeddedNats,
) -> None:
    nc = await connect(CFG.nats, nats_server.url, "test-feeds")
    js = nc.jetstream()
    await ensure_streams(js, CFG)
    now = int(time.time() * 1000)
    before = [utterance(now - 60_000, 0.9, "escalation"), utterance(now - 30_000, 0.95),
              utterance(now - 20_000, 0.9, location="loc-b")]
    for ev in before:  # published before the alert service starts: read back from the stream
        await js.publish(f"cx.voice.{ev.location}.desk1", encode(ev),
                         headers={"Nats-Msg-Id": ev.id})
    await js.publish("cx.voice.loc-a.desk1", b"{not json")
    service = AlertService(CFG, nc, FakeReader({"loc-a": "r1"}))
    await service.start()
    try:
        beat = MicHeartbeat(location="loc-a", mic="desk7", ts=now - 5_000)
        await nc.publish("cx.mic.loc-a.desk7", msgspec.json.encode(beat))
        future = MicHeartbeat(location="loc-a", mic="desk8", ts=now + 3_600_000)
        await nc.publish("cx.mic.loc-a.desk8", msgspec.json.encode(future))
        feed = service._voice_feed
        assert feed is not None
        deadline = time.monotonic() + 5
        while feed.counts["voice_events"] < 3 or feed.counts["heartbeats_invalid"] < 1:
            assert time.monotonic() < deadline, feed.counts
            await asyncio.sleep(0.05)
        assert feed.counts == {"voice_events": 3, "voice_invalid": 1, "heartbeats": 1,
                               "heartbeats_invalid": 1}
        await service.evaluate()
        firing = {(a.rule, a.scope, a.value) for a in service.list_alerts(status="firing")}
        assert firing == {("anger", "loc-a", 2.0), ("escalations", "loc-a", 1.0)}
        assert ("loc-a", "desk7") in service.devices._seen
        assert ("loc-a", "desk8") not in service.devices._seen  # from the future: ignored
    finally:
        await service.stop()
        await nc.close()
