"""Base views every app's views inherit, so list pages share one pagination and one N+1 policy."""

from __future__ import annotations

from typing import Any

from django.core.paginator import InvalidPage
from django.db.models import QuerySet
from django.http import Http404
from django.views import generic

from project.paginators import LookaheadPage, LookaheadPaginator


class QuerySetMixin:
    """Name the related rows a view needs once, so every list and detail view avoids N+1 queries.

    Subclasses set ``select_related`` for to-one relations shown on the page and
    ``prefetch_related`` for to-many ones; ``get_queryset()`` applies both.
    """

    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[Any, ...] = ()

    def get_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset()  # type: ignore[misc]
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset


class ListView(QuerySetMixin, generic.ListView):
    """A list page paginated without ``COUNT(*)``: one query for the page whatever the table size."""

    paginate_by = 20
    page_kwarg = "page"

    def paginate_queryset(  # type: ignore[override]  # a LookaheadPage quacks like a Page, without the count
        self, queryset: Any, page_size: int
    ) -> tuple[Any, LookaheadPage, list[Any], bool]:
        paginator = LookaheadPaginator(queryset, page_size)
        try:
            page = paginator.page(self.request.GET.get(self.page_kwarg) or 1)
        except InvalidPage as exc:
            raise Http404(str(exc)) from exc
        return paginator, page, page.object_list, page.has_other_pages()


class DetailView(QuerySetMixin, generic.DetailView):
    """A detail page whose related rows are named in ``select_related``/``prefetch_related``."""
