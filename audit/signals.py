"""Receivers for Django's authentication signals: they only call the security-log service."""

from __future__ import annotations

from typing import Any

from audit.models import SecurityEventKind
from audit.services import security_event_record


def _via(request: Any) -> str:
    return "api" if hasattr(request, "_request") else "admin"


def on_user_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    security_event_record(
        kind=SecurityEventKind.SIGN_IN_SUCCEEDED, request=request, user=user, details={"via": _via(request)}
    )


def on_user_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    security_event_record(kind=SecurityEventKind.SIGN_OUT, request=request, user=user, details={"via": _via(request)})


def on_user_login_failed(
    sender: Any, credentials: dict[str, Any] | None = None, request: Any = None, **kwargs: Any
) -> None:
    credentials = credentials or {}
    email = str(credentials.get("email") or credentials.get("username") or "")[:255]
    security_event_record(
        kind=SecurityEventKind.SIGN_IN_FAILED, request=request, details={"email": email, "via": _via(request)}
    )
    if request is not None:
        # The API token view also reports the failure explicitly: record it once.
        request._acountee_sign_in_failure_recorded = True
