"""The dependency rule: client -> service -> models, analysis -> client; training and
evaluation sit beside the runtime and only the command line imports them; nothing backwards.

``import perspective_local.client`` must not load torch, and ``import
perspective_local.service`` must not load training, evaluation or their libraries (checked
in a fresh interpreter); no module imports against the arrows (checked by scanning imports
with ``ast``).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perspective_local"
#: For each sub-package, the sub-packages it must never import.
FORBIDDEN = {
    "models": {"service", "client", "analysis", "training", "evaluation", "cli"},
    "service": {"client", "analysis", "training", "evaluation", "cli"},
    "client": {"service", "analysis", "training", "evaluation", "cli"},
    "analysis": {"models", "service", "training", "evaluation", "cli"},
    "training": {"service", "client", "analysis", "evaluation", "cli"},
    "evaluation": {"service", "client", "analysis", "cli"},
    "proto": {"models", "service", "client", "analysis", "training", "evaluation", "cli"},
}
#: Training reports held-out metrics with evaluation's metric functions: a leaf module that
#: needs only numpy, so evaluation -> training (for the corpora) makes no cycle of modules.
ALLOWED = {("training", "perspective_local.evaluation.metrics")}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_import_goes_against_the_arrows(layer: str) -> None:
    offences = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path)
        for banned in FORBIDDEN[layer]
        if name == f"perspective_local.{banned}" or name.startswith(f"perspective_local.{banned}.")
        if (layer, name) not in ALLOWED
    ]
    assert not offences


@pytest.mark.parametrize(
    "module", ["perspective_local.client", "perspective_local.models", "perspective_local.cli"]
)
def test_light_modules_import_without_torch(module: str) -> None:
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_server_imports_no_training_or_evaluation() -> None:
    code = (
        "import sys, perspective_local.service, perspective_local.service.app\n"
        "banned = ('sklearn', 'scipy', 'matplotlib', 'perspective_local.training',\n"
        "          'perspective_local.evaluation')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(banned))\n"
        "print(loaded)\n"
        "sys.exit(bool(loaded))"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
