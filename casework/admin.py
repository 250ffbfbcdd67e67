from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from casework.models import Membership, Organization, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "email", "is_active", "is_superuser", "last_login"]
