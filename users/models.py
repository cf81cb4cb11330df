"""The custom User model, in place from the first migration so it can grow without a painful swap."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse

from project.models import PrefixIndex


class User(AbstractUser):
    """A person who reads, writes posts and comments; ``username`` is their public handle."""

    display_name = models.CharField(
        max_length=80, blank=True, db_default="", help_text="Shown instead of your username."
    )
    bio = models.TextField(blank=True, max_length=2000, help_text="Shown on the author page.")

    class Meta(AbstractUser.Meta):
        indexes = [
            # Admin user search "^username": istartswith, UPPER(username) LIKE 'ABC%'.
            PrefixIndex(Upper("username"), name="user_username_upper_idx"),
            # Admin user search "=email": iexact, UPPER(email) = UPPER('...').
            models.Index(Upper("email"), name="user_email_upper_idx"),
            # Admin user filters staff: yes, superuser: yes, active: no (few rows each), newest first.
            models.Index(fields=["-id"], name="user_staff_idx", condition=Q(is_staff=True)),
            models.Index(fields=["-id"], name="user_superuser_idx", condition=Q(is_superuser=True)),
            models.Index(fields=["-id"], name="user_inactive_idx", condition=Q(is_active=False)),
        ]

    def __str__(self) -> str:
        return self.username

    def get_absolute_url(self) -> str:
        return reverse("blog:author", kwargs={"username": self.username})

    @property
    def public_name(self) -> str:
        """The name pages show: the display name, else the username."""
        return self.display_name or self.username
