"""Mail backends for the worker tests (not mocks of our database: stand-ins for a mail server)."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses everything."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


class RecordingBackend(BaseEmailBackend):
    """Records which delivery each message carried, from any thread, slowly enough that two
    workers overlap."""

    lock = threading.Lock()
    delivered: list[tuple[str, int]] = []

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            time.sleep(0.005)
            delivery = int(message.extra_headers["X-Acountee-Delivery"])
            with self.lock:
                self.delivered.append((threading.current_thread().name, delivery))
        return len(email_messages)
