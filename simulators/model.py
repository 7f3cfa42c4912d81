"""The simulated network: locations with their own quality profile, staff and devices.

Location profiles are derived from the location id alone, so a location keeps its
character (the good branch, the struggling one) from run to run; the run seed only
changes the traffic.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec

from stream.config import StreamSettings
from stream.events import InputEvent

TOUCHPOINTS = ("entrance", "consultation", "cashdesk", "pickup", "exit")
# A location whose id or name says so is a contact centre: far more incoming contacts,
# surveys by SMS / web after the call instead of a terminal in a hall.
CONTACT_CENTRE = re.compile(
    r"(^|[-_ ])(kc|cc)($|[-_ ])|контакт-?\s?центр|колл-?\s?центр|call.?cent|contact.?cent|\bКЦ\b",
    re.IGNORECASE)
_WIRE = msgspec.json.Encoder()


class Ids:
    """Event ids ``{tag}-{location}-{code}{n}``: deterministic per run, unique per event."""

    def __init__(self, tag: str, location: str) -> None:
        self._head = f"{tag}-{location}-"
        self._counts: dict[str, int] = {}

    def next(self, code: str) -> str:
        n = self._counts.get(code, 0) + 1
        self._counts[code] = n
        return f"{self._head}{code}{n}"


def wire(event: InputEvent) -> bytes:
    """The event's JSON as the simulators publish it: absent optional fields are left out,
    never sent as ``null`` (the contract's optional numbers are absent or numbers)."""
    tag = event.__struct_config__.tag
    body: dict[str, Any] = {} if tag is None else {"type": tag}
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if value is not None:
            body[name] = value
    return _WIRE.encode(body)


def is_contact_centre(loc_id: str, name: str = "") -> bool:
    """Whether a location is a contact centre, from its id (``msk-kc``) or name."""
    return bool(CONTACT_CENTRE.search(loc_id) or CONTACT_CENTRE.search(name))


class Emission(NamedTuple):
    """One simulated contract event and where it goes (``kind`` is the input feed)."""

    ts_ms: int
    kind: str  # "feedback" | "flow" | "incident"
    location: str
    event: InputEvent


@dataclass(frozen=True)
class SimLocation:
    """Everything the generators need to know about one location."""

    id: str
    region: str
    timezone: str
    language: str
    quality: float  # mean latent satisfaction, 0..1
    traffic: float  # visitors relative to a typical branch
    flow_scale: float  # incoming contacts relative to a typical branch
    response_rate: float  # survey sessions per visit
    button_scale: int  # 3..5 buttons on the loyalty remote
    staff: tuple[str, ...]
    staff_skill: tuple[float, ...]  # additive quality offset per staff member
    button_devices: tuple[tuple[str, str], ...]  # (device, touchpoint)
    terminal: str
    mics: tuple[str, ...]
    configured: bool = True
    contact_centre: bool = False


def run_tag(seed: int, scenario: str, start_ms: int) -> str:
    """Short id prefix unique to (seed, scenario, start): re-runs never collide on ids."""
    digest = hashlib.blake2b(f"{seed}:{scenario}:{start_ms}".encode(), digest_size=4)
    return digest.hexdigest()


def sim_location(
    loc_id: str, region: str, timezone: str, language: str, configured: bool = True,
    contact_centre: bool = False,
) -> SimLocation:
    """A location's seeded profile (from its id): quality, traffic, staff, devices.

    A contact centre handles 6-10 times the incoming contacts of a branch."""
    rng = random.Random(f"profile:{loc_id}")
    n_staff = rng.randint(4, 8)
    skills = [round(rng.gauss(0, 0.05), 3) for _ in range(n_staff)]
    skills[rng.randrange(n_staff)] = -0.12  # every team has someone who struggles
    scale = rng.choice((3, 3, 5, 5, 5, 4))
    n_buttons = rng.randint(1, 3)
    touch = rng.sample(TOUCHPOINTS[:4], n_buttons)
    return SimLocation(
        id=loc_id,
        region=region,
        timezone=timezone,
        language=language,
        quality=round(rng.uniform(0.76, 0.92), 3),
        traffic=round(rng.uniform(0.6, 1.4), 3),
        flow_scale=round(rng.uniform(6, 10) if contact_centre else rng.uniform(0.5, 1.5), 3),
        response_rate=round(rng.uniform(0.2, 0.8), 3),
        button_scale=scale,
        staff=tuple(f"{loc_id}-e{i + 1:02d}" for i in range(n_staff)),
        staff_skill=tuple(skills),
        button_devices=tuple((f"{loc_id}-btn{i + 1}", tp) for i, tp in enumerate(touch)),
        terminal=f"{loc_id}-term1",
        mics=("desk1",) if rng.random() < 0.6 else ("desk1", "desk2"),
        configured=configured,
        contact_centre=contact_centre,
    )


def build_network(cfg: StreamSettings, extra: int = 0) -> tuple[SimLocation, ...]:
    """The config's locations plus ``extra`` generated ones (``sim-001``, ...).

    Generated locations are unknown to the core, which reports them in its default time
    zone, so they get that zone too (their hour profile then lines up with the core's).
    """
    default_tz = cfg.core.default_timezone
    out = [
        sim_location(loc.id, loc.region, loc.timezone or _region_tz(cfg, loc.region) or default_tz,
                     loc.language or cfg.core.language,
                     contact_centre=is_contact_centre(loc.id, loc.name))
        for loc in cfg.locations
    ]
    regions = [r.id for r in cfg.regions] or ["sim-a", "sim-b", "sim-c"]
    for i in range(extra):
        out.append(sim_location(f"sim-{i + 1:03d}", regions[i % len(regions)], default_tz,
                                cfg.core.language, configured=False))
    if not out:
        out.append(sim_location("sim-001", regions[0], default_tz, cfg.core.language,
                                configured=False))
    return tuple(out)


def _region_tz(cfg: StreamSettings, region: str) -> str:
    for r in cfg.regions:
        if r.id == region:
            return r.timezone
    return ""
