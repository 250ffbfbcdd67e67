from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import audit, services
from casework.audit import Action
from casework.models import (
    AuditEvent,
    Membership,
    Organization,
    RoutingRule,
    User,
    WorkflowStep,
)
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


def _tick_boxes(label, choices, help_text) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


class OrganizationForm(forms.ModelForm):
    """Tick boxes for what the organisation covers, rather than JSON to type by hand."""

    regions = _tick_boxes(
        _("regions served"), facts.Region.choices, _("None ticked: every region.")
    )
    languages = _tick_boxes(
        _("languages spoken"), facts.Language.choices, _("None ticked: every language.")
    )
    services = _tick_boxes(
        _("services offered"), facts.Service.choices, _("None ticked: every service.")
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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            # What it covers decides which reports it receives: worth a row.
            audit.record(
                request.user,
                Action.ORGANIZATION_CHANGED,
                organization=obj,
                detail={"fields": sorted(form.changed_data)},
            )

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
                action = Action.MEMBER_ADDED
            else:
                membership.save(update_fields=["role"])
                action = Action.ACCOUNT_CHANGED
            audit.record(
                request.user,
                action,
                organization=membership.organization_id,
                detail={"user": membership.user_id, "role": membership.role},
            )
        return None


class OperatorPasswordResetForm(AdminPasswordChangeForm):
    """An operator's reset: she chooses her own password at her next sign-in, and her
    key is new (so she waits for access: see WAITING)."""

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.must_change_password = True
        user.one_time_password_until = services.one_time_password_deadline()
        user._reset_by_operator = True
        if commit:
            user.save()
        return user


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "email", "is_active", "is_superuser", "last_login"]
    readonly_fields = ["key_recipient"]
    change_password_form = OperatorPasswordResetForm
    actions = ["reset_second_factor"]

    def log_change(self, request, obj, message):
        # Every operator change to an account is in the chain, not only Django's log.
        action = (
            Action.PASSWORD_RESET
            if getattr(obj, "_reset_by_operator", False)
            else Action.ACCOUNT_CHANGED
        )
        audit.record(request.user, action, detail={"user": obj.pk})
        return super().log_change(request, obj, message)

    @admin.action(description=_("Reset the authenticator (she sets up a new one at sign-in)"))
    def reset_second_factor(self, request, queryset):
        # For a lost phone.  Audited: with a password reset it would let someone else
        # enrol in her name, which is why her organisation's admin is told to check who
        # she is before giving access again.
        with transaction.atomic():
            for user in queryset:
                TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()
                audit.record(request.user, Action.SECOND_FACTOR_RESET, detail={"user": user.pk})
        messages.success(request, _("Authenticators removed: %(n)d.") % {"n": queryset.count()})

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


@admin.register(WorkflowStep)
class WorkflowStepAdmin(admin.ModelAdmin):
    """The outbox, for the operator: steps waiting, running, or failed with their error.
    Read-only but for "try again" (casework/workflow.py); done steps are gone."""

    list_display = ["pk", "kind", "case", "state", "attempts", "last_error", "created_at"]
    list_filter = ["state", "kind"]
    ordering = ["state", "pk"]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Try the failed steps again"))
    def retry(self, request, queryset):
        count = services.retry_failed_steps(
            list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(request, _("%(count)d step(s) sent again.") % {"count": count})


# django-otp registers its device pages on the admin: they would show members' TOTP
# secrets and recovery codes to the operator, and let her add a device of her choosing
# to someone's account.  The only operator act on devices is the audited reset above.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class RoutingRuleForm(forms.ModelForm):
    categories = _tick_boxes(_("categories"), facts.Category.choices, _("None ticked: any."))
    regions = _tick_boxes(_("regions"), facts.Region.choices, _("None ticked: any."))
    languages = _tick_boxes(_("languages"), facts.Language.choices, _("None ticked: any."))
    age_bands = _tick_boxes(_("age bands"), facts.AgeBand.choices, _("None ticked: any."))
    services = _tick_boxes(
        _("services"), facts.Service.choices, _("None ticked: any. Several: she asked for one.")
    )

    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "active",
            "priority",
            "categories",
            "regions",
            "languages",
            "age_bands",
            "services",
            "urgency",
            "organizations",
        ]


class DryRunForm(forms.Form):
    """A report's routing facts, to see where it would go; nothing is filed."""

    category = forms.ChoiceField(label=_("category"), choices=facts.Category.choices)
    region = forms.ChoiceField(label=_("region"), choices=facts.Region.choices)
    language = forms.ChoiceField(label=_("language"), choices=facts.Language.choices)
    age_band = forms.ChoiceField(label=_("age band"), choices=facts.AgeBand.choices)
    services = _tick_boxes(_("services"), facts.Service.choices, "")
    urgency = _tick_boxes(_("danger signs"), facts.UrgencySignal.choices, "")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ["priority", "name", "active", "urgency"]
    list_display_links = ["name"]
    list_filter = ["active"]
    filter_horizontal = ["organizations"]
    change_list_template = "admin/casework/routingrule/change_list.html"

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "dry-run/",
                self.admin_site.admin_view(self.dry_run),
                name="casework_routingrule_dry_run",
            ),
            *super().get_urls(),
        ]

    def dry_run(self, request):
        """ "This report would go to … because …", from facts typed in; files nothing."""
        from django.template.response import TemplateResponse

        from casework import routing
        from reporting.services import report_facts

        form = DryRunForm(request.POST if request.method == "POST" else None)
        decision = None
        if request.method == "POST" and form.is_valid():
            decision = routing.decide(
                report_facts(**form.cleaned_data, consent_share=True, consent_statistics=True)
            )
        return TemplateResponse(
            request,
            "admin/casework/routingrule/dry_run.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Where would a report go?"),
                "form": form,
                "decision": decision,
                "coordination": routing.coordination(),
            },
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            request.user,
            Action.ROUTING_RULE_CHANGED,
            detail={"rule": obj.pk, "fields": sorted(form.changed_data)},
        )
