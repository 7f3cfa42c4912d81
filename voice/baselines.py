"""Per-microphone emotion baselines kept in a JetStream KV bucket across voice-worker restarts.

A mic's baseline (``dsp.emotion.Baseline``: running location and scale of each prosodic
feature) takes ``warmup_utterances`` to settle; before that the mic's anger scores are held
back. Without persistence every restart or mic eviction started that learning over. The
voice worker loads every stored baseline at start, hands each to the mic when it first
sends audio, and saves the baselines that learnt something new every ``save_every_s`` and
at stop. One key per mic: ``{location}.{mic}``.
"""

from __future__ import annotations

import logging

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from dsp.emotion import Baseline, BaselineState
from stream.nats_io import ensure_kv, stream_names

log = logging.getLogger("cxpulse.voice")
MicKey = tuple[str, str]


def bucket_name(prefix: str) -> str:
    return f"{stream_names(prefix)['voice']}_BASELINES"


class BaselineStore:
    """Load all, save changed: the voice worker's baselines in KV."""

    def __init__(self, js: JetStreamContext, prefix: str, replicas: int = 1) -> None:
        self._js, self._bucket, self._replicas = js, bucket_name(prefix), replicas
        self._kv: KeyValue | None = None
        self._saved: dict[MicKey, int] = {}  # utterances learnt at the last save

    async def open(self) -> None:
        self._kv = await ensure_kv(self._js, self._bucket, replicas=self._replicas,
                                   description="cxpulse per-mic emotion baselines")

    async def load_all(self) -> dict[MicKey, Baseline]:
        """Every stored baseline; an unreadable one is skipped (that mic learns anew)."""
        assert self._kv is not None, "open() first"
        try:
            keys = await self._kv.keys()
        except NoKeysError:
            return {}
        out: dict[MicKey, Baseline] = {}
        for key in keys:
            location, _, mic = key.partition(".")
            try:
                entry = await self._kv.get(key)
                state = msgspec.json.decode(entry.value or b"", type=BaselineState)
                out[(location, mic)] = Baseline.restore(state)
            except Exception as exc:  # noqa: BLE001 - one bad entry must not stop the worker
                log.warning("voice: baseline %s unreadable (%s); learning it anew", key, exc)
                continue
            self._saved[(location, mic)] = out[(location, mic)].utterances
        return out

    async def save_changed(self, baselines: dict[MicKey, Baseline]) -> int:
        """Write the baselines that learnt from new utterances since their last save."""
        assert self._kv is not None, "open() first"
        written = 0
        for key, baseline in baselines.items():
            if self._saved.get(key) == baseline.utterances:
                continue
            await self._kv.put(f"{key[0]}.{key[1]}", msgspec.json.encode(baseline.snapshot()))
            self._saved[key] = baseline.utterances
            written += 1
        return written
