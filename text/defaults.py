# ruff: noqa: RUF001  (Russian text and typographic signs by design)
"""The default comment topics (domain.md), urgency words and sentiment lexicon.

Words are matched on lemmas, so any form may be written («очереди» = «очередь»); a
trailing ``*`` matches every lemma (or surface word) that starts with the rest
(«хам*» covers хамить, хамство, хамка, хамло); several words form a phrase that must
appear in that order with nothing between them. docs/comments.md holds the same set as
a ready-to-paste ``[[comments.topics]]`` TOML block (a test keeps the two equal).
"""

from __future__ import annotations

# (id, name_ru, name_en, words_ru, words_en)
TOPICS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "wait", "Ожидание и очереди", "Waiting and queues",
        (
            "очередь", "очередища*", "ожидание", "ожидать", "ждать", "подождать",
            "прождать", "дождаться", "ждун*", "долго", "долгий", "долгое", "медленно",
            "медленный", "быстро", "быстрый", "побыстрее", "оперативно", "тормоз*",
            "вечность", "полчаса", "пол часа", "минута", "мин",
            "задержка", "талон", "талончик", "одна касса", "работала одна касса",
        ),
        (
            "queue", "line", "wait", "waiting", "long", "slow", "slowly", "quick",
            "quickly", "fast", "hour", "minute", "min", "delay", "forever", "ages",
        ),
    ),
    (
        "staff", "Персонал", "Staff",
        (
            "персонал", "сотрудник", "сотрудница", "работник", "продавец", "продавщица",
            "кассир", "кассирша", "консультант", "менеджер", "администратор", "админ",
            "охранник", "охрана", "официант", "официантка", "врач", "доктор", "медсестра",
            "регистратор", "ресепшен", "ресепшн", "рисепшен", "операционист*",
            "уборщица", "девушка", "парень", "девочки", "мальчик", "специалист",
            "вежлив*", "невежлив*", "груб*", "хам*", "нахам*", "нагруб*", "хамло",
            "компетент*", "некомпетент*", "профессионал*", "непрофессионал*",
            "внимательный", "внимание", "невнимательный", "игнорировать",
            "равнодушный", "приятный", "неприятный", "улыбчивый", "доброжелательный",
            "обслуживание", "отношение", "навязывать", "не подошел", "не поздоровался",
            "болтать", "не в теме", "не знать", "объяснить", "помочь", "помощь",
            "поздороваться", "извиниться", "неадекватный", "толкнуть", "угрожать",
            "забыть", "посоветовать", "не смогла ответить", "шустрый",
        ),
        (
            "staff", "cashier", "consultant", "manager", "employee", "guard", "waiter",
            "waitress", "doctor", "nurse", "receptionist", "assistant", "people",
            "rude", "rudeness", "polite", "impolite", "friendly", "unfriendly", "helpful",
            "unhelpful", "nobody helped", "professional", "unprofessional", "attentive",
            "ignored", "ignore", "patience", "patient", "nice people", "chatting",
            "didn't know", "know anything", "attitude", "threatened",
        ),
    ),
    (
        "price", "Цены и акции", "Prices and promotions",
        (
            "цена", "ценник", "ценники", "стоимость", "стоить", "дорого", "дорогой",
            "дешево", "дешевый", "переплатить", "переплата", "обсчитать", "обсчет",
            "пробить", "акция", "скидка", "распродажа", "бонус", "баллы", "кэшбэк",
            "кешбэк", "за такие деньги", "кусаться", "задрать", "рубль", "руб",
            "переплатила",
        ),
        (
            "price", "prices", "pricing", "expensive", "overpriced", "cheap", "cost",
            "discount", "discounts", "sale", "promotion", "promo", "offer", "charged",
            "overcharged", "charge", "bonus", "cashback",
        ),
    ),
    (
        "product", "Товар и качество", "Products and quality",
        (
            "продукция", "качество", "качественный", "некачественный",
            "брак", "бракованный", "просрочка", "просроченный", "испорченный", "гнилой",
            "черствый", "несвежий", "свежий", "не свежий", "свежесть", "ассортимент",
            "выбор", "наличие", "в наличии", "нет в наличии", "закончиться", "размер",
            "полка", "пустые полки", "выпечка", "хлеб", "молоко", "овощи", "фрукты",
            "мясо", "сыр", "кофе", "суп", "салат", "шаурм*", "отравиться", "отравление",
            "еда", "блюдо", "порция",
            "невкусный", "вкусный", "сломаться", "отвалиться", "пакет", "волос",
            "поддельный", "подделка", "сок", "состав", "стекло", "завозить",
            "так себе",
        ),
        (
            "product", "products", "quality", "broken", "defective", "faulty", "expired",
            "stale", "fresh", "rotten", "selection", "assortment", "stock",
            "out of stock", "choice", "food", "bread", "milk", "kettle", "yogurt",
            "sandwich", "coffee", "item", "items", "size",
        ),
    ),
    (
        "cleanliness", "Чистота", "Cleanliness",
        (
            "чистота", "чисто", "чистый", "грязь", "грязно", "грязный", "мусор",
            "запах", "пахнуть", "вонять", "вонь", "туалет", "антисанитария", "липкий",
            "пыль", "протирать", "убирать", "уборка", "мокрый пол", "крыса", "таракан",
            "мыло", "бахилы", "уборщик",
        ),
        (
            "clean", "cleanliness", "dirty", "filthy", "mess", "messy", "smell",
            "smells", "stink", "toilet", "toilets", "restroom", "trash", "dust", "sticky",
            "floor", "glass on the floor",
        ),
    ),
    (
        "process", "Правила и процедуры", "Rules and procedures",
        (
            "документ", "документы", "бумажка", "справка", "возврат", "вернуть",
            "обмен", "обменять", "правило", "процедура", "гарантия", "гарантийный",
            "ремонт", "чек", "паспорт",
            "договор", "заявление", "прописка", "перевыпуск", "касса самообслуживания",
            "наличные", "примерочная", "требовать", "потребовать", "закрыться раньше",
            "отказ", "отказаться", "вернуть деньги", "списать", "карта лояльности",
            "регламент", "условие",
        ),
        (
            "refund", "return", "exchange", "receipt", "paperwork", "document",
            "documents", "rule", "rules", "policy", "warranty", "passport", "procedure",
            "refused", "contract", "form", "sue",
        ),
    ),
    (
        "digital", "Сайт, приложение, доставка", "Website, app, delivery",
        (
            "сайт", "приложение", "онлайн", "интернет", "интернет магазин",
            "мобильный банк", "личный кабинет", "доставка", "доставить", "курьер",
            "заказ на сайте", "онлайн запись", "онлайн заказ", "смс", "sms", "пуш",
            "уведомление", "qr", "кьюар", "горячая линия", "дозвониться", "глючить",
            "вылетать", "выдача заказов", "пункт выдачи", "самовывоз",
        ),
        (
            "website", "site", "app", "online", "delivery", "delivered", "courier",
            "crashing", "crash", "order", "ordered", "ordering", "sms",
            "notification", "hotline", "login",
        ),
    ),
    (
        "praise", "Благодарность", "Praise",
        (
            "спасибо", "спасибки", "благодарить", "благодарность", "благодарю",
            "молодец", "молодцы", "рекомендовать", "рекомендую", "супер", "класс",
            "отлично", "отличный", "прекрасный", "лучший", "понравиться", "так держать",
            "всё хорошо", "все четко", "респект", "огромное спасибо", "вы лучшие",
            "от бога",
        ),
        (
            "thank", "thanks", "great", "awesome", "excellent", "amazing", "recommend",
            "perfect", "best", "wonderful", "love", "kudos", "well done",
        ),
    ),
)

URGENT_RU: tuple[str, ...] = (
    # threats and violence
    "угрожать", "угроза", "убить", "убью", "порешать", "прибить", "покалечить",
    "избить", "ударить", "толкнуть", "расправа", "драка", "нож", "оружие",
    # health and safety
    "скорая", "скорую", "плохо стало", "стало плохо", "обморок", "отравиться",
    "отравление", "аллергия", "аллергический", "травма", "ушиб", "перелом", "кровь",
    "порезать", "порезаться", "поскользнуться", "я упала", "упал в обморок",
    "ребенок упал", "человек упал", "попадали", "с температурой", "высокая температура",
    "пожар", "дым", "гарь", "горелый", "возгорание", "искры", "ожог", "обжечься",
    "сломала руку", "сломал ногу", "травмироваться", "без сознания", "приступ",
    "гололед", "скользко", "истекать кровью",
    "задымление", "газ", "током", "искрить", "стекло",
    # legal action and regulators
    "суд", "подать в суд", "иск", "прокуратура", "роспотребнадзор", "полиция",
    "полицию", "юрист", "адвокат", "санэпидемстанция", "сэс", "заявление в полицию",
    "центробанк", "цб", "фас", "напишу заявление",
    # fraud and theft
    "мошенничество", "мошенник", "мошенники", "украсть", "кража", "воровство",
    "подделка", "поддельный", "без моего согласия", "списать без согласия",
    "прикарманить",
)

URGENT_EN: tuple[str, ...] = (
    "threaten", "threatened", "threat", "kill", "hit me", "assault", "attack",
    "ambulance", "fainted", "faint", "poisoning", "food poisoning", "allergic", "injury",
    "injured", "blood", "cut his hand", "cut her hand", "i fell", "she fell", "he fell",
    "fell down", "slipped", "cut my", "cut myself", "burn", "burned", "burning",
    "sparks", "collapsed", "unconscious", "heart attack", "bleeding", "piece of glass",
    "piece of metal", "choked", "slippery", "fire",
    "smoke", "gas leak", "electric shock", "broken glass",
    "sue", "lawsuit", "lawyer", "attorney", "court", "police", "regulator",
    "fraud", "scam", "stolen", "stole", "theft", "unauthorized", "unauthorised",
)
