"""The neutral site the quick exit sends a visitor to, served on this machine (it has no
Internet) from another origin.  The exit's redirect is a real one, which a route set in
the browser would not see."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

NEUTRAL_PAGE = b"<!doctype html><title>Neutral</title><p>An ordinary page.</p>"


class _Neutral(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(NEUTRAL_PAGE)))
        self.end_headers()
        self.wfile.write(NEUTRAL_PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def neutral_site(settings) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Neutral)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.QUICK_EXIT_URL = f"http://127.0.0.1:{server.server_port}/"
    yield settings.QUICK_EXIT_URL
    server.shutdown()
