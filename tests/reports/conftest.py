from __future__ import annotations

from typing import Any

import pytest

from tests.reports.factories import build_dataset


@pytest.fixture
def dataset(db) -> Any:
    return build_dataset()


@pytest.fixture
def reports_team(db) -> Any:
    from tests.accounts.factories import TeamFactory

    return TeamFactory(name="Ban giám đốc", capabilities=["reports"])


@pytest.fixture
def analyst(reports_team) -> Any:
    """No role at all; the team's `reports` capability is enough."""
    from tests.accounts.factories import UserFactory

    return UserFactory(email="analyst@acountee.test", team=reports_team)
