"""A client generated from the served document by a tool we did not write (openapi-python-client), as an
integrator would (issue 20, Acceptance): the generator reports zero warnings, every generated module imports,
and the generated client alone — no APIClient, no hand-written HTTP — drives the whole payment cycle against a
real HTTP server: people sign in, an owner makes a scoped service account and registers a webhook, the service
account imports an e-invoice, a clerk makes a request from it in one call and sends it for approval, two
approvers each decide their step, the worker delivers the webhooks to a local receiver that checks their
signatures with the snippet of docs/webhooks.md, the service account exports the bank CSV, the clerk completes
the request with the bank's reference, and the service account reads the cycle's events from the feed by cursor."""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import pkgutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.accounts.factories import PASSWORD, TeamFactory, UserFactory
from tests.invoices import xmlgen
from tests.webhooks.receiver import running_receiver
from tests.webhooks.test_delivery import documented_verify

PACKAGE = "acountee_generated_client"


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict[str, Any]:
    """The document as served, asked for in Vietnamese: it is English whoever asks."""
    from django.test import Client as DjangoClient

    with django_db_blocker.unblock():
        response = DjangoClient().get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    return json.loads(response.content)


def _generate(document: dict[str, Any], work: Path) -> subprocess.CompletedProcess[str]:
    """openapi-python-client's CLI into `work/PACKAGE` (its ruff post-hooks need the virtual environment's `bin`
    on PATH); `--fail-on-warning`: a warning is also a failed run."""
    source = work / "openapi.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    binaries = Path(sys.executable).parent
    return subprocess.run(
        [
            str(binaries / "openapi-python-client"),
            "generate",
            "--path",
            str(source),
            "--output-path",
            str(work / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "PATH": f"{binaries}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def generation(document, tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Once per module."""
    work = tmp_path_factory.mktemp("generated")
    return _generate(document, work), work


@pytest.fixture(scope="module")
def api(generation) -> ModuleType:
    result, work = generation
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))


def test_the_generator_reports_no_warning(generation):
    result, work = generation
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    assert output.splitlines() == [f"Generating {work / PACKAGE}"], output
    assert "warning" not in output.lower()


def test_the_warning_check_sees_a_warning(tmp_path):
    """The check above can fail: a document the generator cannot fully read (an answer in a media type it does
    not know) makes it warn, and with `--fail-on-warning` exit non-zero."""
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Warns", "version": "1"},
        "paths": {
            "/pdf/": {
                "get": {
                    "operationId": "pdf",
                    "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {}}}}},
                }
            }
        },
    }
    result = _generate(document, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Warning(s) encountered" in output, output


def test_every_generated_module_imports(api):
    names = [info.name for info in pkgutil.walk_packages(api.__path__, prefix=f"{PACKAGE}.")]
    for name in names:
        importlib.import_module(name)
    operations = [name for name in names if name.startswith(f"{PACKAGE}.api.") and name.count(".") == 3]
    assert len(operations) > 100, operations  # every operation of the document got its function
    assert importlib.import_module(f"{PACKAGE}.api.auth.auth_token_create")


def _op(group: str, name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{group}.{name}")


def _model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def _ok(response: Any, status: int = 200) -> Any:
    """The parsed answer of a `sync_detailed` call, after checking its status."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.parsed


@pytest.mark.django_db(transaction=True)
def test_the_payment_cycle_through_the_generated_client_only(api, live_server):
    from payments.models import PaymentRequest

    # The company, as its owner set it up in the back office: people, a team that exports, two-step approval.
    owner = UserFactory(email="chu@cty-sinh.test", name="Chủ sở hữu", roles=["owner"])
    accounting = TeamFactory(name="Kế toán", capabilities=["workbench"])
    clerk = UserFactory(email="ketoan@cty-sinh.test", name="Kế toán viên", roles=["finance"], team=accounting)
    chief = UserFactory(email="ktt@cty-sinh.test", name="Kế toán trưởng", roles=["finance"], team=accounting)
    director = UserFactory(email="gd@cty-sinh.test", name="Giám đốc", roles=["bod"])

    base = live_server.url
    anonymous = api.Client(base_url=base, raise_on_unexpected_status=True)

    def sign_in(user: Any) -> Any:
        body = _model("TokenRequestRequest")(email=user.email, password=PASSWORD)
        token = _ok(_op("auth", "auth_token_create").sync_detailed(client=anonymous, body=body)).token
        return api.AuthenticatedClient(base_url=base, token=token, prefix="Token", raise_on_unexpected_status=True)

    # 1. People sign in with e-mail and password; the owner registers the approval flow and the webhook.
    as_owner, as_clerk, as_chief, as_director = (sign_in(user) for user in (owner, clerk, chief, director))
    me = _ok(_op("auth", "me_retrieve").sync_detailed(client=as_clerk))
    assert me.email == clerk.email

    step = _model("FlowStepRequest")
    flow = _ok(
        _op("approval_flows", "approval_flows_create").sync_detailed(
            client=as_owner,
            body=_model("ApprovalFlowRequest")(
                name="Hai bước",
                min_amount="0",  # a range: the policy's flow for every amount (a flow without one is a template)
                steps=[
                    step(name="Kế toán trưởng", approvers=[chief.pk]),
                    step(name="Giám đốc", approvers=[director.pk]),
                ],
            ),
        ),
        201,
    )
    assert len(flow.steps) == 2

    verify = documented_verify()
    event_model = _model("Event")

    def as_event(body: bytes) -> Any:
        return event_model.from_dict(json.loads(body))

    with running_receiver() as receiver:
        event_types = list(_model("WebhookEventTypeEnum"))
        endpoint = _ok(
            _op("webhooks", "webhooks_create").sync_detailed(
                client=as_owner,
                body=_model("WebhookEndpointRequest")(url=receiver.url, event_types=event_types),
            ),
            201,
        )
        assert endpoint.secret.startswith("whsec_")

        # 2. A service account for the integration: import and export, never approve; its role also reads the feed.
        _ok(
            _op("accounts", "roles_create").sync_detailed(
                client=as_owner,
                body=_model("RoleRequest")(name="integration-feed", permissions=["webhooks.view_event_feed"]),
            ),
            201,
        )
        scopes = _model("ScopesEnum")
        account = _ok(
            _op("accounts", "service_accounts_create").sync_detailed(
                client=as_owner,
                body=_model("ServiceAccountInputRequest")(
                    name="ERP",
                    scopes=[scopes.READ, scopes.IMPORT, scopes.EXPORT],
                    roles=["finance", "integration-feed"],
                    expires_at=timezone.now() + timedelta(days=30),
                ),
            ),
            201,
        )
        patch = _model("PatchedUserRequest")(team=accounting.pk)  # its exports are the accounting team's
        _ok(_op("accounts", "users_partial_update").sync_detailed(str(account.id), client=as_owner, body=patch))
        as_erp = api.AuthenticatedClient(
            base_url=base, token=account.token, prefix="Token", raise_on_unexpected_status=True
        )

        # 3. The service account imports an e-invoice (multipart, the file as the generator types it).
        xml = xmlgen.invoice(number="00004201", lines=[xmlgen.L("19700000")])  # names the seller's bank account
        upload = importlib.import_module(f"{PACKAGE}.types").File(
            payload=io.BytesIO(xml), file_name="hoa-don.xml", mime_type="text/xml"
        )
        report = _ok(
            _op("invoices", "invoices_import_create").sync_detailed(
                client=as_erp, body=_model("ImportRequestRequest")(files=[upload])
            )
        )
        assert (report.summary.success, report.summary.failure) == (1, 0), report.to_dict()
        invoice_id = report.files[0].entries[0].invoice
        invoice = _ok(_op("invoices", "invoices_retrieve").sync_detailed(str(invoice_id), client=as_erp))

        # 4. One call: a draft for the invoice's amount with the policy's chain; then sent for approval.
        pr = _ok(
            _op("payment_requests", "payment_requests_from_invoices_create").sync_detailed(
                client=as_clerk,
                body=_model("FromInvoicesInputRequest")(invoice_ids=[invoice_id]),
                idempotency_key="erp-cycle-1",
            ),
            201,
        )
        assert (pr.status, pr.amount) == ("draft", invoice.total_payable)
        replayed = _op("payment_requests", "payment_requests_from_invoices_create").sync_detailed(
            client=as_clerk,
            body=_model("FromInvoicesInputRequest")(invoice_ids=[invoice_id]),
            idempotency_key="erp-cycle-1",
        )
        assert _ok(replayed, 201).id == pr.id and replayed.headers["Idempotent-Replayed"] == "true"  # a safe retry
        pr_id = str(pr.id)
        requested = _ok(
            _op("payment_requests", "payment_requests_request_approval_create").sync_detailed(pr_id, client=as_clerk)
        )
        assert requested.status == "pending"

        # 5. Two steps, each approver their own; the service account may not.
        approve = _op("payment_requests", "payment_requests_approve_create")
        refused = approve.sync_detailed(pr_id, client=as_erp)
        assert refused.status_code == 403 and refused.parsed.error.code == "TOKEN_SCOPE"
        assert _ok(approve.sync_detailed(pr_id, client=as_chief)).status == "pending"
        assert _ok(approve.sync_detailed(pr_id, client=as_director)).status == "approved"
        approved_at = time.monotonic()  # the answer came after the commit

        # 6. The notification worker's pass delivers every event to the receiver, signed.
        started = time.monotonic()
        call_command("dispatch_notifications", "--once", stdout=io.StringIO())
        assert receiver.wait_for(4, timeout=10)
        timings = (started - approved_at, receiver.requests[0].at - started, receiver.requests[-1].at - started)
        for request in receiver.requests:
            assert verify(endpoint.secret, request.headers["Acountee-Signature"], request.body)
        # A webhook's body is the feed's document: the generated model reads it, payload typed.
        hooks = {hook.id: hook for hook in (as_event(request.body) for request in receiver.requests)}
        by_type = {str(hook.type_): hook for hook in hooks.values()}
        assert set(by_type) >= {"invoice.imported", "payment_request.approval_requested", "payment_request.approved"}
        assert by_type["invoice.imported"].data.invoice.id == invoice_id
        assert by_type["payment_request.approval_requested"].data.step.number == 1
        assert by_type["payment_request.approval_requested"].data.payee.bank_account == "0071000123456"
        assert by_type["payment_request.approved"].data.payment_request.status == "approved"
        assert by_type["payment_request.step_advanced"].data.step.number == 2
        for hook in hooks.values():  # every key sent is in the document (a generated model keeps others aside)
            parts = [hook, hook.data, *(getattr(hook.data, key) for key in ("payment_request", "payee", "invoice"))]
            assert not any(getattr(part, "additional_properties", None) for part in parts), hook.to_dict()
        first_pass = len(hooks)

        # 7. The service account exports the bank-transfer CSV of the approved request.
        export = _op("workbench", "workbench_export_retrieve").sync_detailed(client=as_erp, ids=pr_id)
        assert export.headers["Content-Type"].startswith("text/csv")
        text = _ok(export)  # typed `str`: the CSV as text (UTF-8 with a BOM for spreadsheets)
        _header, *rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
        assert len(rows) == 1 and rows[0][0] == pr_id, rows  # the request's id first, then its payee
        assert "0071000123456" in rows[0], rows

        # 8. Paid: the clerk completes it with the bank's reference.
        done = _ok(
            _op("payment_requests", "payment_requests_complete_create").sync_detailed(
                pr_id, client=as_clerk, body=_model("CompleteInputRequest")(payment_reference="FT26340123456")
            )
        )
        assert done.status == "completed"
        call_command("dispatch_notifications", "--once", stdout=io.StringIO())
        assert receiver.wait_for(len(hooks) + 1, timeout=10)
        last = receiver.requests[-1]
        assert verify(endpoint.secret, last.headers["Acountee-Signature"], last.body)
        completed = as_event(last.body)
        assert str(completed.type_) == "payment_request.completed"
        assert completed.data.payment_request.payment_reference == "FT26340123456"
        hooks[completed.id] = completed

    # 9. The integration reads the feed from a cursor, two at a time: the cycle's events in order.
    feed = _op("webhooks", "events_retrieve")
    events, cursor = [], 0
    while True:
        page = _ok(feed.sync_detailed(client=as_erp, after=cursor, limit=2))
        events += page.results
        cursor = page.next_
        if not page.has_more:
            break
    assert [event.id for event in events] == sorted(event.id for event in events)
    assert [str(event.type_) for event in events] == [
        "invoice.imported",
        "payment_request.approval_requested",
        "payment_request.new_payee",
        "payment_request.step_advanced",  # step 1 satisfied: step 2's approvers are asked
        "payment_request.approved",
        "payment_request.completed",
    ]
    assert set(hooks) == {event.id for event in events}  # the webhooks carried the feed's events
    for event in events:  # the same documents (times compared as instants: the feed writes them in local time)
        hook = hooks[event.id]
        assert (event.type_, event.occurred_at, event.data.to_dict()) == (
            hook.type_,
            hook.occurred_at,
            hook.data.to_dict(),
        ), (event.to_dict(), hook.to_dict())
    assert _ok(feed.sync_detailed(client=as_erp, after=cursor)).results == []  # nothing new after the cursor
    assert PaymentRequest.objects.get(pk=pr.id).payment_reference == "FT26340123456"
    print(  # figures for the reader (-s), never asserted
        f"\ngenerated client: the worker pass after the approval (started {timings[0] * 1000:.0f} ms after its answer)"
        f" delivered {first_pass} webhooks, the first {timings[1] * 1000:.0f} ms and the last"
        f" {timings[2] * 1000:.0f} ms after it started"
    )
