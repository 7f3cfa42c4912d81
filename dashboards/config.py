"""The ``[dashboards]`` section and what the wall reads of the configuration."""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from stream.access import AuthConfig
from stream.config import Section, StreamSettings
from text.config import CommentsConfig


class DashboardConfig(Section, frozen=True):
    enabled: bool = True
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8701
    token: str = ""
    nps_target: Annotated[float, msgspec.Meta(ge=-100, le=100)] = 50.0
    csat_target: Annotated[float, msgspec.Meta(ge=0, le=100)] = 85.0
    min_sample: Annotated[int, msgspec.Meta(ge=1)] = 10
    server_url: str = ""  # empty: http://[server] host:port


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
