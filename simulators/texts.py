"""Free texts of simulated customers and incidents, Russian and English."""

from __future__ import annotations

import random

COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ru": {
        "bad": (
            "Долго ждал в очереди, работала одна касса.",
            "Консультант не смог ответить на вопрос.",
            "Грубо разговаривали, больше не приду.",
            "Товара не было в наличии, хотя на сайте был.",
            "Не объяснили условия акции.",
        ),
        "good": (
            "Спасибо, всё быстро и вежливо!",
            "Очень помог консультант, рекомендую.",
            "Чисто, удобно, без очереди.",
        ),
    },
    "en": {
        "bad": (
            "Waited too long, only one till was open.",
            "The consultant could not answer my question.",
            "Staff were rude, I will not come back.",
            "The item was out of stock although the site said otherwise.",
            "Nobody explained the promotion terms.",
        ),
        "good": (
            "Thank you, quick and polite!",
            "The consultant helped a lot, recommended.",
            "Clean, comfortable, no queue.",
        ),
    },
}

INCIDENT_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ru": {
        "claim": ("Не начислили скидку по акции.", "Требую вернуть деньги за услугу."),
        "consultation": ("Продавец дал неверную информацию о тарифе.",
                         "Не смогли подобрать аксессуар."),
        "product_quality": ("Телефон перестал включаться через неделю.",
                            "Брак наушников, прошу замену."),
        "certificate": ("Нужна справка о покупке для работы.",
                        "Прошу выдать копию гарантийного талона."),
        "service": ("Долгое ожидание на кассе.", "Сотрудник был невежлив."),
        "thanks": ("Благодарю консультанта за помощь!", "Спасибо за быстрый ремонт."),
        "other": ("Вопрос по доставке.", "Предложение по работе магазина."),
    },
    "en": {
        "claim": ("The promotion discount was not applied.", "I want a refund for the service."),
        "consultation": ("The seller gave wrong information about the plan.",
                         "They could not find a matching accessory."),
        "product_quality": ("The phone stopped turning on after a week.",
                            "Faulty headphones, please replace."),
        "certificate": ("I need a purchase certificate for work.",
                        "Please issue a copy of the warranty card."),
        "service": ("Long wait at the till.", "The employee was impolite."),
        "thanks": ("Thanks to the consultant for the help!", "Thank you for the quick repair."),
        "other": ("A question about delivery.", "A suggestion about the shop."),
    },
}


def comment(rng: random.Random, language: str, good: bool) -> str:
    pool = COMMENTS.get(language, COMMENTS["en"])
    return rng.choice(pool["good" if good else "bad"])


def incident_text(rng: random.Random, language: str, category: str) -> str:
    pool = INCIDENT_TEXTS.get(language, INCIDENT_TEXTS["en"])
    return rng.choice(pool[category])
