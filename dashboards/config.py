"""The ``[dashboards]`` section and what the wall reads of the configuration."""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from stream.access import AuthConfig
from stream.config import Section, StreamSettings
from text.config import CommentsConfig

WILDCARD_HOSTS = ("", "0.0.0.0", "::")

# ``token`` is the dashboards' own token for the server, set in memory only (``cxpulse run``
# generates one per run). Decoding refuses any value (a constraint is checked on decoding,
# not on ``msgspec.structs.replace``), so no plain-text token can sit in config.toml: give
# one with ``token_env`` or ``token_file`` (``dashboards.keys.dashboards_token``).
InMemoryOnly = Annotated[str, msgspec.Meta(max_length=0, description=(
    "not in config.toml: use token_file or token_env"))]


class DashboardConfig(Section, frozen=True):
    enabled: bool = True
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8701
    token: InMemoryOnly = ""
    token_env: str = "CXPULSE_DASHBOARDS_TOKEN"  # an environment variable holding the token
    token_file: str = ""  # a file holding it (mode 0600; relative: under [core] data_dir)
    secret_file: str = "wall-secret.key"  # signs sessions and cookies; made on first start
    public_origins: tuple[str, ...] = ()  # browser origins of the wall, e.g. "wall.shop.ru"
    cookie_days: Annotated[float, msgspec.Meta(gt=0, le=400)] = 7.0
    nps_target: Annotated[float, msgspec.Meta(ge=-100, le=100)] = 50.0
    csat_target: Annotated[float, msgspec.Meta(ge=0, le=100)] = 85.0
    min_sample: Annotated[int, msgspec.Meta(ge=1)] = 10
    server_url: str = ""  # empty: http://[server] host:port

    def __post_init__(self) -> None:
        for origin in self.public_origins:
            if "*" in origin or not origin_host(origin):
                raise ValueError(f"dashboards.public_origins: {origin!r} is not one origin "
                                 "(a host[:port] or http(s)://host[:port], no wildcards)")


def origin_host(origin: str) -> str:
    """``https://wall.shop.ru:8443/`` -> ``wall.shop.ru:8443`` (Bokeh compares host[:port])."""
    host = origin.strip().lower()
    for scheme in ("https://", "http://"):
        host = host.removeprefix(scheme)
    return host.rstrip("/") if "/" not in host.rstrip("/") else ""


def check_public_origins(dashboards: DashboardConfig, host: str) -> None:
    """A wall listening on every address is reached under names it cannot know: they must be
    listed (the websocket of a page from any other origin is refused)."""
    if dashboards.enabled and host in WILDCARD_HOSTS and not dashboards.public_origins:
        raise ValueError(f"dashboards.public_origins: the wall listens on {host or 'every'} "
                         "address ([server] host), so list the origins browsers open it "
                         'under, e.g. public_origins = ["wall.shop.ru:8701"]')


class ServerAddress(Protocol):
    """What the wall reads of ``[server]`` (``server.config.ServerConfig`` has it): where to
    connect, where to listen, and the server's per-client queue it must stay under."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def ws_queue_limit(self) -> int: ...


class WallSettings(StreamSettings, Protocol):
    """What the wall reads: its own section, the tokens, the server's address, the
    stream's sections and the comment topics' names (``[comments]``)."""

    @property
    def server(self) -> ServerAddress: ...
    @property
    def dashboards(self) -> DashboardConfig: ...
    @property
    def auth(self) -> AuthConfig: ...
    @property
    def comments(self) -> CommentsConfig: ...
