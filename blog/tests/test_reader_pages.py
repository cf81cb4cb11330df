"""Search, feeds, sitemap, robots.txt, error pages: content and the exact queries each runs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries, Settings

from blog.tests.factories import PostFactory, TagFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_search_matches_titles_and_bodies_with_stemming_and_runs_two_queries(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    tag = TagFactory.create(name="db")
    by_title = PostFactory.create(title="Indexing huge tables", body="Nothing to see.", tags=[tag])
    by_body = PostFactory.create(title="Another post", body="We **indexed** the comments table.")
    PostFactory.create(title="Unrelated", body="Cats and dogs.")
    PostFactory.create(title="Draft about indexes", body="index", draft=True)
    # 1: the page of matching posts with authors and comment counts, 2: their tags
    with django_assert_num_queries(2):
        response = client.get(reverse("blog:search"), {"q": "index"})
    assert response.status_code == 200
    assert [p.pk for p in response.context["posts"]] == [by_body.pk, by_title.pk]
    html = response.content.decode()
    assert "<title>Search: index · Django at Scale</title>" in html
    assert "We indexed the comments table." in html  # the excerpt, as plain text


def test_empty_search_runs_no_query_and_odd_input_is_not_an_error(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0):
        assert client.get(reverse("blog:search")).status_code == 200
    for q in ['"unclosed', "-", "a & b | !c", "x" * 5000, "(){}[]<>:*"]:
        assert client.get(reverse("blog:search"), {"q": q}).status_code == 200


def test_site_feeds_list_the_newest_published_posts_in_one_query(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    post = PostFactory.create(title="Fresh", body="Hello [there](https://example.com)")
    PostFactory.create(title="Hidden draft", draft=True)
    # 1: the newest published posts with their authors
    with django_assert_num_queries(1):
        atom = client.get(reverse("blog:feed"))
    assert atom["Content-Type"].startswith("application/atom+xml")
    body = atom.content.decode()
    assert "Fresh" in body and "Hidden draft" not in body
    assert "nofollow ugc noopener" in body.replace("&quot;", '"')
    rss = client.get(reverse("blog:feed-rss"))
    assert rss["Content-Type"].startswith("application/rss+xml") and post.get_absolute_url() in rss.content.decode()


def test_tag_and_author_feeds_run_two_queries_and_404_when_unknown(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    tag = TagFactory.create(name="django")
    author = UserFactory.create(username="ada")
    PostFactory.create(title="Tagged", tags=[tag])
    PostFactory.create(title="By Ada", author=author)
    # 1: the tag, 2: its newest posts
    with django_assert_num_queries(2):
        body = client.get(reverse("blog:tag-feed", args=["django"])).content.decode()
    assert "Tagged" in body and "By Ada" not in body
    # 1: the author, 2: their newest posts
    with django_assert_num_queries(2):
        body = client.get(reverse("blog:author-feed", args=["ada"])).content.decode()
    assert "By Ada" in body and "Tagged" not in body
    assert client.get(reverse("blog:tag-feed", args=["nope"])).status_code == 404
    assert client.get(reverse("blog:author-feed", args=["nobody"])).status_code == 404


def test_sitemap_pages_are_id_ranges_and_never_count(
    client: Client, settings: Settings, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    settings.BLOG_SITEMAP_PAGE_SIZE = 2
    posts = [PostFactory.create() for _ in range(3)]
    draft = PostFactory.create(draft=True)
    first_id = posts[0].pk
    # 1: the highest post id (pages are ranges of ids, so nothing is counted)
    with django_assert_num_queries(1):
        index = client.get(reverse("blog:sitemap")).content.decode()
    pages = (draft.pk + 1) // 2  # ids start wherever the sequence stands: pages cover 1..highest id
    assert index.count("<sitemap>") == 1 + pages
    listed = []
    for number in range((first_id + 1) // 2, pages + 1):
        # 1: the published posts with ids in this page's range
        with django_assert_num_queries(1):
            listed += [
                line
                for line in client.get(reverse("blog:sitemap-posts", args=[number])).content.decode().splitlines()
                if "<url>" in line
            ]
    assert len(listed) == 3 and all(p.slug in "".join(listed) for p in posts)
    assert draft.slug not in "".join(listed)
    assert client.get("/sitemap-posts-0.xml").status_code == 404


def test_robots_txt_points_at_the_sitemap_and_favicon_redirects(client: Client) -> None:
    body = client.get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in body and "Sitemap: http://testserver/sitemap.xml" in body
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


def test_post_page_links_its_older_and_newer_neighbours(client: Client) -> None:
    older, middle, newer = (PostFactory.create(title=t) for t in ("Older one", "Middle one", "Newer one"))
    html = client.get(middle.get_absolute_url()).content.decode()
    assert f'<a rel="prev" href="{older.get_absolute_url()}">' in html
    assert f'<a rel="next" href="{newer.get_absolute_url()}">' in html


def test_list_pages_put_the_page_number_in_the_title(client: Client, settings: Settings) -> None:
    settings.BLOG_POSTS_PER_PAGE = 1
    PostFactory.create_batch(2)
    assert "<title>Latest posts · page 2 · Django at Scale</title>" in client.get("/?page=2").content.decode()


def test_404_is_the_sites_own_page_with_a_way_home(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'href="/"' in html and "site.css" in html


def test_403_is_the_sites_own_page(client: Client) -> None:
    post = PostFactory.create()
    client.force_login(UserFactory.create())
    response = client.get(reverse("blog:post-edit", args=[post.slug]))
    assert response.status_code == 403 and "Not allowed" in response.content.decode()


def test_500_page_renders_with_no_database_and_no_cache(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    from django.test import RequestFactory

    from project.api_policies import server_error

    # 0 queries: the page may be shown because the database failed.
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and 'href="/"' in html
