
"""Customer comments ("Почему?" after a rating): realistic, correlated with the rating.

Pure and seeded (the caller's ``random.Random``). A comment's tone follows the rating
that came with it: detractors complain (waits, staff, product, prices, procedures, the
site/app, cleanliness; sometimes two things at once), passives say "fine, but ...",
promoters praise the staff and the speed. Russian by default with about 15% English;
a share come with typos, slang and no final full stop; a few percent carry personal data
(a phone, an e-mail, a card, a name: masked downstream), and well under 1% need someone
at once (threats, health and safety, legal action, fraud). ``bias`` multiplies topic
weights, so a scenario can make a bad shift's complaints be about waits and staff.
"""

from __future__ import annotations

import random
import re

from simulators.comment_texts import (
    MIXED_OPENING,
    NEGATIVE,
    NEGATIVE_SHORT,
    NEUTRAL,
    PII,
    POSITIVE,
    SLANG_OPENERS,
    SLANG_WORDS,
    SLOTS,
    URGENT,
)
from simulators.profiles import pick

Weights = tuple[tuple[str, float], ...]

# Topic weights of complaints and of praise (before any bias).
COMPLAINT_TOPICS: Weights = (
    ("wait", 0.24), ("staff", 0.22), ("product", 0.15), ("price", 0.12),
    ("process", 0.1), ("digital", 0.1), ("cleanliness", 0.07),
)
PRAISE_TOPICS: Weights = (("praise", 0.5), ("staff", 0.3), ("wait", 0.15), ("cleanliness", 0.05))
OTHER_LANGUAGE_SHARE = {"ru": 0.15, "en": 0.05}  # comments written in the other language
PII_SHARE = 0.03
URGENT_SHARE = {"negative": 0.012, "passive": 0.002, "positive": 0.0}
DETRACTOR_BELOW = 0.65  # normalised rating under which a comment is a complaint
PROMOTER_FROM = 0.85
_SLOT_RE = re.compile(r"\{(\w+)\}")


def comment_chance(score: float) -> float:
    """Probability that a customer with this normalised rating (0..1) writes a comment:
    unhappy customers write far more often."""
    if score < DETRACTOR_BELOW:
        return 0.6
    return 0.22 if score < PROMOTER_FROM else 0.28


def write_comment(rng: random.Random, language: str, score: float, bias: Weights = ()) -> str:
    """One comment of a customer whose rating normalised to [0, 1] is ``score``."""
    lang = language if language in NEGATIVE else "en"
    if rng.random() < OTHER_LANGUAGE_SHARE[lang]:
        lang = "en" if lang == "ru" else "ru"
    tone = ("negative" if score < DETRACTOR_BELOW else
            "passive" if score < PROMOTER_FROM else "positive")
    if rng.random() < URGENT_SHARE[tone]:
        text = _fill(rng, rng.choice(URGENT[lang]))
    else:
        text = _roughen(rng, _body(rng, lang, tone, _biased(COMPLAINT_TOPICS, bias)), lang,
                        tone == "negative")
    if rng.random() < PII_SHARE:
        text = f"{text} {_fill(rng, rng.choice(PII[lang]))}"
    return text[:2000]


def _body(rng: random.Random, lang: str, tone: str, complaints: Weights) -> str:
    """The comment before roughening."""
    if tone == "negative":
        first = pick(rng, complaints)
        text = _fill(rng, rng.choice(NEGATIVE[lang][first]))
        if rng.random() < 0.25:  # two things went wrong
            second = pick(rng, tuple((t, w) for t, w in complaints if t != first))
            text = f"{text} {_capital(_fill(rng, rng.choice(NEGATIVE[lang][second])))}"
        return text
    if tone == "passive":
        x = rng.random()
        if x < 0.55:
            short = _fill(rng, rng.choice(NEGATIVE_SHORT[lang][pick(rng, complaints)]))
            return rng.choice(MIXED_OPENING[lang]).replace("{short}", short)
        if x < 0.8:
            return rng.choice(NEUTRAL[lang])
    text = _fill(rng, rng.choice(POSITIVE[lang][pick(rng, PRAISE_TOPICS)]))
    if tone == "positive" and rng.random() < 0.12:  # happy, with one reservation
        short = _fill(rng, rng.choice(NEGATIVE_SHORT[lang][pick(rng, complaints)]))
        but = "но" if lang == "ru" else "but"
        text = f"{text.rstrip('.!')}, {but} {short}."
    return text


def _biased(weights: Weights, bias: Weights) -> Weights:
    factor = dict(bias)
    return tuple((topic, w * factor.get(topic, 1.0)) for topic, w in weights)


def _fill(rng: random.Random, template: str) -> str:
    return _SLOT_RE.sub(lambda m: rng.choice(SLOTS[m.group(1)]), template)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _roughen(rng: random.Random, text: str, lang: str, negative: bool) -> str:
    """How people type on a phone: slang, typos, no capital, no full stop, «е» for «ё»."""
    if lang == "ru":
        if rng.random() < 0.12:
            opener = rng.choice(SLANG_OPENERS["neg" if negative else "pos"])
            text = f"{opener} {text[:1].lower()}{text[1:]}"
        if rng.random() < 0.15:
            for word, slang in SLANG_WORDS:
                text = re.sub(rf"\b{word}\b", slang, text, flags=re.IGNORECASE)
        if rng.random() < 0.5:
            text = text.replace("ё", "е")
    if rng.random() < (0.18 if lang == "ru" else 0.12):
        text = _typo(rng, text)
    if negative and rng.random() < 0.1:
        text = text.rstrip(".") + "!!!"
    elif rng.random() < 0.35:
        text = text.rstrip(".")
    if rng.random() < 0.3:
        text = text[:1].lower() + text[1:]
    return text


def _typo(rng: random.Random, text: str) -> str:
    """One slip of the finger in a longer word: two letters swapped, one lost or doubled."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    k = rng.randrange(1, len(w) - 1)
    op = rng.randrange(3)
    if op == 0:
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    elif op == 1:
        w = w[:k] + w[k + 1:]
    else:
        w = w[:k] + w[k] + w[k:]
    words[i] = w
    return " ".join(words)
