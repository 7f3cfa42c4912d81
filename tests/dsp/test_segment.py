from __future__ import annotations

import itertools

import numpy as np
import pytest

from dsp.segment import Segment, Segmenter, SegmentOptions


def _frames(n: int, *runs: tuple[int, int]) -> np.ndarray:
    d = np.zeros(n, bool)
    for a, b in runs:
        d[a:b] = True
    return d


def test_short_pauses_merge_and_bursts_are_dropped() -> None:
    s = Segmenter(SegmentOptions(pad_ms=200, min_speech_ms=200, min_silence_ms=500))
    d = _frames(1000, (100, 150), (170, 200), (400, 405), (600, 900))
    segs = s.push(0, d) + s.flush()
    assert segs == [Segment(80, 220, 80), Segment(580, 920, 300)]
    assert (segs[0].start_ms, segs[0].end_ms) == (800, 2200)


def test_streaming_pushes_equal_one_push() -> None:
    d = np.random.default_rng(1).random(3000) < 0.3
    d = np.convolve(d, np.ones(15), mode="same") > 6
    one = Segmenter()
    whole = one.push(0, d) + one.flush()
    s, out, pos = Segmenter(), [], 0
    for n in (7, 1, 300, 45, 1000, 1647):
        out += s.push(pos, d[pos : pos + n])
        pos += n
    assert out + s.flush() == whole and len(whole) > 3


def test_long_speech_is_cut_at_max_length() -> None:
    s = Segmenter(SegmentOptions(max_utterance_ms=1000))
    segs = s.push(0, np.ones(250, bool)) + s.flush()
    assert [(x.start_frame, x.end_frame) for x in segs[:2]] == [(0, 100), (100, 200)]
    assert all(x.end_frame <= y.start_frame for x, y in itertools.pairwise(segs))


def test_padding_never_overlaps_the_previous_utterance() -> None:
    s = Segmenter(SegmentOptions(pad_ms=300, min_silence_ms=300))
    segs = s.push(0, _frames(400, (10, 60), (95, 150))) + s.flush()
    assert segs[0].end_frame <= segs[1].start_frame


def test_out_of_order_and_bad_options() -> None:
    s = Segmenter()
    s.push(0, np.zeros(10, bool))
    with pytest.raises(ValueError, match="expected frame 10"):
        s.push(20, np.zeros(5, bool))
    with pytest.raises(ValueError):
        Segmenter(SegmentOptions(pad_ms=600, min_silence_ms=500))
