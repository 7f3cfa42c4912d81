
"""Helpers of the digest tests and tools: a config, an archive filled with the demo's
seeded history (``simulators.backfill``), and an in-process SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import nats

from archive.service import ArchiveService, import_limits
from cxpulse.config import Config, load_config_text
from digests import mail
from digests.service import DigestService
from simulators.backfill import history_events
from stream.events import Rejection, validate_event

CONFIG = """
[core]
data_dir = "{data_dir}"
language = "ru"
retention_days = 35
[archive]
lease_s = 1.5
rollup_interval_s = 0.2
[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "cxpulse@example.test"
retries = 2
backoff_s = 60
[[regions]]
id = "msk"
name = "Москва"
timezone = "Europe/Moscow"
[[regions]]
id = "ny"
name = "New York"
timezone = "America/New_York"
[[locations]]
id = "msk-tverskaya"
name = "Москва, Тверская"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "msk-arbat"
name = "Москва, Арбат"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "ny-broadway"
name = "New York, Broadway"
region = "ny"
timezone = "America/New_York"
language = "en"
[[csi.questions]]
id = "clean"
factor = "tangibles"
text_ru = "Насколько чисто и удобно в зале?"
text_en = "How clean is the hall?"
[[csi.questions]]
id = "speed"
factor = "responsiveness"
text_ru = "Насколько быстро Вас обслужили?"
text_en = "How quickly were you served?"
{extra}
"""


def config(data_dir: Path, smtp_port: int = 2525, extra: str = "") -> Config:
    return load_config_text(CONFIG.format(data_dir=data_dir, smtp_port=smtp_port, extra=extra))


def fill(archive: ArchiveService, cfg: Config, end_ms: int, days: int,
         volume: float = 1.0) -> int:
    """Write the demo generator's ``days`` days before ``end_ms`` into a leading archive."""
    assert archive.store is not None
    limits = import_limits(cfg)
    items = []
    for kind, location, payload in history_events(cfg, end_ms, days, volume=volume):
        result = validate_event(kind, location, payload, end_ms, limits)
        assert not isinstance(result, Rejection), result
        items.append(result)
    stored = archive.store.import_events(items, end_ms).stored
    archive.store.refresh()
    return stored


def add_alert(archive: ArchiveService, ts_ms: int, rule: str, location: str, scope: str,
              status: str = "firing") -> None:
    """One alert state change in the archive's ``alert_changes``, as the writer stores it."""
    assert archive.store is not None
    view = {"id": f"{rule}-{ts_ms}", "rule": rule, "severity": "critical", "status": status,
            "scope": scope, "labels": {"location": location}, "value": 12.0,
            "metric": "nps", "threshold": 20.0}
    archive.store.write([], alerts=[(ts_ms, ts_ms, view, json.dumps(view))])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What the in-process SMTP server received; ``fail`` answers every DATA with 451."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    fail: bool = False
    refused: int = 0
    event: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail:
            self.refused += 1
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.event.set()
        return "250 OK"


class SmtpServer:
    """aiosmtpd's ``Controller`` on a free port (its own thread and loop)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


DIGESTS = """
[[digests]]
id = "daily-msk"
scope = "msk"
at = "08:00"
to = ["msk@example.test"]
catch_up_h = 1
[[digests]]
id = "daily-ny"
scope = "ny"
at = "08:00"
lang = "en"
to = ["ny@example.test", "boss@example.test"]
catch_up_h = 1
[[digests]]
id = "weekly-network"
scope = "network"
period = "week"
at = "09:00"
to = ["cx@example.test"]
catch_up_h = 1
"""


def utc_ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)  # type: ignore[misc,arg-type]


@dataclass
class World:
    """A filled archive (9 days before 2025-03-05 04:00 UTC), an SMTP server, a NATS url
    and a clock the test moves."""

    cfg: Config
    now: list[int]
    archive: ArchiveService
    smtp: SmtpServer
    url: str

    def clock(self) -> int:
        return self.now[0]

    async def service(self, send: Callable[..., Any] = mail.send,
                      cfg: Config | None = None) -> DigestService:
        nc = await nats.connect(self.url)
        svc = DigestService(cfg or self.cfg, nc, self.archive, clock=self.clock, send=send)
        await svc.start(background=False)
        return svc


@contextlib.asynccontextmanager
async def world(data_dir: Path, nats_url: str) -> AsyncIterator[World]:
    with SmtpServer() as smtp:
        cfg = config(data_dir, smtp.port, DIGESTS)
        now = [utc_ms(2025, 3, 5, 4, 0)]
        archive = ArchiveService(cfg, None, clock=lambda: now[0])
        await archive.start()
        fill(archive, cfg, now[0], days=9, volume=0.3)
        add_alert(archive, utc_ms(2025, 3, 4, 9, 30), "nps-drop", "msk-arbat", "msk-arbat")
        add_alert(archive, utc_ms(2025, 3, 3, 9, 30), "red-buttons", "msk-arbat", "msk-arbat")
        try:
            yield World(cfg, now, archive, smtp, nats_url)
        finally:
            await archive.stop()
