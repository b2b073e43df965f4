"""Failed sign-ins arriving at once from several connections (as from several gunicorn
processes) are counted exactly: the per-scope upsert is atomic in PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.requestguard.models import SignInThrottle
from audit.models import SecurityEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_failures_lock_once_at_exactly_the_limit(owner, settings):
    settings.SIGN_IN_LOCKOUT_FAILURES = 5
    settings.SIGN_IN_LOCKOUT_IP_FAILURES = 100
    attempts = 8
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            r = APIClient().post("/api/auth/token/", {"email": owner.email, "password": "wrong"}, format="json")
            statuses.append(r.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # The first four counted failures answer 401; the fifth locks; the rest are refused.
    assert Counter(statuses) == {401: 4, 429: 4}
    assert SecurityEvent.objects.filter(kind="lockout").count() == 1
    assert SignInThrottle.objects.get(scope="account").locked_until is not None
