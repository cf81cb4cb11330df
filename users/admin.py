"""Admin for accounts, on the project's ModelAdmin so it inherits the scale defaults."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from project.admin import ModelAdmin
from users.models import User


@admin.register(User)
class UserAdmin(ModelAdmin, DjangoUserAdmin):
    """Django's user admin (password forms, permissions) with the project's defaults first."""

    fieldsets = (*DjangoUserAdmin.fieldsets, ("Profile", {"fields": ("bio",)}))  # type: ignore[misc]
    list_display = ("username", "email", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    # A username prefix and an exact e-mail, each served by its index (users/models.py).
    search_fields = ("^username", "=email")
    ordering = ("-id",)
