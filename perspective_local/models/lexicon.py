"""Lexicon features: how many profanities of each severity and kind a token window holds.

PROFANITY and SEVERE_TOXICITY are largely lexical (Perspective's PROFANITY is "swear words,
curse words, or other obscene or profane language"), and a mean-pooled sentence embedding
dilutes a single slur in a long window. So an artifact may carry a lexicon (``lexicon.json``,
built at training time from the Surge AI profanity list) whose counts join the embedding as
extra head inputs.

Matching works on the encoder's own token ids, so every backend computes exactly the same
features from the windows it already has: each term is tokenised once with the artifact's
tokenizer, and a term matches where its token sequence starts a word and ends one (the
tokens before and after are not ``##`` continuations of a WordPiece word), so ``ass`` does
not match inside ``assassin``. At each position the longest matching term counts. The
features are ``log1p`` of the counts, so the first occurrence weighs most.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

LEXICON_FILE = "lexicon.json"


class LexiconError(ValueError):
    """A lexicon file that is malformed or does not fit the tokenizer."""


@dataclass(frozen=True)
class Term:
    """One lexicon entry and the features (by index) it counts towards."""

    text: str
    features: tuple[int, ...]


@dataclass(frozen=True)
class LexiconSpec:
    """What a manifest records about its lexicon."""

    file: str
    sha256: str
    features: tuple[str, ...]
    source: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LexiconSpec:
        return cls(
            file=str(data["file"]),
            sha256=str(data["sha256"]),
            features=tuple(data["features"]),
            source=str(data["source"]),
        )


@dataclass(frozen=True)
class LexiconData:
    """The content of ``lexicon.json``: feature names, terms, and where they came from."""

    features: tuple[str, ...]
    terms: tuple[Term, ...]
    source: str
    licence: str

    def write(self, directory: Path) -> Path:
        """Write ``lexicon.json`` into ``directory``; return its path."""
        path = directory / LEXICON_FILE
        body = {
            "source": self.source,
            "licence": self.licence,
            "features": list(self.features),
            "terms": [[t.text, list(t.features)] for t in self.terms],
        }
        path.write_text(json.dumps(body, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> LexiconData:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            features = tuple(str(f) for f in body["features"])
            terms = tuple(
                Term(str(text), tuple(int(i) for i in indices)) for text, indices in body["terms"]
            )
            source, licence = str(body["source"]), str(body["licence"])
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise LexiconError(f"Malformed {path}: {exc!r}") from exc
        bad = [t.text for t in terms if any(not 0 <= i < len(features) for i in t.features)]
        if bad:
            raise LexiconError(f"{path}: term {bad[0]!r} names a feature that does not exist.")
        return cls(features, terms, source, licence)


class Lexicon:
    """Terms compiled to token-id sequences of one tokenizer; ``features`` counts them."""

    def __init__(self, data: LexiconData, tokenizer: Tokenizer) -> None:
        if type(tokenizer.model).__name__ != "WordPiece":
            raise LexiconError(
                "Lexicon features need a WordPiece tokenizer (word continuations marked '##'); "
                f"this one is {type(tokenizer.model).__name__}."
            )
        self.data = data
        #: Token ids that continue a word rather than start one.
        self.continues = frozenset(
            index for token, index in tokenizer.get_vocab().items() if token.startswith("##")
        )
        #: First token id -> [(token ids, feature indices)], longest sequence first.
        self.by_first: dict[int, list[tuple[tuple[int, ...], tuple[int, ...]]]] = {}
        for term in data.terms:
            ids = tuple(tokenizer.encode(term.text, add_special_tokens=False).ids)
            if ids and term.features:
                self.by_first.setdefault(ids[0], []).append((ids, term.features))
        for candidates in self.by_first.values():
            candidates.sort(key=lambda c: -len(c[0]))

    @property
    def width(self) -> int:
        return len(self.data.features)

    def counts(self, ids: Sequence[int]) -> np.ndarray:
        """Matches per feature in one window's token ids (special tokens included: they
        start no term)."""
        counts = np.zeros(self.width, dtype=np.float32)
        n = len(ids)
        i = 0
        while i < n:
            step = 1
            candidates = self.by_first.get(ids[i])
            if candidates and ids[i] not in self.continues:
                for sequence, features in candidates:
                    end = i + len(sequence)
                    if tuple(ids[i:end]) == sequence and (
                        end == n or ids[end] not in self.continues
                    ):
                        for feature in features:
                            counts[feature] += 1.0
                        step = len(sequence)
                        break
            i += step
        return counts

    def features(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``log1p`` match counts, ``(windows, width)`` float32, for a padded batch."""
        lengths = mask.sum(axis=1)
        rows = [self.counts(ids[row, : int(lengths[row])].tolist()) for row in range(len(ids))]
        out: np.ndarray = np.log1p(np.stack(rows)) if rows else np.zeros((0, self.width))
        return out.astype(np.float32)
