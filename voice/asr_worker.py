"""The speech-recognition worker: faster-whisper behind the NATS queue group ``asr``.

    worker = AsrWorker(cfg, nc)     # model loads lazily, once, on the first batch
    await worker.start()            # subscribes {prefix}.asr.transcribe in queue group "asr"
    await worker.stop()

Run as many as the load needs, on any machine: NATS spreads requests across the group.
Requests (wire format in ``voice.asr_client``) arriving within ``batch_wait_s`` (~200 ms)
are batched into one ``Transcriber.transcribe_many`` call -- it packs utterances of one
language into 30 s whisper windows, which is what keeps the real-time factor near 0.1 --
run in a thread so the event loop keeps receiving. Requests past their deadline are
skipped (the caller has given up). Transcripts and their words are masked with
``text.mask`` (phones, e-mails, cards, accounts, passports, names, addresses)
before they leave the worker. Audio is never written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from stream.nats_io import connect, serve_until, stop_on_signals
from stream.natscreds import Login
from stream.subjects import Subjects
from text import mask
from voice.asr import AsrOptions, Transcriber, Transcript, Word
from voice.asr_client import (
    DEADLINE_HEADER,
    F32,
    LANGUAGE_HEADER,
    QUEUE_GROUP,
    SAMPLE_RATE_HZ,
    AsrReply,
    decode_audio,
)
from voice.config import VoiceSettings

log = logging.getLogger("cxpulse.asr")
_LANG = re.compile(r"^[a-z]{2,3}$")


def redact_transcript(t: Transcript) -> tuple[str, list[Word]]:
    """Masked text and words. Words and masked text are aligned token by token: the words of
    masked span (a number, a name, an address) become one placeholder word (``[телефон]``,
    ``[имя]``...) spanning their times."""
    words = [w for w in t.words if w.text]
    joined = " ".join(w.text for w in words)
    masked = mask(joined)
    if masked == joined:
        return (mask(t.text) if t.text else joined), words
    tokens = masked.split(" ")
    out: list[Word] = []
    matcher = difflib.SequenceMatcher(None, [w.text for w in words], tokens, autojunk=False)
    for op, i0, i1, j0, j1 in matcher.get_opcodes():
        if op == "equal":
            out += words[i0:i1]
        elif j1 > j0 and i1 > i0:
            out.append(Word(" ".join(tokens[j0:j1]), words[i0].start_s, words[i1 - 1].end_s))
    return masked, out


@dataclass(frozen=True, slots=True)
class _Request:
    msg: Any
    audio: F32
    language: str
    deadline_ms: int
    received: float


class AsrWorker:
    """One member of the ``asr`` queue group; see the module docstring."""

    def __init__(self, cfg: VoiceSettings, nc: Any, *, transcriber: Transcriber | None = None,
                 name: str | None = None, batch_wait_s: float = 0.2, max_batch_s: float = 28.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.nc = nc
        self.subjects = Subjects(cfg.nats.prefix)
        self.transcriber = transcriber or Transcriber(AsrOptions(
            cache_dir=cfg.voice.model_cache_dir, cpu_threads=cfg.voice.asr_cpu_threads))
        self.name = name or f"asr-{socket.gethostname()}-{os.getpid()}-{id(self) % 10000}"
        self.batch_wait_s = batch_wait_s
        self.max_batch_s = max_batch_s
        self.clock = clock
        self.counts = {"requests": 0, "ok": 0, "expired": 0, "bad_request": 0, "error": 0,
                       "batches": 0}
        self.audio_s = 0.0
        self.busy_s = 0.0
        self._pending: list[_Request] = []
        self._have = asyncio.Event()
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None

    def stats(self) -> dict[str, object]:
        rtf = self.busy_s / self.audio_s if self.audio_s else None
        return {"worker": self.name, **self.counts, "pending": len(self._pending),
                "audio_s": round(self.audio_s, 1), "busy_s": round(self.busy_s, 2),
                "rtf": round(rtf, 3) if rtf is not None else None}

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.subjects.asr, queue=QUEUE_GROUP,
                                            cb=self._on_request)
        self._task = asyncio.create_task(self._loop(), name=f"cxpulse-{self.name}")

    async def stop(self) -> None:
        """Leave the group, finish the batch in progress, answer the rest ``error``."""
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        pending, self._pending = self._pending, []
        for req in pending:
            await self._reply(req.msg, AsrReply("error", worker=self.name, error="worker stopping"))

    async def _on_request(self, msg: Any) -> None:
        self.counts["requests"] += 1
        headers = msg.headers or {}
        lang = str(headers.get(LANGUAGE_HEADER, "")).strip().lower()
        problem = ("odd byte count: not PCM16" if len(msg.data) % 2 else
                   "empty audio" if not msg.data else
                   f"header {LANGUAGE_HEADER} must be a language code"
                   if not _LANG.match(lang) else "")
        try:
            deadline = int(headers.get(DEADLINE_HEADER, 0))
        except ValueError:
            problem = problem or f"header {DEADLINE_HEADER} must be epoch ms"
            deadline = 0
        if problem:
            self.counts["bad_request"] += 1
            await self._reply(msg, AsrReply("bad_request", worker=self.name, error=problem))
            return
        self._pending.append(_Request(msg, decode_audio(msg.data), lang, deadline,
                                      time.monotonic()))
        self._have.set()

    async def _loop(self) -> None:
        while True:
            await self._have.wait()
            wait = (self._pending[0].received + self.batch_wait_s - time.monotonic()
                    if self._pending else 0)
            if wait > 0 and self._pending_s() < self.max_batch_s:
                await asyncio.sleep(wait)  # let the rest of a burst arrive
            batch, expired = self._take()
            if not self._pending:
                self._have.clear()
            for req in expired:
                await self._reply(req.msg, AsrReply("expired", worker=self.name))
            if batch:
                await self._run(batch)

    def _pending_s(self) -> float:
        return sum(len(r.audio) for r in self._pending) / SAMPLE_RATE_HZ

    def _take(self) -> tuple[list[_Request], list[_Request]]:
        """(batch, expired): oldest first, up to ``max_batch_s`` of speech; requests past
        their deadline are not transcribed (the caller has given up on them)."""
        now_ms = int(self.clock() * 1000)
        batch: list[_Request] = []
        expired: list[_Request] = []
        size = 0.0
        while self._pending:
            req = self._pending[0]
            n = len(req.audio) / SAMPLE_RATE_HZ
            if batch and size + n > self.max_batch_s:
                break
            self._pending.pop(0)
            if req.deadline_ms and req.deadline_ms < now_ms:
                self.counts["expired"] += 1
                expired.append(req)
                continue
            batch.append(req)
            size += n
        return batch, expired

    async def _run(self, batch: list[_Request]) -> None:
        started = time.monotonic()
        try:
            results = await asyncio.to_thread(self.transcriber.transcribe_many,
                                              [r.audio for r in batch], [r.language for r in batch])
        except Exception as exc:
            log.exception("asr: batch of %d failed", len(batch))
            self.counts["error"] += len(batch)
            for r in batch:
                await self._reply(r.msg, AsrReply("error", worker=self.name, error=str(exc)[:300]))
            return
        took = time.monotonic() - started
        self.busy_s += took
        log.debug("asr: %d utterances, %.1f s of speech in %.2f s (waited %.2f s)", len(batch),
                  sum(len(r.audio) for r in batch) / SAMPLE_RATE_HZ, took,
                  started - batch[0].received)
        self.audio_s += sum(len(r.audio) for r in batch) / SAMPLE_RATE_HZ
        self.counts["batches"] += 1
        for req, t in zip(batch, results, strict=True):
            text, words = redact_transcript(t)
            self.counts["ok"] += 1
            await self._reply(req.msg, AsrReply(
                "ok", text=text,
                words=[(w.text, round(w.start_s, 3), round(w.end_s, 3)) for w in words],
                language=t.language, worker=self.name))

    async def _reply(self, msg: Any, reply: AsrReply) -> None:
        if not msg.reply:
            return
        try:
            await self.nc.publish(msg.reply, msgspec.json.encode(reply))
        except Exception as exc:  # noqa: BLE001 - the caller times out and counts it
            log.warning("asr: reply failed: %s", exc)


async def run_asr(cfg: VoiceSettings, url: str, login: Login | None = None) -> None:
    """``cxpulse asr``: one ASR worker process until SIGINT/SIGTERM, connected as ``login``
    (the ``asr`` user: it may only answer recognition requests)."""
    if not (cfg.voice.enabled and cfg.voice.asr_enabled):
        log.warning("asr worker: speech recognition is disabled in [voice]; nothing to do")
        return
    stop = stop_on_signals()
    nc = await connect(cfg.nats, url, "cxpulse-asr", login=login)
    worker = AsrWorker(cfg, nc)
    await worker.start()
    log.info("asr worker %s serving %s (queue group %s)", worker.name, worker.subjects.asr,
             QUEUE_GROUP)
    await serve_until(stop, worker, nc)
    log.info("asr worker stopped: %s", worker.stats())
