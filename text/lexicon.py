
"""A small Russian and English sentiment lexicon: lemma (or ``prefix*``) → weight.

Weights are in [−2, 2]: ±1 mild (долго, дорого, nice), ±2 strong (хамство, ужасно,
awesome). Kept deliberately small (the words customers actually use about service) and
matched on lemmas like the topic words; negation and intensifiers are handled in
``text.sentiment``.
"""

from __future__ import annotations

_POS_RU = """
хороший:1 хорошо:1 отлично:2 отличный:2 прекрасный:2 прекрасно:2 замечательный:2
супер:2 класс:2 классный:2 здорово:1.5 молодец:2 спасибо:1.5 спасибки:1.5 благодарить:1.5
благодарность:1.5 рекомендовать:1.5 лучший:2 понравиться:1.5 нравиться:1 приятный:1
приятно:1 вежливый:1 вежливо:1 внимательный:1 компетентный:1 профессиональный:1
профессионализм:1.5 удобный:1 удобно:1 быстро:1 быстрый:1 оперативно:1 чисто:1
чистый:1 уютно:1 уютный:1 свежий:0.5 вкусный:1 вкусно:1 доброжелательный:1
улыбчивый:1 шустрый:1 четко:1 норм:0.5 нормально:0.3 ок:0.5 помочь:0.5 порадовать:1.5
довольный:1.5 доволен:1.5 респект:1.5 восторг:2 шикарный:2 идеально:2 выгодный:1
дешево:0.5 решить:0.5 спасти:1
"""

_NEG_RU = """
плохо:-1.5 плохой:-1.5 ужасно:-2 ужасный:-2 отвратительный:-2 кошмар:-2 безобразие:-2
хам*:-2 нахам*:-2 груб*:-2 нагруб*:-2 невежлив*:-1.5 некомпетент*:-1.5
непрофессионал*:-1.5 неприятный:-1 равнодушный:-1 игнорировать:-1.5 долго:-1
долгий:-1 медленно:-1 медленный:-1 тормоз*:-1 очередища*:-1.5 ждать:-0.5
дорого:-1 дорогой:-0.5 обсчитать:-1.5 обман*:-2 обмануть:-2 брак:-1.5
бракованный:-1.5 просроченный:-1.5 просрочка:-1.5 гнилой:-1.5 черствый:-1
несвежий:-1.5 невкусный:-1 грязно:-1.5 грязный:-1.5 грязь:-1.5 вонять:-1.5 вонь:-1.5
антисанитария:-2 мусор:-1 липкий:-1 сломаться:-1 отвалиться:-1 жалоба:-1 жаловаться:-1
неудобно:-1 неудобный:-1 сложный:-0.5 сложно:-0.5 нахамить:-2 неадекватный:-2
бесить:-1.5 надоесть:-1 разочаровать:-1.5 разочарование:-1.5 худший:-2 отказать:-1
отказаться:-1 навязывать:-1 глючить:-1 вылетать:-1 опоздать:-1 кусаться:-1
задрать:-1.5 никто:-0.5 ерунда:-1 позор:-2 отстой:-2 жесть:-1.5 бардак:-1.5
холодно:-0.5 громкий:-0.5 некачественный:-1.5 проблема:-1 мошенник:-2
мошенничество:-2 украсть:-2 отравиться:-2 хамло:-2 хамка:-2 дурацкий:-1.5
"""

_POS_EN = """
good:1 great:2 excellent:2 awesome:2 amazing:2 perfect:2 wonderful:2 nice:1 fine:0.5
friendly:1 helpful:1 polite:1 kind:1 patient:1 patience:1 thank:1.5 thanks:1.5
recommend:1.5 best:2 love:1.5 clean:1 fresh:0.5 fast:1 quick:1 quickly:1 easy:1
cozy:1 happy:1.5 pleased:1.5 well:0.5 ok:0.3 okay:0.3 professional:1 kudos:1.5
"""

_NEG_EN = """
bad:-1.5 terrible:-2 awful:-2 horrible:-2 worst:-2 rude:-2 rudeness:-2 impolite:-1.5
unfriendly:-1.5 unhelpful:-1.5 unprofessional:-1.5 ignore:-1.5 ignored:-1.5 slow:-1
long:-0.5 expensive:-1 overpriced:-1.5 overcharged:-1.5 broken:-1.5 defective:-1.5
faulty:-1.5 expired:-1.5 stale:-1 rotten:-1.5 dirty:-1.5 filthy:-2 smell:-1 stink:-1.5
mess:-1 sticky:-1 crash:-1 crashing:-1 late:-1 refuse:-1 refused:-1 confusing:-1
ridiculous:-1.5 disappointed:-1.5 problem:-1 fraud:-2 scam:-2 never:-0.5 nobody:-0.5
poisoning:-2 threaten:-2 threatened:-2 useless:-1.5 annoying:-1 unacceptable:-2
"""


def _parse(block: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in block.split():
        word, _, weight = item.partition(":")
        out[word] = float(weight)
    return out


SENTIMENT_RU: dict[str, float] = {**_parse(_POS_RU), **_parse(_NEG_RU)}
SENTIMENT_EN: dict[str, float] = {**_parse(_POS_EN), **_parse(_NEG_EN)}

# Intensifiers multiply the next sentiment word.
INTENSIFIERS: dict[str, float] = {
    "очень": 1.5, "сильно": 1.5, "слишком": 1.5, "крайне": 1.7, "совсем": 1.3,
    "абсолютно": 1.5, "ужасно": 1.5, "огромный": 1.5, "реально": 1.3, "вообще": 1.3,
    "very": 1.5, "really": 1.3, "so": 1.3, "too": 1.5, "extremely": 1.7,
    "absolutely": 1.5, "totally": 1.5, "highly": 1.5,
}
