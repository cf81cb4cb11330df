"""factory_boy factories for accounts."""

from __future__ import annotations

import factory

from users.models import User

PASSWORD = "a-long-test-password"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
