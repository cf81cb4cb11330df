"""Approximate counts on the real PostgreSQL: exact when small, the statistics' estimate when big."""

from __future__ import annotations

import pytest
from django.db import connection
from pytest_django import DjangoAssertNumQueries

from blog.models import Post
from blog.tests.factories import PostFactory, generate_posts
from project.querysets import ApproxCountQuerySet, approx_count, with_approx_count

pytestmark = pytest.mark.django_db


def test_a_table_below_the_threshold_is_counted_exactly_in_one_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    PostFactory.create_batch(3)
    with django_assert_num_queries(1):  # 1: the capped count with the table's statistics
        count = Post.objects.approx_count()
    assert (count, count.is_estimate) == (3, False)


def test_a_big_unfiltered_count_is_pg_class_statistics_not_a_count(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    generate_posts(1_500)  # and ANALYZE
    # Delete two thirds without analysing again: the statistics still say 1,500 rows.
    Post.objects.filter(id__in=Post.objects.order_by("id").values("id")[:1_000]).delete()
    with django_assert_num_queries(1) as captured:  # 1: the capped count with the table's statistics
        count = approx_count(Post.objects.all(), threshold=100)
    assert "pg_class" in captured.captured_queries[0]["sql"]
    assert (count, count.is_estimate) == (1_500, True)
    assert Post.objects.count() == 500  # count() stays exact


def test_a_big_filtered_count_is_the_planners_row_estimate(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    generate_posts(2_000)  # 200 drafts, 1,800 published, analysed
    # 1: the capped count with the table's statistics, 2: EXPLAIN of the filtered query
    with django_assert_num_queries(2) as captured:
        count = approx_count(Post.objects.filter(status="published"), threshold=100)
    assert captured.captured_queries[1]["sql"].startswith("EXPLAIN")
    assert count.is_estimate
    assert 1_700 <= count <= 1_900  # the status column's statistics know the proportion


def test_a_filtered_count_below_the_threshold_is_exact_and_asks_the_same_queries(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    generate_posts(2_000)
    # 1: the capped count with the table's statistics, 2: EXPLAIN (asked anyway: a fixed number of queries)
    with django_assert_num_queries(2):
        count = Post.objects.filter(status="draft").approx_count()
    assert (count, count.is_estimate) == (200, False)


def test_the_estimate_is_never_below_the_threshold_the_capped_count_proved() -> None:
    generate_posts(300)
    # The statistics say 30 drafts, but the capped count already read 100 rows, so there are at least 100.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE blog_post SET status = 'draft', published_at = NULL")
    count = approx_count(Post.objects.filter(status="draft"), threshold=100)
    assert (count, count.is_estimate) == (100, True)


def test_a_table_never_analysed_is_counted_exactly(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    generate_posts(1_200)
    with connection.cursor() as cursor:  # what a new table looks like before autovacuum's first ANALYZE
        cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = 'blog_post'::regclass")
    with django_assert_num_queries(2):  # 1: the capped count with the table's statistics, 2: COUNT(*)
        count = Post.objects.approx_count()
    assert (count, count.is_estimate) == (1_200, False)


def test_an_empty_filter_is_zero_without_asking_the_database(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    with django_assert_num_queries(0):
        count = Post.objects.filter(id__in=[]).approx_count()
    assert (count, count.is_estimate) == (0, False)


def test_with_approx_count_keeps_the_querysets_own_methods_and_an_exact_count() -> None:
    generate_posts(1_500)
    queryset = with_approx_count(Post.objects.all())
    assert isinstance(queryset, ApproxCountQuerySet)
    published = queryset.published()  # type: ignore[attr-defined]  # PostQuerySet's method survives, and the class
    assert isinstance(published, ApproxCountQuerySet)
    assert published.count().is_estimate  # type: ignore[attr-defined]
    assert published.exact_count() == 1_350
    assert with_approx_count(queryset) is queryset
