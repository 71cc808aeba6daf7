"""The study's vocabulary: predictor names, their Perspective sources, moderators, subsets.

Every other analysis module names terms through these constants, so the paper's spelling
(``REASONING_NUANCE``, ``TOXICITY_human``, ``youngerTRUE:TOXICITY``) lives in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: The seven predictors of every analysis, in the paper's table order.
PREDICTORS: tuple[str, ...] = (
    "TOXICITY",
    "AFFINITY",
    "COMPASSION",
    "CURIOSITY",
    "REASONING_NUANCE",
    "PERSONAL_STORY",
    "RESPECT",
)

#: Study name -> Perspective attribute(s); a two-name source is multiplied, as in the paper.
PERSPECTIVE_SOURCES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "TOXICITY": ("TOXICITY",),
        "AFFINITY": ("AFFINITY_EXPERIMENTAL",),
        "COMPASSION": ("COMPASSION_EXPERIMENTAL",),
        "CURIOSITY": ("CURIOSITY_EXPERIMENTAL",),
        "REASONING_NUANCE": ("REASONING_EXPERIMENTAL", "NUANCE_EXPERIMENTAL"),
        "PERSONAL_STORY": ("PERSONAL_STORY_EXPERIMENTAL",),
        "RESPECT": ("RESPECT_EXPERIMENTAL",),
    }
)

#: Every Perspective attribute the study needs from a scores file.
REQUIRED_PERSPECTIVE: tuple[str, ...] = tuple(
    dict.fromkeys(name for names in PERSPECTIVE_SOURCES.values() for name in names)
)

#: Suffix the paper gives attributes of the user's opening prompt.
HUMAN_SUFFIX = "_human"

#: User-level moderators of analysis 2 (logical; terms read ``youngerTRUE:...``).
MODERATORS: tuple[str, ...] = ("younger", "male", "white", "high_values")

#: PRISM ``conversation_type`` values and the short subset names used in tables.
CONVERSATION_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "unguided": "unguided",
        "values guided": "values",
        "controversy guided": "controversy",
    }
)

#: Subsets each analysis can be fitted on, in the paper's order.
SUBSETS: tuple[str, ...] = ("all", "unguided", "values", "controversy")


def human(term: str) -> str:
    """The name of ``term`` measured on the user's opening prompt."""
    return term + HUMAN_SUFFIX


def moderated(moderator: str, term: str) -> str:
    """The paper's name for a moderator x predictor interaction."""
    return f"{moderator}TRUE:{term}"


def mirrored(dv: str, predictor: str) -> str:
    """The coefficient name of ``predictor`` in the mirroring model of ``dv``."""
    return f"{dv} ~ {predictor}"
