"""Prometheus metrics of one server: requests, latency, batch sizes, queue depth and wait.

Each ``Metrics`` has its own registry, so several servers (tests) can live in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Latency buckets in seconds, from a cached short text to a queue full of 20 KB comments.
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_TOKENS = (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)


class Metrics:
    """The counters, gauges and histograms the server records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "perspective_requests",
            "Requests answered, by transport, method and status code.",
            ["transport", "method", "code"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "perspective_request_duration_seconds",
            "Time from receiving a request to answering it.",
            ["transport", "method"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.texts = Counter(
            "perspective_texts_scored", "Texts run through the model.", registry=self.registry
        )
        self.batch_size = Histogram(
            "perspective_batch_size",
            "Texts per model batch.",
            buckets=_SIZES,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "perspective_queue_depth", "Texts waiting for a batch.", registry=self.registry
        )
        self.queue_seconds = Histogram(
            "perspective_queue_duration_seconds",
            "Time a request waited before its batch started.",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.batch_tokens = Histogram(
            "perspective_batch_tokens",
            "Padded tokens per model batch, over its forward passes.",
            buckets=_TOKENS,
            registry=self.registry,
        )
        self.tokenization_seconds = Histogram(
            "perspective_tokenization_duration_seconds",
            "Time a request took to be tokenised (on the preparation thread).",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.inference_seconds = Histogram(
            "perspective_inference_duration_seconds",
            "Time the model took per batch (its forward passes).",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.dropped = Counter(
            "perspective_dropped_texts",
            "Texts dropped before their batch ran: caller gone or deadline passed.",
            ["reason"],
            registry=self.registry,
        )
        self.overloaded = Counter(
            "perspective_overloaded",
            "Requests refused because the queue was full.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format for ``/metrics``."""
        return generate_latest(self.registry)
