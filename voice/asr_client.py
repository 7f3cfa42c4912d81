"""Speech recognition over NATS, the caller's side: the wire format and a bounded backlog.

Wire (request/reply on ``{prefix}.asr.transcribe``, served by the queue group ``asr``):

- request payload: the utterance as PCM16 little-endian mono at 16 kHz; headers
  ``Cx-Language`` (whisper language code, always given), ``Cx-Utterance`` (the voice
  event id, for logs), ``Cx-Deadline`` (epoch ms after which the caller has given up:
  the worker skips the work).
- reply: JSON ``AsrReply``: ``status`` ``ok`` | ``expired`` | ``bad_request`` | ``error``,
  ``text`` (masked: phone and card numbers), ``words`` ``[[word, start_s, end_s], ...]``
  relative to the utterance start, ``language``, ``worker``, ``error``.

``AsrClient`` holds utterances in a ``voice.asr.Backlog`` of at most ``max_backlog_s``
seconds of speech and keeps at most ``max_inflight`` batches in flight (a batch: one
30 s packing window of one language, sent as one request per utterance, so the worker
that receives them packs them into one whisper call; with several workers the queue group
spreads them). Every utterance gets exactly one outcome through ``on_result``:
a transcript with ``"ok"``, or ``None`` with the reason recognition was skipped --
``backlog`` (recognition is behind: the backlog is full), ``no_worker`` (nobody serves
the queue group), ``timeout``, ``error``, ``expired`` or ``shutdown``. VAD and emotion
never wait for any of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from voice.asr import Backlog, Transcript, Word

log = logging.getLogger("cxpulse.asr.client")
F32 = npt.NDArray[np.float32]
QUEUE_GROUP = "asr"
LANGUAGE_HEADER, UTTERANCE_HEADER, DEADLINE_HEADER = "Cx-Language", "Cx-Utterance", "Cx-Deadline"
SAMPLE_RATE_HZ = 16000

Status = Literal["ok", "expired", "bad_request", "error"]
ResultCallback = Callable[[Any, Transcript | None, str], None]


class AsrReply(msgspec.Struct, frozen=True, omit_defaults=True):
    status: Status
    text: str = ""
    words: list[tuple[str, float, float]] = []
    language: str = ""
    worker: str = ""
    error: str = ""

    def transcript(self) -> Transcript:
        return Transcript(self.text, tuple(Word(*w) for w in self.words), self.language)


_REPLY = msgspec.json.Decoder(AsrReply)


def encode_audio(audio: F32, max_bytes: int) -> bytes:
    """16 kHz float32 -> PCM16 bytes, cut to ``max_bytes`` (a NATS message's limit)."""
    pcm = np.clip(np.asarray(audio, np.float32) * 32768.0, -32768, 32767).astype("<i2")
    return bytes(pcm[: max(0, max_bytes) // 2].tobytes())


def decode_audio(payload: bytes) -> F32:
    return np.frombuffer(payload, "<i2").astype(np.float32) / 32768.0


def decode_reply(data: bytes) -> AsrReply:
    return _REPLY.decode(data)


class AsrClient:
    """Bounded, non-blocking speech recognition for the voice worker (see module docs)."""

    def __init__(self, nc: Any, subject: str, max_backlog_s: float, on_result: ResultCallback, *,
                 timeout_s: float = 30.0, max_inflight: int = 2, window_s: float = 28.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.nc = nc
        self.subject = subject
        self.on_result = on_result
        self.timeout_s = timeout_s
        self.max_inflight = max_inflight
        self.clock = clock
        self.backlog = Backlog(max_backlog_s, window_s)
        self.outcomes: Counter[str] = Counter()
        self.workers: Counter[str] = Counter()  # replies per ASR worker
        self.sent = 0
        self.inflight = 0
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max_inflight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._ids: dict[int, str] = {}

    def stats(self) -> dict[str, object]:
        return {"sent": self.sent, "inflight": self.inflight, "queued": len(self.backlog.items),
                "backlog_s": round(self.backlog.queued_s, 2), "outcomes": dict(self.outcomes),
                "workers": dict(self.workers)}

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._dispatch(), name="cxpulse-asr-dispatch")

    async def stop(self) -> None:
        """Give up on queued and in-flight work: each gets the outcome ``shutdown``."""
        if self._loop:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for key, _, _ in self.backlog.items:
            self._result(key, None, "shutdown")
        self.backlog.items.clear()

    def submit(self, key: Any, utterance_id: str, audio: F32, language: str) -> bool:
        """Queue one utterance; False (counted as ``backlog``) when recognition is behind."""
        if not self.backlog.offer(key, audio, language):
            self.outcomes["backlog"] += 1
            return False
        self._ids[id(key)] = utterance_id
        self._wake.set()
        return True

    def _result(self, key: Any, transcript: Transcript | None, status: str) -> None:
        self._ids.pop(id(key), None)
        self.outcomes[status] += 1
        try:
            self.on_result(key, transcript, status)
        except Exception:
            log.exception("asr: result callback failed")

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.backlog.items:
                await self._slots.acquire()
                batch = self.backlog.take()
                if not batch:
                    self._slots.release()
                    break
                task = asyncio.create_task(self._run_batch(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, batch: list[tuple[Any, F32, str]]) -> None:
        self.inflight += 1
        try:
            await asyncio.gather(*(self._request(k, a, lang) for k, a, lang in batch))
        finally:
            self.inflight -= 1
            self._slots.release()

    async def _request(self, key: Any, audio: F32, language: str) -> None:
        deadline_ms = int((self.clock() + self.timeout_s) * 1000)
        headers = {LANGUAGE_HEADER: language, UTTERANCE_HEADER: self._ids.get(id(key), ""),
                   DEADLINE_HEADER: str(deadline_ms)}
        payload = encode_audio(audio, int(getattr(self.nc, "max_payload", 1 << 20)) - 4096)
        self.sent += 1
        try:
            msg = await self.nc.request(self.subject, payload, timeout=self.timeout_s,
                                        headers=headers)
            reply = decode_reply(msg.data)
        except asyncio.CancelledError:
            self._result(key, None, "shutdown")
            raise
        except NoRespondersError:
            self._result(key, None, "no_worker")
            return
        except (TimeoutError, NatsTimeoutError):
            self._result(key, None, "timeout")
            return
        except Exception as exc:  # noqa: BLE001 - NATS down, bad reply: skip, counted
            log.warning("asr: request failed: %s", exc)
            self._result(key, None, "error")
            return
        if reply.worker:
            self.workers[reply.worker] += 1
        if reply.status == "ok":
            self._result(key, reply.transcript(), "ok")
        else:
            if reply.error:
                log.warning("asr: %s from %s: %s", reply.status, reply.worker or "?", reply.error)
            self._result(key, None, reply.status)
