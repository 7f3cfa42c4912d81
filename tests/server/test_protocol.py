"""Topic names and client operations of the websocket protocol."""

from __future__ import annotations

import json

import pytest

from server.protocol import OpError, decode_op, error
from stream.push import Topic, TopicError, parse_topic, windows_of


@pytest.mark.parametrize(("text", "topic"), [
    ("metrics:network", Topic("metrics", "network")), ("display:msk-a", Topic("display", "msk-a")),
    ("incidents:msk", Topic("incidents", "msk")), ("voice:ekb_1", Topic("voice", "ekb_1")),
    ("alerts", Topic("alerts")),
])
def test_topics(text: str, topic: Topic) -> None:
    assert parse_topic(text) == topic and topic.name == text


@pytest.mark.parametrize("text", ["metrics", "metrics:", "metrics:UPPER", "alerts:x", "news:x",
                                  "display:a.b", "voice:" + "x" * 65])
def test_bad_topics(text: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(text)


def test_ops_and_windows() -> None:
    op = decode_op('{"op":"subscribe","topics":["metrics:x"],"windows":["today","1h"],"id":7}')
    assert op.op == "subscribe" and op.id == 7
    assert windows_of(op) == ("1h", "today")
    assert windows_of(decode_op('{"op":"subscribe","topics":[]}')) == ("1h", "today", "7d", "30d")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"op":"watch"}', "op"),
        ('{"op":"subscribe","topics":"x"}', "topics"),
        ('{"op":"subscribe","windows":["2h"]}', "windows"),
        ('{"op":"ping","extra":1}', "extra"),
        ('{"topics":[]}', "op"),
        ("not json", None),
    ],
)
def test_bad_ops_name_the_field(text: str, field: str | None) -> None:
    with pytest.raises(OpError) as info:
        decode_op(text)
    assert info.value.field == field


def test_error_message_shape() -> None:
    assert json.loads(error("forbidden", "no", topic="metrics:x", op_id=3)) == {
        "type": "error", "code": "forbidden", "message": "no", "id": 3, "topic": "metrics:x"}


def test_voice_subjects_map_to_topics() -> None:
    from server.voicefeed import voice_event
    from stream.subjects import Subjects

    subjects = Subjects("cx")
    now = 1_780_000_000_000
    event = {"id": "u1", "ts": now, "location": "loc-1", "mic": "mic-2", "start": now - 900,
             "end": now - 100, "emotion": {"arousal": 0.2, "anger": 0.1}, "loudness_db": -20.0}
    found = voice_event(subjects, "cx.voice.loc-1.mic-2", json.dumps(event).encode(), now)
    assert found is not None
    topic, got = found
    assert topic == "voice:loc-1" and {k: got[k] for k in event} == event
    assert voice_event(subjects, "cx.voice.loc-1.mic-2", b'{"start": 1}', now) is None
    assert voice_event(subjects, "cx.voice.loc-1.mic-3", json.dumps(event).encode(), now) is None
    assert voice_event(subjects, "cx.voice.loc-1", b"{}") is None
    assert voice_event(subjects, "cx.voice.loc-1.m", b"[1]") is None
    assert voice_event(subjects, "cx.voice.loc-1.m", b"{oops") is None
    assert voice_event(subjects, "cx.alert.x.y", b"{}") is None
