"""Every back-office list runs a fixed number of queries, whatever the number of rows: the count is pinned
per page, with 1 row and with 30 rows (the pages show up to 50)."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import RoleFactory, TeamFactory, UserFactory
from tests.approvals.factories import approver_users, make_flow
from tests.files.factories import stored_file
from tests.payments.factories import PaymentMethodFactory, make_invoice, make_pr

pytestmark = pytest.mark.django_db
_seq = itertools.count(1)


def _invoice(ctx: dict[str, Any]) -> None:
    invoice = make_invoice()
    if next(_seq) % 2:  # every other invoice sits in a PR: the list shows the link
        make_pr(maker=ctx["maker"], steps=[("anyof", [ctx["a"]])], type="direct", invoices=[invoice])


def _pr(ctx: dict[str, Any]) -> None:
    n = next(_seq)
    pr = make_pr(
        maker=ctx["maker"], steps=[("anyof", [ctx["a"]]), ("allof", [ctx["b"]])], request=bool(n % 2), name=f"PR {n}"
    )
    if n % 6 == 3:  # requested (odd) and every third
        from payments import services

        services.payment_request_approve(pr=pr, actor=ctx["a"])


def _flow(ctx: dict[str, Any]) -> None:
    make_flow(owner=ctx["owner"], name=f"Flow {next(_seq)}", steps=[("anyof", [ctx["a"]]), ("allof", [ctx["b"]])])


def _user(ctx: dict[str, Any]) -> None:
    UserFactory(roles=["finance", "bod"], team=ctx["team"])


def _team(ctx: dict[str, Any]) -> None:
    UserFactory(team=TeamFactory())


def _role(ctx: dict[str, Any]) -> None:
    RoleFactory(parent=ctx["role"])


def _audit(ctx: dict[str, Any]) -> None:
    PaymentMethodFactory()  # the trigger writes one entry


def _security_event(ctx: dict[str, Any]) -> None:
    from audit.models import SecurityEvent

    SecurityEvent.objects.create(kind="sign_in_failed", email=f"x{next(_seq)}@example.com", ip="10.0.0.1")


def _file(ctx: dict[str, Any]) -> None:
    stored_file(created_by=ctx["owner"])


def _notification(ctx: dict[str, Any]) -> None:
    from payments.notifications.models import Notification

    pr = make_pr(maker=ctx["maker"], steps=[("anyof", [ctx["a"]])])
    Notification.objects.create(recipient=ctx["owner"], kind="approved", pr=pr, title="Đã duyệt", on_behalf_of=ctx["a"])


def _delivery(ctx: dict[str, Any]) -> None:
    from payments.notifications.models import NotificationDelivery
    from tests.notifications.factories import audit_row_notification

    NotificationDelivery.objects.create(
        notification=audit_row_notification(),
        channel="email",
        status="failed",
        address="x@example.com",
        last_error="550",
    )


def _delegation(ctx: dict[str, Any]) -> None:
    from approvals import services as approval_services

    n = next(_seq)
    start = datetime.date(2026, 1, 1) + datetime.timedelta(days=3 * n)
    approval_services.approval_delegation_create(
        actor=ctx["owner"],
        approver=ctx["a"],
        substitute=ctx["b"],
        start_date=start,
        end_date=start + datetime.timedelta(days=1),
    )


def _token(ctx: dict[str, Any]) -> None:
    from accounts.models import ApiToken

    ApiToken.objects.create(user=UserFactory(), key_hash=f"{next(_seq):064d}", prefix="acnt")


def _method(ctx: dict[str, Any]) -> None:
    PaymentMethodFactory()


def _template(ctx: dict[str, Any]) -> None:
    from payments.workbench import services

    services.export_template_create(
        actor=ctx["owner"], name=f"Mẫu {next(_seq)}", columns=[{"key": "pr_id", "label": "PR"}]
    )


def _webhook_endpoint(ctx: dict[str, Any]) -> None:
    from tests.webhooks.factories import make_endpoint

    make_endpoint(owner=ctx["owner"], url=f"https://erp{next(_seq)}.example.vn/hooks", is_active=False)


def _webhook_delivery(ctx: dict[str, Any]) -> None:
    from payments.webhooks.models import WebhookDelivery
    from tests.webhooks.factories import audit_row_delivery

    delivery = audit_row_delivery()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=8, next_attempt_at=None, last_response_code=500, last_error="HTTP 500"
    )


PAGES: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "invoices": ("/admin/invoices/invoice/", _invoice),
    "payment requests": ("/admin/payments/paymentrequest/", _pr),
    "payment methods": ("/admin/payments/paymentmethod/", _method),
    "approval flows": ("/admin/approvals/approvalflow/", _flow),
    "delegations": ("/admin/approvals/approvaldelegation/", _delegation),
    "users": ("/admin/accounts/user/", _user),
    "teams": ("/admin/accounts/team/", _team),
    "roles": ("/admin/accounts/role/", _role),
    "api tokens": ("/admin/accounts/apitoken/", _token),
    "audit": ("/admin/audit/auditentry/", _audit),
    "security events": ("/admin/audit/securityevent/", _security_event),
    "files": ("/admin/files/storedfile/", _file),
    "notifications": ("/admin/notifications/notification/", _notification),
    "deliveries": ("/admin/notifications/notificationdelivery/", _delivery),
    "export templates": ("/admin/workbench/exporttemplate/", _template),
    "webhook endpoints": ("/admin/webhooks/webhookendpoint/", _webhook_endpoint),
    "webhook deliveries": ("/admin/webhooks/webhookdelivery/", _webhook_delivery),
}

# Queries of each page for an owner (session, user, permissions, the page's count and rows, filters).
# The invoice and PR lists, unfiltered, ask the planner's estimate first (one EXPLAIN, acountee/db/counts.py).
PINNED: dict[str, int] = {
    "invoices": 9,  # no supplier list read from the table (a tax-code box)
    "payment requests": 8,
    "payment methods": 7,
    "approval flows": 9,
    "delegations": 9,
    "users": 9,
    "teams": 7,
    "roles": 7,
    "api tokens": 7,
    "audit": 6,  # the table and action filters read their choices from the models and registry, not the log
    "security events": 6,
    "files": 8,
    "notifications": 7,
    "deliveries": 7,
    "export templates": 7,
    "webhook endpoints": 7,
    "webhook deliveries": 7,
}


@pytest.fixture
def ctx(owner, maker):
    a, b = approver_users(2)
    team = TeamFactory(capabilities=["workbench"])
    return {"owner": owner, "maker": maker, "a": a, "b": b, "team": team, "role": RoleFactory()}


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", list(PAGES))
def test_changelist_queries_do_not_grow_with_rows(page, ctx, admin_client_for):
    url, make = PAGES[page]
    client = admin_client_for(ctx["owner"])
    make(ctx)
    _count(client, url)  # warms per-process caches (content types), so the pin holds in any test order
    one = _count(client, url)
    for _ in range(29):
        make(ctx)
    thirty = _count(client, url)
    print(f"\n{page}: {one} queries with 1 row, {thirty} with 30")
    assert thirty == one
    assert one == PINNED[page]
