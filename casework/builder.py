"""The bundle builder's key: made in a worker's memory when it starts, never stored.

A background task holds no key (DESIGN.md), yet building an evidence bundle means
reading her originals.  So a worker started to build bundles (consuming
CASEWORK_BUNDLE_QUEUE; see the Procfile) makes an X25519 identity when it starts and keeps
it in memory only; the database learns its public recipient and a queue that reaches
this worker alone.  When a caseworker approves a bundle, her request — which holds her
organisation's key — adds a stanza for that recipient to the header of each sealed object
the bundle needs (a loan), and sends the job to that worker's queue.  The worker opens
them, builds, and removes its stanzas.  If it stops, its key is gone: the job fails and is
approved again.  A copy of the disk, the database and Redis opens nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from celery.signals import celeryd_after_setup
from django.conf import settings
from django.utils import timezone

from evidence import age

logger = logging.getLogger(__name__)

_identity: age.X25519Identity | None = None
_name: str = ""
_stop = threading.Event()


def private_queue(name: str) -> str:
    return f"{settings.CASEWORK_BUNDLE_QUEUE}.{name}"


def identity() -> age.X25519Identity | None:
    """This process's builder key, or None if it is not a bundle builder."""
    return _identity


def name() -> str:
    return _name


def become_builder(hostname: str) -> age.X25519Identity:
    """Make this process's key and say where to reach it (called once, at start)."""
    from casework.models import BundleBuilder

    global _identity, _name, _stop  # one builder key per process, for its lifetime
    _identity = age.X25519Identity.generate()
    _name = hostname
    now = timezone.now()
    BundleBuilder.objects.update_or_create(
        name=hostname,
        defaults={"recipient": str(_identity.recipient), "started_at": now, "heard_at": now},
    )
    _stop = threading.Event()  # its own: stopping an earlier one never revives it
    threading.Thread(target=_keep_saying_alive, args=(hostname, _stop), daemon=True).start()
    logger.info("bundle builder %s ready", hostname)
    return _identity


def _keep_saying_alive(hostname: str, stop: threading.Event) -> None:
    """A row update every CASEWORK_BUILDER_BEAT seconds: approvals go only to a builder
    heard from lately (any broker, no broadcast needed)."""
    from django.db import close_old_connections, connection

    from casework.models import BundleBuilder

    while not stop.wait(settings.CASEWORK_BUILDER_BEAT):
        try:
            BundleBuilder.objects.filter(name=hostname).update(heard_at=timezone.now())
            close_old_connections()
        except Exception:  # the database is away for a moment: say it next time
            logger.warning("bundle builder %s could not say it is alive", hostname)
    connection.close()  # this thread's own connection goes with it


def stop_building() -> None:
    """Forget this process's key and stop saying it is alive (a worker's shutdown, a
    test's end): whatever was lent to it opens for nobody any more."""
    global _identity, _name  # see become_builder
    _stop.set()
    _identity, _name = None, ""


@celeryd_after_setup.connect
def _on_worker_start(sender: str, instance, conf, **kwargs) -> None:
    queues = instance.app.amqp.queues
    if settings.CASEWORK_BUNDLE_QUEUE not in queues.consume_from:
        return
    # Before the pool starts: a prefork child inherits the key from this process.
    queues.select_add(private_queue(sender))
    become_builder(sender)


def live_builders() -> list:
    """Builders heard from in the last three beats, newest first."""
    from casework.models import BundleBuilder

    recent = timezone.now() - timedelta(seconds=3 * settings.CASEWORK_BUILDER_BEAT)
    return list(BundleBuilder.objects.filter(heard_at__gte=recent).order_by("-started_at"))
