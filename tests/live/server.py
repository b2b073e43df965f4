"""A real ASGI server for the live tests: uvicorn in a subprocess, serving `acountee.asgi:application` against
the test database (the test process's own connection settings), on a free port; and a minimal Server-Sent
Events client over http.client, reading the stream as a browser would."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_uri() -> str:
    """The test database, as PGURI (the runtime role the tests use)."""
    from django.db import connection

    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def asgi_server(
    *, app: str = "acountee.asgi:application", workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """uvicorn serving the project's ASGI app (`app`); yields (base URL, process). Stopped (SIGTERM, then kill)
    after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PGURI_OWNER", "PYTEST_XDIST_WORKER")}
    env.update(
        PGURI=database_uri(),
        ACOUNTEE_ENV="test",
        DJANGO_SETTINGS_MODULE="acountee.settings",
        LIVE_HEARTBEAT_SECONDS="1",
        **(extra_env or {}),
    )
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--lifespan", "off", "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def session_cookie(user: Any) -> str:
    """A committed session for `user` (Django's test client signs in), as the cookie's value."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class EventStream:
    """GET /live/events with a session cookie. A reader thread parses the stream into frames; `next()` returns
    the next event (kind, data), skipping comments (heartbeats), or None when none came within `timeout`."""

    def __init__(self, base: str, cookie: str | None, path: str = "/live/events") -> None:
        from django.conf import settings

        url = urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.comments: queue.Queue[str] = queue.Queue()
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.lines: list[str] = []  # every line read, for the assertions on fields other than events
        self.ended = threading.Event()  # the server closed the stream
        if self.status == 200:
            if self.conn.sock is not None:
                self.conn.sock.settimeout(None)
            threading.Thread(target=self._read, daemon=True).start()

    def connected(self, timeout: float = 10) -> bool:
        """Waits for the stream's opening comment: from then on the stream is subscribed."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.comments.get(timeout=left) == "connected":
                    return True
            except queue.Empty:
                return False
        return False

    def next(self, timeout: float) -> tuple[str, dict[str, Any]] | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def _read(self) -> None:
        kind, data = "message", ""
        try:
            while line := self.response.readline():
                text = line.decode().rstrip("\r\n")
                self.lines.append(text)
                if text == "":
                    if data:
                        self.events.put((kind, json.loads(data)))
                    kind, data = "message", ""
                elif text.startswith(":"):
                    self.comments.put(text[1:].strip())
                elif text.startswith("event:"):
                    kind = text[6:].strip()
                elif text.startswith("data:"):
                    data += text[5:].strip()
        except (OSError, ValueError, AttributeError):
            pass  # closed by the test
        finally:
            self.ended.set()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
