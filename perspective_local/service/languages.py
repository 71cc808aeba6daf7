"""A small, honest language detector: writing system first, then function words for Latin text.

It tells English from the main languages that share its script well on sentences and says
so when it cannot tell. Short Latin-script text with no evidence for any language is taken
as English: short English comments are the common case, and Perspective's misfires on them
("yo hamburger" -> Turkish) were among its most reported problems. Text with no letters at
all (digits, punctuation, emoji) cannot be detected.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# The most frequent function words of each language; short, so overlaps matter little.
_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and is are was were you your i it this that to of in for not with have be "
        "on at my me we they he she what do don't can will just so but if or no",
        "fr": "le la les et est des une un vous je pas que qui dans pour sur avec ce cette "
        "il elle nous sont mais ou du au être ne",
        "de": "der die das und ist nicht ich du sie wir ein eine zu mit auf für den dem "
        "des sich auch es aber oder wie bin sind",
        "es": "el la los las y es que de en un una por para con no se lo como pero su "
        "está son muy yo tu",
        "it": "il lo la gli le e è che di non un una per con sono ma come questo io tu "
        "della del anche",
        "pt": "o a os as e é que de não um uma para com em por se mas como você eu do da "
        "isso muito",
        "nl": "de het een en is niet ik je van dat die te zijn op met voor maar ook wat er",
        "sv": "och att det är som en ett inte jag du på med för av har men om den vi",
        "pl": "i w nie na że to się jest z do jak ale co tak za jestem czy",
        "id": "dan yang di ini itu tidak saya anda dengan untuk dari ada ke akan juga",
        "cs": "a je to v se na že ne jsem s z do jak ale co tak by",
    }.items()
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Writing systems that name a language outright (or nearly).
_SCRIPT_LANGUAGE = {
    "CYRILLIC": "ru",
    "ARABIC": "ar",
    "HANGUL": "ko",
    "DEVANAGARI": "hi",
    "GREEK": "el",
    "HEBREW": "he",
    "THAI": "th",
}


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if name.startswith("CJK") or "IDEOGRAPH" in name:
        return "HAN"
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "KANA"
    return name.split(" ", 1)[0] if name else None


def detect_languages(text: str) -> list[str]:
    """Likely languages of ``text``, most likely first; empty when it cannot be told."""
    scripts = Counter(s for s in map(_script, text) if s is not None)
    if not scripts:
        return []
    script, _ = scripts.most_common(1)[0]
    if script in ("HAN", "KANA"):
        return ["ja"] if scripts["KANA"] else ["zh"]
    if script != "LATIN":
        return [_SCRIPT_LANGUAGE.get(script, "und")]
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {
        lang: sum(1 for w in words if w in vocabulary) for lang, vocabulary in _STOPWORDS.items()
    }
    ranked = sorted((lang for lang in hits if hits[lang] > 0), key=lambda lang: -hits[lang])
    if not ranked:
        return ["en"]

    # English stays first on a tie, and against a single function word of another language
    # ("yo hamburger"): one word is no evidence, and English is what the models serve.
    best = hits[ranked[0]]
    if hits["en"] == best or best < 2:
        if "en" in ranked:
            ranked.remove("en")
        ranked.insert(0, "en")
    return ranked[:3]
