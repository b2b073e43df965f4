from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tests.accounts.factories import TeamFactory, UserFactory


@pytest.fixture
def workbench_team(db) -> Any:
    return TeamFactory(name="Kế toán", capabilities=["workbench"])


@pytest.fixture
def clerk(workbench_team) -> Any:
    """A finance user whose team holds the workbench capability."""
    return UserFactory(email="clerk@acountee.test", name="Nguyễn Thị Kế Toán", roles=["finance"], team=workbench_team)


@pytest.fixture
def clerk_client(clerk, client_for) -> Any:
    return client_for(clerk)


@pytest.fixture
def month() -> str:
    return f"{timezone.localdate():%Y-%m}"
