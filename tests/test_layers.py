"""The dependency rule: client -> service -> models, analysis -> client; nothing backwards.

``import perspective_local.client`` must not load torch (checked in a fresh interpreter),
and no module imports against the arrows (checked by scanning imports with ``ast``).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perspective_local"
#: For each sub-package, the sub-packages it must never import.
FORBIDDEN = {
    "models": {"service", "client", "analysis"},
    "service": {"client", "analysis"},
    "client": {"analysis"},
    "analysis": {"models", "service"},
    "proto": {"models", "service", "client", "analysis"},
}


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
    ]
    assert not offences


@pytest.mark.parametrize(
    "module", ["perspective_local.client", "perspective_local.models", "perspective_local.cli"]
)
def test_light_modules_import_without_torch(module: str) -> None:
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
