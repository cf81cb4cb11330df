"""The router's rules that need no running replica: scopes, isolation, migrations, settings.

Where reads really land on the streaming replica is tested in ``tests/test_replica_routing.py``.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from blog.models import Post, Tag
from blog.tests.factories import PostFactory
from project.replicas.router import PrimaryReplicaRouter, current_scope, primary_db, read_scope, replica_alias
from project.tests.test_env import PRODUCTION, run_check

router = PrimaryReplicaRouter()


@pytest.mark.django_db
def test_tests_wrapped_in_a_transaction_read_and_count_on_the_primary(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Django's TestCase keeps each test in atomic on the primary; "in a transaction -> primary"
    # is what keeps every non-transactional test (and its query counts) off the replica.
    assert connections["default"].in_atomic_block
    PostFactory.create()
    with read_scope(replica_by_default=True):
        assert router.db_for_read(Post) == "default"
        assert replica_alias() is None
        assert Post.objects.using_replica().db == "default"
    # 1: the page of posts, 2: their tags; all on the primary the test counts.
    with django_assert_num_queries(2):
        assert client.get(reverse("blog:home")).status_code == 200


def test_migrations_run_on_the_primary_only() -> None:
    assert router.allow_migrate("default", "blog") is True
    assert router.allow_migrate("replica", "blog") is False
    assert router.allow_migrate("replica", "sessions", model_name="session") is False


def test_writes_go_to_the_primary_and_mark_the_scope_except_session_saves() -> None:
    from django.contrib.sessions.models import Session

    with read_scope(replica_by_default=True) as scope:
        assert router.db_for_write(Session) == "default"
        assert scope.wrote is False
        assert router.db_for_write(Tag) == "default"
        assert scope.wrote is True


def test_auth_session_and_user_reads_always_use_the_primary() -> None:
    from django.contrib.auth.models import Permission
    from django.contrib.sessions.models import Session

    from users.models import User

    with read_scope(replica_by_default=True):
        for model in (Session, Permission, User):
            assert router.db_for_read(model) == "default"


def test_outside_any_scope_reads_use_the_primary() -> None:
    assert current_scope() is None
    assert router.db_for_read(Post) == "default"


def test_read_scopes_do_not_leak_into_other_threads() -> None:
    seen: list[object] = []
    with read_scope(replica_by_default=True) as scope:
        assert current_scope() is scope
        thread = threading.Thread(target=lambda: seen.append(current_scope()))
        thread.start()
        thread.join()
    assert seen == [None]
    assert current_scope() is None


def test_concurrent_asyncio_tasks_keep_their_own_scope_and_primary_db() -> None:
    async def request(replica: bool, pin: bool) -> tuple[bool, bool, bool]:
        with read_scope(replica_by_default=replica):
            await asyncio.sleep(0.01)  # let the other task run inside its own scope
            if pin:
                with primary_db():
                    await asyncio.sleep(0.01)
                    forced = _forced()
            else:
                await asyncio.sleep(0.01)
                forced = _forced()
            scope = current_scope()
            assert scope is not None
            return scope.replica_by_default, forced, current_scope() is scope

    def _forced() -> bool:
        from project.replicas.router import _force_primary

        return _force_primary.get()

    async def both() -> list[tuple[bool, bool, bool]]:
        return list(await asyncio.gather(request(True, False), request(False, True)))

    assert asyncio.run(both()) == [(True, False, True), (False, True, True)]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REPLICA_MAX_LAG": "soon"}, "REPLICA_MAX_LAG must be a number"),
        ({"REPLICA_PIN_SECONDS": "-1"}, "REPLICA_PIN_SECONDS must be at least 0"),
        ({"REPLICA_DOWN_SECONDS": "x"}, "REPLICA_DOWN_SECONDS must be a number"),
        ({"REPLICA_CONNECT_TIMEOUT": "0"}, "REPLICA_CONNECT_TIMEOUT must be at least 1"),
    ],
)
def test_replica_settings_refuse_bad_values(env: dict[str, str], message: str, tmp_path: Path) -> None:
    result = run_check({**PRODUCTION, **env}, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
