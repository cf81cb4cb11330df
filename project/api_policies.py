"""The API's policies, named by ``REST_FRAMEWORK`` in settings: errors, parsing, throttles, permissions.

They live apart from ``project/api.py`` because DRF imports the classes its settings name while
``rest_framework.views`` loads; this module must therefore not import DRF's views or viewsets.

- ``JSONParser`` caps the body at ``DATA_UPLOAD_MAX_MEMORY_SIZE``: DRF reads the request stream
  itself, past Django's own check, so without a cap a client could post gigabytes.
- The throttles read their rates at request time (tests and settings changes see new rates) and,
  when the cache behind them is down, let the request through and log it: throttling protects
  capacity, and an outage of the cache must not become an outage of the API.
- ``exception_handler`` gives every error one JSON shape (``ErrorSerializer``), documented in the
  OpenAPI schema by ``project.api.AutoSchema`` for every status an operation can return.
"""

from __future__ import annotations

import codecs
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django_filters.rest_framework import DjangoFilterBackend
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework import exceptions, parsers, permissions, serializers, status, throttling
from rest_framework.response import Response
from rest_framework.settings import api_settings

from project import exceptions as application
from project.cache.backends import FailSoftRedisCache
from project.client_ip import client_ip
from project.permissions import is_owner_or_staff

logger = logging.getLogger(__name__)

# --- Errors ------------------------------------------------------------------------------------


class Conflict(exceptions.APIException):
    """The request is valid but clashes with the current state of the resource (HTTP 409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    """The body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (HTTP 413)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class ErrorSerializer(serializers.Serializer):
    """The one shape of every API error: status, a stable code, a sentence, and field errors."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated for clients that lose it.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `invalid`, `not_found`, `throttled`.")
    detail = serializers.CharField(help_text="A human-readable sentence.")
    fields = serializers.DictField(  # type: ignore[assignment]  # the metaclass pops it off the class
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation only: each invalid field (or query parameter) with its messages.",
    )


def _flatten(detail: Any) -> list[str]:
    """Turn DRF's nested error detail (lists, dicts) into a flat list of messages."""
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


# A service's refusal (project.exceptions) as the DRF error of the same HTTP status.
APPLICATION_ERRORS: dict[int, type[exceptions.APIException]] = {
    403: exceptions.PermissionDenied,
    404: exceptions.NotFound,
    409: Conflict,
    400: exceptions.ValidationError,
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error as ``ErrorSerializer``; a database constraint race becomes a 409."""
    from rest_framework.views import exception_handler as drf_exception_handler  # see the module docstring

    if isinstance(exc, application.ApplicationError):
        # A service refused (the viewset's permissions catch most refusals before the service runs).
        exc = APPLICATION_ERRORS[application.http_status(exc)](exc.message)
    if isinstance(exc, RequestDataTooBig):
        # Django's own cap, hit when the body was read before the parser (e.g. a form body).
        exc = RequestTooLarge()
    if isinstance(exc, IntegrityError):
        # Validation catches the usual duplicates; this is the race two requests can still lose.
        exc = Conflict()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        if isinstance(exc.detail, dict):
            body["detail"] = "Invalid input."
            body["fields"] = {field: _flatten(messages) for field, messages in exc.detail.items()}
        else:
            body["detail"] = " ".join(_flatten(exc.detail)) or "Invalid input."
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        body["code"] = codes if isinstance(codes, str) else "error"
        body["detail"] = " ".join(_flatten(exc.detail))
    elif isinstance(exc, Http404):
        body["code"] = "not_found"
        body["detail"] = "Not found."
    else:  # Django's PermissionDenied
        body["code"] = "permission_denied"
        body["detail"] = "You do not have permission to perform this action."
    response.data = body
    return response


# --- Parsing -----------------------------------------------------------------------------------


class JSONParser(parsers.JSONParser):
    """Parse a JSON body of at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, refusing more with a 413."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge(f"The request body must be at most {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, LookupError) as error:
            raise exceptions.ParseError(f"The body is not valid JSON: {error}") from None
        except RecursionError:
            # Thousands of nested [ under the size cap exhaust Python's stack (a 500 before).
            raise exceptions.ParseError("The body is nested too deeply.") from None


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValueError(f"{name} is not a JSON value")


# --- Throttling --------------------------------------------------------------------------------


# Sliding-log rate limiting in one atomic round trip: DRF's algorithm (a request is allowed while
# fewer than the rate's count fall within the last duration), kept as a sorted set of request
# times on the Redis server's clock, instead of a pickled list read and rewritten whole per request.
# KEYS[1]: the client's log. ARGV: duration in seconds, allowed count, a unique member.
# Returns {1} if allowed (and logged), else {0, the oldest logged time in the window}.
SLIDING_LOG = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local duration = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now - duration))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2], string.format('%.6f', now)}
end
redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(duration * 1000))
return {1}
"""

# Sent by its SHA1 (EVALSHA), the text only when the server does not know it yet (after a restart).
_SLIDING_LOG_SCRIPT = Script(None, SLIDING_LOG.encode())  # type: ignore[arg-type]  # a client per call


class _CacheTolerantThrottle(throttling.SimpleRateThrottle):
    """Read the rate at request time and let requests through when the throttle's cache is down."""

    def __init__(self) -> None:
        # SimpleRateThrottle reads THROTTLE_RATES once, at import; read it per request instead.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        self.cache = caches[getattr(settings, "API_THROTTLE_CACHE", "default")]
        self.retry_after: float | None = None
        super().__init__()

    def get_ident(self, request: Any) -> str:
        # The site's one notion of the client (TRUSTED_PROXY_COUNT), not DRF's reading of a header
        # the client can write: a forged X-Forwarded-For must not buy a fresh allowance.
        return client_ip(request)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, DatabaseError, OSError) as error:
            # Fail open: a throttle is capacity protection, not security. Log every miss so an
            # outage is visible, and keep serving.
            logger.warning("API throttle cache unavailable, request allowed: %s", error)
            return True


class _SlidingLog(throttling.SimpleRateThrottle):
    """DRF's counting (``SimpleRateThrottle.allow_request``) in one Redis round trip.

    Last in each throttle's bases, so a scope chosen by ``ScopedRateThrottle.allow_request`` is
    set before it runs. On the site's Redis cache it runs ``SLIDING_LOG``: one atomic round trip
    where DRF's makes two (a get, then a set of the whole history, racing other workers in
    between). On any other cache backend (the embedded default's database cache) DRF's own runs.
    """

    retry_after: float | None
    num_requests: int  # set from the rate by SimpleRateThrottle.__init__ (or a scope's allow_request)
    duration: int

    def allow_request(self, request: Any, view: Any) -> bool:
        if not isinstance(self.cache, FailSoftRedisCache):
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # Its own key, not DRF's: a DRF history (a pickled list) left under the plain key by an
        # earlier deployment would make the script fail on the wrong type.
        log_key, member = self.cache.make_and_validate_key(f"{key}:log"), uuid.uuid4().hex
        # None when Redis is unreachable (the cache backend logs that once per retry window): allow.
        reply = self.cache.run(
            lambda client: _SLIDING_LOG_SCRIPT([log_key], [self.duration, self.num_requests, member], client=client),
            None,
        )
        if reply is None or reply[0] == 1:
            return True
        oldest, now = float(reply[1]), float(reply[2])
        self.retry_after = max(self.duration - (now - oldest), 0.0)
        return False

    def wait(self) -> float | None:
        return self.retry_after if getattr(self, "retry_after", None) is not None else super().wait()


class AnonRateThrottle(_CacheTolerantThrottle, throttling.AnonRateThrottle, _SlidingLog):
    """Every request from an anonymous client, per IP address (``API_THROTTLE_ANON_RATE``)."""


class UserRateThrottle(_CacheTolerantThrottle, throttling.UserRateThrottle, _SlidingLog):
    """Every request from a logged-in user, per user (``API_THROTTLE_USER_RATE``)."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # DRF's version also counts anonymous clients by IP, a second cache round trip for what
        # AnonRateThrottle already counts.
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class WriteRateThrottle(_CacheTolerantThrottle, throttling.ScopedRateThrottle, _SlidingLog):
    """Writes only, per user and per endpoint scope (the viewset's ``throttle_scope``)."""

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().allow_request(request, view)


# --- Filtering ---------------------------------------------------------------------------------


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipping the FilterSet when the request names none of its filters.

    Building a FilterSet builds and validates a Django form, a sizeable part of an unfiltered list
    request; with no filter parameter every filter would leave the QuerySet as it is, so the
    QuerySet is returned untouched. A parameter that merely starts with a filter's name (a range
    filter's ``_min``/``_after`` halves) counts as naming it, and a FilterSet with a required
    filter always runs, to refuse its absence.
    """

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None and not any(
            filter_.extra.get("required") or any(param.startswith(name) for param in request.query_params)
            for name, filter_ in filterset_class.base_filters.items()
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


# --- Permissions -------------------------------------------------------------------------------


class IsOwnerOrStaffOrReadOnly(permissions.IsAuthenticatedOrReadOnly):
    """Anyone reads; logged-in users create; only the row's ``author`` (or staff) changes it."""

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or is_owner_or_staff(request.user, obj)


class IsStaffOrReadOnly(permissions.BasePermission):
    """Anyone reads; only staff write."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_staff)


# --- Errors outside DRF's views ----------------------------------------------------------------
# A URL no route matches, or a body Django itself refuses, never reaches a DRF view; under /api/
# these handlers still answer in the API's error shape, elsewhere with Django's own pages.

API_PREFIX = "/api/"


def _api_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"status": status_code, "code": code, "detail": detail}, status=status_code)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 404 in the API's error shape under /api/, with the site's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _api_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 400 (e.g. a form body over the size limit) in the API's error shape under /api/."""
    if request.path.startswith(API_PREFIX):
        return _api_error(400, "bad_request", "The request could not be read.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 403 in the API's error shape under /api/."""
    if request.path.startswith(API_PREFIX):
        return _api_error(403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer 500 in the API's error shape under /api/ (the error is logged and mailed as usual)."""
    if request.path.startswith(API_PREFIX):
        return _api_error(500, "server_error", "Something went wrong on our side.")
    return defaults.server_error(request)
