"""Model artifacts on disk: a directory with ``manifest.json`` and ``heads.safetensors``.

The manifest describes the artifact completely (name, version, encoder, attribute order,
training data with licences, held-out metrics, package versions), so a score can always be
traced back to the model that produced it. Loading refuses an artifact whose attributes
the registry does not know.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from perspective_local.models.attributes import ATTRIBUTE_NAMES, ATTRIBUTES
from perspective_local.models.lexicon import (
    LEXICON_FILE,
    Lexicon,
    LexiconData,
    LexiconError,
    LexiconSpec,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MANIFEST_FILE = "manifest.json"
HEADS_FILE = "heads.safetensors"
ADAPTERS_FILE = "adapters.safetensors"
#: The artifact that ships inside the package and serves by default.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"


class ArtifactError(ValueError):
    """A model directory that is missing files or disagrees with the registry."""


@dataclass(frozen=True)
class AdapterSpec:
    """LoRA adapters trained on top of the encoder (``training/lora.py``), as the manifest
    records them: the update of each linear layer is ``(alpha / rank) * B @ A``."""

    rank: int
    alpha: float
    file: str = ADAPTERS_FILE
    sha256: str = ""
    method: str = "lora"


@dataclass(frozen=True)
class TrainedAdapters:
    """What fine-tuning hands to ``save_artifact``: the A and B matrices by
    ``"<module>.a"`` / ``"<module>.b"`` name, with their rank and scale numerator."""

    tensors: Mapping[str, Any]
    rank: int
    alpha: float


@dataclass(frozen=True)
class EncoderSpec:
    """Which encoder the heads were trained on, and how it tokenises."""

    id: str
    max_length: int
    window_overlap: int
    dimension: int
    #: ``None`` for the plain pretrained encoder.
    adapters: AdapterSpec | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncoderSpec:
        adapters = data.get("adapters")
        return cls(
            id=str(data["id"]),
            max_length=int(data["max_length"]),
            window_overlap=int(data["window_overlap"]),
            dimension=int(data["dimension"]),
            adapters=AdapterSpec(**adapters) if adapters else None,
        )


@dataclass(frozen=True)
class Manifest:
    """Everything an artifact says about itself."""

    name: str
    version: str
    encoder: EncoderSpec
    attributes: tuple[str, ...]
    #: Per corpus: licence, flags, texts used, attributes labelled.
    training_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per attribute: held-out metrics (ROC-AUC, Spearman, ...), how the split was made.
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: How the artifact was produced: command, date, seed, package versions.
    provenance: dict[str, Any] = field(default_factory=dict)
    heads_sha256: str = ""
    #: Lexicon features appended to the embedding as head inputs (``models.lexicon``);
    #: ``None``: the heads read the embedding alone.
    lexicon: LexiconSpec | None = None

    @property
    def head_inputs(self) -> int:
        """Columns of the head weights: the embedding, then any lexicon features."""
        return self.encoder.dimension + (len(self.lexicon.features) if self.lexicon else 0)

    @property
    def model_version(self) -> str:
        """The string stamped on every score this artifact produces."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        try:
            return cls(
                name=str(data["name"]),
                version=str(data["version"]),
                encoder=EncoderSpec.from_dict(data["encoder"]),
                attributes=tuple(data["attributes"]),
                training_data=dict(data.get("training_data", {})),
                metrics=dict(data.get("metrics", {})),
                provenance=dict(data.get("provenance", {})),
                heads_sha256=str(data.get("heads_sha256", "")),
                lexicon=LexiconSpec.from_dict(data["lexicon"]) if data.get("lexicon") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"Malformed {MANIFEST_FILE}: {exc!r}") from exc


def check_attributes(attributes: tuple[str, ...]) -> None:
    """Refuse attribute lists that the registry does not know or orders differently."""
    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown:
        raise ArtifactError(
            f"Artifact names attributes the registry does not know: {', '.join(unknown)}. "
            f"Known: {', '.join(ATTRIBUTE_NAMES)}."
        )
    if list(attributes) != [a for a in ATTRIBUTE_NAMES if a in attributes]:
        raise ArtifactError(f"Artifact attributes are not in registry order: {attributes}")


def save_artifact(
    directory: Path,
    manifest: Manifest,
    weight: np.ndarray,
    bias: np.ndarray,
    *,
    adapters: TrainedAdapters | None = None,
    lexicon: LexiconData | None = None,
) -> Manifest:
    """Write heads (and any encoder adapters and lexicon) and the manifest to ``directory``.

    Returns the manifest with the files' hashes filled in.
    """
    from safetensors.numpy import save_file

    check_attributes(manifest.attributes)
    directory.mkdir(parents=True, exist_ok=True)
    heads_path = directory / HEADS_FILE
    save_file(
        {"weight": np.ascontiguousarray(weight, dtype=np.float32),
         "bias": np.ascontiguousarray(bias, dtype=np.float32)},
        str(heads_path),
        metadata={"attributes": ",".join(manifest.attributes)},
    )  # fmt: skip
    encoder = manifest.encoder
    adapters_path = directory / ADAPTERS_FILE
    if adapters is not None:
        tensors = {k: np.ascontiguousarray(v.numpy()) for k, v in adapters.tensors.items()}
        save_file(tensors, str(adapters_path))
        spec = AdapterSpec(adapters.rank, adapters.alpha, sha256=_sha256(adapters_path))
        encoder = replace(encoder, adapters=spec)
    elif adapters_path.exists():
        adapters_path.unlink()  # an old run's adapters must not attach to new heads
    lexicon_spec = None
    if lexicon is not None:
        path = lexicon.write(directory)
        lexicon_spec = LexiconSpec(path.name, _sha256(path), lexicon.features, lexicon.source)
    elif (directory / LEXICON_FILE).exists():
        (directory / LEXICON_FILE).unlink()  # like stale adapters: not for these heads
    digest = _sha256(heads_path)
    manifest = replace(manifest, encoder=encoder, heads_sha256=digest, lexicon=lexicon_spec)
    (directory / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_adapters(directory: Path, manifest: Manifest) -> dict[str, Any] | None:
    """The artifact's encoder adapters as torch tensors (``None`` when it has none), checked
    against the hash in the manifest."""
    spec = manifest.encoder.adapters
    if not spec:
        return None
    from safetensors.torch import load_file

    tensors: dict[str, Any] = load_file(str(_checked_file(directory, spec.file, spec.sha256)))
    return tensors


def load_lexicon(directory: Path, manifest: Manifest, tokenizer: Tokenizer) -> Lexicon | None:
    """The artifact's lexicon compiled for ``tokenizer`` (``None`` when it has none), its
    file checked against the manifest."""
    spec = manifest.lexicon
    if spec is None:
        return None
    path = _checked_file(directory, spec.file, spec.sha256)
    try:
        data = LexiconData.read(path)
    except LexiconError as exc:
        raise ArtifactError(str(exc)) from exc
    if data.features != spec.features:
        raise ArtifactError(f"{path} has features {data.features}; the manifest {spec.features}.")
    return Lexicon(data, tokenizer)


def _checked_file(directory: Path, name: str, sha256: str) -> Path:
    """``directory / name``, which must exist and, when the manifest gives a hash, match it."""
    path = Path(directory) / name
    if not path.is_file():
        raise ArtifactError(f"Model directory {directory} has no {name}.")
    if sha256 and _sha256(path) != sha256:
        raise ArtifactError(f"{path} does not match its manifest: the file was changed or damaged.")
    return path


def load_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise ArtifactError(f"Not a model directory: {path} does not exist.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    manifest = Manifest.from_dict(data)
    check_attributes(manifest.attributes)
    return manifest


def load_artifact(directory: Path) -> tuple[Manifest, np.ndarray, np.ndarray]:
    """Read and check an artifact: its manifest, head weights and biases."""
    from safetensors.numpy import load_file

    directory = Path(directory)
    manifest = load_manifest(directory)
    heads_path = directory / HEADS_FILE
    if not heads_path.is_file():
        raise ArtifactError(f"Model directory {directory} has no {HEADS_FILE}.")
    if manifest.heads_sha256:
        digest = hashlib.sha256(heads_path.read_bytes()).hexdigest()
        if digest != manifest.heads_sha256:
            raise ArtifactError(
                f"{heads_path} does not match its manifest (sha256 {digest[:12]}..., "
                f"expected {manifest.heads_sha256[:12]}...): the file was changed or damaged."
            )
    tensors = load_file(str(heads_path))
    weight, bias = tensors["weight"], tensors["bias"]
    if weight.shape != (len(manifest.attributes), manifest.head_inputs):
        raise ArtifactError(
            f"Head weights have shape {weight.shape}, expected "
            f"({len(manifest.attributes)}, {manifest.head_inputs})."
        )
    return manifest, weight, bias
