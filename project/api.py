"""DRF base classes every API viewset inherits, so paging and permissions are decided once."""

from __future__ import annotations

from typing import Any

from rest_framework import viewsets


class ReadOnlyModelViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only viewset that names its related rows, like ``project.views.QuerySetMixin``."""

    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[Any, ...] = ()

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset


class ModelViewSet(ReadOnlyModelViewSet, viewsets.ModelViewSet):
    """A read-write viewset; ``perform_create`` and friends call the app's service functions."""
