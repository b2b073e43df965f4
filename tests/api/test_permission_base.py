"""Every API permission class extends one base (acountee.api.permissions.SignedInPermission):
anonymous callers are refused there, once, and each class only judges signed-in users."""

from __future__ import annotations

import pytest
from django.urls import get_resolver
from rest_framework import permissions

from acountee.api.permissions import SignedInPermission

# DRF's own classes a view may still name directly (the sign-in endpoints, /api/me/…).
DRF_OWN = (permissions.AllowAny, permissions.IsAuthenticated)


def _api_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                cls = getattr(pattern.callback, "cls", None)
                if cls is not None and (prefix + str(pattern.pattern)).startswith("api/"):
                    yield prefix + str(pattern.pattern), cls

    return list(walk(get_resolver().url_patterns))


def test_every_api_permission_class_extends_the_base():
    views = _api_views()
    assert len(views) > 20
    for route, cls in views:
        for permission in getattr(cls, "permission_classes", []):
            assert issubclass(permission, (SignedInPermission, *DRF_OWN)), f"{route}: {permission.__name__}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/invoices/",
        "/api/payment-requests/",
        "/api/approval-flows/",
        "/api/audit/",
        "/api/audit/security-events/",
        "/api/reports/payables-by-month/",
        "/api/workbench/cleanup/?month=2026-11",
        "/api/users/",
    ],
)
def test_anonymous_callers_are_refused_as_before(anon_client, url):
    assert anon_client.get(url).status_code == 401
