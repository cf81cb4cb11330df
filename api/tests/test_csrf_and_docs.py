"""Session clients need a CSRF token for writes; the schema and its docs pages are served locally."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from blog.models import Post
from users.models import User

pytestmark = pytest.mark.django_db

CSRF_SECRET = "a" * 32  # a well-formed secret; Django accepts it unmasked in the header


def test_a_session_write_without_a_csrf_token_is_403(author: User, api: APIClient) -> None:
    api.force_login(author)
    response = api.post("/api/v1/posts/", {"title": "t", "body": "b"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]
    assert not Post.objects.exists()


def test_a_session_write_with_the_csrf_token_succeeds(author: User, api: APIClient) -> None:
    api.force_login(author)
    api.cookies["csrftoken"] = CSRF_SECRET
    response = api.post("/api/v1/posts/", {"title": "t", "body": "b"}, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 201
    assert Post.objects.get().author == author


def test_session_reads_need_no_csrf_token(author: User, api: APIClient) -> None:
    api.force_login(author)
    assert api.get("/api/v1/users/me/").json()["username"] == "author"


def test_the_api_root_lists_the_resources_for_anyone(client: Client) -> None:
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert set(response.json()) == {"posts", "comments", "tags"}  # users have no list


def test_the_schema_is_openapi_3_and_documents_the_error_shape_on_every_operation(client: Client) -> None:
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"status", "code", "detail"}
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 20
    for operation in operations:
        for code in ("400", "405", "429"):
            error = operation["responses"][code]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, operation["operationId"]
    create_post = schema["paths"]["/api/v1/posts/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "413", "415", "429"} <= set(create_post)
    assert "409" in schema["paths"]["/api/v1/comments/"]["post"]["responses"]


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_their_scripts_from_this_site_not_a_cdn(client: Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(not source.startswith(("http:", "https:", "//")) for source in sources), sources
    scripts = [s for s in sources if s.endswith(".js")]
    assert scripts
    for script in scripts:
        assert client.get(script).status_code == 200, script


def test_redoc_bundle_is_the_sidecars_with_no_cdn_url_left(client: Client) -> None:
    html = client.get("/api/v1/redoc/").content.decode()
    assert '<script src="/api/v1/redoc-dist/bundles/redoc.standalone.js">' in html
    response = client.get("/api/v1/redoc-dist/bundles/redoc.standalone.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    bundle = response.content.decode()
    assert "cdn.redoc.ly" not in bundle and "Redoc" in bundle and len(bundle) > 500_000
