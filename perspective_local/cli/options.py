"""Command-line options and exit codes that several commands share (``score``, ``serve``,
``models``, ``analyze``).

Each is an ``Annotated`` type, so a command declares ``device: DeviceOption = None`` and
every command spells the flag, its help and its environment variable the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Exit codes of every command: bad input or usage, a request the server rejected, and a
#: server that is unreachable or overloaded.
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_UNAVAILABLE = 4

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
        help="Backends to load, comma-separated, in priority order: heads, onnx, detoxify  "
        "[default: heads; env: PERSPECTIVE_LOCAL_BACKENDS]",
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
        help="Windows per forward pass  [default: 32 on a CPU, from free memory on a GPU]",
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
