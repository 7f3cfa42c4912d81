"""Labelled voice evaluation corpus, synthesised by script (never hand-made, never committed).

Russian sentences come from festival (3 voices: the msu_ru_nsh voice and two sox pitch
variants), English from espeak-ng (5 voices); each utterance is calm or agitated (sox
``pitch 400 tempo 1.2 gain -n -1 overdrive 6``). Utterances are laid out on tracks (one
per voice) with random pauses; frame labels (10 ms) come from the clean signal's energy:
a frame is speech when its RMS is within 40 dB of the utterance's loudest frame, with
stop-closure gaps shorter than 80 ms inside an utterance filled. Tracks are mixed with
white, babble-like, mains-hum and music-like noise at 20, 10, 5 and 0 dB SNR (active
speech power over noise power). The clean tracks are cached in ``bench/out/``.

Usage: ``python bench/voice_corpus.py [--out DIR]`` prints a summary.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulators import speech

VERSION = 2
FRAME_MS = 10
FRAME = speech.SAMPLE_RATE_HZ * FRAME_MS // 1000
SNRS_DB = (20, 10, 5, 0)
NOISES = ("white", "babble", "hum", "music")
DEFAULT_OUT = Path(__file__).resolve().parent / "out"

# (text, keyword categories it contains)
SENTENCES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "ru": [
        ("Здравствуйте! Чем могу помочь?", ("greeting",)),
        ("Добрый день, проходите, пожалуйста.", ("greeting",)),
        ("Спасибо за покупку, приходите ещё.", ("thanks",)),
        ("Большое спасибо, вы очень помогли.", ("thanks",)),
        ("До свидания, всего доброго!", ("farewell",)),
        ("Хорошего дня, до свидания.", ("farewell",)),
        ("Подскажите, где находится касса?", ()),
        ("Сколько стоит доставка до дома?", ()),
        ("Можно оплатить картой?", ()),
        ("Я хочу написать жалобу.", ("escalation",)),
        ("Позовите менеджера немедленно!", ("escalation",)),
        ("Верните деньги, товар сломан!", ("escalation",)),
        ("Это безобразие, я буду жаловаться!", ("escalation",)),
        ("Очередь движется очень медленно.", ()),
        ("Пожалуйста, подождите одну минуту.", ()),
        ("Ваш заказ будет готов завтра.", ()),
        ("Давайте я проверю наличие на складе.", ()),
        ("Мне нужен руководитель, это возмутительно!", ("escalation",)),
        ("Какой же вы идиот!", ("profanity",)),
        ("Здравствуйте, позовите менеджера, я хочу написать жалобу.", ("greeting", "escalation")),
    ],
    "en": [
        ("Hello, how can I help you today?", ("greeting",)),
        ("Good morning, welcome to our store.", ("greeting",)),
        ("Thank you very much for your purchase.", ("thanks",)),
        ("Thanks a lot, that was really helpful.", ("thanks",)),
        ("Goodbye, have a nice day!", ("farewell",)),
        ("See you soon, take care.", ("farewell",)),
        ("Where can I find the fitting rooms?", ()),
        ("How much does the delivery cost?", ()),
        ("Can I pay by card?", ()),
        ("I want to file a complaint.", ("escalation",)),
        ("Call the manager right now!", ("escalation",)),
        ("I want my money back, this is broken!", ("escalation",)),
        ("This is absolutely unacceptable!", ("escalation",)),
        ("The queue is moving very slowly.", ()),
        ("Please wait one moment.", ()),
        ("Your order will be ready tomorrow.", ()),
        ("Let me check the stock in the warehouse.", ()),
        ("You are a complete idiot!", ("profanity",)),
        ("I demand a refund immediately!", ("escalation",)),
    ],
}


@dataclass(frozen=True, slots=True)
class Utterance:
    """One synthesised utterance placed on a track (sample offsets at 16 kHz)."""

    lang: str
    voice: str
    text: str
    keywords: tuple[str, ...]
    agitated: bool
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Track:
    """A clean speech track of one voice with its frame labels and utterances."""

    name: str
    lang: str
    clean: npt.NDArray[np.int16]
    labels: npt.NDArray[np.bool_]
    utterances: tuple[Utterance, ...]


def frame_labels(
    pcm: npt.NDArray[np.int16], floor_db: float = -40.0, fill_ms: int = 80
) -> npt.NDArray[np.bool_]:
    """Speech/non-speech per 10 ms frame of one clean utterance, from its energy."""
    n = len(pcm) // FRAME
    rms = np.sqrt(np.mean(pcm[: n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2, axis=1))
    speech_frames: npt.NDArray[np.bool_] = rms >= max(rms.max() * 10 ** (floor_db / 20), 30.0)
    idx = np.flatnonzero(speech_frames)
    for a, b in itertools.pairwise(idx):
        if 1 < b - a <= fill_ms // FRAME_MS:
            speech_frames[a:b] = True
    return speech_frames


def _layout(lang: str, voice: speech.Voice, rng: np.random.Generator) -> Track:
    items = SENTENCES[lang]
    order = rng.permutation(len(items))[:12]
    agitated = rng.random(len(order)) < 0.4
    texts = [items[i][0] for i in order]
    calm_pcm = speech.synth_many(texts, voice, agitated=False)
    agit_pcm = speech.synth_many(texts, voice, agitated=True)
    parts: list[np.ndarray] = [np.zeros(int(1.5 * speech.SAMPLE_RATE_HZ), np.int16)]
    pos, utts, labels = len(parts[0]), [], [np.zeros(len(parts[0]) // FRAME, bool)]
    for k, i in enumerate(order):
        pcm = agit_pcm[k] if agitated[k] else calm_pcm[k]
        pcm = pcm[: len(pcm) // FRAME * FRAME]
        gap = int(rng.uniform(0.4, 2.5) * speech.SAMPLE_RATE_HZ) // FRAME * FRAME
        utts.append(
            Utterance(
                lang, voice.name, items[i][0], items[i][1], bool(agitated[k]), pos, pos + len(pcm)
            )
        )
        parts += [pcm, np.zeros(gap, np.int16)]
        labels += [frame_labels(pcm), np.zeros(gap // FRAME, bool)]
        pos += len(pcm) + gap
    return Track(
        f"{lang}_{voice.name}", lang, np.concatenate(parts), np.concatenate(labels), tuple(utts)
    )


def _cache_paths(out_dir: Path, seed: int) -> tuple[Path, Path]:
    stem = out_dir / f"voice_corpus_v{VERSION}_s{seed}"
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def build_tracks(out_dir: Path = DEFAULT_OUT, seed: int = 7) -> list[Track]:
    """Synthesise (or load from the cache) the clean labelled tracks."""
    npz, meta = _cache_paths(out_dir, seed)
    if npz.exists() and meta.exists():
        arrays = np.load(npz)
        info = json.loads(meta.read_text(encoding="utf-8"))
        return [
            Track(
                t["name"],
                t["lang"],
                arrays[f"{t['name']}_pcm"],
                arrays[f"{t['name']}_lab"],
                tuple(
                    Utterance(**{**u, "keywords": tuple(u["keywords"])}) for u in t["utterances"]
                ),
            )
            for t in info
        ]
    rng = np.random.default_rng(seed)
    tracks = [_layout(lang, v, rng) for lang in ("ru", "en") for v in speech.voices(lang)]
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: dict[str, Any] = {f"{t.name}_pcm": t.clean for t in tracks}
    saved.update({f"{t.name}_lab": t.labels for t in tracks})
    np.savez_compressed(npz, **saved)
    meta.write_text(
        json.dumps(
            [
                {"name": t.name, "lang": t.lang, "utterances": [asdict(u) for u in t.utterances]}
                for t in tracks
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return tracks


def make_noise(
    kind: str, n_samples: int, rng: np.random.Generator, talkers: list[np.ndarray]
) -> npt.NDArray[np.float32]:
    """One of the four noise kinds, unit variance."""
    if kind == "white":
        return speech.white_noise(n_samples, rng)
    if kind == "babble":
        return speech.babble_noise(n_samples, rng, talkers)
    if kind == "hum":
        return speech.hum_noise(n_samples, rng)
    if kind == "music":
        return speech.music_noise(n_samples, rng)
    raise ValueError(f"unknown noise {kind!r}")


def mixtures(
    tracks: list[Track], noise: str, snr_db: float, seed: int = 7
) -> list[npt.NDArray[np.float32]]:
    """Each track mixed with ``noise`` at ``snr_db`` (float32 in int16 units), deterministic."""
    rng = np.random.default_rng([seed, NOISES.index(noise), int(snr_db * 10) + 1000])
    out = []
    for k, t in enumerate(tracks):
        # babble talkers come from the other tracks, never from the foreground voice
        talkers = [
            t2.clean[u.start : u.end] for t2 in tracks if t2.name != t.name for u in t2.utterances
        ]
        mask = np.repeat(t.labels, FRAME)[: len(t.clean)]
        noise_rng = np.random.default_rng([seed, k, int(rng.integers(1 << 30))])
        n = make_noise(noise, len(t.clean), noise_rng, talkers)
        out.append(
            speech.mix_at_snr(t.clean, n, snr_db, np.pad(mask, (0, len(t.clean) - len(mask))))
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    tracks = build_tracks(args.out, args.seed)
    for t in tracks:
        agit = sum(u.agitated for u in t.utterances)
        print(
            f"{t.name:14s} {len(t.clean) / speech.SAMPLE_RATE_HZ:6.1f} s  "
            f"speech {t.labels.mean():.0%}"
            f"  utterances {len(t.utterances)} ({agit} agitated)"
        )


if __name__ == "__main__":
    main()
