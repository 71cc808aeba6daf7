"""Language identification of comments, by the ``lingua-language-detector`` library.

Why lingua: it is maintained, works offline (its n-gram models ship inside the wheel, no
download at run time), has typed Python bindings over a Rust core, and is built for short
text: it is the most accurate of the offline identifiers on one-line comments, where
CLD3 (``cld3-py``) and fastText-style detectors are at their weakest. A hand-written
function-word detector (what this module used to be) counted one-letter words as
evidence and answered "You are a stupid idiot and a liar" with ``["en", "pt", "cs"]``.

The detector knows a fixed set of languages (``LANGUAGES``): every language the attribute
registry lists, ours and Perspective's, plus common others, so that a comment in a language
we do not serve is reported as that language instead of a near neighbour. It is built once
per process, lazily, in high-accuracy mode; loading its models takes seconds and a few
hundred MB, so the server calls ``warm_up()`` at start instead of paying for it on the
first request. A warm call takes about half a millisecond on a short comment
(``benchmarks/languages.py`` measures accuracy and latency; low-accuracy mode loads in a
second and 60 MB but answered 18% of short English comments as another language).

Rules on top of the library:

- Only languages whose confidence reaches ``THRESHOLD`` are reported, most likely first.
  The threshold was chosen with ``benchmarks/languages.py`` on short comments.
- Short Latin-script text with no clear evidence for any language (nothing reaches the
  threshold) is taken as English: short English comments are the common case, and
  Perspective's misfires on them ("yo hamburger" -> Turkish) were among its most reported
  problems. Text in another script without a clear winner gets the most likely language.
- Text with no letters at all (digits, punctuation, emoji) cannot be detected: ``[]``.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from perspective_local.models.attributes import ATTRIBUTES

#: The lowest confidence (lingua's relative confidence, 0..1) a language needs to be
#: reported; chosen with ``benchmarks/languages.py``.
THRESHOLD = 0.35
#: Languages detected besides those of the attribute registry.
COMMON_LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "ro",
    "hu", "tr", "ru", "uk", "el", "he", "ar", "fa", "hi", "th", "vi", "id", "zh", "ja", "ko",
)  # fmt: skip


def _registry_languages() -> set[str]:
    tags = (
        tag
        for attribute in ATTRIBUTES.values()
        for tag in (*attribute.languages, *attribute.perspective_languages)
    )
    return {tag.split("-", 1)[0].lower() for tag in tags}


def _lingua_languages(codes: Iterable[str]) -> list[Language]:
    """The lingua languages for ISO 639-1 ``codes``; codes lingua cannot detect are skipped."""
    known = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
    return [known[code] for code in sorted(set(codes)) if code in known]


#: Every language the detector can answer, as lingua languages.
LANGUAGES: tuple[Language, ...] = tuple(
    _lingua_languages({*_registry_languages(), *COMMON_LANGUAGES})
)

_lock = threading.Lock()
_detector: LanguageDetector | None = None


def build_detector(
    languages: Iterable[Language] = LANGUAGES, *, low_accuracy: bool = False
) -> LanguageDetector:
    """A new detector over ``languages`` with its models loaded (slow: seconds)."""
    builder = LanguageDetectorBuilder.from_languages(*languages)
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return builder.with_preloaded_language_models().build()


def detector() -> LanguageDetector:
    """The process's detector, built on first use."""
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = build_detector()
    return _detector


def warm_up() -> None:
    """Build the detector now (the server calls this at start, off the event loop)."""
    detector()


def _main_script(text: str) -> str | None:
    """The writing system most letters of ``text`` belong to, or ``None`` without letters."""
    scripts = Counter(unicodedata.name(ch, " ").split(" ", 1)[0] for ch in text if ch.isalpha())
    return scripts.most_common(1)[0][0] if scripts else None


def rank_languages(
    text: str, detector: LanguageDetector, threshold: float = THRESHOLD
) -> list[str]:
    """``detect_languages`` with a given detector and threshold (for measuring them)."""
    script = _main_script(text)
    if script is None:
        return []
    confidences = detector.compute_language_confidence_values(text)
    found = [_tag(c.language) for c in confidences if c.value >= threshold]
    if found:
        return found
    if script == "LATIN":
        return ["en"]
    if confidences and confidences[0].value > 0:
        return [_tag(confidences[0].language)]
    return ["und"]  # letters of a script none of LANGUAGES is written in


def detect_languages(text: str) -> list[str]:
    """Likely languages of ``text`` (ISO 639-1), most likely first; empty when it cannot be
    told (no letters)."""
    return rank_languages(text, detector())


def _tag(language: Language) -> str:
    code: IsoCode639_1 = language.iso_code_639_1
    return code.name.lower()
