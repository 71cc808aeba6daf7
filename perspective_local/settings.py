"""``Settings``: the one typed configuration object, built from defaults, a TOML file,
``PERSPECTIVE_LOCAL_*`` environment variables and command-line flags, in that order of
precedence (a flag beats the environment, which beats the file).

This is the only module that reads the environment for configuration. Everything else
receives a ``Settings`` (or the values it needs) explicitly.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "PERSPECTIVE_LOCAL_"
#: Keys renamed so that they carry their units: still read, with a warning naming the new key.
RENAMED = {
    "batch_size": "forward_batch_windows",
    "max_batch_size": "max_batch_texts",
    "max_queue": "max_admitted_texts",
}
#: Environment variable naming the TOML settings file.
CONFIG_ENV = ENV_PREFIX + "CONFIG"
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")
#: Backend kinds: encoder + heads on torch, its ONNX export, Detoxify checkpoints.
BACKEND_KINDS = ("heads", "onnx", "detoxify")
#: The default ``backends`` value, listed alone: ``onnx`` (the fp32 graph, exported into the
#: cache on first use) when ONNX Runtime is installed and the device is the CPU, else
#: ``heads``. Resolved when the model loads (``models.routing.resolve_backends``).
AUTO_BACKEND = "auto"
ONNX_PRECISIONS = ("fp32", "int8")


class SettingsError(ValueError):
    """A setting with a value that cannot work; the message names the setting and source."""


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perspective-local"


@dataclass(frozen=True)
class Settings:
    """Validated, immutable settings shared by the command line and the server."""

    #: Model artifact directory; ``None`` means the model that ships with the package.
    model_dir: Path | None = None
    #: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
    device: str = "auto"
    #: Token windows per forward pass; ``None``: 32 on a CPU, sized from free memory on a GPU.
    forward_batch_windows: int | None = None
    #: Labelled corpora for training (the folder holding c3/, davidson/, ...).
    data_dir: Path = Path("../shared/data")
    #: Embedding cache and downloaded weights.
    cache_dir: Path = dataclasses.field(default_factory=_default_cache_dir)
    log_level: str = "WARNING"
    log_format: str = "text"

    # Backends (``models/routing.py``).
    #: Backends to load, in priority order: an attribute no route names goes to the first
    #: that serves it. Env/flag: comma-separated. ``auto`` (alone, the default): ``onnx``
    #: with ONNX Runtime installed on a CPU, else ``heads``; ``heads`` keeps torch.
    backends: tuple[str, ...] = (AUTO_BACKEND,)
    #: attribute -> backend overrides, e.g. {TOXICITY = "detoxify"}. Env/flag:
    #: ``TOXICITY=detoxify,INSULT=detoxify``.
    routes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: ONNX export to serve with the ``onnx`` backend, as it is; ``None``: the cache's export
    #: of ``model_dir`` (``CACHE_DIR/onnx/NAME-KEY``), made on first use and kept current.
    onnx_dir: Path | None = None
    #: ``fp32`` or ``int8`` (the dynamically quantised graph, for CPUs).
    onnx_precision: str = "fp32"
    #: Detoxify release pulled into the cache (e.g. ``detoxify-unbiased``) or a directory.
    detoxify_model: str = "detoxify-unbiased"
    #: Base URL of a mirror laid out as ``MIRROR/host/path``, for ``models pull`` and
    #: ``prism download``.
    download_mirror: str | None = None

    # The server (``perspective-local serve``).
    #: Interface both transports bind to; loopback unless you mean to expose the server.
    host: str = "127.0.0.1"
    #: gRPC port; 0 picks a free port.
    grpc_port: int = 50051
    #: REST/JSON port; 0 picks a free port.
    http_port: int = 8080
    #: Most padded tokens (windows times the longest window) in one model batch; the backend
    #: scores a batch in length-sorted forward passes of ``forward_batch_windows`` windows.
    #: A single request larger than this runs alone.
    max_batch_tokens: int = 8192
    #: Most texts in one model batch as well; ``None``: only the token budget bounds it.
    max_batch_texts: int | None = None
    #: How long an idle model waits for a batch to fill; 0: it takes what is queued at once
    #: (a busy model's next batch fills while it runs either way).
    max_wait_ms: float = 0.0
    #: Most texts admitted (queued or being scored) at once; beyond it requests get 429.
    max_admitted_texts: int = 1024
    #: Largest comment accepted, in UTF-8 bytes (Perspective's limit is 20 KB).
    max_comment_bytes: int = 20480
    #: Accepted API keys; empty means keys are not checked. Env/flag: comma-separated.
    api_keys: tuple[str, ...] = ()
    #: Serve the playground page at ``/`` on the HTTP port.
    ui: bool = True

    def __post_init__(self) -> None:
        if not _DEVICE.match(self.device):
            raise SettingsError(f"device: {self.device!r} is not auto, cpu, cuda or cuda:N")
        if self.forward_batch_windows is not None and self.forward_batch_windows < 1:
            raise SettingsError(
                f"forward_batch_windows: must be at least 1, not {self.forward_batch_windows}"
            )
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log_level: {self.log_level!r} is not one of {LOG_LEVELS}")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"log_format: {self.log_format!r} is not one of {LOG_FORMATS}")
        auto = self.backends == (AUTO_BACKEND,)
        if AUTO_BACKEND in self.backends and not auto:
            raise SettingsError(
                f"backends: {list(self.backends)}: {AUTO_BACKEND!r} picks one backend and is "
                "listed alone; name the kinds instead, e.g. ['onnx', 'detoxify']"
            )
        unknown = [b for b in self.backends if b not in BACKEND_KINDS and not auto]
        if unknown or not self.backends or len(set(self.backends)) != len(self.backends):
            raise SettingsError(
                f"backends: {list(self.backends)} must name distinct kinds from {BACKEND_KINDS}, "
                f"or be [{AUTO_BACKEND!r}]"
            )
        stray = {a: b for a, b in self.routes.items() if b not in self.backends or auto}
        if stray:
            hint = f"; {AUTO_BACKEND!r} loads one backend" if auto else ""
            raise SettingsError(
                f"routes: {stray} name backends that are not loaded; add them to backends "
                f"(now {list(self.backends)}{hint})"
            )
        if self.onnx_precision not in ONNX_PRECISIONS:
            raise SettingsError(
                f"onnx_precision: {self.onnx_precision!r} is not one of {ONNX_PRECISIONS}"
            )
        if not self.host:
            raise SettingsError("host: must not be empty")
        for name in ("grpc_port", "http_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise SettingsError(f"{name}: {getattr(self, name)} is not a port (0-65535)")
        for name in ("max_batch_tokens", "max_batch_texts", "max_admitted_texts",
                     "max_comment_bytes"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SettingsError(f"{name}: must be at least 1, not {value}")
        if self.max_wait_ms < 0:
            raise SettingsError(f"max_wait_ms: must not be negative, not {self.max_wait_ms}")
        if self.max_batch_texts is not None and self.max_admitted_texts < self.max_batch_texts:
            # A queue smaller than one batch could never fill a batch: refuse at startup.
            raise SettingsError(
                f"max_admitted_texts ({self.max_admitted_texts}) must be at least max_batch_texts "
                f"({self.max_batch_texts})"
            )

    @classmethod
    def load(
        cls,
        *,
        config_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        **flags: Any,
    ) -> Settings:
        """Merge file, environment and flags (flags equal to ``None`` are "not given")."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
        if path is not None:
            values.update(_read_file(path))
        for old, new in RENAMED.items():
            raw = environ.get(ENV_PREFIX + old.upper())
            if raw and not environ.get(ENV_PREFIX + new.upper()):
                _warn_renamed(
                    f"environment {ENV_PREFIX}{old.upper()}", f"{ENV_PREFIX}{new.upper()}"
                )
                values[new] = _convert(new, raw, f"environment {ENV_PREFIX}{old.upper()}")
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, f"environment {ENV_PREFIX}{f.name.upper()}")
        unknown = set(flags) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"Unknown settings: {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**{k: _convert(k, v, "flag") for k, v in values.items()})

    def as_dict(self) -> dict[str, Any]:
        """Plain values for printing; API keys are masked."""
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif f.name == "api_keys":
                value = [key[:2] + "***" for key in value]
            elif f.name == "routes":
                value = dict(value)
            elif f.name == "backends":
                value = list(value)
            values[f.name] = value
        return values


def _warn_renamed(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new} instead.", FutureWarning, stacklevel=4)


def _renamed(values: dict[str, Any], source: str) -> dict[str, Any]:
    """``values`` with renamed keys under their new names (the new name wins when both are
    given), warning once for each old key."""
    out = dict(values)
    for old, new in RENAMED.items():
        if old in out:
            _warn_renamed(f"{old} in {source}", new)
            value = out.pop(old)
            out.setdefault(new, value)
    return out


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"Settings file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Settings file {path} is not valid TOML: {exc}") from exc
    # Accept a bare file or one with a [perspective_local] table (pyproject-style).
    table = _renamed(data.get("perspective_local", data), f"settings file {path}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise SettingsError(
            f"Settings file {path}: unknown keys {', '.join(unknown)}; "
            f"known keys: {', '.join(sorted(known))}."
        )
    return {k: _convert(k, v, f"file {path}") for k, v in table.items()}


_INTS = (
    "forward_batch_windows",
    "grpc_port",
    "http_port",
    "max_batch_tokens",
    "max_batch_texts",
    "max_admitted_texts",
    "max_comment_bytes",
)


def _convert(name: str, value: Any, source: str) -> Any:
    if name in ("model_dir", "data_dir", "cache_dir", "onnx_dir"):
        return Path(value).expanduser() if value is not None else None
    if name in _INTS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} ({source}): {value!r} is not an integer") from None
    if name == "max_wait_ms":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} ({source}): {value!r} is not a number") from None
    if name == "ui":
        return _boolean(name, value, source)
    if name == "api_keys":
        keys = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(key).strip() for key in keys if str(key).strip())
    if name == "backends":
        kinds = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(kind).strip().lower() for kind in kinds if str(kind).strip())
    if name == "routes":
        return _routes(value, source)
    if name == "download_mirror":
        return str(value) if value else None
    if name == "log_level":
        return str(value).upper()
    return str(value)


def _boolean(name: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} ({source}): {value!r} is not true or false")


def _routes(value: Any, source: str) -> dict[str, str]:
    """``{"TOXICITY": "detoxify"}`` from a table, or from ``TOXICITY=detoxify,...``."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            attribute, sep, backend = item.partition("=")
            if not sep:
                raise SettingsError(
                    f"routes ({source}): {item!r} is not ATTRIBUTE=BACKEND, e.g. TOXICITY=detoxify"
                )
            pairs.append((attribute, backend))
    else:
        raise SettingsError(f"routes ({source}): expected a table or ATTRIBUTE=BACKEND list")
    return {str(a).strip().upper(): str(b).strip().lower() for a, b in pairs}
