"""Fixtures of the text tests: the labelled sets under tests/data and one shared tagger."""

from __future__ import annotations

from pathlib import Path

import pytest

from text import Tagger

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    """The default tagger, compiled once (loads pymorphy3's dictionaries)."""
    return Tagger()
