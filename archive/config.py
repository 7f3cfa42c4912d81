"""The ``[archive]`` section and the settings the archive reads.

The archive keeps every accepted record for ``retention_days`` in a DuckDB file under
``[core] data_dir`` (``{data_dir}/{path}``). ``batch_size`` bounds one write transaction;
``lease_s`` is how long a dead writer's lease blocks a takeover; ``query_timeout_s`` how
long a forwarded query waits for the writer.
"""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from stream.config import Section, StreamSettings


class ArchiveConfig(Section, frozen=True):
    enabled: bool = True
    path: str = "archive/cx.duckdb"  # relative to [core] data_dir
    retention_days: Annotated[int, msgspec.Meta(ge=31, le=36500)] = 1100
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=50_000)] = 20_000
    rollup_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    prune_at: str = "03:30"  # local time of the network zone for the daily pruning
    lease_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 15.0
    query_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 30.0
    memory_limit_mb: Annotated[int, msgspec.Meta(ge=64)] = 1024
    threads: Annotated[int, msgspec.Meta(ge=1, le=256)] = 2

    def __post_init__(self) -> None:
        hh, _, mm = self.prune_at.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"archive.prune_at: {self.prune_at!r} is not HH:MM")


class ArchiveSettings(StreamSettings, Protocol):
    """What the archive reads of the assembled configuration."""

    @property
    def archive(self) -> ArchiveConfig: ...
