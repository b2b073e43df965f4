from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def admin_client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
