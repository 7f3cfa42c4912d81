"""Shared fixtures: repository paths, a real nats-server, the committed audio clips."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.audio import CLIPS, Manifest, Track, build_track
from tests.support.days import midnight_within

if TYPE_CHECKING:
    from stream.nats_server import EmbeddedNats

ROOT = Path(__file__).resolve().parent.parent


MIDNIGHT_GUARD_S = 60.0  # longer than any one test


@pytest.fixture(autouse=True)
def _not_across_a_local_midnight() -> None:
    """A test publishes events "now" and reads them back as "today": it must not straddle a
    local midnight of the zones the suite runs on, so one about to start within a minute
    of such a midnight waits until it has passed (at most once per zone in a run)."""
    wait = midnight_within(MIDNIGHT_GUARD_S)
    if wait is not None:
        time.sleep(wait + 1.0)


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A real nats-server with JetStream on a free port, stopped after the test."""
    from stream.nats_server import EmbeddedNats

    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    clips: Manifest = json.loads((CLIPS / "manifest.json").read_text(encoding="utf-8"))
    return clips


@pytest.fixture(scope="session")
def mixed_track() -> Track:
    names = ["ru_greeting_1.wav", "en_question_1.wav", "ru_complaint_2.wav", "en_thanks_1.wav",
             "ru_question_2.wav", "en_shouting_1.wav"]
    return build_track(names)
