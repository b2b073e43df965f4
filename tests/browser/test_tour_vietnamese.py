"""The README's first payment cycle in Vietnamese, in a real browser, on the demo data (issue 19): the demo users
(language `vi`, a Vietnamese browser) import a ZIP of e-invoices, make a payment request from them, request
approval, approve it through the demo flow "Chi từ 50 triệu" (the chief accountant, then both directors),
complete it with the bank's reference, print its form to PDF and read its history.

On every page it visits it checks that no English text of our catalogues shows (`leaks()`, the language scan's
own check) and, with `SCREENSHOTS=1` (`make screenshots`), saves it to docs/screenshots/ under the name given
below: that is the README's tour. The sign-in page, the same for everyone, is saved once. A listener counts the
pages each tab loads, so a page visited without being checked fails the test.

axe-core (`.ci/run` installs it from the npm registry into `.tools/`; `AXE_CORE_JS` points at another
`axe.min.js`) checks the home page, the invoice list, the payment request page, the invoice page and the import
page for accessibility: any violation of impact "serious" or "critical" fails the test, listed with its nodes.
Without axe-core the tour runs without them, then skips, saying how to get it. One test, one browser, one
dataset: the whole tour runs in about a minute."""

from __future__ import annotations

import io
import os
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from acountee.amount_words import amount_in_words_vi
from payments.models import PaymentRequest, PaymentRequestStatus
from tests.browser.conftest import SCREENSHOT_DIR
from tests.i18n.test_every_page_vietnamese import leaks

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` package is missing: pip install -e '.[dev]'"
).expect

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]
ZIP = Path(__file__).resolve().parent / "fixtures" / "two_invoices_one_supplier.zip"
TOTAL = Decimal("67317900")  # the ZIP's two invoices: 49,339,900 + 17,978,000 VND
REFERENCE = "FT26333123456"
PR_NAME = "Sao Mai — bảo trì máy chủ tháng 11/2026"
PEOPLE = {
    "maker": "ketoan@acountee.local",
    "chief": "ketoan2@acountee.local",
    "director": "giamdoc@acountee.local",
    "deputy": "phogiamdoc@acountee.local",
    "owner": "owner@acountee.local",
}
AXE_INSTALL_HINT = (
    "axe-core is missing for the accessibility checks: `npm install --prefix .tools axe-core@4.14.1` "
    "(what .ci/run does), or point AXE_CORE_JS at an axe.min.js"
)
AXE_URL = "/__axe-core__/axe.min.js"  # served to the page by the test itself: same origin, so CSP allows it
AXE_IMPACTS = {"serious", "critical"}
# The screenshots the tour writes, in order (docs/screenshots/, shown by the README's "Tour").
TOUR = (
    "00-sign-in",
    "01-home",
    "02-invoice-import",
    "03-invoice-import-result",
    "04-invoice-list",
    "05-payment-request-new",
    "06-payment-request-draft",
    "07-payment-request-pending",
    "08-approver-home",
    "09-awaiting-my-approval",
    "10-approval-step-1",
    "11-approved-step-1",
    "12-approval-step-2",
    "13-approved-by-director",
    "14-approved",
    "15-complete-form",
    "16-completed",
    "17-invoice",
    "18-payment-request-form",
    "19-history",
)


def axe_core_js() -> Path | None:
    configured = os.environ.get("AXE_CORE_JS", "").strip()
    path = Path(configured) if configured else REPO / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
    return path if path.is_file() else None


class Tour:
    """Checks every page a tab loads: the language (no English catalogue text), accessibility where asked, and a
    screenshot. Findings are collected and asserted at the end, so one run reports them all."""

    def __init__(self, new_page: Callable[..., Any], screenshot: Callable[..., None], axe_js: Path | None) -> None:
        self._new_page = new_page
        self._screenshot = screenshot
        self._axe_js = axe_js
        self.loads: dict[Any, list[str]] = {}
        self.shots: list[str] = []
        self.leaks: dict[str, list[str]] = {}
        self.violations: dict[str, list[str]] = {}

    def new_page(self) -> Any:
        page = self._new_page(locale="vi-VN")
        if self._axe_js is not None:
            page.context.route(f"**{AXE_URL}", lambda route: route.fulfill(path=str(self._axe_js)))
        self.loads[page] = []
        page.on("load", lambda loaded: self.loads[page].append(loaded.url))
        return page

    def visit(self, page: Any, name: str | None, *, axe: bool = False) -> None:
        """The page `page` shows now (after a click or goto): checked, and saved as `name` (None: a page already
        saved under another name)."""
        page.wait_for_load_state()
        expect(page.locator("html")).to_have_attribute("lang", "vi")
        loaded, self.loads[page] = self.loads[page], []
        assert loaded, f"{name}: no page was loaded since the last check"
        url = urlparse(page.url).path
        found = leaks(page.content(), "vi", url)
        if found:
            self.leaks[name or url] = found
        if axe and self._axe_js is not None:
            self.violations[name or url] = self.axe(page)
        if name is not None:
            assert name not in self.shots, f"two pages saved as {name}"
            self.shots.append(name)
            self._screenshot(page, name, full_page=False)  # the first screen: what a reader sees on opening it

    def axe(self, page: Any) -> list[str]:
        page.add_script_tag(url=AXE_URL)
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return [
            f"{v['impact']} {v['id']}: {v['help']} — "
            + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:8])
            + (f" (+{len(v['nodes']) - 8} more)" if len(v["nodes"]) > 8 else "")
            for v in results["violations"]
            if v.get("impact") in AXE_IMPACTS
        ]

    def sign_in(self, page: Any, user: User, *, next_url: str = "") -> None:
        page.goto("/admin/login/" + (f"?next={next_url}" if next_url else ""))
        self.visit(page, None if "00-sign-in" in self.shots else "00-sign-in")
        page.locator("#id_username").fill(user.email)
        page.locator("#id_password").fill(DEMO_PASSWORD)
        page.locator("#login-form [type=submit]").click()
        expect(page.locator("#logout-form")).to_be_attached()

    def check_every_load_was_visited(self) -> None:
        unchecked = {str(page.url): urls for page, urls in self.loads.items() if urls}
        assert not unchecked, f"pages loaded but never checked: {unchecked}"


@pytest.fixture
def people() -> dict[str, User]:
    """The demo data as `make run` loads it, its users speaking Vietnamese (their saved language)."""
    call_command("seed_demo", stdout=io.StringIO())
    User.objects.filter(email__in=PEOPLE.values()).update(language="vi")
    return {key: User.objects.get(email=email) for key, email in PEOPLE.items()}


def status_badge(page: Any) -> Any:
    return page.locator(".pr-summary .badge").first


def test_the_payment_cycle_in_vietnamese(new_page, people, screenshot):
    tour = Tour(new_page, screenshot, axe_core_js())

    # 1. The accountant signs in: the home page says what needs her.
    maker = tour.new_page()
    tour.sign_in(maker, people["maker"])
    expect(maker.locator("#needs-me")).to_contain_text("Việc cần tôi xử lý")
    tour.visit(maker, "01-home", axe=True)

    # 2. She imports a ZIP of two e-invoices.
    maker.goto(reverse("admin:invoices_invoice_changelist"))
    tour.visit(maker, None)  # the list, saved below with her search
    maker.locator(".object-tools a", has_text="Nhập hóa đơn điện tử").click()
    expect(maker.locator("h1")).to_have_text("Nhập hóa đơn điện tử")
    tour.visit(maker, "02-invoice-import", axe=True)
    maker.get_by_label("Tệp XML hoặc tệp nén ZIP").set_input_files(str(ZIP))
    maker.locator("#content form[enctype] [type=submit]").click()
    expect(maker.locator("ul.messagelist")).to_contain_text("Đã nhập 2, bỏ qua 0 (trùng lặp), thất bại 0.")
    expect(maker.locator("#import-result tr.entry-success")).to_have_count(2)
    tour.visit(maker, "03-invoice-import-result", axe=True)

    # 3. On the invoice list, she finds them (accents and case ignored) and makes a payment request of them.
    maker.goto(reverse("admin:invoices_invoice_changelist") + "?q=c26tur")
    rows = maker.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI")
    tour.visit(maker, "04-invoice-list", axe=True)
    for row in range(2):
        rows.nth(row).locator("input.action-select").check()
    maker.locator("select[name=action]").select_option("create_payment_request")
    maker.locator("#changelist-form button[name=index]").click()
    expect(maker.locator("#selected-total")).to_have_text("67.317.900 ₫")
    maker.locator("#id_name").fill(PR_NAME)
    tour.visit(maker, "05-payment-request-new")
    maker.locator("#invoice-pr-form [type=submit]").click()
    pr = PaymentRequest.objects.get(name=PR_NAME)
    expect(maker.locator("ul.messagelist")).to_contain_text(f"Đã lập đề nghị thanh toán nháp #{pr.pk} gồm 2 hóa đơn.")
    expect(status_badge(maker)).to_have_attribute("data-status", "draft")
    expect(maker.locator("#pr-invoices-total")).to_have_text("67.317.900 ₫")
    tour.visit(maker, "06-payment-request-draft", axe=True)

    # 4. She requests approval: the chain of the flow for the amount, the payee frozen and flagged as new.
    maker.locator("#pr-action-request_approval").click()
    expect(status_badge(maker)).to_have_attribute("data-status", "pending")
    expect(maker.locator("#approval-chain li.step.state-current")).to_contain_text("Kế toán trưởng")
    expect(maker.locator("#pr-new-payee-warning")).to_be_visible()
    expect(maker.locator("#pr-action-approve")).to_have_count(0)  # nobody who prepared it approves it
    tour.visit(maker, "07-payment-request-pending", axe=True)
    pr_url = reverse("admin:payments_paymentrequest_change", args=[pr.pk])

    # 5. Step 1: the chief accountant finds it in her queue and approves it.
    chief = tour.new_page()
    tour.sign_in(chief, people["chief"])
    expect(chief.locator("#needs-me-awaiting .count")).not_to_have_text("0")
    tour.visit(chief, "08-approver-home")
    chief.locator("#needs-me-awaiting a").click()
    ours = chief.locator("#result_list tbody tr", has_text=PR_NAME)
    expect(ours.locator('[data-status="new_payee"]')).to_be_visible()
    tour.visit(chief, "09-awaiting-my-approval")
    ours.get_by_role("link", name=PR_NAME).click()
    expect(chief.locator("#pr-new-payee-warning")).to_be_visible()
    tour.visit(chief, "10-approval-step-1", axe=True)
    chief.locator("#pr-action-approve").click()
    expect(chief.locator("ul.messagelist")).to_contain_text(f"#{pr.pk}")
    expect(chief.locator("#approval-chain li.step.state-current")).to_contain_text("Giám đốc và Phó giám đốc")
    tour.visit(chief, "11-approved-step-1")

    # 6. Step 2 needs both directors: the director, then the deputy (each opens the request from a link).
    director = tour.new_page()
    tour.sign_in(director, people["director"], next_url=pr_url)
    expect(director.locator("#approval-chain")).to_contain_text(people["chief"].name)
    tour.visit(director, "12-approval-step-2")
    director.locator("#pr-action-approve").click()
    expect(status_badge(director)).to_have_attribute("data-status", "pending")
    tour.visit(director, "13-approved-by-director")
    deputy = tour.new_page()
    tour.sign_in(deputy, people["deputy"], next_url=pr_url)
    deputy.locator("#pr-action-approve").click()
    expect(status_badge(deputy)).to_have_attribute("data-status", "approved")
    expect(status_badge(deputy)).to_have_text("Đã phê duyệt")
    tour.visit(deputy, "14-approved")

    # 7. The accountant records the payment with the bank's reference.
    maker.goto(pr_url)
    tour.visit(maker, None)  # the approved request, as 14
    maker.locator("#pr-action-complete").click()
    maker.locator("#id_payment_reference").fill(REFERENCE)
    tour.visit(maker, "15-complete-form")
    maker.locator("#pr-action-form [type=submit]").click()
    expect(status_badge(maker)).to_have_attribute("data-status", "completed")
    expect(status_badge(maker)).to_have_text("Đã hoàn tất")
    expect(maker.get_by_text(REFERENCE, exact=True)).to_be_visible()
    tour.visit(maker, "16-completed", axe=True)
    pr.refresh_from_db()
    assert (pr.status, pr.payment_reference) == (PaymentRequestStatus.COMPLETED, REFERENCE)

    # 8. One of its invoices, from the request.
    maker.locator("#pr-invoices tbody a").first.click()
    expect(maker.locator("#content h1")).to_be_visible()
    tour.visit(maker, "17-invoice", axe=True)
    maker.go_back()
    tour.visit(maker, None)  # the completed request, as 16

    # 9. She prints the request form, and downloads it as a PDF: the amount in words, every approver.
    words = amount_in_words_vi(TOTAL)
    maker.locator("#pr-print").click()
    expect(maker.locator(f"#pr-form-{pr.pk}")).to_contain_text(words)
    tour.visit(maker, "18-payment-request-form")
    response = maker.request.get(reverse("admin:payments_paymentrequest_print_pdf", args=[pr.pk]))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body())
    assert words in text
    for approver in ("chief", "director", "deputy"):
        assert people[approver].name in text, f"{people[approver].name} is missing from the PDF"

    # 10. The owner reads the history: every transition, by its label.
    owner = tour.new_page()
    tour.sign_in(owner, people["owner"], next_url=reverse("admin:payments_paymentrequest_history", args=[pr.pk]))
    history = owner.locator("table.audit-history")
    expect(history).to_contain_text("Nháp → Chờ phê duyệt")
    expect(history).to_contain_text("Đã phê duyệt → Đã hoàn tất")
    tour.visit(owner, "19-history")

    tour.check_every_load_was_visited()
    assert tuple(tour.shots) == TOUR
    if os.environ.get("SCREENSHOTS") == "1":  # the tour is the whole of docs/screenshots/: no stale page stays
        for stale in SCREENSHOT_DIR.glob("*.png"):
            if stale.stem not in TOUR:
                stale.unlink()
    assert not tour.leaks, "English catalogue text on Vietnamese pages:\n" + "\n".join(
        f"{page}: {found}" for page, found in tour.leaks.items()
    )
    violations = {page: found for page, found in tour.violations.items() if found}
    assert not violations, "axe-core: serious or critical violations:\n" + "\n".join(
        f"{page}:\n  " + "\n  ".join(found) for page, found in violations.items()
    )
    if tour.violations == {}:
        pytest.skip(f"the tour passed, but without its accessibility checks: {AXE_INSTALL_HINT}")


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def test_the_tour_is_the_readme_s() -> None:
    """The README shows every screenshot of the tour, in order, and no other."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"docs/screenshots/([\w-]+)\.png", readme)
    assert tuple(shown) == TOUR
