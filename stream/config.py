"""The stream layer's configuration sections and the settings protocol it reads.

Every section is a frozen msgspec Struct that forbids unknown keys, so a typo or a wrong
type stops start-up with a message that names the key. Each package owns the sections it
reads (``alerting.schema``, ``voice.config``, ``server.config``, ``dashboards.config``);
the composition package (``cxpulse.config``) assembles them into one ``Config`` and is
the only place that parses ``config.toml``. Lower layers type their argument with a settings
protocol (``StreamSettings`` here) so they never import the assembled tree.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from stream.ids import Id
from stream.timeofday import WEEKDAYS, parse_hours


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


def check_zone(name: str, key: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{key}: unknown IANA time zone {name!r}") from exc


def check_dates(dates: tuple[str, ...], key: str) -> None:
    for d in dates:
        try:
            dt.date.fromisoformat(d)
        except ValueError as exc:
            raise ValueError(f"{key}: {d!r} is not a YYYY-MM-DD date") from exc


class HoursConfig(Section, frozen=True):
    """Opening hours per weekday (local time), ``"HH:MM-HH:MM"`` or ``"closed"``."""

    mon: str = "09:00-18:00"
    tue: str = "09:00-18:00"
    wed: str = "09:00-18:00"
    thu: str = "09:00-18:00"
    fri: str = "09:00-18:00"
    sat: str = "closed"
    sun: str = "closed"

    def __post_init__(self) -> None:
        for day in WEEKDAYS:
            parse_hours(getattr(self, day), f"hours.{day}")

    def minutes(self) -> tuple[tuple[int, int] | None, ...]:
        """Opening interval in minutes per weekday, Monday first."""
        return tuple(parse_hours(getattr(self, d), d) for d in WEEKDAYS)


class CalendarConfig(Section, frozen=True):
    """The default working calendar for SLA deadlines; locations may override it."""

    hours: HoursConfig = HoursConfig()
    holidays: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_dates(self.holidays, "calendar.holidays")


class LocationConfig(Section, frozen=True):
    id: Id
    name: str = ""
    region: Id = "default"
    timezone: str = ""
    language: Literal["ru", "en"] | None = None
    hours: HoursConfig | None = None
    holidays: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timezone:
            check_zone(self.timezone, f"locations[{self.id}].timezone")
        check_dates(self.holidays, f"locations[{self.id}].holidays")


class RegionConfig(Section, frozen=True):
    id: Id
    name: str = ""
    timezone: str = ""

    def __post_init__(self) -> None:
        if self.timezone:
            check_zone(self.timezone, f"regions[{self.id}].timezone")


class CsiQuestion(Section, frozen=True):
    id: Id
    factor: str
    text_ru: str = ""
    text_en: str = ""
    scale: Annotated[int, msgspec.Meta(ge=2, le=10)] = 5


class CsiConfig(Section, frozen=True):
    """CSI questionnaire (used by the QR survey and simulators) and optional factor weights."""

    questions: tuple[CsiQuestion, ...] = ()
    weights: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = {}
    questions_per_survey: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2


class ScaleConfig(Section, frozen=True):
    """Partitioned core workers: locations are hashed by NATS into ``partitions`` subject
    partitions (a stream subject transform); worker ``worker`` of ``workers`` consumes the
    partitions p with p % workers == worker."""

    partitions: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 16
    workers: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 1
    worker: Annotated[int, msgspec.Meta(ge=0)] = 0
    query_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0

    def __post_init__(self) -> None:
        if self.worker >= self.workers:
            raise ValueError(f"scale.worker: {self.worker} must be below "
                             f"scale.workers = {self.workers}")
        if self.workers > self.partitions:
            raise ValueError(f"scale.workers: {self.workers} workers need at least as many "
                             f"partitions (scale.partitions = {self.partitions})")

    def owned(self) -> list[int]:
        return [p for p in range(self.partitions) if p % self.workers == self.worker]


MaxBytes = Annotated[int, msgspec.Meta(ge=-1)]  # -1: unlimited (JetStream's own meaning)
MIB = 1 << 20


class NatsConfig(Section, frozen=True):
    """Where NATS is and how the services log in.

    Empty ``url``: ``cxpulse run`` starts the embedded server with the generated users of
    ``stream.natsauth`` (passwords under ``[core] data_dir``/nats). An external cluster:
    ``credentials_file`` maps each service (core, server, alerts, voice, asr, archive,
    device) to its own login (``stream.natscreds``); ``user``/``password``/``token``/``creds``
    remain a single identity for every service (only for a cluster without per-service
    users). The ``max_bytes_*`` limits bound each stream on disk; when one is reached the
    oldest messages go first (DiscardPolicy.OLD), so a flood can never fill the disk."""

    url: str = ""
    prefix: Id = "cx"
    embedded_host: str = "127.0.0.1"
    embedded_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 4222
    credentials_file: str = ""
    user: str = ""
    password: str = ""
    token: str = ""
    creds: str = ""
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    duplicate_window_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 120.0
    max_reconnect_wait_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    max_bytes_input: MaxBytes = 8192 * MIB
    max_bytes_voice: MaxBytes = 1024 * MIB
    max_bytes_dlq: MaxBytes = 512 * MIB
    max_bytes_alerts: MaxBytes = 256 * MIB

    def __post_init__(self) -> None:
        for key in ("max_bytes_input", "max_bytes_voice", "max_bytes_dlq", "max_bytes_alerts"):
            value = getattr(self, key)
            if 0 <= value < MIB:
                raise ValueError(f"nats.{key}: {value} bytes is too small (at least 1 MiB, "
                                 "or -1 for no limit)")


class CoreConfig(Section, frozen=True):
    data_dir: str = "var"
    default_timezone: str = "Europe/Moscow"
    language: Literal["ru", "en"] = "ru"
    retention_days: Annotated[int, msgspec.Meta(ge=31, le=3650)] = 35
    max_clock_skew_s: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 300.0
    non_responders_as: Literal["passive", "detractor"] = "passive"
    problem_threshold: Annotated[int, msgspec.Meta(ge=2)] = 3
    problem_window_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 7
    problem_baseline_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 28
    problem_alpha: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.01
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 1000
    snapshot_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    snapshot_every_events: Annotated[int, msgspec.Meta(ge=1000)] = 100_000
    max_locations: Annotated[int, msgspec.Meta(ge=1)] = 5000
    max_csi_questions: Annotated[int, msgspec.Meta(ge=1)] = 128
    max_dimension_keys: Annotated[int, msgspec.Meta(ge=1)] = 200_000

    def __post_init__(self) -> None:
        check_zone(self.default_timezone, "core.default_timezone")


class SlaConfig(Section, frozen=True):
    """SLA deadlines of domain.md: transfer (first assignment), review, claims."""

    transfer_working_hours: Annotated[float, msgspec.Meta(ge=0)] = 3.0
    review_working_days: Annotated[int, msgspec.Meta(ge=0)] = 2
    claim_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    live_call_channels: tuple[str, ...] = ("phone",)
    live_call_transfer_minutes: Annotated[float, msgspec.Meta(ge=0)] = 5.0




class VoiceLimits(Protocol):
    """The two voice settings the core itself reads (``voice.config.VoiceConfig`` has them)."""

    @property
    def anger_threshold(self) -> float: ...
    @property
    def transcript_retention_days(self) -> int: ...


class StreamSettings(Protocol):
    """What the stream layer reads of the assembled configuration (``cxpulse.config.Config``)."""

    @property
    def core(self) -> CoreConfig: ...
    @property
    def nats(self) -> NatsConfig: ...
    @property
    def scale(self) -> ScaleConfig: ...
    @property
    def sla(self) -> SlaConfig: ...
    @property
    def calendar(self) -> CalendarConfig: ...
    @property
    def csi(self) -> CsiConfig: ...
    @property
    def voice(self) -> VoiceLimits: ...
    @property
    def regions(self) -> tuple[RegionConfig, ...]: ...
    @property
    def locations(self) -> tuple[LocationConfig, ...]: ...

    def location(self, location_id: str) -> LocationConfig | None: ...
    def timezone_of(self, location_id: str) -> str: ...
