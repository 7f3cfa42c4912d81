"""Issue 14 #4 and #5 at the core's input: a location id is never a roll-up's name, and
ids are scoped per location (the core's index and JetStream's ``Nats-Msg-Id`` window)."""

from __future__ import annotations

import json
import time

import msgspec

from cxpulse.config import load_config_text
from stream.core import Core
from stream.engine import MetricsEngine
from stream.events import validate_event
from stream.nats_io import stream_names
from stream.nats_server import EmbeddedNats
from stream.state import FORMAT, SnapshotMismatch
from stream.subjects import msg_id

CFG = load_config_text("""
[core]
snapshot_interval_s = 3600
[[regions]]
id = "north"
[[locations]]
id = "a"
region = "north"
[[locations]]
id = "b"
region = "north"
""")


def nps(location: str, event_id: str, value: int = 10) -> dict[str, object]:
    return {"id": event_id, "ts": int(time.time() * 1000) - 1000, "location": location,
            "type": "nps", "value": value}


async def dead_letters(core: Core) -> list[tuple[str, str, str]]:
    """(reason code, original subject, payload) of every dead letter."""
    assert core.js is not None
    sub = await core.js.subscribe("cx.dlq.>", ordered_consumer=True)
    out = []
    try:
        while True:
            msg = await sub.next_msg(timeout=0.5)
            h = msg.headers or {}
            out.append((h["Cx-Reason-Code"], h["Cx-Original-Subject"], msg.data.decode()))
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return out


async def test_events_named_like_a_roll_up_go_to_the_dead_letters(
    nats_server: EmbeddedNats,
) -> None:
    core = Core(CFG, nats_server.url)
    await core.start()
    try:
        assert core.js is not None
        await core.js.publish("cx.feedback.a", msgspec.json.encode(nps("a", "real", 10)))
        for scope in ("network", "north"):
            body = nps(scope, f"takeover-{scope}", 0)
            await core.js.publish(f"cx.feedback.{scope}", msgspec.json.encode(body))
        assert await core.wait_idle()
        network = core.metrics("network", "30d")
        region = core.metrics("north", "30d")
        assert (network.nps, network.responses) == (100.0, 1)
        assert (region.nps, region.responses) == (100.0, 1)
        letters = await dead_letters(core)
        assert sorted((code, subject) for code, subject, _ in letters) == [
            ("bad_subject", "cx.feedback.network"), ("bad_subject", "cx.feedback.north")]
        assert core.health()["rejected"] == {"bad_subject": 2}
    finally:
        await core.stop()


def test_the_network_is_never_a_location_at_validation() -> None:
    body = json.dumps(nps("network", "x")).encode()
    result = validate_event("feedback", "network", body, int(time.time() * 1000))
    assert not isinstance(result, tuple) and result.code == "bad_subject"


async def test_the_same_id_at_two_locations_is_two_events(nats_server: EmbeddedNats) -> None:
    """Location B's event with the id of location A's is counted (it used to be suppressed
    silently: by JetStream's window on the bare id, then by the core's id index)."""
    core = Core(CFG, nats_server.url)
    await core.start()
    try:
        for loc in ("a", "b"):
            assert await core.publish_input("feedback", loc,
                                            msgspec.json.encode(nps(loc, "t-1"))) is None
        # a v1 publisher with the bare id as Nats-Msg-Id, beyond JetStream's window: the
        # core's own index still keeps the two locations apart
        assert core.js is not None
        await core.js.publish("cx.feedback.b", msgspec.json.encode(nps("b", "t-2")),
                              headers={"Nats-Msg-Id": "other-t-2"})
        await core.js.publish("cx.feedback.a", msgspec.json.encode(nps("a", "t-2")),
                              headers={"Nats-Msg-Id": "t-2"})
        # and a real duplicate (same location, same id) still counts once
        await core.publish_input("feedback", "a", msgspec.json.encode(nps("a", "t-1")))
        assert await core.wait_idle()
        assert core.metrics("a", "1h").responses == 2
        assert core.metrics("b", "1h").responses == 2
        assert core.metrics("network", "1h").responses == 4
        info = await core.js.stream_info(stream_names("cx")["input"])
        assert info.state.messages == 4  # the repeat was JetStream's duplicate: not stored
    finally:
        await core.stop()


def test_msg_id_is_scoped_by_location() -> None:
    assert msg_id("msk-1", "evt-7") == "msk-1:evt-7"
    assert msg_id("msk-1", "evt-7") != msg_id("spb-1", "evt-7")


def test_a_snapshot_of_ids_without_locations_is_not_restored() -> None:
    """Format 2 keyed the index by the bare id: it cannot be re-keyed, so the core replays."""
    engine = MetricsEngine(CFG)
    old = msgspec.structs.replace(engine.snapshot(), format=2)
    assert FORMAT == 3
    try:
        MetricsEngine.restore(CFG, old)
    except SnapshotMismatch as exc:
        assert "format 2" in str(exc)
    else:
        raise AssertionError("a format-2 snapshot was restored")
