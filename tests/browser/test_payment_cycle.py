"""The whole back-office cycle in a real browser, as finance staff do it, on the demo data
(the README walkthrough's people): sign in, import a ZIP of e-invoices, make a payment
request from them, request approval, approve through a two-step chain as two different
people, complete it with the bank's reference, and read the audit history. Every step
asserts what the page shows; the service layer is only used to set the stage."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from approvals.policy import flow_for_amount
from approvals.services import approval_flow_update
from payments.models import PaymentRequest, PaymentRequestStatus

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` package is missing: pip install -e '.[dev]'"
).expect

# Two invoices of one supplier (one bank account), made with invoices.samples.make_invoice
# (numbers 101 and 109, series C26TUR, seller 0, 3 lines): 49,339,900 + 17,978,000 VND.
ZIP = Path(__file__).resolve().parent / "fixtures" / "two_invoices_one_supplier.zip"
BOMB = Path(__file__).resolve().parents[1] / "invoices" / "fixtures" / "hostile" / "billion_laughs.xml"
TOTAL = Decimal("67317900")
SELLER = "CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI"
REFERENCE = "FT26333123456"
PR_NAME = "Sao Mai — server maintenance, November 2026"

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Any, user: User) -> None:
    page.goto("/admin/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def expect_message(page: Any, text: str | re.Pattern[str]) -> None:
    expect(page.locator("ul.messagelist")).to_contain_text(text)


def run_action(page: Any, action: str, *rows: str) -> None:
    """On a change list: tick the rows (found by their text) and run the named action."""
    for row in rows:
        page.locator("#result_list tbody tr", has_text=row).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label=action)
    page.get_by_role("button", name="Go").click()


def open_pr(page: Any, pr: PaymentRequest) -> None:
    page.goto(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    expect(page.get_by_role("heading", name=f"#{pr.pk} {pr.name}")).to_be_visible()


@pytest.fixture
def people() -> dict[str, User]:
    """The demo data (`seed_demo`, as `make run` loads it) and, through the service, the owners' flow for
    the request's amount made two steps: the chief accountant (or the maker, for others' requests), then
    the director. The maker does not choose it: the amount does (CHAIN-FROM-POLICY)."""
    call_command("seed_demo", stdout=io.StringIO())
    emails = {
        "maker": "ketoan@acountee.local",
        "chief": "ketoan2@acountee.local",
        "director": "giamdoc@acountee.local",
        "owner": "owner@acountee.local",
    }
    people = {key: User.objects.get(email=email) for key, email in emails.items()}
    flow = flow_for_amount(TOTAL)
    assert flow is not None, "seed_demo has a flow for every amount"
    approval_flow_update(
        flow=flow,
        actor=people["owner"],
        steps=[
            {"name": "Chief accountant", "mode": "anyof", "approvers": [people["chief"], people["maker"]]},
            {"name": "Director", "mode": "anyof", "approvers": [people["director"]]},
        ],
    )
    return people


def test_invoice_to_paid_payment_request(new_page, people):
    maker = new_page()

    # 1. Sign in: the home page says what needs me.
    sign_in(maker, people["maker"])
    expect(maker.locator("#needs-me")).to_be_visible()

    # 2. Import a ZIP of two e-invoices through the upload page.
    maker.goto("/admin/invoices/invoice/")
    maker.get_by_role("link", name="Import e-invoices").click()
    expect(maker.get_by_role("heading", name="Import e-invoices")).to_be_visible()
    maker.get_by_label("XML files or ZIP archives").set_input_files(str(ZIP))
    maker.get_by_role("button", name="Import").click()
    expect_message(maker, "2 imported, 0 skipped (duplicates), 0 failed.")
    result = maker.locator("#import-result")
    expect(result).to_contain_text("two_invoices_one_supplier.zip")
    expect(result.locator("tr.entry-success")).to_have_count(2)
    # Again, with a hostile file: duplicates are skipped, the bomb is refused with a reason, no 500.
    maker.get_by_label("XML files or ZIP archives").set_input_files([str(ZIP), str(BOMB)])
    maker.get_by_role("button", name="Import").click()
    expect_message(maker, "0 imported, 2 skipped (duplicates), 1 failed.")
    expect(result.locator("tr.entry-skipped")).to_have_count(2)
    expect(result.locator("tr.entry-failure")).to_contain_text("billion_laughs.xml")

    # 3. On the invoice list, the two new ones, not in a payment request yet.
    maker.goto("/admin/invoices/invoice/")
    expect(maker.locator("#result_list")).to_contain_text("C26TUR")
    maker.get_by_role("textbox", name="Search").fill("C26TUR")
    maker.get_by_role("button", name="Search").click()
    rows = maker.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(SELLER)
    expect(rows.first).to_contain_text(re.compile("imported", re.I))

    # 4. A payment request from them (action on the invoice list); its chain is the flow for its amount.
    run_action(maker, "Create a payment request from the selected invoices…", "00000101", "00000109")
    expect(maker.locator("#selected-total")).to_contain_text("67,317,900")
    maker.get_by_label("Name").fill(PR_NAME)
    maker.get_by_role("button", name="Create payment request").click()
    expect_message(maker, re.compile(r"Payment request #\d+ created as a draft with 2 invoice\(s\)\."))
    pr = PaymentRequest.objects.get(name=PR_NAME)
    expect(maker.get_by_role("heading", name=f"#{pr.pk} {PR_NAME}")).to_be_visible()
    expect(maker.locator("#pr-invoices")).to_contain_text("67,317,900")

    # 5. Request approval: the chain is built now from the flow for the final amount, and frozen.
    maker.locator("#pr-action-request_approval").click()
    expect_message(maker, f"Payment request #{pr.pk}: sent for approval.")
    chain = maker.locator("#approval-chain")
    expect(chain).to_contain_text("Chief accountant")
    expect(chain).to_contain_text("Director")
    expect(chain.locator("li.step.state-current")).to_contain_text("Chief accountant")
    # The payee is frozen now; Sao Mai was never paid before, so every approver is warned.
    pr.refresh_from_db()
    assert pr.payee_is_new and pr.payee_bank_account
    expect(maker.locator("#pr-new-payee-warning")).to_contain_text(pr.payee_bank_account)
    expect(maker.locator("#pr-payee")).to_contain_text(pr.payee_account_name)

    # 6. The maker approves step 1 of others' requests, never of their own: as its preparer they were left
    #    out of its chain, there is no button here, and the list's bulk action refuses.
    expect(chain.locator("#chain-step-1")).not_to_contain_text(str(people["maker"]))
    expect(maker.locator("#pr-preparers")).to_contain_text(str(people["maker"]))
    expect(maker.locator("#pr-action-approve")).to_have_count(0)
    maker.goto("/admin/payments/paymentrequest/")
    run_action(maker, "Approve selected payment requests", PR_NAME)
    expect_message(maker, "You are not an approver of the current step.")
    expect(maker.locator("#result_list tbody tr", has_text=PR_NAME)).to_contain_text("Pending")

    # 7. Step 1: the chief accountant finds it in their queue and approves it.
    chief = new_page()
    sign_in(chief, people["chief"])
    chief.locator("#needs-me").get_by_role("link", name=re.compile("awaiting my approval", re.I)).first.click()
    expect(chief.locator("#result_list tbody tr", has_text=PR_NAME).locator('[data-status="new_payee"]')).to_have_text(
        "New payee"
    )
    chief.locator("#result_list tbody tr", has_text=PR_NAME).get_by_role("link", name=PR_NAME).click()
    chief.locator("#pr-action-approve").click()
    expect_message(chief, f"Payment request #{pr.pk}: approved.")
    expect(chief.locator("#approval-chain li.step.state-current")).to_contain_text("Director")

    # 8. Step 2: the director approves; the request is approved.
    director = new_page()
    sign_in(director, people["director"])
    open_pr(director, pr)
    expect(director.locator("#approval-chain")).to_contain_text(str(people["chief"]))
    director.locator("#pr-action-approve").click()
    expect_message(director, f"Payment request #{pr.pk}: approved.")
    expect(director.locator(".pr-summary")).to_contain_text("Approved")

    # 9. Finance completes it with the bank's reference.
    open_pr(maker, pr)
    maker.locator("#pr-action-complete").click()
    maker.get_by_label("Payment reference").fill(REFERENCE)
    maker.get_by_role("button", name="Complete (paid)").click()
    expect_message(maker, f"Payment request #{pr.pk}: completed.")
    expect(maker.locator(".pr-summary")).to_contain_text("Completed")
    expect(maker.get_by_text(REFERENCE, exact=True)).to_be_visible()  # the field; the History panel repeats it
    pr.refresh_from_db()
    assert (pr.status, pr.payment_reference) == (PaymentRequestStatus.COMPLETED, REFERENCE)

    # 10. The owner reads the audit history: every transition.
    owner = new_page()
    sign_in(owner, people["owner"])
    open_pr(owner, pr)
    owner.get_by_role("link", name="History").click()
    history = owner.locator("table.audit-history")
    expect(history).to_contain_text("Draft → Pending approval")  # statuses by their labels
    expect(history).to_contain_text("Pending approval → Approved")
    expect(history).to_contain_text("Approved → Completed")
    expect(history).not_to_contain_text("'pr_approved'")  # semantic entries' metadata read as label: value

    # The finance workbench opens for finance staff.
    maker.goto("/admin/workbench/exporttemplate/tools/")
    expect(maker.get_by_role("heading", name=re.compile("Workbench", re.I)).first).to_be_visible()
