"""gunicorn's logger, without the lines whose moment would date a reporter's request.

journald (and gunicorn's own format) dates every line to the second.  gunicorn writes a
line when a worker is aborted or killed ("WORKER TIMEOUT", "Worker (pid:...) was sent
SIGKILL!", "Booting worker"), when it exits, and a traceback naming the path when a
request fails inside it.  Each happens at the moment of a request in progress, often
hers: her upload, dated to the second, where the database keeps the hour.  So those
lines are not written.  They are counted, and the counts are written once an hour, on
the hour, and when gunicorn stops (an operator's moment): a line whose moment says
nothing finer than the hour.  docs/DEPLOY.md, "Slow clients".

Also here: ``end_stalled_reads``, the per-read limit config/gunicorn.conf.py sets on
each request (a read that waits too long ends the body, as if she had gone).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import Counter

from gunicorn import glogging

# An upload's address (reporting/uploads.py): /<lang>/report/uploads/<token>/.
_UPLOAD_TOKEN = re.compile(r"(/report/uploads/)[^/\s?]+")

# gunicorn's message templates (record.msg, before its arguments are filled in), by what
# the hourly count calls them.  Matched by their beginning.
FOLDED = {
    "WORKER TIMEOUT": "stopped for not answering",
    "Worker (pid:": "ended by a signal or an error",
    "Booting worker": "",  # written by the new worker: the master counts the end
    "Worker exiting": "",  # the worker's own goodbye: the master counts its end
    "Exception in worker process": "ended by a signal or an error",
    "Autorestarting worker": "",
    "Error handling request": "request failures",
    "Socket error processing request": "request failures",
    "Exception in post_request hook": "request failures",
    "Error handling HTTP/2 request": "request failures",
    "HTTP/2 socket error": "request failures",
    "HTTP/2 connection error": "request failures",
}


class _Counts:
    """What was folded in this process since the last summary."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def take(self) -> Counter[str]:
        with self.lock:
            counts, self.counts = self.counts, Counter()
        return counts


_counts = _Counts()


def _fresh_counts_in_child() -> None:
    # A worker starts with none of the master's counts (they are the master's to
    # write), and a lock that no thread of the master can be holding.
    global _counts  # one set of counts per process
    _counts = _Counts()


os.register_at_fork(after_in_child=_fresh_counts_in_child)


class _Fold(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        for start, what in FOLDED.items():
            if message.startswith(start):
                if what:
                    _counts.add(what)
                return False
        return True


def summary(counts: Counter[str]) -> str:
    workers = [
        f"{counts[what]} worker{'s' if counts[what] > 1 else ''} "
        f"{'were' if counts[what] > 1 else 'was'} {what}"
        for what in ("stopped for not answering", "ended by a signal or an error")
        if counts[what]
    ]
    requests = counts["request failures"]
    parts = workers + (
        [f"{requests} request{'s' if requests > 1 else ''} failed"] if requests else []
    )
    return (
        "since the last count: "
        + ", ".join(parts)
        + " (counted, not logged one by one: a line at the moment would date a request)"
    )


class Logger(glogging.Logger):
    """gunicorn's logger with the folding filter on its error log."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _Fold) for f in self.error_log.filters):
            self.error_log.addFilter(_Fold())

    def atoms(self, resp, req, environ, request_time):
        # The access log, when an operator turns it on, names each path: the address of
        # an upload her browser is sending holds its token, which is not written.
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("U", "r"):
            if isinstance(atoms.get(name), str):
                atoms[name] = _UPLOAD_TOKEN.sub(r"\1[upload]", atoms[name])
        return atoms

    def write_counts(self) -> None:
        """Write what was folded since the last count, if anything was."""
        counts = _counts.take()
        if counts:
            # Not through the filter's templates: this line is the one that may be written.
            self.error_log.warning("%s", summary(counts))

    def count_every_hour(self) -> None:
        """Write the counts on the hour, every hour, from a thread of this process."""

        def loop() -> None:
            while True:
                time.sleep(3600 - time.time() % 3600)
                self.write_counts()

        threading.Thread(target=loop, name="gunicorn-hourly-counts", daemon=True).start()


def end_stalled_reads(req, seconds: float) -> None:
    """Let no read or write of this request's connection wait more than ``seconds``.

    gunicorn's threaded worker reads a body with no limit of its own, so a connection
    that stops sending would hold a thread for ever.  A read that times out ends the body
    there, exactly as if the client had closed the connection: the upload handler sees
    the file cut short and keeps nothing of it (``reporting.views._common.cut_off``), with no
    error and no traceback naming the request.  A write that times out fails as a lost
    connection does.  This bounds each wait, not the request: an upload that keeps
    arriving, however slowly, is read to its end.
    """
    unreader = getattr(req, "unreader", None)
    sock = getattr(unreader, "sock", None)
    if sock is None:
        return
    sock.settimeout(seconds)
    read = unreader.chunk

    def chunk(size_hint=None):
        try:
            return read(size_hint)
        except TimeoutError:
            return b""

    unreader.chunk = chunk
