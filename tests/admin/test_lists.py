"""What the lists show: shared status badges, amounts via format_money, the filters finance uses (hostile
values never a 500), autocomplete for foreign keys."""

from __future__ import annotations

import pytest

from tests.approvals.factories import approver_users
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db


def test_invoice_list_badge_money_and_pr_link(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    inv = make_invoice(total="21670000")
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=[inv])
    html = admin_client_for(finance).get("/admin/invoices/invoice/").content.decode()
    assert '<span class="badge badge-ready" data-status="imported">' in html
    assert "21,670,000 VND" in html
    assert f'href="/admin/payments/paymentrequest/{pr.pk}/change/">#{pr.pk}</a>' in html
    assert "acountee/admin.css" in html


def test_pr_list_badge_and_money(maker, finance, admin_client_for):
    make_pr(maker=maker, steps=[("anyof", approver_users(1))], amount="1500000", request=True)
    html = admin_client_for(finance).get("/admin/payments/paymentrequest/").content.decode()
    assert 'data-status="pending"' in html and "1,500,000 VND" in html


@pytest.mark.parametrize(
    "query",
    [
        "amount=lt10m",
        "amount=10m-100m",
        "amount=gte100m",
        "amount=%00",
        "imported=this_month",
        "imported=today",
        "imported=last_month",
        "imported=x'--",
        "linked=false",
        "linked=true",
        "status__exact=redundant",
        "supplier_tax_code=0101234567",
        "issue_date__year=2026",
        "q=Minh%20Ph%C3%A1t",
        "q=%E2%80%AE",
    ],
)
def test_invoice_filters_never_500(query, finance, admin_client_for):
    make_invoice(total="21670000")
    assert admin_client_for(finance).get(f"/admin/invoices/invoice/?{query}").status_code in (200, 302)


def test_amount_band_filters(finance, admin_client_for):
    small, big = make_invoice(total="5000000"), make_invoice(total="150000000")
    html = admin_client_for(finance).get("/admin/invoices/invoice/?amount=gte100m").content.decode()
    assert big.number in html and small.number not in html


@pytest.mark.parametrize(
    "query", ["awaiting_me=yes", "month=2026-11", "month=9999-99", "status__exact=draft", "maker__id__exact=abc"]
)
def test_pr_filters_never_500(query, finance, admin_client_for):
    assert admin_client_for(finance).get(f"/admin/payments/paymentrequest/?{query}").status_code in (200, 302)


def test_delivery_and_notification_badges(owner, admin_client_for):
    from payments.notifications.models import NotificationDelivery
    from tests.notifications.factories import audit_row_delivery

    NotificationDelivery.objects.filter(pk=audit_row_delivery().pk).update(status="failed")
    html = admin_client_for(owner).get("/admin/notifications/notificationdelivery/?status__exact=failed")
    assert '<span class="badge badge-failed" data-status="failed">' in html.content.decode()


def test_user_team_autocomplete_is_owner_only(owner, finance, admin_client_for):
    url = "/admin/autocomplete/?app_label=accounts&model_name=user&field_name=team&term=T"
    assert admin_client_for(owner).get(url).status_code == 200
    assert admin_client_for(finance).get(url).status_code == 403
    html = admin_client_for(owner).get(f"/admin/accounts/user/{owner.pk}/change/").content.decode()
    assert "admin-autocomplete" in html


def test_flow_step_approvers_autocomplete(owner, finance, admin_client_for):
    html = admin_client_for(owner).get("/admin/approvals/approvalflow/add/").content.decode()
    assert "admin-autocomplete" in html and 'data-field-name="user"' in html
    url = "/admin/autocomplete/?app_label=approvals&model_name=approvalflowstepuser&field_name=user&term=owner"
    r = admin_client_for(owner).get(url)
    assert r.status_code == 200 and str(owner.pk) in r.content.decode()
    assert admin_client_for(finance).get(url).status_code == 403


def test_invoice_page_shows_its_pr_and_history(maker, owner, finance, outsider, admin_client_for):
    (a,) = approver_users(1)
    inv = make_invoice()
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=[inv])
    url = f"/admin/invoices/invoice/{inv.pk}/change/"
    page = admin_client_for(finance).get(url).content.decode()
    assert f'href="/admin/payments/paymentrequest/{pr.pk}/change/">#{pr.pk}</a>' in page
    assert 'class="audit-history"' in page  # whoever views the invoice reads its own history
    assert 'class="audit-history"' in admin_client_for(owner).get(url).content.decode()
    assert admin_client_for(finance).get("/admin/audit/auditentry/").status_code == 403  # not the audit log
    assert admin_client_for(outsider).get(f"/admin/invoices/invoice/{inv.pk}/history/").status_code in (302, 403, 404)


def test_the_approval_queue_shows_amount_supplier_and_how_long_it_waited(maker, admin_client_for):
    from datetime import timedelta

    from django.utils import timezone

    from approvals.models import Approval

    (a,) = approver_users(1)
    pr = make_pr(
        maker=maker, steps=[("anyof", [a])], request=True, amount="21670000", account_name="CTY TNHH MINH PHAT"
    )
    Approval.objects.filter(pk=pr.approval_id).update(updated_at=timezone.now() - timedelta(days=3, hours=2))
    html = admin_client_for(a).get("/admin/payments/paymentrequest/?awaiting_me=yes").content.decode()
    row = html.split('class="field-waiting_for"')[0].rsplit("<tr", 1)[1]
    assert "21,670,000 VND" in row and "CTY TNHH MINH PHAT" in row
    assert "3\xa0days" in html.split('class="field-waiting_for"')[1].split("</td>")[0]
