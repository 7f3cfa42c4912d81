"""Fixtures of the simulator tests: the small network's config (``tests.support.sim_network``)."""

from __future__ import annotations

import pytest

from cxpulse.config import Config, load_config_text
from tests.support.sim_network import CONFIG


@pytest.fixture(scope="session")
def cfg() -> Config:
    return load_config_text(CONFIG)
