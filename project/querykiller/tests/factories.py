"""factory_boy factories for the query killer's model."""

from __future__ import annotations

from datetime import timedelta

import factory

from project.querykiller.models import KilledQuery


class KilledQueryFactory(factory.django.DjangoModelFactory[KilledQuery]):
    """A web request's statement the killer cancelled on the primary."""

    class Meta:
        model = KilledQuery

    database = "default"
    server = "db:5432/blog"
    pid = factory.Sequence(lambda n: 1000 + n)
    role = "blog"
    application_name = "django-web"
    client_address = "10.0.0.5"
    duration = timedelta(seconds=31.5)
    query = "SELECT pg_sleep(60)"
    action = KilledQuery.Action.CANCELLED
