"""Who may do what on NATS: one user per role, least privilege (pure, no I/O).

Every service and device connects as its own user. Permissions are subject allow-lists
(nats-server ``authorization { users = [...] }``): a device can only publish its events
and read the acknowledgements JetStream sends back to its own inbox; it can never listen
to audio or transcripts, answer speech-recognition requests, control alerts or touch the
JetStream API. Each user's replies arrive under its own inbox prefix (``_INBOX_<user>``),
so no user reads another's replies.

``permission_matrix`` is the single definition; ``render_conf`` writes it as the embedded
server's config and docs/security.md shows the same matrix as a template for an external
cluster. ``stream/natscreds.py`` generates and keeps the passwords.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

Role = Literal["core", "server", "alerts", "voice", "asr", "archive", "device", "admin"]
SERVICE_ROLES: tuple[Role, ...] = ("core", "server", "alerts", "voice", "asr", "archive")
INPUT_KINDS = ("feedback", "flow", "incident")


class Permissions(msgspec.Struct, frozen=True):
    """Subjects a user may publish to / subscribe to, and whether it may answer requests."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()
    allow_responses: bool = False


def inbox_prefix(user: str) -> str:
    """The inbox prefix a user connects with (its only readable reply subjects)."""
    return "_INBOX_" + user.replace(".", "_")


def device_user(location: str | None) -> str:
    """``device`` for all locations, ``device-<location>`` restricted to one."""
    return f"device-{location}" if location else "device"


def _device(prefix: str, user: str, location: str | None) -> Permissions:
    loc = location or "*"
    return Permissions(
        publish=(*(f"{prefix}.{k}.{loc}" for k in INPUT_KINDS), f"{prefix}.audio.{loc}.*"),
        subscribe=(f"{inbox_prefix(user)}.>",),
    )


def _js(stream: str) -> tuple[str, ...]:
    """JetStream API subjects a service needs for its own streams, consumers and buckets:
    create/update/inspect them, its consumers (create, durable create, info, delete, next
    batch), message reads, acks and flow control. Never stream delete or purge."""
    return ("$JS.API.INFO", "$JS.API.STREAM.NAMES", f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}",
            f"$JS.API.CONSUMER.*.{stream}", f"$JS.API.CONSUMER.*.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>", f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>",
            f"$JS.ACK.{stream}.>", f"$JS.FC.{stream}.>")


def _kv(bucket: str) -> tuple[str, ...]:
    return (*_js(f"KV_{bucket}"), f"$KV.{bucket}.>")


def _services(prefix: str, names: Mapping[str, str]) -> dict[str, Permissions]:
    p, n = prefix, names
    inputs = tuple(f"{p}.{k}.*" for k in INPUT_KINDS)
    ensure = (*_js(n["input"]), *_js(n["voice"]), *_js(n["dlq"]))
    return {
        "core": Permissions(
            publish=(*ensure, *_kv(n["kv"]), *_js(f"OBJ_{n['objects']}"),
                     f"$JS.API.STREAM.PURGE.OBJ_{n['objects']}", f"$O.{n['objects']}.>",
                     f"{p}.dlq.>", f"{p}.core.changed", f"{p}.core.query"),
            subscribe=(f"{p}.core.query", f"{p}.core.changed", f"{inbox_prefix('core')}.>"),
            allow_responses=True),
        "server": Permissions(
            publish=(*inputs, *ensure, f"{p}.dlq.>", f"{p}.alerts.control", f"{p}.core.query",
                     f"{p}.archive.query"),
            subscribe=(f"{p}.voice.>", f"{p}.alert.>", f"{p}.core.changed",
                       f"{inbox_prefix('server')}.>")),
        "alerts": Permissions(
            publish=(f"{p}.alert.>", f"{p}.alerts.control", f"{p}.core.query",
                     *_js(n["alerts"]), *_kv(f"{n['alerts']}_STATE"), *ensure),
            subscribe=(f"{p}.alerts.control", f"{p}.core.changed", f"{p}.mic.>",
                       f"{inbox_prefix('alerts')}.>"),
            allow_responses=True),
        "voice": Permissions(
            publish=(f"{p}.voice.>", f"{p}.encounter.>", f"{p}.mic.>", f"{p}.incident.*",
                     f"{p}.asr.transcribe",
                     f"{p}.dlq.audio", *ensure, *_kv(f"{n['voice']}_BASELINES")),
            # feedback closes encounters (a visit or a rating at the mic's location)
            subscribe=(f"{p}.audio.*.*", f"{p}.feedback.>", f"{inbox_prefix('voice')}.>")),
        "asr": Permissions(publish=(), subscribe=(f"{p}.asr.transcribe",), allow_responses=True),
        "archive": Permissions(
            publish=(*ensure, *_js(n["alerts"]), *_kv(n["archive"]), f"{p}.archive.query"),
            subscribe=(f"{p}.archive.query", f"{inbox_prefix('archive')}.>"),
            allow_responses=True),
    }


def permission_matrix(prefix: str, names: Mapping[str, str],
                      locations: Iterable[str] = ()) -> dict[str, Permissions]:
    """User name -> permissions: the services, ``device`` (every location), one
    ``device-<location>`` per configured location, and ``admin`` (operators' tools)."""
    users: dict[str, Permissions] = {**_services(prefix, names)}
    users["device"] = _device(prefix, "device", None)
    for loc in locations:
        user = device_user(loc)
        users[user] = _device(prefix, user, loc)
    users["admin"] = Permissions(publish=(">",), subscribe=(">",), allow_responses=True)
    return users


def _quote(items: Iterable[str]) -> str:
    return "[" + ", ".join(msgspec.json.encode(s).decode() for s in items) + "]"


def render_conf(users: Mapping[str, Permissions], password_hashes: Mapping[str, str]) -> str:
    """The ``authorization`` block of nats-server's config (bcrypt hashes, never plain)."""
    lines = ["# generated by cxpulse: one user per role; do not edit, do not commit",
             "authorization {", "  timeout: 2", "  users = ["]
    for user, perm in users.items():
        pub = f"allow: {_quote(perm.publish)}"
        if perm.deny_publish:
            pub += f", deny: {_quote(perm.deny_publish)}"
        responses = ", allow_responses: true" if perm.allow_responses else ""
        lines.append(
            f"    {{user: {msgspec.json.encode(user).decode()}, "
            f"password: {msgspec.json.encode(password_hashes[user]).decode()}, "
            f"permissions: {{publish: {{{pub}}}, subscribe: {{allow: {_quote(perm.subscribe)}}}"
            f"{responses}}}}}")
    lines += ["  ]", "}", ""]
    return "\n".join(lines)
