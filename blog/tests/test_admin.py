"""The blog's admin pages, on the project's ModelAdmin."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from blog.models import Comment, Post, PostTag, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory, generate_posts
from project.admin import ModelAdmin
from users.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def registered_models() -> list[type[Model]]:
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def test_every_registered_model_uses_the_project_model_admin() -> None:
    for model in registered_models():
        if model._meta.app_label in {"blog", "users", "project", "querykiller"}:
            assert isinstance(admin.site.get_model_admin(model), ModelAdmin), model


def test_foreign_keys_use_raw_id_widgets_never_select_boxes() -> None:
    assert admin.site.get_model_admin(Post).raw_id_fields == ("author",)
    # Tags are edited as PostTag rows in an inline, each picking its tag by autocomplete.
    request = RequestFactory().get("/")
    request.user = StaffFactory.create(is_superuser=True)
    (inline,) = admin.site.get_model_admin(Post).get_inline_instances(request)
    assert inline.model is PostTag and inline.autocomplete_fields == ("tag",) and inline.raw_id_fields == ()
    assert set(admin.site.get_model_admin(Comment).raw_id_fields) == {"post", "author"}


@pytest.mark.parametrize("model", [Post, Comment, Tag])
def test_changelist_add_and_change_pages_load(client: Client, model: type[Model]) -> None:
    client.force_login(StaffFactory.create())
    post = PostFactory.create(tags=[TagFactory.create()])
    CommentFactory.create(post=post)
    obj = model._default_manager.first()
    assert obj is not None
    info = (model._meta.app_label, model._meta.model_name)
    for url in (
        reverse("admin:{}_{}_changelist".format(*info)),
        reverse("admin:{}_{}_add".format(*info)),
        reverse("admin:{}_{}_change".format(*info), args=[obj.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'<select name="author"' not in response.content


def test_tags_added_in_the_admin_inline_carry_the_posts_listed_since(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    post = PostFactory.create(tags=[TagFactory.create(name="kept")])
    added = TagFactory.create(name="added")
    assert post.published_at is not None
    response = client.post(
        reverse("admin:blog_post_change", args=[post.pk]),
        {
            "author": post.author_id,
            "title": post.title,
            "slug": post.slug,
            "body": post.body,
            "status": "published",
            "published_at_0": post.published_at.strftime("%Y-%m-%d"),
            "published_at_1": post.published_at.strftime("%H:%M:%S"),
            "tag_links-TOTAL_FORMS": "2",
            "tag_links-INITIAL_FORMS": "1",
            "tag_links-0-id": str(post.tag_links.get().pk),
            "tag_links-0-post": str(post.pk),
            "tag_links-0-tag": str(post.tag_links.get().tag_id),
            "tag_links-1-post": str(post.pk),
            "tag_links-1-tag": str(added.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    post.refresh_from_db()
    links = {link.tag.name: link.listed_since for link in post.tag_links.select_related("tag")}
    assert links == {"kept": post.published_at, "added": post.published_at}


def test_post_changelist_search_and_filter(client: Client) -> None:
    client.force_login(StaffFactory.create())
    PostFactory.create(title="Indexes explained")
    PostFactory.create(title="Replica lag", draft=True)
    url = reverse("admin:blog_post_changelist")
    assert [p.title for p in client.get(url, {"q": "index"}).context["cl"].result_list] == ["Indexes explained"]
    assert [p.title for p in client.get(url, {"status__exact": "draft"}).context["cl"].result_list] == ["Replica lag"]


@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # 1: the staff user (the session is a cache read), 2: the capped count with the table's
        # statistics, 3: the page
        ({}, 3),
        # ... and 3: EXPLAIN of the filtered query (for the estimate), 4: the page
        ({"status__exact": "draft"}, 4),
        ({"status__exact": "published"}, 4),
        ({"q": "post 12"}, 4),
    ],
)
def test_post_changelist_runs_the_same_queries_at_any_table_size(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, params: dict[str, str], queries: int
) -> None:
    client.force_login(StaffFactory.create())
    url = reverse("admin:blog_post_changelist")
    author = generate_posts(30)  # every count exact
    with django_assert_num_queries(queries):
        small = client.get(url, params)
    generate_posts(5_000, author=UserFactory.create())  # every count but drafts' an estimate
    with django_assert_num_queries(queries):
        big = client.get(url, params)
    assert small.status_code == big.status_code == 200
    assert not small.context["cl"].result_count.is_estimate
    assert len(big.context["cl"].result_list) == 50
    assert author.pk


def test_changelist_says_about_when_the_count_is_an_estimate(client: Client) -> None:
    client.force_login(StaffFactory.create())
    url = reverse("admin:blog_post_changelist")
    generate_posts(3)
    assert b"3 posts" in client.get(url).content and b"about" not in client.get(url).content
    generate_posts(2_000, author=UserFactory.create())  # 2,003 rows, analysed
    page = client.get(url).content.decode()
    assert "about 2,003 posts" in page
    search = client.get(url, {"q": "generated"}).content.decode()
    assert re.search(r"about [\d,]+ results", search)


def test_estimated_changelist_links_nearby_pages_never_the_estimated_last_ones(client: Client) -> None:
    client.force_login(StaffFactory.create())
    generate_posts(2_000)  # 40 pages of 50
    page = client.get(reverse("admin:blog_post_changelist"), {"p": "10"}).content.decode()
    assert re.findall(r'href="\?p=(\d+)"', page) == ["1", "2", "7", "8", "9", "11", "12", "13"]
    assert "…" in page


def test_comment_changelist_searches_by_exact_post_slug(client: Client) -> None:
    client.force_login(StaffFactory.create())
    post = PostFactory.create(slug="indexes-explained")
    CommentFactory.create(post=post, body="Found")
    CommentFactory.create(post=PostFactory.create(slug="indexes-explained-again"))
    url = reverse("admin:blog_comment_changelist")
    assert [c.body for c in client.get(url, {"q": "indexes-explained"}).context["cl"].result_list] == ["Found"]
    assert list(client.get(url, {"q": "INDEXES-EXPLAINED"}).context["cl"].result_list) == []


@pytest.mark.parametrize("model", [Post, Comment])
def test_changelists_read_only_the_columns_they_show(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, model: type[Model]
) -> None:
    # list_only keeps the body and the authors' accounts out of the page's query; a column, __str__
    # or checkbox label reading a left-out field would cost a query per row here.
    client.force_login(StaffFactory.create())
    comments = [CommentFactory.create(post=PostFactory.create(title=f"Post {n}")) for n in range(5)]
    url = reverse(f"admin:blog_{model._meta.model_name}_changelist")
    with django_assert_num_queries(3) as captured:  # the staff user, the capped count, the page
        page = client.get(url).content.decode()
    page_query = captured.captured_queries[-1]["sql"]
    assert '"body"' not in page_query and '"password"' not in page_query
    for comment in comments:
        assert (
            f">{comment.author.username}<" in page if model is Comment else f">{comment.post.author.username}<" in page
        )
        assert f"{comment.post.title}</" in page


def test_no_admin_uses_date_hierarchy_or_facets() -> None:
    for model in registered_models():
        model_admin = admin.site.get_model_admin(model)
        if isinstance(model_admin, ModelAdmin):
            assert model_admin.date_hierarchy is None, model_admin
            assert model_admin.show_facets is admin.ShowFacets.NEVER


def test_tag_autocomplete_pages_without_counting(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client.force_login(StaffFactory.create())
    for n in range(25):
        TagFactory.create(name=f"django-{n:02}", slug=f"django-{n:02}")
    params = {"app_label": "blog", "model_name": "post", "field_name": "tags", "term": "django"}
    with django_assert_num_queries(2):  # 1: the staff user (the session is cached), 2: 21 tags (20 and a lookahead)
        response = client.get(reverse("admin:autocomplete"), params)
    assert response.status_code == 200
    assert response.json()["pagination"] == {"more": True}
    assert [tag["text"] for tag in response.json()["results"]][:2] == ["django-00", "django-01"]


def test_publishing_without_a_date_in_the_admin_says_so_in_words(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    post = PostFactory.create(draft=True)
    response = client.post(
        reverse("admin:blog_post_change", args=[post.pk]),
        {
            "author": post.author_id,
            "title": post.title,
            "slug": post.slug,
            "body": post.body,
            "status": "published",
            "published_at_0": "",
            "published_at_1": "",
            "tag_links-TOTAL_FORMS": "0",
            "tag_links-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "A published post needs a publication date" in html
    assert "post_published_has_date" not in html
    post.refresh_from_db()
    assert post.status == "draft"


def test_post_change_form_names_every_input(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    post = PostFactory.create(tags=[TagFactory.create(name="kept")])
    html = client.get(reverse("admin:blog_post_change", args=[post.pk])).content.decode()
    assert 'aria-label="Published at (date)"' in html and 'aria-label="Published at (time)"' in html
    assert re.search(r'<select name="tag_links-0-tag"[^>]*aria-label="Tag"', html)
