"""The VAD on recorded human speech (issue 19): mid-speech starts, quiet starts, dense talk.

The speech is the Russian Asterisk prompts of Debian's ``asterisk-core-sounds-ru-wav``
(installed by tests/system_deps.sh; otherwise bench/real_corpus.py downloads and unpacks
it into bench/out/). Labels come from the clean recordings: speech above -45 dBFS held
100 ms, silence below -55 dBFS, frames between not scored.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from bench import real_corpus as rc
from dsp.vad import Vad
from voice.pipeline import VoicePipeline

F32 = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def prompts() -> dict[str, F32]:
    try:
        return dict(rc.prompts("ru"))
    except rc.SpeechUnavailable as e:  # only when the package can be neither found nor fetched
        pytest.skip(f"recorded speech unavailable: {e}")


def _dense(prompts: dict[str, F32], first: str, seconds: float, seed: int = 3) -> rc.Track:
    """A dense conversation (0.2-0.6 s gaps) opening 20 % into prompt ``first``."""
    rng = np.random.default_rng(seed)
    names = [n for n in sorted(prompts) if n != first and 1.0 <= len(prompts[n]) / 16000 <= 4.0]
    clips, total = [prompts[first]], len(prompts[first]) / 16000
    for k in rng.permutation(len(names)):
        if total >= seconds:
            break
        clips.append(prompts[names[k]])
        total += len(clips[-1]) / 16000 + 0.4
    return rc.conversation("dense", clips, (0.2, 0.6), rng, start_at=0.2)


def _speech(x: F32) -> npt.NDArray[np.bool_]:
    """Decisions per 10 ms frame, 0.5 s chunks as on cx.audio, then 1 s of zeros to flush."""
    v, out = Vad(), []
    for i in range(0, len(x), 8000):
        out.append(v.process(x[i : i + 8000]).speech)
    out.append(v.process(np.zeros(16000, np.float32)).speech)
    return np.concatenate(out)[: len(x) // rc.FRAME]


def _recall(pred: npt.NDArray[np.bool_], lab: npt.NDArray[np.int8]) -> float:
    return float((pred & (lab == 1)).sum() / max((lab == 1).sum(), 1))


def _f1(pred: npt.NDArray[np.bool_], lab: npt.NDArray[np.int8]) -> float:
    tp = (pred & (lab == 1)).sum()
    return float(2 * tp / max((pred & (lab >= 0)).sum() + (lab == 1).sum(), 1))


@pytest.mark.parametrize(("kind", "snr_db"), [("clean", 0), ("white", 20), ("white", 10)])
def test_stream_opening_mid_speech_keeps_its_first_word(prompts: dict[str, F32], kind: str,
                                                        snr_db: float) -> None:
    track = _dense(prompts, "hello.wav", 8.0)
    x = rc.mix(track, kind, snr_db, seed=5)
    first = slice(0, track.spans[0][1] // rc.FRAME)
    assert _recall(_speech(x)[first], track.labels[first]) >= 0.9
    pcm = np.clip(x * 32768, -32768, 32767).astype(np.int16)
    pipe = VoicePipeline()
    utts = [u for i in range(0, len(pcm), 1600) for u in pipe.feed(pcm[i : i + 1600], i // 16)]
    utts += pipe.flush()
    assert utts and utts[0].start_ms <= 50 and utts[0].end_ms >= track.spans[0][1] // 16


@pytest.mark.parametrize("lead", ["zeros 50 ms", "zeros 3 s", "dither -84 dBFS 3 s"])
def test_quiet_start_does_not_deafen(prompts: dict[str, F32], lead: str) -> None:
    track = _dense(prompts, "agent-loginok.wav", 30.0)
    x = rc.mix(track, "white", 15, seed=6)
    n_lead = 800 if lead.endswith("50 ms") else 3 * 16000
    quiet = np.zeros(n_lead, np.float32)
    if lead.startswith("dither"):
        hiss = np.random.default_rng(1).standard_normal(n_lead) * 10 ** (-84 / 20)
        quiet = hiss.astype(np.float32)
    n = len(x) // rc.FRAME
    plain = _speech(x)
    after_quiet = _speech(np.concatenate((quiet, x)))[n_lead // rc.FRAME :][:n]
    lab = track.labels[:n]
    blocks = [_recall(after_quiet[a : a + 1000], lab[a : a + 1000]) for a in range(0, n, 1000)]
    assert min(blocks) >= 0.85, blocks
    assert abs(_f1(after_quiet, lab) - _f1(plain, lab)) <= 0.02


@pytest.mark.parametrize(("kind", "snr_db"), [("clean", 0), ("white", 20), ("white", 10)])
def test_thirty_seconds_of_dense_speech_keep_recall(prompts: dict[str, F32], kind: str,
                                                     snr_db: float) -> None:
    track = _dense(prompts, "agent-newlocation.wav", 30.0, seed=4)
    assert np.mean(track.labels == 1) > 0.75  # dense: speech most of the time
    pred = _speech(rc.mix(track, kind, snr_db, seed=7))
    lab = track.labels[: len(pred)]
    precision = (pred & (lab == 1)).sum() / max((pred & (lab >= 0)).sum(), 1)
    assert _recall(pred, lab) >= 0.9 and precision >= 0.9


def test_digital_silence_is_never_speech(prompts: dict[str, F32]) -> None:
    track = _dense(prompts, "hello.wav", 10.0)
    x = np.concatenate((track.clean, np.zeros(3 * 16000, np.float32), track.clean))
    pred = _speech(x)
    gap = slice(len(track.clean) // rc.FRAME + 15, (len(track.clean) + 3 * 16000) // rc.FRAME)
    assert not pred[gap].any()
