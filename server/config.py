"""The ``[server]`` section and what the HTTP/WebSocket server reads of the configuration."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Protocol

import msgspec

from alerting.config import AlertingSettings
from stream.access import AuthConfig
from stream.config import Section


class ServerConfig(Section, frozen=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8700
    # per topic; 8 keeps publish -> client p99 under 250 ms (docs/server.md, bench/fanout.py)
    ws_max_updates_per_s: Annotated[float, msgspec.Meta(gt=0, le=100)] = 8.0
    ws_max_connections: Annotated[int, msgspec.Meta(ge=1)] = 5000
    ws_max_per_token: Annotated[int, msgspec.Meta(ge=1)] = 1000  # connections of one token
    ws_max_per_address: Annotated[int, msgspec.Meta(ge=1)] = 100  # of one client address
    # a connection's operations: one per message, one more per further topic it names
    ws_client_ops_per_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    ws_client_ops_burst: Annotated[int, msgspec.Meta(ge=1)] = 100
    ws_queue_limit: Annotated[int, msgspec.Meta(ge=1)] = 64
    ws_heartbeat_s: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    ws_stuck_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    cors_origins: tuple[str, ...] = ()
    # wrong tokens per client address per minute before every token from it gets 429
    auth_failures_per_min: Annotated[int, msgspec.Meta(ge=1)] = 30
    session_days: Annotated[float, msgspec.Meta(gt=0)] = 30.0  # page session cookie, sliding
    survey_cooldown_min: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    survey_rate_per_min: Annotated[int, msgspec.Meta(ge=1)] = 10
    # answers beyond these within survey_burst_window_min are held for a supervisor
    survey_burst_window_min: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    survey_burst_per_address: Annotated[int, msgspec.Meta(ge=1)] = 3
    survey_burst_per_location: Annotated[int, msgspec.Meta(ge=1)] = 20
    survey_held_max: Annotated[int, msgspec.Meta(ge=1)] = 1000
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


class ServerSettings(AlertingSettings, Protocol):
    """What the server reads: its own section, the tokens, the alerts and the stream's."""

    @property
    def server(self) -> ServerConfig: ...
    @property
    def auth(self) -> AuthConfig: ...
