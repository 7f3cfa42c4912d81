from __future__ import annotations

import pytest

from cxpulse.config import load_config, load_config_text
from stream.config import ConfigError


def test_shipped_config_is_valid(repo_root):
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
def test_errors_name_the_key(text, key):
    with pytest.raises(ConfigError) as err:
        load_config_text(text)
    assert key in str(err.value)


def test_semantic_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"locations\[a\]\.timezone"):
        load_config_text("[[locations]]\nid = 'a'\ntimezone = 'Mars/Olympus'")
    with pytest.raises(ConfigError, match=r"hours\.mon"):
        load_config_text("[calendar.hours]\nmon = '9-18'")
    with pytest.raises(ConfigError, match="duplicate id"):
        load_config_text("[[locations]]\nid = 'a'\n[[locations]]\nid = 'a'")
