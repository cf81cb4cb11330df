"""The client's address comes from TRUSTED_PROXY_COUNT, never from what the client wrote."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from project.client_ip import client_ip


def request_from(peer: str, forwarded: str | None = None) -> Any:
    extra: dict[str, Any] = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("198.51.100.9", "203.0.113.1")) == "198.51.100.9"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),  # nginx set the header to its peer
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # a forged entry before the proxy's is ignored
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # two proxies: the outer one's peer
        (1, "[2001:db8::1]:4711", "2001:db8::1"),
        (1, "203.0.113.7:4711", "203.0.113.7"),
    ],
)
def test_the_nth_address_from_the_right_is_the_client(settings: Any, count: int, forwarded: str, expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_from("10.0.0.5", forwarded)) == expected


@pytest.mark.parametrize("forwarded", [None, "", "not-an-address"])
def test_a_missing_or_garbled_header_falls_back_to_the_peer(settings: Any, forwarded: str | None) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("10.0.0.5", forwarded)) == "10.0.0.5"


def test_fewer_entries_than_proxies_trusts_none_of_them(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from("10.0.0.5", "6.6.6.6")) == "10.0.0.5"
