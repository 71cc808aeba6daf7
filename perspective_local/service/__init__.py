"""The server: Perspective-compatible gRPC and REST endpoints over one dynamic batcher.

Data flows client -> service -> models; nothing here is imported by ``models``.
"""
