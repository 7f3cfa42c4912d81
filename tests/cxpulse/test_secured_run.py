"""Issue 14 #1 against a real ``cxpulse run`` with its embedded NATS: nobody gets in without
a login, the generated secrets stay in the data dir, ``cxpulse nats-user`` hands a device
its credentials, and a device can publish its own location's events and do nothing else
(silence alerts, listen to audio, answer speech recognition, publish for another location,
delete or purge streams)."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from cxpulse.config import load_config
from cxpulse.connections import device_login
from cxpulse.simulate import demo_history
from stream.access import hash_token
from stream.nats_io import connect
from stream.nats_server import free_port
from tests.reliability.test_run_kill import start_run, wait_healthy

TOKEN = "secured-run-admin-token"


def config_text(data_dir: Path, nats_port: int, http_port: int) -> str:
    return f"""
[core]
data_dir = "{data_dir}"
[nats]
embedded_port = {nats_port}
[server]
port = {http_port}
[voice]
enabled = false
[[auth.tokens]]
name = "admin"
sha256 = "{hash_token(TOKEN)}"
role = "admin"
[[locations]]
id = "loc-a"
region = "r"
[[locations]]
id = "loc-b"
region = "r"
"""


def nats_user(config: Path, *args: str) -> dict[str, str]:
    """``cxpulse nats-user ARGS`` parsed into its ``key: value`` head lines."""
    out = subprocess.run([sys.executable, "-m", "cxpulse.cli", "nats-user", *args, "--config",
                          str(config)], capture_output=True, text=True, check=True).stdout
    head = out.split("\n\n", 1)[0]
    return {k.strip(): v.strip().split("   ")[0] for k, v in
            (line.split(":", 1) for line in head.splitlines())}


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[tuple[Path, str, str]]:
    nats_port, http_port = free_port(), free_port()
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path / "var", nats_port, http_port))
    proc = start_run(path, tmp_path / "run.log")
    base = f"http://127.0.0.1:{http_port}"
    try:
        await wait_healthy(base, proc, tmp_path / "run.log")
        yield path, f"nats://127.0.0.1:{nats_port}", base
    finally:
        proc.terminate()
        proc.wait(20)


async def connect_as(url: str, login: dict[str, str]) -> tuple[NATS, list[str]]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(url, user=login["user"], password=login["password"],
                            inbox_prefix=login["inbox prefix"], error_cb=on_error,
                            allow_reconnect=False)
    return nc, errors


async def denied(errors: list[str], subject: str) -> bool:
    for _ in range(50):
        if any("permissions violation" in e.lower() and subject in e for e in errors):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_cxpulse_run_secures_its_nats(secured: tuple[Path, str, str]) -> None:
    config, url, base = secured
    with pytest.raises(NatsError):  # anonymous: refused
        await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0,
                           connect_timeout=2)
    data = config.parent / "var" / "nats"
    creds = data / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    passwords = [v["password"] for v in json.loads(creds.read_text()).values()]
    conf = (data / "auth.conf").read_text()
    assert "$2a$" in conf and not any(p in conf for p in passwords)  # hashes only

    login = nats_user(config, "device", "--location", "loc-a")
    assert login["user"] == "device-loc-a" and login["url"] == url
    device, errors = await connect_as(url, login)
    js = device.jetstream()
    event = {"id": "p-1", "ts": int(time.time() * 1000), "location": "loc-a", "type": "nps",
             "value": 10}
    ack = await js.publish("cx.feedback.loc-a", json.dumps(event).encode(),
                           headers={"Nats-Msg-Id": "loc-a:p-1"})
    assert ack.stream == "CX_INPUT"

    silence = {"op": "silence", "matchers": ["rule=~.*"], "ends_ms": 9_999_999_999_999}
    await device.publish("cx.alerts.control", json.dumps(silence).encode())
    await device.publish("cx.feedback.loc-b", json.dumps({**event, "location": "loc-b"}).encode())
    await device.subscribe("cx.audio.>")
    await device.subscribe("cx.asr.transcribe", queue="asr")
    for subject in ("cx.alerts.control", "cx.feedback.loc-b", "cx.audio.>", "cx.asr.transcribe"):
        assert await denied(errors, subject), subject
    for api in ("$JS.API.STREAM.DELETE.CX_INPUT", "$JS.API.STREAM.PURGE.CX_INPUT",
                "$JS.API.STREAM.LIST", "$JS.API.CONSUMER.CREATE.CX_VOICE"):
        with pytest.raises(NatsError):
            await device.request(api, b"{}", timeout=0.5)
    await device.close()

    async with httpx.AsyncClient(base_url=base, timeout=5,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for _ in range(50):
            body = (await http.get("/api/metrics/loc-a", params={"window": "1h"})).json()
            if body["responses"]:
                break
            await asyncio.sleep(0.1)
        assert body["responses"] == 1 and body["nps"] == 100.0  # the device's event counted
        assert (await http.get("/api/metrics/loc-b", params={"window": "1h"})).json()[
            "responses"] == 0
        health = (await http.get("/api/health")).json()
        assert health["status"] == "ok" and health["alerts"]["role"] == "leader"
        assert health["rejected"] == {}
    log = (config.parent / "var" / "jetstream" / "nats-server.log").read_text()
    services = [line for line in log.splitlines()
                if "Violation" in line and '"$G/user:device' not in line]
    assert services == []  # every service did its job within its permissions


async def test_the_demo_history_goes_in_as_an_import_on_a_secured_run(
        secured: tuple[Path, str, str]) -> None:
    """The demo simulator publishes as a device, which may not query the archive: its
    back-fill connects as ``admin`` (as ``cxpulse import``) and lands, once."""
    config, url, _ = secured
    cfg = load_config(config)
    device = await connect(cfg.nats, url, "test-device", login=device_login(cfg))
    try:
        stored = await demo_history(cfg, url, device, days=20, volume=0.2, wait_s=60)
        assert stored > 100
        assert await demo_history(cfg, url, device, days=20, volume=0.2, wait_s=60) == 0
    finally:
        await device.drain()
