"""Fill the database with demo users, tags, posts and comments, from a few thousand posts to millions.

Safe to re-run: it tops the demo data up to the requested number of posts and never duplicates
users or tags. On PostgreSQL large batches are written with set-based ``INSERT ... SELECT
generate_series`` (millions of posts in minutes); on SQLite with ``bulk_create``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.text import slugify

from blog.management import demo_content
from blog.models import Comment, Post, PostTag, Tag
from users.models import User

DEMO_STAFF_USERNAME = "demo"
DEMO_STAFF_PASSWORD = "demo-password"  # noqa: S105  # nosec B105  # printed on purpose: a local demo account
DEMO_AUTHOR_PASSWORD = "demo-author-password"  # noqa: S105  # nosec B105
DEMO_AUTHOR_DOMAIN = "demo.invalid"
TAG_NAMES = [
    "django", "postgresql", "python", "celery", "redis", "caching", "indexes", "replicas",
    "monitoring", "performance", "security", "testing", "deployment", "docker", "api", "admin",
    "orm", "migrations", "async", "scaling", "sql", "linux", "nginx", "gunicorn", "profiling",
    "search", "queues", "design", "debugging", "observability",
]  # fmt: skip
AUTHOR_NAMES = [
    "Ada Byron", "Grace Hopper", "Alan Kay", "Barbara Liskov", "Ken Thompson", "Frances Allen",
    "Edsger Dijkstra", "Radia Perlman", "Donald Knuth", "Margaret Hamilton", "Jim Gray", "Sophie Wilson",
]  # fmt: skip


def positive_int(value: str) -> int:
    """Parse a command-line count, refusing negatives and non-numbers with a clear message."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected zero or more, got {number}")
    return number


class Progress:
    """A one-line progress bar on stderr (quiet when stderr is not a terminal, but for the end)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.started = total, label, time.monotonic()
        self.tty = sys.stderr.isatty()

    def update(self, done: int) -> None:
        if not self.tty and done < self.total:
            return
        width = 30
        filled = int(width * done / self.total) if self.total else width
        rate = done / max(time.monotonic() - self.started, 1e-6)
        end = "\n" if done >= self.total else ""
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} ({rate:,.0f}/s){end}"
        )
        sys.stderr.flush()


class Command(BaseCommand):
    help = "Create demo users, tags, posts and comments (tops up to --posts; safe to re-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--posts", type=positive_int, default=3000, help="demo posts wanted in total (default 3000)"
        )
        parser.add_argument("--authors", type=positive_int, default=25, help="demo authors (default 25)")
        parser.add_argument(
            "--comments-per-post", type=positive_int, default=4, help="average comments per published post (default 4)"
        )
        parser.add_argument("--batch-size", type=positive_int, default=0, help="rows per batch (default: by database)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the database has any post")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="seed even with DJANGO_DEBUG off (the demo staff password is public: never on a real site)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        posts_wanted: int = options["posts"]
        if options["authors"] < 1:
            raise CommandError("--authors must be at least 1")
        if options["comments_per_post"] > 100:
            raise CommandError("--comments-per-post must be at most 100")
        if not settings.DEBUG and not options["allow_production"]:
            # The demo staff account's password is printed in the README: on a deployment it is an
            # open door. Compose's first start says --allow-production through SEED_DEMO_ON_FIRST_START.
            raise CommandError(
                "DJANGO_DEBUG is off: seed_demo creates a staff account with a public password. "
                "Pass --allow-production if this really is a demo."
            )
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database has unapplied migrations: run `python manage.py migrate` first.")
        if options["if_empty"] and Post.objects.exists():
            self.stdout.write("The database already has posts; not seeding (--if-empty).")
            self.stdout.write(f"The demo staff log-in, if seeded before: {DEMO_STAFF_USERNAME} / {DEMO_STAFF_PASSWORD}")
            return
        postgres = connection.vendor == "postgresql"
        batch_size = options["batch_size"] or (100_000 if postgres else 2_000)

        staff = self.ensure_staff()
        authors = self.ensure_authors(options["authors"])
        if not authors:
            raise CommandError("Every demo author name (author1, ...) belongs to another account: nothing to seed.")
        tags = self.ensure_tags()
        existing = Post.objects.filter(slug__startswith="demo-").count()
        missing = max(posts_wanted - existing, 0)
        if missing:
            progress = Progress(missing, "posts")
            done = 0
            while done < missing:
                size = min(batch_size, missing - done)
                first = existing + done + 1
                with transaction.atomic():
                    if postgres:
                        self.insert_batch_sql(first, size, authors, tags, options["comments_per_post"])
                    else:
                        self.insert_batch_orm(first, size, authors, tags, options["comments_per_post"])
                done += size
                progress.update(done)
            if postgres:
                with connection.cursor() as cursor:
                    # Fresh statistics, so the planner (and approximate counts) see the new rows.
                    cursor.execute("ANALYZE blog_post, blog_comment, blog_post_tags, users_user")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {existing + missing:,} demo posts ({missing:,} new), {len(authors)} authors, {len(tags)} tags."
            )
        )
        if staff.check_password(DEMO_STAFF_PASSWORD):
            self.stdout.write(f"Log in to the admin as {staff.username} / {DEMO_STAFF_PASSWORD}")

    def ensure_staff(self) -> User:
        """Create the demo staff account if no account has its name; never touch one that does."""
        staff, created = User.objects.get_or_create(
            username=DEMO_STAFF_USERNAME,
            defaults={
                "email": "demo@example.com",
                "is_staff": True,
                "is_superuser": True,
                "password": make_password(DEMO_STAFF_PASSWORD),
            },
        )
        if not created:
            # Someone's account, perhaps a real one: its password and rights stay as they are.
            self.stdout.write(f"An account named {DEMO_STAFF_USERNAME!r} already exists: left unchanged.")
        return staff

    def ensure_authors(self, count: int) -> list[int]:
        password = make_password(DEMO_AUTHOR_PASSWORD)  # hashed once: hashing is slow on purpose
        names = [f"author{n}" for n in range(1, count + 1)]
        # Accounts that already have one of these names and are not demo authors are left alone
        # and get no demo posts. A demo author is known by its address in the reserved .invalid
        # domain, which no real account can receive mail at.
        have = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        User.objects.bulk_create(
            [
                User(
                    username=name,
                    email=f"{name}@{DEMO_AUTHOR_DOMAIN}",
                    password=password,
                    display_name=AUTHOR_NAMES[n % len(AUTHOR_NAMES)],
                    bio=f"Writes about {demo_content.TOPICS[n % len(demo_content.TOPICS)]} and keeping Django fast.",
                )
                for n, name in enumerate(names)
                if name not in have
            ]
        )
        demo_authors = User.objects.filter(username__in=names, email__endswith=f"@{DEMO_AUTHOR_DOMAIN}")
        return list(demo_authors.order_by("id").values_list("id", flat=True))

    def ensure_tags(self) -> list[int]:
        have = set(Tag.objects.filter(name__in=TAG_NAMES).values_list("name", flat=True))
        Tag.objects.bulk_create([Tag(name=name, slug=slugify(name)) for name in TAG_NAMES if name not in have])
        return list(Tag.objects.filter(name__in=TAG_NAMES).order_by("id").values_list("id", flat=True))

    def insert_batch_sql(self, first: int, size: int, authors: list[int], tags: list[int], comments: int) -> None:
        """Insert posts ``first .. first+size-1`` with their tags and comments in three statements."""
        bodies = demo_content.bodies()
        comment_text, comment_html = demo_content.comments()
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM blog_post")
            before = cursor.fetchone()[0]
            # One post in ten is a draft; published dates spread one per minute back from now.
            cursor.execute(
                """
                INSERT INTO blog_post (author_id, title, slug, body, body_html, excerpt, status, published_at,
                                       created_at, updated_at)
                SELECT (%(authors)s::bigint[])[1 + (g %% cardinality(%(authors)s::bigint[]))],
                       (%(titles)s::text[])[1 + (g * 7) %% cardinality(%(titles)s::text[])],
                       'demo-' || g,
                       (%(bodies)s::text[])[1 + (g * 31) %% cardinality(%(bodies)s::text[])],
                       (%(html)s::text[])[1 + (g * 31) %% cardinality(%(bodies)s::text[])],
                       (%(excerpts)s::text[])[1 + (g * 31) %% cardinality(%(bodies)s::text[])],
                       CASE WHEN g %% 10 = 0 THEN 'draft' ELSE 'published' END,
                       CASE WHEN g %% 10 = 0 THEN NULL ELSE now() - make_interval(mins => g) END,
                       now() - make_interval(mins => g), now() - make_interval(mins => g)
                FROM generate_series(%(first)s, %(last)s) AS g
                """,
                {
                    "authors": authors,
                    "titles": demo_content.titles(),
                    "bodies": bodies.markdown,
                    "html": bodies.html,
                    "excerpts": bodies.excerpts,
                    "first": first,
                    "last": first + size - 1,
                },
            )
            # One to three tags a post, spread so every tag has drafts and published posts alike.
            cursor.execute(
                """
                INSERT INTO blog_post_tags (post_id, tag_id, listed_since)
                SELECT DISTINCT p.id, (%(tags)s::bigint[])[1 + ((p.id + k * 11) %% cardinality(%(tags)s::bigint[]))],
                       CASE WHEN p.status = 'published' THEN p.published_at END
                FROM blog_post p, generate_series(1, 1 + (p.id %% 3)::int) AS k
                WHERE p.id > %(before)s
                """,
                {"tags": tags, "before": before},
            )
            if comments:
                # Between none and twice the average, on published posts, a minute apart.
                cursor.execute(
                    """
                    INSERT INTO blog_comment (post_id, author_id, body, body_html, created_at)
                    SELECT p.id, (%(authors)s::bigint[])[1 + ((p.id + k) %% cardinality(%(authors)s::bigint[]))],
                           (%(text)s::text[])[1 + ((p.id * 3 + k) %% cardinality(%(text)s::text[]))],
                           (%(html)s::text[])[1 + ((p.id * 3 + k) %% cardinality(%(text)s::text[]))],
                           p.published_at + make_interval(mins => k)
                    FROM blog_post p, generate_series(1, (p.id %% (2 * %(avg)s + 1))::int) AS k
                    WHERE p.id > %(before)s AND p.status = 'published'
                    """,
                    {"authors": authors, "avg": comments, "before": before, "text": comment_text, "html": comment_html},
                )

    def insert_batch_orm(self, first: int, size: int, authors: list[int], tags: list[int], comments: int) -> None:
        """Insert posts ``first .. first+size-1`` with the ORM's bulk_create (SQLite)."""
        now = timezone.now()
        titles, bodies = demo_content.titles(), demo_content.bodies()
        comment_text, comment_html = demo_content.comments()
        posts = []
        for g in range(first, first + size):
            draft = g % 10 == 0
            body = (g * 31) % len(bodies.markdown)  # the same picks as the SQL path (arrays there start at 1)
            posts.append(
                Post(
                    author_id=authors[g % len(authors)],
                    title=titles[(g * 7) % len(titles)],
                    slug=f"demo-{g}",
                    body=bodies.markdown[body],
                    body_html=bodies.html[body],
                    excerpt=bodies.excerpts[body],
                    status=Post.Status.DRAFT if draft else Post.Status.PUBLISHED,
                    published_at=None if draft else now - timedelta(minutes=g),
                )
            )
        created = Post.objects.bulk_create(posts)
        listed = {p.pk: p.listed_since for p in created}
        links = {(p.pk, tags[(p.pk + k * 11) % len(tags)]) for p in created for k in range(1, 2 + p.pk % 3)}
        PostTag.objects.bulk_create(
            [PostTag(post_id=post_id, tag_id=tag_id, listed_since=listed[post_id]) for post_id, tag_id in links]
        )
        if comments:
            Comment.objects.bulk_create(
                [
                    Comment(
                        post_id=p.pk,
                        author_id=authors[(p.pk + k) % len(authors)],
                        body=comment_text[(p.pk * 3 + k) % len(comment_text)],
                        body_html=comment_html[(p.pk * 3 + k) % len(comment_text)],
                        created_at=(p.published_at or now) + timedelta(minutes=k),
                    )
                    for p in created
                    if p.status == Post.Status.PUBLISHED
                    for k in range(1, 1 + p.pk % (2 * comments + 1))
                ],
                batch_size=2000,
            )
