from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from casework import services
from casework.models import AuditEvent, Membership, Organization, User
from evidence import keys
from reporting import facts

WAITING = _(
    "Waiting for access: her key changed (an administrator reset her password) or she "
    "joined when no key holder was signed in. A member who holds access, or the operator "
    "with the recovery key (manage.py grant_access), must grant it."
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["key_access"]
    # Removing a member must re-seal the organisation's key without her, which needs an
    # unlocked key: done by manage.py remove_member, not by a delete box here.
    can_delete = False

    @admin.display(description=_("case access"))
    def key_access(self, membership: Membership) -> str:
        if membership.pk is None:
            return ""
        return _("Yes") if membership.has_key_access else WAITING


class OrganizationForm(forms.ModelForm):
    """Tick boxes for what the organisation covers, rather than JSON to type by hand."""

    regions = forms.MultipleChoiceField(
        label=_("regions served"),
        choices=facts.Region.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every region."),
    )
    languages = forms.MultipleChoiceField(
        label=_("languages spoken"),
        choices=facts.Language.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every language."),
    )
    services = forms.MultipleChoiceField(
        label=_("services offered"),
        choices=facts.Service.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every service."),
    )

    class Meta:
        model = Organization
        fields = [
            "name",
            "slug",
            "kind",
            "regions",
            "languages",
            "services",
            "capacity",
            "notification_email",
        ]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationForm
    list_display = ["name", "kind", "capacity", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["key_status", "key_recipient"]
    inlines = [MembershipInline]

    @admin.display(description=_("key"))
    def key_status(self, organization: Organization) -> str:
        if organization.sealed_key is None:
            return _("No key yet: it is created, sealed to her, when the first member joins.")
        holders = sum(m.has_key_access for m in organization.memberships.select_related("user"))
        recovery = _(" and to the operator's recovery key") if keys.recovery_recipients() else ""
        return _("Sealed to %(count)d member(s) holding access%(recovery)s.") % {
            "count": holders,
            "recovery": recovery,
        }

    def has_delete_permission(self, request, obj=None):
        # Its key would go with it, and every case sealed to it would be lost.
        if obj is not None and obj.memberships.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        for membership in formset.save(commit=False):
            if membership.pk is None:
                # Through the service: the first member creates the organisation's key;
                # later ones wait until a key holder grants access.
                services.add_member(
                    membership.organization, membership.user, role=membership.role, unlocked_by=None
                )
            else:
                membership.save(update_fields=["role"])
        return None


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "email", "is_active", "is_superuser", "last_login"]
    readonly_fields = ["key_recipient"]

    def has_delete_permission(self, request, obj=None):
        # Deleting a member would skip re-sealing her organisations' keys without her.
        if obj is not None and obj.memberships.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only (the database refuses changes anyway)."""

    list_display = ["seq", "at", "actor", "action", "organization_id", "case_id"]
    list_filter = ["action"]
    search_fields = ["actor", "action"]
    ordering = ["-seq"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
