"""The QR survey's defences against stuffing (pure; time passed in, bounded memory).

The survey is public, so one person can answer as often as they can clear cookies. Three
layers, checked in this order for each submitted answer:

1. **Rate** (``survey.RateLimiter``): requests to ``/q/…`` per client address per minute.
2. **Device cooldown**: one answer per device and location per
   ``[server] survey_cooldown_min``, where a device is the signed cookie *or* the client
   address + User-Agent (``DeviceCooldown``, an HMAC of both, kept server-side). Dropping
   the cookie does not help; a second phone of the same model on the same Wi-Fi waits too
   (the price of not trusting cookies).
3. **Burst budget** (``SurveyBudget``): an answer is *held* instead of published when its
   address already gave ``survey_burst_per_address`` answers to that location within
   ``survey_burst_window_min``, or the location already got ``survey_burst_per_location``
   answers from anyone in that window (every received answer counts, held or not). A held
   answer never reaches NATS or the metrics unless a supervisor of its location (or an
   admin) accepts it (``/api/survey/held``); ``HeldAnswers`` keeps at most
   ``survey_held_max`` (the oldest are dropped and counted) and forgets them on restart.

So ten ``{"nps": 0}`` from one phone count once (cooldown), and ten from one address with
ten User-Agents count ``survey_burst_per_address`` times; a location-wide burst from many
addresses (a botnet, or a chat group told to vote) is held beyond the location's budget.
The sender always gets the same 202: it is not told its answer was held.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections import OrderedDict
from typing import Literal

import msgspec

from server.config import ServerSettings
from server.limits import SlidingLog
from server.survey import CooldownCookie, RateLimiter

HoldReason = Literal["address", "location"]


class DeviceCooldown:
    """When a device (location + address + User-Agent) last answered, server-side."""

    def __init__(self, secret: bytes, cooldown_s: float, max_keys: int = 100_000) -> None:
        self.secret = secret
        self.cooldown_s = cooldown_s
        self.max_keys = max_keys
        self._last: OrderedDict[str, float] = OrderedDict()

    def key(self, location: str, address: str, agent: str) -> str:
        """The device's key: an HMAC, so the table holds no addresses."""
        text = f"{location}\0{address}\0{agent[:512]}".encode(errors="replace")
        return hmac.new(self.secret, text, hashlib.sha256).hexdigest()[:32]

    def wait_s(self, key: str, now_s: float) -> float:
        last = self._last.get(key)
        if last is None:
            return 0.0
        wait = last + self.cooldown_s - now_s
        if wait <= 0:
            del self._last[key]
            return 0.0
        return wait

    def mark(self, key: str, now_s: float) -> None:
        if self.cooldown_s <= 0:
            return
        self._last[key] = now_s
        self._last.move_to_end(key)
        while len(self._last) > self.max_keys:
            self._last.popitem(last=False)


class SurveyBudget:
    """Answers per (location, address) and per location within a sliding window."""

    def __init__(self, per_address: int, per_location: int, window_s: float) -> None:
        self.per_address = per_address
        self.per_location = per_location
        self._by_address = SlidingLog(window_s, max_keys=100_000)
        self._by_location = SlidingLog(window_s, max_keys=100_000)

    def verdict(self, location: str, address: str, now_s: float) -> HoldReason | None:
        """Why the next answer must be held, or None to publish it."""
        if self._by_address.count((location, address), now_s) >= self.per_address:
            return "address"
        if self._by_location.count(location, now_s) >= self.per_location:
            return "location"
        return None

    def record(self, location: str, address: str, now_s: float) -> None:
        self._by_address.add((location, address), now_s)
        self._by_location.add(location, now_s)


class HeldAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A survey answer held out of the metrics, as supervisors review it."""

    id: str
    location: str
    received_ms: int
    reason: HoldReason
    device: str  # a short hash: equal for answers from the same address + User-Agent
    nps: int
    why: str = ""
    csi: dict[str, int] = {}


class HeldAnswers:
    """The review queue: at most ``max_items`` answers, oldest dropped first."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[HeldAnswer, list[bytes]]] = OrderedDict()
        self._ids = itertools.count(1)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def new_id(self) -> str:
        return f"h{next(self._ids)}"

    def hold(self, answer: HeldAnswer, events: list[bytes]) -> None:
        """Keep ``answer`` with the contract events it becomes when accepted."""
        self._items[answer.id] = (answer, events)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
            self.dropped += 1

    def listing(self) -> list[HeldAnswer]:
        """Every held answer, oldest first."""
        return [answer for answer, _ in self._items.values()]

    def get(self, held_id: str) -> HeldAnswer | None:
        item = self._items.get(held_id)
        return item[0] if item is not None else None

    def take(self, held_id: str) -> list[bytes] | None:
        """Remove an answer; its events (None when it is not held)."""
        item = self._items.pop(held_id, None)
        return item[1] if item is not None else None


class SurveyGuard:
    """The survey's limits together (module docstring): rate, device cooldown (cookie and
    address + User-Agent), burst budget and the held answers."""

    def __init__(self, cfg: ServerSettings, secret: bytes) -> None:
        srv = cfg.server
        cooldown_s = srv.survey_cooldown_min * 60.0
        self.rate = RateLimiter(srv.survey_rate_per_min)
        self.cooldown = CooldownCookie(secret, cooldown_s)
        self.devices = DeviceCooldown(secret, cooldown_s)
        self.budget = SurveyBudget(srv.survey_burst_per_address, srv.survey_burst_per_location,
                                   srv.survey_burst_window_min * 60.0)
        self.held = HeldAnswers(srv.survey_held_max)

    def wait_s(self, cookie: str | None, device: str, location: str, now_s: float) -> float:
        """Seconds until this device may answer at ``location`` again (0: now)."""
        return max(self.cooldown.wait_s(cookie, location, now_s),
                   self.devices.wait_s(device, now_s))
