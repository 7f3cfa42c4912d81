
"""Texts of simulated customer comments: templates per language, topic and tone, and slots.

Topics are the default comment topics of domain.md (``wait``, ``staff``, ``price``,
``product``, ``cleanliness``, ``process``, ``digital``, ``praise``). ``{slot}`` marks are
filled from ``SLOTS``; ``simulators.comments`` picks, fills, combines and roughens them
(typos, slang, personal data, the odd urgent one). Plain data, no logic.
"""

from __future__ import annotations

Templates = dict[str, tuple[str, ...]]

# What unhappy customers write, per topic.
NEGATIVE: dict[str, Templates] = {
    "ru": {
        "wait": (
            "Долго ждал в очереди, работала одна касса.",
            "Простояла в очереди {minutes} минут.",
            "Очередь огромная, а окошек открыто два из {desks}.",
            "Ждали консультанта {minutes} минут, никто не подошёл.",
            "Очень долго оформляли, я опоздал на работу.",
            "Ожидание {minutes} минут ради одной подписи.",
            "Талон взял, прождал полчаса.",
            "Медленно обслуживают, очередь не двигается.",
            "Пришлось ждать выдачу заказа больше {minutes} минут.",
            "Очередь до самого входа, в обед вообще не зайти.",
        ),
        "staff": (
            "{role} нахамил, разговаривал через губу.",
            "{role} грубо ответила и отвернулась.",
            "Консультант ничего не знает про {product}, пришлось самой разбираться.",
            "Сотрудники болтают между собой, клиентов игнорируют.",
            "{role} даже не поздоровался.",
            "Персонал невежливый, больше не приду.",
            "Менеджер не смог объяснить условия.",
            "Навязывали страховку и ненужные услуги.",
            "{role} некомпетентный, дал неверную информацию.",
            "Равнодушное отношение к клиентам.",
        ),
        "price": (
            "Цены выше, чем в соседнем магазине.",
            "Дорого, за такие деньги можно найти лучше.",
            "На ценнике одна цена, на кассе пробили другую.",
            "Скидку по акции не дали, хотя обещали.",
            "Бонусы не начислили за покупку.",
            "Цена на {product} выросла за неделю на {percent}%.",
            "Обсчитали на кассе на {rubles} руб.",
        ),
        "product": (
            "Купленный {product} оказался бракованным, через неделю сломался.",
            "Нужного товара не было в наличии, хотя на сайте был.",
            "Ассортимент маленький, выбор никакой.",
            "Продали бракованный товар с царапинами, как будто б/у.",
            "Качество так себе, через месяц всё отвалилось.",
            "Второй раз приезжаю, а нужной модели всё нет в наличии.",
        ),
        "cleanliness": (
            "В зале грязно, на полу мусор.",
            "В туалете грязно и нет мыла.",
            "Неприятный запах у входа.",
            "Пыль на витринах, протирать видимо не принято.",
            "Грязные столы в зоне ожидания.",
        ),
        "process": (
            "Не приняли возврат без коробки, хотя чек был.",
            "Обмен не сделали, отправили писать заявление.",
            "Требуют кучу документов ради справки.",
            "Гарантийный ремонт идёт уже месяц.",
            "Правила возврата никто не объясняет.",
            "Отказали в обмене, сказали такие правила.",
        ),
        "digital": (
            "Заказ на сайте оформила, а в магазине его не нашли.",
            "Приложение глючит, не могу войти в личный кабинет.",
            "Доставка опоздала на два дня, курьер не позвонил.",
            "На горячую линию невозможно дозвониться.",
            "Онлайн заказ отменили без объяснений.",
            "СМС о готовности заказа так и не пришло.",
        ),
    },
    "en": {
        "wait": (
            "Waited too long, only one till was open.",
            "Stood in the queue for {minutes} minutes.",
            "The line barely moved, very slow service.",
            "Waited ages for a consultant, nobody came.",
            "It took {minutes} minutes just to pick up my order.",
        ),
        "staff": (
            "The cashier was rude and ignored me.",
            "Staff were chatting with each other instead of helping.",
            "The consultant didn't know anything about the {product_en}.",
            "Unfriendly staff, nobody helped.",
            "The manager was impolite and unprofessional.",
        ),
        "price": (
            "Too expensive compared to other shops.",
            "The price on the shelf was different at the till, I was overcharged.",
            "The promo discount was not applied.",
            "Overpriced, not worth it.",
        ),
        "product": (
            "The {product_en} I bought was faulty.",
            "The item was out of stock although the site said otherwise.",
            "Poor selection, nothing in my size.",
            "Bad quality, the {product_en} broke in a week.",
        ),
        "cleanliness": (
            "The floor was dirty and there was trash everywhere.",
            "The toilets were filthy.",
            "It smells bad near the entrance.",
        ),
        "process": (
            "They refused a refund even with the receipt.",
            "Too much paperwork for a simple exchange.",
            "The warranty repair takes forever, no clear policy.",
        ),
        "digital": (
            "Ordered on the website but the shop could not find my order.",
            "The app keeps crashing at login.",
            "Delivery was two days late and the courier never called.",
            "Impossible to reach the hotline.",
        ),
    },
}

# Short complaints a passive or a happy customer adds after "but".
NEGATIVE_SHORT: dict[str, Templates] = {
    "ru": {
        "wait": ("долго ждать", "очередь большая", "ждать пришлось {minutes} минут"),
        "staff": ("консультант не очень вежливый", "персонала мало"),
        "price": ("цены кусаются", "дорого", "скидок мало"),
        "product": ("выбор небольшой", "не всё было в наличии"),
        "cleanliness": ("в зале не очень чисто",),
        "process": ("с документами морока",),
        "digital": ("на сайте неудобно", "доставка долгая"),
    },
    "en": {
        "wait": ("the queue was long", "a bit slow"),
        "staff": ("the staff could be friendlier",),
        "price": ("prices are high",),
        "product": ("the selection is small",),
        "cleanliness": ("the floor could be cleaner",),
        "process": ("too much paperwork",),
        "digital": ("the website is clumsy",),
    },
}

# What happy customers write.
POSITIVE: dict[str, Templates] = {
    "ru": {
        "praise": (
            "Спасибо, всё быстро и вежливо!",
            "Всё отлично, рекомендую.",
            "Молодцы, так держать!",
            "Лучший магазин в районе.",
            "Огромное спасибо, всё супер.",
            "Всё понравилось, приду ещё.",
        ),
        "staff": (
            "Очень помог консультант, всё подробно объяснил.",
            "Вежливый персонал, приятно зайти.",
            "{role} {name_hint} очень внимательная, спасибо ей.",
            "Сотрудник помог выбрать {product}, спасибо.",
            "Доброжелательный и компетентный {role_lc}.",
        ),
        "wait": (
            "Обслужили быстро, без очереди.",
            "Быстро оформили, минут за {short_minutes}.",
            "Оперативно выдали заказ.",
        ),
        "cleanliness": ("Чисто и уютно.",),
    },
    "en": {
        "praise": (
            "Thank you, quick and polite!",
            "Great service, I recommend it.",
            "Excellent, well done!",
            "Best shop around, thanks.",
        ),
        "staff": (
            "The consultant helped a lot, very friendly.",
            "Polite and helpful staff.",
        ),
        "wait": ("Served quickly, no queue.",),
        "cleanliness": ("Clean and comfortable.",),
    },
}

# Passives: "fine, but ..." openings and neutral remarks.
MIXED_OPENING: dict[str, tuple[str, ...]] = {
    "ru": ("В целом нормально, но {short}.", "Неплохо, только {short}.", "Нормально, хотя {short}.",
           "Всё хорошо, но {short}."),
    "en": ("Fine overall, but {short}.", "Not bad, though {short}.", "OK, but {short}."),
}
NEUTRAL: dict[str, tuple[str, ...]] = {
    "ru": ("Нормально.", "Норм.", "Как обычно.", "Без претензий.", "Купил что хотел."),
    "en": ("Fine.", "OK.", "As usual.", "Got what I needed."),
}

# Rare texts that need someone at once: threats, health and safety, legal action, fraud.
URGENT: dict[str, tuple[str, ...]] = {
    "ru": (
        "Охранник угрожал мне, я напишу заявление в полицию.",
        "Поскользнулась на мокром полу у входа, сильный ушиб, вызывали скорую.",
        "Ребенку стало плохо в очереди, никто не помог.",
        "Подам в суд, если не вернёте деньги.",
        "Пишу жалобу в Роспотребнадзор, продали просроченный товар.",
        "С карты списали деньги без моего согласия, это мошенничество.",
        "Из розетки у кассы искры и запах гари.",
    ),
    "en": (
        "The guard threatened me, I am calling the police.",
        "I slipped on the wet floor and injured my wrist.",
        "I will sue you if I do not get my money back.",
        "My card was charged twice without my consent, this is fraud.",
    ),
}

# Personal data customers leave in comments (masked before anything stores or shows it).
PII: dict[str, tuple[str, ...]] = {
    "ru": (
        "Перезвоните мне: {phone}.",
        "Мой телефон {phone}, жду звонка.",
        "Напишите на {email}.",
        "Обслуживала менеджер {name_ru}.",
        "Консультант {name_ru} в курсе.",
        "Оплачивал картой {card}.",
    ),
    "en": (
        "Call me back at {phone}.",
        "Please reply to {email}.",
        "I was served by {name_en}.",
        "Paid with card {card}.",
    ),
}

SLOTS: dict[str, tuple[str, ...]] = {
    "minutes": ("15", "20", "25", "30", "40", "45", "50", "60"),
    "short_minutes": ("5", "10", "пять", "десять"),
    "desks": ("пяти", "шести", "четырёх"),
    "percent": ("10", "15", "20"),
    "rubles": ("200", "350", "500", "1200"),
    "role": ("Кассир", "Консультант", "Продавец", "Менеджер", "Администратор"),
    "role_lc": ("консультант", "продавец", "менеджер", "кассир"),
    "product": ("телефон", "чехол", "планшет", "ноутбук", "роутер", "смартфон", "телевизор"),
    "product_en": ("phone", "headphones", "charger", "tablet", "laptop", "case"),
    "name_hint": ("на кассе", "в зале", "у стойки"),
    "name_ru": ("Ольга", "Марина", "Анна Сергеевна", "Дмитрий", "Игорь", "Светлана Петрова",
                "Екатерина", "Алексей Иванов"),
    "name_en": ("Olga", "Mary Johnson", "John", "Anna Smith"),
    "phone": ("+7 916 123-45-67", "8 (912) 555-12-34", "+7 (343) 210-11-22", "89031234567",
              "+7 905 777 88 99"),
    "email": ("ivan.petrov@mail.ru", "olga_k1985@yandex.ru", "client.test@gmail.com",
              "a.smirnova@inbox.ru"),
    "card": ("4276 3800 1234 5678", "5469 1200 3456 7890", "2202 2001 2345 6789"),
}

# Slang and spoken openings/closings a share of Russian comments get.
SLANG_OPENERS: dict[str, tuple[str, ...]] = {
    "neg": ("Капец,", "Жесть,", "Ну такое.", "Блин,", "Короче,", "Ваще", "Мда,"),
    "pos": ("Норм,", "Класс!", "Кайф,", "Респект,"),
}
SLANG_WORDS: tuple[tuple[str, str], ...] = (
    ("очень", "оч"), ("спасибо", "спс"), ("сейчас", "щас"), ("что", "чё"), ("вообще", "ваще"),
    ("нормально", "норм"), ("пожалуйста", "плиз"),
)
