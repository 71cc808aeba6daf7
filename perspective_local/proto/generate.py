"""Regenerate the ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` stubs beside the .proto files.

Run from anywhere: ``python -m perspective_local.proto.generate`` (needs grpcio-tools and
googleapis-common-protos). The protos are compiled with the repository root as include
path, so the generated code imports ``perspective_local.proto.*`` and works inside the package.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parents[1]
PROTOS = ("commentanalyzer.proto", "perspective_local_v1.proto")


def _googleapis_dir() -> str:
    # google/api and google/rpc protos ship inside googleapis-common-protos (a namespace
    # package, so locate it through one of its modules).
    from google.api import annotations_pb2  # type: ignore[import-untyped]

    return str(Path(annotations_pb2.__file__).parents[2])


def main() -> int:
    from grpc_tools import protoc  # type: ignore[import-untyped]

    args = [
        "grpc_tools.protoc",
        f"-I{ROOT}",
        f"-I{_googleapis_dir()}",
        # The well-known types (wrappers.proto) ship inside grpc_tools.
        f"-I{resources.files('grpc_tools') / '_proto'}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        *(str(PROTO_DIR.relative_to(ROOT) / name) for name in PROTOS),
    ]
    return int(protoc.main(args))


if __name__ == "__main__":
    sys.exit(main())
