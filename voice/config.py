"""The ``[voice]`` section: VAD segmentation, emotion, speech recognition, lexicons."""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from stream.config import Section, StreamSettings
from stream.events import VOICE_CATEGORIES


class LexiconConfig(Section, frozen=True):
    """Phrases per voice keyword category for one language."""

    greeting: tuple[str, ...] = ()
    thanks: tuple[str, ...] = ()
    farewell: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    profanity: tuple[str, ...] = ()


class VoiceLexicons(Section, frozen=True):
    ru: LexiconConfig = LexiconConfig(
        greeting=("здравствуйте", "добрый день", "добрый вечер", "доброе утро", "приветствую",
                  "добро пожаловать"),
        thanks=("спасибо", "благодарю", "благодарим"),
        farewell=("до свидания", "всего доброго", "всего хорошего", "хорошего дня", "до встречи"),
        escalation=("жалоба", "жаловаться", "менеджер", "позовите менеджера", "руководитель",
                    "верните деньги", "возврат денег", "безобразие", "возмутительно", "претензия",
                    "книга жалоб", "роспотребнадзор", "подам в суд"),
        profanity=("идиот", "дурак", "придурок", "козел", "сволочь", "урод"),
    )
    en: LexiconConfig = LexiconConfig(
        greeting=("hello", "good morning", "good afternoon", "good evening", "welcome"),
        thanks=("thank you", "thanks", "appreciate"),
        farewell=("goodbye", "bye bye", "have a nice day", "see you"),
        escalation=("complaint", "manager", "supervisor", "refund", "money back", "unacceptable",
                    "ridiculous", "lawyer"),
        profanity=("idiot", "stupid", "damn", "hell", "moron", "crap"),
    )


class VoiceConfig(Section, frozen=True):
    """Voice analytics (``cx.audio`` microphones): VAD, emotion, speech recognition, lexicons.

    ``[voice.lexicon.ru]`` / ``[voice.lexicon.en]`` list phrases per category (a table given
    in config.toml replaces that language's defaults whole); matching tolerates word endings
    and recognition errors (voice/keywords.py). Audio is processed in memory only unless
    ``store_audio`` is set.
    """

    enabled: bool = True
    asr_enabled: bool = True
    model_cache_dir: str = "var/models/whisper-base"
    asr_cpu_threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    max_asr_backlog_s: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    transcript_retention_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    store_audio: bool = False
    anger_threshold: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.7
    anger_incident_utterances: Annotated[int, msgspec.Meta(ge=1)] = 2
    anger_incident_window_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    incident_cooldown_s: Annotated[float, msgspec.Meta(ge=0)] = 300.0  # one incident per episode
    silero_confirm: bool = True
    pad_ms: Annotated[int, msgspec.Meta(ge=0, le=2000)] = 200
    min_speech_ms: Annotated[int, msgspec.Meta(ge=10, le=10_000)] = 200
    min_silence_ms: Annotated[int, msgspec.Meta(ge=100, le=10_000)] = 500
    max_utterance_ms: Annotated[int, msgspec.Meta(ge=1000, le=60_000)] = 15_000
    encounter_silence_s: Annotated[float, msgspec.Meta(gt=0)] = 120.0
    lexicon: VoiceLexicons = VoiceLexicons()

    def __post_init__(self) -> None:
        if self.min_silence_ms < self.pad_ms:
            raise ValueError("voice.min_silence_ms: must be at least voice.pad_ms")

    def lexicons(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Language -> category -> phrases."""
        return {lang: {cat: getattr(getattr(self.lexicon, lang), cat) for cat in VOICE_CATEGORIES}
                for lang in ("ru", "en")}


class VoiceSettings(StreamSettings, Protocol):
    """What the voice workers read of the assembled configuration."""

    @property
    def voice(self) -> VoiceConfig: ...
