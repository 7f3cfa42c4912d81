"""Shared fixtures: repository paths and a clock for pure tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def nats_server(tmp_path):
    """A real nats-server with JetStream on a free port, stopped after the test."""
    from stream.nats_server import EmbeddedNats

    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()
