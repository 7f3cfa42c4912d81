"""The HTTP API and the websocket, fuzzed against the running server (real NATS, core, app).

schemathesis reads ``/schema/openapi.json`` and sends generated requests (valid and
invalid) to every operation, with an admin token and without one: no 5xx. The websocket
gets hypothesis-generated client messages on one connection: each gets an answer, the
connection stays open and the server stays healthy.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.network import config_text, serving, token

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")
@pytest.mark.parametrize("who", ["admin", None])
async def test_openapi_operations_never_5xx(tmp_path: Path, who: str | None) -> None:
    # schemathesis sends wrong tokens on purpose: no throttling of this one client here
    async with serving(tmp_path, config_text(auth_failures_per_min=1_000_000)) as live:
        auth = ["-H", f"Authorization: Bearer {token(who)}"] if who else []
        proc = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", f"{live.url}/schema/openapi.json", "--checks",
            "not_a_server_error", "--max-examples", "25", "--seed", "7", "--workers", "1",
            "--phases", "examples,coverage,fuzzing", "--request-timeout", "10", *auth,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
        out, _ = await asyncio.wait_for(proc.communicate(), 240)
        text = out.decode(errors="replace")
        assert proc.returncode == 0, text[-4000:]
        assert "passed" in text.lower()
        async with live.http("admin") as http:
            assert (await http.get("/api/health")).status_code == 200


ops = st.fixed_dictionaries(
    {"op": st.sampled_from(["subscribe", "unsubscribe", "ping", "publish", ""])},
    optional={
        "topics": st.lists(st.sampled_from(["metrics:network", "metrics:msk", "display:msk-a",
                                            "incidents:ekb", "voice:msk-b", "alerts", "alerts:x",
                                            "metrics:", "metrics:NOPE", "voice:msk", "x:y", ""])
                           | st.text(max_size=20), max_size=4) | st.integers() | st.none(),
        "windows": st.lists(st.sampled_from(["1h", "today", "7d", "30d", "1y"]), max_size=3)
        | st.text(max_size=5),
        "id": st.integers() | st.text(max_size=10) | st.none() | st.lists(st.integers()),
        "extra": st.booleans(),
    }).map(json.dumps)
messages = ops | st.text(max_size=60) | st.sampled_from(["", "null", "[]", "{}", "{\"op\":"])


async def test_websocket_client_messages_fuzzed(tmp_path: Path) -> None:
    # hundreds of messages a second on one connection: no flood limit for this test
    async with serving(tmp_path, config_text(ws_max_updates_per_s=50, ws_client_ops_per_s=1e6,
                                             ws_client_ops_burst=1_000_000)) as live:
        ws = await live.ws("sup_msk")
        sent: list[str] = []

        @settings(max_examples=150, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(text=messages)
        def collect(text: str) -> None:
            sent.append(text)

        collect()
        for text in sent:
            await ws.conn.send(text)
            await ws.send(op="ping", id="fence")  # every message before it was handled
            await ws.next(type="pong", id="fence", timeout=5)
        kinds = {m["type"] for m in ws.seen}
        assert "error" in kinds and "subscribed" in kinds
        assert kinds <= {"hello", "error", "subscribed", "unsubscribed", "pong", "snapshot",
                         "update", "heartbeat"}
        async with live.http("admin") as http:
            assert (await http.get("/api/health")).status_code == 200
