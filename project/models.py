"""Base model and QuerySet that every app's models inherit (the talk's "wrap Django's classes").

A behaviour added here (approximate counts, replica reads, ...) reaches every model of every app.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model, covariant=True)


class QuerySet(models.QuerySet[_M]):
    """The QuerySet every app's QuerySet subclasses; site-wide query behaviour lives here."""


class Model(models.Model):
    """The abstract base of every model in the project."""

    objects = QuerySet.as_manager()

    class Meta:
        abstract = True


class TimestampedModel(Model):
    """A model that records when each row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
