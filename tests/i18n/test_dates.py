"""Dates typed on Vietnamese pages are read day first (acountee/formats/vi): 06/12/2026 is 6 December, the
format the app shows (06-12-2026) is accepted back, and what is ambiguous or impossible is refused with a
message in the page's language, never silently swapped."""

from __future__ import annotations

from datetime import date

import pytest
from django import forms
from django.test import Client
from django.utils import translation

from accounts.models import User
from approvals.models import ApprovalDelegation
from tests.approvals.factories import approver_users

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["06/12/2026", "06-12-2026", "06.12.2026", "2026-12-06", " 6/12/2026 "])
def test_vietnamese_pages_read_the_day_first(typed):
    with translation.override("vi"):
        assert forms.DateField().clean(typed) == date(2026, 12, 6)


@pytest.mark.parametrize("typed", ["13/13/2026", "31/02/2026", "06/12/26", "12/2026", "2026/12/06"])
def test_impossible_or_two_digit_years_are_refused_in_vietnamese(typed):
    with translation.override("vi"):
        with pytest.raises(forms.ValidationError) as refused:
            forms.DateField().clean(typed)
        assert "ngày hợp lệ" in " ".join(refused.value.messages)


def test_datetimes_too_and_english_pages_keep_the_english_convention():
    with translation.override("vi"):
        assert forms.DateTimeField().clean("06/12/2026 14:30").strftime("%d %m %H:%M") == "06 12 14:30"
        assert forms.DateTimeField().clean("14:30 06-12-2026").strftime("%d %m %H:%M") == "06 12 14:30"
    with translation.override("en"):  # the English pages show and read month first (m/d/Y)
        assert forms.DateField().clean("06/12/2026") == date(2026, 6, 12)


def test_a_delegation_typed_day_first_on_a_vietnamese_admin_page_keeps_its_days():
    approver, substitute = approver_users(2)
    User.objects.filter(pk=approver.pk).update(language="vi")
    client = Client()
    client.force_login(User.objects.get(pk=approver.pk))
    page = client.get("/admin/approvals/approvaldelegation/add/").content.decode()
    assert "DateTimeShortcuts" in page or "vDateField" in page  # the admin's date picker is offered
    response = client.post(
        "/admin/approvals/approvaldelegation/add/",
        {
            "approver": approver.pk,
            "substitute": substitute.pk,
            "start_date": "06/12/2026",
            "end_date": "10-12-2026",
            "note": "Nghỉ phép",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    delegation = ApprovalDelegation.objects.get()
    assert (delegation.start_date, delegation.end_date) == (date(2026, 12, 6), date(2026, 12, 10))
    refused = client.post(
        "/admin/approvals/approvaldelegation/add/",
        {"approver": approver.pk, "substitute": substitute.pk, "start_date": "13/13/2026", "end_date": "", "note": ""},
    )
    page = refused.content.decode()
    assert refused.status_code == 200 and "ngày hợp lệ" in page and "Lỗi:" in page and "Error:" not in page
    assert ApprovalDelegation.objects.count() == 1
