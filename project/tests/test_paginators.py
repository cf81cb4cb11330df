"""The counting-free paginator."""

from __future__ import annotations

import pytest
from django.core.paginator import InvalidPage

from project.paginators import ApproxCountPaginator, LookaheadPaginator


def test_pages_know_their_neighbours_without_a_count() -> None:
    paginator = LookaheadPaginator(list(range(25)), per_page=10)
    first, third = paginator.page(1), paginator.page("3")
    assert list(first) == list(range(10))
    assert (first.has_previous(), first.has_next(), first.next_page_number()) == (False, True, 2)
    assert list(third) == [20, 21, 22, 23, 24]
    assert (third.has_previous(), third.has_next(), third.previous_page_number()) == (True, False, 2)


def test_exactly_full_last_page_has_no_next() -> None:
    assert LookaheadPaginator(list(range(20)), per_page=10).page(2).has_next() is False


def test_empty_first_page_is_valid_but_empty_later_pages_are_not() -> None:
    assert list(LookaheadPaginator([], per_page=10).page(1)) == []
    with pytest.raises(InvalidPage):
        LookaheadPaginator([1], per_page=10).page(2)


@pytest.mark.parametrize("number", [0, -2, "x", None, 1001])
def test_bad_numbers_are_invalid(number: object) -> None:
    with pytest.raises(InvalidPage):
        LookaheadPaginator(list(range(5)), per_page=2).page(number)


def test_admin_paginator_counts_a_list_exactly_and_knows_its_last_page() -> None:
    paginator = ApproxCountPaginator(list(range(25)), per_page=10)
    assert (paginator.count, paginator.count.is_estimate, paginator.num_pages) == (25, False, 3)
    last = paginator.page(3)
    assert (list(last), last.has_next(), last.start_index(), last.end_index()) == ([20, 21, 22, 23, 24], False, 21, 25)
    assert paginator.page(2).has_next()
    assert list(paginator.get_elided_page_range(1)) == [1, 2, 3]


@pytest.mark.parametrize("number", [0, 4, "x", None])
def test_admin_paginator_refuses_pages_outside_an_exact_count(number: object) -> None:
    with pytest.raises(InvalidPage):
        ApproxCountPaginator(list(range(25)), per_page=10).page(number)
