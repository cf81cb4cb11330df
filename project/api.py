"""DRF bases every API viewset inherits, so paging, permissions, throttles and errors are decided once.

The viewsets name their related rows (``select_related``, ``prefetch_related``, or annotations in
``build_queryset``, built once per process) so every endpoint runs a fixed number of queries, and
refuse query parameters they do not know (a typo in a filter must not silently return everything).
The policies the ``REST_FRAMEWORK`` setting names (error shape, parser, throttles, permissions) are
in ``project/api_policies.py``; ``AutoSchema`` here documents their error responses on every
operation.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, filters, mixins, permissions, viewsets
from rest_framework.request import Request

from project.api_policies import (
    Conflict,
    ErrorSerializer,
    FilterBackend,
    IsOwnerOrStaffOrReadOnly,
    IsStaffOrReadOnly,
    JSONParser,
)

__all__ = [
    "AutoSchema",
    "Conflict",
    "FilterBackend",
    "GenericViewSet",
    "IsOwnerOrStaffOrReadOnly",
    "IsStaffOrReadOnly",
    "JSONParser",
    "ModelViewSet",
    "OrderingFilter",
    "ReadOnlyModelViewSet",
]

# Query parameters every endpoint understands: DRF's format override (the browsable API uses it).
COMMON_QUERY_PARAMS = frozenset({"format"})


# --- Viewsets ----------------------------------------------------------------------------------


# Each viewset class's QuerySet per action, built once per process (GenericViewSet.get_queryset).
_BASE_QUERYSETS: dict[tuple[type, str | None], QuerySet[Any]] = {}


class GenericViewSet(viewsets.GenericViewSet):
    """The base of every viewset: related rows named once, unknown query parameters refused."""

    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[Any, ...] = ()

    @classmethod
    def build_queryset(cls, action: str | None) -> QuerySet[Any]:
        """The rows an action reads, before anything that depends on the request.

        ``get_queryset`` builds this once per viewset class and action and clones it for every
        request: composing the related rows, prefetches and annotations is a noticeable part of a
        list request, and the result is the same every time. A classmethod, so it cannot see the
        request (and so cannot cache one user's rows for everyone): filters that depend on the
        requester go in ``get_queryset``. Override to add annotations or to choose the columns an action reads.
        """
        assert cls.queryset is not None, f"{cls.__name__} needs a queryset"
        queryset = cls.queryset.all()
        if cls.select_related:
            queryset = queryset.select_related(*cls.select_related)
        if cls.prefetch_related:
            queryset = queryset.prefetch_related(*cls.prefetch_related)
        return queryset

    def get_queryset(self) -> Any:
        key = (type(self), self.action)
        base = _BASE_QUERYSETS.get(key)
        if base is None:
            base = _BASE_QUERYSETS.setdefault(key, self.build_queryset(self.action))
        return base.all()  # a clone: the shared QuerySet is never evaluated or changed

    def known_query_params(self) -> set[str]:
        """Every query parameter this endpoint reads: its filters, search, ordering and paging."""
        known = set(COMMON_QUERY_PARAMS)
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            known.update(filterset_class.base_filters)
        for backend in self.filter_backends:
            for name in ("search_param", "ordering_param"):
                if hasattr(backend, name) and getattr(self, name.replace("_param", "_fields"), None):
                    known.add(getattr(backend, name))
        if getattr(self, "detail", False) is False and self.paginator is not None:
            known.update(
                name
                for name in (
                    getattr(self.paginator, "cursor_query_param", None),
                    getattr(self.paginator, "page_size_query_param", None),
                )
                if name
            )
        return known

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.known_query_params())
        if unknown:
            raise exceptions.ValidationError({key: ["Unknown query parameter."] for key in unknown})


class ReadOnlyModelViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, GenericViewSet):
    """A read-only viewset on the project's bases."""


class ModelViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ReadOnlyModelViewSet,
):
    """A read-write viewset; ``perform_create`` and friends call the app's service functions."""


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering, refusing (400) a field not in the view's ``ordering_fields`` instead of ignoring it.

    Only indexed columns belong in ``ordering_fields``: ordering a big table by anything else sorts
    every matching row to return twenty.
    """

    def remove_invalid_fields(self, queryset: Any, fields: Any, view: Any, request: Any) -> list[str]:
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        invalid = [term for term in fields if term not in valid]
        if invalid:
            allowed = sorted({f"{sign}{name}" for name in view.ordering_fields for sign in ("", "-")})
            raise exceptions.ValidationError({self.ordering_param: [f"Order by one of: {', '.join(allowed)}."]})
        return list(valid)


# --- OpenAPI -----------------------------------------------------------------------------------

ERROR_DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, a wrong type, or an unknown or invalid query parameter.",
    401: "Authentication is required (or the credentials given are invalid).",
    403: "Authenticated, but not allowed: not the author, not staff, or a missing CSRF token.",
    404: "No such resource, or not visible to you (e.g. someone else's draft).",
    405: "The method is not allowed on this resource.",
    409: "The request conflicts with the resource's current state.",
    413: "The request body is larger than the server accepts.",
    415: "The body is not JSON.",
    429: "Too many requests: slow down and retry after the `Retry-After` header's seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    """Document the error responses every operation can return, all with ``ErrorSerializer``."""

    def _error_statuses(self) -> set[int]:
        method = self.method.upper()
        statuses = {400, 405, 429}  # unknown query parameters, method checks, throttles everywhere
        if self._is_list_view() is False or "{" in self.path:
            statuses.add(404)
        if method not in permissions.SAFE_METHODS:
            statuses |= {401, 403, 413, 415}
        permission_classes = getattr(self.view, "permission_classes", [])
        if any(
            not issubclass(cls, (permissions.AllowAny, permissions.IsAuthenticatedOrReadOnly, IsStaffOrReadOnly))
            for cls in permission_classes
        ):
            statuses |= {401, 403}
        statuses |= set(getattr(self.view, "extra_error_statuses", {}).get(method, ()))
        return statuses

    def get_auth(self) -> list[dict[str, Any]]:
        # drf-spectacular marks anonymous access only for the exact AllowAny/IsAuthenticatedOrReadOnly
        # classes; the project's subclasses open reads the same way.
        auths: list[dict[str, Any]] = super().get_auth()
        read_open = (permissions.IsAuthenticatedOrReadOnly, IsStaffOrReadOnly)
        perms = [type(p) for p in self.view.get_permissions()]
        if self.method in permissions.SAFE_METHODS and any(issubclass(p, read_open) for p in perms) and {} not in auths:
            auths.append({})
        return auths

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_statuses()):
            key = str(code)
            if key not in responses:
                responses[key] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]), key, direction=direction
                )
        return responses
