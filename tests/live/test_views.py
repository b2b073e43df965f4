"""The live endpoints in process (docs/live.md): the counts the home page re-reads, and the stream under a WSGI
server — streamed chunk by chunk in development (runserver), refused with 204 otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from payments.admin.home import needs_me

pytestmark = pytest.mark.django_db


def test_counts_are_the_home_pages_for_the_signed_in_user(client: Client, maker: Any, owner: Any) -> None:
    for user in (maker, owner):
        client.force_login(user)
        response = client.get("/live/counts")
        assert response.status_code == 200
        assert response.json() == {item.key: item.count for item in needs_me(user)}
        assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/live/counts", "/live/events"])
def test_anonymous_callers_are_refused(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_a_wsgi_server_outside_debug_refuses_the_stream(client: Client, maker: Any, settings: Any) -> None:
    settings.DEBUG = False
    client.force_login(maker)
    assert client.get("/live/events").status_code == 204


@pytest.mark.django_db(transaction=True)
def test_runserver_streams_chunk_by_chunk(maker: Any, settings: Any) -> None:
    """Django would read an async iterator to its end before sending anything under WSGI; the view drives it
    itself, so the first chunk comes at once (and the stream closes cleanly when the client goes)."""
    settings.DEBUG = True
    client = Client()
    client.force_login(maker)
    response = client.get("/live/events")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 5000\n: connected\n\n"
    response.close()
