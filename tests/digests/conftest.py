"""Fixtures of the digest tests (helpers live in tests/support/digests.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.digests import World
from tests.support.digests import world as make_world


@pytest.fixture
async def world(tmp_path: Path, nats_server: Any) -> AsyncIterator[World]:
    """A filled archive, an SMTP server, a nats-server and a clock the test moves."""
    async with make_world(tmp_path, nats_server.url) as w:
        yield w
