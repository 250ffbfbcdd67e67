"""A lawyer's page of her own keys for evidence bundles: she registers the public half of
a key she made with ``age-keygen``, and opens her bundles with the other half
(bundles/recipients.py says why).  Its link in the staff menu (``staff_link``) reaches
casework's menu through casework/extensions.py."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from bundles import recipients as bundle_recipients
from bundles.recipients import PassphraseRefused, RecipientRefused
from casework.auth import member_key, staff_required
from casework.exceptions import KeyAccessDenied, KeyLocked
from casework.models import BundleRecipient
from casework.views.refusals import answering_refusals, forbidden

REFUSALS = {
    "secret": gettext_lazy(
        "This is the secret half of your key (AGE-SECRET-KEY-…): it was not kept. Never "
        "give it to anyone, us included. Paste the line that starts with age1, which "
        "age-keygen printed as “Public key”. To be safe, make a new key and register that one."
    ),
    "plugin": gettext_lazy(
        "Hardware-key recipients (age1yubikey1… and other age plugins) cannot be used yet: "
        "the platform seals with standard age keys only. Make a key file with age-keygen and "
        "paste its public key."
    ),
    "ssh": gettext_lazy(
        "SSH keys cannot be used: make a key file with age-keygen and paste its public key, "
        "the line that starts with age1."
    ),
    "invalid": gettext_lazy(
        "This is not an age public key. It starts with age1 and is 62 characters long; "
        "age-keygen prints it after “Public key:”. Copy the whole line."
    ),
    "duplicate": gettext_lazy("This key is already registered."),
    "too_many": gettext_lazy(
        "You have registered 10 keys, the most there can be. Remove one you no longer use."
    ),
    "label": gettext_lazy("Keep the name to 80 characters."),
}


class RecipientForm(forms.Form):
    recipient = forms.CharField(
        label=gettext_lazy("Your public key (the line that starts with age1)"),
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "dir": "ltr",
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "off",
                "placeholder": "age1…",
            }
        ),
        error_messages={"required": gettext_lazy("Paste your public key.")},
    )
    label = forms.CharField(
        label=gettext_lazy("A name for it (optional), to know which computer holds it"),
        max_length=bundle_recipients.LABEL_LENGTH,
        required=False,
        error_messages={"max_length": REFUSALS["label"]},
    )


PASSPHRASE_REFUSALS = {
    "short": gettext_lazy(
        "Choose a passphrase of at least 12 characters: several words you will remember."
    ),
    "sign_in": gettext_lazy(
        "Choose a passphrase other than your sign-in password: the platform sees that one."
    ),
    "mismatch": gettext_lazy("The two passphrases differ: type the same one twice."),
}


class ExportForm(forms.Form):
    passphrase = forms.CharField(
        label=gettext_lazy("A passphrase to protect the file (at least 12 characters)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": PASSPHRASE_REFUSALS["short"]},
    )
    again = forms.CharField(
        label=gettext_lazy("The same passphrase again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": PASSPHRASE_REFUSALS["mismatch"]},
    )


def staff_link(request: HttpRequest) -> str:
    """ "My keys" in the staff menu, for a member who downloads bundles; "" otherwise."""
    if bundle_recipients.bundle_membership(request.user) is None:
        return ""
    return render_to_string("bundles/staff_link.html", request=request)


def _case_id(request: HttpRequest) -> int | None:
    """The case she came from (to go back and ask for its bundle), if she came from one."""
    value = request.GET.get("case", "")
    # Case keys are random below 2**53 (evidence/ids.py): up to 16 digits.
    return int(value) if value.isdigit() and len(value) <= 16 else None


def _back(request: HttpRequest) -> HttpResponse:
    url = reverse("bundles:my_keys")
    case_id = _case_id(request)
    return redirect(f"{url}?case={case_id}" if case_id else url)


@require_http_methods(["GET", "POST"])
@staff_required
@answering_refusals()  # NotAllowed: her role changed since bundle_membership() let her in
def my_keys(request: HttpRequest) -> HttpResponse:
    membership = bundle_recipients.bundle_membership(request.user)
    if membership is None:
        return forbidden(request)
    posted = request.POST or None
    if posted is not None and bundle_recipients.holds_secret(posted.get("recipient", "")):
        # Her secret key pasted by mistake (alone or in the whole key file): never shown
        # again in the page, whatever else is wrong with it.
        posted = posted.copy()
        posted["recipient"] = ""
        form = RecipientForm(posted)
        form.is_valid()
        form.errors.pop("recipient", None)
        form.add_error("recipient", REFUSALS["secret"])
        return _page(request, membership, form, ExportForm())
    form = RecipientForm(posted)
    if request.method == "POST" and form.is_valid():
        try:
            bundle_recipients.add_recipient(
                actor=request.user,
                text=form.cleaned_data["recipient"],
                label=form.cleaned_data["label"],
            )
        except RecipientRefused as refused:
            code = refused.args[0]
            form.add_error("label" if code == "label" else "recipient", REFUSALS[code])
        else:
            messages.success(
                request, _("Registered. The bundles you ask for from now on are sealed to it.")
            )
            return _back(request)
    return _page(request, membership, form, ExportForm())


def _page(request: HttpRequest, membership, form, export_form) -> HttpResponse:
    case_id = _case_id(request)
    return render(
        request,
        "bundles/my_keys.html",
        {
            "form": form,
            "export_form": export_form,
            "recipients": bundle_recipients.recipients_of(request.user),
            "organization": membership.organization,
            "case_url": reverse("casework:case", args=[case_id]) + "#bundles" if case_id else "",
            "most": bundle_recipients.MOST,
        },
        status=400 if form.errors or export_form.errors else 200,
    )


@require_POST
@staff_required
@answering_refusals(
    back=_back,
    say={
        KeyLocked: gettext_lazy("Your key is locked: sign in again to take the key."),
        KeyAccessDenied: gettext_lazy(
            "You are waiting for access to your organisation's key: its admin can "
            "give it to you on the Members page."
        ),
    },
)
def export_key(request: HttpRequest) -> HttpResponse:
    """Her organisation's key as an age identity file under her passphrase: the second
    way to open a bundle (bundles/recipients.py)."""
    membership = bundle_recipients.bundle_membership(request.user)
    if membership is None:
        return forbidden(request)
    form = ExportForm(request.POST)
    if form.is_valid():
        try:
            name, sealed = bundle_recipients.export_organization_key(
                actor=request.user,
                identity=member_key(request),
                passphrase=form.cleaned_data["passphrase"],
                again=form.cleaned_data["again"],
            )
        except PassphraseRefused as refused:
            field = "again" if refused.args[0] == "mismatch" else "passphrase"
            form.add_error(field, PASSPHRASE_REFUSALS[refused.args[0]])
        else:
            response = HttpResponse(sealed, content_type="application/octet-stream")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, membership, RecipientForm(), form)


@require_POST
@staff_required
def remove_key(request: HttpRequest, recipient_id: int) -> HttpResponse:
    try:
        bundle_recipients.remove_recipient(recipient_id, actor=request.user)
    except BundleRecipient.DoesNotExist:
        raise Http404 from None
    messages.success(
        request,
        _("Removed. New bundles are no longer sealed to it; those already built still are."),
    )
    return _back(request)
