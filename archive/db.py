"""Opening the DuckDB file: offline, bounded, migrated.

DuckDB would download an extension the first time a query needs one (fts, httpfs...);
target machines have no internet, so auto-install and auto-load are switched off and
nothing here needs more than what the wheel links in (parquet, json, icu, core
functions). ``memory_limit`` and ``threads`` keep the archive from crowding the core.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

OFFLINE = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}


def connect(path: str | Path, *, memory_limit_mb: int = 1024, threads: int = 2,
            read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the archive file (``:memory:`` for tests), parent dir created."""
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int] = {
        **OFFLINE, "memory_limit": f"{memory_limit_mb}MB", "threads": threads,
        "preserve_insertion_order": False,
    }
    return duckdb.connect(target, read_only=read_only, config=config)  # type: ignore[arg-type]


def archive_path(data_dir: str, path: str) -> Path:
    """Where the archive lives: ``path`` under ``[core] data_dir`` unless absolute."""
    p = Path(path)
    return p if p.is_absolute() else Path(data_dir) / p
