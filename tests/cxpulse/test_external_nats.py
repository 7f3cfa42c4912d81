"""An external nats-server with the same users: ``cxpulse nats-conf`` writes them, the
services find their logins through ``[nats] credentials_file`` (passwords, or a ``.creds``
file per service for a JWT/nkeys operator setup)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cxpulse.cli import main
from cxpulse.config import load_config_text
from cxpulse.connections import connect_as, nats_logins
from stream.core import Core
from stream.nats_server import EmbeddedNats
from stream.natscreds import CredentialsError, Login, load_logins, login_for


async def test_services_log_in_through_the_credentials_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[locations]]\nid = "loc-a"\n')
    assert main(["nats-conf", "--out", str(tmp_path / "users"), "--config", str(config)]) == 0
    server = EmbeddedNats(tmp_path / "js", auth_conf=tmp_path / "users" / "auth.conf").start()
    try:
        cfg = load_config_text(f"""
[core]
data_dir = "{tmp_path / 'var'}"
[nats]
url = "{server.url}"
credentials_file = "{tmp_path / 'users' / 'credentials.json'}"
[[locations]]
id = "loc-a"
""")
        logins = nats_logins(cfg)
        assert {"core", "server", "alerts", "voice", "asr", "device", "device-loc-a",
                "admin"} <= set(logins)
        core = Core(cfg, server.url, login=login_for(logins, "core"))
        await core.start()
        device = await connect_as(cfg, server.url, "device-loc-a", "terminal")
        body = {"id": "e-1", "ts": int(time.time() * 1000), "location": "loc-a",
                "type": "csat", "value": 5}
        await device.jetstream().publish("cx.feedback.loc-a", json.dumps(body).encode(),
                                         headers={"Nats-Msg-Id": "loc-a:e-1"})
        assert await core.wait_idle()
        assert core.metrics("loc-a", "1h").csat == 100.0
        await device.close()
        await core.stop()
    finally:
        server.stop()


def test_a_creds_file_per_service_and_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "logins.json"
    path.write_text(json.dumps({"core": "/etc/cxpulse/core.creds",
                                "device": {"user": "terminal", "password": "p"}}))
    logins = load_logins(path)
    assert logins["core"] == Login(user="core", creds="/etc/cxpulse/core.creds")
    assert logins["device"].user == "terminal"
    with pytest.raises(CredentialsError, match="'asr'"):
        login_for(logins, "asr")
    cfg = load_config_text(f'[nats]\nurl = "nats://x:4222"\n'
                           f'credentials_file = "{tmp_path / "missing.json"}"\n')
    with pytest.raises(CredentialsError, match="does not exist"):
        nats_logins(cfg)
    assert nats_logins(load_config_text('[nats]\nurl = "nats://x:4222"\n')) == {}
