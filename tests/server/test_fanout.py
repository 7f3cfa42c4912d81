"""Rate gate, mailbox and frames: coalescing and slow-client rules without any I/O."""

from __future__ import annotations

import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from server.fanout import Mailbox, RateGate, TopicFrame, ws_text_frame


def frame(topic: str, seq: int, value: int = 0) -> TopicFrame:
    return TopicFrame(topic, seq, 1000 + seq, json.dumps({"v": value}).encode())


def test_frame_renders_once_per_kind() -> None:
    f = frame("metrics:x", 3, 7)
    text = f.text("update")
    assert json.loads(text) == {"type": "update", "topic": "metrics:x", "seq": 3, "ts_ms": 1003,
                                "data": {"v": 7}}
    assert f.text("update") is text
    assert json.loads(f.text("snapshot"))["type"] == "snapshot"


def test_gate_leading_edge_then_at_most_n_per_second() -> None:
    gate = RateGate(4.0)
    gate.mark("a")
    assert gate.due(10.0) == ["a"]  # first change after a quiet spell goes at once
    for t in (10.01, 10.05, 10.1):
        gate.mark("a")
        assert gate.due(t) == []  # coalesced
    assert gate.next_due(10.1) == 10.25
    assert gate.due(10.25) == ["a"]
    assert gate.due(10.6) == []  # clean: nothing to send
    assert gate.next_due(10.6) is None


def test_gate_emissions_bounded_under_constant_change() -> None:
    gate = RateGate(4.0)
    sent = 0
    t = 0.0
    while t < 10.0:  # a change every 10 ms for 10 s
        gate.mark("x")
        sent += len(gate.due(t))
        t += 0.01
    assert 38 <= sent <= 41


def test_gate_topics_are_independent_and_forgettable() -> None:
    gate = RateGate(2.0)
    gate.mark("a")
    gate.mark("b")
    assert gate.due(0.0) == ["a", "b"]
    gate.mark("a")
    gate.forget("a")
    assert not gate.is_dirty("a") and gate.next_due(0.1) is None
    gate.mark("a")
    assert gate.due(0.1) == ["a"]  # forgotten: no interval left to wait


def test_mailbox_keeps_only_latest_state_per_topic() -> None:
    box = Mailbox(limit=8)
    box.offer(frame("t1", 1), "snapshot")
    box.offer(frame("t2", 1))
    box.offer(frame("t1", 2))
    box.offer(frame("t1", 3))
    box.control('{"type":"pong"}')
    out = [json.loads(t) for t in box.take()]
    assert [m["type"] for m in out] == ["pong", "snapshot", "update"]
    assert (out[1]["topic"], out[1]["seq"]) == ("t1", 3)  # unsent snapshot stays a snapshot
    assert box.replaced == 2 and len(box) == 0


def test_mailbox_discard_and_overflow() -> None:
    box = Mailbox(limit=2)
    box.offer(frame("t", 1))
    box.discard("t")
    assert box.take() == []
    for _ in range(3):
        box.control("{}")
    assert box.overflow and box.stuck(0.0, 30.0)


def test_stuck_only_while_a_send_hangs() -> None:
    box = Mailbox(limit=4)
    assert not box.stuck(100.0, 5.0)
    box.begin_send(100.0)
    assert not box.stuck(104.0, 5.0)
    assert box.stuck(105.5, 5.0)
    box.end_send()
    assert not box.stuck(200.0, 5.0)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_ws_text_frame_is_what_a_websocket_client_parses(size: int) -> None:
    payload = ("ж" * size).encode()[:size]
    payload = payload[: len(payload.decode(errors="ignore").encode())]  # whole characters
    client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    client.receive_data(ws_text_frame(payload) + ws_text_frame(b'{"a":1}'))
    events = client.events_received()
    frames = [f for f in events if isinstance(f, Frame)]
    assert len(frames) == len(events)
    assert [(f.opcode, f.fin, f.data) for f in frames] == [
        (Opcode.TEXT, True, payload), (Opcode.TEXT, True, b'{"a":1}')]


def test_mailbox_take_wire_is_one_write_controls_first() -> None:
    box = Mailbox(limit=8)
    box.offer(frame("metrics:a", 1, 1))
    box.control('{"type":"heartbeat"}')
    data, n = box.take_wire()
    assert n == 2
    f = frame("metrics:a", 1, 1)
    assert data == ws_text_frame(b'{"type":"heartbeat"}') + f.wire("update")
    assert f.wire("update") == ws_text_frame(f.text("update").encode())
    assert box.take_wire() == (b"", 0)
