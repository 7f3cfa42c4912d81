"""Audio ingest of ``cx.audio.{location}.{mic}`` (pure): header/payload checks and per-mic
sequence tracking.

``parse_audio`` turns one NATS message into an ``AudioChunk`` or a ``Rejection`` (the
adapter sends those to ``cx.dlq.audio`` with the reason). ``SeqTracker`` follows one
microphone's ``Cx-Seq``: a gap is a dropout (counted, never fatal: the pipeline re-anchors
its clock on ``Cx-Ts``); a repeated or late sequence number is dropped, because the
pipeline has already moved past that audio; a sequence number that goes back while the
time moves forward is a device restart and starts the count again.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from stream.events import Limits, Rejection
from stream.ids import is_id
from stream.subjects import Subjects

RATES_HZ = (8000, 16000, 32000, 48000)
DEFAULT_RATE_HZ = 16000
MIN_CHUNK_MS = 10
MAX_CHUNK_MS = 1000
SEQ_HEADER, TS_HEADER, RATE_HEADER = "Cx-Seq", "Cx-Ts", "Cx-Rate"
MAX_ID_CHARS = 128
RECENT_SEQS = 64  # sequence numbers remembered to tell duplicates from late arrivals


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """One accepted message: PCM16 little-endian mono at ``rate_hz``, first sample at ``ts_ms``."""

    location: str
    mic: str
    seq: int
    ts_ms: int
    rate_hz: int
    pcm: bytes

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration_ms(self) -> float:
        return self.samples * 1000 / self.rate_hz

    @property
    def end_ms(self) -> int:
        return self.ts_ms + round(self.duration_ms)


def _int_header(headers: Mapping[str, str], name: str) -> int | Rejection:
    raw = headers.get(name)
    if raw is None:
        return Rejection("missing_header", f"header {name} is missing")
    text = str(raw).strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 19:
        return Rejection("bad_header", f"header {name} must be an integer, got {text[:40]!r}")
    return int(text)


def _location_mic(subjects: Subjects, subject: str) -> tuple[str, str] | Rejection:
    parsed = subjects.parse(subject)
    if (parsed is None or parsed[0] != "audio" or len(parsed[1]) != 2
            or not all(map(is_id, parsed[1]))):
        return Rejection("bad_subject", f"subject {subject!r} is not "
                         f"{subjects.prefix}.audio.<location>.<mic> with ids of [a-z0-9_-]{{1,64}}")
    return parsed[1][0], parsed[1][1]


def _check_ts(ts_ms: int, now_ms: int, limits: Limits) -> Rejection | None:
    if ts_ms <= 0:
        return Rejection("bad_header",
                         f"header {TS_HEADER} must be epoch milliseconds, got {ts_ms}")
    if ts_ms > now_ms + limits.max_clock_skew_ms:
        return Rejection("future_ts",
                         f"{TS_HEADER} is {(ts_ms - now_ms) / 1000:.0f} s in the future "
                         f"(clock skew limit {limits.max_clock_skew_ms // 1000} s)")
    if ts_ms < now_ms - limits.retention_ms:
        return Rejection("too_old_ts",
                         f"{TS_HEADER} is {(now_ms - ts_ms) / 86_400_000:.1f} days old, "
                         f"beyond the retention of {limits.retention_ms // 86_400_000} days")
    return None


def _check_payload(n_bytes: int, rate_hz: int) -> Rejection | None:
    if n_bytes % 2:
        return Rejection("odd_length", f"payload of {n_bytes} bytes is not whole 16-bit samples "
                         "(PCM16 needs an even byte count)")
    ms = n_bytes // 2 * 1000 / rate_hz
    if ms < MIN_CHUNK_MS:
        return Rejection("too_short", f"payload carries {ms:.1f} ms of audio at {rate_hz} Hz; "
                         f"a message carries {MIN_CHUNK_MS} ms to {MAX_CHUNK_MS} ms")
    if ms > MAX_CHUNK_MS:
        return Rejection("too_long", f"payload carries {ms:.0f} ms of audio at {rate_hz} Hz; "
                         f"a message carries {MIN_CHUNK_MS} ms to {MAX_CHUNK_MS} ms")
    return None


def parse_audio(subjects: Subjects, subject: str, headers: Mapping[str, str] | None,
                payload: bytes, now_ms: int, limits: Limits) -> AudioChunk | Rejection:
    """Check one ``cx.audio`` message; the first problem found is the rejection."""
    where = _location_mic(subjects, subject)
    if isinstance(where, Rejection):
        return where
    hdrs = headers or {}
    seq = _int_header(hdrs, SEQ_HEADER)
    if isinstance(seq, Rejection):
        return seq
    ts_ms = _int_header(hdrs, TS_HEADER)
    if isinstance(ts_ms, Rejection):
        return ts_ms
    rate = DEFAULT_RATE_HZ
    if hdrs.get(RATE_HEADER) is not None:
        rate_or_err = _int_header(hdrs, RATE_HEADER)
        if isinstance(rate_or_err, Rejection):
            return rate_or_err
        rate = rate_or_err
        if rate not in RATES_HZ:
            return Rejection("bad_rate", f"{RATE_HEADER} {rate} is not one of "
                             f"{', '.join(map(str, RATES_HZ))}")
    problem = _check_ts(ts_ms, now_ms, limits) or _check_payload(len(payload), rate)
    if problem is not None:
        return problem
    return AudioChunk(where[0], where[1], seq, ts_ms, rate, bytes(payload))


@dataclass
class SeqTracker:
    """One microphone's ``Cx-Seq`` bookkeeping; ``admit`` says whether to feed a chunk."""

    last_seq: int | None = None
    end_ms: int = 0        # epoch ms just after the last admitted chunk
    chunks: int = 0        # admitted
    gaps: int = 0          # dropouts (Cx-Seq jumps)
    lost: int = 0          # messages missing in those jumps
    duplicates: int = 0    # a sequence number admitted recently
    late: int = 0          # arrived after later audio was processed
    restarts: int = 0      # sequence went back while time moved on
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT_SEQS))

    def admit(self, seq: int, ts_ms: int, end_ms: int) -> bool:
        """True when the chunk is new audio to process, in order."""
        last = self.last_seq
        if last is not None and seq <= last:
            if ts_ms < self.end_ms:
                if seq in self.recent:
                    self.duplicates += 1
                else:
                    self.late += 1
                return False
            self.restarts += 1  # the device started counting again
            self.recent.clear()
        elif last is not None and seq > last + 1:
            self.gaps += 1
            self.lost += seq - last - 1
        self.last_seq = seq
        self.recent.append(seq)
        self.end_ms = max(self.end_ms, end_ms)
        self.chunks += 1
        return True

    def counters(self) -> dict[str, int]:
        return {"chunks": self.chunks, "gaps": self.gaps, "lost": self.lost,
                "duplicates": self.duplicates, "late": self.late, "restarts": self.restarts}


def mic_event_id(kind: str, location: str, mic: str, ms: int) -> str:
    """Deterministic id of a microphone's event (``v-{loc}-{mic}-{start_ms}``), so a re-send
    is deduplicated by JetStream; long ids (ids may be 64 chars each) are hashed to fit."""
    full = f"{kind}-{location}-{mic}-{ms}"
    if len(full) <= MAX_ID_CHARS:
        return full
    digest = hashlib.sha1(f"{location}/{mic}".encode()).hexdigest()[:20]
    return f"{kind}-{digest}-{ms}"
