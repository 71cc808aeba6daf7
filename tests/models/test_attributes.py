from types import MappingProxyType

import pytest

from perspective_local.models.attributes import (
    ATTRIBUTE_NAMES,
    ATTRIBUTES,
    HEADS_ATTRIBUTES,
    UnknownAttributeError,
    get_attribute,
    resolve_attributes,
)

# The API's own spelling, as callers send it; the registry must match it exactly.
PERSPECTIVE_SPELLING = [
    "TOXICITY",
    "SEVERE_TOXICITY",
    "IDENTITY_ATTACK",
    "INSULT",
    "PROFANITY",
    "THREAT",
    "SEXUALLY_EXPLICIT",
    "FLIRTATION",
    "AFFINITY_EXPERIMENTAL",
    "COMPASSION_EXPERIMENTAL",
    "CURIOSITY_EXPERIMENTAL",
    "NUANCE_EXPERIMENTAL",
    "PERSONAL_STORY_EXPERIMENTAL",
    "REASONING_EXPERIMENTAL",
    "RESPECT_EXPERIMENTAL",
]


def test_registry_spells_the_perspective_names_in_head_order() -> None:
    assert list(ATTRIBUTE_NAMES) == PERSPECTIVE_SPELLING
    assert tuple(PERSPECTIVE_SPELLING) == HEADS_ATTRIBUTES  # the default heads serve all


def test_registry_is_read_only() -> None:
    assert isinstance(ATTRIBUTES, MappingProxyType)
    with pytest.raises(TypeError):
        ATTRIBUTES["NEW"] = ATTRIBUTES["TOXICITY"]  # type: ignore[index]


@pytest.mark.parametrize("name", ATTRIBUTE_NAMES)
def test_every_attribute_is_described(name: str) -> None:
    attribute = get_attribute(name)
    assert attribute.definition.endswith(".") and len(attribute.definition) > 30
    assert attribute.languages == ("en",)
    assert attribute.backend == "heads"
    if name in ("SEXUALLY_EXPLICIT", "FLIRTATION"):  # Experimental in Perspective.
        assert attribute.group == "experimental"
        return
    assert attribute.group == ("bridging" if name.endswith("_EXPERIMENTAL") else "production")


def test_unknown_attribute_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownAttributeError) as info:
        get_attribute("TOXICITYY")
    assert "'TOXICITYY'" in str(info.value)
    assert "SEVERE_TOXICITY" in str(info.value)


def test_resolve_accepts_comma_lists_any_case_and_returns_head_order() -> None:
    assert resolve_attributes("threat, toxicity,TOXICITY") == ("TOXICITY", "THREAT")
    assert resolve_attributes(["REASONING_EXPERIMENTAL"]) == ("REASONING_EXPERIMENTAL",)
    assert resolve_attributes(None) == ATTRIBUTE_NAMES


def test_resolve_rejects_empty_and_unknown() -> None:
    with pytest.raises(ValueError, match="No attributes requested"):
        resolve_attributes(" , ")
    with pytest.raises(UnknownAttributeError):
        resolve_attributes("TOXICITY,NOPE")
