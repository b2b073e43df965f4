"""ASGI entry point (`make serve`: gunicorn with uvicorn workers). Refuses to start when the database is
unreachable, like acountee/wsgi.py (docs/operations.md).

Django's ASGI handler gives every request a thread of its own for the synchronous parts (middleware,
the ORM) and keeps that thread until the response ends: right for ordinary pages, which end at once, wrong
for a Server-Sent Events stream, which stays open as long as the page. Requests under `STREAM_PREFIXES`
therefore go to a handler that runs those parts on the process's one shared thread instead, so an open
stream holds no thread at all (docs/live.md); everything else is Django's stock handler.
"""

import os

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")

django_application = get_asgi_application()

from acountee.db.startup import check_database_reachable  # noqa: E402

check_database_reachable()

STREAM_PREFIXES = ("/live/events",)


class StreamASGIHandler(ASGIHandler):
    """Django's handler without the per-request thread: its synchronous steps (the middleware, the session
    and permission reads — short) run on asgiref's single shared thread, one request after the other; the
    view streams on the event loop."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


stream_application = StreamASGIHandler()


async def application(scope, receive, send):
    if scope["type"] == "http" and scope.get("path", "").startswith(STREAM_PREFIXES):
        await stream_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
