"""Silero VAD (the ONNX model inside faster-whisper) as a second opinion on utterances.

The numba VAD runs on every frame of every stream; silero is ~50x more expensive, so it
only looks at the utterances the numba VAD proposes (a hybrid: cheap candidates, neural
confirmation). It rejects candidates that are not speech at all -- music, machinery --
which no adaptive-threshold detector can tell from speech by level alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
WINDOW = 512  # samples per silero decision at 16 kHz (32 ms)
_lock = threading.Lock()
_model: Any = None


def _silero() -> Any:
    global _model
    with _lock:
        if _model is None:
            from faster_whisper.vad import get_vad_model

            _model = get_vad_model()
    return _model


def probabilities(audio: F32) -> F32:
    """Silero speech probability per 32 ms window of 16 kHz float32 audio."""
    x = np.asarray(audio, np.float32)
    if len(x) == 0:
        return np.zeros(0, np.float32)
    x = np.pad(x, (0, (-len(x)) % WINDOW))
    return np.asarray(_silero()(x), np.float32).reshape(-1)


def frame_probabilities(audio: F32, frame: int = 160) -> F32:
    """Silero probabilities mapped onto 10 ms frames (the window holding each frame centre)."""
    p = probabilities(audio)
    n = len(audio) // frame
    if len(p) == 0:
        return np.zeros(n, np.float32)
    centre = (np.arange(n) * frame + frame // 2) // WINDOW
    return p[np.minimum(centre, len(p) - 1)]


@dataclass(frozen=True, slots=True)
class SileroGate:
    """Accepts an utterance when enough of its windows look like speech to silero."""

    threshold: float = 0.5
    min_speech_share: float = 0.2

    def speech_share(self, audio: F32) -> float:
        p = probabilities(audio)
        return float((p >= self.threshold).mean()) if len(p) else 0.0

    def accepts(self, audio: F32) -> bool:
        return self.speech_share(audio) >= self.min_speech_share
