"""A TCP proxy in front of PostgreSQL that can lose the answer to one COMMIT.

The server commits; the client never hears so: its connection is cut after the COMMIT
went through and before the reply comes back, as when a network or a proxy fails at
that moment.  Armed with the name of a table, the proxy waits for a connection that
writes into it, then cuts that connection at its next COMMIT.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.support.processes import free_port


class CommitLosingProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.table: bytes | None = None
        self.cut = threading.Event()  # set once a COMMIT's answer was lost
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, table: str) -> None:
        self.table = f'"{table}"'.encode()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            lost = threading.Event()  # this connection's answers go nowhere
            threading.Thread(target=self._up, args=(client, server, lost), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, lost), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, lost: threading.Event) -> None:
        wrote = False
        try:
            while chunk := client.recv(65536):
                table = self.table
                wrote = wrote or (table is not None and b"INSERT INTO " + table in chunk)
                if wrote and not self.cut.is_set() and b"COMMIT\x00" in chunk:
                    lost.set()
                    self.cut.set()
                    server.sendall(chunk)
                    time.sleep(0.5)  # the server reads and runs it; then both sides go
                    break
                server.sendall(chunk)
        except OSError:
            pass
        for side in (client, server):
            with suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()

    def _down(self, server: socket.socket, client: socket.socket, lost: threading.Event) -> None:
        try:
            while chunk := server.recv(65536):
                if lost.is_set():
                    return  # the COMMIT's answer goes nowhere
                client.sendall(chunk)
        except OSError:
            pass


@contextmanager
def commit_losing_proxy(upstream: tuple[str, int]) -> Iterator[CommitLosingProxy]:
    proxy = CommitLosingProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
