"""Every command-line option that more than one command takes, and the choices (enums) that
options offer, declared once.

Each option is an ``Annotated`` type, so a command declares ``device: DeviceOption = None``
and every command spells the flag, its help and its environment variable the same way.
Options whose values are a fixed set are ``enum.Enum`` types: typer lists the choices in the
help and rejects anything else with a usage error (exit code 2).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer


class RecordFormat(enum.StrEnum):
    """Formats ``score`` reads and writes."""

    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


class LogLevel(enum.StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(enum.StrEnum):
    text = "text"
    json = "json"


class OnnxPrecision(enum.StrEnum):
    """Which exported graph the ``onnx`` backend serves."""

    fp32 = "fp32"
    int8 = "int8"


class SourceWeighting(enum.StrEnum):
    """How ``train`` weighs the corpora by size."""

    none = "none"
    sqrt = "sqrt"
    equal = "equal"


class Refit(enum.StrEnum):
    """What ``train --finetune`` refits the heads on."""

    all = "all"
    sample = "sample"


class Sampler(enum.StrEnum):
    """The MCMC sampler of ``analyze``."""

    auto = "auto"
    nutpie = "nutpie"
    pymc = "pymc"


class Priors(enum.StrEnum):
    paper = "paper"
    weak = "weak"


class Highest(enum.StrEnum):
    """Which responses count as the highest-rated in ``analyze``."""

    chosen = "chosen"
    max = "max"


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML settings file.",
        envvar="PERSPECTIVE_LOCAL_CONFIG",
        rich_help_panel="Settings",
        show_envvar=True,
    ),
]
DeviceOption = Annotated[
    str | None,
    typer.Option(
        help="auto, cpu, cuda or cuda:N  [default: auto; env: PERSPECTIVE_LOCAL_DEVICE]",
        rich_help_panel="Model",
    ),
]
BackendsOption = Annotated[
    str | None,
    typer.Option(
        help="Backends to load, comma-separated, in priority order: heads, onnx, detoxify; "
        "or auto: onnx with ONNX Runtime on a CPU, else heads  "
        "[default: auto; env: PERSPECTIVE_LOCAL_BACKENDS]",
        rich_help_panel="Model",
    ),
]
RouteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--route",
        help="ATTRIBUTE=BACKEND, e.g. TOXICITY=detoxify; repeatable  "
        "[env: PERSPECTIVE_LOCAL_ROUTES]",
        rich_help_panel="Model",
    ),
]
ModelDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Model directory  [default: the packaged model; env: PERSPECTIVE_LOCAL_MODEL_DIR]",
        rich_help_panel="Model",
    ),
]
BatchSizeOption = Annotated[
    int | None,
    typer.Option(
        help="Token windows per forward pass  [default: 32 on a CPU, from free memory on a "
        "GPU; env: PERSPECTIVE_LOCAL_FORWARD_BATCH_WINDOWS]",
        rich_help_panel="Model",
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        help="Score through a running server (HOST:PORT, gRPC) instead of in-process.",
        rich_help_panel="Connection",
    ),
]
ApiKeyOption = Annotated[
    str | None, typer.Option(help="API key for --server.", rich_help_panel="Connection")
]
OnnxPrecisionOption = Annotated[
    OnnxPrecision | None,
    typer.Option(
        help="Graph the onnx backend serves  [default: fp32; env: "
        "PERSPECTIVE_LOCAL_ONNX_PRECISION]",
        rich_help_panel="Model",
    ),
]
AttributesOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated attributes  [default: all]", rich_help_panel="Request"),
]
ProgressOption = Annotated[bool, typer.Option(help="Show a progress bar on stderr.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Labelled corpora  [default: ../shared/data; env: PERSPECTIVE_LOCAL_DATA_DIR]"
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Cache directory  [default: ~/.cache/perspective-local; env: "
        "PERSPECTIVE_LOCAL_CACHE_DIR]"
    ),
]
MirrorOption = Annotated[
    str | None,
    typer.Option(
        help="Mirror laid out as MIRROR/host/path  [env: PERSPECTIVE_LOCAL_DOWNLOAD_MIRROR]"
    ),
]
LogLevelOption = Annotated[
    LogLevel | None,
    typer.Option(
        case_sensitive=False,
        help="Log level of every command  [default: WARNING; env: PERSPECTIVE_LOCAL_LOG_LEVEL]",
        rich_help_panel="Settings",
    ),
]
LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(
        help="Logs as text or JSON lines on stderr  [default: text; env: "
        "PERSPECTIVE_LOCAL_LOG_FORMAT]",
        rich_help_panel="Settings",
    ),
]
