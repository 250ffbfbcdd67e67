"""Slow phones and slow-loris connections against gunicorn as deploy/ starts it.

The reporter this site is for may be on a cheap phone on a poor network: her upload can
take half an hour.  Before, gunicorn's sync workers counted the whole request against a
120 s timeout: her upload was cut and lost, three connections sending a byte every few
seconds held every worker until it was killed, and each kill wrote dated lines that
gave the second of her upload.  These start gunicorn with the units' own command line
and the example env file (config/gunicorn.conf.py, docs/DEPLOY.md "Slow clients"), with
the timeouts shortened so that "longer than the timeout" costs seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import http.client
import http.cookies
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence.models import EvidenceItem
from tests.deploy import recipe
from tests.reporting.test_intake_pages import STEPS
from tests.support.processes import Browser, child_pids, free_port, port_open, running, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# The web unit's command line (deploy/systemd/safe-report-web.service, compose's "web").
GUNICORN = ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi"]
# Shortened for the suite: a worker unheard for 4 s is killed, a read that waits 3 s
# ends the request.  Production: 30 s and 150 s.
SHORT = {"GUNICORN_TIMEOUT": "4", "GUNICORN_READ_TIMEOUT": "3", "GUNICORN_WORKERS": "1"}
WORDS = {"narrative": "Il publie mes photos.", "identifiers": "@compte_anonyme", "contact": ""}
YOUR_WORDS = "/fr/report/your-words/"


@dataclass
class Server:
    url: str
    master: subprocess.Popen
    log: Path


class Phone(Browser):
    """A browser behind nginx: nginx tells the site the request came over TLS
    (X-Forwarded-Proto, deploy/nginx/safe-report-locations.conf), and the page's own
    origin is the https one."""

    def request(self, method: str, path: str, **kw):
        headers = {"X-Forwarded-Proto": "https", "Origin": f"https://{self.host}:{self.port}"}
        return super().request(method, path, headers={**headers, **kw.pop("headers", {})}, **kw)


@contextmanager
def deployed_gunicorn(tmp: Path, **overrides: str) -> Iterator[Server]:
    """gunicorn with the web unit's arguments and the example env file filled in."""
    port = free_port()
    env = recipe.production_env(
        tmp,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        **SHORT,
        **overrides,
    )
    argv = [sys.executable, "-m", *GUNICORN]
    log = tmp / "gunicorn.log"
    with running(argv, env=env, log=log) as master:
        wait_until(
            lambda: master.poll() is not None or port_open(port), timeout=30, what="gunicorn"
        )
        assert master.poll() is None, log.read_text()
        wait_until(lambda: len(child_pids(master.pid)) == 1, timeout=30, what="its worker")
        yield Server(f"http://127.0.0.1:{port}", master, log)


def at_her_words(url: str) -> tuple[Browser, str]:
    """A browser that has answered the steps and has the page with the file field."""
    browser = Phone(url, "fr", timeout=60)
    page = browser.get("/fr/report/").text
    for name, data in STEPS:
        answer = browser.post_form(f"/fr/report/step/{name}/", page, data)
        assert answer.status == 302, answer.text[:2000]
        page = browser.get(answer.headers["Location"]).text
    return browser, page


class SlowPost:
    """A POST whose body goes out a piece at a time, as a phone on a poor network or a
    slow-loris attacker sends it (same bytes; the attacker never finishes)."""

    def __init__(self, browser: Browser, path: str, body: bytes, content_type: str) -> None:
        self.sock = socket.create_connection((browser.host, browser.port), timeout=60)
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {browser.host}:{browser.port}\r\n"
            f"Origin: https://{browser.host}:{browser.port}\r\nX-Forwarded-Proto: https\r\n"
            "Sec-Fetch-Site: same-origin\r\n"
            f"Accept-Language: fr\r\nCookie: {cookies}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.sock.sendall(head.encode())
        self.browser = browser
        self.body = body
        self.sent = 0

    def send(self, size: int) -> None:
        piece = self.body[self.sent : self.sent + size]
        self.sock.sendall(piece)
        self.sent += len(piece)

    def answer(self) -> tuple[int, dict[str, str]]:
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie(header)
            self.browser.cookies.update({name: morsel.value for name, morsel in jar.items()})
        self.close()  # as nginx does once it has the answer
        return response.status, {k.lower(): v for k, v in response.getheaders()}

    def close(self) -> None:
        self.sock.close()


def multipart(page: str, fields: dict[str, str], file: bytes) -> tuple[bytes, str]:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    boundary = "----slowphone7f3a"
    parts = [("csrfmiddlewaretoken", token), *fields.items()]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in parts
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; '
        f'filename="discussion.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    body += file + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def slow_loris(url: str) -> SlowPost:
    """A form post that announces 1 MB and sends its first bytes: the server reads its
    body (the CSRF check needs the token in it) and waits for the rest."""
    browser = Phone(url, "fr", timeout=60)
    page = browser.get("/fr/report/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    body = f"csrfmiddlewaretoken={token}&category=".encode().ljust(1_000_000, b"a")
    loris = SlowPost(browser, "/fr/report/step/urgency/", body, "application/x-www-form-urlencoded")
    loris.send(200)
    return loris


def sockets(pid: int) -> int:
    """How many sockets a process holds open."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(FileNotFoundError):
            count += os.readlink(fd).startswith("socket:")
    return count


def chat(size: int) -> bytes:
    line = b"12/03/2026, 21:40 - Omar: je vais publier tes photos\n"
    return (line * (size // len(line) + 1))[:size]


def test_a_slow_upload_outlasting_the_worker_timeout_is_kept_while_slow_loris_connections_are_held(
    cast, tmp_path
):
    file = chat(96 * 1024)
    with ExitStack() as stack:
        server = stack.enter_context(deployed_gunicorn(tmp_path))
        workers = child_pids(server.master.pid)
        browser, page = at_her_words(server.url)
        body, content_type = multipart(page, WORDS, file)
        lorises = [slow_loris(server.url) for _ in range(2)]
        for loris in lorises:
            stack.callback(loris.close)

        upload = SlowPost(browser, YOUR_WORDS, body, content_type)
        stack.callback(upload.close)
        # Her upload: 4 KB every 0.35 s, about 9 s in all, more than twice the time a
        # worker may go unheard (4 s here); each pause far shorter than the read timeout.
        # The two slow-loris connections send a byte each second.  Meanwhile the site
        # answers another visitor.
        health = []
        for piece in range(len(body) // 4096 + 1):
            upload.send(4096)
            if piece % 3 == 0:
                for loris in lorises:
                    loris.send(1)
            if piece % 8 == 4:
                health.append(Phone(server.url, "fr", timeout=30).get("/healthz").status)
            time.sleep(0.35)
        assert upload.sent == len(body)

        status, headers = upload.answer()
        assert status == 302, (status, server.log.read_text()[-3000:])
        receipt = browser.get(headers["location"])
        assert receipt.status == 200
        assert 'class="receipt-code"' in receipt.text, receipt.text[:3000]
        (item,) = EvidenceItem.objects.all()  # her whole file, as she sent it
        assert (item.size, item.sha256) == (len(file), hashlib.sha256(file).hexdigest())

        assert health
        assert set(health) == {200}, health
        # The same worker all along: none was killed.
        assert child_pids(server.master.pid) == workers

        # A slow-loris connection that stops sending is let go after the read timeout
        # (3 s here), and its thread with it; the other is still being read.
        lorises[0].sock.settimeout(30)
        assert lorises[0].sock.recv(65536) is not None  # an answer or the end: no hang
        lorises[0].close()
        assert Phone(server.url, "fr", timeout=30).get("/healthz").status == 200
        assert child_pids(server.master.pid) == workers

    # gunicorn stopped: its count of workers stopped or killed has nothing to say.
    log = server.log.read_text()
    assert "not answering" not in log, log
    assert "ended by a signal" not in log, log
    assert "your-words" not in log, log


def test_a_killed_worker_writes_nothing_that_dates_her_request(cast, tmp_path):
    with deployed_gunicorn(tmp_path) as server:
        (worker,) = child_pids(server.master.pid)
        browser, page = at_her_words(server.url)
        idle = sockets(worker)
        body, content_type = multipart(page, WORDS, chat(64 * 1024))
        upload = SlowPost(browser, YOUR_WORDS, body, content_type)
        try:
            upload.send(8192)
            # Her upload is in the worker's hands (a connection more among its files).
            wait_until(lambda: sockets(worker) > idle, timeout=10, what="the worker to take it")
            written = len(server.log.read_text())
            # The worker stops answering while her upload is in progress (SIGSTOP: as a
            # worker stuck in a system call): the master aborts it, then kills it.
            os.kill(worker, signal.SIGSTOP)
            wait_until(
                lambda: child_pids(server.master.pid) not in ([], [worker]),
                timeout=30,
                what="the master to replace the worker",
            )
            assert Phone(server.url, "fr", timeout=30).get("/healthz").status == 200
        finally:
            upload.close()
            if worker in child_pids(server.master.pid):
                os.kill(worker, signal.SIGKILL)
        after_kill = server.log.read_text()[written:]
        server.master.terminate()
        server.master.wait(timeout=30)
        at_stop = server.log.read_text()[written + len(after_kill) :]

    # Nothing written at the moment of the kill says it happened or names her request:
    # any line then (journald dates every line) would date her upload to the second.
    assert str(worker) not in after_kill, after_kill
    for telltale in ("TIMEOUT", "Worker", "worker", "Booting", "your-words", "Traceback"):
        assert telltale not in after_kill, after_kill
    # The operator still learns of it, without a moment: in the hourly count, or (here)
    # in the count written when gunicorn stops, which is the operator's own moment.
    assert re.search(r"1 worker (was )?stopped for not answering", at_stop), at_stop
    assert str(worker) not in at_stop
    assert "your-words" not in at_stop
