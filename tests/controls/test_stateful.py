"""The payment controls (docs/controls.md) under random use: a hypothesis state machine in which
several people take random actions through the real services against the real database, and the
invariants are checked from the database after every step.

The cast: three finance users who prepare (f1, f2, f3; f3 is also an approver of the large-amount
flow; f2 was granted `payments.uncomplete_paymentrequest`), four board members who approve (b1-b4)
and an owner. The owners' flows: below 50M one any-of step (b1, b2; alternate b3); from 50M to 2B an
any-of step (f3; alternate b3) then an all-of step (b2, b4; alternate b1); above 2B no flow. Eight
imported invoices of four suppliers (one with no bank account, one above every flow).

The actions: create (advanced with a typed amount, direct empty or from invoices), edit a draft,
replace its chain, attach a document, link / unlink / move invoices, request approval, approve (in
one's own place or as a substitute), bulk approve, reject, recall, retract, complete, un-complete,
change an invoice's payment details, create / delete a delegation, edit a flow, delete a draft.
A refusal (an AcounteeError) is fine but must change nothing; any other exception fails the test.

After every step (`ControlsMachine.controls_hold`):
1. PREPARER-NEVER-APPROVES, chain integrity: an approved / completed request has records
   satisfying every step (any-of: one; all-of: every approver's place); a pending one every step
   before the current one and not the current one; a draft none. No record was given by, or fills
   the place of, a preparer: the `pr_preparers` rows, and the machine's own account of who prepared
   it (whoever created, edited, re-chained, linked, unlinked, moved invoices of or requested it, and
   whoever changed the payment details of one of its invoices), which must also be in `pr_preparers`
   for the actions the services see directly.
2. APPROVED-IS-PAID, SUBMITTED-IS-FROZEN, CHAIN-FROZEN: the amount and payee
   (`payment_request_bank_details`) a request had when submitted are those it has when approved and
   while it stays approved or completed, its chain does not change; the bank export of the approved
   requests (`export_rows` + `pr_values`) carries that amount and account.
3. AMOUNT-FROM-INVOICES: a request with invoices (and every direct one) is for their total payable.
4. PAYEE-FROZEN: every submitted request carries a payee; a submitted direct request's invoices
   still name the account of its payee snapshot. Linked invoices are completed exactly when their
   request is.

Each hypothesis example runs in a savepoint rolled back at its end, over a world (users, flows,
invoices) built once per test. CONTROLS_EXAMPLES (default 60: about 50 s on 2 shared cores) and
CONTROLS_STEPS (default 40, the most steps per example) size the run; CONTROLS_DERANDOMIZE=0 explores
new examples on each run (the default is derandomized: CI runs the same examples, and a failure
reproduces); CONTROLS_SHRINK=0 reports the first failing example as found (shrinking one can take
minutes). The figures (examples, steps, each action tried / done / refused, refusal codes, the
first failing example) are printed at the end, also without -s.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from acountee.errors import AcounteeError
from approvals import services as approval_services
from approvals.models import (
    Approval,
    ApprovalDelegation,
    ApprovalFlow,
    ApprovalRecord,
    ApprovalStep,
    ApprovalStepUser,
)
from audit.models import AuditEntry
from invoices.models import Invoice
from invoices.services import invoice_payment_details_update
from payments import services
from payments import services as payments
from payments.models import PaymentRequest, PaymentRequestPreparer, PRAttachment, PRInvoice
from payments.selectors import normalise_account, payment_request_bank_details
from payments.workbench.exports import iter_rows
from payments.workbench.selectors import export_rows
from tests.accounts.factories import UserFactory
from tests.approvals.factories import make_flow
from tests.files.factories import stored_file
from tests.payments.factories import attach_document, grant, make_invoice

EXAMPLES = int(os.environ.get("CONTROLS_EXAMPLES", "60"))
STEPS = int(os.environ.get("CONTROLS_STEPS", "40"))
DERANDOMIZE = os.environ.get("CONTROLS_DERANDOMIZE", "1") != "0"
SHRINK = os.environ.get("CONTROLS_SHRINK", "1") != "0"

M = Decimal(1_000_000)
SMALL_MAX, BIG_MAX = 50 * M, 2000 * M
DRAFT, PENDING, APPROVED, COMPLETED = "draft", "pending", "approved", "completed"
PREPARERS = ["f1", "f2", "f3", "owner"]  # who makes and edits requests (add / change_paymentrequest)
EVERYONE = ["f1", "f2", "f3", "b1", "b2", "b3", "b4", "owner"]
APPROVERS = ["f3", "b1", "b2", "b3", "b4"]
MOSTLY_THE_MAKER = st.sampled_from(["the maker"] * 6 + EVERYONE)
AMOUNTS = [Decimal(0), 5 * M, Decimal("12500000.50"), Decimal("49999999.99"), 50 * M, 75 * M, 1200 * M, 2500 * M]
ACCOUNTS = ["0451000111111", "0451000222222", "1903 3333 333", "0071000999999", "9704 0000 1234", ""]
HOLDERS = ["CONG TY A", "CONG TY B", "NGUYEN VAN X", ""]
# (supplier, tax code, bank, account, holder) and the invoices (supplier, total payable).
SUPPLIERS = {
    "A": ("0101111111", "Vietcombank", "0451000111111", "CONG TY A"),
    "B": ("0202222222", "Techcombank", "1903 3333 333", "CONG TY B"),
    "C": ("0303333333", "BIDV", "0071000999999", "CONG TY C"),
    "D": ("0404444444", "", "", ""),  # no bank details: MISSING_BANK_DETAILS until someone fills them in
}
INVOICES = [
    ("A", "11000000"),
    ("A", "22000000"),
    ("B", "35000000"),
    ("B", "44000000"),
    ("C", "60500000"),
    ("C", "5500000"),
    ("D", "8800000"),
    ("A", "2200000000"),
]

# The figures of the run, printed at the end of the test.
STATS: Counter[tuple[str, str]] = Counter()  # (action, "tried" | "done" | "refused")
CODES: Counter[tuple[str, str]] = Counter()  # (action, refusal code)
STEPS_PER_EXAMPLE: list[int] = []
FIRST_FAILURE: list[int] = []  # the example (1-based) that first failed


@dataclass
class World:
    users: dict[str, Any]
    flows: dict[str, ApprovalFlow]
    invoices: dict[str, int]  # label ("A1", …) → invoice id

    def name_of(self, pk: int) -> str:
        return next((n for n, u in self.users.items() if u.pk == pk), str(pk))


def _step(mode: str, approvers: list[Any], alternates: list[Any] | None = None, name: str = "Bước") -> dict[str, Any]:
    return {"name": name, "mode": mode, "approvers": approvers, "alternates": alternates or []}


def flow_variants(u: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """What an owner may do to the flows: (flow, changes)."""
    return {
        "small: b1|b2, alternate b3": ("small", {"steps": [_step("anyof", [u["b1"], u["b2"]], [u["b3"]])]}),
        "small: f3|b1, alternate b2": ("small", {"steps": [_step("anyof", [u["f3"], u["b1"]], [u["b2"]])]}),
        "small: b1&b2, alternate b3": ("small", {"steps": [_step("allof", [u["b1"], u["b2"]], [u["b3"]])]}),
        "big: f3|b3 then b2&b4|b1": (
            "big",
            {"steps": [_step("anyof", [u["f3"]], [u["b3"]]), _step("allof", [u["b2"], u["b4"]], [u["b1"]])]},
        ),
        "big: f3|b3 then b1&b2&b4": (
            "big",
            {"steps": [_step("anyof", [u["f3"]], [u["b3"]]), _step("allof", [u["b1"], u["b2"], u["b4"]])]},
        ),
        "small off": ("small", {"is_active": False}),
        "small on": ("small", {"is_active": True}),
        "small up to 60M (overlaps)": ("small", {"max_amount": 60 * M}),
        "small up to 50M": ("small", {"max_amount": SMALL_MAX}),
        "big without a maximum": ("big", {"max_amount": None}),
        "big up to 2B": ("big", {"max_amount": BIG_MAX}),
    }


def build_world() -> World:
    users = {
        name: UserFactory(email=f"{name}@controls.test", name=name, roles=roles)
        for name, roles in [
            ("f1", ["finance"]),
            ("f2", ["finance"]),
            ("f3", ["finance"]),
            ("b1", ["bod"]),
            ("b2", ["bod"]),
            ("b3", ["bod"]),
            ("b4", ["bod"]),
            ("owner", ["owner"]),
        ]
    }
    grant(users["f2"], "payments.uncomplete_paymentrequest")
    owner = users["owner"]
    small = make_flow(
        owner=owner,
        name="Dưới 50 triệu",
        steps=[("anyof", [users["b1"], users["b2"]])],
        min_amount=0,
        max_amount=SMALL_MAX,
    )
    big = make_flow(
        owner=owner,
        name="Từ 50 triệu",
        steps=[("anyof", [users["f3"]]), ("allof", [users["b2"], users["b4"]])],
        min_amount=SMALL_MAX,
        max_amount=BIG_MAX,
    )
    variants = flow_variants(users)
    flows = {"small": small, "big": big}
    for variant in ("small: b1|b2, alternate b3", "big: f3|b3 then b2&b4|b1"):  # with their alternates
        name, changes = variants[variant]
        approval_services.approval_flow_update(flow=flows[name], actor=owner, **changes)
    invoices: dict[str, int] = {}
    counts: Counter[str] = Counter()
    for supplier, total in INVOICES:
        tax_code, bank, account, holder = SUPPLIERS[supplier]
        counts[supplier] += 1
        invoice = make_invoice(
            total=total,
            seller_tax_code=tax_code,
            seller_name=f"Công ty {supplier}",
            bank_name=bank,
            bank_account=account,
            account_name=holder,
        )
        invoices[f"{supplier}{counts[supplier]}"] = invoice.pk
    return World(users=users, flows=flows, invoices=invoices)


@dataclass
class Tracked:
    """What the machine itself knows of one request."""

    preparers: set[int] = field(default_factory=set)  # from the actions the services saw
    payee_authors: set[int] = field(default_factory=set)  # changed payment details of its invoices
    submitted: tuple[Any, ...] | None = None  # (amount, account, holder) when approval was requested
    approved: tuple[Any, ...] | None = None  # … when first seen approved
    chain: list[tuple[int, str, tuple[int, ...]]] | None = None


class ControlsMachine(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.u = self.world.users
        self.tracked: dict[int, Tracked] = defaultdict(Tracked)
        self.payee_authors: dict[int, set[int]] = defaultdict(set)  # invoice id → who changed its payee
        self.steps = 0
        self.today = timezone.localdate()
        self.statuses: Counter[str] = Counter()  # refreshed by the invariant after every step
        self.links = 0

    def failed(self) -> None:
        if not FIRST_FAILURE:
            FIRST_FAILURE.append(len(STEPS_PER_EXAMPLE) + 1)

    def teardown(self) -> None:
        STEPS_PER_EXAMPLE.append(self.steps)
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------
    def pr_ids(self, *statuses: str) -> list[int]:
        qs = PaymentRequest.objects.order_by("id")
        if statuses:
            qs = qs.filter(status__in=statuses)
        return list(qs.values_list("id", flat=True))

    def pick_pr(self, data: Any, *preferred: str) -> int | None:
        """A request of this example, mostly one in a `preferred` state; sometimes any (or a
        deleted one) so that refusals are exercised too."""
        wanted = self.pr_ids(*preferred) if preferred else []
        every = self.pr_ids()
        if not every:
            return None
        pool = wanted if wanted and data.draw(st.integers(0, 7), label="prefer") else every
        return data.draw(st.sampled_from(pool), label="pr")

    def pick_invoice(self, data: Any, *, linked: bool = False) -> int:
        """An invoice; with `linked`, mostly one that is in a request."""
        labels = sorted(self.world.invoices)
        if linked:
            ids = set(PRInvoice.objects.values_list("invoice_id", flat=True))
            in_a_request = [label for label in labels if self.world.invoices[label] in ids]
            if in_a_request and data.draw(st.integers(0, 5), label="prefer"):
                labels = in_a_request
        return self.world.invoices[data.draw(st.sampled_from(labels), label="invoice")]

    def who(self, actor: str, pr_id: int | None) -> Any:
        """The user `actor` names ("the maker": the request's maker)."""
        if actor == "the maker":
            maker = PaymentRequest.objects.filter(pk=pr_id).values_list("maker_id", flat=True).first()
            return next((u for u in self.u.values() if u.pk == maker), self.u["f1"])
        return self.u[actor]

    def has(self, *statuses: str) -> bool:
        return any(self.statuses[s] for s in statuses)

    def fingerprint(self, pr_ids: list[int], invoice_ids: list[int]) -> tuple[Any, ...]:
        """Cheap fields a refused action must leave alone."""
        return (
            list(
                PaymentRequest.objects.filter(pk__in=pr_ids)
                .order_by("id")
                .values_list("id", "status", "amount", "updated_at", "payee_bank_account", "bank_account", "name")
            ),
            list(
                Approval.objects.filter(pr__id__in=pr_ids)
                .order_by("id")
                .values_list("current_step", "updated_at", "is_custom")
            ),
            list(
                Invoice.objects.filter(pk__in=invoice_ids)
                .order_by("id")
                .values_list("status", "payment_bank_account", "payment_account_name", "updated_at")
            ),
            PaymentRequest.objects.count(),
            ApprovalRecord.objects.count(),
            PRInvoice.objects.count(),
            PaymentRequestPreparer.objects.count(),
            ApprovalDelegation.objects.count(),
            PRAttachment.objects.count(),
            AuditEntry.objects.count(),
        )

    def act(self, action: str, fn: Any, *, prs: list[int | None] = (), invoices: list[int] = ()) -> Any:  # type: ignore[assignment]
        """Run one service call: done, or refused with nothing changed."""
        self.steps += 1
        pr_ids = [p for p in prs if p is not None]
        before = self.fingerprint(pr_ids, list(invoices))
        STATS[action, "tried"] += 1
        try:
            result = fn()
        except AcounteeError as exc:
            STATS[action, "refused"] += 1
            CODES[action, exc.code] += 1
            after = self.fingerprint(pr_ids, list(invoices))
            if after != before:
                self.failed()
            assert after == before, f"{action} was refused ({exc.code}) but changed the data: {before} → {after}"
            return _REFUSED
        except BaseException:
            self.failed()
            raise
        STATS[action, "done"] += 1
        return result

    def prepared(self, pr_id: int | None, *names_or_ids: Any) -> None:
        if pr_id is None:
            return
        for who in names_or_ids:
            self.tracked[pr_id].preparers.add(who if isinstance(who, int) else self.u[who].pk)

    def linked_invoices(self, pr_id: int) -> list[int]:
        return list(PRInvoice.objects.filter(pr_id=pr_id).values_list("invoice_id", flat=True))

    def note_link(self, pr_id: int, invoice_id: int) -> None:
        self.tracked[pr_id].payee_authors |= self.payee_authors[invoice_id]

    # --- create / edit ---------------------------------------------------------------------------
    @initialize()
    def start(self) -> None:
        """Nothing to set up per example: the world is built once, each example rolls back."""

    @rule(
        actor=st.sampled_from(PREPARERS),
        amount=st.sampled_from(AMOUNTS),
        account=st.sampled_from(ACCOUNTS),
        holder=st.sampled_from(HOLDERS),
        document=st.integers(0, 3),
    )
    def create_advanced(self, actor: str, amount: Decimal, account: str, holder: str, document: int) -> None:
        pr = self.act(
            "create advanced",
            lambda: services.payment_request_create(
                actor=self.u[actor],
                name="Tạm ứng",
                type="advanced",
                amount=amount,
                bank_name="Vietcombank",
                bank_account=account,
                account_name=holder,
            ),
        )
        if pr is not _REFUSED:
            self.prepared(pr.pk, actor)
            if document:
                attach_document(pr, self.u[actor])

    @rule(actor=st.sampled_from(PREPARERS), data=st.data(), empty=st.integers(0, 4))
    def create_direct(self, actor: str, data: Any, empty: int) -> None:
        labels = (
            []
            if not empty
            else data.draw(
                st.lists(st.sampled_from(sorted(self.world.invoices)), min_size=1, max_size=3, unique=True),
                label="invoices",
            )
        )
        ids = [self.world.invoices[label] for label in labels]
        if ids:
            pr = self.act(
                "create direct from invoices",
                lambda: services.payment_request_create_from_invoices(actor=self.u[actor], invoice_ids=ids),
                invoices=ids,
            )
        else:
            pr = self.act(
                "create direct",
                lambda: services.payment_request_create(actor=self.u[actor], name="Thanh toán", type="direct"),
            )
        if pr is not _REFUSED:
            self.prepared(pr.pk, actor)
            for invoice_id in ids:
                self.note_link(pr.pk, invoice_id)

    @rule(
        actor=st.sampled_from([*PREPARERS, "f3"]),
        supplier=st.sampled_from(sorted(SUPPLIERS)),
        data=st.data(),
        custom=st.integers(0, 3),
    )
    def submit_new(self, actor: str, supplier: str, data: Any, custom: int) -> None:
        """The usual path in one rule: a direct request for free invoices of one supplier, or an
        advanced one with its document, then approval requested by the maker. One time in four the
        owner first gives it a custom chain: the amount's small flow plus a step naming f3 (who may
        have prepared it: custom chains keep a preparer's place, nobody may fill it)."""
        free = set(Invoice.objects.filter(pr_link__isnull=True).values_list("id", flat=True))
        ids = [pk for label, pk in sorted(self.world.invoices.items()) if label[0] == supplier and pk in free]
        if ids:
            ids = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True), label="invoices")
            pr = self.act(
                "create direct from invoices",
                lambda: services.payment_request_create_from_invoices(actor=self.u[actor], invoice_ids=ids),
                invoices=ids,
            )
        else:
            amount = data.draw(st.sampled_from(AMOUNTS[1:]), label="amount")
            pr = self.act(
                "create advanced",
                lambda: services.payment_request_create(
                    actor=self.u[actor],
                    name="Tạm ứng",
                    type="advanced",
                    amount=amount,
                    bank_name="BIDV",
                    bank_account="0071000999999",
                    account_name="CONG TY C",
                ),
            )
            if pr is not _REFUSED:
                attach_document(pr, self.u[actor])
        if pr is _REFUSED:
            return
        self.prepared(pr.pk, actor)
        for invoice_id in ids:
            self.note_link(pr.pk, invoice_id)
        if not custom:
            u = self.u
            steps = [_step("anyof", [u["b1"], u["b2"]]), _step("anyof", [u["f3"], u["b1"]])]
            if (
                self.act(
                    "replace chain",
                    lambda: services.payment_request_update(pr=pr, actor=u["owner"], steps=steps),
                    prs=[pr.pk],
                )
                is not _REFUSED
            ):
                self.prepared(pr.pk, "owner")
        if (
            self.act(
                "request approval",
                lambda: services.payment_request_request_approval(pr=pr, actor=self.u[actor]),
                prs=[pr.pk],
                invoices=ids,
            )
            is not _REFUSED
        ):
            self.prepared(pr.pk, actor)

    @precondition(lambda self: self.has(DRAFT))
    @rule(actor=MOSTLY_THE_MAKER, data=st.data())
    def attach(self, actor: str, data: Any) -> None:
        pr_id = self.pick_pr(data, DRAFT)
        user = self.who(actor, pr_id)
        if pr_id is not None:
            document = stored_file(name="hop-dong.pdf")  # the upload itself is not the refused action
            self.act(
                "attach document",
                lambda: payments.payment_request_attachment_add(pr=PaymentRequest(pk=pr_id), file=document, actor=user),
                prs=[pr_id],
            )

    @precondition(lambda self: self.has(DRAFT))
    @rule(
        actor=MOSTLY_THE_MAKER,
        data=st.data(),
        change=st.sampled_from(["name", "note", "amount", "bank_account", "account_name", "everything"]),
    )
    def edit_draft(self, actor: str, data: Any, change: str) -> None:
        pr_id = self.pick_pr(data, DRAFT)
        if pr_id is None:
            return
        user = self.who(actor, pr_id)
        amount = data.draw(st.sampled_from(AMOUNTS), label="amount")
        account = data.draw(st.sampled_from(ACCOUNTS), label="account")
        holder = data.draw(st.sampled_from(HOLDERS), label="holder")
        everything = {
            "name": "Sửa",
            "note": "ghi chú",
            "amount": amount,
            "bank_account": account,
            "account_name": holder,
        }
        fields = everything if change == "everything" else {change: everything[change]}
        done = self.act(
            "edit draft",
            lambda: services.payment_request_update(pr=PaymentRequest(pk=pr_id), actor=user, **fields),
            prs=[pr_id],
        )
        if done is not _REFUSED:
            self.prepared(pr_id, user.pk)

    @precondition(lambda self: self.has(DRAFT))
    @rule(
        actor=st.sampled_from(["f1", "f3", "owner", "owner"]),
        data=st.data(),
        chain=st.sampled_from(
            [
                "policy",
                "flow small",
                "flow big",
                "b1 only",
                "policy small + b3",
                "f3 and b1, any",
                "policy small + f3|b1",
                "policy small + f3|b1",
            ]
        ),
    )
    def rechain_draft(self, actor: str, data: Any, chain: str) -> None:
        """Only holders of approvals.customize_chain (the owner) may choose a chain."""
        pr_id = self.pick_pr(data, DRAFT)
        if pr_id is None:
            return
        u = self.u
        changes: dict[str, Any] = {
            "policy": {"flow": None},
            "flow small": {"flow": self.world.flows["small"]},
            "flow big": {"flow": self.world.flows["big"]},
            "b1 only": {"steps": [_step("anyof", [u["b1"]])]},
            "policy small + b3": {"steps": [_step("anyof", [u["b1"], u["b2"]]), _step("anyof", [u["b3"]])]},
            "f3 and b1, any": {"steps": [_step("anyof", [u["f3"], u["b1"]])]},
            "policy small + f3|b1": {"steps": [_step("anyof", [u["b1"], u["b2"]]), _step("anyof", [u["f3"], u["b1"]])]},
        }[chain]
        done = self.act(
            "replace chain",
            lambda: services.payment_request_update(pr=PaymentRequest(pk=pr_id), actor=u[actor], **changes),
            prs=[pr_id],
        )
        if done is not _REFUSED:
            self.prepared(pr_id, actor)

    @precondition(lambda self: self.has(DRAFT))
    @rule(actor=MOSTLY_THE_MAKER, data=st.data())
    def delete_draft(self, actor: str, data: Any) -> None:
        pr_id = self.pick_pr(data, DRAFT)
        user = self.who(actor, pr_id)
        if pr_id is not None:
            self.act(
                "delete draft",
                lambda: services.payment_request_delete(pr=PaymentRequest(pk=pr_id), actor=user),
                prs=[pr_id],
            )

    # --- invoices ----------------------------------------------------------------------------------
    @precondition(lambda self: self.has(DRAFT))
    @rule(actor=MOSTLY_THE_MAKER, data=st.data())
    def link(self, actor: str, data: Any) -> None:
        pr_id = self.pick_pr(data, DRAFT)
        invoice_id = self.pick_invoice(data)
        if pr_id is None:
            return
        user = self.who(actor, pr_id)
        done = self.act(
            "link invoice",
            lambda: payments.invoice_link(invoice=Invoice(pk=invoice_id), pr=PaymentRequest(pk=pr_id), actor=user),
            prs=[pr_id],
            invoices=[invoice_id],
        )
        if done is not _REFUSED:
            self.prepared(pr_id, user.pk)
            self.note_link(pr_id, invoice_id)

    @precondition(lambda self: self.links)
    @rule(actor=MOSTLY_THE_MAKER, data=st.data())
    def unlink(self, actor: str, data: Any) -> None:
        invoice_id = self.pick_invoice(data, linked=True)
        pr_id = PRInvoice.objects.filter(invoice_id=invoice_id).values_list("pr_id", flat=True).first()
        user = self.who(actor, pr_id)
        done = self.act(
            "unlink invoice",
            lambda: payments.invoice_unlink(invoice=Invoice(pk=invoice_id), actor=user),
            prs=[pr_id],
            invoices=[invoice_id],
        )
        if done is not _REFUSED:
            self.prepared(pr_id, user.pk)

    @precondition(lambda self: self.has(DRAFT))
    @rule(actor=MOSTLY_THE_MAKER, data=st.data())
    def move(self, actor: str, data: Any) -> None:
        invoice_id = self.pick_invoice(data, linked=True)
        target = self.pick_pr(data, DRAFT)
        if target is None:
            return
        user = self.who(actor, target)
        source = PRInvoice.objects.filter(invoice_id=invoice_id).values_list("pr_id", flat=True).first()
        done = self.act(
            "move invoice",
            lambda: payments.invoice_move(invoice=Invoice(pk=invoice_id), pr=PaymentRequest(pk=target), actor=user),
            prs=[source, target],
            invoices=[invoice_id],
        )
        if done is not _REFUSED:
            self.prepared(source, user.pk)
            self.prepared(target, user.pk)
            self.note_link(target, invoice_id)

    @rule(
        actor=st.sampled_from(["f1", "f2", "f3", "f3", "owner"]),
        data=st.data(),
        account=st.sampled_from(ACCOUNTS),
        holder=st.sampled_from(HOLDERS),
        what=st.sampled_from(["account", "holder", "both"]),
    )
    def change_invoice_payee(self, actor: str, data: Any, account: str, holder: str, what: str) -> None:
        """Finance (and the owner) may correct how an invoice is paid; whoever does becomes a
        preparer of the request that pays it."""
        invoice_id = self.pick_invoice(data)
        changes = {
            "account": {"payment_bank_account": account},
            "holder": {"payment_account_name": holder},
            "both": {"payment_bank_account": account, "payment_account_name": holder},
        }[what]
        before = Invoice.objects.values_list("payment_bank_account", "payment_account_name").get(pk=invoice_id)
        pr_id = PRInvoice.objects.filter(invoice_id=invoice_id).values_list("pr_id", flat=True).first()
        done = self.act(
            "change invoice payee",
            lambda: invoice_payment_details_update(invoice=Invoice(pk=invoice_id), actor=self.u[actor], **changes),
            prs=[pr_id],
            invoices=[invoice_id],
        )
        after = Invoice.objects.values_list("payment_bank_account", "payment_account_name").get(pk=invoice_id)
        if done is not _REFUSED and after != before:
            self.payee_authors[invoice_id].add(self.u[actor].pk)
            if pr_id is not None:
                self.note_link(pr_id, invoice_id)

    # --- the approval lifecycle ------------------------------------------------------------------
    @precondition(lambda self: self.has(DRAFT))
    @rule(actor=MOSTLY_THE_MAKER, data=st.data())
    def request_approval(self, actor: str, data: Any) -> None:
        pr_id = self.pick_pr(data, DRAFT)
        if pr_id is None:
            return
        user = self.who(actor, pr_id)
        invoices = self.linked_invoices(pr_id)
        done = self.act(
            "request approval",
            lambda: services.payment_request_request_approval(pr=PaymentRequest(pk=pr_id), actor=user),
            prs=[pr_id],
            invoices=invoices,
        )
        if done is not _REFUSED:
            self.prepared(pr_id, user.pk)
            for invoice_id in invoices:
                self.note_link(pr_id, invoice_id)

    def likely_approvers(self, pr_id: int) -> list[str]:
        """The current step's approvers and whoever stands in for them today, then everyone."""
        step = Approval.objects.filter(pr__id=pr_id).values_list("current_step", flat=True).first()
        ids = set(
            ApprovalStepUser.objects.filter(step__approval__pr__id=pr_id, step__number=step).values_list(
                "user_id", flat=True
            )
        )
        ids |= set(
            ApprovalDelegation.objects.filter(
                approver_id__in=ids, start_date__lte=self.today, end_date__gte=self.today
            ).values_list("substitute_id", flat=True)
        )
        return sorted(self.world.name_of(pk) for pk in ids)

    def _approve(self, data: Any, label: str) -> None:
        pr_id = self.pick_pr(data, PENDING)
        if pr_id is None:
            return
        likely = self.likely_approvers(pr_id)
        pool = likely if likely and data.draw(st.integers(0, 4), label="likely") else EVERYONE
        actor = data.draw(st.sampled_from(pool), label="approver")
        self.act(
            label,
            lambda: services.payment_request_approve(pr=PaymentRequest(pk=pr_id), actor=self.u[actor]),
            prs=[pr_id],
        )

    @precondition(lambda self: self.has(PENDING))
    @rule(data=st.data())
    def approve(self, data: Any) -> None:
        self._approve(data, "approve")

    @precondition(lambda self: self.has(PENDING))
    @rule(data=st.data())
    def approve_again(self, data: Any) -> None:  # a second rule: chains need several approvals
        self._approve(data, "approve")

    @precondition(lambda self: self.has(PENDING))
    @rule(data=st.data())
    def approve_once_more(self, data: Any) -> None:  # a third: the large flow needs three
        self._approve(data, "approve")

    @precondition(lambda self: self.has(PENDING))
    @rule(actor=st.sampled_from(EVERYONE), data=st.data())
    def bulk_approve(self, actor: str, data: Any) -> None:
        ids = data.draw(st.lists(st.sampled_from([*self.pr_ids(), 10**12]), max_size=4, unique=True), label="ids")
        self.steps += 1
        before = {pk: self.fingerprint([pk], [])[:2] for pk in ids}
        result = services.payment_requests_bulk_approve(ids=ids, actor=self.u[actor])
        STATS["bulk approve (per request)", "tried"] += len(ids)
        STATS["bulk approve (per request)", "done"] += len(result.approved)
        STATS["bulk approve (per request)", "refused"] += len(result.failed)
        for failure in result.failed:
            CODES["bulk approve (per request)", failure["code"]] += 1
            assert self.fingerprint([failure["id"]], [])[:2] == before[failure["id"]], failure

    @precondition(lambda self: self.has(PENDING))
    @rule(actor=st.sampled_from(EVERYONE), data=st.data(), reason=st.sampled_from(["Sai số tiền", ""]))
    def reject(self, actor: str, data: Any, reason: str) -> None:
        pr_id = self.pick_pr(data, PENDING)
        if pr_id is not None:
            actor = data.draw(st.sampled_from([*self.likely_approvers(pr_id), actor]), label="rejecter")
            self.act(
                "reject",
                lambda: services.payment_request_reject(
                    pr=PaymentRequest(pk=pr_id), actor=self.u[actor], reason=reason
                ),
                prs=[pr_id],
            )

    @precondition(lambda self: self.has(PENDING))
    @rule(actor=st.sampled_from(EVERYONE), data=st.data())
    def recall(self, actor: str, data: Any) -> None:
        pr_id = self.pick_pr(data, PENDING)
        if pr_id is not None:
            maker = PaymentRequest.objects.filter(pk=pr_id).values_list("maker_id", flat=True).first()
            actor = data.draw(st.sampled_from([self.world.name_of(maker), actor]), label="recaller")
            self.act(
                "recall",
                lambda: services.payment_request_recall(pr=PaymentRequest(pk=pr_id), actor=self.u[actor]),
                prs=[pr_id],
            )

    @precondition(lambda self: self.has(PENDING, APPROVED))
    @rule(data=st.data())
    def retract(self, data: Any) -> None:
        pr_id = self.pick_pr(data, PENDING, APPROVED)
        if pr_id is None:
            return
        ids = set(ApprovalRecord.objects.filter(approval__pr__id=pr_id).values_list("acted_by_id", flat=True))
        ids |= set(ApprovalRecord.objects.filter(approval__pr__id=pr_id).values_list("approver_id", flat=True))
        pool = sorted(self.world.name_of(pk) for pk in ids) or EVERYONE
        actor = data.draw(
            st.sampled_from(pool if data.draw(st.integers(0, 3), label="likely") else EVERYONE), label="retracter"
        )
        self.act(
            "retract",
            lambda: services.payment_request_retract(pr=PaymentRequest(pk=pr_id), actor=self.u[actor]),
            prs=[pr_id],
        )

    @precondition(lambda self: self.has(APPROVED))
    @rule(actor=st.sampled_from(["f1", "f2", "f3", "owner", "f1", "f2", "b1"]), data=st.data())
    def complete(self, actor: str, data: Any) -> None:
        pr_id = self.pick_pr(data, APPROVED)
        if pr_id is not None:
            self.act(
                "complete",
                lambda: services.payment_request_complete(
                    pr=PaymentRequest(pk=pr_id), actor=self.u[actor], payment_reference=f"FT{pr_id:08d}"
                ),
                prs=[pr_id],
                invoices=self.linked_invoices(pr_id),
            )

    @precondition(lambda self: self.has(COMPLETED))
    @rule(
        actor=st.sampled_from(["f2", "owner", "f1"]), data=st.data(), reason=st.sampled_from(["Ngân hàng trả lại", ""])
    )
    def uncomplete(self, actor: str, data: Any, reason: str) -> None:
        pr_id = self.pick_pr(data, COMPLETED)
        if pr_id is not None:
            self.act(
                "un-complete",
                lambda: services.payment_request_uncomplete(
                    pr=PaymentRequest(pk=pr_id), actor=self.u[actor], reason=reason
                ),
                prs=[pr_id],
                invoices=self.linked_invoices(pr_id),
            )

    # --- delegations and flows ---------------------------------------------------------------------
    @rule(
        actor=st.sampled_from(["the approver"] * 4 + ["owner", "f1"]),
        approver=st.sampled_from(APPROVERS),
        substitute=st.sampled_from(EVERYONE),
        window=st.sampled_from(["today", "today", "next week", "past"]),
    )
    def delegate(self, actor: str, approver: str, substitute: str, window: str) -> None:
        """Approvers name their own substitutes (owners anyone's), sometimes a preparer."""
        start, end = {"today": (0, 3), "next week": (7, 10), "past": (-5, -1)}[window]
        actor = approver if actor == "the approver" else actor
        self.act(
            "create delegation",
            lambda: approval_services.approval_delegation_create(
                actor=self.u[actor],
                approver=self.u[approver],
                substitute=self.u[substitute],
                start_date=self.today + timedelta(days=start),
                end_date=self.today + timedelta(days=end),
            ),
        )

    @rule(actor=st.sampled_from([*APPROVERS, "owner"]), data=st.data())
    def end_delegation(self, actor: str, data: Any) -> None:
        ids = list(ApprovalDelegation.objects.order_by("id").values_list("id", flat=True))
        if ids:
            delegation = ApprovalDelegation.objects.get(pk=data.draw(st.sampled_from(ids), label="delegation"))
            self.act(
                "delete delegation",
                lambda: approval_services.approval_delegation_delete(delegation=delegation, actor=self.u[actor]),
            )

    @rule(
        actor=st.sampled_from(["owner", "owner", "owner", "f1"]),
        variant=st.sampled_from(sorted(flow_variants({n: None for n in EVERYONE}))),
    )
    def edit_flow(self, actor: str, variant: str) -> None:
        name, changes = flow_variants(self.u)[variant]
        self.act(
            "edit flow",
            lambda: approval_services.approval_flow_update(flow=self.world.flows[name], actor=self.u[actor], **changes),
        )

    # --- the invariants ----------------------------------------------------------------------------
    @invariant()
    def controls_hold(self) -> None:
        try:
            self.check_controls()
        except BaseException:
            self.failed()
            raise

    def check_controls(self) -> None:
        prs = {pr.pk: pr for pr in PaymentRequest.objects.order_by("id")}
        steps: dict[int, list[ApprovalStep]] = defaultdict(list)
        for step in (
            ApprovalStep.objects.filter(approval__pr__id__in=list(prs))
            .annotate(pr_id=F("approval__pr__id"))
            .order_by("number")
        ):
            steps[step.pr_id].append(step)
        current = dict(Approval.objects.filter(pr__id__in=list(prs)).values_list("pr__id", "current_step"))
        places: dict[int, set[int]] = defaultdict(set)
        for step_id, user_id in ApprovalStepUser.objects.filter(step__approval__pr__id__in=list(prs)).values_list(
            "step_id", "user_id"
        ):
            places[step_id].add(user_id)
        records: dict[int, list[ApprovalRecord]] = defaultdict(list)
        for record in ApprovalRecord.objects.filter(approval__pr__id__in=list(prs)).annotate(
            pr_id=F("approval__pr__id")
        ):
            records[record.pr_id].append(record)
        preparers: dict[int, set[int]] = defaultdict(set)
        for pr_id, user_id in PaymentRequestPreparer.objects.values_list("pr_id", "user_id"):
            preparers[pr_id].add(user_id)
        invoices: dict[int, list[Any]] = defaultdict(list)
        for link in PRInvoice.objects.select_related("invoice").order_by("id"):
            invoices[link.pr_id].append(link.invoice)
        name = self.world.name_of
        self.statuses = Counter(pr.status for pr in prs.values())
        self.links = sum(len(v) for v in invoices.values())

        for pk, pr in prs.items():
            where = f"PR {pk} ({pr.type}, {pr.status}, {pr.amount})"
            tracked = self.tracked[pk]
            chain = steps[pk]
            by_step: dict[int, list[ApprovalRecord]] = defaultdict(list)
            for record in records[pk]:
                by_step[record.step_id].append(record)

            def satisfied(step: ApprovalStep, by_step: Any = by_step) -> bool:
                filled = {r.approver_id for r in by_step[step.pk]}
                return bool(filled) if step.mode == "anyof" else filled >= places[step.pk]

            # 1. PREPARER-NEVER-APPROVES and the chain's integrity.
            missing = tracked.preparers - preparers[pk]
            assert not missing, f"{where}: {[name(u) for u in missing]} prepared it but are not preparers"
            everyone_who_prepared = preparers[pk] | tracked.preparers | tracked.payee_authors
            for record in records[pk]:
                assert record.acted_by_id not in everyone_who_prepared, (
                    f"{where}: approved by {name(record.acted_by_id)}, who prepared it "
                    f"(pr_preparers {sorted(name(u) for u in preparers[pk])}, changed the payee of one of its "
                    f"invoices: {sorted(name(u) for u in tracked.payee_authors)})"
                )
                assert record.approver_id not in everyone_who_prepared, (
                    f"{where}: the place of {name(record.approver_id)}, who prepared it, was filled by "
                    f"{name(record.acted_by_id)}"
                )
                assert record.approver_id in places[record.step_id], f"{where}: a record fills no place: {record}"
            if pr.status in (APPROVED, COMPLETED):
                assert chain, f"{where}: approved without a chain"
                unsatisfied = [s.number for s in chain if not satisfied(s)]
                assert not unsatisfied, f"{where}: approved with step(s) {unsatisfied} not satisfied"
                assert current[pk] == chain[-1].number, f"{where}: approved at step {current[pk]}"
            elif pr.status == PENDING:
                numbers = [s.number for s in chain]
                assert current[pk] in numbers, f"{where}: pending at step {current[pk]} of {numbers}"
                for step in chain:
                    if step.number < current[pk]:
                        assert satisfied(step), f"{where}: step {step.number} passed unsatisfied"
                    elif step.number == current[pk]:
                        assert not satisfied(step), f"{where}: pending on a satisfied step {step.number}"
                    else:
                        assert not by_step[step.pk], f"{where}: a record on the future step {step.number}"
            else:
                assert not records[pk] and current[pk] == 0, f"{where}: a draft with approvals or a step pointer"

            # 2. What was submitted is what is approved and paid; the chain is frozen with it.
            details = payment_request_bank_details(pr)
            now = (pr.amount, details.bank_account, details.account_name)
            frozen_chain = [(s.number, s.mode, tuple(sorted(places[s.pk]))) for s in chain]
            if pr.status == DRAFT:
                tracked.submitted = tracked.approved = tracked.chain = None
            else:
                assert details.frozen, f"{where}: the payee shown is not the snapshot"
                if tracked.submitted is None:
                    tracked.submitted, tracked.chain = now, frozen_chain
                assert now == tracked.submitted, f"{where}: submitted as {tracked.submitted}, now {now}"
                assert frozen_chain == tracked.chain, f"{where}: the chain changed after submission"
                if pr.status in (APPROVED, COMPLETED):
                    tracked.approved = tracked.approved or now
                    assert now == tracked.approved, f"{where}: approved as {tracked.approved}, now {now}"

            # 3. AMOUNT-FROM-INVOICES.
            if invoices[pk] or pr.type == "direct":
                total = sum((i.total_payable for i in invoices[pk]), Decimal(0))
                assert pr.amount == total, f"{where}: the invoices total {total}"

            # 4. PAYEE-FROZEN; invoices follow their request.
            if pr.status != DRAFT:
                assert pr.payee_bank_account, f"{where}: submitted without a payee"
                if pr.type == "direct":
                    accounts = {normalise_account(i.payment_bank_account) for i in invoices[pk]}
                    assert accounts == {pr.payee_bank_account}, (
                        f"{where}: pays {pr.payee_bank_account} but its invoices name {accounts}"
                    )
            wanted = "completed" if pr.status == COMPLETED else "imported"
            assert all(i.status == wanted for i in invoices[pk]), (
                f"{where}: invoices {[(i.pk, i.status) for i in invoices[pk]]}"
            )

        # 2 (continued). The bank export of the approved requests carries what was approved.
        approved = [pk for pk, pr in prs.items() if pr.status == APPROVED]
        if approved:
            rows = {row["pr_id"]: row for row in iter_rows(export_rows(ids=approved))}
            assert sorted(rows) == approved, (sorted(rows), approved)
            for pk in approved:
                amount, account, _holder = self.tracked[pk].approved  # type: ignore[misc]
                got = (rows[pk]["amount"], normalise_account(rows[pk]["bank_account"]))
                assert got == (amount, account), f"PR {pk}: approved {(amount, account)}, exported {got}"


_REFUSED = object()


@pytest.mark.django_db
def test_payment_controls_hold_under_random_actions(capsys: pytest.CaptureFixture[str]) -> None:
    STATS.clear()
    CODES.clear()
    STEPS_PER_EXAMPLE.clear()
    FIRST_FAILURE.clear()
    world = build_world()
    machine = type("ControlsMachineForWorld", (ControlsMachine,), {"world": world})
    started = time.monotonic()
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=DERANDOMIZE,
                database=None,
                phases=list(Phase) if SHRINK else [p for p in Phase if p != Phase.shrink],
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.function_scoped_fixture,
                    HealthCheck.filter_too_much,
                ],
            ),
        )
    finally:
        with capsys.disabled():
            print(report(time.monotonic() - started))


def report(seconds: float) -> str:
    lines = [
        "",
        f"controls state machine: {len(STEPS_PER_EXAMPLE)} examples (shrinking included) in {seconds:.1f} s; "
        f"actions per example mean {statistics.mean(STEPS_PER_EXAMPLE or [0]):.1f}, "
        f"max {max(STEPS_PER_EXAMPLE or [0])}, total {sum(STEPS_PER_EXAMPLE)}"
        + (f"; first failure in example {FIRST_FAILURE[0]}" if FIRST_FAILURE else ""),
        f"  {'action':<30} {'tried':>6} {'done':>6} {'refused':>8}  refusal codes",
    ]
    for action in sorted({a for a, _k in STATS}):
        codes = ", ".join(f"{code} {n}" for (a, code), n in CODES.most_common() if a == action)
        lines.append(
            f"  {action:<30} {STATS[action, 'tried']:>6} {STATS[action, 'done']:>6} "
            f"{STATS[action, 'refused']:>8}  {codes}"
        )
    return "\n".join(lines)
