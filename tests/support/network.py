"""The small network most server tests run: regions msk (msk-a, msk-b) and ural (ekb),
four tokens (an admin, two supervisors, a display), a CSI questionnaire; plus event
builders. ``config_text(**server)`` overrides ``[server]`` keys; the server listens on a
free port chosen here."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

from stream.access import hash_token
from stream.nats_server import free_port
from tests.support.stack import Stack, running

TOKENS = {
    "admin": ("t-admin", "admin", [], []),
    "sup_msk": ("t-sup-msk", "supervisor", [], ["msk"]),
    "sup_ekb": ("t-sup-ekb", "supervisor", ["ekb"], []),
    "display_a": ("t-display-a", "display", ["msk-a"], []),
}


def config_text(**server: Any) -> str:
    """The network's config.toml; ``server`` overrides keys of ``[server]``."""
    tokens = "\n".join(
        f'[[auth.tokens]]\nname = "{name}"\nsha256 = "{hash_token(tok)}"\nrole = "{role}"\n'
        f"locations = {json.dumps(locs)}\nregions = {json.dumps(regs)}\n"
        for name, (tok, role, locs, regs) in TOKENS.items())
    settings = {"port": free_port(), "ws_max_updates_per_s": 10, "ws_heartbeat_s": 0.5,
                "ws_stuck_timeout_s": 2.0, "ws_max_connections": 200, "survey_rate_per_min": 30,
                **server}
    srv = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    return f"""
[core]
snapshot_interval_s = 3600
language = "ru"
[server]
{srv}
[auth]
enabled = true
{tokens}
[[regions]]
id = "msk"
name = "Москва"
[[regions]]
id = "ural"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "msk-a"
name = "Москва, Тверская"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "msk-b"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "ekb"
name = "Екатеринбург"
region = "ural"
timezone = "Asia/Yekaterinburg"
language = "en"
[csi]
questions_per_survey = 2
[[csi.questions]]
id = "clean"
factor = "tangibles"
text_ru = "Насколько чисто и удобно в зале?"
text_en = "How clean and comfortable is the hall?"
[[csi.questions]]
id = "speed"
factor = "responsiveness"
text_ru = "Насколько быстро Вас обслужили?"
text_en = "How quickly were you served?"
[[csi.questions]]
id = "attention"
factor = "empathy"
text_ru = "Насколько внимательны были к Вам?"
text_en = "How attentive were we to you?"
"""


NAMED_TOKENS = {name: tok for name, (tok, *_) in TOKENS.items()}  # for ``Stack(tokens=)``


def token(name: str) -> str:
    return TOKENS[name][0]


def now_ms() -> int:
    return int(time.time() * 1000)


def button(location: str, value: int, scale: int = 3, **extra: Any) -> dict[str, Any]:
    return {"id": f"b-{uuid.uuid4().hex}", "ts": now_ms() - 1000, "location": location,
            "type": "button", "value": value, "scale": scale, **extra}


def serving(tmp_path: Path, text: str | None = None,
            **parts: Any) -> contextlib.AbstractAsyncContextManager[Stack]:
    """The network's core and server (``running``) with the tokens by name; ``parts`` as
    ``running`` takes them (``alerts=True``, ``direct_frames=False``, ...)."""
    return running(text if text is not None else config_text(), tmp_path, server=True,
                   tokens=NAMED_TOKENS, **parts)
