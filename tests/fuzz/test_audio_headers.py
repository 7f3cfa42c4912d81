"""The ``cx.audio`` header/payload parser and the per-mic ``Cx-Seq`` tracker, fuzzed."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.events import Limits, Rejection
from stream.subjects import Subjects
from voice import audio

NOW_MS = int(time.time() * 1000)
FUZZ = settings(max_examples=300, deadline=None)

header_values = (st.integers(-2**70, 2**70).map(str) | st.text(max_size=25)
                 | st.sampled_from(["16000", "44100", " 7 ", "+3", "-0", "1e3", "٣", str(NOW_MS)]))
headers = st.dictionaries(st.sampled_from(["Cx-Seq", "Cx-Ts", "Cx-Rate", "Nats-Msg-Id", "x"]),
                          header_values, max_size=4) | st.none()
subjects = st.text(max_size=40) | st.lists(st.sampled_from(
    ["cx", "audio", "loc-1", "mic", "A", "", "*"]), max_size=5).map(".".join)


@FUZZ
@given(subject=subjects, hdrs=headers, payload=st.binary(max_size=4000))
def test_parse_audio_on_anything(subject: str, hdrs: dict[str, str] | None, payload: bytes) -> None:
    result = audio.parse_audio(Subjects("cx"), subject, hdrs, payload, NOW_MS, Limits())
    if isinstance(result, Rejection):
        assert result.code and result.reason
        return
    assert result.rate_hz in audio.RATES_HZ
    assert audio.MIN_CHUNK_MS <= result.duration_ms <= audio.MAX_CHUNK_MS
    assert result.pcm == payload


@FUZZ
@given(seq=st.integers(0, 10**6), ts=st.integers(NOW_MS - 10**6, NOW_MS),
       rate=st.sampled_from(audio.RATES_HZ), ms=st.integers(0, 1200))
def test_parse_audio_on_wellformed_headers(seq: int, ts: int, rate: int, ms: int) -> None:
    payload = b"\x01\x00" * (rate * ms // 1000)
    hdrs = {"Cx-Seq": str(seq), "Cx-Ts": str(ts), "Cx-Rate": str(rate)}
    result = audio.parse_audio(Subjects("cx"), "cx.audio.loc-1.desk1", hdrs, payload, NOW_MS,
                               Limits())
    ok = audio.MIN_CHUNK_MS <= len(payload) // 2 * 1000 / rate <= audio.MAX_CHUNK_MS
    assert isinstance(result, Rejection) != ok


@FUZZ
@given(steps=st.lists(st.tuples(st.integers(-3, 5), st.integers(-200, 400)), max_size=60))
def test_seq_tracker_counts_add_up(steps: list[tuple[int, int]]) -> None:
    tracker = audio.SeqTracker()
    seq, ts = 1, NOW_MS
    admitted = 0
    for dseq, dts in steps:
        seq, ts = max(0, seq + dseq), ts + dts
        admitted += tracker.admit(seq, ts, ts + 100)
    c = tracker.counters()
    assert c["chunks"] == admitted
    assert c["chunks"] + c["duplicates"] + c["late"] == len(steps)
    assert c["lost"] >= c["gaps"] >= 0
