"""A realistic data set for the API fuzzer, so detail operations reach real objects and not only
the 404 path: the demo data (`seed_demo`: users per role, flows, payment methods, imported
invoices, PRs in every state made through the services, notifications, export templates) plus a
plain finance user (no team) who made a draft PR with an invoice and an attachment, approves a
step of another PR, and has a delegation and notifications of their own."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.management import call_command

OWNER_EMAIL = "owner@acountee.local"
FINANCE_EMAIL = "fuzz-finance@acountee.test"


@dataclass
class Dataset:
    owner: Any
    finance: Any
    # resource (the path's first segments after /api/) → ids that exist
    pools: dict[str, list[int]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # persona → Authorization header
    audit_mark: int = 0  # the last audit entry of the seed: anything after it was written by an example


def _ids(model: Any, **filters: Any) -> list[int]:
    return list(model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True))


def seed_dataset() -> Dataset:
    from accounts.models import Role, Team, User
    from approvals import services as approval_services
    from approvals.models import ApprovalDelegation, ApprovalFlow
    from audit.models import AuditEntry, SecurityEvent
    from files.models import StoredFile
    from invoices.models import Invoice
    from payments import services
    from payments.models import PaymentMethod, PaymentRequest, PRAttachment
    from payments.notifications.models import Notification, NotificationDelivery
    from payments.services import invoice_link, payment_request_attachment_add
    from payments.workbench.models import ExportTemplate
    from tests.accounts.factories import UserFactory
    from tests.files.factories import stored_file

    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    owner = User.objects.get(email=OWNER_EMAIL)
    finance = UserFactory(email=FINANCE_EMAIL, name="Kế toán kiểm thử", roles=["finance"])
    maker = User.objects.get(email="ketoan@acountee.local")
    director = User.objects.get(email="giamdoc@acountee.local")

    # The finance persona's own draft: an invoice linked and a file attached.
    own = services.payment_request_create(
        actor=finance,
        name="Thanh toán văn phòng phẩm",
        amount="2750000",
        type="advanced",
        bank_name="Vietcombank",
        bank_account="0071000999888",
        account_name="CÔNG TY TNHH VPP",
    )
    free = Invoice.objects.filter(status="imported", pr_link__isnull=True).order_by("pk").first()
    if free is not None:
        invoice_link(invoice=free, pr=own, actor=finance)
    payment_request_attachment_add(
        pr=own, file=stored_file(content=b"%PDF-1.4 bao gia", name="bao-gia.pdf", created_by=finance), actor=finance
    )
    # A PR waiting for the finance persona (their approval queue and notifications): a custom chain,
    # so an owner (who holds approvals.customize_chain) sets it up for the maker.
    waiting = services.payment_request_create(
        actor=owner,
        maker=maker,
        name="Tiếp khách tháng 11",
        amount="3200000",
        type="advanced",
        bank_name="Techcombank",
        bank_account="19036000111222",
        account_name="NGUYEN VAN A",
        # an extra first step for the finance persona, then the amount's flow (a custom chain keeps it)
        steps=[
            {"name": "Kế toán", "mode": "allof", "approvers": [finance, director]},
            {
                "name": "Ban giám đốc duyệt",
                "mode": "anyof",
                "approvers": list(
                    User.objects.filter(email__in=["phogiamdoc@acountee.local", "giamdoc@acountee.local"]).order_by(
                        "pk"
                    )
                ),
            },
        ],
    )
    payment_request_attachment_add(
        pr=waiting,
        file=stored_file(content=b"%PDF-1.4 tiep khach", name="de-nghi.pdf", created_by=maker),
        actor=maker,
    )
    services.payment_request_request_approval(pr=waiting, actor=maker)
    approval_services.approval_delegation_create(
        actor=finance,
        approver=finance,
        substitute=maker,
        start_date=datetime.date(2026, 12, 1),
        end_date=datetime.date(2026, 12, 5),
        note="Nghỉ phép",
    )

    attached = _ids(PRAttachment)
    pools = {
        "invoices": _ids(Invoice),
        "payment-requests": _ids(PaymentRequest),
        "files": _ids(StoredFile),
        "notifications": _ids(Notification),
        "notification-deliveries": _ids(NotificationDelivery),
        "users": _ids(User),
        "teams": _ids(Team),
        "roles": _ids(Role),
        "approval-flows": _ids(ApprovalFlow),
        "approval-delegations": _ids(ApprovalDelegation),
        "payment-methods": _ids(PaymentMethod),
        "audit": _ids(AuditEntry)[:200],
        "audit/security-events": _ids(SecurityEvent),
        "workbench/templates": _ids(ExportTemplate),
        # parameters named after what they hold
        "file_id": list(PRAttachment.objects.filter(pk__in=attached).values_list("file_id", flat=True)),
        "role_id": _ids(Role),
    }
    return Dataset(owner=owner, finance=finance, pools=pools)
