"""The custom User model, in place from the first migration so it can grow without a painful swap."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse


class User(AbstractUser):
    """A person who reads, writes posts and comments; ``username`` is their public handle."""

    bio = models.TextField(blank=True, help_text="Shown on the author page.")

    def __str__(self) -> str:
        return self.username

    def get_absolute_url(self) -> str:
        return reverse("blog:author", kwargs={"username": self.username})
