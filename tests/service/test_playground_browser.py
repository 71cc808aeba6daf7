"""The playground in a real Chromium against a real server on loopback: typing, scoring,
comparing, sentence highlighting, every kind of error, API keys, and a phone-width window."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perspective_local.service.spans import sentences
from tests.browser import console_errors, open_browser, requested_urls, screenshot

pytestmark = pytest.mark.browser

WAIT_S = 60
INSULT = "You are a stupid idiot and everyone hates you."
FRIENDLY = "Thank you so much for your kind help, my friend."
EMOJI_TEXT = "I love this song 😀 so much! You are a stupid idiot."


@pytest.fixture
def page(server: Any) -> Iterator[Any]:
    with open_browser() as driver:
        driver.get(server.url + "/")
        wait_for_attributes(driver)
        yield driver


def wait_for_attributes(driver: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element("id", "attributes-status").text.endswith(" attributes.")
    )


def by_id(driver: Any, element_id: str) -> Any:
    return driver.find_element("id", element_id)


def text_areas(driver: Any) -> list[Any]:
    return list(driver.find_elements("css selector", "#texts textarea"))


def set_text(driver: Any, area: Any, text: str) -> None:
    """Type ``text`` like a person would (send_keys cannot type an emoji into Chromium,
    so those go in through the input event the page listens to)."""
    area.clear()
    if text.isascii() and len(text) < 200:
        area.send_keys(text)
    else:
        driver.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            area,
            text,
        )


def choose(driver: Any, *attributes: str) -> None:
    for box in driver.find_elements("css selector", 'input[name="attribute"]'):
        if box.is_selected() != (box.get_attribute("value") in attributes):
            box.click()


def score(driver: Any, expected_cards: int) -> list[Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    previous = driver.find_elements("css selector", "#results .result")
    by_id(driver, "score").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: (
            not d.find_element("id", "score").get_attribute("disabled")
            and d.find_elements("css selector", "#results .result") != previous
        )
    )
    cards = list(driver.find_elements("css selector", "#results .result"))
    assert len(cards) == expected_cards
    return cards


def bar_value(card: Any, attribute: str) -> float:
    row = card.find_element("css selector", f'.bar-row[data-attribute="{attribute}"]')
    meter = row.find_element("css selector", '[role="meter"]')
    value = float(row.find_element("css selector", ".bar-value").text)
    assert float(meter.get_attribute("aria-valuenow")) == pytest.approx(value, abs=1e-3)
    return value


def card_error(card: Any) -> str:
    return str(card.find_element("css selector", ".error").text)


def save(driver: Any, path: Path, name: str) -> None:
    screenshot(driver, path / name)
    assert (path / name).stat().st_size > 10_000
    # `PERSPECTIVE_LOCAL_SCREENSHOTS=docs/screenshots pytest ...` refreshes the README's.
    target = os.environ.get("PERSPECTIVE_LOCAL_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path / name, Path(target) / name)


def test_scores_compares_and_highlights_sentences(page: Any, server: Any, tmp_path: Path) -> None:
    groups = [h.text for h in page.find_elements("css selector", ".group h3")]
    assert groups == ["Production", "Bridging", "Other"]
    listed = [b.get_attribute("value") for b in page.find_elements("name", "attribute")]
    served = server.running.analyzer.model.attributes
    assert sorted(listed) == sorted(served)
    version = server.running.analyzer.model_version
    assert by_id(page, "model-version").text == version
    assert not by_id(page, "key-field").is_displayed()  # this server takes no keys

    # Two texts side by side, each sentence scored.
    choose(page, "TOXICITY", "INSULT", "COMPASSION_EXPERIMENTAL")
    set_text(page, text_areas(page)[0], INSULT)
    by_id(page, "add-text").click()
    set_text(page, text_areas(page)[1], EMOJI_TEXT)
    by_id(page, "add-text").click()
    set_text(page, text_areas(page)[2], FRIENDLY)
    by_id(page, "spans").click()
    insult, mixed, friendly = score(page, 3)
    assert bar_value(insult, "TOXICITY") > bar_value(friendly, "TOXICITY") + 0.4
    assert bar_value(insult, "INSULT") > bar_value(friendly, "INSULT") + 0.4
    assert bar_value(friendly, "COMPASSION_EXPERIMENTAL") > bar_value(
        insult, "COMPASSION_EXPERIMENTAL"
    )
    for card in (insult, mixed, friendly):
        meta = card.find_element("css selector", ".meta").text
        assert f"model {version}" in meta
        assert "server " in meta and "queue " in meta and "round trip " in meta

    # Sentence shading: the marks are exactly the server's sentences, emoji included (an
    # offset counted in code points instead of UTF-16 units would shift the second one).
    marks = mixed.find_elements("css selector", ".spans mark")
    assert [m.text for m in marks] == [s.text for s in sentences(EMOJI_TEXT)]
    assert len(marks) == 2
    first, second = (float(m.get_attribute("data-score")) for m in marks)
    assert second > first + 0.3
    assert mixed.find_element("css selector", ".spans").text == EMOJI_TEXT
    save(page, tmp_path, "playground.png")

    # Keyboard: Ctrl+Enter in a text box scores.
    from selenium.webdriver.common.keys import Keys

    for _ in page.find_elements("css selector", ".text-panel button"):
        page.find_element("css selector", ".text-panel button").click()
    assert len(text_areas(page)) == 1
    set_text(page, text_areas(page)[0], FRIENDLY)
    text_areas(page)[0].send_keys(Keys.CONTROL, Keys.ENTER)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(page, WAIT_S).until(
        lambda d: (
            FRIENDLY in d.find_element("id", "results").text
            and len(d.find_elements("css selector", "#results .result")) == 1
        )
    )

    assert console_errors(page) == []
    origin = server.url
    for url in requested_urls(page):
        assert url.startswith(origin + "/") or url.startswith("data:"), url


def test_every_error_the_api_returns_is_shown(page: Any, server: Any) -> None:
    area = text_areas(page)[0]
    choose(page, "TOXICITY")

    set_text(page, area, "")
    (card,) = score(page, 1)
    empty = "Comment must be non-empty. (HTTP 400, INVALID_ARGUMENT, COMMENT_EMPTY)"
    assert card_error(card) == empty

    limit = server.running.analyzer.limits.max_comment_bytes
    set_text(page, area, "a" * (limit + 1))
    counter = by_id(page, area.get_attribute("id") + "-counter")
    assert "over" in counter.get_attribute("class").split()
    assert counter.text == f"{limit + 1:,} / {limit:,} bytes"
    (card,) = score(page, 1)
    too_long = "Comment text too long. (HTTP 400, INVALID_ARGUMENT, COMMENT_TOO_LONG)"
    assert card_error(card) == too_long

    set_text(page, area, "Bonjour à tous, merci pour votre aide.")
    by_id(page, "languages").send_keys("fr")
    (card,) = score(page, 1)
    assert card_error(card).startswith("Attribute TOXICITY does not support request languages: fr")
    assert "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE" in card_error(card)
    by_id(page, "languages").clear()

    choose(page)  # nothing ticked
    (card,) = score(page, 1)
    assert card_error(card).startswith("Missing requested_attributes")

    # A page left open while the server goes away: a message, not a stack.
    page.execute_script("window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));")
    (card,) = score(page, 1)
    assert card_error(card) == "Could not reach the server (Failed to fetch)."

    # The refused requests are logged by the browser as failed loads; nothing else is.
    errors = console_errors(page)
    assert errors and all("the server responded with a status of 400" in e for e in errors)


def test_overload_is_shown_with_the_servers_message(page: Any, server: Any) -> None:
    batcher = server.running.analyzer.batcher
    saved = batcher.max_admitted_texts
    batcher.max_admitted_texts = 0  # every request is now over the queue's bound
    try:
        choose(page, "TOXICITY")
        set_text(page, text_areas(page)[0], FRIENDLY)
        (card,) = score(page, 1)
    finally:
        batcher.max_admitted_texts = saved
    message = card_error(card)
    assert message.startswith("1 texts cannot be admitted at once") or message.startswith(
        "The server is overloaded"
    )
    assert "HTTP 429, RESOURCE_EXHAUSTED" in message


def test_a_keyed_server_takes_the_key_from_the_page_only(keyed_server: Any) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    with open_browser() as driver:
        driver.get(keyed_server.url + "/")
        key = by_id(driver, "api-key")
        assert key.is_displayed() and key.get_attribute("type") == "password"
        WebDriverWait(driver, WAIT_S).until(
            lambda d: "missing a valid API key" in d.find_element("id", "attributes-status").text
        )
        key.send_keys("k-good", Keys.TAB)
        wait_for_attributes(driver)
        choose(driver, "TOXICITY")
        set_text(driver, text_areas(driver)[0], INSULT)
        (card,) = score(driver, 1)
        assert bar_value(card, "TOXICITY") > 0.5
        stored = driver.execute_script(
            "return [localStorage.length, sessionStorage.length, document.cookie]"
        )
        assert stored == [0, 0, ""]
        key.clear()
        key.send_keys("k-bad")
        (card,) = score(driver, 1)
        assert card_error(card).startswith("API key not valid. Please pass a valid API key.")


def test_phone_width_and_labels(server: Any) -> None:
    with open_browser(width=390, height=844) as driver:
        driver.get(server.url + "/")
        wait_for_attributes(driver)
        set_text(driver, text_areas(driver)[0], INSULT)
        score(driver, 1)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        unlabelled = driver.execute_script(
            "return [...document.querySelectorAll('input, textarea, select')]"
            ".filter(e => e.labels.length === 0).map(e => e.id)"
        )
        assert unlabelled == []
        assert console_errors(driver) == []
