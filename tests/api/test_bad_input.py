"""Bad input gets the same answer on every endpoint (issue 10), checked over a representative set of
write endpoints of every app: unknown fields, wrong types, out-of-range numbers, NUL and control
characters (also inside JSON fields), a body that is not an object, malformed or deeply nested JSON,
the wrong content type (415), an oversized body (413); other users' objects are a 404 exactly like
a missing one; page sizes beyond the maximum are clamped, nonsense page sizes are a 400."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings

from tests.accounts.factories import TeamFactory, UserFactory
from tests.payments.factories import make_invoice, make_pr


@dataclass
class Endpoint:
    method: str
    url: str  # `{pr}`, `{invoice}`, `{user}` are filled from the `world` fixture
    body: dict[str, Any]
    wrong_type: tuple[str, Any]
    out_of_range: tuple[str, Any] | None = None
    text: str | None = None  # a string field of the body
    persona: str = "owner"
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url}"


ENDPOINTS = [
    Endpoint(
        "post",
        "/api/payment-requests/",
        {"name": "Thanh toán", "amount": "1000", "type": "advanced"},
        ("amount", "một triệu"),
        ("amount", "1e20"),
        text="name",
    ),
    Endpoint(
        "patch", "/api/payment-requests/{pr}/", {"note": "Ghi chú"}, ("amount", [1]), ("amount", "-1"), text="note"
    ),
    Endpoint(
        "post",
        "/api/payment-requests/{pr}/reject/",
        {"reason": "Thiếu báo giá"},
        ("reason", {"a": 1}),
        ("reason", "x" * 2001),
        text="reason",
    ),
    Endpoint(
        "post",
        "/api/payment-requests/{pr}/complete/",
        {"payment_reference": "FT1"},
        ("payment_reference", ["FT1"]),
        ("payment_reference", "x" * 129),
        text="payment_reference",
    ),
    Endpoint("post", "/api/payment-requests/{pr}/approve/", {"step": 1}, ("step", "first"), ("step", 10**6)),
    Endpoint("post", "/api/payment-requests/bulk-approve/", {"ids": [1]}, ("ids", "1,2"), ("ids", [0])),
    Endpoint("post", "/api/invoices/{invoice}/link/", {"pr": 1}, ("pr", "abc"), ("pr", 2**63)),
    Endpoint(
        "patch",
        "/api/invoices/{invoice}/payment-details/",
        {"payment_bank_name": "Vietcombank"},
        ("payment_type", 3),
        ("payment_bank_account", "1" * 51),
        text="payment_bank_name",
    ),
    Endpoint("post", "/api/invoices/bulk-obsolete/", {"ids": [1]}, ("ids", {"id": 1}), ("ids", [-5])),
    Endpoint(
        "post",
        "/api/payment-methods/",
        {"name": "TK chính", "bank_name": "VCB", "bank_account": "0071"},
        ("name", ["x"]),
        ("name", "x" * 10_000),
        text="bank_name",
    ),
    Endpoint(
        "post",
        "/api/approval-flows/",
        {"name": "Quy trình", "steps": [{"approvers": ["{user}"]}]},
        ("steps", "one"),
        ("min_amount", "-5"),
        text="name",
    ),
    Endpoint(
        "post",
        "/api/users/",
        {"email": "moi@acountee.test", "name": "Người mới"},
        ("is_active", "maybe"),
        ("email", "a" * 300 + "@acountee.test"),
        text="name",
    ),
    Endpoint(
        "post",
        "/api/teams/",
        {"name": "Nhóm"},
        ("capabilities", "workbench"),
        ("name", "x" * 10_000),
        text="description",
    ),
    Endpoint("post", "/api/users/{user}/roles/", {"role": 1}, ("role", "owner"), ("role", 2**70)),
    Endpoint(
        "post",
        "/api/auth/token/",
        {"email": "a@acountee.test", "password": "pw"},
        ("email", 5),
        ("password", "x" * 257),
        text="password",
        persona="anonymous",
    ),
    Endpoint("patch", "/api/notifications/preferences/", {"email": True}, ("email", "yes please"), persona="finance"),
    Endpoint(
        "post",
        "/api/approval-delegations/",
        {"substitute": "{user}", "start_date": "2026-12-01", "end_date": "2026-12-02"},
        ("start_date", "tomorrow"),
        ("start_date", "10000-01-01"),
        text="note",
        persona="finance",
    ),
    Endpoint("post", "/api/workbench/cleanup/", {"ids": [1]}, ("ids", "1"), ("ids", [10**18])),
    Endpoint(
        "post",
        "/api/workbench/templates/",
        {"name": "Mẫu", "columns": [{"key": "pr_id"}]},
        ("columns", "pr_id"),
        text="name",
    ),
]


@pytest.fixture
def world(owner, finance, maker) -> dict[str, Any]:
    pr = make_pr(maker=finance)
    return {"pr": pr.pk, "invoice": make_invoice().pk, "user": maker.pk}


@pytest.fixture
def call(world, client_for, anon_client, owner, finance):
    clients = {"owner": client_for(owner), "finance": client_for(finance), "anonymous": anon_client}

    def send(
        endpoint: Endpoint, body: Any = None, *, raw: bytes | str | None = None, content_type: str = "application/json"
    ) -> Any:
        url = endpoint.url.format(**world)
        if raw is None:
            raw = json.dumps(_fill(endpoint.body if body is None else body, world))
        return getattr(clients[endpoint.persona], endpoint.method)(url, data=raw, content_type=content_type)

    return send


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.strip("{}") in world:
        return world[value.strip("{}")]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _refused(response: Any, status: int, code: str, field_name: str | None = None) -> None:
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code, error
    if field_name is not None:
        assert field_name in error["details"], error


param = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)


@param
def test_unknown_fields_are_refused(call, endpoint):
    _refused(call(endpoint, {**endpoint.body, "surprise": 1}), 400, "VALIDATION_ERROR", "surprise")


@param
def test_wrong_types_are_refused(call, endpoint):
    name, value = endpoint.wrong_type
    _refused(call(endpoint, {**endpoint.body, name: value}), 400, "VALIDATION_ERROR", name)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.out_of_range], ids=str)
def test_out_of_range_values_are_refused(call, endpoint):
    name, value = endpoint.out_of_range
    _refused(call(endpoint, {**endpoint.body, name: value}), 400, "VALIDATION_ERROR", name)


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\ud800"], ids=repr)
@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.text], ids=str)
def test_nul_and_control_characters_in_strings_are_refused(call, endpoint, character):
    _refused(call(endpoint, {**endpoint.body, endpoint.text: f"a{character}b"}), 400, "VALIDATION_ERROR", endpoint.text)


def test_line_breaks_and_tabs_stay_allowed_in_text(call):
    note = Endpoint("patch", "/api/payment-requests/{pr}/", {}, ("note", 1), persona="finance")
    response = call(note, {"note": "Dòng 1\r\nDòng 2\tcột"})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["note"] == "Dòng 1\r\nDòng 2\tcột"


@pytest.mark.parametrize(
    "column",
    [
        {"key": "pr_id", "label": "Mã\x00"},
        {"key": "pr_id", "label": "\ud800"},
        {"key": ["\ud800"]},
        {"key\x1b": "pr_id"},
    ],
    ids=repr,
)
def test_control_characters_inside_json_fields_are_refused(call, column):
    """A NUL or a lone surrogate inside a JSON field reached PostgreSQL's jsonb, or the error message
    quoting it failed to encode: a 500."""
    templates = ENDPOINTS[-1]
    _refused(call(templates, {"name": "Mẫu", "columns": [column]}), 400, "VALIDATION_ERROR", "columns")


@pytest.mark.parametrize("body", [[], "text", 5, None], ids=repr)
@param
def test_a_body_that_is_not_an_object_is_refused(call, endpoint, body):
    _refused(call(endpoint, raw=json.dumps(body)), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "raw",
    ['{"name": ', "{'name': 1}", '{"a": NaN}', b'{"a": "\xff"}', "[" * 50_000],
    ids=["truncated", "single-quotes", "nan", "not-utf8", "nested-too-deep"],
)
@param
def test_malformed_json_is_a_400(call, endpoint, raw):
    _refused(call(endpoint, raw=raw), 400, "MALFORMED_REQUEST")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/csv"])
@param
def test_a_wrong_content_type_is_a_415(call, endpoint, content_type):
    _refused(call(endpoint, raw="name=x", content_type=content_type), 415, "UNSUPPORTED_MEDIA_TYPE")


@param
def test_an_oversized_body_is_a_413(call, endpoint):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    _refused(call(endpoint, raw=json.dumps({**endpoint.body, "padding": padding})), 413, "TOO_LARGE")


# --- other users' objects: 404, the same answer as for an id that does not exist ---------------------------
def _others_objects(owner: Any, finance: Any) -> list[tuple[str, str, int]]:
    """(method, url with {id}, id of an object of `finance` that `stranger` may not see)."""
    from approvals.services import approval_delegation_create
    from payments.notifications.models import Notification
    from payments.workbench.services import export_template_create

    approver = UserFactory(roles=["bod"])
    pr = make_pr(maker=owner, steps=[("anyof", [finance])], request=True)
    notification = Notification.objects.filter(recipient=finance, pr=pr).first()
    delegation = approval_delegation_create(
        actor=finance,
        approver=finance,
        substitute=approver,
        start_date=datetime.date(2026, 12, 1),
        end_date=datetime.date(2026, 12, 2),
    )
    template = export_template_create(actor=owner, name="Của chủ", columns=[{"key": "pr_id"}])
    return [
        ("post", "/api/notifications/{id}/read/", notification.pk),
        ("post", "/api/notifications/{id}/dismiss/", notification.pk),
        ("get", "/api/approval-delegations/{id}/", delegation.pk),
        ("delete", "/api/approval-delegations/{id}/", delegation.pk),
        ("get", "/api/workbench/templates/{id}/", template.pk),
    ]


@pytest.mark.django_db
def test_other_users_objects_are_a_404_like_missing_ones(owner, finance, client_for):
    objects = _others_objects(owner, finance)
    team = TeamFactory(capabilities=["workbench"])  # may use the workbench, not the owner's templates
    stranger = client_for(UserFactory(roles=["finance"], team=team))
    for method, url, pk in objects:
        theirs = getattr(stranger, method)(url.format(id=pk), content_type="application/json")
        missing = getattr(stranger, method)(url.format(id=10**12), content_type="application/json")
        assert theirs.status_code == missing.status_code == 404, (url, theirs.content[:200])
        assert theirs.json() == missing.json(), url  # nothing tells "exists, not yours" from "no such thing"


@pytest.mark.django_db
def test_files_of_others_are_a_404_for_a_user_who_may_only_upload(owner, client_for):
    """Roles granting `files.add_storedfile` alone see their own uploads only."""
    from django.contrib.auth.models import Permission

    from accounts.models import UserRole
    from tests.accounts.factories import RoleFactory
    from tests.files.factories import stored_file

    uploader_role = RoleFactory()
    uploader_role.permissions.add(Permission.objects.get(codename="add_storedfile"))
    uploader = UserFactory()
    UserRole.objects.create(user=uploader, role=uploader_role)
    theirs = stored_file(created_by=owner)
    client = client_for(uploader)
    for url in ("/api/files/{id}/", "/api/files/{id}/content/"):
        response, missing = client.get(url.format(id=theirs.pk)), client.get(url.format(id=10**12))
        assert response.status_code == missing.status_code == 404, response.content[:200]
        assert response.json() == missing.json()


@pytest.mark.parametrize(
    "path", ["/api/invoices/99999999999999999999/", "/api/payment-requests/1e3/", "/api/files/-1/", "/api/users/%00/"]
)
def test_ids_that_are_not_bigints_are_a_404(owner_client, path):
    response = owner_client.get(path)
    assert response.status_code == 404


# --- page sizes --------------------------------------------------------------------------------------------
LISTS = [
    "/api/payment-requests/",
    "/api/invoices/",
    "/api/users/",
    "/api/audit/",
    "/api/notifications/",
    "/api/payment-methods/",
    "/api/approval-flows/",
    "/api/audit/history/?table=pr&record_id=1",
    "/api/workbench/cleanup/?month=2026-11",
]


def _with(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.mark.parametrize("url", LISTS)
def test_page_sizes_beyond_the_maximum_are_clamped(owner_client, url):
    UserFactory.create_batch(3)
    response = owner_client.get(_with(url, "page_size=100000"))
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) <= settings.API_MAX_PAGE_SIZE


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5", "٣"])
@pytest.mark.parametrize("url", LISTS)
def test_nonsense_page_sizes_are_a_400_on_every_list(owner_client, url, size):
    _refused(owner_client.get(_with(url, f"page_size={size}")), 400, "VALIDATION_ERROR", "page_size")


@pytest.mark.parametrize("value", [0, 1.5, True], ids=repr)
@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.text], ids=str)
def test_numbers_and_booleans_for_text_fields_are_refused(call, endpoint, value):
    """DRF's CharField would have stored 0 as "0" and true as "True"."""
    _refused(call(endpoint, {**endpoint.body, endpoint.text: value}), 400, "VALIDATION_ERROR", endpoint.text)


def test_a_template_label_that_is_not_text_is_refused(call):
    _refused(
        call(ENDPOINTS[-1], {"name": "Mẫu", "columns": [{"key": "pr_id", "label": {}}]}),
        400,
        "VALIDATION_ERROR",
        "columns",
    )


@pytest.mark.parametrize("value", ["null", "yes", "1", "True", "%00"])
@pytest.mark.parametrize("url", ["/api/users/", "/api/approval-flows/"])
def test_boolean_filters_take_true_or_false_only(owner_client, url, value):
    """django-filter read anything but true/false as "no filter": a typo listed every row."""
    _refused(owner_client.get(f"{url}?is_active={value}"), 400, "VALIDATION_ERROR", "is_active")
    assert owner_client.get(f"{url}?is_active=false").status_code == 200


@pytest.mark.parametrize("value", [0, 1, "true", "yes"], ids=repr)
def test_json_booleans_are_true_or_false(client_for, finance, value):
    client = client_for(finance)
    url = "/api/notifications/preferences/"
    _refused(client.patch(url, {"in_app": value}, format="json"), 400, "VALIDATION_ERROR", "in_app")
    assert client.patch(url, {"in_app": False}, format="json").json()["in_app"] is False
    # A form body is not JSON: the API takes JSON only, outside the operations that receive files (issue 20).
    assert client.patch(url, "in_app=0", content_type="application/x-www-form-urlencoded").status_code == 415


@pytest.mark.parametrize(
    "url",
    [
        "/api/invoices/?status=&month=&q=&linked=&amount_min=",
        "/api/payment-requests/?status=&type=&maker=&month=&q=&awaiting_me=",
        "/api/users/?is_active=&team=&q=",
        "/api/approval-flows/?is_active=&q=",
        "/api/audit/?table=&action=&actor=&from=&to=",
        "/api/audit/security-events/?kind=&user_id=&from=",
        "/api/notifications/?unread=",
        "/api/notification-deliveries/?status=&channel=&recipient=",
        "/api/reports/aging/?as_of=",
        "/api/workbench/cleanup/?month=2026-11&page=&page_size=",
    ],
)
def test_an_empty_query_parameter_is_the_same_as_none(owner_client, url):
    """What the document says (`allowEmptyValue`): `?status=` filters nothing, on every list."""
    response = owner_client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert (
        response.json() == owner_client.get(url.split("?")[0] + ("?month=2026-11" if "cleanup" in url else "")).json()
    )
