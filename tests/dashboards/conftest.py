"""Fixtures of the wall's tests: ``system`` is the whole system in one event loop (the
real core, alert service, server and dashboards on free ports, seeded with
``seed.scenario``); ``browser`` a headless Chromium whose pages must raise no error and
request nothing outside this machine (``tests.support.wall``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stream.nats_server import EmbeddedNats
from tests.support.browser import chromium
from tests.support.stack import Stack
from tests.support.wall import PAGE_ERRORS, wall_stack


@pytest.fixture
async def system(tmp_path: Path, nats_server: EmbeddedNats) -> AsyncIterator[Stack]:
    async with wall_stack(tmp_path, nats_server.url) as stack:
        yield stack


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    PAGE_ERRORS.clear()
    async with chromium() as b:
        yield b
    assert not PAGE_ERRORS, f"errors in the wall's pages: {PAGE_ERRORS}"
