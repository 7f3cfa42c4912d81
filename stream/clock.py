"""The wall clock, in one place: epoch milliseconds, injectable for tests.

Components take a ``Clock`` (a zero-argument callable returning epoch ms) with
``wall_ms`` as the default, so a test can drive time without patching ``time``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def wall_ms() -> int:
    """Now, in epoch milliseconds."""
    return int(time.time() * 1000)
