"""Texts of the public pages (loyalty display, QR survey) in Russian and English."""

from __future__ import annotations

from server.config import ServerSettings

LANGUAGES = ("ru", "en")

STRINGS: dict[str, dict[str, str]] = {
    "ru": {
        "display_title": "Как Вам у нас сегодня?",
        "ratings": "Оценок сегодня: {n}",
        "thanks": "Спасибо, что оцениваете нас!",
        "first": "Будьте первым, кто оценит нас сегодня",
        "reconnecting": "Обновляем данные…",
        "stale": "Нет связи с сервером",
        "denied": "Нет доступа: проверьте токен дисплея",
        "btn_1_of_2": "Плохо", "btn_2_of_2": "Хорошо",
        "btn_1_of_3": "Плохо", "btn_2_of_3": "Нормально", "btn_3_of_3": "Хорошо",
        "survey_title": "Ваше мнение",
        "nps_question": "Насколько вероятно, что Вы порекомендуете нас друзьям и знакомым?",
        "nps_low": "0 — точно нет", "nps_high": "10 — точно да",
        "why": "Почему?",
        "why_placeholder": "Что понравилось, что нам стоит улучшить?",
        "csi_low": "плохо", "csi_high": "отлично",
        "submit": "Отправить",
        "sending": "Отправляем…",
        "done_title": "Спасибо!",
        "done_text": "Ваш ответ помогает нам стать лучше.",
        "cooldown": "Вы уже ответили недавно — спасибо! Снова можно будет через {m} мин.",
        "rate_limited": "Слишком много запросов. Попробуйте через минуту.",
        "failed": "Не удалось отправить. Проверьте связь и попробуйте ещё раз.",
        "pick_nps": "Выберите оценку от 0 до 10",
        "not_found": "Такой точки обслуживания нет",
        "unauthorized": "Нужен действующий токен (?token=…)",
        "forbidden": "Этот токен не даёт доступа к этой странице",
    },
    "en": {
        "display_title": "How was it with us today?",
        "ratings": "Ratings today: {n}",
        "thanks": "Thank you for your feedback!",
        "first": "Be the first to rate us today",
        "reconnecting": "Updating…",
        "stale": "No connection to the server",
        "denied": "Access denied: check the display token",
        "btn_1_of_2": "Bad", "btn_2_of_2": "Good",
        "btn_1_of_3": "Bad", "btn_2_of_3": "So-so", "btn_3_of_3": "Good",
        "survey_title": "Your opinion",
        "nps_question": "How likely are you to recommend us to friends and colleagues?",
        "nps_low": "0 — not at all", "nps_high": "10 — extremely likely",
        "why": "Why?",
        "why_placeholder": "What did you like, what should we improve?",
        "csi_low": "poor", "csi_high": "excellent",
        "submit": "Send",
        "sending": "Sending…",
        "done_title": "Thank you!",
        "done_text": "Your answer helps us get better.",
        "cooldown": "You answered recently — thank you! You can answer again in {m} min.",
        "rate_limited": "Too many requests. Please try again in a minute.",
        "failed": "Could not send. Check the connection and try again.",
        "pick_nps": "Pick a score from 0 to 10",
        "not_found": "No such service point",
        "unauthorized": "A valid token is required (?token=…)",
        "forbidden": "This token does not give access to this page",
    },
}


def language(cfg: ServerSettings, location: str, requested: str | None) -> str:
    """``?lang=`` when valid, else the location's language, else ``[core] language``."""
    if requested in LANGUAGES:
        return requested
    loc = cfg.location(location)
    if loc is not None and loc.language:
        return loc.language
    return cfg.core.language


def question_text(q_ru: str, q_en: str, lang: str) -> str:
    """A CSI question in ``lang``, falling back to the other language."""
    return (q_en or q_ru) if lang == "en" else (q_ru or q_en)
