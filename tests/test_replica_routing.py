"""The router on the real streaming replica: where each read lands, pinning, failover and lag.

These tests are transactional, so their data is committed and reaches the replica by replication
(``wait_for``). They stop, start and pause only the replica that the ``replica`` alias points at,
and always start or resume it again.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.signals import request_started
from django.db import connections, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from blog.models import Comment, Post, Tag
from blog.tests.factories import PostFactory, TagFactory
from project.celery import app
from project.replicas.router import (
    current_scope,
    primary_db,
    read_scope,
    replica_alias,
    replica_lag_seconds,
    reset_health,
)
from tests.support import wait_for
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(databases=["default", "replica"], transaction=True)

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_health() -> Iterator[None]:
    """Start each test with no cached replica health: its first choice measures the lag."""
    reset_health()
    yield
    reset_health()


def in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return bool(cursor.fetchone()[0])


def replicated(post: Post) -> Post:
    """Wait until ``post`` (and what was committed with it) has been replayed on the replica."""
    return wait_for(lambda: Post.objects.using("replica").filter(pk=post.pk).first())


class Captured(CaptureQueriesContext):
    """Django's query capture, without connecting first: the replica may be stopped."""

    def __enter__(self) -> Captured:
        self.force_debug_cursor = self.connection.force_debug_cursor
        self.connection.force_debug_cursor = True
        self.initial_queries = len(self.connection.queries_log)
        self.final_queries = None
        request_started.disconnect(reset_queries)
        return self


@contextmanager
def queries() -> Iterator[dict[str, Captured]]:
    """Capture the queries run on the primary and on the replica."""
    captured = {alias: Captured(connections[alias]) for alias in ("default", "replica")}
    for context in captured.values():
        context.__enter__()
    try:
        yield captured
    finally:
        for context in captured.values():
            context.__exit__(None, None, None)


def reads(captured: CaptureQueriesContext) -> list[str]:
    """The captured SQL, without the router's own lag checks."""
    return [query["sql"] for query in captured.captured_queries if "pg_last_wal_replay_lsn" not in query["sql"]]


def sql(captured: CaptureQueriesContext) -> str:
    return "\n".join(reads(captured))


def replica_service(command: str) -> None:
    """Run ``deploy/services.sh`` for the replica the ``replica`` alias points at (its own port)."""
    port = settings.DATABASES["replica"]["PORT"]
    subprocess.run(
        ["deploy/services.sh", command], cwd=BASE_DIR, env={**os.environ, "REPLICA_PORT": str(port)}, check=True
    )


def lag_below(alias: str, limit: float) -> bool:
    lag = replica_lag_seconds(alias)
    return lag is not None and lag < limit


def served_by_replica(client: Client) -> bool:
    """GET the home page and say whether both its queries ran on the replica."""
    with queries() as captured:
        assert client.get(reverse("blog:home")).status_code == 200
    return len(reads(captured["replica"])) == 2 and len(reads(captured["default"])) == 0


def test_get_page_reads_land_on_the_replica_and_nothing_on_the_primary(client: Client) -> None:
    post = replicated(PostFactory.create(title="On the standby", tags=[TagFactory.create(name="django")]))
    assert in_recovery("replica") is True
    with queries() as captured:
        response = client.get(reverse("blog:home"))
    assert response.status_code == 200
    assert post.title.encode() in response.content
    # 1: the page of posts, 2: their tags, both on the standby; nothing on the primary.
    assert len(reads(captured["replica"])) == 2
    assert len(reads(captured["default"])) == 0
    assert "primary_pin" not in response.cookies


def test_api_reads_land_on_the_replica(client: Client) -> None:
    replicated(PostFactory.create())
    with queries() as captured:
        response = client.get("/api/v1/posts/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
    assert len(reads(captured["default"])) == 0
    assert "blog_post" in sql(captured["replica"])


def test_under_asgi_the_middleware_routes_gets_to_the_replica_and_pins_writers() -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    post = replicated(PostFactory.create(title="Served over ASGI"))
    client = AsyncClient()
    with queries() as captured:
        response = async_to_sync(client.get)(reverse("blog:home"))
    assert response.status_code == 200
    assert b"Served over ASGI" in response.content
    assert len(reads(captured["replica"])) == 2
    assert len(reads(captured["default"])) == 0

    client.force_login(UserFactory.create())
    response = async_to_sync(client.post)(
        reverse("blog:comment-create", kwargs={"slug": post.slug}), {"body": "Async hello"}
    )
    assert response.status_code == 302
    assert response.cookies["primary_pin"]["httponly"] is True
    with queries() as captured:
        response = async_to_sync(client.get)(post.get_absolute_url())
    assert b"Async hello" in response.content
    assert len(reads(captured["replica"])) == 0


def test_a_write_reads_on_the_primary_and_pins_the_next_get_there(client: Client) -> None:
    post = replicated(PostFactory.create())
    client.force_login(UserFactory.create())
    with queries() as captured:
        response = client.post(reverse("blog:comment-create", kwargs={"slug": post.slug}), {"body": "First!"})
    assert response.status_code == 302
    assert len(reads(captured["replica"])) == 0  # a POST reads what it checks from the primary
    pin = response.cookies["primary_pin"]
    assert pin["httponly"] is True
    assert pin["samesite"] == "Lax"
    assert int(pin["max-age"]) == settings.REPLICA_PIN_SECONDS
    assert pin.value != "1"  # signed, with a timestamp

    with queries() as captured:
        response = client.get(post.get_absolute_url())
    # The redirect's page shows the new comment at once: read from the primary, not the replica.
    assert b"First!" in response.content
    assert len(reads(captured["replica"])) == 0
    assert "blog_comment" in sql(captured["default"])


def test_the_pin_expires_and_a_forged_pin_is_ignored(client: Client, settings: Any) -> None:
    settings.REPLICA_PIN_SECONDS = 1
    post = replicated(PostFactory.create())
    client.force_login(UserFactory.create())
    client.post(reverse("blog:comment-create", kwargs={"slug": post.slug}), {"body": "Hello"})
    wait_for(lambda: Comment.objects.using("replica").exists())
    time.sleep(1.1)
    with queries() as captured:
        client.get(post.get_absolute_url())
    assert "blog_comment" in sql(captured["replica"])

    client.cookies["primary_pin"] = "1"  # not signed by us
    with queries() as captured:
        client.get(post.get_absolute_url())
    assert "blog_comment" in sql(captured["replica"])


def test_user_reads_stay_on_the_primary_and_sessions_come_from_the_cache(client: Client) -> None:
    post = replicated(PostFactory.create())
    user = UserFactory.create()
    client.force_login(user)
    with queries() as captured:
        response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    # 1: the user; who the user is never comes from a replica. The session is a cache read
    # (cached_db sessions), on neither database.
    assert len(reads(captured["default"])) == 1
    assert "users_user" in sql(captured["default"])
    assert "django_session" not in sql(captured["default"]) + sql(captured["replica"])
    assert "blog_post" in sql(captured["replica"])


def test_reads_after_a_write_in_the_same_scope_use_the_primary() -> None:
    replicated(PostFactory.create())
    with read_scope(replica_by_default=True):
        assert Post.objects.all().db == "replica"
        Tag.objects.create(name="written", slug="written")
        assert Post.objects.all().db == "default"
        assert Tag.objects.filter(slug="written").exists()  # read-your-writes


def test_transactions_and_primary_db_keep_reads_on_the_primary() -> None:
    from django.db import transaction

    with read_scope(replica_by_default=True):
        with transaction.atomic():
            assert Post.objects.all().db == "default"
            assert Post.objects.using_replica().db == "default"
        with primary_db():
            assert Post.objects.all().db == "default"

        @primary_db()
        def decorated() -> str:
            return Post.objects.all().db

        assert decorated() == "default"
        assert Post.objects.all().db == "replica"


def test_using_replica_reads_from_the_standby_outside_any_request() -> None:
    post = replicated(PostFactory.create())
    assert current_scope() is None
    assert Post.objects.all().db == "default"  # no scope: commands and shells read the primary
    queryset = Post.objects.using_replica()
    assert queryset.db == "replica"
    assert queryset.get().pk == post.pk
    assert in_recovery(queryset.db) is True


def test_admin_get_changelist_and_change_form_read_the_replica_and_post_the_primary(client: Client) -> None:
    post = replicated(PostFactory.create(title="Admin me"))
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(staff)
    with queries() as captured:
        response = client.get(reverse("admin:blog_post_changelist"))
    assert response.status_code == 200
    assert b"Admin me" in response.content
    assert "blog_post" in sql(captured["replica"])
    assert "blog_post" not in sql(captured["default"])

    # The users changelist too, although the router keeps ordinary user reads on the primary.
    wait_for(lambda: type(staff).objects.using("replica").filter(pk=staff.pk).exists())
    with queries() as captured:
        response = client.get(reverse("admin:users_user_changelist"))
    assert response.status_code == 200
    assert 'FROM "users_user"' in sql(captured["replica"])

    with queries() as captured:
        response = client.get(reverse("admin:blog_post_change", args=[post.pk]))
    assert response.status_code == 200
    assert 'FROM "blog_post"' in sql(captured["replica"])

    with queries() as captured:
        response = client.post(
            reverse("admin:blog_post_change", args=[post.pk]),
            {
                "author": post.author_id,
                "title": "Admin me, edited",
                "slug": post.slug,
                "body": post.body,
                "status": post.status,
                "published_at_0": post.published_at.strftime("%Y-%m-%d") if post.published_at else "",
                "published_at_1": post.published_at.strftime("%H:%M:%S") if post.published_at else "",
                # The tags inline's management form: no tag rows sent, so the links stay as they are.
                "tag_links-TOTAL_FORMS": "0",
                "tag_links-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    assert len(reads(captured["replica"])) == 0
    with queries() as captured:
        response = client.get(reverse("admin:blog_post_changelist"))
    # Pinned after the POST: the changelist shows the edit at once, from the primary.
    assert b"Admin me, edited" in response.content
    assert len(reads(captured["replica"])) == 0


def test_tasks_read_the_primary_unless_they_opt_in() -> None:
    seen: dict[str, str] = {}

    @app.task(name="tests.where_posts_are_read")
    def where_posts_are_read() -> None:
        seen["default"] = Post.objects.all().db

    @app.task(name="tests.where_posts_are_read_opted_in", replica_reads=True)
    def where_posts_are_read_opted_in() -> None:
        seen["opted_in"] = Post.objects.all().db

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        where_posts_are_read.delay()
        where_posts_are_read_opted_in.delay()
        wait_for(lambda: len(seen) == 2)
    assert seen == {"default": "default", "opted_in": "replica"}


def test_a_stopped_replica_fails_over_to_the_primary_and_comes_back_after_restart(
    client: Client, settings: Any
) -> None:
    settings.REPLICA_DOWN_SECONDS = 1
    post = replicated(PostFactory.create(title="Still here"))
    assert b"Still here" in client.get(reverse("blog:home")).content
    try:
        replica_service("replica-stop")
        for path in (reverse("blog:home"), post.get_absolute_url(), "/api/v1/posts/", "/api/v1/tags/"):
            with queries() as captured:
                response = client.get(path)
            assert response.status_code == 200, path
            assert len(reads(captured["default"])) >= 1, path
        assert b"Still here" in client.get(reverse("blog:home")).content
    finally:
        replica_service("replica-start")
    # Back on the replica once it answers again (after REPLICA_DOWN_SECONDS) and has replayed what
    # it missed. The test client skips Django's per-request connection health check, like a task
    # would, so this also proves the router replaces the connection that died with the server.
    wait_for(lambda: served_by_replica(client), timeout=60, interval=0.2)


def test_a_replica_connection_lost_mid_request_is_retried_on_the_primary() -> None:
    import psycopg

    post = replicated(PostFactory.create())
    with read_scope(replica_by_default=True):
        assert Post.objects.all().db == "replica"
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        replica = settings.DATABASES["replica"]
        with psycopg.connect(
            host=replica["HOST"], port=replica["PORT"], user=replica["USER"], dbname="postgres", autocommit=True
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The replica's connection is gone under the ORM: the read runs on the primary instead.
        assert list(Post.objects.values_list("pk", flat=True)) == [post.pk]
        assert Post.objects.all().db == "default"  # and the scope's later reads stay there
    assert replica_alias() is None  # marked down for REPLICA_DOWN_SECONDS


def test_installing_the_failover_leaves_other_execute_wrappers_working() -> None:
    replicated(PostFactory.create())
    replica = connections["replica"]
    replica.execute_wrappers.clear()  # as in a new thread: the failover is installed at first choice
    seen: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with replica.execute_wrapper(spy), read_scope(replica_by_default=True):
        assert len(list(Post.objects.all())) == 1
    # Django's execute_wrapper() pops the last wrapper on exit: the spy, not the router's failover.
    assert spy not in replica.execute_wrappers
    assert len(replica.execute_wrappers) == 1
    assert any("blog_post" in query for query in seen)


def test_paused_replay_beyond_max_lag_sends_reads_to_the_primary(client: Client, settings: Any) -> None:
    settings.REPLICA_MAX_LAG = 0.5
    settings.REPLICA_LAG_CHECK_SECONDS = 0  # measure at every choice
    replicated(PostFactory.create())
    # A caught-up replica is not lagging, however long ago this database's last commit was. (Other
    # databases of the cluster may be writing, so allow for a sample taken mid-replay.)
    time.sleep(1)
    wait_for(lambda: lag_below("replica", 0.5), timeout=60)
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        PostFactory.create(title="Not replayed yet")
        time.sleep(1)
        lag = replica_lag_seconds("replica")
        assert lag is not None and lag > 0.5
        with queries() as captured:
            response = client.get(reverse("blog:home"))
        assert b"Not replayed yet" in response.content
        assert len(captured["replica"]) == 1  # only the lag check
        assert len(reads(captured["default"])) == 2
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: Post.objects.using("replica").count() == 2, timeout=60)
    wait_for(lambda: served_by_replica(client), timeout=60, interval=0.2)


def test_with_no_replicas_configured_everything_uses_the_primary(client: Client, settings: Any) -> None:
    settings.REPLICA_DATABASES = []
    PostFactory.create()
    with queries() as captured:
        assert client.get(reverse("blog:home")).status_code == 200
        assert Post.objects.using_replica().db == "default"
    assert len(reads(captured["replica"])) == 0
    assert len(reads(captured["default"])) == 2
