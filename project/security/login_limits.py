"""Limit log-in and sign-up attempts per client IP and per username.

Every form that takes a password is limited: the site's log-in, the admin's log-in, the API's token
endpoint (``LOGIN_LIMITED_VIEWS``) and sign-up. A failed log-in (Django's ``user_login_failed``
signal, sent by ``authenticate()`` whichever view called it) counts once against the client's IP
(``client_ip``, so a forged ``X-Forwarded-For`` changes nothing) and once against the username
tried. When either count reaches its limit, ``LoginLimitMiddleware`` answers further attempts with
429, a sentence saying when to try again, and ``Retry-After``, before the view runs, so a locked
attempt costs no password hash. Sign-up counts every attempt, per IP and per username.

Counts are fixed windows in the cache (``LOGIN_LIMIT_CACHE``): a key per IP or username that
expires ``LOGIN_LIMIT_WINDOW_SECONDS`` after its first failure. When that cache cannot be reached
the limit **fails closed**: log-in and sign-up answer 503 with ``Retry-After`` for the outage.
Without counts, every client could guess passwords at full speed; with it closed, people already
logged in (sessions fall back to the database) and API tokens keep working, and only new log-ins
wait for the cache. docs/security.md says more.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import caches
from django.db import DatabaseError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from project.cache.backends import FailSoftRedisCache
from project.client_ip import client_ip

logger = logging.getLogger(__name__)

# URL names whose POST takes a password (log-in) or creates an account (sign-up).
LOGIN_LIMITED_VIEWS = frozenset({"users:login", "admin:login", "api:token"})
SIGNUP_LIMITED_VIEWS = frozenset({"users:signup"})


class CacheUnavailable(Exception):
    """The cache holding the counts did not answer."""


@dataclass(frozen=True)
class Count:
    """How many attempts a key holds, and how many seconds are left in its window."""

    attempts: int
    seconds_left: int


def _key(kind: str, value: str) -> str:
    # Hashed: a username is any text the client sent, and a cache key must be short and safe.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"loginlimit:{kind}:{digest}"


def _cache() -> Any:
    return caches[settings.LOGIN_LIMIT_CACHE]


def read_counts(keys: list[str]) -> list[Count]:
    """Return each key's count and time left; raise ``CacheUnavailable`` if the cache is down."""
    cache = _cache()
    if isinstance(cache, FailSoftRedisCache):
        names = [cache.make_and_validate_key(key) for key in keys]

        def read(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.get(name)
                pipe.ttl(name)
            result: list[Any] = pipe.execute()
            return result

        replies = cache.run(read, None)
        if replies is None:
            raise CacheUnavailable
        return [
            Count(int(replies[i] or 0), max(int(replies[i + 1]), 0) if replies[i] is not None else 0)
            for i in range(0, len(replies), 2)
        ]
    try:
        stored = cache.get_many([f"{key}:n" for key in keys] + [f"{key}:until" for key in keys])
    except (DatabaseError, RedisError, OSError) as error:
        raise CacheUnavailable from error
    now = time.time()
    return [
        Count(int(stored.get(f"{key}:n", 0)), max(math.ceil(stored.get(f"{key}:until", now) - now), 0)) for key in keys
    ]


def count_attempt(keys: list[str]) -> None:
    """Add one attempt to each key, starting its window on the first; raise ``CacheUnavailable``."""
    window = settings.LOGIN_LIMIT_WINDOW_SECONDS
    cache = _cache()
    if isinstance(cache, FailSoftRedisCache):
        names = [cache.make_and_validate_key(key) for key in keys]

        def count(client: Any) -> bool:
            pipe = client.pipeline(transaction=True)
            for name in names:
                pipe.set(name, 0, ex=window, nx=True)  # the window starts at the first failure
                pipe.incr(name)
            pipe.execute()
            return True

        if cache.run(count, None) is None:
            raise CacheUnavailable
        return
    try:
        for key in keys:
            cache.add(f"{key}:until", time.time() + window, window)
            cache.add(f"{key}:n", 0, window)
            cache.incr(f"{key}:n")
    except (DatabaseError, RedisError, OSError, ValueError) as error:
        raise CacheUnavailable from error


def clear(keys: list[str]) -> None:
    """Forget the counts of ``keys`` (a successful log-in clears its username's failures)."""
    try:
        cache = _cache()
        cache.delete_many([*keys, *(f"{key}:n" for key in keys), *(f"{key}:until" for key in keys)])
    except (DatabaseError, RedisError, OSError):
        logger.warning("log-in limit: could not clear counts after a successful log-in")


def login_keys(request: HttpRequest, username: str | None) -> list[tuple[str, int]]:
    """The keys a log-in attempt counts against, each with its limit."""
    keys = [(_key("ip", client_ip(request)), settings.LOGIN_LIMIT_IP_FAILURES)]
    if username:
        keys.append((_key("user", username), settings.LOGIN_LIMIT_USERNAME_FAILURES))
    return keys


def signup_keys(request: HttpRequest, username: str | None) -> list[tuple[str, int]]:
    """The keys a sign-up attempt counts against, each with its limit."""
    keys = [(_key("signup-ip", client_ip(request)), settings.SIGNUP_LIMIT_IP_ATTEMPTS)]
    if username:
        keys.append((_key("signup-user", username), settings.SIGNUP_LIMIT_USERNAME_ATTEMPTS))
    return keys


@receiver(user_login_failed, dispatch_uid="project.security.login_limits.count_failure")
def count_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Count a failed log-in against the client's IP and the username tried."""
    if request is None:  # authenticate() called outside a request (a shell, a command)
        return
    username = credentials.get("username")
    try:
        count_attempt([key for key, _ in login_keys(request, username if isinstance(username, str) else None)])
    except CacheUnavailable:
        # The middleware has already refused attempts while the cache is down; a failure here means
        # it went down during this request. The next attempt will be refused.
        logger.warning("log-in limit: the cache went down while counting a failure")


@receiver(user_logged_in, dispatch_uid="project.security.login_limits.clear_on_success")
def clear_on_success(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Forget the username's failures once its owner has logged in (the IP's count stays)."""
    if request is not None:
        clear([_key("user", user.get_username())])


def submitted_username(request: HttpRequest) -> str | None:
    """The username a log-in or sign-up POST names, from a form or a JSON body, or None."""
    try:
        if request.content_type == "application/json":
            body = json.loads(request.body or b"{}")
            value = body.get("username") if isinstance(body, dict) else None
        else:
            value = request.POST.get("username")
    except Exception:  # an unreadable body: the view refuses it with its own 400
        return None
    return value[:150] if isinstance(value, str) and value.strip() else None


def too_many_attempts(request: HttpRequest, *, retry_after: int, signup: bool, unavailable: bool) -> HttpResponse:
    """Answer a refused attempt: 429 (or 503 with the cache down), a sentence, and Retry-After."""
    minutes = max(1, math.ceil(retry_after / 60))
    if unavailable:
        detail = "Log-in and sign-up are briefly unavailable. Please try again in a minute."
        status, code = 503, "unavailable"
    elif signup:
        detail = f"Too many sign-up attempts from your network. Try again in {minutes} minute{'s' * (minutes > 1)}."
        status, code = 429, "throttled"
    else:
        detail = f"Too many failed log-in attempts. Try again in {minutes} minute{'s' * (minutes > 1)}."
        status, code = 429, "throttled"
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"status": status, "code": code, "detail": detail}, status=status)
    else:
        html = render_to_string("security/too_many_attempts.html", {"detail": detail}, request=request)
        response = HttpResponse(html, status=status)
    response["Retry-After"] = str(max(retry_after, 1))
    return response


class LoginLimitMiddleware:
    """Refuse log-in and sign-up POSTs over their limits before the view hashes a password."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        if request.method != "POST" or request.resolver_match is None:
            return None
        name = request.resolver_match.view_name
        signup = name in SIGNUP_LIMITED_VIEWS
        if not signup and name not in LOGIN_LIMITED_VIEWS:
            return None
        username = submitted_username(request)
        keys = (signup_keys if signup else login_keys)(request, username)
        try:
            counts = read_counts([key for key, _ in keys])
            over = [
                count.seconds_left for count, (_, limit) in zip(counts, keys, strict=True) if count.attempts >= limit
            ]
            if over:
                logger.warning("log-in limit reached for %s from %s", name, client_ip(request))
                return too_many_attempts(request, retry_after=max(over), signup=signup, unavailable=False)
            if signup:
                count_attempt([key for key, _ in keys])
        except CacheUnavailable:
            retry = math.ceil(getattr(settings, "REDIS_CACHE_RETRY_AFTER", 5))
            return too_many_attempts(request, retry_after=retry, signup=signup, unavailable=True)
        return None
