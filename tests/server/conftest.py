"""Fixtures of the server tests: ``live`` is the small network (``tests.support.network``)
served by the real core and server on a free port, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.network import serving
from tests.support.stack import Stack


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Stack]:
    async with serving(tmp_path) as server:
        yield server
