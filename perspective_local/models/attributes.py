"""The attribute registry: the one list of Perspective attributes this project knows.

Everything that names an attribute (heads, artifacts, the command line, the service, the
docs and the tests) derives it from ``ATTRIBUTES``. This module is pure Python and imports
nothing heavy, so reading the registry costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Group = Literal["production", "experimental", "bridging"]

#: The backend that runs the shared encoder and one linear head per attribute.
HEADS_BACKEND = "heads"
#: Detoxify checkpoints (``models pull``).
DETOXIFY_BACKEND = "detoxify"

#: Languages the Perspective API lists for its production attributes. Kept for reference
#: (docs, comparison); what *we* serve is ``Attribute.languages``.
PERSPECTIVE_PRODUCTION_LANGUAGES: tuple[str, ...] = (
    "ar", "zh", "cs", "nl", "en", "fr", "de", "hi", "hi-Latn",
    "id", "it", "ja", "ko", "pl", "pt", "ru", "es", "sv",
)  # fmt: skip


@dataclass(frozen=True)
class Attribute:
    """One scorable attribute, named exactly as the Perspective API spells it."""

    name: str
    definition: str
    group: Group
    #: Languages this project's models serve for the attribute (BCP-47).
    languages: tuple[str, ...]
    #: Languages Perspective itself served for the attribute.
    perspective_languages: tuple[str, ...]
    #: The backend that serves the attribute by default.
    backend: str = HEADS_BACKEND
    #: Whether per-sentence span scores are meaningful for the attribute.
    supports_spans: bool = True


def _production(name: str, definition: str) -> Attribute:
    # The encoder (all-MiniLM-L6-v2) is English-only, so we serve English whatever
    # Perspective offered; other languages arrive with multilingual backends.
    return Attribute(name, definition, "production", ("en",), PERSPECTIVE_PRODUCTION_LANGUAGES)


def _bridging(name: str, definition: str) -> Attribute:
    return Attribute(name, definition, "bridging", ("en",), ("en",))


_ALL: tuple[Attribute, ...] = (
    _production(
        "TOXICITY",
        "A rude, disrespectful or unreasonable comment that is likely to make people "
        "leave a discussion.",
    ),
    _production(
        "SEVERE_TOXICITY",
        "A very hateful, aggressive or disrespectful comment, very likely to make people "
        "leave a discussion; far less sensitive to mild toxicity such as friendly swearing.",
    ),
    _production(
        "IDENTITY_ATTACK",
        "Negative or hateful language aimed at someone because of their identity.",
    ),
    _production(
        "INSULT",
        "An insulting, inflammatory or negative remark about a person or a group of people.",
    ),
    _production(
        "PROFANITY",
        "Swear words, curse words or other obscene or profane language.",
    ),
    _production(
        "THREAT",
        "States an intention to inflict pain, injury or violence on a person or group.",
    ),
    # Experimental in Perspective. The default heads distil Perspective's own 2020 (web
    # text) and 2024 (Bluesky) scores; Detoxify's ``unbiased`` and ``multilingual``
    # checkpoints (output ``sexual_explicit``) serve SEXUALLY_EXPLICIT too.
    Attribute(
        "SEXUALLY_EXPLICIT",
        "References to sexual acts, body parts or other lewd content.",
        "experimental",
        ("en",),
        ("en",),
    ),
    Attribute(
        "FLIRTATION",
        "Pickup lines, complimenting appearance, subtle sexual innuendos, etc.",
        "experimental",
        ("en",),
        ("en",),
    ),
    _bridging(
        "AFFINITY_EXPERIMENTAL",
        "Points to shared interests, motivations or outlooks between the author and "
        "another person, group or entity.",
    ),
    _bridging(
        "COMPASSION_EXPERIMENTAL",
        "Identifies with, or shows concern, empathy or support for, the feelings of others.",
    ),
    _bridging(
        "CURIOSITY_EXPERIMENTAL",
        "Tries to clarify, or asks follow-up questions, to better understand another "
        "person or idea.",
    ),
    _bridging(
        "NUANCE_EXPERIMENTAL",
        "Brings in several points of view to give a fuller picture, or adds useful detail "
        "or context.",
    ),
    _bridging(
        "PERSONAL_STORY_EXPERIMENTAL",
        "Uses a personal experience or story as support for what the comment says.",
    ),
    _bridging(
        "REASONING_EXPERIMENTAL",
        "Makes specific, well-reasoned points that deepen understanding of the topic, "
        "without disrespect or provocation.",
    ),
    _bridging(
        "RESPECT_EXPERIMENTAL",
        "Shows deference or appreciation to others, or acknowledges that another "
        "person's view is valid.",
    ),
)

#: Every attribute by name, in head order. Read-only.
ATTRIBUTES: Mapping[str, Attribute] = MappingProxyType({a.name: a for a in _ALL})

#: Attribute names in head order.
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(ATTRIBUTES)

#: The attributes the encoder-plus-heads model is trained for.
HEADS_ATTRIBUTES: tuple[str, ...] = tuple(
    a.name for a in ATTRIBUTES.values() if a.backend == HEADS_BACKEND
)


class UnknownAttributeError(ValueError):
    """An attribute name that the registry does not know."""

    def __init__(self, name: str) -> None:
        self.name = name
        valid = ", ".join(ATTRIBUTE_NAMES)
        super().__init__(f"Unknown attribute {name!r}. Valid attributes: {valid}.")


def get_attribute(name: str) -> Attribute:
    """Return the attribute called ``name`` (exact Perspective spelling)."""
    try:
        return ATTRIBUTES[name]
    except KeyError:
        raise UnknownAttributeError(name) from None


def resolve_attributes(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """Turn a user's attribute selection into registry names, in head order.

    ``None`` means every attribute; a string is a comma-separated list. Names are
    matched case-insensitively; duplicates are dropped; an unknown name raises
    ``UnknownAttributeError`` listing the valid ones.
    """
    if names is None:
        return ATTRIBUTE_NAMES
    if isinstance(names, str):
        names = names.split(",")
    wanted = {get_attribute(name.strip().upper()).name for name in names if name.strip()}
    if not wanted:
        raise ValueError(
            f"No attributes requested. Valid attributes: {', '.join(ATTRIBUTE_NAMES)}."
        )
    return tuple(name for name in ATTRIBUTE_NAMES if name in wanted)
