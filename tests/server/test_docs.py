"""docs/protocol.md and docs/server.md: every example is checked against the code."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import msgspec

from server.config import ServerConfig
from server.protocol import decode_op
from server.survey import SurveyAnswers
from stream.events import validate_event
from stream.push import DisplayData
from stream.readmodel import Metrics
from tests.support.network import button, token
from tests.support.paths import ROOT
from tests.support.stack import Stack

FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)
SERVER_TYPES = {"hello", "subscribed", "unsubscribed", "pong", "error", "snapshot", "update",
                "heartbeat"}


def blocks(name: str, lang: str) -> list[str]:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    return [body for kind, body in FENCE.findall(text) if kind == lang]


def _ts_ms(ts: object) -> int:
    return ts if isinstance(ts, int) else int(dt.datetime.fromisoformat(str(ts)).timestamp() * 1000)


def check(example: dict) -> str:
    """Validate one JSON example of protocol.md with the code that handles it."""
    if "op" in example:
        decode_op(json.dumps(example))
        return "op"
    if example.get("type") in SERVER_TYPES:
        if example["type"] in ("snapshot", "update") and example["topic"].startswith("display:"):
            msgspec.convert(example["data"], DisplayData)
        return "server"
    if {"id", "ts", "location"} <= set(example):
        kind = ("incident" if "incident" in example else
                "feedback" if "type" in example else "flow")
        result = validate_event(kind, example["location"], json.dumps(example).encode(),
                                _ts_ms(example["ts"]))
        assert isinstance(result, tuple), result
        return kind
    if "window" in example and "buttons" in example:
        msgspec.convert(example, Metrics)
        return "metrics"
    if "ratings" in example:
        msgspec.convert(example, DisplayData)
        return "display"
    if "nps" in example:
        msgspec.convert(example, SurveyAnswers)
        return "survey"
    assert set(example) == {"status", "error", "message", "field"}
    return "error"


def test_every_protocol_example_is_valid() -> None:
    kinds = [check(json.loads(body)) for body in blocks("protocol.md", "json")]
    assert {"op", "server", "feedback", "flow", "incident", "metrics", "display", "survey",
            "error"} <= set(kinds)


def test_server_md_lists_every_server_config_key() -> None:
    text = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    missing = [f for f in ServerConfig.__struct_fields__ if f"`{f}" not in text]
    assert missing == []


async def test_the_python_client_in_server_md_follows_a_topic(live: Stack) -> None:
    (code,) = blocks("server.md", "python")[1:]  # the first block is the embedding snippet
    namespace: dict = {}
    exec(compile(code, "docs/server.md", "exec"), namespace)
    task = namespace["follow"](f"ws://127.0.0.1:{live.port}", token("display_a"),
                               "display:msk-a", 2)
    runner = asyncio.create_task(task)
    await asyncio.sleep(0.3)
    await live.publish(button("msk-a", 3))
    frames = await asyncio.wait_for(runner, 10)
    assert [f["type"] for f in frames] == ["snapshot", "update"]
    assert frames[1]["data"]["ratings"] == 1
