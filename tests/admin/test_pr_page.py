"""The PR page: the chain panel step by step, the linked invoices with their total, attachments with an inline
PDF preview (the download may be framed by our own pages only), the audit history, and the transition buttons."""

from __future__ import annotations

import re

import pytest

from payments import services
from payments.services import payment_request_attachment_add
from tests.approvals.factories import approver_users
from tests.files.factories import stored_file
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db
PR_URL = "/admin/payments/paymentrequest/{}/change/"
# finance on a direct PR: session, user, permissions, the PR, chain, invoices, attachments (17: a draft's
# last rejection is on its row, no longer an audit look-up), and the History panel finance now sees:
# one lookup per child table of audit.history (6) and the entries (1).
PR_PAGE_QUERIES = 24
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def buttons(html: str) -> set[str]:
    return set(re.findall(r'id="pr-action-([a-z_]+)"', html))


def test_chain_panel_marks_the_current_step_and_who_approved(maker, finance, admin_client_for):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b]), ("allof", [b, c])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    html = admin_client_for(finance).get(PR_URL.format(pr.pk)).content.decode()
    assert 'id="approval-chain"' in html
    assert re.search(r'id="chain-step-1" data-state="done"', html)
    assert re.search(r'class="step state-current" id="chain-step-2" data-state="current"', html)
    step1 = html.split('id="chain-step-1"')[1].split('id="chain-step-2"')[0]
    assert str(a) in step1 and 'data-status="approved"' in step1 and "1 of 2 approvers have approved" in step1
    assert "All of" in html or "all of" in html.lower()


def test_rejected_draft_says_by_whom_and_why(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_reject(pr=pr, actor=a, reason="Thiếu chứng từ gốc")
    html = admin_client_for(maker).get(PR_URL.format(pr.pk)).content.decode()
    assert 'id="last-rejection"' in html and "Thiếu chứng từ gốc" in html
    rejection = html.split('id="last-rejection"')[1].split("</p>")[0]
    assert a.name and a.name in rejection and a.email not in rejection  # the person, not their e-mail


def test_linked_invoices_and_total(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    invoices = [make_invoice(total="11000000"), make_invoice(total="10670000")]
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=invoices, amount="21670000")
    html = admin_client_for(finance).get(PR_URL.format(pr.pk)).content.decode()
    total = re.search(r'id="pr-invoices-total">([^<]*<[^>]*>[^<]*)', html).group(1)
    assert "21,670,000 VND" in total
    assert all(inv.number in html for inv in invoices)
    assert 'id="pr-manage-invoices"' in html


def test_pdf_attachment_is_previewed_inline_and_frameable_by_us_only(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    file = stored_file(content=PDF, name="hop-dong.pdf", created_by=maker)
    payment_request_attachment_add(pr=pr, file=file, actor=maker)
    client = admin_client_for(finance)
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    src = re.search(r'<iframe class="pdf-preview" src="([^"]+)"', html).group(1)
    response = client.get(src)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert client.get(PR_URL.format(pr.pk))["X-Frame-Options"] == "DENY"  # the rest of the admin is never framed


def test_audit_history_shows_for_whoever_sees_the_pr_but_the_audit_log_stays_owner_only(
    maker, finance, owner, outsider, admin_client_for
):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], name="Cước vận chuyển", request=True)
    services.payment_request_approve(pr=pr, actor=a)
    history_url = f"/admin/payments/paymentrequest/{pr.pk}/history/"
    for user in (owner, finance, a):  # a: a bod approver on the chain, who can view the PR
        client = admin_client_for(user)
        history = client.get(PR_URL.format(pr.pk)).content.decode().split('class="audit-history"')[1]
        assert "Approval requested" in history and "Approved" in history
        assert "Payment request approved</strong>: Yes" in history  # metadata as label: value, not a dict
        assert "{&#x27;" not in history and "{'" not in history
        assert "Draft → Pending approval" in history  # choices shown by their labels
        assert 'class="audit-history"' in client.get(history_url).content.decode()
    assert admin_client_for(finance).get("/admin/audit/auditentry/").status_code == 403
    assert admin_client_for(a).get("/admin/audit/auditentry/").status_code == 403
    outsider_client = admin_client_for(outsider)
    assert outsider_client.get(PR_URL.format(pr.pk)).status_code in (302, 403)
    assert outsider_client.get(history_url).status_code in (302, 403, 404)


def test_buttons_follow_status_and_role(maker, finance, admin_client_for):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    assert buttons(admin_client_for(maker).get(PR_URL.format(pr.pk)).content.decode()) == {"request_approval"}
    assert buttons(admin_client_for(a).get(PR_URL.format(pr.pk)).content.decode()) == set()
    services.payment_request_request_approval(pr=pr, actor=maker)
    assert buttons(admin_client_for(a).get(PR_URL.format(pr.pk)).content.decode()) == {"approve", "reject"}
    assert buttons(admin_client_for(b).get(PR_URL.format(pr.pk)).content.decode()) == set()
    assert buttons(admin_client_for(maker).get(PR_URL.format(pr.pk)).content.decode()) == {"recall"}
    services.payment_request_approve(pr=pr, actor=a)
    assert buttons(admin_client_for(a).get(PR_URL.format(pr.pk)).content.decode()) == {"retract"}
    assert "complete" in buttons(admin_client_for(finance).get(PR_URL.format(pr.pk)).content.decode())


def test_pr_page_queries_do_not_grow_with_invoices_steps_or_attachments(maker, finance, admin_client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(pr) -> int:
        client = admin_client_for(finance)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PR_URL.format(pr.pk)).status_code == 200
        return len(captured.captured_queries)

    people = approver_users(4)
    small = make_pr(maker=maker, steps=[("anyof", people[:1])], type="direct", invoices=[make_invoice()])
    payment_request_attachment_add(pr=small, file=stored_file(content=PDF, name="a.pdf"), actor=maker)
    big = make_pr(
        maker=maker,
        steps=[("anyof", people[:2]), ("allof", people[2:])],
        type="direct",
        invoices=[make_invoice() for _ in range(8)],
    )
    for i in range(4):
        payment_request_attachment_add(pr=big, file=stored_file(content=PDF + bytes([i]), name=f"{i}.pdf"), actor=maker)
    count(small)  # warms the per-process content-type cache
    assert count(small) == count(big) == PR_PAGE_QUERIES


def test_a_chosen_flow_shows_chosen_and_saving_the_draft_keeps_its_chain(maker, owner, admin_client_for):
    from audit.models import AuditEntry
    from tests.approvals.factories import make_flow
    from tests.payments.factories import grant

    (a,) = approver_users(1)
    chosen = make_flow(owner=owner, name="Quy trình riêng", steps=[("anyof", [a])])
    grant(maker, "approvals.customize_chain")
    pr = services.payment_request_create(
        actor=maker,
        name="Tạm ứng",
        amount="2000000",
        type="advanced",
        bank_account="0071",
        account_name="CTY",
        flow=chosen,
    )
    client = admin_client_for(maker)
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    select = html.split('name="flow"')[1].split("</select>")[0]
    assert f'<option value="{chosen.pk}" selected>' in select
    assert "(the approval flow for the amount)" in select and "---------" not in select
    data = {
        "name": "Tạm ứng (sửa)",
        "type": "advanced",
        "amount": "2000000",
        "currency": "VND",
        "note": "",
        "bank_name": "",
        "bank_account": "0071",
        "account_name": "CTY",
        "flow": str(chosen.pk),
    }
    assert client.post(PR_URL.format(pr.pk), data).status_code == 302
    update = AuditEntry.objects.filter(table_name="pr", record_id=str(pr.pk), action="update_pr").latest("id")
    assert "chain_replaced" not in update.metadata  # the flow was not touched: the chain stays as it was
    pr.refresh_from_db()
    assert pr.name == "Tạm ứng (sửa)" and (pr.approval.flow, pr.approval.is_custom) == (chosen, True)
