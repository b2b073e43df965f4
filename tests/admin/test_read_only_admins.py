"""The read-only admin pages share one base (acountee.admin_mixins.ReadOnlyAdminMixin): even an owner,
who holds every permission, adds, changes and deletes nothing there (sign-in counters: delete only,
which lifts a lock-out)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.requestguard.models import SignInThrottle
from acountee.admin_mixins import ReadOnlyAdminMixin
from audit.models import AuditEntry, SecurityEvent
from files.models import StoredFile
from payments.notifications.models import Notification, NotificationDelivery
from payments.reports.models import Report

READ_ONLY = [AuditEntry, SecurityEvent, StoredFile, Notification, NotificationDelivery, Report]


@pytest.mark.django_db
@pytest.mark.parametrize("model", [*READ_ONLY, SignInThrottle], ids=lambda m: m.__name__)
def test_read_only_pages_refuse_writes_even_to_owners(owner, model):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ReadOnlyAdminMixin)
    request = RequestFactory().get("/admin/")
    request.user = owner
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert model_admin.has_delete_permission(request) is (model is SignInThrottle)
