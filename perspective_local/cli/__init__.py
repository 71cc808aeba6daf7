"""The ``perspective-local`` command: the root app, the options every command shares
(``--log-level``, ``--log-format``) and the registration of each command module.

Each command lives in its own module (``score``, ``serve``, ``train``, ``evaluate``,
``models``, ``analyze``, ``info``) and is a thin layer over a library function; heavy
imports (torch, the model) happen inside the command that needs them, so
``perspective-local --help`` is instant. Results go to stdout, diagnostics to stderr. Exit
codes are ``perspective_local.cli.common.ExitCode``: 0 success, 1 unexpected failure, 2 bad
usage or bad input (a missing optional extra included), 3 the server rejected a request, 4
the server is unreachable or overloaded.
"""

from __future__ import annotations

import typer

from perspective_local.cli.common import set_root_flags
from perspective_local.cli.options import LogFormatOption, LogLevelOption

app = typer.Typer(
    name="perspective-local",
    help="Score texts for Perspective API attributes on your own machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    context: typer.Context,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Score texts for Perspective API attributes on your own machine."""
    # Read by cli.common.load_settings, which every command calls: flags beat env and file.
    set_root_flags(
        context,
        log_level=log_level.value if log_level else None,
        log_format=log_format.value if log_format else None,
    )


def _register_subcommands() -> None:
    # Each command module adds its commands; registering imports only typer-level modules.
    from perspective_local.cli import analyze, evaluate, info, models, score, serve, train

    score.register(app)
    info.register(app)
    train.register(app)
    serve.register(app)
    evaluate.register(app)
    models.register(app)
    analyze.register(app)


_register_subcommands()


def main() -> None:
    app()
