"""Configuration: one typed tree decoded from ``config.toml`` and validated at start-up.

Each package owns its sections (``stream.config``, ``stream.access``, ``alerting.schema``,
``voice.config``, ``server.config``, ``dashboards.config``); this module assembles them into
``Config`` and is the only place that parses the file. A typo or a wrong type stops
start-up with a ``ConfigError`` that names the key.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import msgspec

from alerting.schema import AlertsConfig, name_list_items
from archive.config import ArchiveConfig
from cases.config import CasesConfig
from dashboards.config import DashboardConfig, check_public_origins
from digests.config import DigestConfig, SmtpConfig, check_digests
from server.config import ServerConfig
from stream.access import AuthConfig, hash_token
from stream.config import (
    CalendarConfig,
    ConfigError,
    CoreConfig,
    CsiConfig,
    LocationConfig,
    NatsConfig,
    RegionConfig,
    ScaleConfig,
    Section,
    SlaConfig,
)
from stream.ids import NETWORK
from text.config import CommentsConfig
from voice.config import VoiceConfig

__all__ = ["Config", "ConfigError", "load_config", "load_config_text"]


class Config(Section, frozen=True):
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
    archive: ArchiveConfig = ArchiveConfig()
    comments: CommentsConfig = CommentsConfig()
    digests: tuple[DigestConfig, ...] = ()
    smtp: SmtpConfig = SmtpConfig()
    cases: CasesConfig = CasesConfig()
    regions: tuple[RegionConfig, ...] = ()
    locations: tuple[LocationConfig, ...] = ()

    def __post_init__(self) -> None:
        check_scope_ids(self)
        keys = {(q.factor, q.id) for q in self.csi.questions}
        if len(keys) != len(self.csi.questions):
            raise ValueError("csi.questions: duplicate (factor, id) pair")
        check_tokens(self.auth)
        check_open_access(self.auth, self.server)
        check_public_origins(self.dashboards, self.server.host)
        check_digests(self)

    def location(self, location_id: str) -> LocationConfig | None:
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        return None

    def timezone_of(self, location_id: str) -> str:
        loc = self.location(location_id)
        return (loc.timezone if loc and loc.timezone else "") or self.core.default_timezone


def check_scope_ids(cfg: Config) -> None:
    """Scope names are unique: a location may not be called ``network`` or like a region
    (it would take over that roll-up), and no two locations or regions share an id."""
    regions: set[str] = set()
    for region in cfg.regions:
        if region.id == NETWORK or region.id in regions:
            raise ValueError(f"regions: id {region.id!r} is reserved or used twice")
        regions.add(region.id)
    seen: set[str] = set()
    for loc in cfg.locations:
        if loc.id in seen:
            raise ValueError(f"locations: duplicate id {loc.id!r}")
        if loc.id == NETWORK or loc.id in regions:
            raise ValueError(f"locations[{loc.id}].id: {loc.id!r} is the name of the network or "
                             "of a region; a location needs an id of its own")
        seen.add(loc.id)


def check_tokens(auth: AuthConfig) -> None:
    """A token's name is shown (acknowledgements, logs, dead letters): it must not be the
    token itself, and two tokens may not share a name or a digest."""
    names: set[str] = set()
    digests: set[str] = set()
    for tok in auth.tokens:
        if hash_token(tok.name) == tok.sha256:
            raise ValueError(f"auth.tokens[{tok.name}].name: the name equals the token; names "
                             "are shown and logged, so give the token another name")
        if tok.name in names or tok.sha256 in digests:
            raise ValueError(f"auth.tokens[{tok.name}]: name or sha256 used twice")
        names.add(tok.name)
        digests.add(tok.sha256)


def check_open_access(auth: AuthConfig, server: ServerConfig) -> None:
    """``[auth] enabled = false`` serves everything as admin: only on a loopback address."""
    if auth.enabled:
        return
    host = server.host or "0.0.0.0"
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"auth.enabled: false is allowed only when server.host is a loopback "
                         f"address (it is {host!r}): anyone reaching it would be an admin")


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
