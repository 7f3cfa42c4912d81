"""Issue 14 #5 (the server's part): the server publishes with ``Nats-Msg-Id`` =
``{location}:{id}`` (contract v2 "Ids"), so one location's id cannot suppress another's in
JetStream's duplicate window; supervisors may not post feedback, terminals may for their
own locations, admins (integrations) anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stream.access import hash_token
from stream.nats_io import stream_names
from tests.support.network import button, config_text, now_ms, serving
from tests.support.stack import Stack

TERMINAL = "t-terminal-a"
TERMINAL_TOKEN = (f'\n[[auth.tokens]]\nname = "terminal-a"\nsha256 = "{hash_token(TERMINAL)}"\n'
                  'role = "terminal"\nlocations = ["msk-a"]\n')


async def stored(live: Stack, stream: str) -> list[tuple[dict[str, str], bytes]]:
    """Every message of a JetStream stream: (headers, data)."""
    js = live.js
    name = stream_names(live.cfg.nats.prefix)[stream]
    state = (await js.stream_info(name)).state
    out = []
    for seq in range(state.first_seq, state.last_seq + 1):
        msg = await js.get_msg(name, seq)
        assert msg.data is not None
        out.append((dict(msg.headers or {}), msg.data))
    return out


def nps(location: str, event_id: str, value: int = 9) -> dict[str, Any]:
    return {"id": event_id, "ts": now_ms() - 1000, "location": location, "type": "nps",
            "value": value}


async def test_the_same_id_at_two_locations_is_stored_twice_with_scoped_ids(live: Stack) -> None:
    async with live.http("admin") as h:
        a = await h.post("/api/feedback", json=nps("msk-a", "same-1"))
        b = await h.post("/api/feedback", json=nps("msk-b", "same-1"))
        again = await h.post("/api/feedback", json=nps("msk-a", "same-1"))  # a true duplicate
    assert (a.status_code, b.status_code, again.status_code) == (202, 202, 202)
    ids = [h.get("Nats-Msg-Id") for h, _ in await stored(live, "input")]
    assert ids == ["msk-a:same-1", "msk-b:same-1"]


async def test_survey_answers_are_published_with_scoped_ids(live: Stack) -> None:
    async with live.http() as phone:
        r = await phone.post("/q/msk-a", json={"nps": 10, "csi": {"speed": 5}})
    assert r.status_code == 202
    session = r.json()["session"]
    ids = sorted(h["Nats-Msg-Id"] for h, _ in await stored(live, "input"))
    assert ids == [f"msk-a:qr-{session}-nps", f"msk-a:qr-{session}-speed"]


async def test_who_may_post_feedback(tmp_path: Path) -> None:
    async with serving(tmp_path, config_text() + TERMINAL_TOKEN) as live:
        got = {}
        for who, location in [("admin", "ekb"), ("sup_msk", "msk-a"), ("sup_ekb", "ekb"),
                              ("display_a", "msk-a"), ("terminal", "msk-a"),
                              ("terminal", "msk-b")]:
            headers = ({"Authorization": f"Bearer {TERMINAL}"} if who == "terminal" else {})
            async with live.http(None if who == "terminal" else who) as h:
                r = await h.post("/api/feedback", json=button(location, 2), headers=headers)
            got[(who, location)] = r.status_code
        async with live.http() as h:
            reads = (await h.get("/api/metrics/msk-a", headers={
                "Authorization": f"Bearer {TERMINAL}"})).status_code
    assert got == {("admin", "ekb"): 202, ("sup_msk", "msk-a"): 403, ("sup_ekb", "ekb"): 403,
                   ("display_a", "msk-a"): 403, ("terminal", "msk-a"): 202,
                   ("terminal", "msk-b"): 403}
    assert reads == 403  # a terminal posts, it does not read
