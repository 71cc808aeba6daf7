"""A loopback HTTP file server for the download tests (``models pull``, ``prism download``).

``FileServer`` serves bytes by URL path with HTTP ``Range`` support, records every request
with its ``Range`` header, and can misbehave on purpose: drop a connection half-way through a
file, or ignore ``Range``. The ``file_server`` fixture in ``conftest.py`` starts one per test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


@dataclass
class FileServer:
    """Serves ``files`` (URL path -> bytes) with HTTP Range support, and can misbehave."""

    files: dict[str, bytes] = field(default_factory=dict)
    #: Paths whose next GET sends half the body and then drops the connection.
    cut_next: set[str] = field(default_factory=set)
    ignore_range: bool = False
    #: (path, Range header or None) of every GET, in order.
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@contextmanager
def serving() -> Iterator[FileServer]:
    """A ``FileServer`` on a free loopback port, in a background thread, until the block ends."""
    state = FileServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Range")))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            ranged = self.headers.get("Range")
            if ranged and not state.ignore_range:
                start = int(ranged.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_error(416, "Range Not Satisfiable")
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if self.path in state.cut_next:
                state.cut_next.discard(self.path)
                self.wfile.write(body[start : start + (len(body) - start) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body[start:])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-file-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
