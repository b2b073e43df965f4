"""Start-up checks of the approval controls (docs/controls.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def check_self_approval(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """ALLOW_SELF_APPROVAL lets whoever prepared a request approve it: acceptable only where one
    person is the whole company, so every start says so."""
    if not settings.ALLOW_SELF_APPROVAL:
        return []
    return [
        checks.Warning(
            "ALLOW_SELF_APPROVAL is on: people who prepared a request may approve it themselves "
            "(segregation of duties is off).",
            hint="Meant only for a one-person company. "
            "Unset ALLOW_SELF_APPROVAL as soon as a second person can approve.",
            id="approvals.W001",
        )
    ]
