"""Account writes with side effects."""

from __future__ import annotations

from django.db import transaction

from users.models import User


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str) -> User:
    """Create an ordinary (non-staff) account."""
    return User.objects.create_user(username=username, email=email, password=password)
