"""The wall's calls of the case API, on behalf of the person looking at the wall.

The wall process talks to the server with its own token (``Feed.http``, server-side: the
browser never holds it). A case action is the viewer's, not the wall's: every call names
the viewer (``X-Cxpulse-On-Behalf-Of``: the viewer's token name, as the wall's gate
authenticated it), and the server -- which honours that header only from tokens in
``[cases] delegates`` -- checks the viewer's scopes and signs the step with the viewer's
name (``server/cases_api.py``). When the viewer is the wall's own token, no header is sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from stream.readmodel import IncidentView

ON_BEHALF = "X-Cxpulse-On-Behalf-Of"
STAFF_SAMPLE = 500  # latest feedback items whose staff ids the assign picker offers


class CaseError(RuntimeError):
    """The server refused a case action; the message is the server's."""


class CaseClient:
    def __init__(self, http: httpx.AsyncClient, viewer: str | None) -> None:
        self.http = http
        self.headers = {ON_BEHALF: viewer} if viewer else {}

    async def case(self, location: str, incident: str) -> IncidentView | None:
        """The case as ``/api/incidents`` has it now (resolved ones included)."""
        r = await self.http.get("/api/incidents", params={"location": location},
                                headers=self.headers)
        if r.status_code != 200:
            raise CaseError(_message(r))
        views = msgspec.json.decode(r.content, type=list[IncidentView])
        return next((v for v in views if v.incident == incident), None)

    async def act(self, location: str, incident: str, action: str,
                  body: dict[str, Any]) -> str:
        """One step; returns the step's id (the server answered 202)."""
        try:
            r = await self.http.post(f"/api/incidents/{incident}/{action}",
                                     json={**body, "location": location}, headers=self.headers)
        except httpx.HTTPError as exc:
            raise CaseError(str(exc) or type(exc).__name__) from None
        if r.status_code != 202:
            raise CaseError(_message(r))
        return str(r.json().get("id", ""))

    async def staff(self, location: str) -> list[str]:
        """Staff ids seen in the location's recent feedback (the archive's records; an
        empty list when the archive is not running)."""
        try:
            r = await self.http.get("/api/feedback", params={"scope": location,
                                                             "limit": STAFF_SAMPLE})
        except httpx.HTTPError:
            return []
        if r.status_code != 200:
            return []
        items = r.json().get("items", [])
        return sorted({i["staff"] for i in items if isinstance(i, dict) and i.get("staff")})


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return f"{r.status_code}: {message or r.text}"
