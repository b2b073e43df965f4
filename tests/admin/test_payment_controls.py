"""The payment controls in the back office (issue #17), in English and in Vietnamese: the frozen payee and the
new-payee warning on the PR page, the "new payee" marker in the list, the un-complete confirmation page, the
chain-policy note on the PR form and alternates on the flow's steps. (The refusals themselves, through every
door: tests/controls/test_admin_doors.py.)"""

from __future__ import annotations

import pytest

from accounts.models import User
from approvals.models import ApprovalFlow
from payments import services
from tests.approvals.factories import approver_users
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db
PRS = "/admin/payments/paymentrequest/"
FLOWS = "/admin/approvals/approvalflow/"
TAX_CODE = "0101234567"


def speaking(user, language: str, admin_client_for):
    User.objects.filter(pk=user.pk).update(language=language)
    return admin_client_for(user)


@pytest.fixture
def changed_payee(maker, finance, owner):
    """A supplier paid once to one account, now asking to be paid to another (a completed request in between)."""
    (a,) = approver_users(1)
    first = make_pr(
        maker=maker,
        steps=[("anyof", [a])],
        type="direct",
        request=True,
        name="Lần đầu",
        invoices=[make_invoice(total="21670000", seller_tax_code=TAX_CODE, bank_account="0011001111111")],
    )
    services.payment_request_approve(pr=first, actor=a)
    first = services.payment_request_complete(pr=first, actor=finance, payment_reference="FT26333000111")
    pr = make_pr(
        maker=maker,
        steps=[("anyof", [a])],
        type="direct",
        request=True,
        name="Tài khoản mới",
        invoices=[make_invoice(total="11000000", seller_tax_code=TAX_CODE, bank_account="9999888877776666")],
    )
    return {"approver": a, "pr": pr, "paid": first}


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "en",
            [
                "New payee account",
                "Previous account",
                "New account",
                "Payee (fixed when approval was requested)",
                "Prepared by",
                "11,000,000 VND",
                "total of the invoices",
            ],
        ),
        (
            "vi",
            [
                "Tài khoản thụ hưởng mới",
                "Tài khoản trước đây",
                "Tài khoản mới",
                "Người thụ hưởng (cố định khi gửi phê duyệt)",
                "Người chuẩn bị",
                "11.000.000 ₫",
                "tổng các hóa đơn",
            ],
        ),
    ],
)
def test_pr_page_shows_the_payee_controls(language, texts, changed_payee, admin_client_for):
    client = speaking(changed_payee["approver"], language, admin_client_for)
    html = client.get(f"{PRS}{changed_payee['pr'].pk}/change/").content.decode()
    assert f'<html lang="{language}"' in html
    missing = [t for t in texts if t not in html]
    assert not missing, missing
    assert 'id="pr-new-payee-warning"' in html and 'id="pr-payee-change"' in html


@pytest.mark.parametrize(("language", "label"), [("en", "New payee"), ("vi", "TK nhận mới")])
def test_the_list_marks_new_payees(language, label, changed_payee, admin_client_for):
    client = speaking(changed_payee["approver"], language, admin_client_for)
    html = client.get(f"{PRS}?awaiting_me=yes").content.decode()
    row = next(r for r in html.split("<tr")[1:] if "Tài khoản mới" in r)
    assert f'data-status="new_payee">{label}</span>' in row
    assert "uncomplete_selected" not in client.get(PRS).content.decode()  # no one-click un-complete


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "en",
            [
                "becomes approved and payable again",
                "21,670,000 VND",
                "FT26333000111",
                "0011001111111",
                "Payment reference",
                "Un-complete",
            ],
        ),
        (
            "vi",
            [
                "đã phê duyệt và có thể được thanh toán lại",
                "21.670.000 ₫",
                "FT26333000111",
                "0011001111111",
                "Tham chiếu thanh toán",
                "Hủy hoàn tất",
            ],
        ),
    ],
)
def test_uncomplete_confirmation_page(language, texts, changed_payee, owner, admin_client_for):
    client = speaking(owner, language, admin_client_for)  # owners hold payments.uncomplete_paymentrequest
    paid = changed_payee["paid"]
    assert "uncomplete" in client.get(f"{PRS}{paid.pk}/change/").content.decode()
    html = client.get(f"{PRS}{paid.pk}/action/uncomplete/").content.decode()
    missing = [t for t in texts if t not in html]
    assert not missing, missing
    assert 'id="pr-action-warning"' in html and 'name="reason"' in html


@pytest.mark.parametrize(
    ("language", "note"),
    [("en", "comes from the approval flow for the amount"), ("vi", "lấy từ quy trình phê duyệt theo số tiền")],
)
def test_pr_form_says_where_the_chain_comes_from(language, note, maker, admin_client_for):
    html = speaking(maker, language, admin_client_for).get(f"{PRS}add/").content.decode()
    assert note in html and 'name="flow"' not in html


def test_flow_steps_take_alternates(owner, admin_client_for):
    chief, director, alternate = approver_users(3)
    data = {
        "name": "Chi từ 50 triệu",
        "description": "",
        "is_active": "on",
        "min_amount": "50000000",
        "max_amount": "",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "1",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-number": "1",
        "steps-0-name": "Kế toán trưởng",
        "steps-0-mode": "anyof",
        "steps-0-approver_users": [chief.pk],
        "steps-0-alternate_users": [alternate.pk],
        "steps-1-number": "2",
        "steps-1-name": "Giám đốc",
        "steps-1-mode": "anyof",
        "steps-1-approver_users": [director.pk],
    }
    client = admin_client_for(owner)
    assert 'name="steps-__prefix__-alternate_users"' in client.get(f"{FLOWS}add/").content.decode()
    r = client.post(f"{FLOWS}add/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    flow = ApprovalFlow.objects.get()
    rows = {(s.number, su.user_id, su.is_alternate) for s in flow.steps.all() for su in s.step_users.all()}
    assert rows == {(1, chief.pk, False), (1, alternate.pk, True), (2, director.pk, False)}
    page = client.get(f"{FLOWS}{flow.pk}/change/")
    form = next(f for f in page.context["inline_admin_formsets"][0].formset.forms if f.instance.number == 1)
    assert form.fields["approver_users"].initial == [chief.pk]
    assert form.fields["alternate_users"].initial == [alternate.pk]

    # an alternate who is also the step's approver: the service refuses, nothing changes
    data.update(
        {
            "steps-INITIAL_FORMS": "2",
            "steps-0-id": flow.steps.get(number=1).pk,
            "steps-1-id": flow.steps.get(number=2).pk,
            "steps-0-alternate_users": [chief.pk],
            "steps-0-flow": flow.pk,
            "steps-1-flow": flow.pk,
        }
    )
    r = client.post(f"{FLOWS}{flow.pk}/change/", data, follow=True)
    assert any("an alternate is not also an approver" in str(m) for m in r.context["messages"])
    assert flow.steps.get(number=1).step_users.filter(is_alternate=True).get().user_id == alternate.pk
