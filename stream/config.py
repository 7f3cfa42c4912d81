"""Configuration: one typed tree decoded from ``config.toml`` and validated at start-up.

Every section is a frozen msgspec Struct that forbids unknown keys, so a typo or a wrong
type stops start-up with a message that names the key (``ConfigError``). Subsystems read
their own section; nothing else parses the file.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from stream.alerting.schema import AlertsConfig, name_list_items
from stream.events import VOICE_CATEGORIES

ID_PATTERN = r"^[a-z0-9_-]{1,64}$"
Id = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


def _check_zone(name: str, key: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{key}: unknown IANA time zone {name!r}") from exc


def parse_hours(text: str, key: str) -> tuple[int, int] | None:
    """``"09:00-18:00"`` -> (540, 1080) minutes of the local day; ``""`` or ``"closed"`` -> None."""
    if text in ("", "closed"):
        return None
    m = _HOURS_RE.match(text)
    if not m:
        raise ValueError(f"{key}: expected 'HH:MM-HH:MM' or 'closed', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 24 * 60 and m1 < 60 and m2 < 60):
        raise ValueError(f"{key}: opening hours {text!r} must be within a day and end after start")
    return start, end


def _check_dates(dates: tuple[str, ...], key: str) -> None:
    for d in dates:
        try:
            dt.date.fromisoformat(d)
        except ValueError as exc:
            raise ValueError(f"{key}: {d!r} is not a YYYY-MM-DD date") from exc


class HoursConfig(_Section, frozen=True):
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


class CalendarConfig(_Section, frozen=True):
    """The default working calendar for SLA deadlines; locations may override it."""

    hours: HoursConfig = HoursConfig()
    holidays: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_dates(self.holidays, "calendar.holidays")


class LocationConfig(_Section, frozen=True):
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
            _check_zone(self.timezone, f"locations[{self.id}].timezone")
        _check_dates(self.holidays, f"locations[{self.id}].holidays")


class RegionConfig(_Section, frozen=True):
    id: Id
    name: str = ""
    timezone: str = ""

    def __post_init__(self) -> None:
        if self.timezone:
            _check_zone(self.timezone, f"regions[{self.id}].timezone")


class CsiQuestion(_Section, frozen=True):
    id: Id
    factor: str
    text_ru: str = ""
    text_en: str = ""
    scale: Annotated[int, msgspec.Meta(ge=2, le=10)] = 5


class CsiConfig(_Section, frozen=True):
    """CSI questionnaire (used by the QR survey and simulators) and optional factor weights."""

    questions: tuple[CsiQuestion, ...] = ()
    weights: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = {}
    questions_per_survey: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2


class ScaleConfig(_Section, frozen=True):
    """Partitioned core workers: locations are hashed by NATS into ``partitions`` subject
    partitions (a stream subject transform); worker ``worker`` of ``workers`` consumes the
    partitions p with p % workers == worker."""

    partitions: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 16
    workers: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 1
    worker: Annotated[int, msgspec.Meta(ge=0)] = 0
    query_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0

    def __post_init__(self) -> None:
        if self.worker >= self.workers:
            raise ValueError(f"scale.worker: {self.worker} must be below scale.workers = {self.workers}")
        if self.workers > self.partitions:
            raise ValueError(f"scale.workers: {self.workers} workers need at least as many "
                             f"partitions (scale.partitions = {self.partitions})")

    def owned(self) -> list[int]:
        return [p for p in range(self.partitions) if p % self.workers == self.worker]


class NatsConfig(_Section, frozen=True):
    url: str = ""
    prefix: Id = "cx"
    embedded_host: str = "127.0.0.1"
    embedded_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 4222
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


class CoreConfig(_Section, frozen=True):
    data_dir: str = "var"
    default_timezone: str = "Europe/Moscow"
    language: Literal["ru", "en"] = "ru"
    retention_days: Annotated[int, msgspec.Meta(ge=31, le=3650)] = 35
    max_clock_skew_s: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 300.0
    non_responders_as: Literal["passive", "detractor"] = "passive"
    problem_threshold: Annotated[int, msgspec.Meta(ge=2)] = 3
    problem_window_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 7
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 1000
    snapshot_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    snapshot_every_events: Annotated[int, msgspec.Meta(ge=1000)] = 100_000
    max_locations: Annotated[int, msgspec.Meta(ge=1)] = 5000
    max_csi_questions: Annotated[int, msgspec.Meta(ge=1)] = 128
    max_dimension_keys: Annotated[int, msgspec.Meta(ge=1)] = 200_000

    def __post_init__(self) -> None:
        _check_zone(self.default_timezone, "core.default_timezone")


class SlaConfig(_Section, frozen=True):
    """SLA deadlines of domain.md: transfer (first assignment), review, claims."""

    transfer_working_hours: Annotated[float, msgspec.Meta(ge=0)] = 3.0
    review_working_days: Annotated[int, msgspec.Meta(ge=0)] = 2
    claim_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    live_call_channels: tuple[str, ...] = ("phone",)
    live_call_transfer_minutes: Annotated[float, msgspec.Meta(ge=0)] = 5.0


class ServerConfig(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8700
    ws_max_updates_per_s: Annotated[float, msgspec.Meta(gt=0, le=100)] = 4.0
    ws_max_connections: Annotated[int, msgspec.Meta(ge=1)] = 5000
    ws_queue_limit: Annotated[int, msgspec.Meta(ge=1)] = 64
    ws_heartbeat_s: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    ws_stuck_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    cors_origins: tuple[str, ...] = ()
    survey_cooldown_min: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    survey_rate_per_min: Annotated[int, msgspec.Meta(ge=1)] = 10
    ws_refresh_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0  # re-push sliding windows, SLA
    display_buttons: Annotated[int, msgspec.Meta(ge=0, le=5)] = 0  # 0: from today's presses
    # reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed, so
    # the survey's rate limit keys on the phone, not the proxy; empty: headers ignored
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"server.trusted_proxies: {entry!r} is not an IP address or "
                                 "network (e.g. 10.0.0.5 or 10.0.0.0/24)") from exc


class TokenConfig(_Section, frozen=True):
    name: str
    sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    role: Literal["display", "supervisor", "admin"]
    locations: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


class AuthConfig(_Section, frozen=True):
    enabled: bool = True
    tokens: tuple[TokenConfig, ...] = ()


class DashboardConfig(_Section, frozen=True):
    enabled: bool = True
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8701
    token: str = ""
    nps_target: Annotated[float, msgspec.Meta(ge=-100, le=100)] = 50.0
    csat_target: Annotated[float, msgspec.Meta(ge=0, le=100)] = 85.0
    min_sample: Annotated[int, msgspec.Meta(ge=1)] = 10
    server_url: str = ""  # empty: http://[server] host:port


class LexiconConfig(_Section, frozen=True):
    """Phrases per voice keyword category for one language."""

    greeting: tuple[str, ...] = ()
    thanks: tuple[str, ...] = ()
    farewell: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    profanity: tuple[str, ...] = ()


class VoiceLexicons(_Section, frozen=True):
    ru: LexiconConfig = LexiconConfig(
        greeting=("здравствуйте", "добрый день", "добрый вечер", "доброе утро", "приветствую",
                  "добро пожаловать"),
        thanks=("спасибо", "благодарю", "благодарим"),
        farewell=("до свидания", "всего доброго", "всего хорошего", "хорошего дня", "до встречи"),
        escalation=("жалоба", "жаловаться", "менеджер", "позовите менеджера", "руководитель",
                    "верните деньги", "возврат денег", "безобразие", "возмутительно", "претензия",
                    "книга жалоб", "роспотребнадзор", "подам в суд"),
        profanity=("идиот", "дурак", "придурок", "козел", "сволочь", "урод"),
    )
    en: LexiconConfig = LexiconConfig(
        greeting=("hello", "good morning", "good afternoon", "good evening", "welcome"),
        thanks=("thank you", "thanks", "appreciate"),
        farewell=("goodbye", "bye bye", "have a nice day", "see you"),
        escalation=("complaint", "manager", "supervisor", "refund", "money back", "unacceptable",
                    "ridiculous", "lawyer"),
        profanity=("idiot", "stupid", "damn", "hell", "moron", "crap"),
    )


class VoiceConfig(_Section, frozen=True):
    """Voice analytics (``cx.audio`` microphones): VAD, emotion, speech recognition, lexicons.

    ``[voice.lexicon.ru]`` / ``[voice.lexicon.en]`` list phrases per category (a table given
    in config.toml replaces that language's defaults whole); matching tolerates word endings
    and recognition errors (dsp/keywords.py). Audio is processed in memory only unless
    ``store_audio`` is set.
    """

    enabled: bool = True
    asr_enabled: bool = True
    model_cache_dir: str = "var/models/whisper-base"
    asr_cpu_threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    max_asr_backlog_s: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    transcript_retention_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    store_audio: bool = False
    anger_threshold: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.7
    anger_incident_utterances: Annotated[int, msgspec.Meta(ge=1)] = 2
    anger_incident_window_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    incident_cooldown_s: Annotated[float, msgspec.Meta(ge=0)] = 300.0  # one incident per episode
    silero_confirm: bool = True
    pad_ms: Annotated[int, msgspec.Meta(ge=0, le=2000)] = 200
    min_speech_ms: Annotated[int, msgspec.Meta(ge=10, le=10_000)] = 200
    min_silence_ms: Annotated[int, msgspec.Meta(ge=100, le=10_000)] = 500
    max_utterance_ms: Annotated[int, msgspec.Meta(ge=1000, le=60_000)] = 15_000
    encounter_silence_s: Annotated[float, msgspec.Meta(gt=0)] = 120.0
    lexicon: VoiceLexicons = VoiceLexicons()

    def __post_init__(self) -> None:
        if self.min_silence_ms < self.pad_ms:
            raise ValueError("voice.min_silence_ms: must be at least voice.pad_ms")

    def lexicons(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Language -> category -> phrases."""
        return {lang: {cat: getattr(getattr(self.lexicon, lang), cat) for cat in VOICE_CATEGORIES}
                for lang in ("ru", "en")}


class Config(_Section, frozen=True):
    core: CoreConfig = CoreConfig()
    nats: NatsConfig = NatsConfig()
    scale: ScaleConfig = ScaleConfig()
    sla: SlaConfig = SlaConfig()
    calendar: CalendarConfig = CalendarConfig()
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    dashboards: DashboardConfig = DashboardConfig()
    csi: CsiConfig = CsiConfig()
    alerts: AlertsConfig = AlertsConfig()
    voice: VoiceConfig = VoiceConfig()
    regions: tuple[RegionConfig, ...] = ()
    locations: tuple[LocationConfig, ...] = ()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for loc in self.locations:
            if loc.id in seen:
                raise ValueError(f"locations: duplicate id {loc.id!r}")
            seen.add(loc.id)
        keys = {(q.factor, q.id) for q in self.csi.questions}
        if len(keys) != len(self.csi.questions):
            raise ValueError("csi.questions: duplicate (factor, id) pair")

    def location(self, location_id: str) -> LocationConfig | None:
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        return None

    def timezone_of(self, location_id: str) -> str:
        loc = self.location(location_id)
        return (loc.timezone if loc and loc.timezone else "") or self.core.default_timezone


def _explain(exc: msgspec.ValidationError | msgspec.DecodeError, source: str) -> str:
    text = str(exc)
    m = re.search(r" - at `\$(.*)`$", text)
    if m:
        key = m.group(1).lstrip(".")
        text = text[: m.start()]
        unknown = re.search(r"unknown field `(.+)`", text)
        if unknown:
            key = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
            text = "unknown key"
        return f"{source}: {text} (key `{key}`)"
    return f"{source}: {text}"


def load_config_text(text: str, source: str = "config.toml") -> Config:
    """Decode and validate TOML text; raises ConfigError naming the key."""
    try:
        return msgspec.toml.decode(text.encode(), type=Config)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(name_list_items(_explain(exc, source), text)) from None


def load_config(path: str | Path | None = None) -> Config:
    """Load ``config.toml`` (default: the one in the working directory, else built-ins)."""
    p = Path(path) if path else Path("config.toml")
    if not p.exists():
        if path:
            raise ConfigError(f"{p}: file not found")
        return Config()
    return load_config_text(p.read_text(encoding="utf-8"), str(p))
