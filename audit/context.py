"""Who is acting right now: the request being served, or the management command running.

The audit triggers read the actor from transaction-local PostgreSQL settings
(`acountee.actor`, `acountee.actor_user_id`, `acountee.ip`, `acountee.user_agent`);
`audit.connection` puts them there from what this module knows. The request is kept as is
and its user resolved only when a write happens, so a user that DRF authenticates from a
token after the middleware ran (DRF sets `request._request.user`) is the one recorded.

Context variables are per thread and per asyncio task: concurrent requests never see each
other's actor.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

UNKNOWN_ACTOR = "unknown"
SYSTEM_PREFIX = "system:"


@dataclass(frozen=True)
class Actor:
    """What the audit records about who acted. Empty strings mean "not known"."""

    name: str = ""
    user_id: int | None = None
    ip: str = ""
    user_agent: str = ""

    def as_settings(self) -> tuple[str, str, str, str]:
        return (self.name, "" if self.user_id is None else str(self.user_id), self.ip, self.user_agent)


NO_ACTOR = Actor()

_request: contextvars.ContextVar[Any] = contextvars.ContextVar("acountee_audit_request", default=None)
_system: contextvars.ContextVar[str] = contextvars.ContextVar("acountee_audit_system", default="")
_user_override: contextvars.ContextVar[Any] = contextvars.ContextVar("acountee_audit_user", default=None)


def client_ip(request: Any) -> str:
    """The peer address. Behind a proxy, configure it to set REMOTE_ADDR (we never trust
    X-Forwarded-For from the client)."""
    meta = getattr(request, "META", None) or {}
    ip = str(meta.get("REMOTE_ADDR") or "").strip()
    try:
        # The trigger casts it to inet: anything else (a unix socket path…) would fail the write.
        return str(ipaddress.ip_address(ip.split("%", 1)[0]))  # inet has no IPv6 zone id
    except ValueError:
        return ""


def user_agent(request: Any) -> str:
    meta = getattr(request, "META", None) or {}
    # PostgreSQL text cannot hold NUL characters: drop them rather than fail the write.
    return str(meta.get("HTTP_USER_AGENT") or "").replace("\x00", "")[:1000]


def user_label(user: Any) -> str:
    return str(getattr(user, "email", "") or f"user:{user.pk}")[:255]


def _request_user(request: Any) -> Any:
    # HttpRequest.user is set by AuthenticationMiddleware (lazy session user) and replaced by
    # DRF after token authentication; reading it here, at write time, sees the final value.
    user = getattr(request, "user", None)
    try:
        if user is not None and user.is_authenticated:
            return user
    except Exception:
        return None
    return None


def current_actor() -> Actor:
    """The actor for a write happening now."""
    override = _user_override.get()
    request = _request.get()
    ip = client_ip(request) if request is not None else ""
    agent = user_agent(request) if request is not None else ""
    user = override if override is not None else (_request_user(request) if request is not None else None)
    if user is not None:
        return Actor(name=user_label(user), user_id=user.pk, ip=ip, user_agent=agent)
    system = _system.get()
    if system:
        return Actor(name=system, ip=ip, user_agent=agent)
    if request is not None:
        return Actor(name="anonymous" if ip or agent else "", ip=ip, user_agent=agent)
    return NO_ACTOR


def current_request() -> Any:
    return _request.get()


@contextmanager
def request_context(request: Any) -> Iterator[None]:
    token = _request.set(request)
    user_token = _user_override.set(None)
    try:
        yield
    finally:
        _user_override.reset(user_token)
        _request.reset(token)


@contextmanager
def system_context(command: str) -> Iterator[None]:
    """Writes inside are attributed to `system:<command>` (unless a user is known)."""
    token = _system.set(command if command.startswith(SYSTEM_PREFIX) else SYSTEM_PREFIX + command)
    try:
        yield
    finally:
        _system.reset(token)


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Attribute writes inside to `user` (e.g. a worker acting for the user who queued a job)."""
    token = _user_override.set(user)
    try:
        yield
    finally:
        _user_override.reset(token)


def system_actor() -> str:
    return _system.get()
