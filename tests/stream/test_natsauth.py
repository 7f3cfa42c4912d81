"""NATS authorization of the embedded server: each role can do its job and nothing else
(a real nats-server with the generated config; no mocks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from cxpulse.config import load_config_text
from stream.nats_io import ensure_streams, stream_names
from stream.nats_server import EmbeddedNats
from stream.natsauth import inbox_prefix
from stream.natscreds import Login, prepare_auth

CONFIG = """
[[locations]]
id = "msk-1"
[[locations]]
id = "spb-1"
"""


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedNats, dict[str, Login]]]:
    names = stream_names("cx")
    conf, logins = prepare_auth(tmp_path / "auth", "cx", names, ["msk-1", "spb-1"])
    server = EmbeddedNats(tmp_path / "js", auth_conf=conf).start()
    try:
        yield server, logins
    finally:
        server.stop()


async def _connect(server: EmbeddedNats, login: Login) -> tuple[NATS, list[str]]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(server.url, user=login.user, password=login.password,
                            inbox_prefix=inbox_prefix(login.user), error_cb=on_error,
                            allow_reconnect=False)
    return nc, errors


async def _denied(errors: list[str], word: str) -> bool:
    for _ in range(50):
        if any("permissions violation" in e.lower() and word in e for e in errors):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_no_login_no_connection(secured: tuple[EmbeddedNats, dict[str, Login]]) -> None:
    server, _ = secured
    with pytest.raises(NatsError):
        await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=0,
                           connect_timeout=1)


async def test_device_publishes_its_events_and_nothing_else(
        secured: tuple[EmbeddedNats, dict[str, Login]]) -> None:
    server, logins = secured
    cfg = load_config_text(CONFIG)
    core, _ = await _connect(server, logins["core"])
    await ensure_streams(core.jetstream(), cfg)
    device, errors = await _connect(server, logins["device"])
    js = device.jetstream()
    ack = await js.publish("cx.feedback.msk-1", b'{"id":"a","ts":0,"location":"msk-1"}')
    assert ack.stream == "CX_INPUT"

    await device.subscribe("cx.audio.>")
    assert await _denied(errors, "cx.audio.>")
    await device.publish("cx.alerts.control", b"{}")
    assert await _denied(errors, "cx.alerts.control")
    await device.subscribe("cx.asr.transcribe", queue="asr")
    assert await _denied(errors, "cx.asr.transcribe")
    with pytest.raises(NatsError):  # no JetStream API: cannot delete or even list streams
        await device.request("$JS.API.STREAM.DELETE.CX_INPUT", b"", timeout=0.5)
    assert (await core.jetstream().stream_info("CX_INPUT")).config.name == "CX_INPUT"
    await device.close()
    await core.close()


async def test_location_device_is_held_to_its_location(
        secured: tuple[EmbeddedNats, dict[str, Login]]) -> None:
    server, logins = secured
    device, errors = await _connect(server, logins["device-msk-1"])
    await device.publish("cx.feedback.msk-1", b"{}")
    await device.publish("cx.feedback.spb-1", b"{}")
    assert await _denied(errors, "cx.feedback.spb-1")
    assert not any("cx.feedback.msk-1" in e for e in errors)
    await device.close()


async def test_asr_only_answers_requests(secured: tuple[EmbeddedNats, dict[str, Login]]) -> None:
    server, logins = secured
    asr, errors = await _connect(server, logins["asr"])
    voice, _ = await _connect(server, logins["voice"])

    async def answer(msg: Msg) -> None:
        await msg.respond(b"text")

    await asr.subscribe("cx.asr.transcribe", queue="asr", cb=answer)
    await asr.flush()
    reply = await voice.request("cx.asr.transcribe", b"pcm", timeout=2)
    assert reply.data == b"text"
    await asr.publish("cx.incident.msk-1", b"{}")
    assert await _denied(errors, "cx.incident.msk-1")
    await asr.close()
    await voice.close()


async def test_partitioned_core_workers_and_their_reader_run_as_their_users(
        secured: tuple[EmbeddedNats, dict[str, Login]]) -> None:
    """``[scale] workers = 2``: each ``cxpulse core`` worker as ``core``, the roll-up
    reader of ``cxpulse run`` as ``server``; a device's events are counted and no
    service is denied anything."""
    from stream.core import Core
    from stream.nats_io import connect
    from stream.remote import RemoteReader

    server, logins = secured
    base = CONFIG + "\n[scale]\npartitions = 4\nworkers = 2\n"
    workers = [Core(load_config_text(base + f"worker = {i}\n"), server.url,
                    login=logins["core"]) for i in range(2)]
    for w in workers:
        await w.start()
    cfg = load_config_text(base)
    nc = await connect(cfg.nats, server.url, "readers", login=logins["server"])
    await ensure_streams(nc.jetstream(), cfg)
    reader = RemoteReader(cfg, nc)
    await reader.start()
    device, _ = await _connect(server, logins["device"])
    now = int(time.time() * 1000)
    for i, loc in enumerate(["msk-1", "spb-1"] * 5):
        body = (f'{{"id": "e-{i}", "ts": {now}, "location": "{loc}", "type": "nps", '
                f'"value": 10}}').encode()
        await device.jetstream().publish(f"cx.feedback.{loc}", body,
                                         headers={"Nats-Msg-Id": f"{loc}:e-{i}"})
    for w in workers:
        assert await w.wait_idle()
    for _ in range(50):
        m = await reader.wait(lambda: reader.metrics("network", "1h"))
        if m.responses == 10:
            break
        await asyncio.sleep(0.1)
    assert m.responses == 10 and m.nps == 100.0
    await reader.stop()
    await nc.close()
    await device.close()
    for w in workers:
        await w.stop()
    log = server.log_file.read_text()
    assert "Violation" not in log, [line for line in log.splitlines() if "Violation" in line]
