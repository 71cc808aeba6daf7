"""The classifiers: a shared transformer encoder feeding light per-attribute heads.

Importing this package is cheap: the registry is pure Python, and ``HeadsBackend`` (which needs
torch) is loaded on first use. ``models`` never imports ``service`` or ``client``.

    from perspective_local.models import HeadsBackend
    HeadsBackend.default().score(["You are great", "You are an idiot"], attributes=["TOXICITY"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perspective_local.models.attributes import (
    ATTRIBUTE_NAMES,
    ATTRIBUTES,
    Attribute,
    UnknownAttributeError,
    get_attribute,
    resolve_attributes,
)
from perspective_local.models.backend import Backend, Scores

if TYPE_CHECKING:
    from perspective_local.models.backends.heads import HeadsBackend

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_NAMES",
    "Attribute",
    "Backend",
    "HeadsBackend",
    "Scores",
    "UnknownAttributeError",
    "get_attribute",
    "resolve_attributes",
]


def __getattr__(name: str) -> Any:
    if name == "HeadsBackend":
        from perspective_local.models.backends.heads import HeadsBackend

        return HeadsBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
