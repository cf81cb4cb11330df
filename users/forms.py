"""Account forms."""

from __future__ import annotations

from django.contrib.auth.forms import UserCreationForm

from users.models import User


class SignUpForm(UserCreationForm):
    """Create an account with a username, an optional e-mail address and a password."""

    class Meta:
        model = User
        fields = ("username", "email")
