"""``python -m perspective_local.cli``: the same as the ``perspective-local`` command."""

from perspective_local.cli import main

main()
