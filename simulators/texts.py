"""Texts of simulated incidents, Russian and English (comments: ``simulators.comments``)."""

from __future__ import annotations

import random

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


def incident_text(rng: random.Random, language: str, category: str) -> str:
    pool = INCIDENT_TEXTS.get(language, INCIDENT_TEXTS["en"])
    return rng.choice(pool[category])
