"""Voice end-to-end fixtures: one real nats-server, and per test module the core, a voice
worker and an ASR worker (``tests.support.stack`` with ``voice=``); the clips of
``simulators/clips``. Helpers live in ``tests.support.voice``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from simulators.audio import Clip, load_clips
from stream.nats_server import EmbeddedNats
from tests.support.stack import running
from tests.support.voice import FAST, voice_config


@pytest.fixture(scope="session")
def clips() -> dict[str, Clip]:
    return {c.info.file: c for c in load_clips()}


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(nats: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """The real core, a voice worker and one ASR worker on the ``cx`` prefix: the voice
    parts (``tests.support.voice.voice_stack``) with the core as ``.core``."""
    data_dir = tmp_path_factory.mktemp("data")
    async with running(voice_config(str(data_dir)), data_dir, nats_url=nats.url,
                       voice=FAST) as s:
        s.voice.core = s.core
        yield s.voice
