"""The voice worker: live microphones (``cx.audio``) in, utterances, encounters, voice
incidents and microphone heartbeats out. A thin NATS adapter around one pure
``voice.session.MicSession`` per microphone:

    worker = VoiceWorker(cfg, nc, js)
    await worker.start()   ...   await worker.stop()

Per ``cx.audio.{location}.{mic}`` message: ``voice.audio.parse_audio`` (bad ones to
``cx.dlq.audio`` with the reason, without their PCM) -> the mic's session (``SeqTracker``,
``VoicePipeline``: VAD, segmentation, silero confirmation, emotion). Each utterance it
finishes goes to speech recognition (``AsrClient``: NATS request/reply to the ``asr`` queue
group, bounded backlog) and, when that answers or is skipped, back to the session, which
makes the contract events: ``VoiceEvent`` on ``cx.voice.{location}.{mic}`` (JetStream
``CX_VOICE``), incidents on ``cx.incident.{location}``, encounters on
``cx.encounter.{location}.{mic}`` (``cx.feedback.>`` visits and ratings close them), all
through the ``Outbox``; heartbeats on ``cx.mic.{location}.{mic}`` (core NATS). Whoever needs
them (the core, the alert service) reads these subjects, in any process on any machine. VAD
and emotion never wait for recognition.

Audio lives in memory only; with ``[voice] store_audio = true`` utterances are also
written as WAV files under ``[core] data_dir``/audio, never otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import wave
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from dsp.emotion import Baseline
from stream.events import (
    EncounterEvent,
    FeedbackEvent,
    IncidentEvent,
    Limits,
    MicHeartbeat,
    Rejection,
    VoiceEvent,
    encode,
    validate_event,
)
from stream.nats_io import (
    connect,
    ensure_streams,
    publish_dead_letter,
    serve_until,
    stop_on_signals,
)
from stream.natscreds import Login
from stream.subjects import Subjects, msg_id
from text import mask
from voice.asr import Transcript
from voice.asr_client import AsrClient
from voice.audio import parse_audio
from voice.baselines import BaselineStore, MicKey
from voice.config import VoiceSettings
from voice.encounters import closed_by_of, rating_of
from voice.outbox import Outbox
from voice.pipeline import VoicePipeline
from voice.session import MicSession, PendingUtterance, SessionEvent, SessionSetup

log = logging.getLogger("cxpulse.voice")


@dataclass(frozen=True, slots=True)
class VoiceWorkerOptions:
    asr_timeout_s: float = 30.0
    asr_max_inflight: int = 2        # batches (30 s packing windows) in flight at once
    idle_flush_s: float = 2.0        # no audio from a mic this long: close its utterance
    tick_s: float = 0.5              # idle flushes and encounter silence checks
    encounter_settle_ms: int = 5_000
    heartbeat_every_ms: int = 15_000  # a mic's cx.mic heartbeat at most this often
    evict_idle_s: float = 3_600.0    # a mic silent this long (and settled) is forgotten
    outbox_max: int = 10_000
    baselines_save_s: float = 60.0   # how often learnt emotion baselines are saved to KV


class VoiceWorker:
    """Microphones in, voice events out; see the module docstring."""

    def __init__(self, cfg: VoiceSettings, nc: Any, js: Any, *,
                 options: VoiceWorkerOptions | None = None,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.nc = nc
        self.js = js
        self.options = o = options or VoiceWorkerOptions()
        self.clock = clock
        self.monotonic = monotonic
        self.subjects = Subjects(cfg.nats.prefix)
        self.limits = Limits.from_config(cfg.core)
        self.setup = SessionSetup.from_config(
            cfg.voice, encounter_settle_ms=o.encounter_settle_ms, idle_flush_s=o.idle_flush_s,
            heartbeat_every_ms=o.heartbeat_every_ms)
        self.asr = AsrClient(nc, self.subjects.asr, cfg.voice.max_asr_backlog_s, self._on_asr,
                             timeout_s=o.asr_timeout_s, max_inflight=o.asr_max_inflight,
                             clock=clock)
        self.outbox = Outbox(js, o.outbox_max)
        self.audio_dir = Path(cfg.core.data_dir) / "audio"
        self.mics: dict[MicKey, MicSession] = {}
        # every mic's emotion baseline, kept past eviction and saved to KV (voice/baselines.py)
        self.baselines: dict[MicKey, Baseline] = {}
        self.baseline_store = BaselineStore(js, cfg.nats.prefix, cfg.nats.replicas)
        self.counts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self._subs: list[Any] = []
        self._tasks: set[asyncio.Future[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Warm the kernels up (numba, silero) off the loop, load the baselines, subscribe."""
        await asyncio.to_thread(self._warm_up)
        try:
            await self.baseline_store.open()
            self.baselines.update(await self.baseline_store.load_all())
        except Exception as exc:  # noqa: BLE001 - the mics then learn their baselines anew
            log.warning("voice: stored emotion baselines not loaded: %s", exc)
        self.outbox.start()
        await self.asr.start()
        self._subs = [
            await self.nc.subscribe(self.subjects.audio_wildcard, cb=self._on_audio),
            await self.nc.subscribe(self.subjects.feedback_wildcard, cb=self._on_feedback)]
        self._ticker = asyncio.create_task(self._tick_loop(), name="cxpulse-voice-tick")

    async def stop(self) -> None:
        """Unsubscribe, close open utterances and encounters, publish what is left."""
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for session in self.mics.values():
            for p in session.flush():
                session.resolve(p, None, "shutdown")
        await self.asr.stop()
        for session in self.mics.values():
            session.close()
            self._send(session)
        await self._save_baselines()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.outbox.stop()

    def _warm_up(self) -> None:
        mask("Ольга, тел. 8 916 123-45-67")  # loads the name rules once, off the loop
        noise = (np.random.default_rng(0).standard_normal(16000) * 100).astype(np.int16)
        VoicePipeline(self.setup.pipeline).feed(noise.tobytes(), 0)
        if self.setup.pipeline.confirm is not None:
            self.setup.pipeline.confirm.accepts(noise.astype(np.float32) / np.float32(32768))

    def health(self) -> dict[str, object]:
        seq = Counter[str]()
        for session in self.mics.values():
            seq.update(session.seq.counters())
        return {"mics": len(self.mics), **self.counts, "audio": dict(seq),
                "rejected": dict(self.rejected), "asr": self.asr.stats(),
                "outbox": {"queued": len(self.outbox), "published": self.outbox.published,
                           "dropped": self.outbox.dropped, "retries": self.outbox.retries}}

    # -- in -------------------------------------------------------------------------------

    async def _on_audio(self, msg: Any) -> None:
        now_ms = int(self.clock() * 1000)
        chunk = parse_audio(self.subjects, msg.subject, msg.headers, msg.data, now_ms,
                            self.limits)
        if isinstance(chunk, Rejection):
            await self._dead_letter(msg, chunk)
            return
        session = self._mic(chunk.location, chunk.mic)
        try:
            pending = session.receive_audio(chunk)
        except Exception as exc:
            log.exception("voice: %s/%s: chunk %d failed", chunk.location, chunk.mic, chunk.seq)
            await self._dead_letter(msg, Rejection("unprocessable",
                                                   f"audio could not be processed: {exc}"))
            return
        self._recognise(session, pending)
        self._send(session)

    async def _on_feedback(self, msg: Any) -> None:
        """A visit or rating at a location closes the encounters of its microphones."""
        parsed = self.subjects.parse(msg.subject)
        if parsed is None or len(parsed[1]) != 1:
            return
        location = parsed[1][0]
        result = validate_event("feedback", location, msg.data, int(self.clock() * 1000),
                                self.limits)
        if isinstance(result, Rejection):
            return  # the core dead-letters it
        event, ts_ms = result
        assert isinstance(event, FeedbackEvent)
        for session in [s for s in self.mics.values() if s.location == location]:
            session.receive_feedback(ts_ms, closed_by_of(event), rating_of(event))
            self._send(session)

    def _on_asr(self, key: tuple[MicSession, PendingUtterance], transcript: Transcript | None,
                status: str) -> None:
        session, p = key
        session.resolve(p, transcript, status)
        log.debug("voice: %s: published (asr %s), %.0f ms after its end", p.id, status,
                  self.clock() * 1000 - p.utterance.end_ms)
        self._send(session)

    def _mic(self, location: str, mic: str) -> MicSession:
        session = self.mics.get((location, mic))
        if session is None:
            loc = self.cfg.location(location)
            language = (loc.language if loc and loc.language else None) or self.cfg.core.language
            baseline = self.baselines.setdefault((location, mic), Baseline())
            session = MicSession(location, mic, language, self.setup, baseline,
                                 clock=self.monotonic, counts=self.counts)
            self.mics[(location, mic)] = session
        return session

    # -- recognition ----------------------------------------------------------------------

    def _recognise(self, session: MicSession, pending: list[PendingUtterance]) -> None:
        """Finished utterances to speech recognition, or resolved at once without it."""
        for p in pending:
            u = p.utterance
            log.debug("voice: %s: %.1f s utterance, anger %.2f, %.0f ms after its end", p.id,
                      (u.end_ms - u.start_ms) / 1000, u.emotion.anger,
                      self.clock() * 1000 - u.end_ms)
            if self.cfg.voice.store_audio:
                self._spawn(asyncio.to_thread(self._write_wav, session, p))
            if not self.cfg.voice.asr_enabled:
                session.resolve(p, None, "disabled")
            elif not self.asr.submit((session, p), p.id, u.audio, p.language):
                session.resolve(p, None, "backlog")

    # -- out ------------------------------------------------------------------------------

    def _send(self, session: MicSession) -> None:
        """Publish what the session produced: contract events through the outbox
        (JetStream, ordered, retried), heartbeats straight on core NATS."""
        for event in session.events_to_send():
            if isinstance(event, MicHeartbeat):
                self._spawn(self._publish_core(self.subjects.mic(event.location, event.mic),
                                               msgspec.json.encode(event)))
            else:
                self.outbox.put(self._subject(event), encode(event),
                                msg_id(event.location, event.id))

    def _subject(self, event: SessionEvent) -> str:
        if isinstance(event, VoiceEvent):
            return self.subjects.voice(event.location, event.mic)
        if isinstance(event, EncounterEvent):
            return self.subjects.encounter(event.location, event.mic)
        assert isinstance(event, IncidentEvent)
        return self.subjects.incident(event.location)

    async def _publish_core(self, subject: str, payload: bytes) -> None:
        try:
            await self.nc.publish(subject, payload)
        except Exception as exc:  # noqa: BLE001 - the next heartbeat follows soon
            log.debug("voice: heartbeat on %s not sent: %s", subject, exc)

    async def _dead_letter(self, msg: Any, rejection: Rejection) -> None:
        """Headers, subject, reason and size of a rejected audio message; its PCM only with
        ``[voice] store_audio`` (audio is never stored otherwise, not even in the DLQ)."""
        self.rejected[rejection.code] += 1
        try:
            await publish_dead_letter(self.js, self.subjects, "audio", msg.subject,
                                      msg.headers, msg.data, rejection,
                                      keep_payload=self.cfg.voice.store_audio)
        except Exception as exc:  # noqa: BLE001 - counted above; NATS trouble is logged
            log.warning("voice: dead letter for %s not stored: %s", msg.subject, exc)

    # -- ticks, baselines -------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        last_save = self.monotonic()
        while True:
            await asyncio.sleep(self.options.tick_s)
            try:
                self._tick()
            except Exception:
                log.exception("voice: tick failed")  # and keep ticking
            if self.monotonic() - last_save >= self.options.baselines_save_s:
                last_save = self.monotonic()
                await self._save_baselines()

    def _tick(self) -> None:
        """Idle flushes and encounter silence per mic; forget mics silent for
        ``evict_idle_s`` (their state is re-learnt, all but the emotion baseline, which
        ``self.baselines`` keeps)."""
        for key, session in list(self.mics.items()):
            self._recognise(session, session.tick())
            self._send(session)
            if session.evictable(self.options.evict_idle_s):
                del self.mics[key]
                self.counts["mics_evicted"] += 1

    async def _save_baselines(self) -> None:
        try:
            written = await self.baseline_store.save_changed(self.baselines)
            self.counts["baselines_saved"] += written
        except Exception as exc:  # noqa: BLE001 - kept in memory; the next save retries
            log.warning("voice: saving emotion baselines failed: %s", exc)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _write_wav(self, session: MicSession, p: PendingUtterance) -> None:
        """Only with ``store_audio = true``: the utterance as 16 kHz PCM16 WAV."""
        path = self.audio_dir / session.location / session.mic / f"{p.id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm = np.clip(p.utterance.audio * 32768.0, -32768, 32767).astype("<i2")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(pcm.tobytes())


async def run_voice(cfg: VoiceSettings, url: str, login: Login | None = None) -> None:
    """``cxpulse voice``: the voice worker as its own process, until SIGINT/SIGTERM,
    connected as ``login`` (the ``voice`` user)."""
    if not cfg.voice.enabled:
        log.warning("voice worker: [voice] enabled = false; nothing to do")
        return
    stop = stop_on_signals()
    nc = await connect(cfg.nats, url, "cxpulse-voice", login=login)
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    worker = VoiceWorker(cfg, nc, js)
    await worker.start()
    log.info("voice worker: listening on %s", worker.subjects.audio_wildcard)
    await serve_until(stop, worker, nc)
    log.info("voice worker stopped: %s", msgspec.json.encode(worker.health()).decode())
