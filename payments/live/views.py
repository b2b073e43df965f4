"""The live endpoints (docs/live.md): `GET /live/events`, a Server-Sent Events stream of what changed that the
signed-in user may see, and `GET /live/counts`, the home page's "what needs me" counts for re-fetching.

The stream is an async view over an async iterator: under an ASGI server (`make serve`: gunicorn with
uvicorn workers) an open page costs a queue and a coroutine, no thread and no database connection — the
connection the session check used is handed back to the pool before the first byte, and later checks
borrow one for a moment. Under `runserver` (WSGI) the same stream is served from a thread of its own
that it holds while open (`_served_by_a_thread`): fine for development (DEBUG), refused otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, close_old_connections, connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from acountee.live import KIND_PR, KIND_UNREAD
from payments.live.hub import hub

logger = logging.getLogger(__name__)
RETRY_MS = 5000  # how long the browser waits before reconnecting a dropped stream
RETRY_AFTER_END_MS = 250  # ... and after the stream ended as planned (LIVE_STREAM_MAX_SECONDS)


class Viewer:
    """Who a stream is for, read once when it opens: the user, and whether they see every payment request
    (`payments.view_paymentrequest`, as `payments.selectors.payment_requests_visible_to` decides)."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.user_id = int(user.pk)
        self.sees_all = bool(user.has_perm("payments.view_paymentrequest"))

    def visible(self, pr_ids: list[int]) -> list[int]:
        """Of these requests, those the user may see (the selectors' scoping; one query). Runs in a worker
        thread of the loop's pool and gives its connection back at once."""
        from payments.selectors import payment_requests_visible_to

        try:
            return sorted(payment_requests_visible_to(self.user).filter(pk__in=pr_ids).values_list("pk", flat=True))
        finally:
            connections.close_all()

    async def concerns(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """What of `event` this user may hear (None: nothing)."""
        kind = event.get("kind")
        if kind == KIND_UNREAD:
            users = event.get("users")
            return {} if isinstance(users, list) and self.user_id in users else None
        if kind == KIND_PR:
            ids = [int(i) for i in event.get("pr") or [] if isinstance(i, int)]
            if not ids:
                return None
            if not self.sees_all:
                try:
                    ids = await sync_to_async(self.visible, thread_sensitive=False)(ids)
                except DatabaseError:  # cannot tell what they may see: tell nothing (the listener resyncs later)
                    logger.warning("live: visibility check failed; event withheld from user %s", self.user_id)
                    return None
            return {"pr": ids} if ids else None
        if kind == "resync":
            return {}
        return None


def _not_signed_in() -> JsonResponse:
    message = _("Authentication credentials were not provided.")  # DRF's words, translated in its catalogue
    return JsonResponse({"error": {"code": "NOT_AUTHENTICATED", "message": message, "details": {}}}, status=401)


def frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def event_stream(viewer: Viewer) -> AsyncIterator[bytes]:
    """Opens the subscription, then yields events for `viewer`, a heartbeat comment when idle, until the
    client goes (the ASGI handler cancels us: `finally` unsubscribes) or LIVE_STREAM_MAX_SECONDS pass."""
    the_hub = hub()
    stream = the_hub.open()
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        ends = time.monotonic() + settings.LIVE_STREAM_MAX_SECONDS
        while (left := ends - time.monotonic()) > 0:
            try:
                event = await asyncio.wait_for(stream.queue.get(), min(settings.LIVE_HEARTBEAT_SECONDS, left))
            except TimeoutError:
                yield b": ping\n\n"
                continue
            data = await viewer.concerns(event)
            if data is not None:
                yield frame(str(event["kind"]), data)
        yield f"retry: {RETRY_AFTER_END_MS}\n\n".encode()  # a planned end: come back at once, not in 5 s
    finally:
        the_hub.close(stream)


def _served_by_a_thread(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """WSGI (runserver): Django would read an async iterator to its end before sending anything, so the
    stream is driven here, chunk by chunk, on an event loop of its own in the serving thread (which it holds,
    with its own listening connection, while the page is open)."""
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(stream))
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(stream.aclose())  # type: ignore[attr-defined]
        tasks = asyncio.all_tasks(loop)  # this loop's listener: stopped, its connection closed
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()


@require_GET
async def events(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = await request.auser()
    if not (user.is_authenticated and user.is_active):
        return _not_signed_in()
    if not isinstance(request, ASGIRequest) and not settings.DEBUG:
        # A WSGI server in production: a stream would hold one of its few threads for as long as the page is
        # open. 204 tells the browser to stop asking; the page works as before, without live updates.
        return HttpResponse(status=204)
    viewer = await sync_to_async(Viewer)(user)
    await sync_to_async(close_old_connections)()  # the session's connection goes back to the pool now
    stream = event_stream(viewer)
    content: Any = stream if isinstance(request, ASGIRequest) else _served_by_a_thread(stream)
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@require_GET
def counts(request: HttpRequest) -> HttpResponse:
    """The "what needs me" counts (payments.admin.home.needs_me) as {key: count}: what the home page re-reads
    when told something changed."""
    from payments.admin.home import needs_me

    user = request.user
    if not (user.is_authenticated and user.is_active):
        return _not_signed_in()
    response = JsonResponse({item.key: item.count for item in needs_me(user)})
    response["Cache-Control"] = "no-store"
    return response
