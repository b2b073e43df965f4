"""Object-level access from the API and the admin. Users without `payments.view_paymentrequest`
(a custom "requester" role here) see only the PRs they made or whose chain names them; users
with `files.add_storedfile` only read the files they uploaded. Someone else's PR or file is a
404 from the API (ids reveal nothing) and is refused by the admin (redirect "does not exist",
or 403). Invoices are company documents without an owner: `invoices.view_invoice` decides,
and a user without it is refused by both."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Role
from payments.models import PaymentRequest
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db
PRS = "/api/payment-requests/"
ADMIN_PRS = "/admin/payments/paymentrequest/"
REQUESTER_PERMISSIONS = ["add_paymentrequest", "change_paymentrequest", "delete_paymentrequest", "add_storedfile"]


@pytest.fixture
def requesters():
    role = Role.objects.create(name="requester", description="Makes PRs, uploads their documents")
    role.permissions.set(Permission.objects.filter(codename__in=REQUESTER_PERMISSIONS))
    return UserFactory(roles=["requester"]), UserFactory(roles=["requester"])


@pytest.fixture
def theirs(requesters):
    """B's PRs: one draft, one pending; A is named nowhere."""
    _a, b = requesters
    (boss,) = approver_users(1)
    return (
        make_pr(maker=b, steps=[("anyof", [boss])], name="Của người khác (nháp)"),
        make_pr(maker=b, steps=[("anyof", [boss])], name="Của người khác (chờ duyệt)", request=True),
    )


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, name: str, content: bytes) -> int:
    response = client.post("/api/files/", {"file": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- payment requests ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Đổi tên"}),
        ("delete", "", None),
        ("post", "approve/", {}),
        ("post", "reject/", {"reason": "Không"}),
        ("post", "recall/", None),
        ("post", "request-approval/", None),
        ("get", "attachments/", None),
    ],
)
def test_api_someone_elses_pr_is_404(requesters, theirs, client_for, method, suffix, body):
    a, _b = requesters
    client = client_for(a)
    for pr in theirs:
        response = getattr(client, method)(f"{PRS}{pr.pk}/{suffix}", body, format="json")
        assert response.status_code == 404, (method, suffix, pr.status, response.content[:200])
    assert PaymentRequest.objects.filter(pk__in=[p.pk for p in theirs]).count() == 2


def test_api_list_and_bulk_approve_do_not_reveal_someone_elses_pr(requesters, theirs, client_for):
    a, _b = requesters
    mine = make_pr(maker=a, steps=[("anyof", approver_users(1))])
    client = client_for(a)
    assert [row["id"] for row in client.get(PRS).json()["results"]] == [mine.pk]
    failed = client.post(f"{PRS}bulk-approve/", {"ids": [theirs[1].pk]}, format="json").json()["failed"]
    assert [(f["id"], f["code"]) for f in failed] == [(theirs[1].pk, "NOT_FOUND")]


def test_api_a_pr_whose_chain_names_me_is_visible(requesters, client_for):
    a, b = requesters
    pr = make_pr(maker=b, steps=[("anyof", [a])], request=True)
    assert client_for(a).get(f"{PRS}{pr.pk}/").status_code == 200


def test_admin_someone_elses_pr_is_refused(requesters, theirs):
    a, _b = requesters
    client = browser(a)
    listing = client.get(ADMIN_PRS)
    assert listing.status_code == 200
    for pr in theirs:
        assert pr.name not in listing.content.decode()
        for page in ("change/", "delete/", "history/"):
            response = client.get(f"{ADMIN_PRS}{pr.pk}/{page}")
            assert response.status_code in (302, 403, 404), (page, response.status_code)
            if response.status_code == 302:
                assert response["Location"] == "/admin/"  # "does not exist", nothing shown
        client.post(f"{ADMIN_PRS}{pr.pk}/change/", {"name": "Đổi tên"})
        client.post(ADMIN_PRS, {"action": "approve_selected", "_selected_action": [pr.pk]})
        client.post(f"{ADMIN_PRS}{pr.pk}/delete/", {"post": "yes"})
        fresh = PaymentRequest.objects.get(pk=pr.pk)
        assert (fresh.name, fresh.status) == (pr.name, pr.status)


# --- files -----------------------------------------------------------------------------------------
def test_api_someone_elses_file_is_404(requesters, client_for):
    a, b = requesters
    file_id = upload(client_for(b), "bao-gia.pdf", b"%PDF-1.4\nbao gia cua B\n%%EOF\n")
    mine = upload(client_for(a), "hop-dong.pdf", b"%PDF-1.4\nhop dong cua A\n%%EOF\n")
    client = client_for(a)
    assert client.get(f"/api/files/{mine}/content/").status_code == 200
    assert client.get(f"/api/files/{file_id}/").status_code == 404
    assert client.get(f"/api/files/{file_id}/content/").status_code == 404
    # Nor can it be attached to one's own PR by guessing its id.
    pr = make_pr(maker=a, steps=[("anyof", approver_users(1))])
    response = client.post(f"{PRS}{pr.pk}/attachments/", {"file_id": file_id}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "FILE_NOT_FOUND"


def test_admin_files_are_refused_without_the_view_permission(requesters, client_for):
    a, b = requesters
    file_id = upload(client_for(b), "bao-gia.pdf", b"%PDF-1.4\nbao gia cua B\n%%EOF\n")
    client = browser(a)
    for url in (
        "/admin/files/storedfile/",
        f"/admin/files/storedfile/{file_id}/change/",
        f"/admin/files/storedfile/{file_id}/download/",
    ):
        assert client.get(url).status_code == 403, url


# --- invoices --------------------------------------------------------------------------------------
def test_invoices_are_refused_to_users_without_the_view_permission(requesters, client_for):
    a, _b = requesters
    invoice = make_invoice()
    api = client_for(a)
    assert api.get("/api/invoices/").status_code == 403
    assert api.get(f"/api/invoices/{invoice.pk}/").status_code == 403
    client = browser(a)
    assert client.get("/admin/invoices/invoice/").status_code == 403
    assert client.get(f"/admin/invoices/invoice/{invoice.pk}/change/").status_code in (302, 403)


def test_a_made_up_invoice_id_is_404_for_those_who_may_read_invoices(finance, client_for):
    assert client_for(finance).get("/api/invoices/999999999/").status_code == 404
