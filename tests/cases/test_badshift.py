"""The bad-shift simulator opens cases at the degraded location, and they show on the wall:
two hours of simulated traffic (degraded half an hour in) through a real NATS, core, case
service, server and wall, the wall opened in headless Chromium."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from cxpulse.config import load_config_text
from simulators.model import build_network, wire
from simulators.traffic import generate, make_plan, questionnaire
from stream.access import hash_token
from stream.nats_server import EmbeddedNats, free_port
from tests.support.browser import chromium
from tests.support.cases import cases_of
from tests.support.stack import Stack, running, until
from tests.support.wall import WALL_TOKENS, open_wall
from tests.support.wall_seed import SUPERVISOR

pytestmark = pytest.mark.browser
MIN = 60_000
CONFIG = """
[core]
snapshot_interval_s = 3600
[server]
port = {server}
ws_max_updates_per_s = 10
[auth]
[[auth.tokens]]
name = "wall-supervisor"
sha256 = "{sup}"
role = "supervisor"
regions = ["r"]
[[auth.tokens]]
name = "wall-admin"
sha256 = "{admin}"
role = "admin"
[dashboards]
port = {wall}
[cases]
max_age_h = 48
[[regions]]
id = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "bad"
region = "r"
timezone = "Europe/Moscow"
[locations.hours]
mon = "00:00-24:00"
tue = "00:00-24:00"
wed = "00:00-24:00"
thu = "00:00-24:00"
fri = "00:00-24:00"
sat = "00:00-24:00"
sun = "00:00-24:00"
[[locations]]
id = "good"
region = "r"
timezone = "Europe/Moscow"
"""


def daytime_start(real_now_ms: int) -> int:
    """11:00 Moscow time of the latest day on which two hours from then have passed."""
    day, latest = 86_400_000, real_now_ms - 2 * 3_600_000 - MIN
    start = latest // day * day + 8 * 3_600_000
    return start if start <= latest else start - day


async def publish_shift(stack: Stack) -> None:
    """bad-shift ratings and presses (the simulator's own desk incidents are left out:
    the cases here are the ones the rules open)."""
    cfg = stack.cfg
    start = daytime_start(int(time.time() * 1000))
    network = build_network(cfg)
    plan = make_plan(network, "bad-shift", start, start + 2 * 3_600_000, seed=3, target="bad")
    js = (await stack.nats("device")).jetstream()  # as the terminals publish
    for e in generate(plan, network, questionnaire(cfg)):
        if e.kind == "feedback":
            await js.publish_async(f"cx.feedback.{e.location}", wire(e.event),
                                        headers={"Nats-Msg-Id": f"{e.location}:{e.event.id}"})
    await js.publish_async_completed()


async def test_bad_shift_opens_cases_at_the_degraded_location_shown_on_the_wall(
        tmp_path: Path, nats_server: EmbeddedNats) -> None:
    cfg = load_config_text(CONFIG.format(server=free_port(), wall=free_port(),
                                         sup=hash_token(SUPERVISOR),
                                         admin=hash_token(WALL_TOKENS["admin"])))
    cfg = replace(cfg, dashboards=replace(cfg.dashboards, token=SUPERVISOR))  # in memory only
    async with running(cfg, tmp_path, nats_url=nats_server.url, tokens=WALL_TOKENS,
                       server=True, wall=True, cases=True) as stack:
        await publish_shift(stack)
        seen: list[dict[str, Any]] = []

        async def settled() -> bool:
            seen[:] = [c for c in await cases_of(stack) if c["source"] == "auto"]
            return await stack._core().wait_idle(5) and len(seen) > 5

        await until(settled, 30, "cases from the bad shift", lambda: len(seen))
        per_location = Counter(c["location"] for c in seen)
        rules = Counter(c["who"] for c in seen if c["location"] == "bad")
        assert per_location["bad"] > 3 * max(per_location["good"], 1), per_location
        assert any("red-burst" in who for who in rules), rules  # red presses burst there
        assert any("detractor" in who for who in rules), rules
        open_at_bad = {c["incident"] for c in seen if c["location"] == "bad"
                       and c["status"] != "resolved"}
        async with chromium() as browser:
            wall = await open_wall(browser, stack.page("bad", who="admin"))
            rows = wall.locator("tr[data-incident^='c-'] a.case-link")
            await rows.first.wait_for(timeout=20_000)
            shown = {await r.get_attribute("data-incident")
                     for r in await wall.locator("tr[data-incident^='c-']").all()}
            assert shown and shown <= open_at_bad
