"""Who may change a row: the one ownership rule that services, the API and the pages share.

A row with an ``author`` belongs to that user; staff may change any row. Services call
``require_owner_or_staff`` (which raises ``NotPermitted``); the API's object permission and templates
ask ``is_owner_or_staff`` so they never offer what the service would refuse.
"""

from __future__ import annotations

from typing import Any, Protocol

from project.exceptions import NotPermitted


class Authored(Protocol):
    """A row that records its author's id, like ``Post`` and ``Comment``."""

    author_id: Any


def is_owner_or_staff(user: Any, obj: Authored) -> bool:
    """Return whether ``user`` wrote ``obj`` or is staff (an anonymous user is neither)."""
    return bool(getattr(user, "is_staff", False) or (user.pk is not None and obj.author_id == user.pk))


def require_owner_or_staff(user: Any, obj: Authored, action: str) -> None:
    """Raise ``NotPermitted`` unless ``user`` wrote ``obj`` or is staff; ``action`` ends the message."""
    if not is_owner_or_staff(user, obj):
        raise NotPermitted(f"Only the author or staff may {action}.")


def require_staff(user: Any, action: str) -> None:
    """Raise ``NotPermitted`` unless ``user`` is staff."""
    if not getattr(user, "is_staff", False):
        raise NotPermitted(f"Only staff may {action}.")
