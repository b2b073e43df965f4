"""Shared fixtures: named personas (owner, maker, approver, finance, outsider) and API clients.

Every test runs against a real PostgreSQL: the embedded server, or the one PGURI names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _builtin_roles_in_transactional_tests(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table afterwards, the built-in roles (made by a data
    migration) included. Put them back before each such test, so test order never matters."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    transactional = transactional or "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from accounts.roles import ensure_builtin_roles

    ensure_builtin_roles()


@pytest.fixture(autouse=True)
def _language_left_as_found() -> Iterator[None]:
    """A request or a test that activates a language (the locale middleware does, for the thread) must not
    decide the language of the next test on the same worker: each test starts from LANGUAGE_CODE."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def owner(db) -> User:
    return UserFactory(email="owner@acountee.test", name="Chủ sở hữu", roles=["owner"])


@pytest.fixture
def finance(db) -> User:
    return UserFactory(email="finance@acountee.test", name="Kế toán", roles=["finance"])


@pytest.fixture
def maker(db) -> User:
    """A finance user who makes payment requests."""
    return UserFactory(email="maker@acountee.test", name="Người lập", roles=["finance"])


@pytest.fixture
def approver(db) -> User:
    return UserFactory(email="approver@acountee.test", name="Người duyệt", roles=["bod"])


@pytest.fixture
def outsider(db) -> User:
    """Signed in, but holds no role at all."""
    return UserFactory(email="outsider@acountee.test", name="Người ngoài")


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Iterator[Callable[[User], APIClient]]:
    """An API client signed in as `user` with a real token (the production auth path)."""
    clients: list[APIClient] = []

    def make(user: User) -> APIClient:
        from accounts.services import api_token_create

        _token, key = api_token_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        clients.append(client)
        return client

    yield make


@pytest.fixture
def owner_client(owner, client_for) -> APIClient:
    return client_for(owner)
