"""Utterance segmentation of per-frame VAD decisions (streaming, numba state machine).

An utterance opens on the first speech frame and closes once ``min_silence_ms`` of
non-speech follow its last speech frame, or when it reaches ``max_utterance_ms`` (then it
is cut and the next speech frame opens a new one). Utterances with fewer than
``min_speech_ms`` of speech frames are dropped (clicks, door slams). Emitted spans are
padded by ``pad_ms`` on both sides, never overlapping the previous utterance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

FRAME_MS = 10
_OPEN, _START, _LAST, _COUNT, _PREV_END, _NEXT = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True, slots=True)
class SegmentOptions:
    pad_ms: int = 200
    min_speech_ms: int = 200
    min_silence_ms: int = 500
    max_utterance_ms: int = 15_000


@dataclass(frozen=True, slots=True)
class Segment:
    """An utterance as a frame span ``[start_frame, end_frame)`` (10 ms frames, padded)."""

    start_frame: int
    end_frame: int
    speech_frames: int

    @property
    def start_ms(self) -> int:
        return self.start_frame * FRAME_MS

    @property
    def end_ms(self) -> int:
        return self.end_frame * FRAME_MS


@njit(cache=True)
def _close(state: npt.NDArray[np.int64], cfg: npt.NDArray[np.int64], end: int, end_pad: int,
           out: npt.NDArray[np.int64], n_out: int) -> int:
    """Close the open utterance at ``end`` (exclusive) + ``end_pad``; append it if long enough."""
    pad, min_speech = cfg[0], cfg[1]
    state[_OPEN] = 0
    if state[_COUNT] < min_speech:
        return n_out
    start = max(state[_START] - pad, state[_PREV_END], 0)
    stop = end + end_pad
    out[n_out, 0], out[n_out, 1], out[n_out, 2] = start, stop, state[_COUNT]
    state[_PREV_END] = stop
    return n_out + 1


@njit(cache=True)
def _segment(speech: npt.NDArray[np.bool_], state: npt.NDArray[np.int64],
             cfg: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Advance the state machine over ``speech`` (frames ``state[_NEXT]...``)."""
    min_silence, max_frames = cfg[2], cfg[3]
    out = np.empty((speech.shape[0] // 2 + 2, 3), np.int64)
    n_out = 0
    for i in range(speech.shape[0]):
        f = state[_NEXT] + i
        if state[_OPEN] == 0:
            if speech[i]:
                state[_OPEN], state[_START], state[_LAST], state[_COUNT] = 1, f, f, 1
            continue
        if speech[i]:
            state[_LAST] = f
            state[_COUNT] += 1
            if f + 1 - state[_START] >= max_frames:  # cut exactly: speech goes on
                n_out = _close(state, cfg, f + 1, 0, out, n_out)
        elif f - state[_LAST] >= min_silence:
            n_out = _close(state, cfg, state[_LAST] + 1, cfg[0], out, n_out)
    state[_NEXT] += speech.shape[0]
    return out[:n_out]


class Segmenter:
    """Per-stream segmentation; ``push`` frame decisions in order, get finished utterances."""

    def __init__(self, options: SegmentOptions | None = None) -> None:
        o = options or SegmentOptions()
        if o.min_silence_ms < o.pad_ms:
            raise ValueError("min_silence_ms must be at least pad_ms (the end pad must be known)")
        self.options = o
        self._cfg = np.array([o.pad_ms // FRAME_MS, max(1, o.min_speech_ms // FRAME_MS),
                              max(1, o.min_silence_ms // FRAME_MS),
                              max(2, o.max_utterance_ms // FRAME_MS)], np.int64)
        self._state = np.zeros(6, np.int64)

    @property
    def next_frame(self) -> int:
        return int(self._state[_NEXT])

    @property
    def open_since(self) -> int | None:
        """First frame of the utterance in progress, if any (audio before it can be dropped)."""
        if self._state[_OPEN]:
            return int(max(self._state[_START] - self._cfg[0], self._state[_PREV_END], 0))
        return None

    def push(self, first_frame: int, speech: npt.NDArray[np.bool_]) -> list[Segment]:
        """Feed decisions for frames ``first_frame ...`` (must follow the previous push)."""
        if first_frame != self._state[_NEXT]:
            raise ValueError(f"expected frame {int(self._state[_NEXT])}, got {first_frame}")
        rows = _segment(np.ascontiguousarray(speech, np.bool_), self._state, self._cfg)
        return [Segment(int(a), int(b), int(c)) for a, b, c in rows]

    def flush(self) -> list[Segment]:
        """Close the utterance in progress (end of stream); its end pad is not clipped."""
        if not self._state[_OPEN]:
            return []
        out = np.empty((1, 3), np.int64)
        n = _close(self._state, self._cfg, int(self._state[_LAST]) + 1, int(self._cfg[0]), out, 0)
        return [Segment(int(a), int(b), int(c)) for a, b, c in out[:n]]
