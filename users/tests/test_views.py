"""Sign-up, log-in and log-out pages, and the user admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse

from users.models import User
from users.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_custom_user_model_is_the_auth_user_model() -> None:
    assert get_user_model() is User


def test_sign_up_creates_an_ordinary_account_and_logs_in(client: Client) -> None:
    response = client.post(
        reverse("users:signup"),
        {"username": "grace", "email": "grace@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(username="grace")
    assert (user.email, user.is_staff, user.is_superuser) == ("grace@example.com", False, False)
    assert user.check_password(PASSWORD)
    assert client.get(reverse("blog:home")).context["user"] == user


def test_sign_up_cannot_make_itself_staff(client: Client) -> None:
    client.post(
        reverse("users:signup"),
        {"username": "mallory", "password1": PASSWORD, "password2": PASSWORD, "is_staff": "on", "is_superuser": "on"},
    )
    assert User.objects.get(username="mallory").is_staff is False


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"username": "x", "password1": PASSWORD, "password2": "different-password"}, b"fields didn"),
        ({"username": "", "password1": PASSWORD, "password2": PASSWORD}, b"This field is required."),
        ({"username": "bad name!", "password1": PASSWORD, "password2": PASSWORD}, b"Enter a valid username"),
        ({"username": "weak", "password1": "123", "password2": "123"}, b"too short"),
    ],
)
def test_sign_up_with_bad_input_shows_errors_and_creates_nothing(
    client: Client, data: dict[str, str], error: bytes
) -> None:
    response = client.post(reverse("users:signup"), data)
    assert response.status_code == 200
    assert error in response.content
    assert not User.objects.exists()


def test_sign_up_refuses_a_taken_username(client: Client) -> None:
    UserFactory.create(username="taken")
    response = client.post(reverse("users:signup"), {"username": "taken", "password1": PASSWORD, "password2": PASSWORD})
    assert b"already exists" in response.content
    assert User.objects.count() == 1


def test_log_in_and_log_out(client: Client) -> None:
    user = UserFactory.create(username="ada")
    assert client.get(reverse("users:login")).status_code == 200
    response = client.post(reverse("users:login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("blog:home")).context["user"] == user
    assert client.post(reverse("users:logout")).status_code == 302
    assert client.get(reverse("blog:home")).context["user"].is_authenticated is False


def test_wrong_password_is_refused(client: Client) -> None:
    UserFactory.create(username="ada")
    response = client.post(reverse("users:login"), {"username": "ada", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_user_admin_changelist_and_change_form(client: Client) -> None:
    staff = StaffFactory.create()
    UserFactory.create_batch(5)
    client.force_login(staff)
    response = client.get(reverse("admin:users_user_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].show_full_result_count is False
    response = client.get(reverse("admin:users_user_change", args=[staff.pk]))
    assert response.status_code == 200
    assert b"Profile" in response.content


def test_get_logout_asks_for_confirmation_and_post_logs_out_with_a_message(client: Client) -> None:
    client.force_login(UserFactory.create())
    response = client.get(reverse("users:logout"))
    assert response.status_code == 200
    assert "Log out?" in response.content.decode()
    response = client.post(reverse("users:logout"), follow=True)
    assert "You are logged out." in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_get_logout_when_logged_out_goes_home(client: Client) -> None:
    assert client.get(reverse("users:logout"))["Location"] == reverse("blog:home")


def test_profile_sets_the_name_and_bio_the_author_page_shows(client: Client) -> None:
    user = UserFactory.create(username="ada")
    client.force_login(user)
    response = client.post(reverse("users:profile"), {"display_name": "Ada Lovelace", "bio": "Writes about engines."})
    assert response["Location"] == user.get_absolute_url()
    page = client.get(user.get_absolute_url()).content.decode()
    assert "Posts by Ada Lovelace" in page and "Writes about engines." in page and "Your profile is saved." in page


def test_password_reset_mails_a_link_that_sets_a_new_password(client: Client, mailoutbox: list[EmailMessage]) -> None:
    user = UserFactory.create(email="ada@example.com")
    response = client.post(reverse("users:password_reset"), {"email": "ada@example.com"})
    assert response["Location"] == reverse("users:password_reset_done")
    (mail,) = mailoutbox
    link = next(line for line in mail.body.splitlines() if "/accounts/reset/" in line)
    response = client.get(link.split("testserver", 1)[1], follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"}
    )
    assert response["Location"] == reverse("users:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("a-brand-new-secret-42")
