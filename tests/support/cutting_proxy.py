"""A TCP proxy in front of a live server that can cut a request's connection midway:
what a train entering a tunnel does to her upload.

    with CuttingProxy(live_server.url) as proxy:   # or gunicorn's base URL
        page.goto(proxy.url + "/fr/report/...")     # a browser (or any client) uses it
        proxy.cut_next(after=300_000, method=b"PATCH")
        ...
        proxy.received   # bytes read from clients, on every connection, in all

Bytes are forwarded as they arrive, both ways, unchanged (so the Host and Origin a
browser sends name the proxy, and the site answers for that address).  Armed with
``cut_next``, the next request that starts with ``method`` on any connection is let
through for ``after`` bytes (its request line and headers included), then both sides of
its connection are closed at once: the client sees its connection reset, the server a
body that ends early.  One thread per direction per connection; for tests only.
"""

from __future__ import annotations

import socket
import threading
import urllib.parse
from contextlib import suppress


class CuttingProxy:
    def __init__(self, target: str, *, host: str = "127.0.0.1") -> None:
        parts = urllib.parse.urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._lock = threading.Lock()
        self._armed: tuple[int, bytes, bytes] | None = None
        self._sockets: set[socket.socket] = set()
        self.received = 0  # bytes read from clients
        self.forwarded = 0  # bytes passed on to the server
        self.cuts = 0
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="cutting-proxy", daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut_next(self, *, after: int, method: bytes = b"PATCH", containing: bytes = b"") -> None:
        """Cut the next request that starts with ``method`` (and whose first bytes hold
        ``containing``, a header say, in any case) after ``after`` bytes."""
        with self._lock:
            self._armed = (after, method, containing.lower())

    def close(self) -> None:
        self._closed = True
        with suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
            for source, sink, upstream in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, upstream), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        left: int | None = None  # bytes this connection may still send before its cut
        try:
            while data := source.recv(65536):
                if upstream:
                    with self._lock:
                        self.received += len(data)
                        armed = self._armed
                        if (
                            left is None
                            and armed
                            and data.startswith(armed[1] + b" ")
                            and armed[2] in data.lower()
                        ):
                            left, self._armed = armed[0], None
                    if left is not None:
                        if len(data) >= left:
                            sink.sendall(data[:left])
                            with self._lock:
                                self.forwarded += left
                                self.cuts += 1
                            return  # the finally below closes both sides: the cut
                        left -= len(data)
                    with self._lock:
                        self.forwarded += len(data)
                sink.sendall(data)
            # One side finished sending: let the other know, and keep reading its answer.
            with suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
            return
        except OSError:
            pass
        finally:
            if left is not None or not upstream:
                _close(source)
                _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
