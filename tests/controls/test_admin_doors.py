"""The payment controls hold through the back office's own doors (issue #17): the real admin pages, signed in
with the Django test client, forms and forged POSTs alike. The services decide; these tests prove that no admin
page offers a way around them and that a refusal leaves the database as it was.

- CHAIN-FROM-POLICY: a maker never sees the flow field; a forged `flow` is refused and changes nothing.
- PREPARER-NEVER-APPROVES: a colleague who edited a draft cannot approve it from the PR page nor in bulk.
- UNCOMPLETE-CONTROLLED: its own permission and a reason, on a confirmation page; the audit keeps the reason.
- NEW-PAYEE-FLAGGED: the PR page warns about a never-paid account and shows the previous one beside it.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from approvals.models import ApprovalRecord
from audit.models import AuditEntry, SecurityEvent
from payments import services
from payments.models import PaymentRequest
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users, make_flow
from tests.payments.factories import grant, make_invoice, make_pr

pytestmark = pytest.mark.django_db
PRS = "/admin/payments/paymentrequest/"
TAX_CODE = "0109876543"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def buttons(html: str) -> set[str]:
    return set(re.findall(r'id="pr-action-([a-z_]+)"', html))


def messages_of(response) -> str:
    return " | ".join(str(m) for m in response.context["messages"])


def change_form(pr: PaymentRequest, **overrides) -> dict[str, str]:
    """What the PR change form posts for `pr` as it stands (a derived amount is not a field of the form)."""
    data = {
        "name": pr.name,
        "type": pr.type,
        "currency": pr.currency,
        "note": pr.note,
        "bank_name": pr.bank_name,
        "bank_account": pr.bank_account,
        "account_name": pr.account_name,
    }
    if pr.type == "advanced":
        data["amount"] = str(pr.amount)
    return {**data, **overrides}


# --- CHAIN-FROM-POLICY -----------------------------------------------------------------------------------------
def test_a_maker_cannot_choose_a_flow(maker, owner):
    (a, b) = approver_users(2)
    by_amount = make_flow(
        owner=owner, name="Dưới 100 triệu", steps=[("anyof", [a])], min_amount="0", max_amount="100000000"
    )
    lower = make_flow(owner=owner, name="Dễ dãi", steps=[("anyof", [b])])
    client = signed_in(maker)
    add = client.get(f"{PRS}add/").content.decode()
    assert 'name="flow"' not in add and 'id="id_flow"' not in add
    assert "The approval chain comes from the approval flow for the amount" in add

    # forged on the add form: refused with the policy's reason, nothing made
    r = client.post(
        f"{PRS}add/",
        {
            "name": "Tạm ứng",
            "type": "advanced",
            "amount": "2000000",
            "currency": "VND",
            "bank_name": "VCB",
            "bank_account": "0071",
            "account_name": "CTY",
            "flow": lower.pk,
        },
        follow=True,
    )
    assert "needs the permission to customise approval chains" in messages_of(r)
    assert not PaymentRequest.objects.exists()

    # forged on a draft's change form: refused, neither the chain nor the other fields change
    pr = make_pr(maker=maker, amount="2000000")
    assert (pr.approval.flow, pr.approval.is_custom) == (by_amount, False)
    change = client.get(f"{PRS}{pr.pk}/change/").content.decode()
    assert 'name="flow"' not in change
    r = client.post(f"{PRS}{pr.pk}/change/", change_form(pr, name="Đổi tên", flow=lower.pk), follow=True)
    assert "needs the permission to customise approval chains" in messages_of(r)
    pr.refresh_from_db()
    pr.approval.refresh_from_db()
    assert pr.name != "Đổi tên"
    assert (pr.approval.flow, pr.approval.is_custom) == (by_amount, False)
    assert [s.name for s in pr.approval.steps.order_by("number")] == [s.name for s in by_amount.steps.all()]
    assert not AuditEntry.objects.filter(table_name="pr", record_id=str(pr.pk), action="update_pr").exists()

    # an owner (who holds approvals.customize_chain) is offered the field
    assert 'name="flow"' in signed_in(owner).get(f"{PRS}{pr.pk}/change/").content.decode()


# --- PREPARER-NEVER-APPROVES -----------------------------------------------------------------------------------
def test_a_preparer_cannot_approve_from_the_page_nor_in_bulk(maker):
    colleague = UserFactory(name="Đồng nghiệp", roles=["finance", "bod"])  # finance edits, bod approves
    (other,) = approver_users(1)
    # a custom chain naming the colleague, so nothing but the preparer rule stands between them and approving
    pr = make_pr(maker=maker, steps=[("anyof", [colleague, other])], amount="3000000", name="Mua máy chủ")

    # the colleague edits the maker's draft through the change form: that makes them a preparer
    r = signed_in(colleague).post(f"{PRS}{pr.pk}/change/", change_form(pr, note="Sửa số lượng"))
    assert r.status_code == 302, r.content.decode()[:2000]
    assert pr.preparers.filter(user=colleague).exists()
    r = signed_in(maker).post(f"{PRS}{pr.pk}/action/request_approval/", follow=True)
    assert "sent for approval" in messages_of(r)
    pr.refresh_from_db()
    assert pr.status == "pending"

    client = signed_in(colleague)
    page = client.get(f"{PRS}{pr.pk}/change/").content.decode()
    assert buttons(page) == set()  # no approve, no reject
    preparers = page.split('id="pr-preparers"')[1].split("</div>")[0]
    assert str(colleague) in preparers and str(maker) in preparers
    assert "Mua máy chủ" not in client.get(f"{PRS}?awaiting_me=yes").content.decode()

    r = client.post(f"{PRS}{pr.pk}/action/approve/", follow=True)  # forged: the button was never shown
    assert r.status_code == 200 and "You prepared this request" in messages_of(r)
    r = client.post(PRS, {"action": "approve_selected", "_selected_action": [pr.pk]}, follow=True)
    assert r.status_code == 200 and "SELF_APPROVAL" in messages_of(r)
    pr.refresh_from_db()
    assert pr.status == "pending" and not ApprovalRecord.objects.filter(approval__pr=pr).exists()

    # the other approver, who prepared nothing, approves it
    r = signed_in(other).post(f"{PRS}{pr.pk}/action/approve/", follow=True)
    assert "approved" in messages_of(r)
    pr.refresh_from_db()
    assert pr.status == "approved"


# --- UNCOMPLETE-CONTROLLED ---------------------------------------------------------------------------------------
@pytest.fixture
def completed(maker, finance):
    (a,) = approver_users(1)
    pr = make_pr(
        maker=maker,
        steps=[("anyof", [a])],
        type="direct",
        invoices=[make_invoice()],
        request=True,
        name="Cước vận chuyển tháng 11",
    )
    services.payment_request_approve(pr=pr, actor=a)
    return services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT26333000111")


def test_uncomplete_needs_its_permission(completed, finance):
    client = signed_in(finance)  # finance completes payments, but does not reverse them
    assert "uncomplete" not in buttons(client.get(f"{PRS}{completed.pk}/change/").content.decode())
    assert client.get(f"{PRS}{completed.pk}/action/uncomplete/").status_code == 403
    assert client.post(f"{PRS}{completed.pk}/action/uncomplete/", {"reason": "Ngân hàng trả lại"}).status_code == 403
    # the one-click list action is gone: a forged one is not an action at all
    r = client.post(PRS, {"action": "uncomplete_selected", "_selected_action": [completed.pk]}, follow=True)
    assert r.status_code == 200
    completed.refresh_from_db()
    assert (completed.status, completed.payment_reference) == ("completed", "FT26333000111")
    assert not AuditEntry.objects.filter(action="uncomplete").exists()


def test_uncomplete_needs_a_reason_and_then_works(completed):
    holder = grant(UserFactory(name="Kế toán trưởng", roles=["finance"]), "payments.uncomplete_paymentrequest")
    client = signed_in(holder)
    assert "uncomplete" in buttons(client.get(f"{PRS}{completed.pk}/change/").content.decode())
    page = client.get(f"{PRS}{completed.pk}/action/uncomplete/").content.decode()
    assert 'name="reason"' in page and "becomes approved and payable again" in page
    assert "Cước vận chuyển tháng 11" in page and "11,000,000 VND" in page
    assert "FT26333000111" in page and completed.payee_bank_account in page

    for reason in ("", "   "):
        r = client.post(f"{PRS}{completed.pk}/action/uncomplete/", {"reason": reason})
        assert r.status_code == 200 and "errorlist" in r.content.decode()  # the page again
    completed.refresh_from_db()
    assert completed.status == "completed"
    assert not AuditEntry.objects.filter(action="uncomplete").exists()

    r = client.post(f"{PRS}{completed.pk}/action/uncomplete/", {"reason": "Ngân hàng trả lại: sai tên TK"}, follow=True)
    assert f"Payment request #{completed.pk}: un-completed." in messages_of(r)
    completed.refresh_from_db()
    assert (completed.status, completed.payment_reference) == ("approved", "")
    entry = AuditEntry.objects.get(table_name="pr", record_id=str(completed.pk), action="uncomplete")
    assert entry.metadata["reason"] == "Ngân hàng trả lại: sai tên TK"
    assert entry.metadata["payment_reference"] == "FT26333000111"
    event = SecurityEvent.objects.get(kind="payment_uncompleted")
    assert event.details["reason"] == "Ngân hàng trả lại: sai tên TK" and event.user_id == holder.pk

    # again, now that it is approved: the service's refusal is a message, nothing changes
    r = client.post(f"{PRS}{completed.pk}/action/uncomplete/", {"reason": "Lần nữa"}, follow=True)
    assert "This payment request is not completed." in messages_of(r)
    assert AuditEntry.objects.filter(action="uncomplete").count() == 1


# --- NEW-PAYEE-FLAGGED -------------------------------------------------------------------------------------------
def test_new_payee_warning_and_previous_account_on_the_pr_page(maker, finance):
    (a,) = approver_users(1)
    first = make_pr(
        maker=maker,
        steps=[("anyof", [a])],
        type="direct",
        request=True,
        name="Lần đầu",
        invoices=[
            make_invoice(
                seller_tax_code=TAX_CODE,
                bank_account="0011001111111",
                bank_name="Vietcombank",
                account_name="CÔNG TY SAO MAI",
            )
        ],
    )
    services.payment_request_approve(pr=first, actor=a)
    services.payment_request_complete(pr=first, actor=finance, payment_reference="FT1")
    same = make_pr(
        maker=maker,
        steps=[("anyof", [a])],
        type="direct",
        request=True,
        name="Cùng tài khoản",
        invoices=[
            make_invoice(
                seller_tax_code=TAX_CODE,
                bank_account="0011001111111",
                bank_name="Vietcombank",
                account_name="CÔNG TY SAO MAI",
            )
        ],
    )
    changed = make_pr(
        maker=maker,
        steps=[("anyof", [a])],
        type="direct",
        request=True,
        name="Đổi tài khoản",
        invoices=[
            make_invoice(
                seller_tax_code=TAX_CODE,
                bank_account="9999888877776666",
                bank_name="NH Lạ",
                account_name="SAO MAI TRADING",
            )
        ],
    )
    assert (same.payee_is_new, changed.payee_is_new, changed.previous_bank_account) == (False, True, "0011001111111")

    client = signed_in(a)
    html = client.get(f"{PRS}{changed.pk}/change/").content.decode()
    warning = html.split('id="pr-new-payee-warning"')[1].split("</p>")[0]
    assert "New payee account" in warning and "9999888877776666" in warning and "0011001111111" in warning
    payee = html.split('id="pr-payee"')[1]
    assert 'id="pr-new-payee"' in payee and TAX_CODE in payee and "SAO MAI TRADING" in payee
    comparison = payee.split('id="pr-payee-change"')[1].split("</table>")[0]
    assert "Previous account" in comparison and "New account" in comparison
    assert comparison.index("0011001111111") < comparison.index("9999888877776666")  # previous → new
    assert "CÔNG TY SAO MAI" in comparison and "NH Lạ" in comparison

    html = client.get(f"{PRS}{same.pk}/change/").content.decode()
    assert 'id="pr-payee"' in html and "0011001111111" in html
    assert "pr-new-payee" not in html and "pr-payee-change" not in html

    # the approval queue marks it too
    queue = client.get(f"{PRS}?awaiting_me=yes").content.decode()
    rows = {name: row for row in queue.split("<tr")[1:] for name in ("Cùng tài khoản", "Đổi tài khoản") if name in row}
    assert 'data-status="new_payee"' in rows["Đổi tài khoản"]
    assert 'data-status="new_payee"' not in rows["Cùng tài khoản"]
