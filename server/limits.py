"""Abuse limits as pure counters (time passed in, bounded memory): no I/O, tested directly.

- ``SlidingLog`` — events per key within the last ``window_s``; remembers ``max_keys``
  keys (the least recently touched go first), so a flood of new keys costs bounded memory;
- ``Strikes`` — wrong tokens per client address: at ``limit`` within a minute the address
  is throttled (every token it presents gets 429) until the oldest strike ages out;
- ``TokenBucket`` — a websocket connection's operations: ``rate_per_s`` refill up to
  ``burst``; a client that spends more than it has is flooding.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable


class SlidingLog:
    """Timestamps of events per key within the last ``window_s`` seconds."""

    def __init__(self, window_s: float, max_keys: int = 10_000) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._log: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _events(self, key: Hashable, now_s: float) -> deque[float] | None:
        events = self._log.get(key)
        if events is None:
            return None
        while events and events[0] <= now_s - self.window_s:
            events.popleft()
        if not events:
            del self._log[key]
            return None
        return events

    def count(self, key: Hashable, now_s: float) -> int:
        events = self._events(key, now_s)
        return len(events) if events is not None else 0

    def add(self, key: Hashable, now_s: float) -> None:
        events = self._events(key, now_s)
        if events is None:
            events = self._log[key] = deque()
            while len(self._log) > self.max_keys:
                self._log.popitem(last=False)
        else:
            self._log.move_to_end(key)
        events.append(now_s)

    def free_in_s(self, key: Hashable, now_s: float) -> float:
        """Seconds until the oldest event of ``key`` leaves the window (0: none)."""
        events = self._events(key, now_s)
        return max(0.0, events[0] + self.window_s - now_s) if events else 0.0


class Strikes:
    """Failed authentications per client address; ``limit`` a minute throttles it."""

    def __init__(self, limit: int, max_keys: int = 10_000) -> None:
        self.limit = limit
        self._log = SlidingLog(60.0, max_keys)

    def strike(self, key: str, now_s: float) -> None:
        self._log.add(key, now_s)

    def retry_after_s(self, key: str, now_s: float) -> float:
        """0 when ``key`` may try a token now, else the seconds until it may."""
        if self._log.count(key, now_s) < self.limit:
            return 0.0
        return max(1.0, self._log.free_in_s(key, now_s))


class TokenBucket:
    """``rate_per_s`` operations a second on average, ``burst`` at once."""

    __slots__ = ("_at", "_level", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: int, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self._level = float(burst)
        self._at = now_s

    def spend(self, cost: float, now_s: float) -> bool:
        """Take ``cost`` operations; False (nothing taken) when there are not enough."""
        self._level = min(self.burst, self._level + (now_s - self._at) * self.rate_per_s)
        self._at = now_s
        if cost > self._level:
            return False
        self._level -= cost
        return True
