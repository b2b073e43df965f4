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


@pytest.mark.django_db(transaction=True)
def test_a_client_going_away_unsubscribes_its_stream(maker: Any) -> None:
    """The project's ASGI app, driven in process: the stream subscribes when it starts; when the client
    disconnects, Django's handler cancels the response and the stream leaves the hub — nothing stays behind."""
    import asyncio

    from django.conf import settings as django_settings

    from acountee.asgi import application
    from payments.live.hub import hub

    client = Client()
    client.force_login(maker)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"

    async def scenario() -> tuple[int, int, list[bytes]]:
        gone = asyncio.Event()
        started = asyncio.Event()
        bodies: list[bytes] = []
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                bodies.append(message["body"])
                started.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/live/events",
            "raw_path": b"/live/events",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        serving = asyncio.create_task(application(scope, receive, send))
        await asyncio.wait_for(started.wait(), 10)
        open_streams = len(hub().streams)
        gone.set()
        await asyncio.wait_for(serving, 10)
        left = len(hub().streams)
        task = hub()._task
        if task is not None:  # this loop's listener: stopped with the loop
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return open_streams, left, bodies

    open_streams, left, bodies = asyncio.run(scenario())
    assert bodies[0].startswith(b"retry: 5000\n: connected")
    assert (open_streams, left) == (1, 0)
