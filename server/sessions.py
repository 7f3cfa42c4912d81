"""Browser page sessions: a URL token is exchanged once for an opaque cookie.

A page opened as ``/display/{location}?token=…`` gets a new session and a 303 to the same
URL without the token, so the token leaves the address bar, the history and any
``Referer``. The session is kept in Litestar's ``FileStore`` under
``{[core] data_dir}/server/sessions`` (so kiosk displays survive a server restart) and holds
only the token's sha256 digest: removing the token from config ends its sessions; the
cookie itself is a random id (``secrets.token_urlsafe(32)``) and carries nothing.

Litestar's session middleware is not used: it stores a session for every response,
including unauthenticated ones (one file per anonymous request), where a session here is
created only by a valid token.

Cookie ``cx_session``: ``HttpOnly``, ``Path=/``, ``SameSite=Lax`` and ``Secure`` when the
request came over HTTPS (directly or from a trusted proxy). Lax, not Strict: display links
are shared by e-mail, chat or device management, i.e. from another site, and Chromium
does not send Strict cookies on a redirect chain that began cross-site, so the exchange's
redirect would land without its cookie. Lax is still not sent with cross-site
subrequests (no cross-site websocket or fetch gets it); only pages and ``/ws`` accept it,
never the API, and ``/ws`` also checks ``Origin``.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from litestar.datastructures import Cookie
from litestar.stores.file import FileStore

from stream.access import Principal, TokenTable

COOKIE = "cx_session"
_SID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_RENEW_AFTER_MS = 86_400_000  # slide the expiry at most once a day per session


class _Session(msgspec.Struct, frozen=True):
    digest: str  # sha256 of the token, as in config
    created_ms: int
    renewed_ms: int


_DECODE = msgspec.json.Decoder(_Session)


class PageSessions:
    """Open sessions for valid tokens and resolve cookies back to principals."""

    def __init__(self, directory: Path, tokens: TokenTable, max_age_s: float) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = FileStore(directory)
        self.tokens = tokens
        self.max_age_s = int(max_age_s)

    async def open(self, digest: str, current: str | None = None) -> str:
        """A session id for the token ``digest``; the browser's ``current`` one is kept
        when it already belongs to that token (reloading a token URL adds no session)."""
        if current and _SID.fullmatch(current):
            held = await self._load(current)
            if held is not None and secrets.compare_digest(held.digest, digest):
                return current
        sid = secrets.token_urlsafe(32)
        now = int(time.time() * 1000)
        await self._save(sid, _Session(digest, now, now))
        return sid

    async def principal(self, sid: str | None) -> Principal | None:
        """Whose session ``sid`` is, or None (unknown, expired, malformed, token removed)."""
        if not sid or not _SID.fullmatch(sid):
            return None
        held = await self._load(sid)
        if held is None:
            return None
        now = int(time.time() * 1000)
        if now - held.renewed_ms > _RENEW_AFTER_MS:
            await self._save(sid, _Session(held.digest, held.created_ms, now))
        return self.tokens.lookup_digest(held.digest)

    async def close(self, sid: str) -> None:
        if _SID.fullmatch(sid):
            await self.store.delete(sid)

    async def sweep(self) -> None:
        """Delete expired sessions (at start-up)."""
        await self.store.delete_expired()

    def cookie(self, sid: str, secure: bool) -> Cookie:
        return Cookie(key=COOKIE, value=sid, path="/", max_age=self.max_age_s, httponly=True,
                      secure=secure, samesite="lax")

    async def _load(self, sid: str) -> _Session | None:
        raw = await self.store.get(sid)
        if raw is None:
            return None
        try:
            return _DECODE.decode(raw)
        except msgspec.DecodeError:
            return None

    async def _save(self, sid: str, session: _Session) -> None:
        await self.store.set(sid, msgspec.json.encode(session), expires_in=self.max_age_s)


def same_origin(headers: Mapping[str, str], allowed: tuple[str, ...] = ()) -> bool:
    """A browser's ``Origin`` is this server (its ``Host``) or one of ``allowed``; a request
    without ``Origin`` (not a browser's cross-site request) passes."""
    origin = headers.get("origin")
    if not origin:
        return True
    if origin in allowed:
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()
