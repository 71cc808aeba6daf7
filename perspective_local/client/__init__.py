"""The client side: score texts in-process or (soon) through a server, and score whole files.

Importing this package loads neither torch nor the model; ``LocalBackend`` loads them when
it is created. The ``perspective-local score`` command is built on ``client.batch``.
"""

from perspective_local.client.local import LocalBackend, score_texts

__all__ = ["LocalBackend", "score_texts"]
