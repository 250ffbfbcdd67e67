"""Referrals: the owner refers a case from its page; the receiving organisation answers
from its referrals page.  Parse, find the case or referral through the selectors (404
for anyone else's), call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from casework import selectors, services
from casework.auth import member_key, staff_required
from casework.exceptions import KeyLocked
from casework.forms import DeclineForm, ReferForm
from casework.models import Referral
from casework.views.cases import case_page
from casework.views.refusals import answering_refusals, back_to_case, forbidden


def _decline_form(referral: Referral, data=None) -> DeclineForm:
    return DeclineForm(data, auto_id=f"id_decline_{referral.pk}_%s")


def _inbox_page(request: HttpRequest, *, status: int = 200, failed=None) -> HttpResponse:
    """``failed``: (referral id, its decline form with errors), shown again as sent."""
    offered, answered = [], []
    for view in services.received_referrals(request.user, identity=member_key(request)):
        if view.referral.state != Referral.State.OFFERED:
            answered.append(view)
            continue
        sent = failed[1] if failed and failed[0] == view.referral.pk else None
        offered.append((view, sent or _decline_form(view.referral)))
    return render(
        request,
        "casework/referrals.html",
        {"offered": offered, "answered": answered},
        status=status,
    )


@require_GET
@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _inbox_page(request)


def _received(request: HttpRequest, referral_id: int) -> Referral:
    # Only referrals to her organisations that they may see: anyone else's is not found.
    return get_object_or_404(services.referrals_received_by(request.user), pk=referral_id)


def _back_to_inbox() -> HttpResponse:
    return redirect(reverse("casework:referrals"))


NOT_OFFERED = gettext_lazy("This referral was answered meanwhile; here is where it stands.")


@require_POST
@staff_required
@answering_refusals(back="casework:referrals", say={services.ReferralRefused: NOT_OFFERED})
def accept(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = _received(request, referral_id)
    services.accept_referral(referral, actor=request.user)
    messages.success(
        request,
        _("Accepted. Your organisation reads case %(reference)s from now on.")
        % {"reference": referral.case.reference},
    )
    return _back_to_inbox()


@require_POST
@staff_required
@answering_refusals(
    back="casework:referrals",
    say={
        KeyLocked: gettext_lazy(
            "Your key is locked: sign in again to decline (it takes back your access)."
        ),
        services.ReferralRefused: NOT_OFFERED,
    },
)
def decline(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = _received(request, referral_id)
    if not services.may_answer(
        request.user.memberships.filter(organization_id=referral.to_organization_id)
        .select_related("organization")
        .first()
    ):
        # Before her reason is read: whoever may not answer is told so, not that the
        # reason is missing.
        return forbidden(request)
    form = _decline_form(referral, request.POST)
    if not form.is_valid():
        return _inbox_page(request, status=400, failed=(referral.pk, form))
    services.decline_referral(
        referral,
        reason=form.cleaned_data["reason"],
        actor=request.user,
        identity=member_key(request),
    )
    messages.success(request, _("Declined. The referring organisation is told why."))
    return _back_to_inbox()


@require_POST
@staff_required
@answering_refusals(
    back=back_to_case("referrals"),
    say={
        KeyLocked: gettext_lazy("Your key is locked: sign in again to refer the case."),
        services.ReferralRefused: gettext_lazy("This organisation cannot be offered the case now."),
    },
)
def refer(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    access = selectors.reading_access(request.user, case)
    if not access.works_case:
        # Before the form is read: a reader is told her role does not allow it, not
        # what the form lacks.
        return forbidden(request)
    form = ReferForm(services.referral_targets(case), request.POST)
    if not form.is_valid():
        return case_page(request, case, status=400, refer_form=form)
    referral = services.refer_case(
        case,
        to=form.cleaned_data["to"],
        service=form.cleaned_data["service"],
        reason=form.cleaned_data["reason"],
        actor=request.user,
        identity=member_key(request),
    )
    if referral.state == Referral.State.OFFERED:
        messages.success(request, _("Referred. The organisation is told a case waits."))
    else:
        messages.success(
            request,
            _("She is asked first, on her page. Nothing is shared until she agrees."),
        )
    return redirect(reverse("casework:case", args=[case.pk]) + "#referrals")
