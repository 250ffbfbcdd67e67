"""The transactional outbox: what must happen after a change, even if Redis or a worker dies.

A service that changes something calls ``add_step()`` inside its own transaction, so the
step row exists exactly when the change does.  Once the transaction commits, the step is
sent to a worker (``run_step``); if Redis is down at that moment, the send fails quietly
and the row waits.  Beat runs ``sweep()`` every CASEWORK_OUTBOX_SWEEP_SECONDS: it takes
back steps whose worker died (their lease ran out) and re-sends steps that a previous
sweep already found pending.  A worker claims a step with a conditional UPDATE, so a
message delivered twice, or re-sent by the sweep while the first is still queued, does
the step once; a finished step is deleted, so a late duplicate finds nothing to do.

Why count sweeps instead of comparing a creation time: the step of a new report is
written with her report, and an exact time on it would date her filing to the second
(DESIGN.md keeps her times to the hour).  A step found pending by two sweeps in a row has
waited at least one sweep interval, which is all "too long" needs to mean.

For the same reason a step that follows one of HER acts (she filed, wrote, added
evidence, answered a question) waits for the next full hour when
CASEWORK_NOTIFY_ON_THE_HOUR is on (the default): an email leaves the server for mail
providers nobody here controls, and its time would date her act to the minute.  The
sweep sends it once the hour has come.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from casework.models import WorkflowStep

logger = logging.getLogger(__name__)

StepState = WorkflowStep.State

# kind -> the function that does it, given the step: casework/notifications.py fills it,
# and so do apps above casework for their own kinds (bundles/notifications.py).
PERFORMERS: dict[str, Callable[[WorkflowStep], None]] = {}


def performs(kind: str):
    def register(function: Callable[[WorkflowStep], None]):
        PERFORMERS[kind] = function
        return function

    return register


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def add_step(
    kind: str, *, case=None, detail: dict | None = None, after_her_act: bool = False
) -> WorkflowStep:
    """Record a step in the caller's transaction; it is sent to a worker after commit,
    or, following one of her acts, at the next full hour (the module's docstring)."""
    now = timezone.now()
    hold = after_her_act and settings.CASEWORK_NOTIFY_ON_THE_HOUR
    step = WorkflowStep.objects.create(
        kind=kind,
        case=case,
        detail=detail or {},
        created_at=_hour(now),
        not_before=_hour(now) + timedelta(hours=1) if hold else None,
    )
    if not hold:
        step_id = step.pk
        transaction.on_commit(lambda: dispatch(step_id))
    return step


def send_task(name: str, *, args: tuple, **options) -> None:
    """Send the Celery task ``name`` now, once what it works on is committed; raises what
    the broker raised (each caller says what a message that did not leave means).

    By name, never by importing a tasks module: a tasks module imports the services that
    send its tasks, and importing it back closes a circle (CONVENTIONS.md, "Shapes to
    avoid"); a web process would also load what only workers need (bundles.tasks).
    """
    current_app.send_task(  # sent after commit
        name,
        args=args,
        retry=False,
        # As the tasks say (ignore_result): otherwise the sender waits on the result
        # store, which is Redis too, for 20 s when Redis is down.
        ignore_result=True,
        **options,
    )


def dispatch(step_id: int, *, countdown: float | None = None) -> bool:
    """Send the step to a worker; False if the broker could not take it (the sweep will).

    Called only once the step's row is committed: from ``add_step``'s and ``_failed``'s
    ``on_commit``, or by the sweep, which runs in no transaction.  Never raises: this runs
    after her report committed, and a broker outage must not turn her "report received"
    into an error page.
    """
    try:
        send_task("casework.tasks.run_step", args=(step_id,), countdown=countdown)
    except Exception as exc:  # any broker failure means "the sweep sends it"
        logger.warning(
            "workflow step %s not sent (%s); the outbox sweep will send it",
            step_id,
            type(exc).__name__,
        )
        # Found "pending" already: the next sweep re-sends it without waiting another.
        WorkflowStep.objects.filter(pk=step_id, state=StepState.PENDING).update(sweeps=1)
        return False
    return True


def _claim(step_id: int) -> WorkflowStep | None:
    now = timezone.now()
    claimable = Q(state=StepState.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    claimable |= Q(state=StepState.RUNNING, lease_until__lt=now)  # its worker died
    lease = now + timedelta(seconds=settings.CASEWORK_STEP_LEASE_SECONDS)
    claimed = WorkflowStep.objects.filter(claimable, pk=step_id).update(
        state=StepState.RUNNING, lease_until=lease, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return WorkflowStep.objects.select_related("case__organization").get(pk=step_id)


def _error_text(exc: BaseException) -> str:
    # The class and message of an SMTP or database error; performers never put content
    # in exceptions they raise (they handle ids only).
    return f"{type(exc).__name__}: {exc}"[:300]


def run_step(step_id: int) -> str:
    """Do one step if nobody else is doing or has done it.  Returns what happened."""
    step = _claim(step_id)
    if step is None:
        return "skipped"
    running = _running.set(step.pk)
    try:
        # Inside the try: apps above casework register their kinds (bundles/); a kind
        # whose app is not installed fails like any step, instead of being claimed
        # again each time its lease runs out.
        performer = PERFORMERS.get(step.kind)
        if performer is None:
            raise LookupError(f"no app performs {step.kind!r} steps: is its app installed?")
        performer(step)
        # If the performer had nothing to send (nobody to tell, nothing left to say), it
        # has not said so yet.  Inside the try: once the step is reset below, performed()
        # no longer knows which step it is, and a step left RUNNING came back each time
        # its lease ran out, for ever.
        performed()
    except Exception as exc:  # kept on the row, retried, shown to the operator
        return _failed(step, exc)
    finally:
        _running.reset(running)
    return "done"


# The step this worker is performing.  Performers only send (an email); the step is
# forgotten the moment the mail server has accepted the message, before the connection
# is even closed, in a commit of its own: a worker killed after that finds nothing to
# redo.  The gap left (between the server's "accepted" and that commit, about a
# millisecond) is the only way one email can go twice; each carries a Message-ID made
# from its step, which mail clients use to drop a repeat.
_running: ContextVar[int | None] = ContextVar("workflow_step", default=None)


def performed() -> None:
    """The current step's work has left this process: forget the step now."""
    step_id = _running.get()
    if step_id is not None:
        WorkflowStep.objects.filter(pk=step_id).delete()


def message_id() -> str | None:
    """A Message-ID that stays the same when the current step is done again."""
    step_id = _running.get()
    if step_id is None:
        return None
    return f"<workflow-step-{step_id}@{urlsplit(settings.SITE_URL).hostname or 'localhost'}>"


def _failed(step: WorkflowStep, exc: BaseException) -> str:
    now = timezone.now()
    if step.attempts >= settings.CASEWORK_STEP_MAX_ATTEMPTS:
        WorkflowStep.objects.filter(pk=step.pk).update(
            state=StepState.FAILED, lease_until=None, last_error=_error_text(exc)
        )
        logger.error("workflow step %s failed for good: %s", step.pk, type(exc).__name__)
        return "failed"
    delay = min(30 * 2 ** (step.attempts - 1), 3600)
    WorkflowStep.objects.filter(pk=step.pk).update(
        state=StepState.PENDING,
        lease_until=None,
        not_before=now + timedelta(seconds=delay),
        sweeps=1,  # if the retry message is lost, the sweep sends it once it is due
        last_error=_error_text(exc),
    )
    logger.warning("workflow step %s will be retried: %s", step.pk, type(exc).__name__)
    step_id = step.pk
    transaction.on_commit(lambda: dispatch(step_id, countdown=delay))
    return "retry"


def sweep() -> int:
    """Take back steps whose worker died, re-send steps waiting too long.  Returns how
    many were sent."""
    now = timezone.now()
    WorkflowStep.objects.filter(state=StepState.RUNNING, lease_until__lt=now).update(
        state=StepState.PENDING, lease_until=None, sweeps=1
    )
    due = WorkflowStep.objects.filter(state=StepState.PENDING).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    # Found waiting before, or held until a time that has come (her hour, a back-off).
    stale = list(
        due.filter(Q(sweeps__gte=1) | Q(not_before__isnull=False)).values_list("pk", flat=True)
    )
    due.filter(sweeps=0).update(sweeps=1)
    if stale:
        # Back to zero and no longer held: under a long backlog a step is re-sent every
        # other sweep, not on every one.
        WorkflowStep.objects.filter(pk__in=stale).update(sweeps=0, not_before=None)
    sent = sum(dispatch(step_id) for step_id in stale)
    if stale:
        logger.info("outbox sweep re-sent %d of %d waiting step(s)", sent, len(stale))
    return sent


@transaction.atomic
def retry_failed(step_ids: list[int]) -> list[int]:
    """Failed steps of ``step_ids`` made pending again (the operator's "try again",
    casework.services.retry_failed_steps); returns their ids."""
    steps = WorkflowStep.objects.filter(pk__in=step_ids, state=StepState.FAILED)
    ids = sorted(steps.values_list("pk", flat=True))
    steps.update(state=StepState.PENDING, attempts=0, not_before=None, sweeps=0, last_error="")
    for step_id in ids:
        transaction.on_commit(lambda step_id=step_id: dispatch(step_id))
    return ids
