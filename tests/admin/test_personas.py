"""Each persona sees only what their roles allow, on the admin home and on every list: finance works on invoices
and PRs, an approver (bod) reads them but edits nothing, only owners see users, teams, roles, flows editing, the
delivery log and the audit log."""

from __future__ import annotations

import re

import pytest

from tests.payments.factories import make_invoice

pytestmark = pytest.mark.django_db

LISTS = {
    "invoices": "/admin/invoices/invoice/",
    "payment requests": "/admin/payments/paymentrequest/",
    "payment methods": "/admin/payments/paymentmethod/",
    "approval flows": "/admin/approvals/approvalflow/",
    "users": "/admin/accounts/user/",
    "teams": "/admin/accounts/team/",
    "roles": "/admin/accounts/role/",
    "api tokens": "/admin/accounts/apitoken/",
    "audit": "/admin/audit/auditentry/",
    "security events": "/admin/audit/securityevent/",
    "files": "/admin/files/storedfile/",
    "notifications": "/admin/notifications/notification/",
    "deliveries": "/admin/notifications/notificationdelivery/",
}
OWNER_ONLY = {"users", "teams", "roles", "api tokens", "audit", "security events", "deliveries"}
READERS = {"invoices", "payment requests", "payment methods", "approval flows", "files", "notifications"}
VISIBLE = {
    "owner": set(LISTS),
    "finance": READERS,
    "approver": READERS,
    "back_office_admin": READERS,  # the built-in `admin` role: no identity, no audit (issue #9: owners only)
    "outsider": {"notifications"},
}


@pytest.fixture
def back_office_admin(db):
    from tests.accounts.factories import UserFactory

    return UserFactory(email="quantri@acountee.test", roles=["admin"])


@pytest.mark.parametrize("persona", list(VISIBLE))
def test_lists_per_persona(persona, request, admin_client_for):
    client = admin_client_for(request.getfixturevalue(persona))
    home = client.get("/admin/").content.decode()
    for name, url in LISTS.items():
        status = client.get(url).status_code
        if name in VISIBLE[persona]:
            assert status == 200, (persona, name, status)
            assert f'href="{url}"' in home, (persona, name)  # and the home page links to it
        else:
            assert status == 403, (persona, name, status)
            assert f'href="{url}"' not in home, (persona, name)


def test_approver_cannot_edit_invoices(approver, finance, admin_client_for):
    invoice = make_invoice()
    url = f"/admin/invoices/invoice/{invoice.pk}/change/"
    page = admin_client_for(approver).get(url).content.decode()
    assert 'name="payment_bank_account"' not in page  # read-only view
    r = admin_client_for(approver).post(url, {"payment_bank_account": "999"})
    assert r.status_code == 403
    invoice.refresh_from_db()
    assert invoice.payment_bank_account != "999"
    assert 'name="payment_bank_account"' in admin_client_for(finance).get(url).content.decode()


def test_approver_has_no_pr_add_button_and_no_invoice_actions(approver, admin_client_for):
    client = admin_client_for(approver)
    prs = client.get("/admin/payments/paymentrequest/").content.decode()
    assert "/admin/payments/paymentrequest/add/" not in prs
    assert client.get("/admin/payments/paymentrequest/add/").status_code == 403
    invoices = client.get("/admin/invoices/invoice/").content.decode()
    assert not re.search(r'<option value="(mark_obsolete|restore|create_payment_request)"', invoices)
    assert client.get("/admin/invoices/invoice/import/").status_code == 403


def test_finance_cannot_reach_owner_pages(finance, admin_client_for):
    client = admin_client_for(finance)
    assert client.get("/admin/accounts/user/add/").status_code == 403
    assert client.get("/admin/approvals/approvalflow/add/").status_code == 403
