"""Permissions read in the reader's language on the roles page: Django stores their names once, in English."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.forms import permission_label
from accounts.models import User

pytestmark = pytest.mark.django_db


def perm(label: str) -> Permission:
    app, codename = label.split(".")
    return Permission.objects.select_related("content_type").get(content_type__app_label=app, codename=codename)


def test_labels_in_vietnamese_and_english():
    from django.utils import translation

    with translation.override("vi"):
        assert permission_label(perm("payments.add_paymentrequest")) == "Thanh toán | Có thể thêm đề nghị thanh toán"
        custom = permission_label(perm("approvals.customize_chain"))
        assert custom.startswith("Phê duyệt | ") and "Can " not in custom
    with translation.override("en"):
        assert permission_label(perm("payments.add_paymentrequest")) == "Payments | Can add payment request"


def test_the_role_page_lists_permissions_in_vietnamese(owner):
    User.objects.filter(pk=owner.pk).update(language="vi")
    client = Client()
    client.force_login(User.objects.get(pk=owner.pk))
    html = client.get("/admin/accounts/role/add/").content.decode()
    assert "Có thể thêm đề nghị thanh toán" in html
    assert "Can add payment request" not in html
