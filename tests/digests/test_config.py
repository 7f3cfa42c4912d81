"""``[[digests]]`` and ``[smtp]``: decoding, the errors that name the key, the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxpulse.config import load_config, load_config_text
from stream.config import ConfigError
from tests.support.digests import config

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_config_schedules_the_demo_digests() -> None:
    cfg = load_config(ROOT / "config.toml")
    by_id = {d.id: d for d in cfg.digests}
    assert {d.scope for d in cfg.digests if d.period == "day"} == {r.id for r in cfg.regions}
    assert all(d.at == "08:00" for d in cfg.digests if d.period == "day")
    assert (by_id["weekly-network"].weekday, by_id["weekly-network"].at) == ("mon", "09:00")
    assert (by_id["monthly-network"].day, by_id["monthly-network"].at) == (1, "09:00")
    assert (cfg.smtp.host, cfg.smtp.port) == ("localhost", 2525)
    assert all(a.endswith("@example.com") for d in cfg.digests for a in d.to)


@pytest.mark.parametrize(("extra", "key"), [
    ('[[digests]]\nid = "x"\nscope = "nowhere"\nto = ["a@b.c"]', "digests[x].scope"),
    ('[[digests]]\nid = "x"\nat = "25:00"\nto = ["a@b.c"]', "digests[x].at"),
    ('[[digests]]\nid = "x"\nto = ["not-an-address"]', "digests[x].to"),
    ('[[digests]]\nid = "X Y"\nto = ["a@b.c"]', ".id"),
    ('[[digests]]\nid = "x"\nperiod = "year"\nto = ["a@b.c"]', "period"),
    ('[[digests]]\nid = "x"\nto = ["a@b.c"]\n[[digests]]\nid = "x"\nto = ["a@b.c"]',
     "used twice"),
])
def test_errors_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        config(tmp_path, extra=extra)


def test_smtp_password_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"smtp\.password"):
        load_config_text('[smtp]\npassword = "secret"')
    with pytest.raises(ConfigError, match=r"smtp\.password_env"):
        load_config_text('[smtp]\nuser = "u"')
    smtp = load_config_text('[smtp]\nfrom = "x@y.z"\nuser = "u"\npassword_env = "CX_SMTP_PW"'
                            "\nstarttls = true").smtp
    assert smtp.sender == "x@y.z"
    monkeypatch.delenv("CX_SMTP_PW", raising=False)
    with pytest.raises(RuntimeError, match="CX_SMTP_PW"):
        smtp.password()
    monkeypatch.setenv("CX_SMTP_PW", "s3cret")
    assert smtp.password() == "s3cret"
