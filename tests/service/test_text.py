"""Sentence spans (UTF-16 offsets) and the language detector."""

from __future__ import annotations

import pytest

from perspective_local.service.languages import detect_languages
from perspective_local.service.spans import sentences, utf16_length


def test_spans_skip_separating_whitespace_like_perspectives_example() -> None:
    text = "What kind of idiot name is foo? Sorry, I like your name."
    assert [(s.begin, s.end) for s in sentences(text)] == [(0, 31), (32, 56)]


def test_offsets_count_utf16_code_units() -> None:
    text = "🎉🎉 Party. Next one\nand a line"
    spans = sentences(text)
    assert [s.text for s in spans] == ["🎉🎉 Party.", "Next one", "and a line"]
    assert spans[0].end == 11 and spans[1].begin == 12
    assert spans[-1].end == utf16_length(text) == len(text) + 2


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("You are an idiot", "en"),
        ("yo hamburger", "en"),  # one Spanish function word is no evidence
        ("Du bist ein Idiot und das ist nicht gut", "de"),
        ("Je pense que vous avez raison", "fr"),
        ("Привет, как дела?", "ru"),
        ("こんにちは世界", "ja"),
    ],
)
def test_detection(text: str, first: str) -> None:
    assert detect_languages(text)[0] == first


def test_no_letters_cannot_be_detected() -> None:
    assert detect_languages("12345 !!! 😀") == []


def test_a_plain_english_insult_is_only_english() -> None:
    # The old function-word detector counted "a" and "and" as Portuguese and Czech.
    assert detect_languages("You are a stupid idiot and a liar") == ["en"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Muchas gracias por la información, me ha sido muy útil", "es"),
        ("Ich stimme dir nicht zu, das ist völliger Unsinn", "de"),
        ("Merci beaucoup pour cet article, il est très intéressant", "fr"),
    ],
)
def test_clear_sentences_detect_their_language(text: str, language: str) -> None:
    assert detect_languages(text) == [language]


def test_short_latin_text_without_evidence_is_english() -> None:
    for text in ("lol ok", "idk man", "omg yes", "haha"):
        assert detect_languages(text) == ["en"], text
