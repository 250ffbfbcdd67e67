"""``/healthz``: is the database reachable, is the broker reachable.

For the operator's monitoring and the load balancer.  It names what is down and nothing
more: no error text, host name or credential reaches the response.

The broker asked is Celery's ``current_app``: the project's app (config/celery.py), which
Django loads with its settings and which Celery's Django fix-up makes every thread's
default.  The kernel does not import config, which sits above every app.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def database_is_up() -> bool:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError as exc:
        logger.warning("healthz: database unreachable (%s)", type(exc).__name__)
        # A broken connection must not be reused by the next request on this thread.
        connection.close_if_unusable_or_obsolete()
        return False


def broker_is_up() -> bool:
    try:
        with current_app.connection_for_write() as conn:
            # max_retries=0: answer now; a health check that retries hides the outage.
            conn.ensure_connection(max_retries=0)
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                # Redis: a pooled connection can look open after the server died.
                client.ping()
        return True
    except Exception as exc:  # kombu raises a different error class per transport
        logger.warning("healthz: broker unreachable (%s)", type(exc).__name__)
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_is_up(), "broker": broker_is_up()}
    down = [name for name, up in checks.items() if not up]
    body = {name: "ok" if up else "down" for name, up in checks.items()}
    body["status"] = "down" if down else "ok"
    body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
