"""The coordination's page of cases nobody acknowledged in time, across organisations."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from casework import selectors, triage
from casework.auth import staff_required
from casework.views.refusals import forbidden


@require_GET
@staff_required
def escalations(request: HttpRequest) -> HttpResponse:
    if not selectors.is_coordinator(request.user):
        return forbidden(request)
    waiting, handled = selectors.escalated_cases(request.user)
    return render(
        request,
        "casework/escalations.html",
        {
            "waiting": waiting,
            "handled": handled,
            "now": timezone.now(),
            "priorities": {p.value: p.label for p in triage.Priority},
        },
    )
