"""Every business action is reachable from the admin and goes through the services; a refusal is an admin
message on the page, never a 500."""

from __future__ import annotations

import re

import pytest

from invoices.models import Invoice
from payments import services
from payments.models import PaymentRequest, PRInvoice
from tests.approvals.factories import approver_users, make_flow
from tests.payments.factories import grant, make_invoice, make_pr

pytestmark = pytest.mark.django_db
PRS = "/admin/payments/paymentrequest/"
INVOICES = "/admin/invoices/invoice/"


def act(client, pr, action, **data):
    return client.post(f"{PRS}{pr.pk}/action/{action}/", data, follow=True)


def message_list(response) -> str:
    return " | ".join(str(m) for m in response.context["messages"])


def test_two_step_chain_walked_through_the_buttons(maker, finance, admin_client_for):
    a, b = approver_users(2)
    pr = make_pr(
        maker=maker, steps=[("anyof", [a]), ("anyof", [b])], type="direct", invoices=[make_invoice()], amount="11000000"
    )
    r = act(admin_client_for(maker), pr, "request_approval")
    assert r.status_code == 200 and "sent for approval" in message_list(r)
    assert act(admin_client_for(a), pr, "approve").status_code == 200
    r = act(admin_client_for(b), pr, "approve")
    assert "approved" in message_list(r)
    pr.refresh_from_db()
    assert pr.status == "approved"
    form = admin_client_for(finance).get(f"{PRS}{pr.pk}/action/complete/")
    assert form.status_code == 200 and 'name="payment_reference"' in form.content.decode()
    r = act(admin_client_for(finance), pr, "complete", payment_reference="FT26333123456")
    pr.refresh_from_db()
    assert pr.status == "completed" and pr.payment_reference == "FT26333123456"
    assert Invoice.objects.get(pr_link__pr=pr).status == "completed"


def test_reject_needs_a_reason_on_an_intermediate_page(maker, admin_client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    client = admin_client_for(a)
    page = client.get(f"{PRS}{pr.pk}/action/reject/")
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    r = client.post(f"{PRS}{pr.pk}/action/reject/", {"reason": ""})
    assert r.status_code == 200 and "errorlist" in r.content.decode()  # the form again, nothing changed
    pr.refresh_from_db()
    assert pr.status == "pending"
    act(client, pr, "reject", reason="Sai số tài khoản")
    pr.refresh_from_db()
    assert pr.status == "draft"


@pytest.mark.parametrize("action", ["approve", "retract", "recall", "request_approval", "uncomplete"])
def test_refusals_are_messages_not_500(action, maker, admin_client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=action != "request_approval")
    outsider_approver = approver_users(1)[0]
    actor = outsider_approver if action != "recall" else a  # neither may do it
    r = act(admin_client_for(actor), pr, action)
    assert r.status_code in (200, 403)
    if r.status_code == 200:
        assert r.context["messages"] and any(m.level_tag == "error" for m in r.context["messages"])


def test_complete_refused_without_the_permission(maker, admin_client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    assert admin_client_for(a).post(f"{PRS}{pr.pk}/action/complete/", {"payment_reference": "x"}).status_code == 403
    pr.refresh_from_db()
    assert pr.status == "approved"


@pytest.mark.parametrize(("path", "status"), [("nope/", 404), ("approve/extra/", 302), ("../", 302), ("%00/", 302)])
def test_unknown_actions_change_nothing(path, status, maker, finance, admin_client_for):
    # 302: the admin's catch-all sends odd object URLs to the change page
    pr = make_pr(maker=maker, steps=[("anyof", approver_users(1))])
    assert admin_client_for(finance).post(f"{PRS}{pr.pk}/action/{path}").status_code == status
    pr.refresh_from_db()
    assert pr.status == "draft"


def test_get_on_a_direct_action_changes_nothing(maker, admin_client_for):
    pr = make_pr(maker=maker, steps=[("anyof", approver_users(1))])
    r = admin_client_for(maker).get(f"{PRS}{pr.pk}/action/request_approval/")
    assert r.status_code == 302
    pr.refresh_from_db()
    assert pr.status == "draft"


def test_cannot_act_on_a_pr_one_cannot_see(maker, outsider, admin_client_for):
    pr = make_pr(maker=maker, steps=[("anyof", approver_users(1))])
    assert admin_client_for(outsider).post(f"{PRS}{pr.pk}/action/request_approval/").status_code in (302, 403, 404)
    pr.refresh_from_db()
    assert pr.status == "draft"


def test_create_pr_from_selected_invoices(maker, owner, admin_client_for):
    """The chain comes from the flow for the amount; choosing a flow needs `approvals.customize_chain`."""
    from tests.accounts.factories import UserFactory
    from tests.payments.factories import grant

    (a,) = approver_users(1)
    by_amount = make_flow(owner=owner, steps=[("anyof", [a])], min_amount="0", max_amount="100000000")
    chosen = make_flow(owner=owner, name="Riêng", steps=[("anyof", [a])])
    invoices = [make_invoice(total="11000000"), make_invoice(total="10670000")]
    client = admin_client_for(maker)
    data = {"action": "create_payment_request", "_selected_action": [i.pk for i in invoices]}
    page = client.post(INVOICES, data)
    assert page.status_code == 200 and "21,670,000 VND" in page.content.decode()
    html = page.content.decode()  # laid out like the admin's own forms: aligned rows, capitalised labels
    assert '<fieldset class="module aligned">' in html and 'class="form-row field-name"' in html
    assert '<label for="id_name">Name:</label>' in html
    assert re.search(r'<input type="text" name="name" class="vTextField"', html)
    # a maker who picks a flow is refused, and nothing is made
    r = client.post(INVOICES, {**data, "apply": "1", "name": "Chọn quy trình", "flow": chosen.pk}, follow=True)
    assert "needs the permission to customise approval chains" in message_list(r)
    assert not PaymentRequest.objects.exists() and not PRInvoice.objects.exists()
    r = client.post(INVOICES, {**data, "apply": "1", "name": "Thanh toán Minh Phát"})
    pr = PaymentRequest.objects.get(name="Thanh toán Minh Phát")
    assert r.status_code == 302 and r["Location"].endswith(f"/{pr.pk}/change/")
    assert pr.type == "direct" and pr.amount == 21670000 and pr.status == "draft"
    assert pr.approval.flow == by_amount and not pr.approval.is_custom
    assert set(PRInvoice.objects.filter(pr=pr).values_list("invoice_id", flat=True)) == {i.pk for i in invoices}
    # someone an owner granted custom chains still chooses
    chooser = grant(UserFactory(roles=["finance"]), "approvals.customize_chain")
    more = [make_invoice(total="5000000")]
    data = {"action": "create_payment_request", "_selected_action": [i.pk for i in more]}
    html = admin_client_for(chooser).post(INVOICES, data).content.decode()
    assert '<label for="id_flow">Approval flow:</label>' in html
    r = admin_client_for(chooser).post(INVOICES, {**data, "apply": "1", "name": "Chuỗi riêng", "flow": chosen.pk})
    custom = PaymentRequest.objects.get(name="Chuỗi riêng")
    assert r.status_code == 302 and custom.approval.flow == chosen and custom.approval.is_custom


def test_create_pr_refused_for_a_linked_invoice_creates_nothing(maker, admin_client_for):
    (a,) = approver_users(1)
    linked = make_invoice()
    make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=[linked])
    free = make_invoice()
    before = PaymentRequest.objects.count()
    r = admin_client_for(maker).post(
        INVOICES,
        {"action": "create_payment_request", "apply": "1", "name": "X", "_selected_action": [linked.pk, free.pk]},
        follow=True,
    )
    assert r.status_code == 200 and any(m.level_tag == "error" for m in r.context["messages"])
    assert PaymentRequest.objects.count() == before
    assert not PRInvoice.objects.filter(invoice=free).exists()


def test_add_invoices_to_a_draft(maker, admin_client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct")
    inv = make_invoice()
    client = admin_client_for(maker)
    page = client.post(INVOICES, {"action": "add_to_payment_request", "_selected_action": [inv.pk]})
    assert f'value="{pr.pk}"' in page.content.decode()
    client.post(INVOICES, {"action": "add_to_payment_request", "_selected_action": [inv.pk], "apply": "1", "pr": pr.pk})
    assert PRInvoice.objects.get(invoice=inv).pr_id == pr.pk


def test_approver_cannot_create_prs_from_invoices(approver, admin_client_for):
    make_invoice()
    r = admin_client_for(approver).get(INVOICES)
    assert r.status_code == 200 and "create_payment_request" not in r.content.decode()
    assert "mark_obsolete" not in r.content.decode()


def test_bulk_approve_and_obsolete_restore(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    prs = [make_pr(maker=maker, steps=[("anyof", [a])], request=True) for _ in range(2)]
    draft = make_pr(maker=maker, steps=[("anyof", [a])])
    r = admin_client_for(a).post(
        PRS, {"action": "approve_selected", "_selected_action": [p.pk for p in [*prs, draft]]}, follow=True
    )
    assert r.status_code == 200
    assert PaymentRequest.objects.filter(pk__in=[p.pk for p in prs], status="approved").count() == 2
    assert any(m.level_tag == "error" for m in r.context["messages"])  # the draft is refused, the rest go on
    inv = make_invoice()
    admin_client_for(finance).post(INVOICES, {"action": "mark_obsolete", "_selected_action": [inv.pk], "post": "yes"})
    inv.refresh_from_db()
    assert inv.status == "redundant"
    admin_client_for(finance).post(INVOICES, {"action": "restore", "_selected_action": [inv.pk]})
    inv.refresh_from_db()
    assert inv.status == "imported"


def test_obsolete_refusal_is_a_message(finance, admin_client_for):
    done = make_invoice(status="completed")
    r = admin_client_for(finance).post(
        INVOICES, {"action": "mark_obsolete", "_selected_action": [done.pk], "post": "yes"}, follow=True
    )
    assert r.status_code == 200 and any(m.level_tag == "error" for m in r.context["messages"])
    done.refresh_from_db()
    assert done.status == "completed"


def test_payment_method_refusal_keeps_the_form(finance, admin_client_for, monkeypatch):
    from acountee.errors import ValidationFailed
    from payments import services as payment_services

    def refuse(**kwargs):
        raise ValidationFailed("Tên đã tồn tại.", code="DUPLICATE_NAME")

    monkeypatch.setattr(payment_services, "payment_method_create", refuse)
    r = admin_client_for(finance).post("/admin/payments/paymentmethod/add/", {"name": "Vietcombank"}, follow=True)
    assert r.status_code == 200
    texts = [str(m) for m in r.context["messages"]]
    assert "Tên đã tồn tại." in texts and not any("successfully" in t for t in texts)


@pytest.mark.parametrize(
    "extra", [{"flow": "abc"}, {"flow": "999999"}, {"name": "x" * 300}, {"flow": "1 OR 1=1"}, {"name": "\x00"}]
)
def test_create_pr_hostile_form_values_show_the_form_again(extra, maker, admin_client_for):
    grant(maker, "approvals.customize_chain")  # the flow field is offered only to holders
    inv = make_invoice()
    before = PaymentRequest.objects.count()
    r = admin_client_for(maker).post(
        INVOICES, {"action": "create_payment_request", "apply": "1", "_selected_action": [inv.pk], **extra}
    )
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert PaymentRequest.objects.count() == before


def test_create_pr_from_invoices_forged_flow_is_refused_for_a_maker(maker, owner, admin_client_for):
    """CHAIN-FROM-POLICY through the invoice list: no flow field for a maker, a forged one refused."""
    (a,) = approver_users(1)
    flow = make_flow(owner=owner, steps=[("anyof", [a])])
    inv = make_invoice()
    client = admin_client_for(maker)
    form = client.post(INVOICES, {"action": "create_payment_request", "_selected_action": [inv.pk]})
    assert 'name="flow"' not in form.content.decode()
    r = client.post(
        INVOICES,
        {"action": "create_payment_request", "apply": "1", "_selected_action": [inv.pk], "flow": flow.pk},
        follow=True,
    )
    assert "CUSTOM_CHAIN_NOT_ALLOWED" in r.content.decode() or "customise approval chains" in r.content.decode()
    assert not PaymentRequest.objects.exists()


def test_add_to_someone_elses_pending_pr_is_refused_by_the_form(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    pending = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    inv = make_invoice()
    r = admin_client_for(finance).post(
        INVOICES, {"action": "add_to_payment_request", "apply": "1", "_selected_action": [inv.pk], "pr": pending.pk}
    )
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert not PRInvoice.objects.filter(invoice=inv).exists()
