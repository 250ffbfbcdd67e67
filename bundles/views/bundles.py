"""Evidence bundles on the staff pages: ask (a legal partner), approve or refuse (the
case's organisation), follow its building, download; and the case page's section on
bundles (``case_section``, which casework's case page shows through
casework/extensions.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from bundles import selectors, services
from bundles.recipients import recipients_of
from bundles.services import FAILURE_NEXT, BundleRefused, failure_text
from casework import states
from casework.auth import member_key, staff_required
from casework.exceptions import KeyLocked, NotAllowed
from casework.models import Bundle, Case
from casework.selectors import Access, case_for, reading_access
from casework.views.refusals import answering_refusals, back_to_case
from evidence.blobstore import blob_store

REFUSALS = {
    "open": gettext_lazy("A bundle of this case is already asked for or being built."),
    "erased": gettext_lazy("This case was erased: there is nothing left to export."),
    "no_consent": gettext_lazy(
        "Her consent to share her report is not on record: no bundle can be approved."
    ),
    "no_builder": gettext_lazy(
        "The bundle service is not running. Ask the platform's operator to start it, then "
        "approve again."
    ),
    "builder_unsigned": gettext_lazy(
        "The bundle service that answered is not one the platform signed, so nothing was "
        "lent to it. Tell the platform's operator: the service's log says what to do."
    ),
    "answered": gettext_lazy("Someone answered this request meanwhile; here is where it stands."),
    "reason": gettext_lazy("Say why you refuse."),
}


def _refused(refused: BundleRefused) -> str:
    return REFUSALS[refused.args[0]]


# Every refusal of a bundle act is told on the case page, in its bundles section.
answering_bundle_refusals = answering_refusals(
    back=back_to_case("bundles"),
    say={
        BundleRefused: _refused,
        KeyLocked: gettext_lazy("Your key is locked: sign in again to approve."),
    },
)


class ApproveForm(forms.Form):
    include_notes = forms.BooleanField(
        label=gettext_lazy("Include the internal notes"), required=False
    )
    include_messages = forms.BooleanField(
        label=gettext_lazy("Include the conversation with her"), required=False
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why you refuse"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=gettext_lazy("Sealed for your organisation and the legal partner."),
    )


def case_section(request: HttpRequest, case: Case, access: Access) -> str:
    """The case page's "Evidence bundles" section for this reader, or "" when she has
    none to see and none to ask for (casework/extensions.py)."""
    found = selectors.bundles_of(case, request.user)
    can_request = selectors.may_ask_again(case, request.user, found)
    if not found and not can_request:
        return ""
    context = {
        "case": case,
        "works_case": access.works_case,
        "bundles": found,
        "can_request_bundle": can_request,
        "approve_form": ApproveForm(),
        "consent_on_record": states.has_consent(case),
        "refuse_form": RefuseForm(),
    }
    return render_to_string("bundles/case_section.html", context, request=request)


def _case_back(case: Case) -> HttpResponse:
    return redirect(reverse("casework:case", args=[case.pk]) + "#bundles")


def _bundle(request: HttpRequest, case_id: int, bundle_id) -> tuple[Case, Bundle]:
    case = case_for(request.user, case_id)
    try:
        return case, selectors.bundle_for(case, request.user, bundle_id)
    except Bundle.DoesNotExist:
        raise Http404 from None


@require_POST
@staff_required
@answering_bundle_refusals
def request_bundle(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_for(request.user, case_id)
    try:
        bundle = services.request_bundle(
            case,
            actor=request.user,
            language=request.LANGUAGE_CODE,
            # Without a key of her own she could not open the file: she is told first.
            without_own_key="without_own_key" in request.POST,
        )
    except BundleRefused as refused:
        if refused.args[0] != "no_own_key":
            raise
        return render(request, "bundles/ask.html", {"case": case})
    messages.success(request, _("Asked. The organisation holding the case is told."))
    return redirect("bundles:bundle", case.pk, bundle.uuid)


@require_POST
@staff_required
@answering_bundle_refusals
def approve_bundle(request: HttpRequest, case_id: int, bundle_id) -> HttpResponse:
    case, bundle = _bundle(request, case_id, bundle_id)
    form = ApproveForm(request.POST)
    form.is_valid()  # two tick boxes: nothing can be wrong
    services.approve_bundle(
        bundle,
        actor=request.user,
        identity=member_key(request),
        include_notes=form.cleaned_data.get("include_notes", False),
        include_messages=form.cleaned_data.get("include_messages", False),
    )
    messages.success(request, _("Approved. The bundle is being built for the legal partner."))
    return _case_back(case)


@require_POST
@staff_required
@answering_bundle_refusals
def refuse_bundle(request: HttpRequest, case_id: int, bundle_id) -> HttpResponse:
    case, bundle = _bundle(request, case_id, bundle_id)
    form = RefuseForm(request.POST)
    if not form.is_valid():
        messages.error(request, REFUSALS["reason"])
        return _case_back(case)
    services.refuse_bundle(bundle, actor=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, _("Refused. The legal partner is told why."))
    return _case_back(case)


@require_GET
@staff_required
def bundle_page(request: HttpRequest, case_id: int, bundle_id) -> HttpResponse:
    case, bundle = _bundle(request, case_id, bundle_id)
    access = reading_access(request.user, case)
    refusal = services.refusal_text(
        bundle, organization=access.organization, identity=member_key(request)
    )
    is_lawyer = selectors.lawyer_access(case, request.user) is not None
    others = selectors.bundles_of(case, request.user)
    return render(
        request,
        "bundles/bundle.html",
        {
            "case": case,
            "bundle": bundle,
            "is_lawyer": is_lawyer,
            "asked_by_me": bundle.requested_by_id == request.user.pk,
            # Her keys, for what a bundle still to be built will be sealed to.
            "my_keys": recipients_of(request.user) if is_lawyer else [],
            "can_ask_again": selectors.may_ask_again(case, request.user, others),
            "failure": failure_text(bundle),
            "failure_next": FAILURE_NEXT["lawyer" if is_lawyer else "holder"],
            "refusal": refusal,
            # Reloads itself while it is being built: a progress bar without scripts.
            "refresh": bundle.state in (Bundle.State.PENDING, Bundle.State.BUILDING),
        },
    )


@require_GET
@staff_required
def download_bundle(request: HttpRequest, case_id: int, bundle_id) -> HttpResponse:
    _, bundle = _bundle(request, case_id, bundle_id)
    try:
        services.record_download(bundle, actor=request.user)
    except NotAllowed:
        raise Http404 from None
    response = FileResponse(
        blob_store().open(bundle.blob_key),
        as_attachment=True,
        filename=bundle.file_name,
        content_type="application/octet-stream",
    )
    response["Content-Length"] = str(bundle.size)
    return response
