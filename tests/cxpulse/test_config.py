from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest

from cxpulse import cli
from cxpulse.config import load_config, load_config_text
from stream.config import ConfigError


def test_shipped_config_is_valid(repo_root: Path) -> None:
    cfg = load_config(repo_root / "config.toml")
    assert cfg.nats.url == ""
    assert {loc.region for loc in cfg.locations} == {"msk", "ural", "sib"}
    assert cfg.timezone_of("ekb-center") == "Asia/Yekaterinburg"
    assert cfg.timezone_of("unknown-place") == cfg.core.default_timezone


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[server]\nport = 'x'", "server.port"),
        ("[server]\nprot = 1", "server.prot"),
        ("[nats]\nduplicate_window_s = -1", "nats.duplicate_window_s"),
        ("[[locations]]\nid = 'Bad Id'", "locations[0].id"),
    ],
)
def test_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(text)
    assert key in str(err.value)


def test_semantic_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"locations\[a\]\.timezone"):
        load_config_text("[[locations]]\nid = 'a'\ntimezone = 'Mars/Olympus'")
    with pytest.raises(ConfigError, match=r"hours\.mon"):
        load_config_text("[calendar.hours]\nmon = '9-18'")
    with pytest.raises(ConfigError, match="duplicate id"):
        load_config_text("[[locations]]\nid = 'a'\n[[locations]]\nid = 'a'")


def test_location_may_not_take_a_reserved_or_region_id() -> None:
    with pytest.raises(ConfigError, match=r"locations\[network\]\.id"):
        load_config_text('[[locations]]\nid = "network"\n')
    with pytest.raises(ConfigError, match=r"locations\[msk\]\.id"):
        load_config_text('[[regions]]\nid = "msk"\n[[locations]]\nid = "msk"\nregion = "msk"\n')
    with pytest.raises(ConfigError, match="regions"):
        load_config_text('[[regions]]\nid = "network"\n')


def test_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ConfigError, match="locations"):
        load_config_text('[[locations]]\nid = "msk\\n"\n')


def test_token_name_may_not_be_the_token() -> None:
    digest = hashlib.sha256(b"demo-admin").hexdigest()
    with pytest.raises(ConfigError, match="name equals the token"):
        load_config_text(f'[[auth.tokens]]\nname = "demo-admin"\nsha256 = "{digest}"\n'
                         'role = "admin"\n')
    load_config_text(f'[[auth.tokens]]\nname = "admin"\nsha256 = "{digest}"\nrole = "admin"\n')


def test_open_access_only_on_loopback() -> None:
    load_config_text("[auth]\nenabled = false\n")
    with pytest.raises(ConfigError, match=r"auth\.enabled"):
        load_config_text('[auth]\nenabled = false\n[server]\nhost = "0.0.0.0"\n')


def test_shipped_demo_tokens_work_and_are_not_their_names(repo_root: Path) -> None:
    cfg = load_config(repo_root / "config.toml")
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    demo = set(re.findall(r"token=([A-Za-z0-9_-]+)", readme))
    by_digest = {tok.sha256: tok.name for tok in cfg.auth.tokens}
    assert demo
    for token in demo:
        digest = hashlib.sha256(token.encode()).hexdigest()
        assert digest in by_digest, f"README token {token} is not configured"
        assert by_digest[digest] != token


def test_hash_token_reads_stdin(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert cli.main(["hash-token"]) == 0
    assert capsys.readouterr().out.strip() == hashlib.sha256(b"s3cret").hexdigest()
    with pytest.raises(SystemExit):  # no token on the command line any more
        cli.main(["hash-token", "s3cret"])


def test_warm_fills_the_numba_caches_of_the_hot_kernels(repo_root: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["warm", "--config", str(repo_root / "config.toml")]) == 0
    assert "numba kernels ready" in capsys.readouterr().out
    cached = {p.name.split("-")[0] for p in repo_root.glob("*/__pycache__/*.nbi")}
    for kernel in ("vad._vad_chunk", "prosody.yin_track", "frames._polyphase", "dedup._insert",
                   "buckets._sum", "keywords._anchored_distances"):
        assert kernel in cached, kernel
