"""NATS plumbing shared by the core, server, simulators and workers: connect, streams, DLQ.

Thin by design: it knows connection options, stream names and the dead-letter format, and
nothing about metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import ssl
import uuid
from collections.abc import Mapping
from typing import Protocol

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    SubjectTransform,
)
from nats.js.errors import BucketNotFoundError, NotFoundError, ServerError
from nats.js.kv import KeyValue

from stream.config import MIB, NatsConfig, StreamSettings
from stream.events import Limits, Rejection, validate_event
from stream.natsauth import inbox_prefix
from stream.natscreds import Login
from stream.subjects import MSG_ID_HEADER, Subjects, msg_id

log = logging.getLogger("cxpulse.nats")

REASON_HEADER = "Cx-Reason"
REASON_CODE_HEADER = "Cx-Reason-Code"
ORIGINAL_SUBJECT_HEADER = "Cx-Original-Subject"
PAYLOAD_BYTES_HEADER = "Cx-Payload-Bytes"
PAYLOAD_DROPPED_HEADER = "Cx-Payload"
INSUFFICIENT_STORAGE = 10047  # JetStream: a stream's max_bytes cannot be reserved


def stream_names(prefix: str) -> dict[str, str]:
    """JetStream resource names derived from the subject prefix (so several can coexist)."""
    p = prefix.upper().replace("-", "_")
    return {
        "input": f"{p}_INPUT",
        "dlq": f"{p}_DLQ",
        "alerts": f"{p}_ALERTS",
        "voice": f"{p}_VOICE",
        "kv": f"{p}_CORE",
        "objects": f"{p}_SNAPSHOTS",
        "archive": f"{p}_ARCHIVE",
        "digests": f"{p}_DIGESTS",
        "cases": f"{p}_CASES",
    }


def _tls_context(cfg: NatsConfig) -> ssl.SSLContext | None:
    if not (cfg.tls_ca or cfg.tls_cert):
        return None
    ctx = ssl.create_default_context(cafile=cfg.tls_ca or None)
    if cfg.tls_cert:
        ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key or None)
    return ctx


def _credentials(cfg: NatsConfig, login: Login | None,
                 inbox: str | None) -> dict[str, object]:
    """Connect options of an identity: a service's own ``login`` (with its own inbox prefix,
    the only reply subjects its user may read), else the single ``[nats]`` identity."""
    options: dict[str, object] = {}
    if login is not None:
        if login.creds:
            options["user_credentials"] = login.creds
        else:
            options["user"], options["password"] = login.user, login.password
        inbox = inbox or inbox_prefix(login.user)
    else:
        if cfg.user:
            options["user"], options["password"] = cfg.user, cfg.password
        if cfg.token:
            options["token"] = cfg.token
        if cfg.creds:
            options["user_credentials"] = cfg.creds
    if inbox:
        options["inbox_prefix"] = inbox
    return options


async def connect(cfg: NatsConfig, url: str, name: str, *, login: Login | None = None,
                  inbox_prefix: str | None = None, attempts: int = 8) -> NATS:
    """Connect as ``login`` (a service's or device's own user; see ``stream.natscreds``) or,
    without one, with the ``[nats]`` credentials; retries the first connect with backoff
    and reconnects forever afterwards (nats-py resubscribes on reconnect). A wrong password
    fails at once: retrying cannot fix it."""
    options: dict[str, object] = {
        "servers": [u.strip() for u in url.split(",") if u.strip()],
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": min(2.0, cfg.max_reconnect_wait_s),
        "allow_reconnect": True,
        "ping_interval": 10,
        "max_outstanding_pings": 3,
        "pending_size": 64 * 1024 * 1024,
    }
    options.update(_credentials(cfg, login, inbox_prefix))
    tls = _tls_context(cfg)
    if tls:
        options["tls"] = tls

    async def _on_error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    client: list[NATS] = []  # the connection, once made: a clean close is no disconnect

    async def _on_disconnect() -> None:
        if client and client[0].is_closed:
            log.debug("nats: %s closed", name)
            return
        log.warning("nats: disconnected; reconnecting")

    async def _on_reconnect() -> None:
        log.info("nats: reconnected")

    options.update(error_cb=_on_error, disconnected_cb=_on_disconnect,
                   reconnected_cb=_on_reconnect)
    delay = 0.2
    for attempt in range(attempts):
        try:
            nc = await nats.connect(**options, connect_timeout=2)  # type: ignore[arg-type]
            client.append(nc)
            return nc
        except Exception as exc:
            if attempt == attempts - 1 or "authorization" in str(exc).lower():
                raise
            log.warning("nats: connect to %s failed (%s); retrying in %.1f s", url, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, cfg.max_reconnect_wait_s)
    raise RuntimeError("unreachable")


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create a stream, or bring an existing one to ``config`` (its ``max_bytes`` fitted to
    the disk as ``ensure_bounded`` does)."""
    await ensure_bounded(js, [config])


async def ensure_bounded(js: JetStreamContext, configs: list[StreamConfig]) -> None:
    """Create or update ``configs`` together. JetStream reserves every stream's
    ``max_bytes`` on its disk up front; when the disk is too small for the configured
    limits, all of them are halved together until they fit (a warning names the factor),
    so a small machine still starts, each stream bounded in the same proportion."""
    scale = 1
    while True:
        try:
            for config in configs:
                limit = config.max_bytes or 0
                await _create_or_update(js, config if limit <= 0 or scale == 1 else
                                        dataclasses.replace(config, max_bytes=limit // scale))
            return
        except ServerError as exc:
            limits = [c.max_bytes or 0 for c in configs if (c.max_bytes or 0) > 0]
            if exc.err_code != INSUFFICIENT_STORAGE or not limits or min(limits) // scale < 2 * MIB:
                raise
            scale *= 2
            log.warning("nats: not enough disk for the streams' max_bytes (%s); using 1/%d "
                        "of each", ", ".join(c.name or "" for c in configs), scale)


async def _create_or_update(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def ensure_kv(js: JetStreamContext, bucket: str, *, replicas: int, history: int = 1,
                    description: str = "") -> KeyValue:
    """A key-value bucket on disk, created on first use."""
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(
            bucket=bucket, history=history, replicas=replicas, storage=StorageType.FILE,
            description=description or None))


async def ensure_streams(js: JetStreamContext, cfg: StreamSettings) -> None:
    """Create or update the input, voice and dead-letter streams of the contract, each
    bounded by its ``[nats] max_bytes_*`` (the oldest messages go first when one is full)."""
    names = stream_names(cfg.nats.prefix)
    subjects = Subjects(cfg.nats.prefix)
    retention_s = float(cfg.core.retention_days * 86400)
    common = {
        "storage": StorageType.FILE,
        "retention": RetentionPolicy.LIMITS,
        "discard": DiscardPolicy.OLD,
        "max_age": retention_s,
        "num_replicas": cfg.nats.replicas,
        "duplicate_window": cfg.nats.duplicate_window_s,
    }
    src, dest = subjects.partition_transform(cfg.scale.partitions)
    voice_days = max(cfg.voice.transcript_retention_days, 1)
    await ensure_bounded(js, [
        StreamConfig(
            name=names["input"], subjects=subjects.input_filters,
            **common,  # type: ignore[arg-type]
            max_bytes=cfg.nats.max_bytes_input,
            description="cxpulse input: feedback, flow and incident events",
            subject_transform=SubjectTransform(src=src, dest=dest)),
        StreamConfig(
            name=names["voice"], subjects=subjects.voice_filters,
            **{**common, "max_age": float(voice_days * 86400)},  # type: ignore[arg-type]
            max_bytes=cfg.nats.max_bytes_voice,
            description="cxpulse voice: utterances (transcripts) and service encounters"),
        StreamConfig(
            name=names["dlq"], subjects=[subjects.dlq_wildcard],
            **common,  # type: ignore[arg-type]
            max_bytes=cfg.nats.max_bytes_dlq,
            description="cxpulse dead letters: rejected input with the reason"),
    ])


def dead_letter_headers(
    subject: str, headers: Mapping[str, str] | None, rejection: Rejection, msg_id: str | None
) -> dict[str, str]:
    """Headers of a dead letter: the original ones (``Nats-*`` renamed so JetStream does not
    act on them), the original subject and the reason."""
    out: dict[str, str] = {}
    for key, value in (headers or {}).items():
        out[f"Cx-Orig-{key}" if key.lower().startswith("nats-") else key] = value
    out[ORIGINAL_SUBJECT_HEADER] = subject
    out[REASON_CODE_HEADER] = rejection.code
    out[REASON_HEADER] = " ".join(rejection.reason.split())[:1000]
    out[MSG_ID_HEADER] = msg_id or f"dlq-{uuid.uuid4().hex}"
    return out


async def publish_dead_letter(
    js: JetStreamContext,
    subjects: Subjects,
    source: str,
    subject: str,
    headers: Mapping[str, str] | None,
    payload: bytes,
    rejection: Rejection,
    msg_id: str | None = None,
    *,
    keep_payload: bool = True,
) -> None:
    """Send a rejected input to ``{prefix}.dlq.{source}``: payload unchanged, reason in headers.

    ``msg_id`` makes re-sending idempotent (the core passes the input's stream sequence).
    ``keep_payload=False`` stores the metadata only (headers, reason and the payload's size
    in ``Cx-Payload-Bytes``): rejected microphone audio is never kept."""
    hdrs = dead_letter_headers(subject, headers, rejection, msg_id)
    if not keep_payload:
        hdrs[PAYLOAD_BYTES_HEADER] = str(len(payload))
        hdrs[PAYLOAD_DROPPED_HEADER] = "not stored"
        payload = b""
    await js.publish(subjects.dlq(source), payload, headers=hdrs)


async def publish_input(js: JetStreamContext, subjects: Subjects, kind: str, location: str,
                        payload: bytes, now_ms: int, limits: Limits) -> Rejection | None:
    """Validate an input event as the core will, then publish it to JetStream with
    ``Nats-Msg-Id`` = ``{location}:{id}`` (``stream.subjects.msg_id``; the server and
    integrators use this; devices publish directly)."""
    result = validate_event(kind, location, payload, now_ms, limits)
    if isinstance(result, Rejection):
        return result
    await js.publish(subjects.input(kind, location), payload,
                     headers={MSG_ID_HEADER: msg_id(location, result[0].id)})
    return None


class Worker(Protocol):
    async def stop(self) -> None: ...


async def serve_until(stop: asyncio.Event, worker: Worker, nc: NATS) -> None:
    """Keep a started worker running until ``stop`` is set; then stop it and drain its
    connection (what a worker process does between start-up and exit)."""
    try:
        await stop.wait()
    finally:
        await worker.stop()
        with contextlib.suppress(Exception):
            await nc.drain()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (for a process's main coroutine to wait on)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
