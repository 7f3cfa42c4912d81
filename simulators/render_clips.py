"""Render the microphone simulator's clip set into ``simulators/clips/`` (+ manifest.json).

Russian via festival (msu_ru_nsh and pitch variants), English via espeak-ng; agitated
clips get the sox "agitated" shaping. 16 kHz mono PCM16 WAV, 0.25 s of silence around
each utterance. The set is small (< 3 MB) and committed; re-render with

    .venv/bin/python simulators/render_clips.py [--out DIR] [--verify]

``--verify`` transcribes every clip (faster-whisper) and checks the expected keyword
categories with the default lexicons.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulators import speech

CLIPS_DIR = Path(__file__).resolve().parent / "clips"
PAD_S = 0.25

# file stem, lang, voice, text, category, agitated, keyword categories
CLIPS: list[tuple[str, str, str, str, str, bool, tuple[str, ...]]] = [
    ("ru_greeting_1", "ru", "nsh", "Здравствуйте! Чем могу помочь?", "greeting", False,
     ("greeting",)),
    ("ru_greeting_2", "ru", "nsh_high", "Добрый день, проходите, пожалуйста.", "greeting", False,
     ("greeting",)),
    ("ru_thanks_1", "ru", "nsh", "Спасибо за покупку, приходите ещё.", "thanks", False,
     ("thanks",)),
    ("ru_farewell_1", "ru", "nsh_low", "До свидания, всего доброго!", "farewell", False,
     ("farewell",)),
    ("ru_question_1", "ru", "nsh_high", "Подскажите, где находится касса?", "question", False, ()),
    ("ru_question_2", "ru", "nsh_low", "Сколько стоит доставка до дома?", "question", False, ()),
    ("ru_neutral_1", "ru", "nsh", "Ваш заказ будет готов завтра.", "neutral", False, ()),
    ("ru_complaint_1", "ru", "nsh_low", "Я хочу написать жалобу.", "complaint", False,
     ("escalation",)),
    ("ru_complaint_2", "ru", "nsh", "Позовите менеджера немедленно!", "complaint", True,
     ("escalation",)),
    ("ru_complaint_3", "ru", "nsh_high", "Верните деньги, товар сломан!", "complaint", True,
     ("escalation",)),
    ("ru_shouting_1", "ru", "nsh", "Это безобразие, я буду жаловаться!", "shouting", True,
     ("escalation",)),
    ("ru_shouting_2", "ru", "nsh_low", "Какой же вы идиот!", "shouting", True, ("profanity",)),
    ("en_greeting_1", "en", "en-us+Alicia", "Hello, how can I help you today?", "greeting", False,
     ("greeting",)),
    ("en_greeting_2", "en", "en-gb+Andy", "Good morning, welcome to our store.", "greeting", False,
     ("greeting",)),
    ("en_thanks_1", "en", "en-us+Annie", "Thank you very much for your purchase.", "thanks", False,
     ("thanks",)),
    ("en_farewell_1", "en", "en+max", "Goodbye, have a nice day!", "farewell", False,
     ("farewell",)),
    ("en_question_1", "en", "en-gb-x-rp+Denis", "Where can I find the fitting rooms?", "question",
     False, ()),
    ("en_neutral_1", "en", "en-us+Alicia", "Your order will be ready tomorrow.", "neutral", False,
     ()),
    ("en_complaint_1", "en", "en-gb+Andy", "I want to file a complaint.", "complaint", False,
     ("escalation",)),
    ("en_complaint_2", "en", "en-us+Annie", "I want my money back, this is broken!", "complaint",
     True, ("escalation",)),
    ("en_shouting_1", "en", "en+max", "This is absolutely unacceptable! Call the manager!",
     "shouting", True, ("escalation",)),
    ("en_shouting_2", "en", "en-gb-x-rp+Denis", "You are a complete idiot!", "shouting", True,
     ("profanity",)),
]


def render(out_dir: Path = CLIPS_DIR) -> list[dict[str, object]]:
    """Synthesise every clip into ``out_dir`` and write the manifest; returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    voices = {v.name: v for lang in ("ru", "en") for v in speech.voices(lang)}
    pad = np.zeros(int(PAD_S * speech.SAMPLE_RATE_HZ), np.int16)
    manifest = []
    for stem, lang, voice, text, category, agitated, keywords in CLIPS:
        pcm = speech.synth_many([text], voices[voice], agitated=agitated)[0]
        speech.write_wav(out_dir / f"{stem}.wav", np.concatenate((pad, pcm, pad)))
        manifest.append({"file": f"{stem}.wav", "lang": lang, "text": text, "category": category,
                         "agitated": agitated, "keywords": list(keywords)})
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def verify(out_dir: Path = CLIPS_DIR) -> int:
    """Transcribe every clip and compare keyword categories; returns the number of misses."""
    from voice.asr import Transcriber
    from voice.config import VoiceConfig
    from voice.keywords import KeywordMatcher

    matcher = KeywordMatcher(VoiceConfig().lexicons())
    asr = Transcriber()
    misses = 0
    for item in json.loads((out_dir / "manifest.json").read_text(encoding="utf-8")):
        pcm, _ = speech.read_wav(out_dir / str(item["file"]))
        t = asr.transcribe(pcm.astype(np.float32) / np.float32(32768), str(item["lang"]))
        got = sorted({h.category for h in matcher.match(t.text, str(item["lang"]))})
        ok = got == sorted(item["keywords"])
        misses += not ok
        print(f"{'ok ' if ok else 'MISS'} {item['file']:22s} {got!s:28s} {t.text}")
    return misses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=CLIPS_DIR)
    ap.add_argument("--verify", action="store_true")
    args = ap.parse_args()
    manifest = render(args.out)
    size = sum((args.out / str(m["file"])).stat().st_size for m in manifest)
    print(f"{len(manifest)} clips, {size / 1e6:.2f} MB in {args.out}")
    if args.verify:
        sys.exit(1 if verify(args.out) else 0)


if __name__ == "__main__":
    main()
