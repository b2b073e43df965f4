"""The back office: PR list filters, the chain on the PR page, actions that call the
services (approve, reject with a reason, complete with a reference), flows with inline steps."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalFlow, ApprovalRecord
from payments.models import PaymentMethod, PaymentRequest
from tests.approvals.factories import approver_users, make_flow
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/payments/paymentrequest/"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_changelist_filters_and_queue(maker, finance):
    a, b = approver_users(2)
    mine = make_pr(maker=maker, steps=[("anyof", [a])], request=True, name="Cước Internet")
    make_pr(maker=maker, steps=[("anyof", [b])], request=True, name="Tiền điện")
    client = browser(a)
    page = client.get(CHANGELIST).content.decode()
    assert "Cước Internet" in page and "Tiền điện" in page  # bod may view every PR
    page = client.get(f"{CHANGELIST}?awaiting_me=yes").content.decode()
    assert "Cước Internet" in page and "Tiền điện" not in page
    month = timezone.localdate().strftime("%Y-%m")
    for query in (
        f"month={month}",
        "status__exact=pending",
        "type__exact=advanced",
        f"maker__id__exact={maker.pk}",
        "month=garbage",
        "q=Internet",
    ):
        assert browser(finance).get(f"{CHANGELIST}?{query}").status_code == 200, query
    assert mine.pk


def test_change_page_shows_chain_step_by_step(maker, finance):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b]), ("allof", [b, c])], request=True)
    from payments import services

    services.payment_request_approve(pr=pr, actor=a)
    page = browser(finance).get(f"{CHANGELIST}{pr.pk}/change/").content.decode()
    assert "approval-chain" in page
    assert str(a) in page and str(c) in page


def add_form(**overrides):
    return {
        "name": "Tạm ứng mua văn phòng phẩm",
        "type": "advanced",
        "amount": "1200000",
        "currency": "VND",
        "note": "",
        "bank_name": "",
        "bank_account": "",
        "account_name": "",
        **overrides,
    }


def test_add_through_admin_uses_the_service(maker, owner):
    """A maker's chain comes from the flow for the amount: no flow field, a forged one is refused. Someone an
    owner granted `approvals.customize_chain` still chooses one."""
    from tests.accounts.factories import UserFactory
    from tests.payments.factories import grant

    a, b = approver_users(2)
    by_amount = make_flow(
        owner=owner, name="Dưới 100 triệu", steps=[("anyof", [a])], min_amount="0", max_amount="100000000"
    )
    other = make_flow(owner=owner, name="Riêng", steps=[("anyof", [a]), ("anyof", [b])])
    method = PaymentMethod.objects.create(name="TK Vietcombank", bank_account="0071", account_name="CTY ABC")
    client = browser(maker)
    page = client.get(f"{CHANGELIST}add/").content.decode()
    assert 'name="flow"' not in page and "comes from the approval flow for the amount" in page
    r = client.post(f"{CHANGELIST}add/", add_form(flow=other.pk, payment_method=method.pk), follow=True)
    assert "needs the permission to customise approval chains" in r.content.decode()
    assert not PaymentRequest.objects.exists()
    r = client.post(f"{CHANGELIST}add/", add_form(payment_method=method.pk))
    assert r.status_code == 302, r.content.decode()[:2000]
    pr = PaymentRequest.objects.get()
    assert pr.maker == maker and pr.bank_account == "0071" and pr.amount == 1200000
    assert pr.approval.flow == by_amount and not pr.approval.is_custom and pr.approval.steps.count() == 1

    chooser = grant(UserFactory(roles=["finance"]), "approvals.customize_chain")
    client = browser(chooser)
    assert 'name="flow"' in client.get(f"{CHANGELIST}add/").content.decode()
    r = client.post(f"{CHANGELIST}add/", add_form(name="Chuỗi riêng", flow=other.pk, payment_method=method.pk))
    assert r.status_code == 302, r.content.decode()[:2000]
    custom = PaymentRequest.objects.get(name="Chuỗi riêng")
    assert custom.approval.flow == other and custom.approval.is_custom and custom.approval.steps.count() == 2


def test_add_direct_request_without_an_amount(maker):
    client = browser(maker)
    r = client.post(f"{CHANGELIST}add/", add_form(name="Thanh toán Minh Phát", type="direct", amount=""))
    assert r.status_code == 302, r.content.decode()[:2000]
    pr = PaymentRequest.objects.get()
    assert (pr.type, pr.amount) == ("direct", 0)
    page = client.get(f"{CHANGELIST}{pr.pk}/change/").content.decode()
    assert 'name="amount"' not in page and 'id="amount-derived"' in page and "total of the invoices" in page
    # a typed amount on a direct request, or none on an advanced one, is a form error; nothing is made
    for data in (add_form(type="direct", amount="5000000"), add_form(amount="")):
        r = client.post(f"{CHANGELIST}add/", data)
        assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert PaymentRequest.objects.count() == 1


def test_amount_is_typed_only_on_an_advanced_request_without_invoices(maker):
    from tests.payments.factories import make_invoice

    advanced = make_pr(maker=maker, amount="3000000")
    client = browser(maker)
    page = client.get(f"{CHANGELIST}{advanced.pk}/change/").content.decode()
    assert 'name="amount"' in page and 'id="amount-derived"' not in page
    with_invoices = make_pr(maker=maker, amount="3000000", invoices=[make_invoice(total="11000000")])
    page = client.get(f"{CHANGELIST}{with_invoices.pk}/change/").content.decode()
    assert 'name="amount"' not in page and 'id="amount-derived"' in page and "11,000,000 VND" in page
    # a forged amount is not a field of that form: it changes nothing
    r = client.post(
        f"{CHANGELIST}{with_invoices.pk}/change/",
        add_form(
            name="Đổi tên",
            amount="1",
            bank_name=with_invoices.bank_name,
            bank_account=with_invoices.bank_account,
            account_name=with_invoices.account_name,
        ),
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    with_invoices.refresh_from_db()
    assert (with_invoices.name, with_invoices.amount) == ("Đổi tên", 11000000)


def test_approve_reject_complete_actions(maker, finance):
    a, b = approver_users(2)
    one = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    two = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    other = make_pr(maker=maker, steps=[("anyof", [b])], request=True)
    client = browser(a)
    r = client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [one.pk, other.pk]}, follow=True)
    assert r.status_code == 200
    assert PaymentRequest.objects.get(pk=one.pk).status == "approved"
    assert PaymentRequest.objects.get(pk=other.pk).status == "pending"
    assert "NOT_AN_APPROVER" in r.content.decode()
    # reject: first the intermediate form, then the reason
    r = client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [two.pk]})
    assert r.status_code == 200 and b'name="reason"' in r.content
    r = client.post(
        CHANGELIST,
        {"action": "reject_selected", "_selected_action": [two.pk], "apply": "1", "reason": "Thiếu chứng từ"},
    )
    assert r.status_code == 302
    assert PaymentRequest.objects.get(pk=two.pk).status == "draft"
    # complete with a reference
    r = browser(finance).post(
        CHANGELIST,
        {"action": "complete_selected", "_selected_action": [one.pk], "apply": "1", "payment_reference": "FT999"},
    )
    assert r.status_code == 302
    done = PaymentRequest.objects.get(pk=one.pk)
    assert (done.status, done.payment_reference) == ("completed", "FT999")


def test_non_draft_is_read_only_in_admin(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    client = browser(maker)
    r = client.post(
        f"{CHANGELIST}{pr.pk}/change/", {"name": "Đổi", "type": "advanced", "amount": "1", "currency": "VND"}
    )
    assert r.status_code == 403
    assert PaymentRequest.objects.get(pk=pr.pk).name != "Đổi"


def test_flow_with_inline_steps(owner, finance):
    a, b = approver_users(2)
    data = {
        "name": "Chi trên 100 triệu",
        "description": "",
        "is_active": "on",
        "min_amount": "100000000",
        "max_amount": "",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "1",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-number": "1",
        "steps-0-name": "Kế toán trưởng",
        "steps-0-mode": "anyof",
        "steps-0-approver_users": [a.pk],
        "steps-1-number": "2",
        "steps-1-name": "Giám đốc",
        "steps-1-mode": "allof",
        "steps-1-approver_users": [a.pk, b.pk],
    }
    assert browser(finance).post("/admin/approvals/approvalflow/add/", data).status_code == 403
    r = browser(owner).post("/admin/approvals/approvalflow/add/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    flow = ApprovalFlow.objects.get()
    assert [(s.number, s.mode, s.step_users.count()) for s in flow.steps.order_by("number")] == [
        (1, "anyof", 1),
        (2, "allof", 2),
    ]
    # an overlapping range is refused by the service, nothing saved
    data["name"] = "Trùng"
    r = browser(owner).post("/admin/approvals/approvalflow/add/", data, follow=True)
    assert ApprovalFlow.objects.count() == 1
    assert "overlaps another active flow" in r.content.decode()  # refused by the form, nothing saved
    assert ApprovalRecord.objects.count() == 0


def test_change_page_with_invoices_attachments_and_read_only_states(maker, finance, owner):
    from files.services import stored_file_create
    from payments.services import payment_request_attachment_add
    from tests.payments.factories import make_invoice

    (a,) = approver_users(1)
    inv = make_invoice()
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=[inv], request=True)
    stored = stored_file_create(content=b"%PDF-1.4 bao gia", name="bao-gia.pdf", created_by=maker)
    payment_request_attachment_add(pr=pr, file=stored, actor=maker)
    for user in (finance, owner, a):
        page = browser(user).get(f"{CHANGELIST}{pr.pk}/change/")
        assert page.status_code == 200, user
        html = page.content.decode()
        assert "bao-gia.pdf" in html and inv.series in html


def test_flow_change_page_and_delegation_admin(owner):
    a, b = approver_users(2)
    flow = make_flow(owner=owner, steps=[("allof", [a, b])])
    client = browser(owner)
    assert client.get(f"/admin/approvals/approvalflow/{flow.pk}/change/").status_code == 200
    assert client.get("/admin/approvals/approvalflow/").status_code == 200
    today = timezone.localdate().isoformat()
    r = browser(a).post(
        "/admin/approvals/approvaldelegation/add/",
        {"approver": a.pk, "substitute": b.pk, "start_date": today, "end_date": today, "note": "Nghỉ phép"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    from approvals.models import ApprovalDelegation

    assert ApprovalDelegation.objects.get().created_by == a
    r = browser(b).post(
        "/admin/approvals/approvaldelegation/add/",
        {"approver": a.pk, "substitute": owner.pk, "start_date": today, "end_date": today, "note": ""},
        follow=True,
    )
    assert ApprovalDelegation.objects.count() == 1  # only your own (or an owner)


def test_invoices_page_links_and_unlinks_through_the_service(maker, approver):
    from payments.models import PRInvoice
    from tests.payments.factories import make_invoice

    inv, other = make_invoice(seller_name="Công ty Minh Phát"), make_invoice(seller_name="Công ty Hoà Bình")
    pr = make_pr(maker=maker, type="direct")
    url = f"{CHANGELIST}{pr.pk}/invoices/"
    client = browser(maker)
    page = client.get(f"{url}?q=Minh").content.decode()
    assert "Minh Phát" in page and "Hoà Bình" not in page
    assert client.post(url, {"op": "link", "invoice": [inv.pk, other.pk]}).status_code == 302
    assert set(PRInvoice.objects.filter(pr=pr).values_list("invoice_id", flat=True)) == {inv.pk, other.pk}
    assert client.post(url, {"op": "unlink", "invoice": [other.pk]}).status_code == 302
    assert list(PRInvoice.objects.filter(pr=pr).values_list("invoice_id", flat=True)) == [inv.pk]
    assert browser(approver).post(url, {"op": "link", "invoice": [other.pk]}).status_code == 403
    assert client.get(f"{CHANGELIST}{pr.pk}/change/").status_code == 200
