"""The websocket contract (``stream.push``) is what the server sends, byte for byte.

The alert service's views travel in the ``alerts`` topic as the contract's ``Alert`` and
``Silence``: these must keep every field of the views, in their order, so the wire stays
what it was (and a field added to a view fails here until the contract has it too).
"""

from __future__ import annotations

import msgspec

from alerting.model import Ack, AlertView, SilenceView
from alerting.schema import Playbook, PlaybookText
from server.alerts import alerts_data
from server.fanout import TopicFrame
from server.protocol import error
from stream import push
from stream.readmodel import IncidentView, Metrics


def alert_view(**extra: object) -> AlertView:
    fields = dict(
        id="fp1-1772614805000", fingerprint="fp1", rule="red-button", status="firing",
        severity="critical", scope="location:msk-a", labels={"location": "msk-a"},
        metric="buttons.shares.1", window="1h", op=">", threshold=0.3, recovery=0.25,
        value=0.41, sample=40, min_sample=20, active_ms=1772614805000,
        starts_ms=1772614865000, ends_ms=None, updated_ms=1772614925000, end_reason="",
        suppressed_by=("silence:s1",), acknowledged=Ack("wall", 1772614930000, "Иванова"),
        playbook=Playbook(ru=PlaybookText("Красная кнопка", ("Выслушать",), ("Извиниться",))))
    fields.update(extra)
    return AlertView(**fields)  # type: ignore[arg-type]


def silence_view() -> SilenceView:
    return SilenceView(id="s1", matchers=("location=msk-a",), starts_ms=1, ends_ms=2,
                       created_by="admin", created_ms=1, comment="ремонт", state="active")


def test_alert_and_silence_keep_every_field_of_the_service_views_in_order() -> None:
    assert push.Alert.__struct_fields__ == AlertView.__struct_fields__
    assert push.Silence.__struct_fields__ == SilenceView.__struct_fields__


def test_the_alerts_payload_is_byte_for_byte_the_views() -> None:
    views, silences = [alert_view(), alert_view(id="x", playbook=Playbook(),
                                                 acknowledged=None)], [silence_view()]
    before = msgspec.json.encode({"alerts": views, "silences": silences})
    data = alerts_data(views, silences)
    assert msgspec.json.encode(data) == before
    decoded = push.payload("alerts", before)
    assert decoded == data and isinstance(decoded, push.AlertsData)
    assert decoded.alerts[0].playbook["ru"].event == "Красная кнопка"  # type: ignore[union-attr]


def test_control_messages_are_the_documented_json() -> None:
    hello = push.Hello(server="cxpulse", protocol=1, client=17, role="supervisor",
                       heartbeat_s=15.0, max_updates_per_s=4.0)
    assert push.encode(hello) == ('{"type":"hello","server":"cxpulse","protocol":1,"client":17,'
                                  '"role":"supervisor","heartbeat_s":15.0,'
                                  '"max_updates_per_s":4.0}')
    assert push.encode(push.Subscribed(id=1, topics=["metrics:msk"])) == (
        '{"type":"subscribed","id":1,"topics":["metrics:msk"]}')
    assert push.encode(push.Unsubscribed(topics=[])) == '{"type":"unsubscribed","topics":[]}'
    assert push.encode(push.Pong(id="a", ts_ms=5)) == '{"type":"pong","id":"a","ts_ms":5}'
    assert push.encode(push.Heartbeat(ts_ms=5)) == '{"type":"heartbeat","ts_ms":5}'
    assert error("forbidden", "no", op_id=1, topic="alerts") == (
        '{"type":"error","code":"forbidden","message":"no","id":1,"topic":"alerts"}')
    assert push.subscribe(["metrics:msk"]) == '{"op":"subscribe","topics":["metrics:msk"]}'


def test_a_topic_frame_reads_back_as_its_payload() -> None:
    metrics = push.MetricsData("msk", {"today": Metrics("msk", "today", 1, 2, nps=12.5)})
    incident = IncidentView("msk-a", "inc-77", "claim", "open", 1, None, None, 2, 3, False,
                            False, severity="high", channel="phone")
    cases: list[tuple[str, object]] = [
        ("metrics:msk", metrics),
        ("display:msk-a", push.DisplayData("msk-a", "Тверская", 0, 3, 3, [0.0, 0.5, 0.5],
                                           [0, 1, 1], 75.0)),
        ("incidents:msk", push.IncidentsData("msk", 1, 0, [incident])),
        ("voice:msk-a", push.VoiceData("msk-a", 2, [push.VoiceItem(2, 9, {"mic": "desk"})])),
    ]
    for topic, data in cases:
        frame = TopicFrame(topic, 41, 1772614805120, msgspec.json.encode(data))
        for kind in ("snapshot", "update"):
            env = push.envelope(frame.text(kind))
            assert (env.type, env.topic, env.seq, env.ts_ms) == (kind, topic, 41, 1772614805120)
            assert push.payload(topic, env.data) == data
