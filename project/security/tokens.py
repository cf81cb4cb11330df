"""API tokens that expire, and are revoked on a password change and on log-out through the API.

DRF's ``Token`` never expires. ``ExpiringTokenAuthentication`` refuses (and deletes) a token older
than ``API_TOKEN_MAX_AGE_SECONDS``; the token endpoint then hands out a fresh one. Changing a
password deletes the account's token (a ``pre_save`` receiver compares the stored hash), so a
leaked token dies with the password it was obtained with. ``revoke_token`` serves
``POST /api/v1/auth/logout/``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expired(token: Token) -> bool:
    """Say whether ``token`` is older than ``API_TOKEN_MAX_AGE_SECONDS``."""
    return token.created < timezone.now() - timedelta(seconds=settings.API_TOKEN_MAX_AGE_SECONDS)


def fresh_token(user: Any) -> Token:
    """Return the user's token, replacing it first if it has expired."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


def revoke_token(user: Any) -> int:
    """Delete the user's API token; return how many were deleted (0 or 1)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens older than ``API_TOKEN_MAX_AGE_SECONDS``."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed("The token has expired: ask /api/v1/auth/token/ for a new one.")
        return user, token


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="project.security.tokens.revoke_on_password_change")
def revoke_on_password_change(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Delete the account's API token when its password hash changes."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # a new account, or a save that cannot touch the password (e.g. last_login)
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()
