"""The in-process scoring backends: ``heads`` (torch encoder plus linear heads), ``onnx``
(the same graph on ONNX Runtime, its export, and the cache's export in ``onnx_cache``) and
``detoxify`` (Detoxify checkpoints, with the catalogue of published releases beside it).
Each is a ``WindowedBackend``."""
