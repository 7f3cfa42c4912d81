"""One microphone's voice analytics, sans I/O: audio chunks in, contract events out.

Like python-websockets' protocol objects, a ``MicSession`` reads no socket and no clock of
its own: the voice worker (``voice/worker.py``) feeds it what arrives and publishes what it
produces; tests drive it directly. The order of calls:

    session = MicSession(location, mic, language, setup, baseline, clock=time.monotonic)
    for p in session.receive_audio(chunk):      # utterances the VAD finished with this chunk
        ...                                     # speech recognition, or not, then:
        session.resolve(p, transcript, status)  # -> voice event (+ sensor report), encounter
    session.receive_feedback(ts_ms, closed_by, rating)   # a visit or rating at the location
    for p in session.tick(): ...                # every few 100 ms: idle flush, encounter silence
    for p in session.flush(): ...               # at shutdown: the utterance in progress,
    session.close()                             # then the encounter in progress
    for event in session.events_to_send(): ...  # after any of the above

Out come ``VoiceEvent`` (``cx.voice``, with the incident sensor's ``escalation`` report on
the utterance that starts an episode), ``EncounterEvent`` (``cx.encounter``) and
``MicHeartbeat`` (``cx.mic``: audio is arriving, at most every ``heartbeat_every_ms`` of
audio time). ``clock`` is a monotonic clock in seconds: how long the mic has been silent
(idle flush, eviction) and so the mic's audio clock running on while it is silent.

Each utterance is resolved exactly once: with its transcript, or with the reason
recognition was skipped (``status``). Its voice event carries the keywords found in the
transcript and the transcript itself, masked (``text.mask``: phones, e-mails, cards,
accounts, passports, names, addresses), unless
``[voice] transcript_retention_days = 0`` (keywords only).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from dsp.emotion import Baseline
from dsp.segment import SegmentOptions
from dsp.silero import SileroGate
from stream.events import (
    EncounterEvent,
    IncidentEvent,
    MicHeartbeat,
    VoiceEmotion,
    VoiceEvent,
)
from text import mask
from voice.asr import Transcript
from voice.audio import AudioChunk, SeqTracker, mic_event_id
from voice.config import VoiceConfig
from voice.encounters import ClosedBy, EncounterOptions, EncounterTracker
from voice.incident_sensor import IncidentSensor, SensorOptions, escalation_report
from voice.keywords import KeywordMatcher, keyword_hits
from voice.pipeline import PipelineOptions, Utterance, VoicePipeline

MAX_TRANSCRIPT = 8000
SessionEvent = VoiceEvent | IncidentEvent | EncounterEvent | MicHeartbeat


@dataclass(frozen=True, slots=True)
class SessionSetup:
    """What every mic's session shares: options of its parts and the lexicon matcher."""

    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    sensor: SensorOptions = field(default_factory=SensorOptions)
    encounters: EncounterOptions = field(default_factory=EncounterOptions)
    matcher: KeywordMatcher = field(default_factory=lambda: KeywordMatcher({}))
    keep_transcripts: bool = True
    idle_flush_s: float = 2.0          # no audio this long: close the utterance in progress
    heartbeat_every_ms: int = 15_000   # audio time between two heartbeats of one mic

    @classmethod
    def from_config(cls, voice: VoiceConfig, *, encounter_settle_ms: int = 5_000,
                    idle_flush_s: float = 2.0, heartbeat_every_ms: int = 15_000) -> SessionSetup:
        """``[voice]`` as sessions use it (loads silero when ``silero_confirm`` is set)."""
        segment = SegmentOptions(voice.pad_ms, voice.min_speech_ms, voice.min_silence_ms,
                                 voice.max_utterance_ms)
        return cls(
            pipeline=PipelineOptions(segment=segment,
                                     confirm=SileroGate() if voice.silero_confirm else None),
            sensor=SensorOptions.from_config(voice),
            encounters=EncounterOptions(int(voice.encounter_silence_s * 1000),
                                        encounter_settle_ms),
            matcher=KeywordMatcher(voice.lexicons()),
            keep_transcripts=voice.transcript_retention_days > 0,
            idle_flush_s=idle_flush_s, heartbeat_every_ms=heartbeat_every_ms)


@dataclass(frozen=True, slots=True, eq=False)
class PendingUtterance:
    """A finished utterance awaiting ``resolve``: its voice event id, audio and language."""

    id: str
    utterance: Utterance
    language: str


def voice_event(location: str, mic: str, p: PendingUtterance, transcript: Transcript | None,
                status: str, matcher: KeywordMatcher, *, keep_transcript: bool) -> VoiceEvent:
    """The contract ``cx.voice`` event of a resolved utterance (pure)."""
    u = p.utterance
    keywords = keyword_hits(transcript, u.start_ms, matcher, p.language) if transcript else []
    text = None
    if keep_transcript and transcript is not None and transcript.text:
        text = mask(transcript.text)[:MAX_TRANSCRIPT]
    return VoiceEvent(
        id=p.id, ts=u.end_ms, location=location, mic=mic, start=u.start_ms, end=u.end_ms,
        emotion=VoiceEmotion(unit(u.emotion.arousal), unit(u.emotion.anger)),
        loudness_db=round(float(u.loudness_db), 2), keywords=keywords, transcript=text,
        language=p.language, asr=status)


def unit(x: float) -> float:
    """A score clipped to [0, 1], 4 decimals (the contract's ``Score``)."""
    return round(min(max(float(x), 0.0), 1.0), 4)


class MicSession:
    """One microphone: see the module docstring for the order of calls."""

    def __init__(self, location: str, mic: str, language: str, setup: SessionSetup,
                 baseline: Baseline | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 counts: Counter[str] | None = None) -> None:
        self.location = location
        self.mic = mic
        self.language = language
        self.setup = setup
        self.clock = clock
        self.counts: Counter[str] = Counter() if counts is None else counts
        self.pipeline = VoicePipeline(setup.pipeline, baseline)
        self.encounters = EncounterTracker(location, mic, setup.encounters)
        self.sensor = IncidentSensor(setup.sensor)
        self.seq = SeqTracker()
        self.utterances = 0
        self.clock_ms = 0                 # audio clock: epoch ms at the end of the last chunk
        self.last_rx = clock()            # monotonic time of the last chunk
        self._heartbeat_ms: int | None = None
        self._unflushed = False           # audio fed since the last flush
        self._out: list[SessionEvent] = []

    def now_ms(self) -> int:
        """The audio clock, running on while the mic is silent."""
        return self.clock_ms + int((self.clock() - self.last_rx) * 1000)

    @property
    def idle_s(self) -> float:
        """Seconds since the last chunk."""
        return self.clock() - self.last_rx

    def evictable(self, idle_s: float) -> bool:
        """Silent for ``idle_s`` with no encounter open or pending: nothing worth keeping
        (but the emotion baseline, which its owner keeps)."""
        return self.idle_s >= idle_s and self.encounters.idle

    # -- in ---------------------------------------------------------------------------------

    def receive_audio(self, chunk: AudioChunk) -> list[PendingUtterance]:
        """One chunk of this mic's audio; returns the utterances it finished. A duplicate
        or late chunk (``SeqTracker``) is dropped. The pipeline's errors propagate (the
        caller dead-letters the chunk; the session stays usable)."""
        if not self.seq.admit(chunk.seq, chunk.ts_ms, chunk.end_ms):
            return []
        self.counts["chunks"] += 1
        self.clock_ms = max(self.clock_ms, chunk.end_ms)
        self.last_rx = self.clock()
        self._unflushed = True
        beat = self._heartbeat_ms
        if beat is None or chunk.ts_ms - beat >= self.setup.heartbeat_every_ms:
            self._heartbeat_ms = chunk.ts_ms
            self._out.append(MicHeartbeat(location=self.location, mic=self.mic, ts=chunk.ts_ms))
        pending = [self._pending(u) for u in
                   self.pipeline.feed(chunk.pcm, chunk.ts_ms, chunk.rate_hz)]
        self._poll(self.clock_ms)
        return pending

    def resolve(self, p: PendingUtterance, transcript: Transcript | None, status: str) -> None:
        """An utterance's recognition is done (``"ok"``) or skipped (``status`` says why):
        its voice event, the incident sensor, the encounter tracker."""
        s = self.setup
        event = voice_event(self.location, self.mic, p, transcript, status, s.matcher,
                            keep_transcript=s.keep_transcripts)
        trigger = self.sensor.observe(event.start, event.end, event.emotion.anger,
                                      event.keywords)
        if trigger is not None:  # the sensor reports; the case rules decide (cases.rules)
            event = msgspec.structs.replace(
                event, escalation=escalation_report(self.location, self.mic, trigger))
            self.counts["escalations"] += 1
        self._out.append(event)
        self.counts["voice_events"] += 1
        self.counts[f"asr_{status}"] += 1
        self.encounters.finish(event.start, event.end, event.emotion.anger,
                               frozenset(k.category for k in event.keywords))
        self._poll(self.now_ms())

    def receive_feedback(self, ts_ms: int, closed_by: ClosedBy, rating: float | None) -> None:
        """A visit or rating at this mic's location closes its encounter."""
        self.encounters.close(ts_ms, closed_by, rating)
        self._poll(self.now_ms())

    def tick(self) -> list[PendingUtterance]:
        """Close the utterance in progress once no audio came for ``idle_flush_s``; close
        encounters by silence. Returns the utterances closed."""
        pending = []
        if self._unflushed and self.idle_s >= self.setup.idle_flush_s:
            self._unflushed = False
            pending = [self._pending(u) for u in self.pipeline.flush()]
        self._poll(self.now_ms())
        return pending

    def flush(self) -> list[PendingUtterance]:
        """Shutdown, first step: the utterance in progress (resolve it, then ``close``)."""
        return [self._pending(u) for u in self.pipeline.flush()]

    def close(self) -> None:
        """Shutdown, last step: the encounter in progress, keywords still missing as none."""
        self._emit_encounters(self.encounters.flush())

    # -- out --------------------------------------------------------------------------------

    def events_to_send(self) -> list[SessionEvent]:
        """Everything produced since the last call, in order."""
        out, self._out = self._out, []
        return out

    def _pending(self, u: Utterance) -> PendingUtterance:
        self.utterances += 1
        self.counts["utterances"] += 1
        self.encounters.begin(u.start_ms)
        return PendingUtterance(mic_event_id("v", self.location, self.mic, u.start_ms), u,
                                self.language)

    def _poll(self, now_ms: int) -> None:
        self._emit_encounters(self.encounters.poll(now_ms))

    def _emit_encounters(self, encounters: list[EncounterEvent]) -> None:
        self._out.extend(encounters)
        self.counts["encounters"] += len(encounters)
