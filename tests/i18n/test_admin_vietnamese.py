"""Every back-office page renders in Vietnamese: a translation with a broken placeholder, or a
lazy string formatted too early, would fail here rather than in front of a user."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db


@pytest.fixture
def vi_owner(owner, approver) -> Client:
    User.objects.filter(pk=owner.pk).update(language="vi")
    invoice = make_invoice(seller_name="CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI")
    make_pr(maker=owner, steps=[("anyof", [approver])], type="direct", invoices=[invoice], request=True)
    client = Client()
    client.force_login(owner)
    return client


def changelists() -> list[str]:
    return sorted(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist" for m in admin.site._registry)


def test_every_changelist_renders_in_vietnamese(vi_owner):
    failures = []
    for name in [*changelists(), "admin:index"]:
        response = vi_owner.get(reverse(name), follow=True)
        html = response.content.decode()
        if response.status_code != 200 or '<html lang="vi"' not in html:
            failures.append(f"{name}: {response.status_code}")
    assert not failures, failures


def test_every_change_page_renders_in_vietnamese(vi_owner):
    failures = []
    for model, _model_admin in admin.site._registry.items():
        if not model._meta.managed:  # report pages are views, not tables
            continue
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        response = vi_owner.get(url, follow=True)
        if response.status_code != 200 or '<html lang="vi"' not in response.content.decode():
            failures.append(f"{url}: {response.status_code}")
    assert not failures, failures


def test_pr_page_speaks_vietnamese_accounting(vi_owner):
    html = vi_owner.get("/admin/payments/paymentrequest/").content.decode()
    assert "Đề nghị thanh toán" in html or "đề nghị thanh toán" in html
    assert "Chờ phê duyệt" in html  # the pending status badge
