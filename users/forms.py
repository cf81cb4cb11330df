"""Account forms."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from users.models import User


class SignUpForm(UserCreationForm):
    """Create an account with a username, an optional e-mail address and a password."""

    class Meta:
        model = User
        fields = ("username", "email")


class ProfileForm(forms.Form):
    """The public profile: a display name and a short bio, both shown on the author page."""

    display_name = forms.CharField(max_length=80, required=False, help_text="Shown instead of your username.")
    bio = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 5}))
