"""Shared fixtures: repository paths, a real nats-server, the committed audio clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.support.audio import CLIPS, build_track

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def nats_server(tmp_path: Path):
    """A real nats-server with JetStream on a free port, stopped after the test."""
    from stream.nats_server import EmbeddedNats

    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def manifest() -> list[dict]:
    return json.loads((CLIPS / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def mixed_track() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_], list[tuple[int, int]]]:
    names = ["ru_greeting_1.wav", "en_question_1.wav", "ru_complaint_2.wav", "en_thanks_1.wav",
             "ru_question_2.wav", "en_shouting_1.wav"]
    return build_track(names)
