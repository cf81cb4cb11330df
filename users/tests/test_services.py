"""Account services."""

from __future__ import annotations

import pytest

from project.exceptions import Conflict
from users.models import User
from users.services import user_sign_up

pytestmark = pytest.mark.django_db


def test_sign_up_makes_an_ordinary_account_that_logs_in() -> None:
    user = user_sign_up(username="ada", email="ada@example.com", password="a long passphrase")
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert user.check_password("a long passphrase")


def test_a_username_taken_after_the_forms_check_is_a_conflict_not_a_crash() -> None:
    # The form's check passed for both racers; the service is what the second one reaches.
    user_sign_up(username="ada", email="", password="a long passphrase")
    with pytest.raises(Conflict, match="'ada' was taken"):
        user_sign_up(username="ada", email="", password="another passphrase")
    assert User.objects.filter(username="ada").count() == 1
