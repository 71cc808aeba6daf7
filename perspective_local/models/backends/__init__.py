"""The in-process scoring backends: ``heads`` (torch encoder plus linear heads), ``onnx``
(the same graph on ONNX Runtime, and its export) and ``detoxify`` (Detoxify checkpoints,
with the catalogue of published releases beside it). Each is a ``WindowedBackend``."""
