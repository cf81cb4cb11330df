"""Believable demo titles, Markdown bodies and comments, from a fixed seed.

``seed_demo`` writes millions of rows with set-based SQL, so it cannot render Markdown per row.
Instead a pool of bodies is built here once (headings, lists, code, links), each rendered to HTML
once, and every post picks a body, a title and its comments from the pools by its number. The seed
is fixed: the same command makes the same site.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from blog.markdown import excerpt_from_html, render_markdown

SEED = 18
BODY_POOL = 120
TITLE_TEMPLATES = [
    "Keeping {topic} fast past a million rows",
    "What we learned moving {topic} to a read replica",
    "A field guide to {topic} in Django",
    "{Topic}: a five-minute checklist",
    "When {topic} goes wrong at three in the morning",
    "Measuring {topic} with percentiles, not averages",
    "The index that saved {topic}",
    "Notes from a year of running {topic}",
    "Testing {topic} against the real thing",
    "Why {topic} was slow, and the one-line fix",
    "{Topic} without surprises",
    "Reading the query plan behind {topic}",
]
TOPICS = [
    "the admin changelist", "Celery retries", "connection pooling", "the home page cache",
    "autovacuum", "the query killer", "tag pages", "comment counts", "read replicas",
    "full-text search", "Redis eviction", "gunicorn workers", "schema migrations", "the REST API",
    "keyset pagination", "background jobs", "zero-downtime deploys", "structured logging",
    "prefetch_related", "the sign-up flow", "session storage", "static files", "rate limiting",
    "the sitemap", "bulk imports",
]  # fmt: skip
HEADINGS = [
    "What we saw", "The first fix", "Measuring it", "Why it happens", "What we changed",
    "The numbers", "Trade-offs", "What to try next", "A smaller example", "Rolling it out",
]  # fmt: skip
SENTENCES = [
    "Most pages of a busy site read far more than they write, so the cheapest query is the one you never run.",
    "The plan looked fine on a laptop with a thousand rows and fell over in production with ten million.",
    "We started by graphing the 95th percentile instead of the mean, and the problem was suddenly obvious.",
    "An index is only useful if the query asks for rows in the order the index keeps them.",
    "Counting every row to print a page number costs more than fetching the page itself.",
    "The fix was not clever: one composite index, one smaller SELECT, and a test that counts the queries.",
    "Caching helped, but only once the value was refreshed in the background instead of on a user's request.",
    "A replica takes the read load off the primary, as long as you remember that it can lag behind.",
    "We ran the change behind a setting for a week before making it the default.",
    "Nothing here needs a new service; it is all in Django and PostgreSQL already.",
    "The admin is the first page to fall over on a big table, because its defaults assume a small one.",
    "Every list page now runs the same number of queries whatever the size of the table.",
    "If a query can take thirty seconds, something should notice and stop it before the pool runs dry.",
    "The benchmark runs in the same process as the baseline, so a slow machine slows both alike.",
]
LIST_ITEMS = [
    "look at the slowest percentiles first", "name the index each query uses", "keep the page size fixed",
    "move the aggregation to a worker", "pin reads after a write", "assert the query count in a test",
    "run EXPLAIN on a realistic table", "prefer prefetch_related to wide joins", "let the cache serve stale values",
    "measure before and after, in the same run",
]  # fmt: skip
SNIPPETS = [
    "posts = Post.objects.published().newest_first()[:20]",
    'Post.objects.filter(author=author).only("id", "title", "slug")',
    'with django_assert_num_queries(2):\n    client.get("/")',
    'queryset.prefetch_related("tags").select_related("author")',
    "EXPLAIN ANALYZE SELECT id FROM blog_post ORDER BY published_at DESC LIMIT 10;",
    'app.conf.beat_schedule = {"kill-slow-queries": {"task": "querykiller.run", "schedule": 10.0}}',
]
LINKS = [
    ("the Django documentation on database access", "https://docs.djangoproject.com/en/5.2/topics/db/optimization/"),
    ("PostgreSQL's page on indexes", "https://www.postgresql.org/docs/15/indexes.html"),
    ("Celery's guide to tasks", "https://docs.celeryq.dev/en/stable/userguide/tasks.html"),
    ("the Django REST framework guide", "https://www.django-rest-framework.org/"),
]
COMMENTS = [
    "Thanks, this is exactly the problem we hit last month.",
    "Did you try a partial index for the drafts as well?",
    "Great write-up. The **percentiles** point deserves a post of its own.",
    "We saw the same thing with the admin; `show_full_result_count = False` helped a lot.",
    "How did you measure the replica lag?",
    "Nice. I would add a test that fails if the query count grows.",
    "This saved me an afternoon, thank you.",
    "Interesting: in our case the cache was the bottleneck, not the database.",
    "Could you share the benchmark script?",
    "The keyset pagination part is gold.",
]


@dataclass(frozen=True)
class DemoBodies:
    """Parallel lists: Markdown source, its HTML, and its excerpt."""

    markdown: list[str]
    html: list[str]
    excerpts: list[str]


def titles() -> list[str]:
    """Every title the demo uses (templates times topics), in a fixed shuffled order."""
    found = [
        template.format(topic=topic, Topic=topic[0].upper() + topic[1:])
        for template in TITLE_TEMPLATES
        for topic in TOPICS
    ]
    random.Random(SEED).shuffle(found)  # noqa: S311  # nosec B311 - demo text, not secrets
    return found


def _body(rng: random.Random) -> str:
    heading_a, heading_b = rng.sample(HEADINGS, 2)
    items = rng.sample(LIST_ITEMS, 3)
    label, url = rng.choice(LINKS)
    language = "sql" if "EXPLAIN" in (snippet := rng.choice(SNIPPETS)) else "python"
    return "\n\n".join(
        [
            " ".join(rng.sample(SENTENCES, 3)),
            f"## {heading_a}",
            " ".join(rng.sample(SENTENCES, 2)),
            "\n".join(f"- {item[0].upper()}{item[1:]}." for item in items),
            f"```{language}\n{snippet}\n```",
            f"## {heading_b}",
            f"{rng.choice(SENTENCES)} For the background, see [{label}]({url}).",
        ]
    )


@functools.cache
def bodies() -> DemoBodies:
    """The pool of demo bodies, each rendered once."""
    rng = random.Random(SEED)  # noqa: S311  # nosec B311 - demo text, not secrets
    markdown = [_body(rng) for _ in range(BODY_POOL)]
    html = [render_markdown(text) for text in markdown]
    return DemoBodies(markdown, html, [excerpt_from_html(text) for text in html])


@functools.cache
def comments() -> tuple[list[str], list[str]]:
    """The demo comments and their HTML."""
    return COMMENTS, [render_markdown(text) for text in COMMENTS]
