"""The bundle builder's key: made in a worker's memory when it starts, never stored; and
each bundle built in a child process that exits when it is done.

A background task holds no key (DESIGN.md), yet building an evidence bundle means
reading her originals.  So a worker started to build bundles (consuming
CASEWORK_BUNDLE_QUEUE; see the Procfile) makes an X25519 identity when it starts and keeps
it in memory only; the database learns its public recipient and a queue that reaches
this worker alone.  When a caseworker approves a bundle, her request — which holds her
organisation's key — adds a stanza for that recipient to the header of each sealed object
the bundle needs (a loan), and sends the job to that worker's queue.  The worker opens
them, builds, and removes its stanzas.  If it stops, its key is gone: the job fails and is
approved again.  A copy of the disk, the database and Redis opens nothing.

**No plaintext outlives the job.**  Building reads her words and files; Python frees
memory when it likes and never wipes it, so a process that built a bundle kept copies of
what it read until it ended (issue 16: 112 copies of a canary, 30 minutes later).  The
worker's process therefore never opens anything itself: it keeps the key, says it is
alive, and forks a child for each bundle (``build_in_child``).  The child inherits the
key, builds, takes the loan back, and exits; its memory goes with it.  Why a fork of our
own rather than Celery's prefork pool with ``--max-tasks-per-child=1`` (which would also
inherit the key, made before the pool starts):

* the key must outlive each bundle (an approval is sealed to the registered recipient,
  so a builder that changed key after each bundle would fail the loans approved
  meanwhile), and only the long-lived process can hold it: here it is the worker's own;
* the guarantee is in the code, not in a command-line flag: the Procfile's, the systemd
  unit's and the compose file's ``--pool=solo`` line is unchanged, and a builder started
  with any pool still builds in a child that exits;
* a child that dies mid-build (killed, out of memory) is seen by the process that holds
  the key, which fails the bundle and takes the loan back at once, as a failed build
  does; a prefork pool would only report a lost worker, leaving the bundle "being built"
  and the stanzas in place.

**Who may be a builder.**  Whoever can write to the database could add a row with a
recipient of hers, and the next approval would lend her the case.  So a builder signs
its row (name, recipient, start) with the platform's Ed25519 signing key
(``EVIDENCE_SIGNING_KEY_FILE``, evidence/bundles.py), which is a file on the server, not
in the database; approval lends only to a row whose signature that key verifies
(``genuine``), and writes down and audits the rows it passed over.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, timedelta

from celery.signals import celeryd_after_setup, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from casework.models import BundleBuilder
from evidence import age, bundles

logger = logging.getLogger(__name__)

_identity: age.X25519Identity | None = None
_name: str = ""
_stop = threading.Event()

# What a builder signs: a prefix of its own, so that a signature over a bundle's tag
# manifest (the same key's other use) can never pass for a builder's, nor the reverse.
_SIGNED = "safe-report bundle builder v1\n{name}\n{recipient}\n{started}\n"


def private_queue(name: str) -> str:
    return f"{settings.CASEWORK_BUNDLE_QUEUE}.{name}"


def identity() -> age.X25519Identity | None:
    """This process's builder key, or None if it is not a bundle builder."""
    return _identity


def name() -> str:
    return _name


def _signed_text(name: str, recipient: str, started_at) -> bytes:
    started = started_at.astimezone(UTC).isoformat(timespec="microseconds")
    return _SIGNED.format(name=name, recipient=recipient, started=started).encode()


def signature(name: str, recipient: str, started_at) -> str:
    """The platform's signature over a builder's row (base64)."""
    signed = bundles.sign_statement(_signed_text(name, recipient, started_at))
    return base64.b64encode(signed).decode()


def genuine(row) -> bool:
    """Whether a BundleBuilder row was written by a builder holding the platform's
    signing key (and not by someone who can only write to the database)."""
    try:
        signed = base64.b64decode(row.signature, validate=True)
    except ValueError:
        return False
    return bundles.statement_verifies(signed, _signed_text(row.name, row.recipient, row.started_at))


def become_builder(hostname: str) -> age.X25519Identity:
    """Make this process's key and say where to reach it (called once, at start)."""
    global _identity, _name, _stop  # one builder key per process, for its lifetime
    _identity = age.X25519Identity.generate()
    _name = hostname
    now = timezone.now()
    recipient = str(_identity.recipient)
    BundleBuilder.objects.update_or_create(
        name=hostname,
        defaults={
            "recipient": recipient,
            "started_at": now,
            "heard_at": now,
            "signature": signature(hostname, recipient, now),
        },
    )
    _stop = threading.Event()  # its own: stopping an earlier one never revives it
    threading.Thread(target=_keep_saying_alive, args=(hostname, _stop), daemon=True).start()
    logger.info("bundle builder %s ready", hostname)
    return _identity


def _keep_saying_alive(hostname: str, stop: threading.Event) -> None:
    """A row update every CASEWORK_BUILDER_BEAT seconds: approvals go only to a builder
    heard from lately (any broker, no broadcast needed)."""
    while not stop.wait(settings.CASEWORK_BUILDER_BEAT):
        try:
            BundleBuilder.objects.filter(name=hostname).update(heard_at=timezone.now())
            close_old_connections()
        except Exception:  # the database is away for a moment: say it next time
            logger.warning("bundle builder %s could not say it is alive", hostname)
    connection.close()  # this thread's own connection goes with it


def stop_building() -> None:
    """Forget this process's key and stop saying it is alive (a worker's shutdown,
    ``_on_worker_shutdown``; a test's end): whatever was lent to it opens for nobody any
    more."""
    global _identity, _name  # see become_builder
    _stop.set()
    _identity, _name = None, ""


# Signals a Ctrl-C, systemd or an operator may send: Celery's handlers (inherited with
# the fork) would only set the parent's "stop after this task" flag, so the child takes
# the default again: it dies, and its parent fails the bundle and takes the loan back.
_CHILD_DEFAULTS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1)


def build_in_child(
    bundle_id: int,
    *,
    work: Callable[[int], str],
    interrupted: Callable[..., None],
) -> str:
    """Build one bundle in a child process that exits when it is done, and wait for it
    (see the module's docstring).  ``work(bundle_id)`` is what the child runs (the
    build, bundles/build.py, handed in by the task, so that this module, which the web's
    bundle service asks for builders, never imports the build, nor through it the PDF
    library).  What the child did reaches
    the bundle's row as it always does; if the child ends without finishing (killed, or
    an error before it could say so), this process calls ``interrupted(bundle_id, key,
    how=...)``, which fails the bundle and takes the loan back."""
    if identity() is None:
        return "not a builder"
    # The child opens its own connection: two processes on one socket would mix up the
    # database's answers.  (The heartbeat thread's connection is its own, and the child,
    # which has no such thread, never touches it.)
    connections.close_all()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, say how it went, and exit without running anything
        os.close(read_end)  # of the parent's (no atexit, no flushing of its buffers)
        code = 1
        try:
            for number in _CHILD_DEFAULTS:
                signal.signal(number, signal.SIG_DFL)
            outcome = work(bundle_id)
            os.write(write_end, str(outcome).encode()[:64])
            code = 0
        except BaseException as exc:  # the parent fails the bundle
            # Never the message: it may carry one of her file's names.
            logger.error("bundle %s: the build ended on %s", bundle_id, type(exc).__name__)
        finally:
            try:
                connections.close_all()
            finally:
                os._exit(code)
    os.close(write_end)
    try:
        _, status = os.waitpid(pid, 0)
    except BaseException:
        # This worker is being stopped at once: stop the child too (so the loan is taken
        # back now, by the key's holder), then let the stop go on.
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        interrupted(bundle_id, identity(), how="stopped")
        raise
    with os.fdopen(read_end, "rb") as said:
        outcome = said.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code == 0 and outcome:
        return outcome
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    interrupted(bundle_id, identity(), how=how)
    return "interrupted"


@celeryd_after_setup.connect
def _on_worker_start(sender: str, instance, conf, **kwargs) -> None:
    queues = instance.app.amqp.queues
    if settings.CASEWORK_BUNDLE_QUEUE not in queues.consume_from:
        return
    # Before the pool starts, in the worker's own process: it keeps the key for its
    # lifetime, and each bundle is built in a child of it (build_in_child).
    queues.select_add(private_queue(sender))
    become_builder(sender)


@worker_shutdown.connect
def _on_worker_shutdown(sender, **kwargs) -> None:
    # Sent in the worker's own process once its pool has stopped (a warm shutdown waits
    # for the bundle being built): the key goes now, and the row stops being renewed, so
    # approvals pass this builder over three beats later at the latest.  A worker that is
    # no builder has nothing to forget.
    if identity() is not None:
        stop_building()


def live_builders() -> list:
    """Builders heard from in the last three beats, newest first."""
    recent = timezone.now() - timedelta(seconds=3 * settings.CASEWORK_BUILDER_BEAT)
    return list(BundleBuilder.objects.filter(heard_at__gte=recent).order_by("-started_at"))
