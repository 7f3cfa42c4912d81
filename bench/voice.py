"""Voice analytics benchmark: prints every figure of issue 8 in one run.

    .venv/bin/python bench/voice.py [--quick] [--no-asr]

On the synthetic labelled corpus of bench/voice_corpus.py (Russian festival + English
espeak-ng, calm and agitated, 10 ms energy labels, noises at 20/10/5/0 dB):

1. frame-level precision / recall / F1 / ROC-AUC of our numba VAD, webrtcvad modes 0-3,
   silero-vad (faster-whisper's ONNX model, p >= 0.5) and the hybrid (numba candidates
   confirmed by silero), per noise and SNR and pooled per SNR, with frames/s of each
   (CPU time, one core; webrtcvad called per 10 ms frame as its API requires, ours on
   1 s chunks as audio arrives on cx.audio);
2. concurrent live 16 kHz streams sustained in real time by the full pipeline without ASR
   (VAD + segmentation + prosody + emotion), measured with one process per core;
3. ASR real-time factor, keyword recall and false hits on clean speech (ru, en; calm and
   agitated reported apart);
4. arousal / anger ROC-AUC, calm vs agitated utterances, through the pipeline;
5. the VAD on recorded human speech (bench/voice_real.py: ours vs every webrtcvad mode
   and silero on sparse and dense conversation, start-of-stream recall, keywords).

Benchmarks print figures; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import voice_corpus as vc
import voice_real
import webrtcvad

from dsp import silero
from dsp.vad import Vad
from voice.pipeline import VoicePipeline

FRAME = vc.FRAME
B = npt.NDArray[np.bool_]
DETECTORS = ("ours", "webrtc0", "webrtc1", "webrtc2", "webrtc3", "silero", "hybrid")


def auc(score: npt.NDArray[np.floating], lab: B) -> float:
    """ROC-AUC by average ranks (ties count half)."""
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score, np.float64)[order]
    ranks = np.empty(len(s))
    edges = np.flatnonzero(np.diff(s)) + 1
    bounds = np.concatenate(([0], edges, [len(s)]))
    for a, b in itertools.pairwise(bounds):
        ranks[a:b] = (a + b + 1) / 2
    r = np.empty(len(s))
    r[order] = ranks
    n_pos, n_neg = lab.sum(), (~lab).sum()
    return (
        float((r[lab].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
        if n_pos and n_neg
        else float("nan")
    )


def prf(pred: B, lab: B) -> tuple[float, float, float]:
    tp = float((pred & lab).sum())
    p, r = tp / max(pred.sum(), 1), tp / max(lab.sum(), 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def run_ours(x: npt.NDArray[np.float32], n: int) -> tuple[npt.NDArray[np.float32], B]:
    v, scores, speech = Vad(), [], []
    for i in range(0, len(x) + 16000, 16000):  # 1 s chunks, then 1 s of silence to flush
        r = v.process(x[i : i + 16000] if i < len(x) else np.zeros(16000, np.float32))
        scores.append(r.score)
        speech.append(r.speech)
    return np.concatenate(scores)[:n], np.concatenate(speech)[:n]


def run_webrtc(pcm: bytes, n: int, mode: int) -> B:
    v = webrtcvad.Vad(mode)
    return np.array(
        [v.is_speech(pcm[2 * FRAME * i : 2 * FRAME * (i + 1)], 16000) for i in range(n)]
    )


def hybrid(x: npt.NDArray[np.float32], speech: B, gate_share: float = 0.2) -> tuple[B, float]:
    """Keep our speech runs (gaps < 300 ms merged) that silero confirms; returns (frames, s)."""
    out, t0 = speech.copy(), time.process_time()
    idx = np.flatnonzero(np.diff(np.concatenate(([0], speech.astype(np.int8), [0]))))
    runs = list(zip(idx[::2], idx[1::2], strict=True))
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < 30:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    for a, b in merged:
        p = silero.probabilities(x[max(0, a - 10) * FRAME : (b + 10) * FRAME])
        if (p >= 0.5).mean() < gate_share:
            out[a:b] = False
    return out, time.process_time() - t0


def evaluate_condition(
    tracks: list[vc.Track], noise: str, snr: float, seed: int
) -> tuple[dict, dict]:
    """Scores/decisions of every detector on one condition (all tracks) and their CPU seconds.

    Each detector runs over all tracks in its own loop, so none is timed with another's
    data or model in the caches.
    """
    mixes = vc.mixtures(tracks, noise, snr, seed)
    xs = [(m / 32768).astype(np.float32) for m in mixes]
    ns = [len(m) // FRAME for m in mixes]
    pcms = [np.clip(m, -32768, 32767).astype("<i2").tobytes() for m in mixes]
    res: dict[str, list] = {}
    cpu: dict[str, float] = {}
    t0 = time.process_time()
    res["ours"] = [run_ours(x, n) for x, n in zip(xs, ns, strict=True)]
    cpu["ours"] = time.process_time() - t0
    for mode in range(4):
        t0 = time.process_time()
        dec = [run_webrtc(pcm, n, mode) for pcm, n in zip(pcms, ns, strict=True)]
        cpu[f"webrtc{mode}"] = time.process_time() - t0
        res[f"webrtc{mode}"] = [(d.astype(np.float32), d) for d in dec]
    t0 = time.process_time()
    probs = [silero.frame_probabilities(x)[:n] for x, n in zip(xs, ns, strict=True)]
    cpu["silero"] = time.process_time() - t0
    res["silero"] = [(p, p >= 0.5) for p in probs]
    gated = [hybrid(x, speech) for x, (_, speech) in zip(xs, res["ours"], strict=True)]
    cpu["hybrid"] = cpu["ours"] + sum(t for _, t in gated)
    res["hybrid"] = [(np.where(~sp | h, sc, -1.0).astype(np.float32), h)
                     for (sc, sp), (h, _) in zip(res["ours"], gated, strict=True)]
    lab = np.concatenate([t.labels[:n] for t, n in zip(tracks, ns, strict=True)])
    merged = {d: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]), lab)
              for d, v in res.items()}
    return merged, cpu


def warm_up() -> None:
    """Load the numba caches and the silero model before anything is timed."""
    x = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.01
    run_ours(x, 200)
    silero.probabilities(x)
    VoicePipeline().feed((x * 32768).astype(np.int16).tobytes(), 0)


def vad_tables(
    tracks: list[vc.Track], snrs: tuple[int, ...], noises: tuple[str, ...], seed: int
) -> None:
    pooled: dict[tuple[str, int], list] = {}
    cpu_total = dict.fromkeys(DETECTORS, 0.0)
    frames = 0
    print("\n== VAD, frame level (10 ms) ==  P / R / F1 / AUC")
    print(f"{'noise':7s} {'SNR':>4s} " + " ".join(f"{d:>23s}" for d in DETECTORS))
    for noise in noises:
        for snr in snrs:
            res, cpu = evaluate_condition(tracks, noise, snr, seed)
            frames += len(res["ours"][2])
            for d in DETECTORS:
                cpu_total[d] += cpu[d]
                pooled.setdefault((d, snr), []).append(res[d])
            cells = []
            for d in DETECTORS:
                score, pred, lab = res[d]
                p, r, f = prf(pred, lab)
                cells.append(f"{p:.2f}/{r:.2f}/{f:.3f}/{auc(score, lab):.2f}")
            print(f"{noise:7s} {snr:4d} " + " ".join(f"{c:>23s}" for c in cells), flush=True)
    print(f"{'pooled':7s} {'SNR':>4s} " + " ".join(f"{d:>23s}" for d in DETECTORS))
    for snr in snrs:
        cells = []
        for d in DETECTORS:
            parts = pooled[(d, snr)]
            score = np.concatenate([p[0] for p in parts])
            pred = np.concatenate([p[1] for p in parts])
            lab = np.concatenate([p[2] for p in parts])
            p, r, f = prf(pred, lab)
            cells.append(f"{p:.2f}/{r:.2f}/{f:.3f}/{auc(score, lab):.2f}")
        print(f"{'all':7s} {snr:4d} " + " ".join(f"{c:>23s}" for c in cells))
    print("\nframes/s (CPU, one core):  " + "  ".join(
        f"{d} {frames / max(cpu_total[d], 1e-9) / 1e3:,.0f}k" for d in DETECTORS))
    best_webrtc = max(frames / cpu_total[f"webrtc{m}"] for m in range(4))
    print(f"ours / fastest webrtcvad mode: {frames / cpu_total['ours'] / best_webrtc:.1f}x;  "
          f"ours / silero: {cpu_total['silero'] / cpu_total['ours']:.0f}x")


def _stream_worker(args: tuple[list[np.ndarray], int, int, float]) -> tuple[float, float, int]:
    """Feed ``n_streams`` live streams chunk by chunk (round robin); returns (wall, cpu, utts)."""
    clips, n_streams, chunk, seconds = args
    pipes = [VoicePipeline() for _ in range(n_streams)]
    total = int(seconds * 16000)
    srcs = [np.resize(clips[i % len(clips)], total) for i in range(n_streams)]
    warm = VoicePipeline()
    warm.feed(srcs[0][:32000].tobytes(), 0)  # JIT caches loaded before timing
    t0, c0, utts = time.perf_counter(), time.process_time(), 0
    for i in range(0, total, chunk):
        for k, p in enumerate(pipes):
            utts += len(p.feed(srcs[k][i : i + chunk].tobytes(), i // 16))
    return time.perf_counter() - t0, time.process_time() - c0, utts


def streams_table(tracks: list[vc.Track], seconds: float, per_core: int) -> None:
    """Live capacity of the pipeline without ASR: one process per core, round-robin feeding."""
    mixes = vc.mixtures(tracks, "white", 20)
    clips = [np.clip(m, -32768, 32767).astype(np.int16) for m in mixes]
    cores = 2
    print(
        f"\n== live streams: VAD + segmentation + prosody + emotion (no ASR), {cores} processes =="
    )
    for chunk_ms in (100, 20):
        with mp.get_context("spawn").Pool(cores) as pool:
            out = pool.map(_stream_worker, [(clips, per_core, chunk_ms * 16, seconds)] * cores)
        wall = max(w for w, _, _ in out)
        cpu = sum(c for _, c, _ in out)
        streams = cores * per_core
        capacity = streams * seconds / wall
        print(
            f"{chunk_ms:4d} ms chunks: {streams} streams x {seconds:.0f} s audio "
            f"in {wall:.1f} s wall "
            f"({cpu / (streams * seconds) * 1e3:.2f} ms CPU per stream-second, "
            f"{sum(u for _, _, u in out)} utterances) -> "
            f"{capacity:,.0f} concurrent real-time streams"
        )


def asr_table(tracks: list[vc.Track]) -> None:
    """ASR real-time factor, keyword recall and false hits on the clean corpus utterances."""
    from voice.asr import Transcriber
    from voice.config import VoiceConfig
    from voice.keywords import KeywordMatcher

    matcher = KeywordMatcher(VoiceConfig().lexicons())
    asr = Transcriber()
    t0 = time.perf_counter()
    asr.load()
    load_s = time.perf_counter() - t0
    utts = [u for t in tracks for u in t.utterances]
    audios = [
        t.clean[u.start : u.end].astype(np.float32) / 32768 for t in tracks for u in t.utterances
    ]
    audio_s = sum(len(a) for a in audios) / 16000
    t0 = time.perf_counter()
    outs = asr.transcribe_many(audios, [u.lang for u in utts])
    packed_rtf = (time.perf_counter() - t0) / audio_s
    t0 = time.perf_counter()
    for a, u in zip(audios[:8], utts[:8], strict=True):
        asr.transcribe(a, u.lang)
    single_rtf = (time.perf_counter() - t0) / (sum(len(a) for a in audios[:8]) / 16000)
    print(f"\n== ASR (faster-whisper base, int8, CPU, beam 1) ==  model load {load_s:.1f} s")
    print(f"RTF packed backlog (utterances share 30 s windows): {packed_rtf:.3f}   "
          f"one utterance per call: {single_rtf:.3f}   ({len(utts)} utterances, {audio_s:.0f} s)")
    print("keywords on clean speech: lang prosody  recall (hits/expected)  false hits  "
          "false hits on keyword-free utterances")
    for lang in ("ru", "en"):
        for agitated in (False, True):
            sel = [
                (u, o)
                for u, o in zip(utts, outs, strict=True)
                if u.lang == lang and u.agitated == agitated
            ]
            exp = hit = false = false_free = free = 0
            for u, o in sel:
                found = {h.category for h in matcher.match(o.text, lang)}
                exp += len(u.keywords)
                hit += len(found & set(u.keywords))
                false += len(found - set(u.keywords))
                if not u.keywords:
                    free += 1
                    false_free += bool(found)
            print(
                f"  {lang}  {'agitated' if agitated else 'calm':8s}  "
                f"{hit / max(exp, 1):6.1%} ({hit}/{exp})"
                f"  {false:3d}  {false_free}/{free}"
            )
    bad = [(u.text, o.text) for u, o in zip(utts, outs, strict=True)
           if {h.category for h in matcher.match(o.text, u.lang)} != set(u.keywords)]
    for want, got in bad[:12]:
        print(f"    miss/extra: {want!r} -> {got!r}")


def emotion_table(tracks: list[vc.Track], noises: list[tuple[str, int]]) -> None:
    """Arousal/anger AUC calm vs agitated: each track is one mic with its own baseline."""
    print("\n== emotion through the pipeline (per-mic baselines) ==")
    for noise, snr in noises:
        mixes = (
            [t.clean.astype(np.float32) for t in tracks]
            if noise == "clean"
            else vc.mixtures(tracks, noise, snr)
        )
        arousal, anger, agit, missed = [], [], [], 0
        for t, m in zip(tracks, mixes, strict=True):
            p = VoicePipeline()
            pcm = np.clip(m, -32768, 32767).astype(np.int16)
            out = [
                u
                for i in range(0, len(pcm), 1600)
                for u in p.feed(pcm[i : i + 1600].tobytes(), i // 16)
            ]
            out += p.flush()
            for u in t.utterances:
                a, b = u.start // 16, u.end // 16
                best = max(out, key=lambda o: min(o.end_ms, b) - max(o.start_ms, a), default=None)
                if best is None or min(best.end_ms, b) - max(best.start_ms, a) <= 0:
                    missed += 1
                    continue
                arousal.append(best.emotion.arousal)
                anger.append(best.emotion.anger)
                agit.append(u.agitated)
        lab = np.array(agit)
        print(
            f"  {noise:6s} {snr if noise != 'clean' else '':>3}  "
            f"arousal AUC {auc(np.array(arousal), lab):.3f}  "
            f"anger AUC {auc(np.array(anger), lab):.3f}  "
            f"({len(lab)} utterances, {lab.sum()} agitated, "
            f"{missed} not detected)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="two noises, 20 and 0 dB; fewer streams")
    ap.add_argument("--no-asr", action="store_true")
    ap.add_argument("--streams-per-core", type=int, default=150)
    ap.add_argument("--no-real", action="store_true", help="skip the recorded-speech tables")
    args = ap.parse_args()
    tracks = vc.build_tracks(seed=args.seed)
    clean_s = sum(len(t.clean) for t in tracks) / 16000
    print(
        f"corpus: {len(tracks)} tracks (ru festival x3 voices, en espeak-ng x5), {clean_s:.0f} s, "
        f"{sum(len(t.utterances) for t in tracks)} utterances; noises {', '.join(vc.NOISES)}; "
        f"SNR {', '.join(map(str, vc.SNRS_DB))} dB"
    )
    snrs = (20, 0) if args.quick else vc.SNRS_DB
    noises = ("white", "music") if args.quick else vc.NOISES
    warm_up()
    vad_tables(tracks, snrs, noises, args.seed)
    streams_table(
        tracks, 20.0 if args.quick else 30.0, args.streams_per_core // (3 if args.quick else 1)
    )
    emotion_table(tracks, [("clean", 0), ("white", 10), ("babble", 10)])
    if not args.no_asr:
        asr_table(tracks)
    if not args.no_real:
        voice_real.run(seed=args.seed, quick=args.quick, asr=not args.no_asr)


if __name__ == "__main__":
    main()
