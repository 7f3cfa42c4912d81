"""Speech synthesis, noise generation and mixing primitives for simulators and benchmarks.

Russian comes from Debian ``festival`` + ``festvox-ru`` (natural enough for whisper to
transcribe), English from ``espeak-ng``; ``sox`` resamples and shapes prosody (agitated
speech: pitch up, faster, louder, overdriven). Voice variety for Russian, which has one
festival voice, comes from sox pitch shifts. Everything returns 16 kHz mono int16 arrays;
temporary files live only inside a private temp dir. Noise generators are seeded numpy.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ = 16000
AGITATED_EFFECTS = ("pitch", "400", "tempo", "1.2", "gain", "-n", "-1", "overdrive", "6")
CALM_EFFECTS = ("gain", "-n", "-8")
RU_VOICES: dict[str, tuple[str, ...]] = {
    "nsh": (),
    "nsh_low": ("pitch", "-250"),
    "nsh_high": ("pitch", "300"),
}
EN_VOICES: tuple[str, ...] = (
    "en-us+Alicia",
    "en-gb+Andy",
    "en-us+Annie",
    "en+max",
    "en-gb-x-rp+Denis",
)
Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Voice:
    """A synthesis voice: ``lang`` ru (festival) or en (espeak-ng), plus sox shaping."""

    lang: str
    name: str
    effects: tuple[str, ...] = ()


def have_tools() -> bool:
    """True when festival, espeak-ng and sox are all on PATH."""
    return all(shutil.which(t) for t in ("text2wave", "festival", "espeak-ng", "sox"))


def voices(lang: str) -> list[Voice]:
    """All voices of a language: festival + pitch variants for ru, espeak-ng voices for en."""
    if lang == "ru":
        return [Voice("ru", name, fx) for name, fx in RU_VOICES.items()]
    return [Voice("en", name) for name in EN_VOICES]


def read_wav(path: str | Path) -> tuple[Pcm, int]:
    """Read a mono/stereo PCM16 WAV file -> (mono int16 samples, sample rate)."""
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data.astype(np.int16), rate


def write_wav(path: str | Path, pcm: Pcm, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write mono int16 samples as a PCM16 WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate_hz)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


def sox(pcm: Pcm, effects: tuple[str, ...] | list[str], in_rate_hz: int = SAMPLE_RATE_HZ) -> Pcm:
    """Run raw PCM16 through ``sox`` with ``effects``; output is 16 kHz mono int16."""
    fmt = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1"]
    cmd = ["sox", "-V1", *fmt, "-r", str(in_rate_hz), "-", *fmt, "-r", str(SAMPLE_RATE_HZ), "-",
           *effects, "rate", "-h", str(SAMPLE_RATE_HZ)]
    out = subprocess.run(
        cmd, input=np.asarray(pcm, "<i2").tobytes(), capture_output=True, check=True
    )
    return np.frombuffer(out.stdout, dtype="<i2").astype(np.int16)


def _clean_text(text: str) -> str:
    return " ".join(text.replace('"', " ").replace("\\", " ").split())


def synth_ru_many(texts: list[str]) -> list[Pcm]:
    """Synthesise Russian sentences with festival's msu_ru_nsh voice in one process."""
    if not texts:
        return []
    with tempfile.TemporaryDirectory(prefix="cx-festival-") as tmp:
        lines = ["(voice_msu_ru_nsh_clunits)"]
        for i, text in enumerate(texts):
            out = Path(tmp) / f"u{i}.wav"
            lines.append(
                f'(utt.save.wave (utt.synth (Utterance Text "{_clean_text(text)}")) "{out}" \'riff)'
            )
        script = Path(tmp) / "batch.scm"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        subprocess.run(["festival", "--batch", str(script)], capture_output=True, check=True)
        result = []
        for i in range(len(texts)):
            pcm, rate = read_wav(Path(tmp) / f"u{i}.wav")
            result.append(pcm if rate == SAMPLE_RATE_HZ else sox(pcm, [], rate))
        return result


def synth_en(text: str, voice: str = EN_VOICES[0], rate_wpm: int = 160) -> Pcm:
    """Synthesise English with espeak-ng (``voice`` like ``en-us+Alicia``), at 16 kHz."""
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "--stdout", _clean_text(text)],
        capture_output=True,
        check=True,
    )
    with tempfile.TemporaryDirectory(prefix="cx-espeak-") as tmp:
        path = Path(tmp) / "e.wav"
        path.write_bytes(out.stdout)
        pcm, rate = read_wav(path)
    return sox(pcm, [], rate)


def synth_many(texts: list[str], voice: Voice, agitated: bool = False) -> list[Pcm]:
    """Synthesise sentences in ``voice``, then apply its shaping and calm/agitated prosody."""
    raw = synth_ru_many(texts) if voice.lang == "ru" else [synth_en(t, voice.name) for t in texts]
    prosody = AGITATED_EFFECTS if agitated else CALM_EFFECTS
    return [sox(pcm, [*voice.effects, *prosody]) for pcm in raw]


def white_noise(n_samples: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Gaussian white noise, unit variance."""
    return rng.standard_normal(n_samples).astype(np.float32)


def hum_noise(
    n_samples: int, rng: np.random.Generator, mains_hz: float = 50.0
) -> npt.NDArray[np.float32]:
    """Mains hum: the mains frequency and its harmonics (1/k amplitudes, slow drift), plus a
    little hiss."""
    t = np.arange(n_samples) / SAMPLE_RATE_HZ
    drift = 1.0 + 0.002 * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 6.28))
    phase = 2 * np.pi * mains_hz * np.cumsum(drift) / SAMPLE_RATE_HZ
    x = sum(np.sin(k * phase + rng.uniform(0, 6.28)) / k for k in range(1, 12))
    x = x + 0.02 * rng.standard_normal(n_samples)
    return (x / np.std(x)).astype(np.float32)


def music_noise(n_samples: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Music-like tones: chords of harmonic notes from a pentatonic scale, 0.2-0.7 s each."""
    out = np.zeros(n_samples, np.float64)
    scale = np.array([0, 2, 4, 7, 9])
    pos = 0
    while pos < n_samples:
        dur = int(rng.uniform(0.2, 0.7) * SAMPLE_RATE_HZ)
        t = np.arange(dur) / SAMPLE_RATE_HZ
        env = np.minimum(1.0, t / 0.02) * np.exp(-t * rng.uniform(1.0, 4.0))
        for _ in range(rng.integers(1, 4)):
            semitone = 12 * rng.integers(0, 3) + scale[rng.integers(0, 5)]
            f0 = 196.0 * 2 ** (semitone / 12)
            note = sum(np.sin(2 * np.pi * k * f0 * t) * 0.6**k for k in range(1, 6))
            end = min(n_samples, pos + dur)
            out[pos:end] += (env * note)[: end - pos]
        pos += dur
    return (out / (np.std(out) + 1e-9)).astype(np.float32)


def babble_noise(
    n_samples: int, rng: np.random.Generator, talkers: list[Pcm], n_talkers: int = 6
) -> npt.NDArray[np.float32]:
    """Babble-like noise: ``n_talkers`` overlapping, randomly offset (some reversed) speech
    loops."""
    out = np.zeros(n_samples, np.float64)
    for _ in range(n_talkers):
        src = np.asarray(talkers[rng.integers(0, len(talkers))], np.float64)
        src = src[::-1] if rng.random() < 0.5 else src
        src = src / (np.std(src) + 1e-9)
        loop = np.tile(src, n_samples // len(src) + 2)
        start = rng.integers(0, len(src))
        out += loop[start : start + n_samples]
    return (out / (np.std(out) + 1e-9)).astype(np.float32)


def mix_at_snr(speech: npt.NDArray[np.number], noise: npt.NDArray[np.number], snr_db: float,
               speech_mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.float32]:
    """Mix speech and noise (same length) so active-speech power / noise power = ``snr_db``.

    ``speech_mask`` marks the active-speech samples; without it, samples above 1% of peak.
    Returns float32 in int16 units, scaled down if it would clip.
    """
    s = np.asarray(speech, np.float64)
    n = np.asarray(noise, np.float64)[: len(s)]
    mask = speech_mask if speech_mask is not None else np.abs(s) > 0.01 * np.abs(s).max()
    p_speech = float(np.mean(s[mask] ** 2)) if mask.any() else 1.0
    p_noise = float(np.mean(n**2)) + 1e-12
    mix = s + n * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    peak = np.abs(mix).max()
    if peak > 32000:
        mix *= 32000 / peak
    out: npt.NDArray[np.float32] = mix.astype(np.float32)
    return out
