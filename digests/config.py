"""The ``[[digests]]`` and ``[smtp]`` sections, and the settings the digests read.

A digest is one report mailed on a schedule: ``period`` (``day``, ``week``, ``month``)
of ``scope`` (the network, a region or a location), at ``at`` local time of the scope's
zone (a location's ``timezone``, a region's, else ``[core] default_timezone``), on
``weekday`` (weekly) or ``day`` of the month (monthly; past a month's end: its last day).
It covers the last complete period before it is sent: yesterday, last ISO week, last month.

``[smtp]`` is where it goes. The password is never in the file: ``password_env`` names
the environment variable that holds it.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal, Protocol

import msgspec

from alerting.schema import AlertsConfig
from archive.config import ArchiveSettings
from stream.config import Section
from stream.geography import Geo
from stream.timeofday import WEEKDAYS

Period = Literal["day", "week", "month"]
Attachment = Literal["csv", "pdf"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")  # also a KV key part
_AT = re.compile(r"^(\d{2}):(\d{2})\Z")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\Z")


def parse_at(text: str, key: str) -> tuple[int, int]:
    """``"08:00"`` -> (8, 0); errors name ``key``."""
    m = _AT.match(text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{key}: expected local time 'HH:MM', got {text!r}")
    return int(m.group(1)), int(m.group(2))


class DigestConfig(Section, frozen=True):
    id: str
    scope: str = "network"
    period: Period = "day"
    at: str = "08:00"  # local time of the scope's zone
    weekday: Weekday = "mon"  # weekly digests
    day: Annotated[int, msgspec.Meta(ge=1, le=31)] = 1  # monthly digests (clamped to month end)
    to: tuple[str, ...] = ()
    lang: Literal["ru", "en", ""] = ""  # "" = [core] language
    attach: tuple[Attachment, ...] = ("csv", "pdf")
    enabled: bool = True
    catch_up_h: Annotated[float, msgspec.Meta(ge=0, le=24 * 31)] = 24.0  # late sends, after
    best_worst: Annotated[int, msgspec.Meta(ge=0, le=50)] = 5  # locations listed (weekly)
    min_sample: Annotated[int, msgspec.Meta(ge=1)] = 10  # answers for a location to rank

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"digests[{self.id}].id: lower-case letters, digits, '-' and '_' "
                             "only (it names the digest's state in NATS KV)")
        parse_at(self.at, f"digests[{self.id}].at")
        if not self.to:
            raise ValueError(f"digests[{self.id}].to: at least one e-mail address")
        for addr in self.to:
            if not _EMAIL.match(addr):
                raise ValueError(f"digests[{self.id}].to: {addr!r} is not an e-mail address")
        if len(set(self.attach)) != len(self.attach):
            raise ValueError(f"digests[{self.id}].attach: listed twice")

    @property
    def at_hm(self) -> tuple[int, int]:
        return parse_at(self.at, "at")

    @property
    def weekday_index(self) -> int:
        """Monday = 0."""
        return WEEKDAYS.index(self.weekday)


class SmtpConfig(Section, frozen=True, rename={"sender": "from"}):
    host: str = "localhost"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25
    sender: str = "cxpulse@localhost"  # `from` in the file
    user: str = ""
    password_env: str = ""  # the NAME of the environment variable holding the password
    starttls: bool = False
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 30.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=100)] = 6  # after the first attempt
    backoff_s: Annotated[float, msgspec.Meta(ge=0)] = 30.0  # doubles per retry
    backoff_max_s: Annotated[float, msgspec.Meta(ge=0)] = 1800.0
    max_attachments_mb: Annotated[float, msgspec.Meta(gt=0)] = 15.0

    def __post_init__(self) -> None:
        if not _EMAIL.match(self.sender):
            raise ValueError(f"smtp.from: {self.sender!r} is not an e-mail address")
        if self.password_env and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\Z", self.password_env):
            raise ValueError("smtp.password_env: the NAME of an environment variable (the "
                             "password itself never goes into the config file)")
        if self.user and not self.password_env:
            raise ValueError("smtp.user: set smtp.password_env to the environment variable "
                             "that holds the password")

    def password(self) -> str:
        """The password from the environment (empty when none is configured)."""
        if not self.password_env:
            return ""
        value = os.environ.get(self.password_env)
        if value is None:
            raise RuntimeError(f"smtp.password_env: the environment variable "
                               f"{self.password_env} is not set")
        return value


class DigestSettings(ArchiveSettings, Protocol):
    """What the digests read of the assembled configuration (``[alerts]``: its webhooks
    deliver the ``digest-failed`` alert)."""

    @property
    def digests(self) -> tuple[DigestConfig, ...]: ...
    @property
    def smtp(self) -> SmtpConfig: ...
    @property
    def alerts(self) -> AlertsConfig: ...


def check_digests(cfg: DigestSettings) -> None:
    """Digest ids are unique and every scope is the network, a region or a location."""
    geo = Geo.from_config(cfg)
    seen: set[str] = set()
    for d in cfg.digests:
        if d.id in seen:
            raise ValueError(f"digests: id {d.id!r} used twice")
        seen.add(d.id)
        if geo.known_kind(d.scope) is None:
            raise ValueError(f"digests[{d.id}].scope: {d.scope!r} is not the network, a region "
                             "or a location of this config")
