"""An organisation admin invites her own members and gives access to those waiting."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from casework import selectors, services
from casework.auth import member_key, staff_required
from casework.exceptions import KeyAccessDenied
from casework.forms import InviteForm
from casework.models import Membership
from casework.views.refusals import answering_refusals

NOT_THIS_KEY = gettext_lazy("Your key does not open this organisation's key.")


def _admin_membership(request: HttpRequest, slug: str) -> Membership:
    for membership in selectors.memberships_of(request.user):
        if membership.organization.slug == slug and membership.can_manage_members:
            return membership
    raise Http404


@require_http_methods(["GET", "POST"])
@staff_required
@answering_refusals()
def members(request: HttpRequest, slug: str) -> HttpResponse:
    admin = _admin_membership(request, slug)
    organization = admin.organization
    form = InviteForm(organization, request.POST if request.method == "POST" else None)
    invited = None
    if request.method == "POST" and form.is_valid():
        identity = member_key(request)
        if identity is None or not admin.has_key_access:
            messages.error(request, _("Your key is locked: sign in again to invite someone."))
        else:
            try:
                user, password = services.invite_member(
                    organization,
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor=request.user,
                    unlocked_by=identity,
                )
            except KeyAccessDenied:  # shown above her form, as she filled it in
                messages.error(request, NOT_THIS_KEY)
            else:
                invited = {"username": user.username, "password": password}
                form = InviteForm(organization)
    return render(
        request,
        "casework/members.html",
        {
            "organization": organization,
            "memberships": organization.memberships.select_related("user").order_by(
                "user__username"
            ),
            "form": form,
            "invited": invited,
        },
        status=400 if form.errors else 200,
    )


def _back_to_members(request: HttpRequest, slug: str, **kwargs) -> HttpResponse:
    return redirect("casework:members", slug=slug)


@require_POST
@staff_required
@answering_refusals(back=_back_to_members, say={KeyAccessDenied: NOT_THIS_KEY})
def grant(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    admin = _admin_membership(request, slug)
    waiting = admin.organization.memberships.filter(pk=membership_id).first()
    if waiting is None:
        raise Http404
    identity = member_key(request)
    if identity is None:
        messages.error(request, _("Your key is locked: sign in again to give access."))
        return _back_to_members(request, slug)
    services.grant_waiting_member(waiting, actor=request.user, unlocked_by=identity)
    messages.success(
        request,
        _("%(name)s can now open the organisation's cases.") % {"name": waiting.user.username},
    )
    return _back_to_members(request, slug)
