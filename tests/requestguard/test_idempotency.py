"""Idempotency-Key on API writes (issue 10, docs/api-guard.md): replay, reuse, scoping, expiry,
released answers, uploads, hostile keys, the schema, and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test.client import encode_multipart
from django.test.utils import CaptureQueriesContext

from accounts.models import Team
from accounts.requestguard.models import IdempotencyKey
from files.models import StoredFile
from payments.models import PaymentRequest
from tests.approvals.factories import approver_users
from tests.payments.factories import grant

pytestmark = pytest.mark.django_db
PRS = "/api/payment-requests/"
TEAMS = "/api/teams/"


def err(response) -> str:
    return response.json()["error"]["code"]


def pr_payload(approver, name: str = "Tạm ứng công tác phí") -> dict:
    return {
        "name": name,
        "type": "advanced",
        "amount": "2500000.50",
        "bank_account": "0011",
        "account_name": "NGUYEN VAN A",
        "steps": [{"name": "Trưởng phòng", "mode": "anyof", "approvers": [approver.pk]}],
    }


@pytest.fixture
def maker(maker):
    """The maker posts inline steps (a custom chain): an owner granted them the permission."""
    return grant(maker, "approvals.customize_chain")


def test_replay_returns_the_first_answer_without_a_second_effect(maker, client_for):
    (a,) = approver_users(1)
    client = client_for(maker)
    first = client.post(PRS, pr_payload(a), format="json", HTTP_IDEMPOTENCY_KEY="pr-create-1")
    assert first.status_code == 201, first.json()
    again = client.post(PRS, pr_payload(a), format="json", HTTP_IDEMPOTENCY_KEY="pr-create-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert PaymentRequest.objects.filter(maker=maker).count() == 1
    stored = IdempotencyKey.objects.get(user=maker, key="pr-create-1")
    assert stored.status_code == 201 and stored.method == "POST" and stored.path == PRS


def test_same_key_for_a_different_request_is_422_and_changes_nothing(maker, client_for):
    (a,) = approver_users(1)
    client = client_for(maker)
    assert client.post(PRS, pr_payload(a), format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    before = list(PaymentRequest.objects.values_list("id", "name"))
    other_body = client.post(PRS, pr_payload(a, name="Khác"), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert other_body.status_code == 422 and err(other_body) == "IDEMPOTENCY_KEY_REUSED"
    assert set(other_body.json()["error"]) == {"code", "message", "details"}
    other_path = client.post(TEAMS, {"name": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert other_path.status_code == 422 and err(other_path) == "IDEMPOTENCY_KEY_REUSED"
    other_query = client.post(PRS + "?x=1", pr_payload(a), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert other_query.status_code == 422
    assert list(PaymentRequest.objects.values_list("id", "name")) == before
    assert not Team.objects.filter(name="X").exists()


def test_keys_are_scoped_per_user(maker, finance, client_for):
    (a,) = approver_users(1)
    grant(finance, "approvals.customize_chain")
    mine = client_for(maker).post(PRS, pr_payload(a), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    theirs = client_for(finance).post(
        PRS, pr_payload(a, name="Của người khác"), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert not theirs.has_header("Idempotent-Replayed")
    assert IdempotencyKey.objects.filter(key="shared").count() == 2


def test_an_expired_key_runs_again_and_the_purge_command_deletes_it(owner_client, owner, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    assert owner_client.post(TEAMS, {"name": "Kho"}, format="json", HTTP_IDEMPOTENCY_KEY="t").status_code == 201
    key = IdempotencyKey.objects.get(user=owner, key="t")
    # 23 hours later it still replays; 24 hours later it is gone and the request runs again.
    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=key.created_at - timedelta(hours=23))
    assert owner_client.post(TEAMS, {"name": "Kho"}, format="json", HTTP_IDEMPOTENCY_KEY="t")["Idempotent-Replayed"]
    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=key.created_at - timedelta(hours=24, seconds=1))
    rerun = owner_client.post(TEAMS, {"name": "Kho"}, format="json", HTTP_IDEMPOTENCY_KEY="t")
    assert rerun.status_code == 409 and err(rerun) == "DUPLICATE"  # it really ran: the team exists
    assert IdempotencyKey.objects.get(pk=key.pk).status_code == 409

    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=key.created_at - timedelta(hours=25))
    fresh = owner_client.post(TEAMS, {"name": "Mới"}, format="json", HTTP_IDEMPOTENCY_KEY="fresh")
    assert fresh.status_code == 201
    call_command("purge_request_guard")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_an_abandoned_claim_is_taken_over_after_the_claim_timeout(owner_client, owner, settings):
    """A claim whose process died (no response stored) blocks retries only until the timeout."""
    settings.IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 300
    IdempotencyKey.objects.create(user=owner, key="dead", fingerprint="0" * 64, method="POST", path=TEAMS)
    blocked = owner_client.post(TEAMS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="dead")
    assert blocked.status_code == 422  # a different request than the dead one
    IdempotencyKey.objects.filter(key="dead").update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(seconds=301)
    )
    assert owner_client.post(TEAMS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="dead").status_code == 201


def test_client_errors_are_stored_and_replayed(owner_client, owner):
    first = owner_client.post(TEAMS, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == 400
    again = owner_client.post(TEAMS, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert again.status_code == 400 and again.content == first.content and again["Idempotent-Replayed"] == "true"


def test_server_errors_and_refusals_release_the_key(owner_client, finance, client_for, owner, monkeypatch):
    """A 503 (database gone mid-request) or a 403 is not stored: the corrected retry runs."""
    from accounts import services

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "team_create", database_gone)
    down = owner_client.post(TEAMS, {"name": "Kế toán"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert down.status_code == 503 and err(down) == "DATABASE_UNAVAILABLE"
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    monkeypatch.undo()
    retried = owner_client.post(TEAMS, {"name": "Kế toán"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert retried.status_code == 201

    refused = client_for(finance).post(TEAMS, {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="r")
    assert refused.status_code == 403
    assert not IdempotencyKey.objects.filter(key="r").exists()


def test_requests_the_guard_leaves_alone(owner_client, anon_client, owner, password):
    owner_client.get(TEAMS, HTTP_IDEMPOTENCY_KEY="read")  # reads are naturally idempotent
    anonymous = anon_client.post(TEAMS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="anon")
    assert anonymous.status_code == 401
    # The token endpoint's answer is a secret: never stored, each call issues a token.
    tokens = [
        anon_client.post(
            "/api/auth/token/", {"email": owner.email, "password": password}, format="json", HTTP_IDEMPOTENCY_KEY="tok"
        ).json()["token"]
        for _ in range(2)
    ]
    assert tokens[0] != tokens[1]
    assert not IdempotencyKey.objects.exists()


def test_patch_and_delete_are_covered(owner_client):
    team = Team.objects.create(name="Cũ")
    url = f"{TEAMS}{team.pk}/"
    first = owner_client.patch(url, {"name": "Mới"}, format="json", HTTP_IDEMPOTENCY_KEY="p")
    assert first.status_code == 200
    assert owner_client.patch(url, {"name": "Mới"}, format="json", HTTP_IDEMPOTENCY_KEY="p").content == first.content
    assert owner_client.delete(url, HTTP_IDEMPOTENCY_KEY="d").status_code == 204
    replay = owner_client.delete(url, HTTP_IDEMPOTENCY_KEY="d")
    assert replay.status_code == 204 and replay["Idempotent-Replayed"] == "true"  # not a 404


def test_an_upload_retried_with_another_multipart_boundary_is_the_same_request(finance, client_for):
    """Clients pick a random boundary per send: the fingerprint ignores it, not the bytes."""
    client = client_for(finance)

    def upload(boundary: str, content: bytes):
        from django.core.files.uploadedfile import SimpleUploadedFile

        body = encode_multipart(boundary, {"file": SimpleUploadedFile("hoa-don.pdf", content)})
        return client.post(
            "/api/files/",
            body,
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = upload("----one", b"%PDF-1.4 first")
    assert first.status_code == 201, first.content
    again = upload("----two-other-boundary", b"%PDF-1.4 first")
    assert again.status_code == 201 and again.content == first.content and again["Idempotent-Replayed"] == "true"
    changed = upload("----three", b"%PDF-1.4 other bytes")
    assert changed.status_code == 422
    assert StoredFile.objects.count() == 1


@pytest.mark.parametrize(
    "key",
    [
        "x" * 256,
        "",
        "tab\there",
        "space here",
        "nul\x00",
        "bell\x07",
        "newline\n",
        "del\x7f",
        "chữ-việt",
        "\u00e9",
    ],
)
def test_hostile_keys_are_a_400_and_run_nothing(owner_client, key):
    r = owner_client.post(TEAMS, {"name": "Hostile"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert r.status_code == 400 and err(r) == "INVALID_IDEMPOTENCY_KEY"
    assert not Team.objects.filter(name="Hostile").exists()
    assert not IdempotencyKey.objects.exists()


def test_longest_and_odd_but_valid_keys(owner_client):
    for i, key in enumerate(["k" * 255, "';DROP-TABLE-idempotency_keys;--", "%00%0a", "{{7*7}}"]):
        assert owner_client.post(TEAMS, {"name": f"T{i}"}, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    assert IdempotencyKey.objects.count() == 4


def test_the_schema_declares_the_header_and_its_answers(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/payment-requests/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert "IDEMPOTENCY_KEY_REUSED" in create["responses"]["422"]["description"]
    assert "IDEMPOTENCY_KEY_IN_PROGRESS" in create["responses"]["409"]["description"]
    assert "Idempotency-Key" not in str(schema["paths"]["/api/payment-requests/"]["get"].get("parameters", []))
    assert "Idempotency-Key" not in str(schema["paths"]["/api/auth/token/"]["post"].get("parameters", []))
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]


def test_query_counts(owner_client, django_assert_num_queries):
    """The key costs three queries on the first request (the token lookup the view repeats, the
    claim INSERT, the stored answer) and a replay runs a fixed few, whatever the endpoint does."""

    def count(**headers) -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = owner_client.post(TEAMS, {"name": f"Q{len(headers)}{count.n}"}, format="json", **headers)
            assert r.status_code == 201
        count.n += 1
        return len(ctx.captured_queries)

    count.n = 0
    count()  # warm-up: the token's last_used_at
    plain = count()
    keyed = count(HTTP_IDEMPOTENCY_KEY="q")
    assert keyed - plain == 3
    team_name = IdempotencyKey.objects.get(key="q")  # replay the same request
    assert team_name.status_code == 201
    with django_assert_num_queries(5):  # token, INSERT (conflict), SAVEPOINT, SELECT … FOR UPDATE, RELEASE
        r = owner_client.post(TEAMS, {"name": "Q12"}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert r["Idempotent-Replayed"] == "true"


def test_boundary_normalisation_does_not_depend_on_chunk_edges():
    import hashlib

    from accounts.requestguard.idempotency import _BoundaryNormaliser

    body = b"--XyZ-42\r\nhead\r\n\r\nbody --XyZ-4 partial --XyZ-42--XyZ-42\r\n--XyZ-42--\r\n"

    def digest(chunk_size: int) -> str:
        h = hashlib.sha256()
        normaliser = _BoundaryNormaliser(h, b"XyZ-42")
        for i in range(0, len(body), chunk_size):
            normaliser.feed(body[i : i + chunk_size])
        normaliser.close()
        return h.hexdigest()

    expected = hashlib.sha256(body.replace(b"XyZ-42", b"\x00BOUNDARY\x00")).hexdigest()
    assert {digest(n) for n in (1, 2, 3, 5, 7, 64, len(body))} == {expected}


def test_a_large_upload_spills_to_disk_and_keeps_the_upload_limit(finance, client_for, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(finance)
    content = b"%PDF-1.4\n" + bytes(range(256)) * (3 * 4096)  # 3 MiB: over the 1 MiB kept in memory

    def upload(boundary: str):
        body = encode_multipart(boundary, {"file": SimpleUploadedFile("lon.pdf", content)})
        return client.post(
            "/api/files/", body, content_type=f"multipart/form-data; boundary={boundary}", HTTP_IDEMPOTENCY_KEY="big"
        )

    first = upload("b-one")
    assert first.status_code == 201, first.content
    assert upload("b-two-longer").content == first.content
    assert StoredFile.objects.count() == 1

    settings.FILE_MAX_SIZE = 1024 * 1024
    too_large = client.post(
        "/api/files/",
        encode_multipart("b", {"file": SimpleUploadedFile("x.pdf", content)}),
        content_type="multipart/form-data; boundary=b",
        HTTP_IDEMPOTENCY_KEY="too-big",
    )
    assert too_large.status_code == 413 and err(too_large) == "TOO_LARGE"
    assert StoredFile.objects.count() == 1


# --- answers that carry a secret (acountee.api.secrets) ---------------------------------------------------------
SECRET_WRITES = [
    ("/api/service-accounts/", {"name": "Máy xuất ngân hàng", "scopes": ["read"]}, "token", 201),
    ("/api/webhooks/", {"url": "https://erp.example.vn/h", "event_types": ["payment_request.approved"]}, "secret", 201),
]


@pytest.mark.parametrize(("path", "payload", "secret_field", "created"), SECRET_WRITES)
def test_a_secret_is_never_stored_and_a_retry_is_told_so(owner, client_for, path, payload, secret_field, created):
    client = client_for(owner)
    first = client.post(path, payload, format="json", HTTP_IDEMPOTENCY_KEY=f"secret-{path}")
    assert first.status_code == created, first.content
    secret = first.json()[secret_field]
    assert "no-store" in first["Cache-Control"]
    stored = IdempotencyKey.objects.get(user=owner, key=f"secret-{path}")
    assert secret.encode() not in bytes(stored.response_body)
    again = client.post(path, payload, format="json", HTTP_IDEMPOTENCY_KEY=f"secret-{path}")
    assert again.status_code == 409 and err(again) == "IDEMPOTENCY_SECRET_NOT_REPLAYED"
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["error"]["details"] == {"status": created, "id": first.json()["id"]}
    assert secret not in again.content.decode()
    # The write ran once.
    listed = client.get(path).json()["results"]
    assert [row["id"] for row in listed].count(first.json()["id"]) == 1 and len(listed) == 1


def test_a_rotated_secret_is_never_stored(owner, client_for):
    client = client_for(owner)
    endpoint = client.post(SECRET_WRITES[1][0], SECRET_WRITES[1][1], format="json").json()
    rotate = f"/api/webhooks/{endpoint['id']}/rotate-secret/"
    first = client.post(rotate, {}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1", HTTP_ACCEPT_LANGUAGE="vi")
    assert first.status_code == 200 and first.json()["secret"] != endpoint["secret"]
    stored = IdempotencyKey.objects.get(user=owner, key="rotate-1")
    assert first.json()["secret"].encode() not in bytes(stored.response_body)
    again = client.post(rotate, {}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1", HTTP_ACCEPT_LANGUAGE="vi")
    assert again.status_code == 409 and err(again) == "IDEMPOTENCY_SECRET_NOT_REPLAYED"
    assert "chỉ hiển thị một lần" in again.json()["error"]["message"]  # in the language of the first request
    # Rotated once: the secret the first answer showed is still the current one (a second rotation would
    # have replaced it).
    from payments.webhooks.models import WebhookEndpoint

    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).secret == first.json()["secret"]


def test_sign_in_token_answers_are_not_cached(owner, anon_client):
    from tests.accounts.factories import PASSWORD

    response = anon_client.post("/api/auth/token/", {"email": owner.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
