"""Incoming flow of one location: contacts by channel with wait / handle / hold and FCR.

Per-channel timing reflects how each channel works: a call waits seconds, a site form
or a marketplace review waits for an answer for minutes to hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulators.model import Emission, Ids, SimLocation
from simulators.profiles import CHANNEL_MIX, lognormal_s, pick
from stream.events import FlowEvent

MAX_WAIT_S = 3 * 86400.0


@dataclass(frozen=True)
class ChannelTiming:
    answered: float  # probability the contact gets an answer
    wait_median_s: float
    handle_median_s: float
    hold_share: float  # share of answered contacts put on hold
    queues: tuple[str, ...]


TIMING: dict[str, ChannelTiming] = {
    "phone": ChannelTiming(0.94, 25, 210, 0.3, ("sales", "support", "orders")),
    "site": ChannelTiming(0.98, 900, 300, 0.0, ("web",)),
    "marketplace": ChannelTiming(0.97, 3 * 3600, 180, 0.0, ("reviews",)),
    "social": ChannelTiming(0.96, 1800, 240, 0.0, ("social",)),
    "email": ChannelTiming(0.99, 4 * 3600, 400, 0.0, ("mail",)),
    "other": ChannelTiming(0.9, 600, 240, 0.0, ("other",)),
}
FCR = 0.9


@dataclass(frozen=True)
class FlowStress:
    """How hard the shift is: longer waits, fewer answers, fewer first-contact resolutions."""

    wait_mult: float = 1.0
    answer_drop: float = 0.0
    fcr_drop: float = 0.0


class FlowGen:
    """Seeded generator of one location's incoming contacts."""

    def __init__(self, loc: SimLocation, rng: random.Random, ids: Ids) -> None:
        self.loc = loc
        self.rng = rng
        self.ids = ids

    def contact(self, ts_ms: int, stress: FlowStress) -> Emission:
        """One contact on a channel drawn from the domain's mix."""
        rng = self.rng
        channel = pick(rng, CHANNEL_MIX)
        timing = TIMING[channel]
        answered = rng.random() < max(timing.answered - stress.answer_drop, 0.0)
        wait = lognormal_s(rng, timing.wait_median_s * stress.wait_mult, 0.8, MAX_WAIT_S)
        handle = hold = fcr = None
        if answered:
            handle = lognormal_s(rng, timing.handle_median_s, 0.5, 4 * 3600)
            if rng.random() < timing.hold_share:
                hold = lognormal_s(rng, 40, 0.6, 1800)
            fcr = rng.random() < max(FCR - stress.fcr_drop, 0.0)
        elif channel == "phone":
            wait = lognormal_s(rng, 60 * stress.wait_mult, 0.6, 1800)  # waited, then hung up
        event = FlowEvent(
            id=self.ids.next("f"), ts=ts_ms, location=self.loc.id, channel=channel,  # type: ignore[arg-type]
            answered=answered, wait_s=wait, handle_s=handle, hold_s=hold,
            first_contact_resolved=fcr, queue=rng.choice(timing.queues),
        )
        return Emission(ts_ms, "flow", self.loc.id, event)
