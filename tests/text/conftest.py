"""Fixtures of the text tests: the labelled sets under tests/data and one shared tagger."""

from __future__ import annotations

import pytest

from text import Tagger


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    """The default tagger, compiled once (loads pymorphy3's dictionaries)."""
    return Tagger()
