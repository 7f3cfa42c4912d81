"""The wall's secrets and origins (issue 14: #2, #3): the session secret is made once per
deployment, private, under the data dir (or given by ``BOKEH_SECRET_KEY``); the
dashboards' token never sits in config.toml; a wall on every address needs its public
origins listed and never allows ``*``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from msgspec.structs import replace

from cxpulse.config import ConfigError, load_config_text
from dashboards.keys import dashboards_token, secret_key
from dashboards.serve import origins, serve_dashboards
from stream.nats_server import free_port, port_open


def config(tmp_path: Path, extra: str = "") -> str:
    return f'[core]\ndata_dir = "{tmp_path / "var"}"\n{extra}'


def test_a_wall_on_every_address_needs_its_public_origins(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="public_origins"):
        load_config_text(config(tmp_path, '[server]\nhost = "0.0.0.0"\n'))
    off = '[server]\nhost = "0.0.0.0"\n[dashboards]\nenabled = false\n'
    load_config_text(config(tmp_path, off))
    cfg = load_config_text(config(tmp_path, '[server]\nhost = "0.0.0.0"\n[dashboards]\n'
                                  'public_origins = ["https://wall.shop.ru", "10.0.0.5:8701"]\n'))
    assert origins(cfg, 8701) == ["10.0.0.5:8701", "wall.shop.ru"]  # and nothing else
    for bad in ("*", "*.shop.ru", "https://wall.shop.ru/path", ""):
        with pytest.raises(ConfigError, match="public_origins"):
            load_config_text(config(tmp_path, f'[dashboards]\npublic_origins = ["{bad}"]\n'))
    local = load_config_text(config(tmp_path))  # [server] host defaults to 127.0.0.1
    assert origins(local, 8701) == ["127.0.0.1:8701", "localhost:8701"]


def test_the_session_secret_is_made_once_private_and_env_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOKEH_SECRET_KEY", raising=False)
    cfg = load_config_text(config(tmp_path))
    key = secret_key(cfg)
    path = tmp_path / "var" / "wall-secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) >= 32
    assert secret_key(cfg) == key  # kept across restarts
    other = load_config_text(config(tmp_path / "elsewhere"))
    assert secret_key(other) != key  # one per deployment
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        secret_key(cfg)
    monkeypatch.setenv("BOKEH_SECRET_KEY", "k" * 44)
    assert secret_key(cfg) == b"k" * 44
    monkeypatch.setenv("BOKEH_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        secret_key(cfg)


def test_the_dashboards_token_never_sits_in_config(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CXPULSE_DASHBOARDS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"dashboards\.token"):
        load_config_text(config(tmp_path, '[dashboards]\ntoken = "demo-admin"\n'))
    cfg = load_config_text(config(tmp_path, '[dashboards]\ntoken_file = "wall.token"\n'))
    with pytest.raises(ConfigError, match="does not exist"):
        dashboards_token(cfg)
    token_file = tmp_path / "var" / "wall.token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("from-file\n", encoding="utf-8")
    token_file.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        dashboards_token(cfg)
    token_file.chmod(0o600)
    assert dashboards_token(cfg) == "from-file"
    monkeypatch.setenv("CXPULSE_DASHBOARDS_TOKEN", "from-env")
    assert dashboards_token(cfg) == "from-env"
    monkeypatch.delenv("CXPULSE_DASHBOARDS_TOKEN")
    # ``cxpulse run`` gives its generated token in memory
    in_memory = replace(cfg, dashboards=replace(cfg.dashboards, token="generated", token_file=""))
    assert dashboards_token(in_memory) == "generated"


async def test_the_wall_does_not_start_on_a_config_problem(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = load_config_text(config(tmp_path, '[dashboards]\ntoken_file = "missing.token"\n'))
    port = free_port()
    with pytest.raises(ConfigError, match="token_file"):
        await serve_dashboards(cfg, port=port)
    assert "dashboards not started" in caplog.text and not port_open("127.0.0.1", port)
