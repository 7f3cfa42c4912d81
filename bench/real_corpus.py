"""Real-speech VAD corpus from recorded speech that installs offline from Debian (never committed).

Sources (unpacked at run time with ``apt-get download`` + ``dpkg-deb -x`` into a cache dir
unless the package is installed): the Asterisk IVR prompts of one Russian and one English
speaker (``asterisk-core-sounds-ru-wav``/``-en-wav``, 8 kHz studio recordings, ~24 min
each), real music (``asterisk-moh-opsound-wav``) and two long recorded streams from
``codec2-examples`` (``all.wav``: a conversation with pauses; ``ve9qrp.wav``: nearly
continuous talk over radio noise that opens with 37 ms of digital zeros).

Tracks are prompts (trimmed to their active part, resampled to 16 kHz) laid end to end as
a conversation: each turn is the near talker (0 dB) or a farther one (-6 dB); gaps are
silence at 16-bit dither level, 0.5-3 s (``sparse``) or 0.2-0.6 s (``dense``). Every track
starts mid-utterance (inside its first prompt): a stream opened while someone talks.
Labels per 10 ms frame come from the clean track: speech above -45 dBFS held 100 ms,
silence below -55 dBFS, frames between are not scored (label -1). Noises: white and music
at 20/10/5/0 dB (active-speech power over noise power).

Usage: ``python bench/real_corpus.py [--cache DIR]`` prints a summary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dsp.frames import resample

RATE_HZ = 16000
FRAME = 160
SPEECH_DBFS, SILENCE_DBFS, HOLD_FRAMES = -45.0, -55.0, 10
SNRS_DB = (20, 10, 5, 0)
NOISES = ("white", "music")
DEFAULT_CACHE = Path(__file__).resolve().parent / "out" / "debs"
F32 = npt.NDArray[np.float32]
I8 = npt.NDArray[np.int8]
PROMPT_DIRS = {
    "ru": ("asterisk-core-sounds-ru-wav", "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"),
    "en": ("asterisk-core-sounds-en-wav", "usr/share/asterisk/sounds/en_US_f_Allison"),
}
MUSIC = ("asterisk-moh-opsound-wav", "usr/share/asterisk/moh")
RECORDED = ("codec2-examples", "usr/share/codec2/wav")
NOT_SPEECH = ("beep", "tone", "silence", "ding", "dong", "click", "ring")


class SpeechUnavailable(RuntimeError):
    """A Debian package with recorded speech is neither installed nor downloadable."""


def package_dir(package: str, subdir: str, cache: Path = DEFAULT_CACHE) -> Path:
    """``subdir`` of ``package``: the installed copy, else one unpacked into ``cache``.

    Downloads with ``apt-get download`` (running ``apt-get update`` first when root and
    the lists are empty) and unpacks with ``dpkg-deb -x``; raises ``SpeechUnavailable``.
    """
    installed = Path("/") / subdir
    if installed.is_dir() and any(installed.iterdir()):
        return installed
    dest = cache / package
    if (dest / subdir).is_dir():
        return dest / subdir
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise SpeechUnavailable(f"{package}: not installed and no apt-get/dpkg-deb here")
    cache.mkdir(parents=True, exist_ok=True)
    download = ["apt-get", "download", package]
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        ok = subprocess.run(download, cwd=tmp, capture_output=True).returncode == 0
        if not ok and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            ok = subprocess.run(download, cwd=tmp, capture_output=True).returncode == 0
        debs = sorted(Path(tmp).glob("*.deb"))
        if not ok or not debs:
            raise SpeechUnavailable(f"{package}: not installed and `apt-get download` failed")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True)
        os.replace(Path(tmp) / "x", dest)
    return dest / subdir


def read_16k(path: Path) -> F32:
    """A PCM16 WAV file as 16 kHz mono float32 in [-1, 1)."""
    with wave.open(str(path), "rb") as w:
        rate, ch = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    x: F32 = pcm.astype(np.float32) * np.float32(1 / 32768)
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1, dtype=np.float32)
    return x if rate == RATE_HZ else resample(x, rate, RATE_HZ)


def frame_dbfs(x: F32) -> npt.NDArray[np.float64]:
    """RMS level of every 10 ms frame, dBFS."""
    n = len(x) // FRAME
    p = np.mean(np.square(x[: n * FRAME].astype(np.float64)).reshape(n, FRAME), axis=1)
    db: npt.NDArray[np.float64] = 10 * np.log10(p + 1e-13)
    return db


def labels(clean: F32, speech_dbfs: float = SPEECH_DBFS, silence_dbfs: float = SILENCE_DBFS) -> I8:
    """1 speech (above -45 dBFS, held 100 ms), 0 silence (below -55 dBFS), -1 not scored."""
    db = frame_dbfs(clean)
    loud = db > speech_dbfs
    held = loud.copy()
    for k in range(1, HOLD_FRAMES + 1):
        held[k:] |= loud[:-k]
    out = np.full(len(db), -1, np.int8)
    out[db < silence_dbfs] = 0
    out[held] = 1
    return out


def active(x: F32, margin_frames: int = 3) -> F32:
    """``x`` trimmed to its frames above -45 dBFS, with ``margin_frames`` either side."""
    idx = np.flatnonzero(frame_dbfs(x) > SPEECH_DBFS)
    if not len(idx):
        return x[:0]
    a, b = max(0, idx[0] - margin_frames), min(len(x) // FRAME, idx[-1] + 1 + margin_frames)
    return x[a * FRAME : b * FRAME]


def prompts(lang: str, cache: Path = DEFAULT_CACHE, min_s: float = 0.5) -> list[tuple[str, F32]]:
    """The speaker's prompts (name, 16 kHz active part), sorted by name; tones left out."""
    root = package_dir(*PROMPT_DIRS[lang], cache=cache)
    out = []
    for path in sorted(root.rglob("*.wav")):
        rel = path.relative_to(root).as_posix()
        if any(word in rel for word in NOT_SPEECH):
            continue
        x = active(read_16k(path))
        if len(x) >= min_s * RATE_HZ:
            out.append((rel, x))
    return out


@dataclass(frozen=True, slots=True)
class Track:
    """A clean conversation track: samples, frame labels and its prompt spans (samples)."""

    name: str
    clean: F32
    labels: I8
    spans: tuple[tuple[int, int], ...]


def dither(n: int, rng: np.random.Generator) -> F32:
    """16-bit TPDF dither (+-1 LSB): what a silent digital input carries."""
    return ((rng.random(n) - rng.random(n)) / 32768).astype(np.float32)


def conversation(name: str, clips: list[F32], gaps_s: tuple[float, float], rng: np.random.Generator,
                 start_at: float = 0.4, far_db: float = -6.0) -> Track:
    """Clips as turns of a near and a far talker, starting ``start_at`` into the first."""
    parts: list[F32] = []
    spans, pos, far = [], 0, False
    for i, x in enumerate(clips):
        if i == 0:
            x = x[int(len(x) * start_at) // FRAME * FRAME :]
        elif rng.random() < 0.6:
            far = not far
        x = x * np.float32(10 ** (far_db / 20) if far else 1.0)
        spans.append((pos, pos + len(x)))
        gap = int(rng.uniform(*gaps_s) * RATE_HZ) // FRAME * FRAME
        parts += [x, np.zeros(gap, np.float32)]
        pos += len(x) + gap
    clean = np.concatenate(parts)
    return Track(name, clean + dither(len(clean), rng), labels(clean), tuple(spans))


def build_tracks(cache: Path = DEFAULT_CACHE, seed: int = 7, track_s: float = 120.0) -> list[Track]:
    """Sparse and dense conversations per language, ``track_s`` seconds each, distinct prompts."""
    rng = np.random.default_rng(seed)
    tracks = []
    for lang in ("ru", "en"):
        clips = [x for _, x in prompts(lang, cache) if len(x) <= 8 * RATE_HZ]
        order = list(rng.permutation(len(clips)))
        for kind, gaps in (("sparse", (0.5, 3.0)), ("dense", (0.2, 0.6))):
            chosen, total = [], 0.0
            while total < track_s and order:
                x = clips[order.pop()]
                chosen.append(x)
                total += len(x) / RATE_HZ + sum(gaps) / 2
            tracks.append(conversation(f"{lang}_{kind}", chosen, gaps, rng))
    return tracks


def starts(tracks: list[Track], n_per_track: int, seconds: float, seed: int = 11) -> list[Track]:
    """Short streams cut from the tracks, each opening inside a prompt (10-60 % into it)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in tracks:
        picks = rng.choice(len(t.spans) - 1, size=min(n_per_track, len(t.spans) - 1), replace=False)
        for k in sorted(picks):
            a, b = t.spans[k]
            s0 = (a + int(rng.uniform(0.1, 0.6) * (b - a))) // FRAME * FRAME
            s1 = min(len(t.clean), s0 + int(seconds * RATE_HZ))
            lab = t.labels[s0 // FRAME : s1 // FRAME]
            out.append(Track(f"{t.name}@{s0 / RATE_HZ:.1f}", t.clean[s0:s1], lab, ((0, b - s0),)))
    return out


@lru_cache(maxsize=8)
def _music_pieces(cache: Path) -> tuple[F32, ...]:
    root = package_dir(*MUSIC, cache=cache)
    return tuple(read_16k(p) for p in sorted(root.glob("*.wav")))


def music(n: int, rng: np.random.Generator, cache: Path = DEFAULT_CACHE) -> F32:
    """``n`` samples of real music (a random piece and offset), unit variance."""
    pieces = _music_pieces(cache)
    x = pieces[int(rng.integers(len(pieces)))]
    x = np.tile(x, n // len(x) + 2)
    a = int(rng.integers(0, len(x) - n))
    m = x[a : a + n].astype(np.float64)
    out: F32 = (m / (m.std() + 1e-12)).astype(np.float32)
    return out


def noise(kind: str, n: int, rng: np.random.Generator, cache: Path = DEFAULT_CACHE) -> F32:
    """Unit-variance ``white`` or ``music`` noise."""
    if kind == "white":
        return rng.standard_normal(n).astype(np.float32)
    if kind == "music":
        return music(n, rng, cache)
    raise ValueError(f"unknown noise {kind!r}")


def mix(t: Track, kind: str, snr_db: float, seed: int, cache: Path = DEFAULT_CACHE) -> F32:
    """``t`` with ``kind`` noise at ``snr_db`` (active-speech power over noise power), float32."""
    if kind == "clean":
        return t.clean
    rng = np.random.default_rng([seed, NOISES.index(kind), int(snr_db * 10) + 1000, len(t.clean)])
    mask = np.repeat(t.labels == 1, FRAME)
    x = t.clean[: len(mask)].astype(np.float64)
    p_speech = float(np.mean(x[mask] ** 2)) if mask.any() else 1e-6
    n = noise(kind, len(t.clean), rng, cache).astype(np.float64)
    y = t.clean + n * np.sqrt(p_speech / 10 ** (snr_db / 10))
    peak = float(np.abs(y).max())
    out: F32 = (y * min(1.0, 0.98 / peak)).astype(np.float32)
    return out


def zero_start(x: F32, ms: int = 50) -> F32:
    """``x`` opened by ``ms`` of digital zeros (a mic connecting, a codec starting)."""
    return np.concatenate((np.zeros(RATE_HZ * ms // 1000, np.float32), x))


def recorded(cache: Path = DEFAULT_CACHE) -> list[Track]:
    """codec2-examples' long recorded streams as they are (no clean reference: labelled
    speech 20 dB above their own noise floor, the 5th percentile frame level, held 100 ms;
    silence below floor + 10 dB)."""
    root = package_dir(*RECORDED, cache=cache)
    out = []
    for name in ("all.wav", "ve9qrp.wav"):
        x = read_16k(root / name)
        floor = float(np.percentile(frame_dbfs(x), 5))
        out.append(Track(name.removesuffix(".wav"), x, labels(x, floor + 20, floor + 10), ()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args()
    for t in build_tracks(args.cache) + recorded(args.cache):
        lab = t.labels
        print(f"{t.name:10s} {len(t.clean) / RATE_HZ:6.1f} s  speech {np.mean(lab == 1):.0%}  "
              f"silence {np.mean(lab == 0):.0%}  not scored {np.mean(lab < 0):.0%}  "
              f"prompts {len(t.spans)}")


if __name__ == "__main__":
    main()
