"""The case card's HTML (pure) and the wall's case client against a stand-in server."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx

from dashboards.casecard import case_card, countdown, heard_summary, span_text
from dashboards.caseclient import ON_BEHALF, CaseClient
from stream.events import IncidentLink, LinkedEncounter
from stream.readmodel import CaseStep, IncidentView

MSK = ZoneInfo("Europe/Moscow")
NOW = int(dt.datetime(2026, 3, 4, 12, 0, tzinfo=MSK).timestamp() * 1000)


def view(**kw: object) -> IncidentView:
    base: dict[str, object] = dict(
        location="msk-a", incident="c-1", category="service", status="open",
        opened_ms=NOW - 3_600_000, assigned_ms=None, resolved_ms=None,
        transfer_deadline_ms=NOW + 1_800_000, resolve_deadline_ms=NOW + 86_400_000,
        breached=False, problem=False, source="auto", text="<script>alert(1)</script>",
        steps=[CaseStep("open", NOW - 3_600_000, "auto:detractor")])
    return IncidentView(**(base | kw))  # type: ignore[arg-type]


def test_the_card_escapes_customer_text_and_counts_down() -> None:
    html = case_card(view(), "Тверская", MSK, NOW, "ru")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "осталось 30 мин" in html and 'class="cd warn"' in html
    late = view(transfer_deadline_ms=NOW - 5_400_000, breached=True)
    assert countdown(late, NOW, "en") == ("overdue by 1 h 30 min", "bad")
    assert span_text(3 * 86_400_000 + 7_200_000, "ru") == "3 д 2 ч"


def test_what_was_heard_in_words() -> None:
    e = LinkedEncounter(id="e", mic="desk-2", start=NOW - 600_000, end=NOW - 300_000,
                        greeting=False, thanks=True, farewell=False, anger_max=0.8,
                        escalation_words=["жалоба"], transcript="Дайте книгу жалоб")
    assert heard_summary(e, "en") == ["no greeting", "no farewell", "raised voice"]
    html = case_card(view(linked=IncidentLink(session="s", rating="nps 2", encounter=e)),
                     "Тверская", MSK, NOW, "ru")
    assert "без приветствия, без прощания, повышенный голос" in html and "desk-2" in html
    assert "«жалоба»" in html and "Дайте книгу жалоб" in html and "NPS 2" in html


async def test_the_client_names_the_viewer_and_offers_staff_seen_in_feedback() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/feedback":
            return httpx.Response(200, json={"items": [{"staff": "cs-2"}, {"staff": None},
                                                       {"staff": "cs-1"}, {"staff": "cs-2"}]})
        return httpx.Response(202, json={"incident": "c-1", "id": "s-1", "location": "msk-a"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(server), base_url="http://x")
    client = CaseClient(http, "ann")
    assert await client.staff("msk-a") == ["cs-1", "cs-2"]
    assert await client.act("msk-a", "c-1", "assign", {"assignee": "cs-1"}) == "s-1"
    assert seen[-1].headers[ON_BEHALF] == "ann" and seen[-1].url.path == "/api/incidents/c-1/assign"
    assert await CaseClient(http, None).act("msk-a", "c-1", "resolve", {}) == "s-1"
    assert ON_BEHALF not in seen[-1].headers
