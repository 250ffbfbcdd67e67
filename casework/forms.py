from django import forms
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from casework import selectors, services
from casework.models import Case, DownloadReason, Membership, Organization, User
from reporting import facts


class KeyKeepingPasswordChangeForm(AdminPasswordChangeForm):
    """Change one's own password and re-seal one's key under it, so access is kept.

    Django's form would call set_password() alone, which (without the old key) gives the
    account a new key and leaves her organisations' cases closed to her.
    """

    def save(self, commit: bool = True):
        services.change_password(
            self.user,
            old_password=self.cleaned_data["old_password"],
            new_password=self.cleaned_data["new_password1"],
        )
        return self.user


class SignInForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6 digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ChangePasswordForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput,
        help_text=_("At least 12 characters. A sentence you remember is good."),
    )
    new_password_again = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        new, again = data.get("new_password"), data.get("new_password_again")
        if new and again and new != again:
            self.add_error("new_password_again", _("The two new passwords differ."))
        if new:
            try:
                password_validation.validate_password(new, self.user)
            except ValidationError as exc:
                self.add_error("new_password", exc)
        return data


class StatusForm(forms.Form):
    to = forms.ChoiceField(choices=Case.Status.choices)
    # Asked by the close form only; change_status() refuses to close without one.
    outcome = forms.ChoiceField(
        label=_("Why close this case?"),
        choices=Case.Outcome.choices,
        required=False,
        widget=forms.RadioSelect,
    )


NOT_A_COLLEAGUE = _("This person cannot take cases of this organisation.")


class AssignForm(forms.Form):
    """Who takes the case: "me", a colleague's user id, or empty for nobody.  Whether
    the one asking may give it to her is assign_case()'s call."""

    assignee = forms.CharField(required=False)

    def __init__(self, case: Case, user: User, *args, **kwargs):
        self.case = case
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_assignee(self) -> User | None:
        value = self.cleaned_data["assignee"]
        if value == "":
            return None
        if value == "me":
            # Even a reader may ask: assign_case() refuses her, and she is told her role
            # does not allow it rather than that she cannot take cases.
            return self.user
        colleague = None
        if value.isdecimal():
            colleague = selectors.colleagues(self.case).filter(pk=int(value)).first()
        if colleague is None:
            raise ValidationError(NOT_A_COLLEAGUE)
        return colleague


class NoteForm(forms.Form):
    """An internal note.  Its ``prefix`` names its field "note-text" (id "id_note-text"):
    the reply to her has a "text" too, and one id for both put the cursor of the note's
    label in the box that goes to her (issue 15)."""

    prefix = "note"
    text = forms.CharField(
        label=_("Internal note for your colleagues (she never sees it)"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text=_("Sealed for your organisation only. Notes are never shown to her."),
    )


class ReplyForm(forms.Form):
    """A message to her (``prefix`` keeps its ids apart from the note's)."""

    prefix = "reply"
    text = forms.CharField(
        label=_("Message to her (she will read it)"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=_("She reads it on her page when she comes back with her receipt code."),
    )


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=400,
        help_text=_("Separated by commas. Tags are not sealed: never put a name in a tag."),
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class DownloadForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why do you need the original file?"),
        choices=DownloadReason.choices,
        widget=forms.RadioSelect,
        help_text=_("Written in the audit log with your name."),
        error_messages={"required": _("Choose why you need the original.")},
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Sealed to your organisation: the audit log names it, only your colleagues read it."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == DownloadReason.OTHER and not cleaned.get("note", "").strip():
            self.add_error("note", _("Say why in the note."))
        return cleaned


class InviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)

    def __init__(self, organization, *args, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)
        # A legal partner's organisation has lawyers; an association has caseworkers.
        is_legal = organization.kind == Organization.Kind.LEGAL_PARTNER
        self.fields["role"].choices = [
            (value, label)
            for value, label in Membership.Role.choices
            if value == Membership.Role.ORG_ADMIN
            or (value == Membership.Role.LEGAL_PARTNER) == is_legal
        ]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken."))
        return username


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Open cases")), *Case.Status.choices],
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any")), *facts.Category.choices]
    )
    region = forms.ChoiceField(
        label=_("Region"), required=False, choices=[("", _("Any")), *facts.Region.choices]
    )
    urgent = forms.ChoiceField(
        label=_("Urgency"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Urgent")), ("no", _("Not urgent"))],
    )
    assignee = forms.CharField(label=_("Assigned to"), required=False, max_length=12)
    breached = forms.BooleanField(label=_("Waiting past its due time"), required=False)
    page = forms.IntegerField(required=False, min_value=1)


class ReferForm(forms.Form):
    to = forms.TypedChoiceField(label=_("Refer to"), coerce=int)
    service = forms.ChoiceField(label=_("For"), choices=facts.Service.choices)
    reason = forms.CharField(
        label=_("Why this organisation, and what you ask of it"),
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Sealed for your organisation and the one you refer to. "
            "Without her consent on record, she is asked first on her page."
        ),
    )

    def __init__(self, targets, *args, **kwargs):
        # Its own ids: the bundle refusal on the same case page has a "reason" too.
        kwargs.setdefault("auto_id", "id_refer_%s")
        super().__init__(*args, **kwargs)
        self.targets = {org.pk: org for org in targets}
        groups: dict[str, list] = {}
        for org in self.targets.values():
            groups.setdefault(org.get_kind_display(), []).append((org.pk, org.name))
        self.fields["to"].choices = [("", _("Choose an organisation")), *groups.items()]

    def clean_to(self) -> Organization:
        return self.targets[self.cleaned_data["to"]]


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you decline"),
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The organisation that referred the case reads it; sealed for both."),
    )
