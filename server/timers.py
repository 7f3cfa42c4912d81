"""The hub's periodic duties, decided on an injected monotonic clock (pure).

- the watchdog looks every ``step_s`` for clients whose send is stuck;
- a heartbeat goes to every client each ``[server] ws_heartbeat_s``;
- computed topics are refreshed each ``[server] ws_refresh_s``: sliding windows move and
  SLA deadlines pass without any new event.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Due:
    """What one housekeeping step has to do besides the watchdog."""

    heartbeat: bool
    refresh: bool


class Timers:
    """Heartbeat and refresh deadlines, started at ``now`` (seconds, monotonic)."""

    def __init__(self, heartbeat_s: float, refresh_s: float, stuck_timeout_s: float,
                 now: float) -> None:
        self.heartbeat_s = heartbeat_s
        self.refresh_s = refresh_s
        self.step_s = min(1.0, stuck_timeout_s / 4, heartbeat_s)  # the watchdog's period
        self._last_beat = now
        self._last_refresh = now

    def due(self, now: float) -> Due:
        """What is due at ``now``; each duty counts as done when reported."""
        beat = now - self._last_beat >= self.heartbeat_s
        refresh = now - self._last_refresh >= self.refresh_s
        if beat:
            self._last_beat = now
        if refresh:
            self._last_refresh = now
        return Due(beat, refresh)
