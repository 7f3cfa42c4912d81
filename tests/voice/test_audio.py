"""Audio ingest: header and payload checks, per-mic sequence tracking (pure)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from stream.events import Limits, Rejection
from stream.subjects import Subjects
from voice.audio import AudioChunk, SeqTracker, mic_event_id, parse_audio

NOW = 1_767_225_600_000
S = Subjects("cx")
LIMITS = Limits()
PCM_100MS = bytes(3200)  # 100 ms at 16 kHz


def parse(headers: Mapping[str, str] | None, payload: bytes = PCM_100MS,
          subject: str = "cx.audio.shop1.desk1") -> AudioChunk | Rejection:
    return parse_audio(S, subject, headers, payload, NOW, LIMITS)


def hdrs(**kw: str | None) -> dict[str, str]:
    h: dict[str, str | None] = {"Cx-Seq": "7", "Cx-Ts": str(NOW - 1000)}
    h.update({k.replace("_", "-"): v for k, v in kw.items()})
    return {k: v for k, v in h.items() if v is not None}


def test_a_good_chunk() -> None:
    c = parse(hdrs(**{"Cx_Rate": "8000"}), bytes(1600))
    assert isinstance(c, AudioChunk)
    assert (c.location, c.mic, c.seq, c.ts_ms, c.rate_hz) == ("shop1", "desk1", 7, NOW - 1000, 8000)
    assert c.duration_ms == 100 and c.end_ms == NOW - 900
    default = parse(hdrs())
    assert isinstance(default, AudioChunk) and default.rate_hz == 16000  # Cx-Rate: 16 kHz


@pytest.mark.parametrize(("headers", "payload", "subject", "code"), [
    (hdrs(), bytes(3201), "cx.audio.a.m", "odd_length"),
    (hdrs(Cx_Seq=None), PCM_100MS, "cx.audio.a.m", "missing_header"),
    (hdrs(Cx_Ts=None), PCM_100MS, "cx.audio.a.m", "missing_header"),
    (hdrs(Cx_Seq="seven"), PCM_100MS, "cx.audio.a.m", "bad_header"),
    (hdrs(Cx_Ts="2026-01-01T00:00:00Z"), PCM_100MS, "cx.audio.a.m", "bad_header"),
    (hdrs(Cx_Ts="-5"), PCM_100MS, "cx.audio.a.m", "bad_header"),
    (hdrs(Cx_Rate="44100"), PCM_100MS, "cx.audio.a.m", "bad_rate"),
    (hdrs(Cx_Rate="fast"), PCM_100MS, "cx.audio.a.m", "bad_header"),
    (hdrs(), bytes(100), "cx.audio.a.m", "too_short"),          # 3 ms
    (hdrs(), bytes(32002), "cx.audio.a.m", "too_long"),         # 1.0001 s
    (hdrs(Cx_Ts=str(NOW + 3_600_000)), PCM_100MS, "cx.audio.a.m", "future_ts"),
    (hdrs(Cx_Ts="1000000000000"), PCM_100MS, "cx.audio.a.m", "too_old_ts"),
    (hdrs(), PCM_100MS, "cx.audio.a", "bad_subject"),
    (hdrs(), PCM_100MS, "cx.audio.A.m", "bad_subject"),
    (None, PCM_100MS, "cx.audio.a.m", "missing_header"),
])
def test_rejections_name_the_problem(headers: dict[str, str] | None, payload: bytes, subject: str,
                                     code: str) -> None:
    r = parse(headers, payload, subject)
    assert isinstance(r, Rejection) and r.code == code and r.reason


def test_limits_are_inclusive() -> None:
    assert isinstance(parse(hdrs(), bytes(320)), AudioChunk)            # 10 ms
    assert isinstance(parse(hdrs(Cx_Rate="48000"), bytes(96000)), AudioChunk)  # 1 s at 48 kHz


def test_gaps_are_counted_never_fatal() -> None:
    t = SeqTracker()
    assert t.admit(1, 0, 100) and t.admit(2, 100, 200)
    assert t.admit(5, 400, 500)  # 3 and 4 lost
    assert (t.gaps, t.lost, t.chunks) == (1, 2, 3)


def test_duplicates_and_late_chunks_are_dropped() -> None:
    t = SeqTracker()
    for s in range(1, 6):
        assert t.admit(s, (s - 1) * 100, s * 100)
    assert not t.admit(5, 400, 500) and not t.admit(3, 200, 300)
    assert t.duplicates == 2
    assert t.admit(8, 700, 800)
    assert not t.admit(7, 600, 700)  # lost, then arrived after 8 was processed
    assert (t.late, t.lost, t.chunks) == (1, 2, 6)


def test_a_device_restart_starts_counting_again() -> None:
    t = SeqTracker()
    assert t.admit(500, 0, 100) and t.admit(501, 100, 200)
    assert t.admit(1, 60_000, 60_100) and t.admit(2, 60_100, 60_200)
    assert (t.restarts, t.gaps, t.duplicates) == (1, 0, 0)


def test_event_ids_are_deterministic_and_bounded() -> None:
    assert mic_event_id("v", "shop1", "desk1", 123) == "v-shop1-desk1-123"
    long = mic_event_id("v", "l" * 64, "m" * 64, 1_767_225_600_000)
    assert len(long) <= 128 and long == mic_event_id("v", "l" * 64, "m" * 64, 1_767_225_600_000)
    assert long != mic_event_id("v", "l" * 64, "n" * 64, 1_767_225_600_000)
