"""The ASR worker's wire: masking of transcripts and words, bad and expired requests
(through a real NATS; none of these load the model)."""

from __future__ import annotations

import time

import msgspec
import numpy as np

from cxpulse.config import Config
from stream.nats_io import connect
from stream.nats_server import EmbeddedNats
from stream.subjects import Subjects
from voice.asr import Transcript, Word
from voice.asr_client import (
    DEADLINE_HEADER,
    LANGUAGE_HEADER,
    AsrReply,
    decode_audio,
    decode_reply,
    encode_audio,
)
from voice.asr_worker import AsrWorker, redact_transcript


def transcript(text: str) -> Transcript:
    words = tuple(Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(text.split()))
    return Transcript(text, words, "ru")


def test_masked_numbers_become_one_word_with_their_times() -> None:
    text, words = redact_transcript(
        transcript("Мой номер 8 916 123 45 67, карта 4276 3800 1234 5678 спасибо")
    )
    assert text == "Мой номер [телефон], карта [карта] спасибо"
    assert [w.text for w in words] == ["Мой", "номер", "[телефон],", "карта", "[карта]", "спасибо"]
    assert (words[2].start_s, words[2].end_s, words[4].start_s, words[4].end_s) == (
        1.0,
        3.4,
        4.0,
        5.9,
    )


def test_names_emails_and_addresses_are_masked_in_text_and_words() -> None:
    """One masking module for transcripts (text.mask), beyond numbers: issue 14 #8."""
    text, words = redact_transcript(transcript(
        "Меня зовут Ольга Петрова пишите olga@mail.ru я живу на улице Ленина дом 5"))
    assert "Ольга" not in text and "olga@mail.ru" not in text and "Ленина" not in text
    assert "[имя]" in text and "[email]" in text and "[адрес]" in text
    assert [w.text for w in words if w.text.startswith("[")] == ["[имя]", "[email]", "[адрес]"]


def test_prices_and_plain_text_are_untouched() -> None:
    t = transcript("Доставка стоит 300 рублей до 18:00")
    assert redact_transcript(t) == (t.text, list(t.words))


def test_audio_round_trips_as_pcm16_within_the_size_limit() -> None:
    x = np.sin(np.arange(16000) / 10).astype(np.float32) * 0.5
    assert np.abs(decode_audio(encode_audio(x, 1 << 20)) - x).max() < 1e-4
    assert len(encode_audio(x, 1001)) == 1000


async def test_bad_and_expired_requests_are_answered_without_transcribing(
    nats_server: EmbeddedNats,
) -> None:
    cfg = Config()
    nc = await connect(cfg.nats, nats_server.url, "asr-test")
    worker = AsrWorker(cfg, nc, name="asr-t", batch_wait_s=0.01)
    await worker.start()
    subject = Subjects("cx").asr
    try:
        async def ask(payload: bytes, **headers: str) -> AsrReply:
            msg = await nc.request(subject, payload, timeout=5, headers=headers or None)
            return decode_reply(msg.data)

        odd = await ask(bytes(3201), **{LANGUAGE_HEADER: "ru"})
        nolang = await ask(bytes(3200))
        past = str(int(time.time() * 1000) - 1000)
        late = await ask(bytes(3200), **{LANGUAGE_HEADER: "ru", DEADLINE_HEADER: past})
        assert (odd.status, nolang.status, late.status) == ("bad_request", "bad_request", "expired")
        assert "PCM16" in odd.error and "Cx-Language" in nolang.error and late.worker == "asr-t"
        assert worker.transcriber._model is None  # nothing was transcribed: the model never loaded
        assert worker.stats()["bad_request"] == 2 and worker.stats()["expired"] == 1
        assert msgspec.json.decode(msgspec.json.encode(late))["status"] == "expired"
    finally:
        await worker.stop()
        await nc.close()
