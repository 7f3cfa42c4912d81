"""``cxpulse warm``: compile the numba kernels into their on-disk caches ahead of use.

Every hot kernel is ``@njit(cache=True)``: the first process to call one compiles it
(seconds each, minutes in all on a slow machine) and writes the machine code beside the
source; every later process loads it in milliseconds. A fresh install (or ``make test`` on
a clean clone) runs this once, so no service and no test pays for compilation.
"""

from __future__ import annotations

import json
import time

import numpy as np

from cxpulse.config import Config
from dsp.prosody import extract
from stream.engine import MetricsEngine
from stream.events import Limits, validate_event
from stream.query import metrics
from voice.keywords import KeywordMatcher
from voice.pipeline import VoicePipeline


def warm(cfg: Config) -> float:
    """Call each kernel once with the types the services use; returns the seconds taken."""
    started = time.monotonic()
    noise = (np.random.default_rng(0).standard_normal(3 * 16000) * 300).astype(np.int16)
    VoicePipeline().feed(noise.tobytes(), 0)  # VAD, spectra, segmenter
    VoicePipeline().feed(noise[:8000].tobytes(), 0, sample_rate_hz=8000)  # the resampler
    t = np.arange(16000, dtype=np.float32) / 16000
    voiced = (0.3 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t)))
    extract(voiced.astype(np.float32))  # prosody of an utterance: levels, pitch, peaks
    KeywordMatcher({"ru": {"greeting": ["здравствуйте"]}}).match("здравствуйте", "ru")
    engine = MetricsEngine(cfg)
    location = next(iter(cfg.locations)).id if cfg.locations else "warm"
    now_ms = int(time.time() * 1000)
    limits = Limits(int(cfg.core.max_clock_skew_s * 1000), cfg.core.retention_days * 86_400_000)
    body = {"id": "warm-1", "ts": now_ms, "location": location, "type": "nps", "value": 9}
    event = validate_event("feedback", location, json.dumps(body).encode(), now_ms, limits)
    if isinstance(event, tuple):
        engine.apply_batch([event], 1)  # dedup index and bucket adds
        engine.apply_batch([event], 2)  # the duplicate check
        for window in ("today", "7d"):
            metrics(engine, "network", window, now_ms)  # bucket sums
    return time.monotonic() - started
