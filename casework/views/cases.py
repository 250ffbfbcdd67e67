"""The triage queue and the case file.  Parse, find the case through the selectors
(404 for anyone else's), call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework import extensions, selectors, services, states, triage
from casework.auth import member_key, staff_required
from casework.downloads import original_response, working_copy_response
from casework.exceptions import CaseErased, KeyLocked, OutcomeMissing, TransitionRefused
from casework.forms import (
    AssignForm,
    DownloadForm,
    NoteForm,
    QueueFilterForm,
    ReferForm,
    ReplyForm,
    StatusForm,
    TagsForm,
)
from casework.models import Case, User
from casework.views.refusals import answering_refusals, back_to_case
from evidence.exceptions import CannotOpen
from evidence.models import EvidenceItem
from reporting import facts

# The close form's outcome buttons, apart from every other field of the case page.
CLOSE_FORM_IDS = "id_close_%s"
_ERASED_MESSAGE = gettext_lazy("This case was erased: nothing can be added to it any more.")


def _organization(request: HttpRequest):
    memberships = list(selectors.memberships_of(request.user))
    if not memberships:
        return None, memberships
    wanted = request.GET.get("org", "")
    for membership in memberships:
        if membership.organization.slug == wanted:
            return membership, memberships
    return memberships[0], memberships


@require_GET
@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    membership, memberships = _organization(request)
    if membership is None:
        return render(request, "casework/no_organisation.html")
    form = QueueFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.QueueFilters(
        status=data.get("status") or "",
        category=data.get("category") or "",
        region=data.get("region") or "",
        urgent=data.get("urgent") or "",
        assignee=data.get("assignee") or "",
        breached=bool(data.get("breached")),
    )
    organization = membership.organization
    page = selectors.queue_page(
        request.user,
        organization,
        filters,
        data.get("page"),
        per_page=settings.CASEWORK_QUEUE_PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "casework/queue.html",
        {
            "membership": membership,
            "memberships": memberships,
            "organization": organization,
            "form": form,
            "page": page,
            "counts": selectors.queue_counts(request.user, organization),
            "query": query.urlencode(),
            "now": timezone.now(),
            "members": User.objects.filter(memberships__organization=organization).order_by(
                "username"
            ),
        },
    )


def _access_log(request: HttpRequest, case: Case) -> list[tuple[selectors.TimelineEntry, str]]:
    """Who opened what, each with the download note her organisation sealed, if her key
    opens it."""
    notes = services.download_notes(case, actor=request.user, identity=member_key(request))
    return [
        (entry, notes.get(entry.detail.get("note"), "")) for entry in selectors.access_log(case)
    ]


def case_page(request: HttpRequest, case: Case, *, status: int = 200, **forms) -> HttpResponse:
    """The case page; ``forms`` (``note_form=``, ``refer_form=``...) replace its empty
    forms, to show one again as sent, with its errors."""
    # Her organisation that owns the case, or the one she reads it through (a referral
    # it accepted, the coordination): case_for() found it, so there is one.
    access = selectors.reading_access(request.user, case)
    membership = access.membership
    identity = member_key(request)
    locked_reason = None
    try:
        case_file = services.read_case_file(case, actor=request.user, identity=identity)
    except KeyLocked:
        case_file = None
        locked_reason = "waiting" if not membership.has_key_access else "locked"
    except CannotOpen:
        case_file = None
        locked_reason = "not_shared"
    except CaseErased:
        case_file = None
        locked_reason = "erased"
    consent = states.has_consent(case)
    moves = []
    if access.works_case and case.erased_at is None:
        moves = states.moves_from(case.status, consent_share=consent)
    referrals = []
    refer_form = None
    if access.is_owner:
        referrals = services.case_referrals(case, organization=case.organization, identity=identity)
        if access.works_case and case.erased_at is None:
            refer_form = forms.get("refer_form") or ReferForm(services.referral_targets(case))
    context = {
        "case": case,
        "report": case.report,
        "membership": membership,
        "access": access,
        "works_case": access.works_case,
        "file": case_file,
        "locked_reason": locked_reason,
        "referrals": referrals,
        "refer_form": refer_form,
        "priority_label": triage.Priority(case.priority).label,
        "priority_reasons": triage.reason_labels(case.priority_reasons),
        "service_labels": [facts.Service(s).label for s in case.report.services],
        "moves": moves,
        "close_form": forms.get("close_form") or StatusForm(auto_id=CLOSE_FORM_IDS),
        "consent_questions": selectors.consent_questions(case),
        "colleagues": selectors.colleagues(case),
        "timeline": selectors.timeline(case),
        "access_log": _access_log(request, case),
        "tags_form": forms.get("tags_form")
        or TagsForm(initial={"tags": ", ".join(t.name for t in case.tags.all())}),
        "note_form": forms.get("note_form") or NoteForm(),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "now": timezone.now(),
        "extra_sections": extensions.case_sections(request, case, access),
    }
    return render(request, "casework/case.html", context, status=status)


@require_GET
@staff_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return case_page(request, selectors.case_for(request.user, case_id))


def _back(case: Case, anchor: str = "") -> HttpResponse:
    return redirect(reverse("casework:case", args=[case.pk]) + (f"#{anchor}" if anchor else ""))


def _cannot_move(refused: TransitionRefused) -> str:
    current, wanted = refused.args
    if current == Case.Status.NEW and wanted == Case.Status.CLOSED:
        return _("Acknowledge the case first: it is closed after that.")
    return _("The case has moved meanwhile; here is where it stands now.")


@require_POST
@staff_required
@answering_refusals(back=back_to_case(), say={TransitionRefused: _cannot_move})
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    form = StatusForm(request.POST, auto_id=CLOSE_FORM_IDS)
    if not form.is_valid():
        messages.error(request, _("Choose what to do with the case."))
        return _back(case)
    try:
        services.change_status(
            case,
            form.cleaned_data["to"],
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
        )
    except OutcomeMissing:  # the close form's own field: shown beside it
        form.add_error("outcome", _("Choose why the case is closed."))
        return case_page(request, case, status=400, close_form=form)
    return _back(case)


@require_POST
@staff_required
@answering_refusals()
def case_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    form = AssignForm(case, request.user, request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["assignee"][0])
        return _back(case)
    services.assign_case(case, form.cleaned_data["assignee"], actor=request.user)
    return _back(case)


@require_POST
@staff_required
@answering_refusals()
def case_tags(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    form = TagsForm(request.POST)
    if not form.is_valid():
        return case_page(request, case, status=400, tags_form=form)
    services.set_tags(case, form.cleaned_data["tags"], actor=request.user)
    return _back(case)


@require_POST
@staff_required
@answering_refusals(back=back_to_case(), say={CaseErased: _ERASED_MESSAGE})
def case_legal_hold(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    services.set_legal_hold(case, request.POST.get("on") == "yes", actor=request.user)
    return _back(case)


@require_POST
@staff_required
@answering_refusals(back=back_to_case("notes"), say={CaseErased: _ERASED_MESSAGE})
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return case_page(request, case, status=400, note_form=form)
    services.add_note(case, form.cleaned_data["text"], actor=request.user)
    return _back(case, "notes")


@require_POST
@staff_required
@answering_refusals(back=back_to_case("messages"), say={CaseErased: _ERASED_MESSAGE})
def case_reply(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_for(request.user, case_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return case_page(request, case, status=400, reply_form=form)
    services.reply_to_reporter(case, form.cleaned_data["text"], actor=request.user)
    messages.success(request, _("Sent. She will read it with her receipt code."))
    return _back(case, "messages")


@require_GET
@staff_required
def evidence_copy(request: HttpRequest, case_id: int, item_id: int) -> HttpResponse:
    """The sanitised image, shown inline on the case page (no metadata, no location)."""
    case = selectors.case_for(request.user, case_id)
    try:
        item, reader = services.open_evidence(
            case, item_id, actor=request.user, identity=member_key(request)
        )
    except (EvidenceItem.DoesNotExist, KeyLocked, CaseErased):
        # Not a page but an image in one: the case page says why it cannot be shown.
        raise Http404 from None
    return working_copy_response(item, reader)


@require_http_methods(["GET", "POST"])
@staff_required
@answering_refusals(
    back=back_to_case(),
    say={
        KeyLocked: gettext_lazy("Your key is locked: sign in again to open files."),
        CaseErased: None,  # the case page says it was erased
    },
)
def evidence_original(request: HttpRequest, case_id: int, item_id: int) -> HttpResponse:
    """The original bytes, as received, for a reason written in the audit log."""
    case = selectors.case_for(request.user, case_id)
    item = case.report.evidence.filter(pk=item_id).first()
    if item is None:
        raise Http404
    form = DownloadForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        item, reader = services.open_evidence(
            case,
            item.pk,
            actor=request.user,
            identity=member_key(request),
            original=True,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
        return original_response(case, item, reader)
    return render(
        request,
        "casework/download.html",
        {"case": case, "item": item, "form": form},
        status=400 if form.errors else 200,
    )
