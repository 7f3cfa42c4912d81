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

Role = Literal["core", "server", "alerts", "voice", "asr", "archive", "digests", "cases",
               "device", "admin"]
SERVICE_ROLES: tuple[Role, ...] = ("core", "server", "alerts", "voice", "asr", "archive",
                                   "digests", "cases")
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


def _manage(*streams: str) -> tuple[str, ...]:
    """Create, update and inspect ``streams`` (``ensure_streams`` at start-up). Never delete
    or purge them."""
    return ("$JS.API.INFO", "$JS.API.STREAM.NAMES",
            *(f"$JS.API.STREAM.{op}.{s}" for s in streams for op in ("INFO", "CREATE", "UPDATE")))


def _read(*streams: str) -> tuple[str, ...]:
    """Consume ``streams``: its own consumers (create, durable create, info, delete, next
    batch), message reads, acks and flow control."""
    out: list[str] = []
    for s in streams:
        out += [f"$JS.API.CONSUMER.*.{s}", f"$JS.API.CONSUMER.*.{s}.>",
                f"$JS.API.CONSUMER.DURABLE.CREATE.{s}.>", f"$JS.API.CONSUMER.MSG.NEXT.{s}.>",
                f"$JS.API.STREAM.MSG.GET.{s}", f"$JS.API.DIRECT.GET.{s}",
                f"$JS.API.DIRECT.GET.{s}.>", f"$JS.ACK.{s}.>", f"$JS.FC.{s}.>"]
    return tuple(out)


def _js(*streams: str) -> tuple[str, ...]:
    return (*_manage(*streams), *_read(*streams))


def _kv(bucket: str) -> tuple[str, ...]:
    return (*_js(f"KV_{bucket}"), f"$KV.{bucket}.>")


def _services(prefix: str, names: Mapping[str, str]) -> dict[str, Permissions]:
    """What each service does on NATS (checked by running them: tests/support/stack.py
    fails a test on any service's permission violation)."""
    p, n = prefix, names
    inputs = tuple(f"{p}.{k}.*" for k in INPUT_KINDS)
    contract = (n["input"], n["voice"], n["dlq"])
    obj = f"OBJ_{n['objects']}"
    return {
        # consumes input and voice, dead-letters, snapshots, answers roll-up queries
        "core": Permissions(
            publish=(*_js(*contract), *_kv(n["kv"]), *_js(obj), f"$JS.API.STREAM.PURGE.{obj}",
                     f"$O.{n['objects']}.>", f"{p}.dlq.>", f"{p}.core.changed",
                     f"{p}.core.query"),
            subscribe=(f"{p}.core.query", f"{p}.core.changed", f"{inbox_prefix('core')}.>"),
            allow_responses=True),
        # publishes API/survey/case input and their dead letters, reads live voice, and in
        # a partitioned deployment queries the core workers (stream.remote)
        "server": Permissions(
            publish=(*inputs, *_manage(*contract), f"{p}.dlq.>", f"{p}.core.query",
                     f"{p}.archive.query"),
            subscribe=(f"{p}.voice.>", f"{p}.core.changed", f"{p}.comment.*",
                       f"{inbox_prefix('server')}.>")),
        # evaluates, keeps its state and lease, notifies; reads voice events and mic beats
        "alerts": Permissions(
            publish=(f"{p}.alert.>", f"{p}.alerts.control", *_js(n["alerts"]),
                     *_kv(f"{n['alerts']}_STATE"), *_read(n["voice"])),
            subscribe=(f"{p}.alerts.control", f"{p}.mic.>", f"{p}.comment.*",
                       f"{inbox_prefix('alerts')}.>"),
            allow_responses=True),
        # audio in; utterances, encounters, heartbeats, voice incidents, audio dead letters
        # out; asks the asr group; feedback closes encounters
        "voice": Permissions(
            publish=(f"{p}.voice.>", f"{p}.encounter.>", f"{p}.mic.>", f"{p}.incident.*",
                     f"{p}.asr.transcribe", f"{p}.dlq.audio", *_manage(*contract),
                     *_kv(f"{n['voice']}_BASELINES")),
            subscribe=(f"{p}.audio.*.*", f"{p}.feedback.>", f"{inbox_prefix('voice')}.>")),
        # only answers recognition requests
        "asr": Permissions(publish=(), subscribe=(f"{p}.asr.transcribe",), allow_responses=True),
        # the archive writer (issue 15): reads every stored record, answers its queries,
        # announces each new comment (masked, tagged) to the wall and the alerts
        "archive": Permissions(
            publish=(*_js(*contract, n["alerts"]), *_kv(n["archive"]), f"{p}.archive.query",
                     f"{p}.comment.*"),
            subscribe=(f"{p}.archive.query", f"{inbox_prefix('archive')}.>"),
            allow_responses=True),
        # the digest scheduler (issue 18): its slot ledger and lease, the digest-failed
        # alert, archive queries forwarded to the writer
        "digests": Permissions(
            publish=(*_kv(n["digests"]), f"{p}.alert.>", f"{p}.archive.query"),
            subscribe=(f"{inbox_prefix('digests')}.>",)),
        # the case service (issue 17): reads feedback and voice with consumers of its own,
        # publishes the incident steps its rules decide, keeps its lease
        "cases": Permissions(
            publish=(*_js(n["input"], n["voice"]), *_kv(n["cases"]), f"{p}.incident.*"),
            subscribe=(f"{inbox_prefix('cases')}.>",)),
    }


def permission_matrix(prefix: str, names: Mapping[str, str],
                      locations: Iterable[str] = ()) -> dict[str, Permissions]:
    """User name -> permissions: the services, ``device`` (every location), one
    ``device-<location>`` per configured location, and ``admin`` (operators' tools)."""
    users = {user: _unique(perm) for user, perm in _services(prefix, names).items()}
    users["device"] = _device(prefix, "device", None)
    for loc in locations:
        user = device_user(loc)
        users[user] = _device(prefix, user, loc)
    users["admin"] = Permissions(publish=(">",), subscribe=(">",), allow_responses=True)
    return users


def _unique(perm: Permissions) -> Permissions:
    """The same permissions with each subject once, in first-seen order."""
    return msgspec.structs.replace(perm, publish=tuple(dict.fromkeys(perm.publish)),
                                   subscribe=tuple(dict.fromkeys(perm.subscribe)))


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
