"""Account writes with side effects."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from project.exceptions import Conflict
from users.models import User


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str) -> User:
    """Create an ordinary (non-staff) account; ``Conflict`` if the username was taken meanwhile.

    The sign-up form checks the username first; two sign-ups racing for one name both pass that
    check, and the unique index refuses the second.
    """
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError as error:
        if User.objects.filter(username=username).exists():
            raise Conflict(f"The username {username!r} was taken a moment ago; choose another.") from error
        raise


@transaction.atomic
def user_update_profile(*, user: User, display_name: str, bio: str) -> User:
    """Change the name and bio the author page shows."""
    user.display_name = display_name.strip()
    user.bio = bio.strip()
    user.save(update_fields=["display_name", "bio"])
    return user
