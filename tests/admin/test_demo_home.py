"""After `seed_demo`, the admin home of the demo users has something to show (README's walkthrough)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from payments.admin.home import needs_me

pytestmark = pytest.mark.django_db

EXPECTED = {
    "owner@acountee.local": {"failed-deliveries", "unlinked", "approved"},
    "ketoan@acountee.local": {"drafts", "approved", "unlinked"},
    "giamdoc@acountee.local": {"awaiting"},
    "phogiamdoc@acountee.local": {"awaiting"},
}


def test_demo_users_have_something_waiting():
    call_command("seed_demo", stdout=io.StringIO())
    for email, keys in EXPECTED.items():
        counts = {item.key: item.count for item in needs_me(User.objects.get(email=email))}
        assert all(counts.get(key, 0) > 0 for key in keys), (email, counts)
