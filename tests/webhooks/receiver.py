"""A real HTTP receiver on 127.0.0.1 in a thread: records every request (headers, body) and answers the
statuses it is told, in order (then 200), optionally after a delay (to make the sender time out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    arrived: threading.Condition = field(default_factory=threading.Condition)
    # Optional: the status from the request's headers (bench/webhooks.py fails chosen events' first attempt).
    decide: Callable[[dict[str, str]], int] | None = None

    def answer(self) -> tuple[int, float]:
        status = self.statuses.pop(0) if self.statuses else 200
        delay = self.delays.pop(0) if self.delays else 0.0
        return status, delay

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, delay = receiver.answer()
            if receiver.decide is not None:
                status = receiver.decide(dict(self.headers.items()))
            with receiver.arrived:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.monotonic()))
                receiver.arrived.notify_all()
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender gave up (timeout)
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(statuses: list[int] | None = None, delays: list[float] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []), delays=list(delays or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
