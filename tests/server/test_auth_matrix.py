"""Each role x each endpoint and topic, against the running server."""

from __future__ import annotations

import pytest
import websockets

from tests.support.network import button, token
from tests.support.stack import Stack, close_frame

WHO = (None, "bogus", "admin", "sup_msk", "sup_ekb", "display_a")
A = 401  # shorthand for the two unauthenticated columns

# (method, path, body location or None) -> statuses in the order of WHO
HTTP = [
    ("GET", "/api/health", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/schema/openapi.json", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/q/msk-a", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/api/metrics/network", None, (A, A, 200, 403, 403, 403)),
    ("GET", "/api/metrics/msk", None, (A, A, 200, 200, 403, 403)),
    ("GET", "/api/metrics/msk-a", None, (A, A, 200, 200, 403, 403)),
    ("GET", "/api/metrics/ekb?window=7d", None, (A, A, 200, 403, 200, 403)),
    ("GET", "/api/metrics/msk-a/profile", None, (A, A, 200, 200, 403, 403)),
    ("GET", "/api/incidents", None, (A, A, 200, 200, 200, 403)),
    ("GET", "/api/incidents?location=msk-a", None, (A, A, 200, 200, 403, 403)),
    ("GET", "/api/incidents?scope=ural", None, (A, A, 200, 403, 403, 403)),
    ("GET", "/api/locations", None, (A, A, 200, 200, 200, 200)),
    ("GET", "/api/display/msk-a", None, (A, A, 200, 200, 403, 200)),
    ("GET", "/api/display/ekb", None, (A, A, 200, 403, 200, 403)),
    ("POST", "/api/feedback", "msk-a", (A, A, 202, 403, 403, 403)),  # supervisors read only
    ("POST", "/api/feedback", "ekb", (A, A, 202, 403, 403, 403)),
    ("PAGE", "/display/msk-a", None, (A, A, 200, 200, 403, 200)),
    ("PAGE", "/display/ekb", None, (A, A, 200, 403, 200, 403)),
]


def _token(who: str | None) -> str | None:
    if who is None:
        return None
    return "not-a-token" if who == "bogus" else token(who)


async def test_http_matrix(live: Stack) -> None:
    problems = []
    async with live.http() as h:
        for method, path, loc, expected in HTTP:
            for who, want in zip(WHO, expected, strict=True):
                tok = _token(who)
                headers = {"Authorization": f"Bearer {tok}"} if tok and method != "PAGE" else {}
                if method == "POST":
                    assert loc is not None
                    r = await h.post(path, json=button(loc, 2), headers=headers)
                elif method == "PAGE":  # ?token= as a browser opens it: exchanged for a
                    h.cookies.clear()  # session cookie, then the page without the token
                    r = await h.get(path, params={"token": tok} if tok else None,
                                    follow_redirects=True)
                    assert "token" not in str(r.url), r.url
                else:
                    r = await h.get(path, headers=headers)
                if r.status_code != want:
                    problems.append(f"{who} {method} {path}: {r.status_code} != {want}")
    assert problems == []


async def test_query_token_works_for_the_api_too(live: Stack) -> None:
    async with live.http() as h:
        r = await h.get("/api/metrics/msk", params={"token": token("sup_msk")})
    assert r.status_code == 200


TOPICS = ["metrics:network", "metrics:msk", "metrics:msk-a", "display:msk-a", "display:ekb",
          "incidents:msk-a", "incidents:network", "voice:msk-a", "alerts"]
OK, NO = "ok", "forbidden"
WS = {  # topic -> outcome per role (admin, sup_msk, sup_ekb, display_a)
    "metrics:network": (OK, NO, NO, NO),
    "metrics:msk": (OK, OK, NO, NO),
    "metrics:msk-a": (OK, OK, NO, NO),
    "display:msk-a": (OK, OK, NO, OK),
    "display:ekb": (OK, NO, OK, NO),
    "incidents:msk-a": (OK, OK, NO, NO),
    "incidents:network": (OK, NO, NO, NO),
    "voice:msk-a": (OK, OK, NO, NO),
    "alerts": ("not_found", "not_found", "not_found", NO),  # no alert service in this server
}


@pytest.mark.parametrize(("role", "col"), [("admin", 0), ("sup_msk", 1), ("sup_ekb", 2),
                                           ("display_a", 3)])
async def test_websocket_topic_matrix(live: Stack, role: str, col: int) -> None:
    ws = await live.ws(role)
    await ws.send(op="subscribe", topics=TOPICS, id=1)
    ack = await ws.next(type="subscribed")
    errors = {m["topic"]: m["code"] for m in ws.seen if m["type"] == "error"}
    outcome = {t: ("ok" if t in ack["topics"] else errors.get(t)) for t in TOPICS}
    assert outcome == {t: WS[t][col] for t in TOPICS}
    for topic in ack["topics"]:  # the reply comes first, then a snapshot per topic
        snap = await ws.next(type="snapshot", topic=topic)
        if role == "display_a":  # the display subset only
            assert set(snap["data"]) == {"location", "name", "day_start_ms", "ratings", "buttons",
                                         "shares", "counts", "index"}


@pytest.mark.parametrize("query", ["", "?token=not-a-token"])
async def test_websocket_without_a_valid_token_is_closed(live: Stack, query: str) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{live.port}/ws{query}") as conn:
        first = await conn.recv()
        with pytest.raises(websockets.ConnectionClosed) as info:
            await conn.recv()
    assert '"unauthorized"' in first
    assert close_frame(info.value).code == 4001
