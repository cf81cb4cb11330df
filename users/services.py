"""Account writes with side effects."""

from __future__ import annotations

from django.db import transaction

from users.models import User


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str) -> User:
    """Create an ordinary (non-staff) account."""
    return User.objects.create_user(username=username, email=email, password=password)


@transaction.atomic
def user_update_profile(*, user: User, display_name: str, bio: str) -> User:
    """Change the name and bio the author page shows."""
    user.display_name = display_name.strip()
    user.bio = bio.strip()
    user.save(update_fields=["display_name", "bio"])
    return user
