"""Who each part of cxpulse is on NATS: one user, one connection, one inbox per service.

The embedded server (``[nats] url`` empty) starts with the authorization that
``stream.natsauth`` defines and ``stream.natscreds.prepare_auth`` generates under
``[core] data_dir``/nats (bcrypt hashes in ``auth.conf`` for the server, the passwords in
``credentials.json``, mode 0600, for the local services and ``cxpulse nats-user``). An
external cluster hands the logins in ``[nats] credentials_file``. Every process then
connects each of its services as that service's user (``connect_as``): the core as
``core``, the alert service as ``alerts``, the HTTP server as ``server``, the voice and
speech-recognition workers as ``voice`` and ``asr``, the simulator and devices as
``device``. Without per-service logins (an external cluster configured with one
``[nats] user``/``token``/``creds``) every connection uses that one identity.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS

from stream.clock import wall_ms
from stream.config import StreamSettings
from stream.events import Rejection
from stream.nats_io import connect, publish_input, stream_names
from stream.natsauth import device_user, inbox_prefix, permission_matrix
from stream.natscreds import (
    CredentialsError,
    Login,
    auth_dir,
    login_for,
    prepare_auth,
    service_logins,
)
from stream.subjects import Subjects


def embedded_auth(cfg: StreamSettings) -> tuple[Path, dict[str, Login]]:
    """Generate (or refresh, keeping existing passwords) the embedded server's users for
    this config: ``auth.conf`` to include in its config, and every login."""
    return prepare_auth(auth_dir(cfg.core.data_dir), cfg.nats.prefix,
                        stream_names(cfg.nats.prefix), [loc.id for loc in cfg.locations])


def nats_logins(cfg: StreamSettings) -> dict[str, Login]:
    """The services' logins of this deployment (empty: the single ``[nats]`` identity)."""
    return service_logins(cfg.nats.url, cfg.nats.credentials_file, cfg.core.data_dir)


def device_login(cfg: StreamSettings, location: str | None = None) -> Login | None:
    """The device user (all locations, or one location's), for simulators and devices."""
    logins = nats_logins(cfg)
    return login_for(logins, device_user(location)) if logins else None


async def connect_as(cfg: StreamSettings, url: str, role: str, name: str,
                     logins: dict[str, Login] | None = None, **kw: Any) -> NATS:
    """A connection as ``role``'s user (``core``, ``server``, ``alerts``, ``voice``, ``asr``,
    ``archive``, ``device``...), named ``name`` in the server's connection list."""
    login = login_for(nats_logins(cfg) if logins is None else logins, role)
    return await connect(cfg.nats, url, name, login=login, **kw)


@contextlib.asynccontextmanager
async def connection(cfg: StreamSettings, url: str, role: str, name: str,
                     logins: dict[str, Login] | None = None) -> AsyncIterator[NATS]:
    """``connect_as`` for the lifetime of a block; drained (pending publishes sent) at its end."""
    nc = await connect_as(cfg, url, role, name, logins)
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()


class ServerCore:
    """The core as the HTTP server uses it: every read goes to the core (in this process, or
    the roll-up reader), while its writes (input events, dead letters) and its voice
    subscription go over the server's own connection, as the ``server`` user."""

    def __init__(self, core: Any, nc: NATS) -> None:
        self._core = core
        self.nc = nc
        self.js = nc.jetstream()
        self.subjects: Subjects = core.subjects

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)

    async def publish_input(self, kind: str, location: str, payload: bytes) -> Rejection | None:
        """Validate like the core will, then publish with ``Nats-Msg-Id`` =
        ``{location}:{id}`` as the server."""
        return await publish_input(self.js, self.subjects, kind, location, payload,
                                   self._core.clock(), self._core.limits)


def nats_url_of(cfg: StreamSettings) -> str:
    """``[nats] url``, else the embedded server's address."""
    return cfg.nats.url or f"nats://{cfg.nats.embedded_host}:{cfg.nats.embedded_port}"


def _logins_for_issuing(cfg: StreamSettings) -> dict[str, Login]:
    """The logins to hand out: the embedded server's (generated now if ``cxpulse run`` has
    not run yet; it keeps them), or those of ``[nats] credentials_file``."""
    if not cfg.nats.url:
        return embedded_auth(cfg)[1]
    logins = nats_logins(cfg)
    if not logins:
        raise CredentialsError("[nats] url names an external cluster without [nats] "
                               "credentials_file: its users are managed there (see "
                               "docs/security.md)")
    return logins


def credentials_text(cfg: StreamSettings, role: str, location: str | None = None) -> str:
    """What ``cxpulse nats-user`` prints: the login, where it may publish, and a ready
    ``nats`` CLI line and nats-py snippet (a device publishing one loyalty-button press)."""
    user = device_user(location) if role == "device" else role
    if location and role != "device":
        raise CredentialsError("--location applies to the device user only")
    if location and cfg.location(location) is None:
        raise CredentialsError(f"location {location!r} is not in the config: per-location "
                               "device users exist for configured locations only")
    login = _logins_for_issuing(cfg).get(user)
    if login is None:
        raise CredentialsError(f"no NATS user {user!r} in this deployment")
    url = nats_url_of(cfg)
    prefix = cfg.nats.prefix
    inbox = inbox_prefix(login.user)
    perms = permission_matrix(prefix, stream_names(prefix),
                              [loc.id for loc in cfg.locations]).get(user)
    loc = location or (cfg.locations[0].id if cfg.locations else "msk-1")
    subject = f"{prefix}.feedback.{loc}"
    event = json.dumps({"id": "btn-0001", "ts": wall_ms(), "location": loc, "type": "button",
                        "value": 5, "scale": 5, "device": f"{loc}-btn1"})
    secret = (f"--creds {login.creds}" if login.creds
              else f"--user {login.user} --password '{login.password}'")
    py_auth = (f'user_credentials="{login.creds}"' if login.creds
               else f'user="{login.user}", password="{login.password}"')
    lines = [f"user:         {login.user}",
             *([f"creds:        {login.creds}"] if login.creds else
               [f"password:     {login.password}"]),
             f"url:          {url}",
             f"inbox prefix: {inbox}   (replies and JetStream acks arrive only there)"]
    if perms is not None and role != "admin":
        lines.append("may publish:  " + ", ".join(perms.publish[:8])
                     + (" ..." if len(perms.publish) > 8 else ""))
    if url.startswith("nats://127.") and role == "device":
        lines.append("note:         the embedded server listens on loopback only; set "
                     "[nats] embedded_host for devices on other machines (with TLS)")
    lines += ["", "# nats CLI", f"nats --server {url} {secret} --inbox-prefix {inbox} \\",
              f"  pub {subject} '{event}' -H 'Nats-Msg-Id:{loc}:btn-0001'", "",
              "# Python (nats-py)", "import asyncio, json, nats", "", "async def main():",
              f'    nc = await nats.connect("{url}", {py_auth}, inbox_prefix="{inbox}")',
              f"    event = json.loads('{event}')",
              "    headers = {\"Nats-Msg-Id\": f\"{event['location']}:{event['id']}\"}",
              f'    await nc.jetstream().publish("{subject}", json.dumps(event).encode(), '
              "headers=headers)", "    await nc.close()", "", "asyncio.run(main())"]
    return "\n".join(lines)
