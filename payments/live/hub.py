"""One LISTEN connection per server process, fanned out to every open stream of that process
(docs/live.md).

The hub belongs to an event loop (uvicorn runs one per process): the first stream opened starts its
listening task, which holds one autocommit psycopg `AsyncConnection` LISTENing on
`acountee.live.LIVE_CHANNEL` and puts each notification into every open stream's queue. Streams cost a
queue each, never a connection or a thread. When the connection fails (the database went away, a network
cut noticed by the liveness probe), the task reconnects with backoff (0.5 s doubling up to
`LIVE_RECONNECT_MAX_SECONDS`) and, once back, tells every stream `resync`: what happened meanwhile was
not heard, so pages re-fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from acountee.live import LIVE_CHANNEL

logger = logging.getLogger(__name__)

QUEUE_SIZE = 64  # events waiting for one slow stream; past it the stream is told to resync instead
PROBE_SECONDS = 30.0  # a silent connection is probed this often (a cut cable is not an error until written to)
RESYNC: dict[str, Any] = {"kind": "resync"}


@dataclass(eq=False)
class Stream:
    """One open page's subscription: the events for it, in order."""

    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def put(self, event: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:  # a stalled client: drop what it has not read, ask it to look again
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


def listen_params() -> dict[str, Any]:
    """Connection parameters of the default database for a plain psycopg connection (without
    Django's cursor class and adapters), named so it can be told apart in pg_stat_activity."""
    from acountee.db.direct import session_connection_params

    params = session_connection_params()  # the primary itself, never PgBouncer (docs/deployment.md)
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    params["application_name"] = "acountee-live"
    return params


class Hub:
    def __init__(self) -> None:
        self.streams: set[Stream] = set()
        self.connected = False
        self.connections_opened = 0  # for the benchmark and tests: reconnections show here
        self._task: asyncio.Task[None] | None = None

    def open(self) -> Stream:
        stream = Stream()
        self.streams.add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="acountee-live-listener")
        return stream

    def close(self, stream: Stream) -> None:
        self.streams.discard(stream)

    def publish(self, event: dict[str, Any]) -> None:
        for stream in list(self.streams):
            stream.put(event)

    def _on_notify(self, notify: Any) -> None:
        try:
            event = json.loads(notify.payload)
        except ValueError:
            logger.warning("live: ignoring a malformed payload on %s", notify.channel)
            return
        if isinstance(event, dict) and event.get("kind"):
            self.publish(event)

    async def _run(self) -> None:
        import psycopg

        delay = 0.5
        heard_before = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(**listen_params(), autocommit=True)
            except Exception as exc:
                logger.warning("live: cannot LISTEN (%s); retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.LIVE_RECONNECT_MAX_SECONDS)
                continue
            self.connections_opened += 1
            try:
                await conn.execute(f"LISTEN {LIVE_CHANNEL}")
                self.connected, delay = True, 0.5
                if heard_before:
                    self.publish(RESYNC)  # whatever was said while we were away is lost: look again
                heard_before = True
                while True:
                    # psycopg keeps what arrives during the probe and yields it on the next turn.
                    async for notify in conn.notifies(timeout=PROBE_SECONDS):
                        self._on_notify(notify)
                    await conn.execute("SELECT 1")  # a dead connection raises here
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("live: the listening connection failed (%s); reconnecting", type(exc).__name__)
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.LIVE_RECONNECT_MAX_SECONDS)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub: one per server process under uvicorn (one loop)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
