"""A TCP port that refuses connections until `open()`, then forwards them to a real server.

For "unreachable at first" against the shared broker or database without stopping them. A Kafka
client only bootstraps through it (the broker then tells it its own address), which is enough
for a client that must wait for its first connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from tests.e2e.pipeline import free_port


class Forward:
    def __init__(self, target_port: int) -> None:
        self.port, self._target = free_port(), target_port
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def open(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._spawn(self._accept, self._server)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._spawn(_pipe, client, upstream)
            self._spawn(_pipe, upstream, client)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def __enter__(self) -> Forward:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        return
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
