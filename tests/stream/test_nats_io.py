from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cxpulse.config import Config, ConfigError, load_config_text
from stream.events import Rejection
from stream.nats_io import connect, ensure_streams, publish_dead_letter, stream_names
from stream.nats_server import EmbeddedNats, port_open
from stream.subjects import Subjects
from tests.support.checks import present


async def test_dead_letter_keeps_payload_subject_headers_and_reason(
    nats_server: EmbeddedNats,
) -> None:
    cfg = Config()
    nc = await connect(cfg.nats, nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    await ensure_streams(js, cfg)  # idempotent
    rej = Rejection("not_json", "payload is not valid JSON")
    await publish_dead_letter(js, Subjects(), "feedback", "cx.feedback.a",
                              {"Nats-Msg-Id": "x1", "Foo": "bar"}, b"\xff\x00", rej, "dlq-1")
    await publish_dead_letter(js, Subjects(), "feedback", "cx.feedback.a",
                              {"Nats-Msg-Id": "x1"}, b"\xff\x00", rej, "dlq-1")  # replayed
    info = await js.stream_info(stream_names("cx")["dlq"])
    assert info.state.messages == 1
    sub = await js.pull_subscribe("cx.dlq.>", "t")
    (msg,) = await sub.fetch(1, timeout=2)
    assert msg.data == b"\xff\x00"
    headers = present(msg.headers)
    assert headers["Cx-Original-Subject"] == "cx.feedback.a"
    assert headers["Cx-Reason-Code"] == "not_json"
    assert headers["Cx-Orig-Nats-Msg-Id"] == "x1"
    assert headers["Foo"] == "bar"
    await nc.close()


def test_embedded_server_dies_with_its_parent(tmp_path: Path) -> None:
    """kill -9 of the owning process leaves no orphan nats-server."""
    code = textwrap.dedent(f"""
        import sys, time
        from stream.nats_server import EmbeddedNats
        s = EmbeddedNats({str(tmp_path)!r}).start()
        print(s.port, s.process.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    port, child_pid = (int(x) for x in present(parent.stdout).readline().split())
    assert port_open("127.0.0.1", port)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and port_open("127.0.0.1", port):
        time.sleep(0.05)
    assert not port_open("127.0.0.1", port)
    try:
        os.kill(child_pid, 0)
        alive = os.waitpid(child_pid, os.WNOHANG) == (0, 0)
    except (ProcessLookupError, ChildProcessError):
        alive = False
    assert not alive


async def test_streams_are_bounded_and_keep_the_newest(nats_server: EmbeddedNats) -> None:
    """``[nats] max_bytes_*`` reach the streams; a full stream drops its oldest messages."""
    cfg = load_config_text("[nats]\nmax_bytes_input = 1048576\nmax_bytes_dlq = 2097152\n")
    nc = await connect(cfg.nats, nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    names = stream_names("cx")
    assert (await js.stream_info(names["dlq"])).config.max_bytes == 2 << 20
    body = b"x" * 4000
    for i in range(600):  # ~2.4 MB into a 1 MiB stream
        await js.publish("cx.feedback.a", body, headers={"Nats-Msg-Id": f"a:{i}"})
    info = await js.stream_info(names["input"])
    assert info.config.max_bytes == 1 << 20 and info.state.bytes <= 1 << 20
    assert info.state.last_seq == 600 and info.state.first_seq > 300
    await nc.close()


def test_max_bytes_is_at_least_a_mebibyte_or_unlimited() -> None:
    with pytest.raises(ConfigError, match="max_bytes_input"):
        load_config_text("[nats]\nmax_bytes_input = 1000\n")
    assert load_config_text("[nats]\nmax_bytes_input = -1\n").nats.max_bytes_input == -1
