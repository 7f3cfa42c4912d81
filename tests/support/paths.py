"""Where things are: the repository root and the folder for test artifacts (screenshots)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / ".artifacts"
DATA = ROOT / "tests" / "data"  # labelled sets and small fixtures
